"""The registry of pool kinds: each ``kind:`` tag of :data:`abs_engine.model.deal.POOL_KINDS`
names one module of this package implementing :class:`~abs_engine.pools.base.PoolKind`. The
engine looks a pool's kind up here (:func:`kind_of`), never with ``isinstance`` tests on pool
classes. A new kind is its model (:mod:`abs_engine.model.deal`, one class in the ``Pool``
union) and its module here (one line below).

>>> sorted(KINDS)
['lease', 'licence', 'pledge_loan', 'transfer']
>>> kind_of(type("P", (), {"kind": "licence"})()).tag
'licence'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..dates import calendar_months
from ..model.deal import Deal
from ..model.scenario import Scenario
from . import lease, licence, pledge, transfer
from .base import PoolKind

#: kind tag -> its implementation.
KINDS: dict[str, PoolKind] = {k.tag: k for k in (pledge.KIND, licence.KIND, transfer.KIND, lease.KIND)}


def kind_of(pool: Any) -> PoolKind:
    """The implementation of ``pool``'s kind (its ``kind:`` tag)."""
    try:
        return KINDS[pool.kind]
    except KeyError:
        raise NotImplementedError(f"pool kind '{pool.kind}' is not implemented (implemented: {', '.join(KINDS)})") from None


def months_needed(pool: Any, cutoff: dt.date) -> int:
    """Grid months from the cut-off date to the pool's last scheduled cash flow."""
    return kind_of(pool).months_needed(pool, cutoff)


def horizon_months(deal: Deal, scenarios: Sequence[Scenario]) -> int:
    """Months of the projection grid: from the cut-off date to the later of the pools' last
    scheduled cash flow and the legal maturity, plus the longest recovery lag of the
    scenarios (the recoveries of late defaults still come in)."""
    h = deal.deal
    lag = max(max(s.recovery.lag_months, s.receivables.recovery_lag_months) for s in scenarios)
    need = max(months_needed(p, h.cutoff_date) for p in deal.pools)
    return max(need, calendar_months(h.cutoff_date, h.legal_maturity) + 1) + lag
