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
from dataclasses import dataclass, field
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


#: Monthly series a projection adds only when it models them (servicer advancing, a
#: delinquency pipeline): name -> True for a balance at the month's end, False for a flow.
#: Outputs show them only when some pool of the run has them, so every other run's outputs
#: keep their columns.
EXTRA_SERIES: dict[str, bool] = {
    "advanced_principal": False,
    "advanced_interest": False,
    "foreclosure_balance": True,
    "delinquent_1_30": True,
    "delinquent_31_60": True,
    "delinquent_61_90": True,
    "delinquent_interest_missed": False,
    "cured": False,
}


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
    #: the pool at the end of a grid month, when the projection was asked for it
    snapshot: PoolSnapshot | None = None
    #: the :data:`EXTRA_SERIES` the projection modelled
    extra: dict[str, np.ndarray] = field(default_factory=dict)

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
    at whose end the clean-up call buys the performing assets at ``sale_price`` x their balance;
    ``start`` and ``snapshot``: a deal picked up mid-life (abs_engine/restart.py)."""

    default_month: np.ndarray | None = None
    invalidation_month: np.ndarray | None = None
    sale_month: np.ndarray | None = None
    sale_price: float = 1.0
    #: a deal picked up mid-life: the pool as of a grid month, from which the projection continues
    start: PoolStart | None = None
    #: a grid month at whose end the projection records the pool (``PoolFlows.snapshot``)
    snapshot: int | None = None


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

    def original_balance(self, pool: Any, cutoff: dt.date) -> float:
        """The pool's balance at the cut-off date (what a cumulative default ratio divides by)."""
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

    def has_sparse(self, pool: Any, *, exact: bool) -> bool:
        """Whether :meth:`sparse` gives a projection for ``pool`` (``exact``: one whose flows
        equal the dense projection's; else one good for the defaults alone)."""
        ...

    def sparse(self, pool: Any, prepared: Any, scenario: Scenario, grid: list[dt.date],
               ref_rates: np.ndarray, *, exact: bool) -> Sparse | None:
        """The sparse projection of Monte Carlo paths under ``scenario`` (its default rate
        0: the paths carry the defaults), or None where the kind has none, or where the
        pool's support stack would change the flows and ``exact`` asks for them."""
        ...

    def default_rates(self, pool: Any, prepared: Any, scenario: Scenario, grid: list[dt.date]) -> Any:
        """Each asset's own monthly default rates under ``scenario`` where they vary by asset
        (an object with ``shared``, ``key(s, asset)`` and ``loan_vector(s, asset, M)``:
        :class:`abs_engine.curves.LoanRates`), else None: a Monte Carlo draws each obligor's
        default time from these."""
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

    def terms(self, pool: Any, header: Header) -> dict[str, float]:
        """The pool's own terms the term sheet states in a table (label key of
        :mod:`abs_engine.report.labels` -> amount; lease pools: principal, rents, deposits,
        purchase options), or empty."""
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
@dataclass
class PoolStart:
    """A pool as of the end of grid month ``month``, from which a projection continues (a
    deal picked up mid-life, abs_engine/restart.py), or as a projection leaves it there
    (``snapshot`` of the projections). Per asset, in the pool's tape order:

    * ``balance``: the expected balance (pledge loans: principal; receivable pools: the
      remaining scheduled fees under the patents' status, for reporting);
    * ``performing``: the chance the asset still performs (1 for an asset observed
      performing; an expected-value projection's survival factor ``q``), so that
      ``balance / performing`` is what it owes if it does;
    * ``patents`` (licence pools): the share of each patent's fees still in force
      (1 valid, 0 invalidated or lapsed; between for an expected-value projection);

    and every default since the cut-off date, for the recoveries still to come and for the
    support layers, which replay them (docs/methodology.md, "A deal picked up mid-life"):
    ``d_asset`` (asset index), ``d_month`` (grid month of default), ``d_amount``
    (defaulted amount; receivables: the recoverable part, terminations recover nothing),
    ``d_balance`` (what the asset owed if it still performed, against which pledged
    collateral is set), ``d_recovered`` (disposal proceeds received, NaN while the disposal
    is pending)."""

    month: int
    balance: np.ndarray
    performing: np.ndarray
    patents: np.ndarray | None = None
    d_asset: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    d_month: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    d_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    d_balance: np.ndarray = field(default_factory=lambda: np.zeros(0))
    d_recovered: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: pledge pools with an interest subsidy: the interest each loan paid in each month up to
    #: ``month`` and its chance of performing then, ``(L, month + 1)`` (None: not needed)
    interest: np.ndarray | None = None
    survival: np.ndarray | None = None

    @property
    def pending(self) -> np.ndarray:
        """Which listed defaults still await their disposal proceeds."""
        return np.isnan(self.d_recovered)


@dataclass
class PoolSnapshot:
    """What a projection records at the end of grid month ``month`` for every scenario
    (``snapshot`` argument of the projections): per asset ``(S, L)`` the expected balance
    and the chance it performs, per patent ``(S, P)`` the share in force, and per asset
    and default month ``(S, L, month + 1)`` the defaults, the balance each default is set
    against and its disposal proceeds (due ``lag`` months after the default, ``lag`` per
    scenario); for a pool with an interest subsidy, the interest each loan paid in each
    month and its chance of performing then, ``(S, L, month + 1)``. :meth:`start` turns one scenario's into a :class:`PoolStart`."""

    month: int
    balance: np.ndarray
    performing: np.ndarray
    patents: np.ndarray | None
    default: np.ndarray
    default_balance: np.ndarray
    recovery: np.ndarray
    lag: np.ndarray
    interest: np.ndarray | None = None
    survival: np.ndarray | None = None

    def start(self, s: int) -> PoolStart:
        """Scenario ``s``'s state as a :class:`PoolStart`: the defaults with a positive
        amount, their proceeds received if due by the end of the month, else pending."""
        li, mi = np.nonzero(self.default[s] > 0)
        order = np.lexsort((li, mi))  # by month, then tape order
        li, mi = li[order], mi[order]
        rec = self.recovery[s][li, mi]
        due = mi + int(self.lag[s]) <= self.month
        return PoolStart(
            month=self.month,
            balance=self.balance[s].copy(),
            performing=self.performing[s].copy(),
            patents=None if self.patents is None else self.patents[s].copy(),
            d_asset=li.astype(np.int64), d_month=mi.astype(np.int64),
            d_amount=self.default[s][li, mi], d_balance=self.default_balance[s][li, mi],
            d_recovered=np.where(due, rec, np.nan),
            interest=None if self.interest is None else self.interest[s].copy(),
            survival=None if self.survival is None else self.survival[s].copy(),
        )


def clear_before(flows: PoolFlows, month: int) -> None:
    """Zero a restarted projection's flows of grid months up to ``month`` (in place): they
    are the past (the support layers replay the defaults listed there, which must not count
    again); ``balance_end`` keeps the starting balance in ``month`` itself."""
    for key in SERIES:
        arr = getattr(flows, key, None)
        if arr is None:
            continue
        arr = arr.copy()  # (a series may be a view of the layers' own arrays, which keep the past)
        setattr(flows, key, arr)
        if key == "balance_end":
            arr[:, :month] = 0.0
        else:
            arr[:, : month + 1] = 0.0
