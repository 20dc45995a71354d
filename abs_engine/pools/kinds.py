"""The pool kinds and what the rest of the engine asks of each: a registry keyed by the
pool's ``kind:`` tag (:data:`abs_engine.model.deal.POOL_KINDS`), never a chain of
``isinstance`` tests on pool classes.

>>> sorted(KINDS)
['licence', 'pledge_loan', 'transfer']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from ..dates import calendar_months
from ..model.deal import Deal, Pool
from ..model.scenario import Scenario
from . import pledge, receivables

#: kind tag -> the grid months from the cut-off date to the pool's last scheduled cash flow.
KINDS: dict[str, Callable[[Any, dt.date], int]] = {
    "pledge_loan": pledge.grid_months_needed,
    "licence": receivables.months_needed,
    "transfer": receivables.months_needed,
}


def months_needed(pool: Pool, cutoff: dt.date) -> int:
    """Grid months from the cut-off date to the pool's last scheduled cash flow."""
    return KINDS[pool.kind](pool, cutoff)


def horizon_months(deal: Deal, scenarios: Sequence[Scenario]) -> int:
    """Months of the projection grid: from the cut-off date to the later of the pools' last
    scheduled cash flow and the legal maturity, plus the longest recovery lag of the
    scenarios (the recoveries of late defaults still come in)."""
    h = deal.deal
    lag = max(max(s.recovery.lag_months, s.receivables.recovery_lag_months) for s in scenarios)
    need = max(months_needed(p, h.cutoff_date) for p in deal.pools)
    return max(need, calendar_months(h.cutoff_date, h.legal_maturity) + 1) + lag
