"""What every pool kind provides and returns: the :class:`PoolKind` protocol, the
monthly cash flows of a projection (:class:`PoolFlows`), the asset events a projection is
given (:class:`Events`), and the normalised asset table of the pool statistics.

A pool kind (pledge loans, licence-fee receivables, transfer receivables, ...) is one
module of this package implementing :class:`PoolKind`, registered under its ``kind:`` tag in
:data:`abs_engine.pools.kinds.KINDS`; its model (what a pool of the kind *is*: fields, tapes,
checks) is in :mod:`abs_engine.model.deal`. Nothing else in the engine asks which kind a pool is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..model.deal import Header
from ..model.scenario import Scenario

#: Monthly pool series, in the order of :attr:`PoolFlows.series`.
SERIES = (
    "balance_start",
    "scheduled_principal",
    "prepayment",
    "default_amount",
    "recovery",
    "loss",
    "interest_collected",
    "balance_end",
    "fees_due",
    "fees_lost_default",
    "fees_lost_invalidation",
    "patent_writedown",
    "support_paid",
    "loss_before_support",
    "subsidy",
    "upkeep_cost",
)


@dataclass
class PoolFlows:
    """Monthly cash flows of one pool: arrays of shape ``(n_scenarios, n_months + 1)``
    indexed by grid month (index 0, the cut-off date, carries only ``balance_end``)."""

    name: str
    original_balance: float
    balance_start: np.ndarray
    scheduled_principal: np.ndarray
    prepayment: np.ndarray
    default_amount: np.ndarray
    recovery: np.ndarray
    loss: np.ndarray
    interest_collected: np.ndarray
    balance_end: np.ndarray
    # receivable pools only (zeros for loans): fees due under the original schedule, and
    # the parts of them lost to obligor default and to patent events; the remaining
    # balance written off by patent events
    fees_due: np.ndarray | None = None
    fees_lost_default: np.ndarray | None = None
    fees_lost_invalidation: np.ndarray | None = None
    patent_writedown: np.ndarray | None = None
    # risk-sharing layers (pools with a ``support`` stack; docs/risk-sharing.md): what the
    # layers paid to the pool (claims, buy-back prices), the loss the pool would have
    # borne without them, interest subsidies paid to the pool, annual fees paid out of
    # it. With layers, ``recovery`` is the disposal proceeds the pool keeps and ``loss``
    # the loss after support.
    support_paid: np.ndarray | None = None
    loss_before_support: np.ndarray | None = None
    subsidy: np.ndarray | None = None
    upkeep_cost: np.ndarray | None = None
    #: what the layers did, month by month (None without a stack)
    layers: Ledger | None = None

    @property
    def principal_collected(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment + self.recovery

    def series(self) -> dict[str, np.ndarray]:
        zero = np.zeros_like(self.balance_end)
        out = {k: zero if getattr(self, k, None) is None else getattr(self, k) for k in SERIES}
        if self.loss_before_support is None:
            out["loss_before_support"] = self.loss
        return out


class Ledger(Protocol):
    """What a pool's risk-sharing layers did, month by month (the support layers'
    :class:`~abs_engine.support.layers.LayerResult`): ledger columns per payer, arrays
    ``(S, T, P)``, and the check that every default is accounted for."""

    names: list[str]
    kinds: list[str]
    claims: np.ndarray
    paid: np.ndarray
    refunded: np.ndarray
    recoveries_kept: np.ndarray
    counter_recovered: np.ndarray
    capacity_remaining: np.ndarray

    @property
    def net_cost(self) -> np.ndarray: ...

    def check(self, tol: float = 1e-6) -> None: ...


#: Runs a pool's support stack over the per-asset defaults a projection captured and returns
#: the pool series after support and the ledger (:func:`abs_engine.support.pool.support_flows`,
#: which the engine passes in: the support layers come after the pools).
Support = Callable[..., tuple[dict[str, np.ndarray], Ledger]]


@dataclass(frozen=True)
class Events:
    """What happens to a pool's assets besides the scenario's rates, per scenario (0: none;
    months beyond the grid: none), as a Monte Carlo draws it: ``default_month``
    ``(S, n_assets)``, the grid month in which each asset defaults wholly (the earlier of it
    and the scenario's named default); ``invalidation_month`` ``(S, n_patents)``, the month
    from which each patent is invalid (kinds with patents); ``sale_month`` ``(S,)``, the month
    at whose end the clean-up call buys the performing assets at ``sale_price`` x their balance."""

    default_month: np.ndarray | None = None
    invalidation_month: np.ndarray | None = None
    sale_month: np.ndarray | None = None
    sale_price: float = 1.0


class Sparse(Protocol):
    """A kind's sparse projection of Monte Carlo paths: the flows of a pool whose assets
    either survive or default wholly in a month, at a cost proportional to the defaults."""

    def flows(self, default_month: np.ndarray) -> PoolFlows: ...


class PoolKind(Protocol):
    """What the engine asks of a pool kind. Each method takes the pool (its model)."""

    #: the pool's ``kind:`` tag
    tag: str

    def months_needed(self, pool: Any, cutoff: dt.date) -> int:
        """Grid months from the cut-off date to the pool's last scheduled cash flow."""
        ...

    def prepare(self, pool: Any, cutoff: dt.date, grid_months: int, references: list[str]) -> Any:
        """The pool laid on the monthly grid, whatever the scenario (projected many times)."""
        ...

    def project(self, pool: Any, prepared: Any, scenarios: list[Scenario], grid: list[dt.date],
                ref_rates: np.ndarray, events: Events, support: Support | None) -> PoolFlows:
        """The pool's monthly flows under each scenario (dense: every asset, every month);
        ``ref_rates`` ``(S, n_refs, M+1)`` are the reference rates in force each grid month;
        ``support`` runs the pool's support stack, if it has one."""
        ...

    def has_sparse(self, pool: Any, *, with_support: bool) -> bool:
        """Whether :meth:`sparse` gives a projection for ``pool``."""
        ...

    def sparse(self, pool: Any, prepared: Any, scenario: Scenario, grid: list[dt.date],
               ref_rates: np.ndarray, *, with_support: bool) -> Sparse | None:
        """The sparse projection of Monte Carlo paths under ``scenario`` (its default rate
        0: the paths carry the defaults), or None where the kind has none, or where the
        pool's support stack would change the flows and ``with_support`` asks for them."""
        ...

    def patent_types(self, pool: Any) -> list[str]:
        """The type of each patent whose invalidation a Monte Carlo draws (none: empty)."""
        ...

    def asset_table(self, pool: Any, header: Header) -> pd.DataFrame:
        """The pool statistics' asset table (:data:`ASSET_COLUMNS` + :data:`CATEGORIES`)."""
        ...

    def ip_rights(self, pool: Any) -> int:
        """The IP rights behind the pool (term sheets' pool figures)."""
        ...

    def collateral(self, pool: Any, header: Header, notes: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The IP collateral fit of the term sheets: one row per right (or per loan) with its
        exposure, and for a receivable pool its remaining receivables and their present value
        (:func:`abs_engine.studies.investor.collateral_fit` has the columns)."""
        ...


# --------------------------------------------------------------------------- asset tables

#: Columns every kind's asset table has (kinds add :data:`CATEGORIES` after these).
ASSET_COLUMNS: tuple[str, ...] = (
    "pool",
    "asset_id",
    "obligor",
    "balance",
    "rate",
    "remaining_term_months",
    "seasoning_months",
    "collateral_value",
)

#: Categorical columns every kind's asset table stratifies, in display order.
CATEGORIES: tuple[str, ...] = ("ip_type", "industry", "region")


def asset_frame(rows: Sequence[tuple[Any, ...]], categories: Sequence[str] = CATEGORIES) -> pd.DataFrame:
    """An asset table from rows of :data:`ASSET_COLUMNS` + ``categories``, typed."""
    cols = list(ASSET_COLUMNS) + list(categories)
    df = pd.DataFrame(list(rows), columns=cols)
    for c in ("balance", "rate", "remaining_term_months", "seasoning_months", "collateral_value"):
        df[c] = df[c].astype(np.float64)
    for c in ("pool", "asset_id", "obligor", *categories):
        df[c] = df[c].astype(object)
    return df
