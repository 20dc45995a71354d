"""Receivable pools: licence-fee receivables resting on patents (知识产权许可应收许可费)
and IP transfer receivables (知识产权转让应收账款).

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

import calendar as _cal
import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..model.deal import LicencePool, TransferPool
from ..model.scenario import Scenario
from ..model.support import AnnualFeeUpkeep
from .base import PoolFlows
from .pledge import monthly_rate


def grid_month(d: dt.date, cutoff: dt.date) -> int:
    """Grid month containing ``d`` (0 if on or before the cut-off date)."""
    cut_eom = cutoff.day == _cal.monthrange(cutoff.year, cutoff.month)[1]
    x = (d.year - cutoff.year) * 12 + (d.month - cutoff.month)
    dim = _cal.monthrange(d.year, d.month)[1]
    gday = dim if cut_eom else min(cutoff.day, dim)
    return max(x + (1 if d.day > gday else 0), 0)


def _add_months(d: dt.date, n: int, eom: bool) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    last = _cal.monthrange(d.year + y, m + 1)[1]
    return dt.date(d.year + y, m + 1, last if eom else min(d.day, last))


def schedule_row(first: dt.date, last: dt.date, months: int, amount: float, escalation: float,
                 upfront: float, cutoff: dt.date, n_months: int) -> np.ndarray:
    """Scheduled amounts of one asset on the grid (fees after the cut-off date only)."""
    out = np.zeros(n_months + 1)
    eom = first.day == _cal.monthrange(first.year, first.month)[1]
    k = 0
    while True:
        d = _add_months(first, k * months, eom)
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

    @property
    def original_balance(self) -> float:
        return float((self.remaining[:, 0] * self.share).sum())


def receivable_arrays(pool: LicencePool | TransferPool, cutoff: dt.date, n_months: int) -> ReceivableArrays:
    M = n_months
    if isinstance(pool, LicencePool):
        assets = pool.licences
        ids = [a.licence_id for a in assets]
        fees = np.stack([schedule_row(a.first_fee_date, a.last_fee_date, a.fee_frequency.months, a.fee,
                                      a.escalation, a.upfront_fee, cutoff, M) for a in assets])
        pids = [p.patent_id for p in pool.patents]
        ptypes = [p.type for p in pool.patents]
        pidx = {p: i for i, p in enumerate(pids)}
        lidx = {x: i for i, x in enumerate(ids)}
        link_l = np.array([lidx[k.licence_id] for k in pool.links], dtype=np.int64)
        link_p = np.array([pidx[k.patent_id] for k in pool.links], dtype=np.int64)
        share = np.array([k.share for k in pool.links], dtype=np.float64)
        expiry = np.ones((len(pids), M + 1))
        for i, p in enumerate(pool.patents):
            gm = grid_month(p.expiry_date, cutoff)
            # in force through the grid month containing the expiry date only if the
            # expiry falls on that month's grid date or later
            expiry[i, gm + 1:] = 0.0
        pd = np.array([np.nan if a.pd is None else a.pd for a in assets])
    else:
        assets_t = pool.assets
        ids = [a.receivable_id for a in assets_t]
        fees = np.stack([schedule_row(a.first_date, a.last_date, a.frequency.months, a.instalment, 0.0, 0.0, cutoff, M)
                         for a in assets_t])
        pids, ptypes = ["-"], ["none"]
        link_l = np.arange(len(ids), dtype=np.int64)
        link_p = np.zeros(len(ids), dtype=np.int64)
        share = np.ones(len(ids))
        expiry = np.ones((1, M + 1))
        pd = np.array([np.nan if a.pd is None else a.pd for a in assets_t])
    fe = fees[link_l] * expiry[link_p]
    # remaining after month m: reverse cumulative sum shifted by one
    rev = np.cumsum(fe[:, ::-1], axis=1)[:, ::-1]
    remaining = np.zeros_like(fe)
    remaining[:, :-1] = rev[:, 1:]
    return ReceivableArrays(ids, fees, pd, pids, ptypes, link_l, link_p, share, expiry, remaining)


def _per_link_sum(arr: ReceivableArrays, values: np.ndarray, n_assets: int) -> np.ndarray:
    """Sum a (n_links, M+1) array into (n_assets, M+1) by asset."""
    out = np.zeros((n_assets, values.shape[1]))
    np.add.at(out, arr.link_l, values)
    return out


def project_receivable_pool(
    pool: LicencePool | TransferPool, arr: ReceivableArrays, scenarios: list[Scenario], grid: list[dt.date]
) -> PoolFlows:
    """Project the pool under each scenario; monthly flows of shape (S, M+1)."""
    S, M = len(scenarios), len(grid) - 1
    L = len(arr.ids)
    months = np.arange(M + 1)
    names = {
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
    if upkeep is not None:
        names["upkeep_cost"] = np.zeros((S, M + 1))
    for s, sc in enumerate(scenarios):
        # obligor default and termination hazards
        if sc.receivables.use_tape_pd:
            pd = np.where(np.isnan(arr.pd), 0.0, arr.pd)
            mdr = np.broadcast_to((1.0 - (1.0 - pd) ** (1.0 / 12.0))[:, None], (L, M + 1)).copy()
        else:
            mdr = np.broadcast_to(monthly_rate(sc.defaults.cdr, M), (L, M + 1)).copy()
        mdr[:, 0] = 0.0
        for aid, when in sc.defaults.loans.items():
            if aid in index:
                gm = max(grid_month(when, grid[0]), 1)
                if gm <= M:
                    mdr[index[aid], gm] = 1.0
        term = monthly_rate(sc.receivables.termination_rate, M)
        surv = np.cumprod((1.0 - mdr) * (1.0 - term)[None, :], axis=1)  # S[l, m]
        prev = np.empty_like(surv)
        prev[:, 0] = 1.0
        prev[:, 1:] = surv[:, :-1]
        drop = prev - surv
        default_part = prev * mdr  # of the drop, the part due to default (recovers)
        # patent factor
        P = len(arr.patent_ids)
        hz = sc.patents.invalidation_hazard
        if isinstance(hz, dict):
            h = np.array([hz.get(t, 0.0) for t in arr.patent_types])
        else:
            h = np.full(P, float(hz))
        if isinstance(pool, TransferPool):
            h[:] = 0.0
        vo = (1.0 - h)[:, None] ** (months[None, :] / 12.0)
        for ev in sc.patents.events:
            if ev.patent in pindex:
                gm = max(grid_month(ev.date, grid[0]), 1)
                if ev.kind == "invalidation":
                    vo[pindex[ev.patent], gm:] = 0.0
                else:
                    vo[pindex[ev.patent], gm:] *= 1.0 - sc.patents.renegotiation_haircut
        if upkeep is not None and isinstance(pool, LicencePool):
            names["upkeep_cost"][s] = _upkeep(pool, arr, upkeep, sc, grid, vo)
        vo_link = vo[arr.link_p] * arr.share[:, None]  # share * VO per link
        W = _per_link_sum(arr, vo_link * arr.expiry[arr.link_p], L)
        collected = F * surv * W
        bal_l = surv * _per_link_sum(arr, vo_link * arr.remaining, L)
        rem_prev = np.zeros_like(arr.remaining)
        rem_prev[:, 1:] = arr.remaining[:, :-1]
        at_risk = _per_link_sum(arr, vo_link * rem_prev, L)  # sum share * VO[m] * R[m-1]
        default_amt = drop * at_risk
        with np.errstate(divide="ignore", invalid="ignore"):
            default_share = np.where(drop > 0, default_part / np.where(drop > 0, drop, 1.0), 0.0)
        recoverable = default_amt * default_share
        vo_prev = np.empty_like(vo_link)
        vo_prev[:, 0] = vo_link[:, 0]
        vo_prev[:, 1:] = vo_link[:, :-1]
        writedown = prev * _per_link_sum(arr, (vo_prev - vo_link) * rem_prev, L)
        lag = sc.receivables.recovery_lag_months
        rec = np.zeros(M + 1 + lag)
        rec[lag:] = sc.receivables.recovery_rate * recoverable.sum(axis=0)
        rec = rec[: M + 1]
        # the loss on a default is recognised when its recovery arrives (terminations at once)
        unrecovered = (default_amt - recoverable).sum(axis=0)
        recoverable_total = recoverable.sum(axis=0)
        loss = np.zeros(M + 1 + lag)
        loss[: M + 1] += unrecovered
        loss[lag: lag + M + 1] += (1.0 - sc.receivables.recovery_rate) * recoverable_total
        loss = loss[: M + 1] + writedown.sum(axis=0)
        if claim_layers:
            # the layers restate the defaults' part of the loss (recognised at the recovery)
            cap_default[s] = recoverable
            cap_recovery[s] = sc.receivables.recovery_rate * recoverable
            cap_balance[s] = prev * at_risk
            part = np.zeros(M + 1 + lag)
            part[lag: lag + M + 1] = (1.0 - sc.receivables.recovery_rate) * recoverable_total
            loss_default_part[s] = part[: M + 1]
        balance = bal_l.sum(axis=0)
        names["balance_end"][s] = balance
        names["balance_start"][s, 1:] = balance[:-1]
        names["scheduled_principal"][s] = collected.sum(axis=0)
        names["default_amount"][s] = default_amt.sum(axis=0)
        names["recovery"][s] = rec
        names["loss"][s] = loss
        names["fees_due"][s] = F.sum(axis=0)
        names["fees_lost_default"][s] = (F * (1.0 - surv) * W).sum(axis=0)
        names["fees_lost_invalidation"][s] = (F * (1.0 - W)).sum(axis=0)
        names["patent_writedown"][s] = writedown.sum(axis=0)
    for k in names:
        names[k][:, 0] = 0.0 if k != "balance_end" else names[k][:, 0]
    flows = PoolFlows(
        name=pool.name,
        original_balance=float(names["balance_end"][0, 0]),
        prepayment=np.zeros((S, M + 1)),
        interest_collected=np.zeros((S, M + 1)),
        **names,
    )
    if claim_layers:
        from ..support.pool import support_flows

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
    return flows


def _upkeep(pool: LicencePool, arr: ReceivableArrays, up: AnnualFeeUpkeep, sc: Scenario, grid: list[dt.date],
            vo: np.ndarray) -> np.ndarray:
    """Annual fees (年费) of the licensed patents, paid in advance out of the pool every
    ``up.frequency`` (grid months 1, 1 + k, ...) for each patent in force that still
    carries scheduled fees, weighted by its expected survival; if the scenario stops them
    (``support_failures``), every patent lapses ``grace_months`` after the first unpaid
    fee (``vo`` is cut to 0 in place from then on). Returns the cost per grid month."""
    from ..support.layers import failure_month, lapse_month

    M1 = vo.shape[1]
    k = up.frequency.months
    cost = np.array([up.cost_per_year + up.collateral_share * p.appraised_value for p in pool.patents]) * k / 12.0
    # a patent needs its fee while some licence still has fees resting on it
    rem = np.zeros((len(arr.patent_ids), M1))
    np.add.at(rem, arr.link_p, arr.remaining)
    needed = np.zeros_like(rem)
    needed[:, 1:] = rem[:, :-1] > 0
    stop = failure_month(sc.support_failures[up.name], grid) if up.name in sc.support_failures else M1
    months = np.arange(M1)
    fee_month = (months >= 1) & ((months - 1) % k == 0) & (months < stop)
    out = np.where(fee_month, (cost[:, None] * vo * arr.expiry * needed).sum(axis=0), 0.0)
    if stop < M1:
        lapse = lapse_month(stop, k, up.grace_months)
        vo[:, lapse:] = 0.0
    return out


def months_needed(pool: LicencePool | TransferPool, cutoff: dt.date) -> int:
    last = max(a.last_fee_date for a in pool.licences) if isinstance(pool, LicencePool) else max(a.last_date for a in pool.assets)
    return grid_month(last, cutoff) + 1
