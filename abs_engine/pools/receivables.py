"""The projection shared by the receivable kinds: licence-fee receivables resting on
patents (知识产权许可应收许可费, :mod:`abs_engine.pools.licence`) and IP transfer receivables
(知识产权转让应收账款, :mod:`abs_engine.pools.transfer`). Each kind lays its pool on the
grid as :class:`ReceivableArrays`; everything here works on those arrays alone.

Both are schedules of amounts owed by obligors. A licence's fee rests on one or more
patents in given shares; a patent event (invalidation, obsolescence, expiry) cuts the
share resting on it for *every* licence that uses the patent, which is what makes
these pools different from loans. A transfer receivable is the special case of one
"patent" per receivable that never fails.

Expected-value projection, per scenario, vectorised over assets and months (no loop
over months): with ``F[l, m]`` the scheduled fee of asset ``l`` in grid month ``m``,

* obligor survival ``S[l, m] = prod_{k<=m} (1 - mdr_l(k)) (1 - tr(k))`` (0 from a named
  default's month on);
* patent factor ``VO[p, m] = (1 - h_p)^(m/12) * alive_p(m) * (1 - haircut * obsolete_p(m))``
  and expiry indicator ``E[p, m]`` (1 while the grid date is on or before expiry);
* fee weight ``W[l, m] = sum_p share[l, p] * VO[p, m] * E[p, m]``;
* fees collected ``F S W``; lost to default ``F (1 - S) W``; lost to patents ``F (1 - W)``
  (so fees due = collected + lost to default + lost to patents);
* balance (remaining scheduled fees under today's patent status)
  ``B[l, m] = S[l, m] * sum_p share * VO[p, m] * R[l, p, m]`` with
  ``R[l, p, m] = sum_{k > m} F[l, k] E[p, k]``;
* default amount (balance at default, what guarantors pay on)
  ``(S[m-1] - S[m]) * sum_p share * VO[p, m] * R[l, p, m-1]``, recovered at
  ``recovery_rate`` after ``recovery_lag_months`` (terminations recover nothing);
* patent write-down ``S[m-1] * sum_p share * (VO[p, m-1] - VO[p, m]) * R[l, p, m-1]``.

The balance rolls forward: ``B[m-1] - B[m] = collected + default amount + patent write-down``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..curves import monthly_rates
from ..dates import add_months, grid_month, is_month_end, month_on_grid, months_between
from ..model.deal import Header, LicencePool, TransferPool
from ..model.scenario import Scenario
from ..model.support import AnnualFeeUpkeep
from .base import Events, PoolFlows, PoolSnapshot, PoolStart, Support, clear_before
from .pledge import monthly_rate


def schedule_row(first: dt.date, last: dt.date, months: int, amount: float, escalation: float,
                 upfront: float, cutoff: dt.date, n_months: int) -> np.ndarray:
    """Scheduled amounts of one asset on the grid (fees after the cut-off date only)."""
    out = np.zeros(n_months + 1)
    eom = is_month_end(first)
    k = 0
    while True:
        d = add_months(first, k * months, eom=eom)
        if d > last:
            break
        if d > cutoff:
            gm = grid_month(d, cutoff)
            if gm > n_months:
                raise ValueError(f"a scheduled amount on {d} falls beyond the projection grid")
            out[gm] += amount * (1.0 + escalation) ** ((k * months) // 12)
            if k == 0:
                out[gm] += upfront
        k += 1
    return out


@dataclass(frozen=True)
class ReceivableArrays:
    """A receivable pool laid on the monthly grid (independent of the scenario)."""

    ids: list[str]
    fees: np.ndarray  # (L, M+1) scheduled amounts
    pd: np.ndarray  # (L,) annual PD from the tape (nan where missing)
    patent_ids: list[str]
    patent_types: list[str]
    link_l: np.ndarray  # (n_links,) asset index
    link_p: np.ndarray  # (n_links,) patent index
    share: np.ndarray  # (n_links,)
    expiry: np.ndarray  # (n_patents, M+1) 1.0 while in force
    remaining: np.ndarray  # (n_links, M+1): R[link, m] = sum_{k>m} F[l, k] E[p, k]
    patent_value: np.ndarray  # (n_patents,) appraised values (what annual-fee upkeep may be charged on)
    #: whether the scenario's patent risks (invalidation hazard, drawn invalidations) apply
    #: to the "patents" (a transfer receivable's single stand-in right never fails)
    patents_at_risk: bool = True

    @property
    def original_balance(self) -> float:
        return float((self.remaining[:, 0] * self.share).sum())


def receivable_arrays(ids: list[str], fees: np.ndarray, pd: np.ndarray, patent_ids: list[str], patent_types: list[str],
                      link_l: np.ndarray, link_p: np.ndarray, share: np.ndarray, expiry: np.ndarray,
                      patent_value: np.ndarray, *, patents_at_risk: bool = True) -> ReceivableArrays:
    """A kind's receivables on the grid: scheduled amounts ``fees`` ``(L, M+1)``, the links
    of assets to patents with their shares, each patent's in-force indicator ``expiry``;
    the remaining scheduled amounts per link are derived here."""
    fe = fees[link_l] * expiry[link_p]
    # remaining after month m: reverse cumulative sum shifted by one
    rev = np.cumsum(fe[:, ::-1], axis=1)[:, ::-1]
    remaining = np.zeros_like(fe)
    remaining[:, :-1] = rev[:, 1:]
    return ReceivableArrays(ids, fees, pd, patent_ids, patent_types, link_l, link_p, share, expiry, remaining,
                            patent_value, patents_at_risk)


def remaining_fees(arr: ReceivableArrays) -> np.ndarray:
    """Each receivable's balance at the cut-off date as the projection counts it: the
    scheduled amounts after the cut-off, a licence's shares cut at its patents' expiry."""
    out = np.zeros(len(arr.ids))
    np.add.at(out, arr.link_l, arr.share * arr.remaining[:, 0])
    return out


def start_balances(arr: ReceivableArrays, performing: np.ndarray, patents: np.ndarray | None, month: int) -> np.ndarray:
    """Each receivable's balance as a start gives it (:class:`~abs_engine.pools.base.PoolStart`):
    its chance of performing times its scheduled fees after grid month ``month`` resting on
    patents in force (``patents``: each patent's share in force; None: all)."""
    f = np.ones(len(arr.link_l)) if patents is None else np.asarray(patents, dtype=np.float64)[arr.link_p]
    out = np.zeros(len(arr.ids))
    np.add.at(out, arr.link_l, arr.share * f * arr.remaining[:, month])
    return out * np.asarray(performing, dtype=np.float64)


def _per_link_sum(arr: ReceivableArrays, values: np.ndarray, n_assets: int) -> np.ndarray:
    """Sum a (n_links, M+1) array into (n_assets, M+1) by asset."""
    out = np.zeros((n_assets, values.shape[1]))
    np.add.at(out, arr.link_l, values)
    return out


def _month_array(a: np.ndarray | None, shape: tuple[int, int], name: str, M: int) -> np.ndarray | None:
    """A hook's integer month array, checked; months outside 1..M become 0 (none)."""
    if a is None:
        return None
    out = np.asarray(a, dtype=np.int64)
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    return np.where((out >= 1) & (out <= M), out, 0)


def _survival(mdr: np.ndarray, term: np.ndarray, s0: np.ndarray | float = 1.0) -> tuple[np.ndarray, ...]:
    """Obligor survival ``S = s0 cumprod((1 - mdr)(1 - term))``, its value a month earlier,
    the drop ``S[m-1] - S[m]`` and its part due to default ``S[m-1] * mdr`` (rows of
    ``mdr``: assets, or one shared row; ``s0``: the chance of performing at the start, per
    row or shared, 1 at the cut-off)."""
    surv = np.cumprod((1.0 - mdr) * (1.0 - term)[None, :], axis=1)
    if not (np.isscalar(s0) and s0 == 1.0):
        surv = surv * s0
    prev = np.empty_like(surv)
    prev[:, 0] = s0 if np.isscalar(s0) else np.asarray(s0).reshape(-1)
    prev[:, 1:] = surv[:, :-1]
    return surv, prev, prev - surv, prev * mdr


class _LinkSums:
    """The sums over each asset's links that the projection needs, split by patent type.

    With ``SE = share * E[p]``, ``SR = share * R`` and ``SRP = share * R[m-1]`` per link, a
    scenario needs ``W = sum SE * VO``, ``sum SR * VO``, ``sum SRP * VO`` and the write-down
    sum ``sum SRP * (VO[m-1] - VO[m])`` per asset. ``VO`` is one row per patent type except
    for the few patents a named event hits, so each sum is the scenario-independent sum per
    type (computed once here) times its type's row, plus corrections on the links of the
    patents that deviate. This keeps a scenario's cost at O(assets x months)."""

    def __init__(self, arr: ReceivableArrays, n_assets: int) -> None:
        self.types, self.type_of = np.unique(np.asarray(arr.patent_types, dtype=object).astype(str), return_inverse=True)
        self.arr, self.L = arr, n_assets
        rem_prev = np.zeros_like(arr.remaining)
        rem_prev[:, 1:] = arr.remaining[:, :-1]
        sh = arr.share[:, None]
        self.SE = sh * arr.expiry[arr.link_p]
        self.SR = sh * arr.remaining
        self.SRP = sh * rem_prev
        self.link_type = self.type_of[arr.link_p]
        # made on first use: the per-asset sums per type (the per-asset path, and named
        # defaults), and their column sums (the shared survival row)
        self._base: list[tuple[np.ndarray, ...]] | None = None
        self.cols: list[tuple[np.ndarray, ...]] | None = None

    @property
    def base(self) -> list[tuple[np.ndarray, ...]]:
        """Per type: the per-asset sums of SE, SR and SRP over the asset's links of that type."""
        if self._base is None:
            self._base = [tuple(self._sum(x, self.link_type == t) for x in (self.SE, self.SR, self.SRP))
                          for t in range(len(self.types))]
        return self._base

    def _subset_base(self, assets: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """:attr:`base` for the rows ``assets`` (sorted) only, from their own links."""
        if self._base is not None:
            return [tuple(x[assets] for x in b) for b in self._base]
        links = np.flatnonzero(np.isin(self.arr.link_l, assets))
        rows = np.searchsorted(assets, self.arr.link_l[links])
        out = []
        for t in range(len(self.types)):
            on = self.link_type[links] == t
            sums = []
            for x in (self.SE, self.SR, self.SRP):
                acc = np.zeros((len(assets), x.shape[1]))
                np.add.at(acc, rows[on], x[links[on]])
                sums.append(acc)
            out.append(tuple(sums))
        return out

    def _sum(self, x: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Sum the link rows of ``x`` that are ``on`` into asset rows, in link order within
        an asset: round k adds every asset's k-th link (a few vectorised rounds, as assets
        rest on a few patents each, instead of a slow scattered add)."""
        out = np.zeros((self.L, x.shape[1]))
        links = np.flatnonzero(on)
        if not len(links):
            return out
        ll = self.arr.link_l[links]
        order = np.argsort(ll, kind="stable")
        links, ll = links[order], ll[order]
        first = np.r_[True, ll[1:] != ll[:-1]]
        rank = np.arange(len(ll)) - np.maximum.accumulate(np.where(first, np.arange(len(ll)), 0))
        for k in range(int(rank.max()) + 1):
            at = rank == k
            out[ll[at]] += x[links[at]]
        return out

    def combine(self, vt: np.ndarray, vo: np.ndarray, hit: list[int],
                assets: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """``W``, the fee balance sum, the at-risk sum and the write-down sum per asset
        ``(L, M+1)`` — or for the rows ``assets`` only — for type rows ``vt`` and patent rows
        ``vo`` (``hit``: the patents whose row is not their type's)."""
        vt_prev = np.empty_like(vt)
        vt_prev[:, 0] = vt[:, 0]
        vt_prev[:, 1:] = vt[:, :-1]
        n = self.L if assets is None else len(assets)
        out = [np.zeros((n, vt.shape[1])) for _ in range(4)]
        for t, (se, sr, srp) in enumerate(self.base if assets is None else self._subset_base(assets)):
            out[0] += se * vt[t]
            out[1] += sr * vt[t]
            out[2] += srp * vt[t]
            out[3] += srp * (vt_prev[t] - vt[t])
        if hit:
            on = np.isin(self.arr.link_p, hit)
            if assets is not None:
                on &= np.isin(self.arr.link_l, assets)
            links = np.flatnonzero(on)
            p = self.arr.link_p[links]
            d = vo[p] - vt[self.type_of[p]]  # (n, M+1) deviation of each link's patent
            d_prev = np.empty_like(d)
            d_prev[:, 0] = d[:, 0]
            d_prev[:, 1:] = d[:, :-1]
            rows = self.arr.link_l[links]
            if assets is not None:
                rows = np.searchsorted(assets, rows)
            for acc, x in ((out[0], self.SE[links] * d), (out[1], self.SR[links] * d), (out[2], self.SRP[links] * d),
                           (out[3], self.SRP[links] * (d_prev - d))):
                np.add.at(acc, rows, x)
            # a patent cut to nothing leaves its type's sum minus itself: never below 0, but
            # rounding can leave -1e-12 there, which would be a negative default (claim)
            for x in out[:3]:
                np.maximum(x, 0.0, out=x)
        return tuple(out)

    def columns(self, vt: np.ndarray, vo: np.ndarray, hit: list[int]) -> tuple[np.ndarray, ...]:
        """The sums over all assets of :meth:`combine`'s ``F * W``, fee balance, at-risk and
        write-down sums, ``(M+1,)`` each, when every obligor survives alike (the caller
        applies the survival row): per-type column sums computed once, times the type rows,
        plus the deviations of the patents ``hit``."""
        if self.cols is None:  # straight from the links (no per-asset sums needed)
            FL = self.arr.fees[self.arr.link_l]
            self.cols = []
            for t in range(len(self.types)):
                on = self.link_type == t
                self.cols.append(((FL[on] * self.SE[on]).sum(axis=0), self.SR[on].sum(axis=0), self.SRP[on].sum(axis=0)))
        vt_prev = np.empty_like(vt)
        vt_prev[:, 0] = vt[:, 0]
        vt_prev[:, 1:] = vt[:, :-1]
        out = [np.zeros(vt.shape[1]) for _ in range(4)]
        for t, (fse, sr, srp) in enumerate(self.cols):
            out[0] += fse * vt[t]
            out[1] += sr * vt[t]
            out[2] += srp * vt[t]
            out[3] += srp * (vt_prev[t] - vt[t])
        if hit:
            links = np.flatnonzero(np.isin(self.arr.link_p, hit))
            p = self.arr.link_p[links]
            d = vo[p] - vt[self.type_of[p]]
            d_prev = np.empty_like(d)
            d_prev[:, 0] = d[:, 0]
            d_prev[:, 1:] = d[:, :-1]
            out[0] += (self.arr.fees[self.arr.link_l[links]] * self.SE[links] * d).sum(axis=0)
            out[1] += (self.SR[links] * d).sum(axis=0)
            out[2] += (self.SRP[links] * d).sum(axis=0)
            out[3] += (self.SRP[links] * (d_prev - d)).sum(axis=0)
            for x in out[:3]:  # (rounding: see combine)
                np.maximum(x, 0.0, out=x)
        return tuple(out)


def project_receivable_pool(
    pool: LicencePool | TransferPool, arr: ReceivableArrays, scenarios: list[Scenario], grid: list[dt.date],
    *,
    default_month: np.ndarray | None = None,
    invalidation_month: np.ndarray | None = None,
    sale_month: np.ndarray | None = None,
    sale_price: float = 1.0,
    support: Support | None = None,
    start: PoolStart | None = None,
    snapshot: int | None = None,
) -> PoolFlows:
    """Project the pool under each scenario; monthly flows of shape (S, M+1).

    Optional arrays, as a Monte Carlo draws them (0: none; months beyond the grid: none):
    ``default_month`` ``(n_scenarios, n_assets)``, the grid month in which each obligor
    defaults wholly (with ``defaults.loans``, the earlier of the two); ``invalidation_month``
    ``(n_scenarios, n_patents)`` for licence pools, the grid month from which each patent is
    invalid (with the scenario's events, whichever cuts first).

    ``sale_month`` ``(n_scenarios,)`` (0: none): the month at whose end the clean-up call buys
    the receivables still performing, their remaining scheduled fees at ``sale_price``
    (proceeds in ``prepayment``, the discount in ``loss``); nothing is due, defaults or is
    written down after it, and the recoveries of earlier defaults still come in.

    ``support`` runs the pool's support stack (:func:`abs_engine.support.pool.support_flows`;
    a pool with claim layers needs it).

    ``start`` (a deal picked up mid-life, abs_engine/restart.py): the pool as of the end of
    grid month ``m0 = start.month``. The projection continues from month ``m0 + 1``: each
    obligor's survival starts at its chance of performing (``start.performing``), each
    patent's factor at its share in force (``start.patents``; the hazard runs on from
    ``m0``), fees, defaults, terminations and events of months up to ``m0`` are past; the
    defaults listed recover ``recovery_rate`` of their amount ``recovery_lag_months`` after
    the default (in month ``m0 + 1`` if that is past) and the support layers replay them.
    The flows of the months up to ``m0`` are 0. ``snapshot`` (a grid month): record the
    pool at the end of that month in the result's ``snapshot``.
    """
    S, M = len(scenarios), len(grid) - 1
    L = len(arr.ids)
    P = len(arr.patent_ids)
    m0 = 0 if start is None else int(start.month)
    original = arr.original_balance if start is not None else None
    if start is not None:  # the fees of the months up to m0 are past (what remains after is unchanged)
        past = arr.fees.copy()
        past[:, : m0 + 1] = 0.0
        arr = replace(arr, fees=past)
    dm = _month_array(default_month, (S, L), "default_month", M)
    im = _month_array(invalidation_month, (S, P), "invalidation_month", M)
    months = np.arange(M + 1)
    names: dict[str, Any] = {
        k: np.zeros((S, M + 1))
        for k in ("balance_start", "scheduled_principal", "default_amount", "recovery", "loss", "balance_end",
                  "fees_due", "fees_lost_default", "fees_lost_invalidation", "patent_writedown")
    }
    index = {x: i for i, x in enumerate(arr.ids)}
    pindex = {x: i for i, x in enumerate(arr.patent_ids)}
    F = arr.fees
    # risk-sharing layers: claims are the defaulted receivables (terminations are not
    # claims); the annual-fee upkeep of a licence pool keeps its patents alive
    claim_layers = [x for x in pool.support if not isinstance(x, AnnualFeeUpkeep)]
    upkeep = next((x for x in pool.support if isinstance(x, AnnualFeeUpkeep)), None)
    if claim_layers:
        cap_default = np.zeros((S, L, M + 1))
        cap_recovery = np.zeros((S, L, M + 1))
        cap_balance = np.zeros((S, L, M + 1))
        loss_default_part = np.zeros((S, M + 1))
    if claim_layers and support is None:
        raise ValueError(f"pool '{pool.name}' has a support stack: give the support layers (support=...)")
    if upkeep is not None:
        names["upkeep_cost"] = np.zeros((S, M + 1))
        upkeep_weights = _upkeep_weights(arr, upkeep)
    agg = _LinkSums(arr, L)
    F_col = F.sum(axis=0)
    # a start: each obligor's chance of performing (shared, or per asset where they differ)
    # and each patent's factor (each type's most common one, the patents that differ from it
    # deviating as a named event's do)
    s0_rows: np.ndarray | float = 1.0
    s0_row: float = 1.0
    s0_per_asset = False
    f0: np.ndarray | None = None
    f0_common = np.ones(len(agg.types))
    f0_hit: set[int] = set()
    if start is not None:
        perf = np.asarray(start.performing, dtype=np.float64)
        s0_per_asset = bool(len(perf)) and not (perf == perf[0]).all()
        s0_rows = perf[:, None]
        s0_row = float(perf[0]) if len(perf) else 1.0
        if start.patents is not None and arr.patents_at_risk:
            f0 = np.asarray(start.patents, dtype=np.float64)
            for t in range(len(agg.types)):
                vals, counts = np.unique(f0[agg.type_of == t], return_counts=True)
                if len(vals):
                    f0_common[t] = vals[np.argmax(counts)]
            f0_hit = set(np.flatnonzero(f0 != f0_common[agg.type_of]).tolist())
    prepayment = np.zeros((S, M + 1))
    if sale_month is not None:
        sale_month = np.asarray(sale_month, dtype=np.int64)
        if sale_month.shape != (S,):
            raise ValueError(f"sale_month has shape {sale_month.shape}, expected (scenarios,) = {(S,)}")
    ms = snapshot if snapshot is not None and 0 <= snapshot <= M else None
    snap: dict[str, np.ndarray] = {}
    if ms is not None:
        snap = {"default": np.zeros((S, L, ms + 1)), "default_balance": np.zeros((S, L, ms + 1)),
                "recovery": np.zeros((S, L, ms + 1)), "performing": np.zeros((S, L)), "balance": np.zeros((S, L)),
                "patents": np.zeros((S, P))}
    for s, sc in enumerate(scenarios):
        named = [(index[aid], max(grid_month(when, grid[0]), 1)) for aid, when in sc.defaults.loans.items() if aid in index]
        if dm is not None:
            named += [(int(li), int(dm[s, li])) for li in np.flatnonzero(dm[s])]
        named = [(li, gm) for li, gm in named if gm > m0]  # (a start's past is in its figures)
        # one survival row shared by every obligor, unless they differ (tape PDs) or the
        # layers need each asset's defaults; named defaults deviate from the row
        per_asset = sc.receivables.use_tape_pd or bool(claim_layers) or s0_per_asset
        # obligor default and termination hazards
        if sc.receivables.use_tape_pd:
            pd = np.where(np.isnan(arr.pd), 0.0, arr.pd)
            mdr = np.broadcast_to((1.0 - (1.0 - pd) ** (1.0 / 12.0))[:, None], (L, M + 1)).copy()
        else:
            mdr = monthly_rates(sc.defaults.cdr, M)[None, :]
            if per_asset:
                mdr = np.broadcast_to(mdr, (L, M + 1)).copy()
        mdr[:, : m0 + 1] = 0.0
        dev = np.array(sorted({li for li, _ in named}), dtype=np.int64)  # assets off the shared row
        # a named default month: the whole asset defaults then (the earlier of two names
        # wins: from its month on nothing is left to default)
        if per_asset:
            dev = np.zeros(0, dtype=np.int64)
            for li, gm in named:
                if gm <= M:
                    mdr[li, gm] = 1.0
        elif len(dev):
            mdr_dev = np.broadcast_to(mdr, (len(dev), M + 1)).copy()
            for li, gm in named:
                if gm <= M:
                    mdr_dev[np.searchsorted(dev, li), gm] = 1.0
        term = monthly_rate(sc.receivables.termination_rate, M)
        term[: m0 + 1] = 0.0
        surv, prev, drop, default_part = _survival(mdr, term, s0_rows if per_asset else s0_row)  # per asset, or one row
        # patent factor VO[p, m]: one row per patent type (the hazard), with the patents
        # that named events hit deviating from their type's row
        hz = sc.patents.invalidation_hazard
        if not arr.patents_at_risk:
            h = np.zeros(len(agg.types))
        elif isinstance(hz, dict):
            h = np.array([hz.get(t, 0.0) for t in agg.types])
        else:
            h = np.full(len(agg.types), float(hz))
        vt = (1.0 - h)[:, None] ** (np.maximum(months - m0, 0)[None, :] / 12.0)  # (n_types, M+1)
        vo = vt[agg.type_of]  # (P, M+1)
        hit: set[int] = set()
        if f0 is not None:  # a start's patent factors: each type's common one, the others deviate
            vo = vo * f0[:, None]
            vt = vt * f0_common[:, None]
            hit |= f0_hit
        for ev in sc.patents.events:
            if ev.patent in pindex:
                p = pindex[ev.patent]
                gm = max(grid_month(ev.date, grid[0]), 1)
                if gm <= m0:
                    continue
                if ev.kind == "invalidation":
                    vo[p, gm:] = 0.0
                else:
                    vo[p, gm:] *= 1.0 - sc.patents.renegotiation_haircut
                hit.add(p)
        if im is not None and arr.patents_at_risk:
            for pi in np.flatnonzero(im[s] > m0).tolist():
                vo[pi, int(im[s, pi]):] = 0.0
                hit.add(pi)
        if upkeep is not None:
            names["upkeep_cost"][s], lapse = _upkeep(upkeep, sc, grid, vo, upkeep_weights)
            if lapse is not None:  # every patent lapses: the type rows too
                vt[:, lapse:] = 0.0
        if per_asset:
            W, fee_bal, at_risk, wd = agg.combine(vt, vo, sorted(hit))
            FW = F * W
            col = {
                "fees_weighted": FW.sum(axis=0),
                "collected": (FW * surv).sum(axis=0),
                "balance": (surv * fee_bal).sum(axis=0),
                "default": (drop * at_risk).sum(axis=0),  # licences defaulting or terminating
                "recoverable": (at_risk * default_part).sum(axis=0),  # the part due to default
                "writedown": (prev * wd).sum(axis=0),
            }
            if claim_layers:
                cap_default[s] = at_risk * default_part
                cap_recovery[s] = sc.receivables.recovery_rate * cap_default[s]
                # the receivable's remaining fees if its licensee still performs: a default is
                # the share default_part / prev of it (a named default: the whole, as projected)
                cap_balance[s] = np.where(mdr >= 1.0, prev * at_risk, at_risk)
        else:
            FW_c, bal_c, ar_c, wd_c = agg.columns(vt, vo, sorted(hit))
            sv, pv, dr, dp = surv[0], prev[0], drop[0], default_part[0]
            col = {"fees_weighted": FW_c, "collected": sv * FW_c, "balance": sv * bal_c, "default": dr * ar_c,
                   "recoverable": dp * ar_c, "writedown": pv * wd_c}
            if len(dev):  # the named defaults: their own survival instead of the row
                W_d, fb_d, ar_d, wd_d = agg.combine(vt, vo, sorted(hit), assets=dev)
                s_d, p_d, dr_d, dp_d = _survival(mdr_dev, term, s0_row)
                col["collected"] = col["collected"] + (F[dev] * W_d * (s_d - sv)).sum(axis=0)
                col["balance"] = col["balance"] + (fb_d * (s_d - sv)).sum(axis=0)
                col["default"] = col["default"] + (ar_d * (dr_d - dr)).sum(axis=0)
                col["recoverable"] = col["recoverable"] + (ar_d * (dp_d - dp)).sum(axis=0)
                col["writedown"] = col["writedown"] + (wd_d * (p_d - pv)).sum(axis=0)
        c = int(sale_month[s]) if sale_month is not None else 0
        sold = 0.0
        if 0 < c <= M:  # the clean-up call: what still performs leaves the pool at the end of month c
            sold = float(col["balance"][c])
            col = {k: v.copy() for k, v in col.items()}
            for k in ("fees_weighted", "collected", "default", "recoverable", "writedown"):
                col[k][c + 1:] = 0.0
            col["balance"][c:] = 0.0
            prepayment[s, c] = sale_price * sold
            if claim_layers:
                for a in (cap_default, cap_recovery, cap_balance):
                    a[s, :, c + 1:] = 0.0
            if upkeep is not None:
                names["upkeep_cost"][s, c + 1:] = 0.0
        lag = sc.receivables.recovery_lag_months
        rr = sc.receivables.recovery_rate
        if ms is not None:  # the pool at the end of month ms, per asset
            rows: tuple[np.ndarray, ...]
            if per_asset:
                fb, ar, rows = fee_bal, at_risk, (surv, prev, default_part, mdr)
            else:
                _, fb, ar, _ = agg.combine(vt, vo, sorted(hit))
                rows = tuple(np.broadcast_to(x, (L, M + 1)).copy() for x in (surv, prev, default_part, mdr))
                if len(dev):
                    for x, d in zip(rows, (s_d, p_d, dp_d, mdr_dev), strict=True):
                        x[dev] = d
            sv_a, pv_a, dp_a, md_a = (x[:, : ms + 1] for x in rows)
            D_a = ar[:, : ms + 1] * dp_a
            snap["default"][s] = D_a
            snap["default_balance"][s] = np.where(md_a >= 1.0, pv_a * ar[:, : ms + 1], ar[:, : ms + 1])
            snap["recovery"][s] = rr * D_a
            snap["performing"][s] = sv_a[:, ms]
            snap["balance"][s] = sv_a[:, ms] * fb[:, ms]
            snap["patents"][s] = vo[:, ms]
            if 0 < c <= ms:  # sold by the clean-up call
                snap["balance"][s] = snap["performing"][s] = 0.0
            if start is not None and len(start.d_asset):  # and the defaults the start lists
                on = start.d_month <= ms
                d_li, d_md = start.d_asset[on], start.d_month[on]
                np.add.at(snap["default"][s], (d_li, d_md), start.d_amount[on])
                got = start.d_recovered[on]
                np.add.at(snap["recovery"][s], (d_li, d_md), np.where(np.isnan(got), rr * start.d_amount[on], got))
                snap["default_balance"][s][d_li, d_md] = start.d_balance[on]
        recoverable_total = col["recoverable"]
        rec = np.zeros(M + 1 + lag)
        rec[lag:] = rr * recoverable_total
        rec = rec[: M + 1]
        # the loss on a default is recognised when its recovery arrives (terminations at once)
        loss = np.zeros(M + 1 + lag)
        loss[: M + 1] += col["default"] - recoverable_total
        loss[lag: lag + M + 1] += (1.0 - rr) * recoverable_total
        loss = loss[: M + 1] + col["writedown"]
        if sold:
            loss[c] += (1.0 - sale_price) * sold
        if claim_layers:
            # the layers restate the defaults' part of the loss (recognised at the recovery)
            part = np.zeros(M + 1 + lag)
            part[lag: lag + M + 1] = (1.0 - rr) * recoverable_total
            loss_default_part[s] = part[: M + 1]
        if start is not None and len(start.d_asset):  # the defaults a start lists
            d_li, d_md, Dp = start.d_asset, start.d_month, start.d_amount
            pend = start.pending
            arrive = np.maximum(d_md + lag, m0 + 1)
            on = pend & (arrive <= M)
            np.add.at(rec, arrive[on], rr * Dp[on])
            np.add.at(loss, arrive[on], (1.0 - rr) * Dp[on])
            if claim_layers:  # the layers replay them (and restate their loss)
                np.add.at(loss_default_part[s], arrive[on], (1.0 - rr) * Dp[on])
                np.add.at(cap_default[s], (d_li, d_md), Dp)
                np.add.at(cap_recovery[s], (d_li, d_md), np.where(pend, rr * Dp, start.d_recovered))
                cap_balance[s, d_li, d_md] = start.d_balance
        balance = col["balance"]
        names["balance_end"][s] = balance
        names["balance_start"][s, 1:] = balance[:-1]
        names["scheduled_principal"][s] = col["collected"]
        names["default_amount"][s] = col["default"]
        names["recovery"][s] = rec
        names["loss"][s] = loss
        names["fees_due"][s] = F_col
        if sold:
            names["fees_due"][s, c + 1:] = 0.0
        names["fees_lost_default"][s] = col["fees_weighted"] - col["collected"]
        names["fees_lost_invalidation"][s] = names["fees_due"][s] - col["fees_weighted"]
        names["patent_writedown"][s] = col["writedown"]
    for k in names:
        names[k][:, 0] = 0.0 if k != "balance_end" else names[k][:, 0]
    flows = PoolFlows(
        name=pool.name,
        original_balance=float(names["balance_end"][0, 0]) if original is None else original,
        prepayment=prepayment,
        interest_collected=np.zeros((S, M + 1)),
        **names,
    )
    if claim_layers:
        assert support is not None  # (checked on entry)
        support_flows = support
        lags = np.array([sc.receivables.recovery_lag_months for sc in scenarios], dtype=np.int64)
        series, lr = support_flows(
            claim_layers, scenarios, grid, default=cap_default, recovery=cap_recovery, lag=lags,
            balance=cap_balance, loan_original=_per_link_sum(arr, arr.share[:, None] * arr.remaining[:, :1], L)[:, 0],
        )
        flows.loss_before_support = flows.loss
        flows.loss = flows.loss - loss_default_part + series["loss"]
        flows.recovery = series["recovery"]
        flows.support_paid = series["support_paid"]
        flows.layers = lr
    if ms is not None:
        lags = np.array([sc.receivables.recovery_lag_months for sc in scenarios], dtype=np.int64)
        flows.snapshot = PoolSnapshot(month=ms, patents=snap["patents"] if arr.patents_at_risk else None,
                                      lag=lags, **{k: v for k, v in snap.items() if k != "patents"})
    if start is not None:
        clear_before(flows, m0)
    return flows


def _upkeep_weights(arr: ReceivableArrays, up: AnnualFeeUpkeep) -> np.ndarray:
    """Each patent's annual fee per fee payment, ``(n_patents, M+1)``, where it is in force
    and still carries scheduled fees (the scenario-independent part of :func:`_upkeep`)."""
    M1 = arr.remaining.shape[1]
    k = up.frequency.months
    cost = np.array([up.cost_per_year + up.collateral_share * v for v in arr.patent_value.tolist()]) * k / 12.0
    # a patent needs its fee while some licence still has fees resting on it
    rem = np.zeros((len(arr.patent_ids), M1))
    np.add.at(rem, arr.link_p, arr.remaining)
    needed = np.zeros_like(rem)
    needed[:, 1:] = rem[:, :-1] > 0
    return cost[:, None] * arr.expiry * needed


def _upkeep(up: AnnualFeeUpkeep, sc: Scenario, grid: list[dt.date], vo: np.ndarray,
            weights: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Annual fees (年费) of the licensed patents, paid in advance out of the pool every
    ``up.frequency`` (grid months 1, 1 + k, ...) for each patent in force that still
    carries scheduled fees (``weights``, :func:`_upkeep_weights`), weighted by its expected
    survival; if the scenario stops them (``support_failures``), every patent lapses
    ``grace_months`` after the first unpaid fee (``vo`` is cut to 0 in place from then on).
    Returns the cost per grid month and the lapse month (None if the fees are paid
    throughout)."""
    M1 = vo.shape[1]
    k = up.frequency.months
    stop = month_on_grid(sc.support_failures[up.name], grid) if up.name in sc.support_failures else M1
    months = np.arange(M1)
    fee_month = (months >= 1) & ((months - 1) % k == 0) & (months < stop)
    out = np.where(fee_month, (weights * vo).sum(axis=0), 0.0)
    if stop < M1:
        lapse = up.lapse_month(stop)
        vo[:, lapse:] = 0.0
        return out, lapse
    return out, None


# --------------------------------------------------------------------------- what the kinds share


class ReceivableKind:
    """What the receivable kinds share (:class:`~abs_engine.pools.base.PoolKind`): a kind
    subclasses it with :meth:`last_date` and :meth:`prepare` (its pool on the grid), the
    asset table and the IP rights behind it."""

    tag = ""

    def last_date(self, pool: Any) -> dt.date:
        """The pool's last scheduled amount."""
        raise NotImplementedError

    def months_needed(self, pool: Any, cutoff: dt.date) -> int:
        return grid_month(self.last_date(pool), cutoff) + 1

    def prepare(self, pool: Any, cutoff: dt.date, grid_months: int, references: list[str]) -> ReceivableArrays:
        raise NotImplementedError

    def original_balance(self, pool: Any, cutoff: dt.date) -> float:
        return self.prepare(pool, cutoff, self.months_needed(pool, cutoff), []).original_balance

    def project(self, pool: LicencePool | TransferPool, prepared: ReceivableArrays, scenarios: list[Scenario],
                grid: list[dt.date], ref_rates: np.ndarray, events: Events, support: Support | None) -> PoolFlows:
        return project_receivable_pool(pool, prepared, scenarios, grid, default_month=events.default_month,
                                       invalidation_month=events.invalidation_month, sale_month=events.sale_month,
                                       sale_price=events.sale_price, support=support, start=events.start,
                                       snapshot=events.snapshot)

    def has_sparse(self, pool: Any, *, exact: bool) -> bool:
        return False

    def sparse(self, pool: Any, prepared: Any, scenario: Scenario, grid: list[dt.date], ref_rates: np.ndarray,
               *, exact: bool) -> None:
        return None  # (projected densely: a receivable pool is small next to a loan tape)

    def patent_types(self, pool: Any) -> list[str]:
        return []

    def default_rates(self, pool: Any, prepared: Any, scenario: Scenario, grid: list[dt.date]) -> None:
        return None  # (a receivable's obligor defaults at the scenario's CDR, or its tape PD)

    def terms(self, pool: Any, header: Header) -> dict[str, float]:
        return {}  # (the receivables' table is the collateral fit's)

    def on_grid(self, pool: Any, header: Header) -> ReceivableArrays:
        """The pool on a grid that reaches its last scheduled amount."""
        cutoff = header.cutoff_date
        return self.prepare(pool, cutoff, max(self.months_needed(pool, cutoff), 1), [])

    def receivables(self, pool: LicencePool | TransferPool, header: Header, notes: float) -> tuple[ReceivableArrays, np.ndarray, dict[str, Any]]:
        """The pool's remaining scheduled receivables (剩余应收款) per link and grid month, and
        the collateral fit's receivables row: their total, their present value at the pool's
        ``discount_rate`` (annual compounding, ACT/365F from the cut-off date to the end of each
        grid month) and the over-collateralisation present value / notes."""
        h = header
        arr = self.on_grid(pool, h)
        M = arr.fees.shape[1] - 1
        flows = arr.fees[arr.link_l] * arr.expiry[arr.link_p] * arr.share[:, None]  # (links, M+1)
        remaining = float(flows[:, 1:].sum())
        years = np.array([(add_months(h.cutoff_date, m) - h.cutoff_date).days / 365.0 for m in range(M + 1)])
        rate = pool.discount_rate
        pv = float((flows * (1.0 + rate) ** -years[None, :])[:, 1:].sum()) if rate is not None else math.nan
        row = {"pool": pool.name, "kind": pool.kind, "remaining_receivables": remaining,
               "discount_rate": rate if rate is not None else math.nan, "present_value": pv,
               "notes": notes, "oc_ratio": pv / notes if notes and pv == pv else math.nan,
               "receivables_to_notes": remaining / notes if notes else math.nan}
        return arr, flows, row


def terms(cut: dt.date, first: dt.date, last: dt.date) -> tuple[float, float]:
    """Remaining term (to ``last``) and seasoning (from ``first``) in months at ``cut``, floored at 0."""
    return max(months_between(cut, last), 0.0), max(months_between(first, cut), 0.0)
