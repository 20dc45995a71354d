"""Monthly pool flows -> the payment periods the waterfall distributes them in.

The pools are projected month by month on the grid that starts at the cut-off date
(:mod:`abs_engine.pools`); a collection period's cash is distributed on a payment date
(:func:`abs_engine.dates.build_schedule` maps each grid month to its period). This module
sums the monthly series into periods (:func:`aggregate`), carries the risk-sharing ledgers
along (:func:`aggregate_ledger`), finds where a clean-up call is exercised
(:func:`cleanup_months`) and lays the reference rates on the periods (:func:`reference_paths`).
Encoding the waterfall is :mod:`abs_engine.waterfall.compile`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dates import Schedule
from .model.deal import Deal
from .model.scenario import Scenario
from .pools.base import EXTRA_SERIES, SERIES, Ledger, PoolFlows, PoolSnapshot


@dataclass
class PeriodLedger:
    """A pool's risk-sharing ledger aggregated to payment periods: one column per payer
    (``names``, ``kinds``), arrays ``(S, T, P)``. Flows are summed over the months of a
    period; ``capacity_remaining`` is that at the end of the period's last month."""

    names: list[str]
    kinds: list[str]
    columns: dict[str, np.ndarray]


#: The flow columns of a ledger, then the stock.
LEDGER_FLOWS = ("claims", "paid", "refunded", "recoveries_kept", "counter_recovered", "net_cost")


@dataclass
class PeriodFlows:
    """A pool's cash flows aggregated to payment periods: arrays ``(S, T)``."""

    name: str
    original_balance: float
    series: dict[str, np.ndarray]
    ledger: PeriodLedger | None = None
    #: the layers' monthly result, kept for the conservation check
    layer_result: Ledger | None = None
    #: the pool at the end of a grid month, when the projection was asked for it
    snapshot: PoolSnapshot | None = None


def _period_sum(arr: np.ndarray, mp: np.ndarray, T: int) -> np.ndarray:
    """Sum ``arr[:, 1:M1, ...]`` (grid months 1..) into the periods ``mp`` gives."""
    agg = np.zeros((arr.shape[0], T + 1, *arr.shape[2:]))
    np.add.at(agg, (slice(None), mp[1:]), arr[:, 1 : len(mp)])  # type: ignore[arg-type]
    return agg[:, :T]


def aggregate_ledger(lr: Ledger, sched: Schedule, M1: int) -> PeriodLedger:
    """A pool's monthly layer ledger on the grid -> payment periods (what falls after
    the grid is dropped, as the pool series drop it)."""
    T = sched.n_periods
    mp = sched.month_period[:M1]
    cols = {k: _period_sum(getattr(lr, k)[:, :M1], mp, T) for k in LEDGER_FLOWS}
    cap = lr.capacity_remaining[:, :M1]
    end = np.empty((cap.shape[0], T, cap.shape[2]))
    prev = cap[:, 0]
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        if len(months):
            prev = cap[:, months[-1]]
        end[:, t] = prev
    cols["capacity_remaining"] = end
    return PeriodLedger(list(lr.names), list(lr.kinds), cols)


def aggregate(flows: PoolFlows, sched: Schedule) -> PeriodFlows:
    """Sum monthly pool flows into the payment periods they are distributed in."""
    T = sched.n_periods
    S, M1 = flows.balance_end.shape
    mp = sched.month_period[:M1]
    out: dict[str, np.ndarray] = {}
    for key, arr in flows.series().items():
        if key in ("balance_start", "balance_end"):
            continue
        out[key] = _period_sum(arr, mp, T)
    end = np.zeros((S, T))
    start = np.zeros((S, T))
    prev = flows.balance_end[:, 0].copy()
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        start[:, t] = prev
        if len(months):
            prev = flows.balance_end[:, months[-1]].copy()
        end[:, t] = prev
    out["balance_start"] = start
    out["balance_end"] = end
    series = {k: out[k] for k in SERIES}
    for key, stock in EXTRA_SERIES.items():  # (only those the projection modelled)
        if key in flows.extra:
            series[key] = _period_end(flows.extra[key], mp, T) if stock else _period_sum(flows.extra[key], mp, T)
    ledger = aggregate_ledger(flows.layers, sched, M1) if flows.layers is not None else None
    return PeriodFlows(flows.name, flows.original_balance, series, ledger, flows.layers,
                       flows.snapshot)


def _period_end(arr: np.ndarray, mp: np.ndarray, T: int) -> np.ndarray:
    """A balance at the end of each period: that of the period's last grid month."""
    end = np.zeros((arr.shape[0], T))
    prev = arr[:, 0].copy()
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        if len(months):
            prev = arr[:, months[-1]].copy()
        end[:, t] = prev
    return end


def cleanup_months(deal: Deal, sched: Schedule, pools: list[PeriodFlows], first_period: int = 0) -> np.ndarray:
    """Where the deal has a clean-up call, the grid month of its exercise per scenario
    (0: not exercised): the last collection month of the first period whose closing pool
    balance is at or below ``threshold`` x the cut-off balance (and not yet zero). The
    pools are then projected again with that sale month (``sale_month`` of the pool
    projections), so that loans defaulted before the call keep their recoveries. A deal
    picked up mid-life looks from its first projected period (``first_period``) on."""
    S, T = pools[0].series["balance_end"].shape
    months = np.zeros(S, dtype=np.int64)
    call = deal.cleanup_call
    if call is None:
        return months
    total0 = sum(p.original_balance for p in pools)
    total_end: np.ndarray = np.sum([p.series["balance_end"] for p in pools], axis=0)
    mp = np.asarray(sched.month_period)
    for s in range(S):
        hit = np.nonzero((total_end[s] <= call.threshold * total0 + 1e-9) & (total_end[s] > 0))[0]
        for t in hit[hit >= first_period].tolist():
            in_period = np.nonzero(mp[1:] == t)[0] + 1
            if len(in_period):
                months[s] = int(in_period[-1])
                break
    return months


def reference_paths(deal: Deal, scenarios: list[Scenario], T: int) -> tuple[list[str], np.ndarray]:
    """Reference-rate values per scenario and payment period: ``(S, n_refs, T)``."""
    names = sorted(deal.deal.reference_rates)
    out = np.zeros((len(scenarios), len(names), T))
    for si, sc in enumerate(scenarios):
        for ri, n in enumerate(names):
            v = sc.reference_rates.get(n, deal.deal.reference_rates[n])
            if isinstance(v, list):
                arr = np.asarray(v, dtype=np.float64)
                out[si, ri] = arr[np.minimum(np.arange(T), len(arr) - 1)]
            else:
                out[si, ri] = float(v)
    return names, out
