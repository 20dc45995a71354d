"""Finance-lease receivables (融资租赁 / 售后回租, ``kind: lease``): the lessee sold its IP to
the lessor and leases it back; each rent (租金) repays lease principal (租赁本金) with
interest. The pool balance is the lease principal, not the sum of the rents
(docs/methodology.md, "Lease pools").

Order of events in grid month ``m`` for a lease with expected principal ``B`` and chance
``q`` of still performing (so ``Bc = B / q`` is its principal if it does), vectorised over
scenarios and leases:

1. default: ``D = B * mdr`` (the scenario's CDR), or the whole ``B`` in the month the
   scenario (or a Monte Carlo path) names; ``B1 = B - D``, ``q1 = q (1 - mdr)``;
2. if a rent falls in ``m``: interest ``B1 * rp`` with the periodic rate
   ``rp = r * f / 12`` (``f`` months between rents; ``r`` the tape rate, or for an
   LPR-linked lease ``reference + spread`` as fixed at the last reset on or before the
   start of the rent's period, floored at 0) and principal on ``B1``:
   equal rent (等额租金) ``B1 rp / ((1 + rp)^n - 1)`` with ``n`` rents left (so the rent
   ``B1 rp / (1 - (1 + rp)^-n)`` is level, and recomputed on the remaining principal when a
   reset changes ``r``), equal principal (等额本金) ``B1 / n``, irregular ``q1 x`` the
   schedule's principal; the last rent repays ``B1`` and brings the purchase option price
   (留购价) ``q1 x option``; an upfront fee (手续费) due after the cut-off date comes as
   ``q1 x fee`` in its month. Interest and these are income (``interest_collected``);
3. early termination on what is left: ``P = B2 * smm`` (the scenario's CPR; or
   ``min(B2, B2 smm / (1 - mdr))`` with ``prepayment.applies_to: before_defaults``), with
   the termination fee ``P x termination_fee`` as income; ``q = q1 (1 - smm)``;
4. recovery of ``D``: with ``deposit_held_by: trust`` the deposit is set against what the
   lessee owes at once, ``Dd = D * min(1, deposit / Bc)`` recovered in month ``m``; the rest
   ``Dn = D - Dd`` recovers ``lag`` months later by selling or re-leasing the IP:
   ``Dn x rate`` (the scenario's ``recovery.rate``) or
   ``Dn x min(1, V (1 - decay)^((m + lag)/12) (1 - haircut) / (Bc - min(deposit, Bc)))``,
   ``V`` the leased IP's appraised value; the loss ``Dn - recovery`` is recognised then.
   A performing lessee's deposit pays its last rents (the plan collects them in full:
   the lessee pays ``rent - deposit`` and the deposit the rest).

A pool ``support`` stack (the lessor's repurchase obligation 原始权益人回购 is a ``buy_back``
at price 1 of the defaulted balance after ``delay_months``) works on each lease's ``Dn``.
Scheduled + prepaid + defaulted principal = the principal at the cut-off date, every scenario.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from ..curves import LoanRates, is_zero, varies_by_loan
from ..dates import add_months, grid_month, is_month_end, months_between
from ..dates import event_month as month_of_event
from ..errors import InputError
from ..model.deal import Header, LeaseAsset, LeasePool
from ..model.scenario import Scenario
from .base import Events, PoolFlows, Support, asset_frame
from .pledge import SparsePledge, pledge_rates


def rent_dates(lease: LeaseAsset) -> list[dt.date]:
    """A lease's rent dates: every ``rent_frequency`` from the first rent date (on its day of
    month, month-end kept) through the last, which is always one.

    >>> a = LeaseAsset(lease_id="x", lessee="y", balance=1, rate=0.05, origination_date=dt.date(2024, 1, 31),
    ...                first_rent_date=dt.date(2024, 4, 30), last_rent_date=dt.date(2024, 12, 31))
    >>> [str(d) for d in rent_dates(a)]
    ['2024-04-30', '2024-07-31', '2024-10-31', '2024-12-31']
    """
    f = lease.rent_frequency.months
    eom = is_month_end(lease.first_rent_date)
    out = []
    k = 0
    while (d := add_months(lease.first_rent_date, k * f, eom=eom)) < lease.last_rent_date:
        out.append(d)
        k += 1
    out.append(lease.last_rent_date)
    return out


#: How a lease sets the principal of a rent (``LeaseArrays.kind``).
SCHEDULES = {"equal_rent": 0, "equal_principal": 1, "irregular": 2}


@dataclass(frozen=True)
class LeaseArrays:
    """The lease tape laid on the monthly grid (whatever the scenario)."""

    ids: list[str]
    balance: np.ndarray  # (L,) lease principal at the cut-off date
    rate: np.ndarray  # (L,) rate in force at the cut-off date
    spread: np.ndarray  # (L,)
    ref_index: np.ndarray  # (L,) reference-rate index, -1 for a fixed rate
    freq: np.ndarray  # (L,) months between rents
    kind: np.ndarray  # (L,) SCHEDULES code
    collateral: np.ndarray  # (L,) appraised value of the leased IP
    deposit: np.ndarray  # (L,) security deposit (0 unless the trust holds it)
    termination_fee: np.ndarray  # (L,) share of the principal prepaid
    pay: np.ndarray  # (L, M+1) bool: a rent falls in grid month m
    n_rem: np.ndarray  # (L, M+1) rents left including this one
    rate_month: np.ndarray  # (L, M+1) grid month of the reset that sets the rent's rate (0: the tape rate)
    principal: np.ndarray  # (L, M+1) irregular leases: the schedule's principal of each rent
    income: np.ndarray  # (L, M+1) purchase options with the last rent, upfront fees due after the cut-off


def lease_arrays(pool: LeasePool, cutoff: dt.date, grid_months: int, references: list[str]) -> LeaseArrays:
    """Lay the pool's leases on the monthly grid that starts at ``cutoff``."""
    assets = pool.assets
    L, M = len(assets), grid_months
    pay = np.zeros((L, M + 1), dtype=bool)
    n_rem = np.zeros((L, M + 1), dtype=np.int64)
    rate_month = np.zeros((L, M + 1), dtype=np.int64)
    principal = np.zeros((L, M + 1))
    income = np.zeros((L, M + 1))
    rows: dict[str, dict[dt.date, float]] = {}
    for r in pool.schedule:
        rows.setdefault(r.lease_id, {})[r.date] = r.principal
    for i, a in enumerate(assets):
        dates = rent_dates(a)
        starts = [a.origination_date] + dates[:-1]  # each rent's period starts at the previous rent
        resets = []
        if a.reference is not None:
            k = 1
            while (d := add_months(a.origination_date, k * a.reset_months)) <= a.last_rent_date:
                resets.append(d)
                k += 1
        after = [(d, s) for d, s in zip(dates, starts, strict=True) if d > cutoff]
        for j, (d, s) in enumerate(after):
            gm = grid_month(d, cutoff)
            if gm > M:
                raise ValueError(f"lease {a.lease_id} pays beyond the projection grid")
            pay[i, gm] = True
            n_rem[i, gm] = len(after) - j
            fixed = [x for x in resets if x <= s]
            if fixed and fixed[-1] > cutoff:
                rate_month[i, gm] = grid_month(fixed[-1], cutoff)
            principal[i, gm] = rows.get(a.lease_id, {}).get(d, 0.0)
        if after:
            income[i, grid_month(after[-1][0], cutoff)] += a.purchase_option
        if a.upfront_fee_date is not None and a.upfront_fee_date > cutoff:
            income[i, min(grid_month(a.upfront_fee_date, cutoff), M)] += a.upfront_fee
    held = pool.deposit_held_by == "trust"
    return LeaseArrays(
        ids=[a.lease_id for a in assets],
        balance=np.array([a.balance for a in assets], dtype=np.float64),
        rate=np.array([a.rate for a in assets], dtype=np.float64),
        spread=np.array([a.spread for a in assets], dtype=np.float64),
        ref_index=np.array([references.index(a.reference) if a.reference else -1 for a in assets], dtype=np.int64),
        freq=np.array([a.rent_frequency.months for a in assets], dtype=np.float64),
        kind=np.array([SCHEDULES[a.schedule] for a in assets], dtype=np.int64),
        collateral=np.array([a.collateral_value for a in assets], dtype=np.float64),
        deposit=np.array([a.deposit if held else 0.0 for a in assets], dtype=np.float64),
        termination_fee=np.array([a.termination_fee for a in assets], dtype=np.float64),
        pay=pay, n_rem=n_rem, rate_month=rate_month, principal=principal, income=income,
    )


def rents(arr: LeaseArrays, m: int, ref_rates: np.ndarray, B1: np.ndarray, q1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interest (with the month's income: purchase options, upfront fees) and principal of
    the rents of grid month ``m`` on the expected principal ``B1`` ``(S, L)`` of leases
    performing with chance ``q1`` (step 2 of the module docstring); ``ref_rates``
    ``(S, n_refs, M+1)``."""
    on = arr.pay[:, m]
    n = np.maximum(arr.n_rem[:, m], 1)
    src = arr.rate_month[:, m]
    r = np.broadcast_to(arr.rate, B1.shape)
    if (src > 0).any():  # an LPR-linked lease's rate as reset: reference at the reset + spread, floored at 0
        ref = ref_rates[:, np.maximum(arr.ref_index, 0), src]  # (S, L)
        r = np.where(src > 0, np.maximum(ref + arr.spread, 0.0), r)
    rp = r * arr.freq / 12.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = np.power(1.0 + rp, n) - 1.0
        annuity = np.where(np.abs(rp) > 1e-14, B1 * rp / growth, B1 / n)
    prin = np.select([arr.n_rem[:, m] == 1, arr.kind == 0, arr.kind == 1], [B1, annuity, B1 / n],
                     q1 * arr.principal[:, m])
    prin = np.where(on, np.minimum(prin, B1), 0.0)
    interest = np.where(on, B1 * rp, 0.0) + q1 * arr.income[:, m]
    return interest, prin


def recoveries(arr: LeaseArrays, leases: np.ndarray | slice, D: np.ndarray, Bc: np.ndarray, m: np.ndarray | int,
               sc_rate: np.ndarray, lag: np.ndarray, haircut: np.ndarray | float, decay: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What defaults ``D`` of ``leases`` in month ``m`` recover (step 4 of the module
    docstring): the deposit set against them at once, the part left to the IP's sale, and
    its proceeds ``lag`` months later; ``Bc`` the leases' principal had they performed;
    ``sc_rate`` the scenario's recovery rate (NaN: by the IP's value)."""
    dep = np.minimum(arr.deposit[leases], Bc)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        now = np.where(Bc > 0, D * dep / Bc, 0.0)
        net = D - now
        value = arr.collateral[leases] * (1.0 - decay) ** ((m + lag) / 12.0) * (1.0 - haircut)
        frac = np.where(Bc - dep > 0, np.minimum(1.0, value / (Bc - dep)), 0.0)
    later = np.where(np.isnan(sc_rate), net * frac, net * np.nan_to_num(sc_rate))
    return now, net, later


def lease_rates(pool: LeasePool, arr: LeaseArrays, scenarios: list[Scenario], grid: list[dt.date]) -> tuple[LoanRates, LoanRates]:
    """Monthly default and prepayment rates per scenario and lease: the pledge loans' rates
    (curves by projection month or lease age from ``origination_date``, segments)."""
    return pledge_rates(cast(Any, pool), cast(Any, arr), scenarios, grid)


def project_lease_pool(pool: LeasePool, arr: LeaseArrays, scenarios: list[Scenario], grid: list[dt.date],
                       ref_rates: np.ndarray, events: Events, support: Support | None,
                       record: bool = False) -> PoolFlows:
    """The pool's monthly flows under each scenario (the module docstring's order of events);
    ``events``: Monte Carlo default months, the clean-up call. ``record``: keep each lease's
    series ``(S, L, M+1)`` in ``flows.extra`` (the sparse projection's no-default flows)."""
    if events.start is not None or events.snapshot is not None:
        raise InputError.single("", f"pool '{pool.name}'", "a run from a deal status, or a status written from a "
                                "run, is not modelled for lease pools yet")
    if pool.support and support is None:
        raise ValueError(f"pool '{pool.name}' has a support stack: give the support layers (support=...)")
    S, M, L = len(scenarios), len(grid) - 1, len(arr.ids)
    mdr, smm = lease_rates(pool, arr, scenarios, grid)
    before = np.array([s.prepayment.applies_to == "before_defaults" for s in scenarios])[:, None]
    named = np.zeros((S, L), dtype=np.int64)
    index = {lid: i for i, lid in enumerate(arr.ids)}
    for si, s in enumerate(scenarios):
        for lid, when in s.defaults.loans.items():
            if lid in index:
                named[si, index[lid]] = month_of_event(when, grid)
    if events.default_month is not None:
        dm = np.asarray(events.default_month, dtype=np.int64)
        if dm.shape != (S, L):
            raise ValueError(f"default_month has shape {dm.shape}, expected (scenarios, leases) = {(S, L)}")
        dm = np.where((dm >= 1) & (dm <= M), dm, 0)
        named = np.where((dm > 0) & ((named == 0) | (dm < named)), dm, named)
    sale = np.zeros(S, dtype=np.int64) if events.sale_month is None else np.asarray(events.sale_month, dtype=np.int64)
    lag = np.array([s.recovery.lag_months for s in scenarios], dtype=np.int64)
    haircut = np.array([s.recovery.haircut for s in scenarios])[:, None]
    decay = np.array([s.recovery.value_decay for s in scenarios])[:, None]
    sc_rate = np.array([np.nan if s.recovery.rate is None else s.recovery.rate for s in scenarios])[:, None]
    keys = ("balance_start", "scheduled_principal", "prepayment", "default_amount", "interest_collected", "balance_end")
    out: dict[str, Any] = {k: np.zeros((S, M + 1)) for k in keys}
    per = {k: np.zeros((S, L, M + 1)) for k in keys if k not in ("balance_start", "default_amount")} if record else {}
    recovery = np.zeros((S, M + 1 + int(lag.max(initial=0))))
    loss = np.zeros_like(recovery)
    cap = {k: np.zeros((S, L, M + 1)) for k in ("default", "recovery", "balance")} if pool.support else None
    B = np.broadcast_to(arr.balance, (S, L)).copy()
    q = np.ones((S, L))
    out["balance_end"][:, 0] = B.sum(axis=1)
    if record:
        per["balance_end"][:, :, 0] = B
    sidx = np.arange(S)
    for m in range(1, M + 1):
        out["balance_start"][:, m] = out["balance_end"][:, m - 1]
        mdr_m, smm_m = mdr.at(m, np.arange(L)), smm.at(m, np.arange(L))
        with np.errstate(divide="ignore", invalid="ignore"):
            smm_m = np.where(before, np.where(mdr_m < 1.0, np.minimum(smm_m / (1.0 - mdr_m), 1.0), 1.0), smm_m)
        ev = named == m
        D = np.where(ev, B, B * mdr_m)
        with np.errstate(divide="ignore", invalid="ignore"):
            Bc = np.where(q > 0, B / q, B)
        q1 = np.where(ev, 0.0, q * (1.0 - mdr_m))
        B1 = B - D
        interest, prin = rents(arr, m, ref_rates, B1, q1)
        B2 = B1 - prin
        P = B2 * smm_m
        interest = interest + P * arr.termination_fee
        B3 = B2 - P
        q = q1 * (1.0 - smm_m)
        if D.any():
            now, net, later = recoveries(arr, slice(None), D, Bc, m, sc_rate, lag[:, None], haircut, decay)
            recovery[:, m] += now.sum(axis=1)
            recovery[sidx, m + lag] += later.sum(axis=1)
            loss[sidx, m + lag] += (net - later).sum(axis=1)
            if cap is not None:
                cap["default"][:, :, m], cap["recovery"][:, :, m] = net, later
                cap["balance"][:, :, m] = Bc - np.minimum(arr.deposit, Bc)
        prepaid = P.sum(axis=1)
        if (sale == m).any():  # the clean-up call buys what performs at the end of the month
            sold = np.where(sale == m, B3.sum(axis=1), 0.0)
            B3 = np.where((sale == m)[:, None], 0.0, B3)
            q = np.where((sale == m)[:, None], 0.0, q)
            prepaid = prepaid + events.sale_price * sold
            loss[:, m] += (1.0 - events.sale_price) * sold
        out["default_amount"][:, m] = D.sum(axis=1)
        out["scheduled_principal"][:, m] = prin.sum(axis=1)
        out["prepayment"][:, m] = prepaid
        out["interest_collected"][:, m] = interest.sum(axis=1)
        out["balance_end"][:, m] = B3.sum(axis=1)
        if record:
            for k, x in (("scheduled_principal", prin), ("prepayment", P), ("interest_collected", interest),
                         ("balance_end", B3)):
                per[k][:, :, m] = x
        B = B3
    flows = PoolFlows(name=pool.name, original_balance=float(arr.balance.sum()),
                      recovery=recovery[:, : M + 1], loss=loss[:, : M + 1], **out)
    if record:
        flows.extra.update({f"lease_{k}": v for k, v in per.items()})
    if cap is not None:
        assert support is not None  # (checked on entry)
        deposit_part = flows.recovery - recovery_after(cap["recovery"], lag, M)
        series, lr = support(pool.support, scenarios, grid, default=cap["default"], recovery=cap["recovery"], lag=lag,
                             balance=cap["balance"], loan_original=arr.balance, collateral_value=arr.collateral)
        flows.loss_before_support = flows.loss
        flows.recovery = deposit_part + series["recovery"]
        flows.loss = series["loss"]
        flows.support_paid = series["support_paid"]
        flows.layers = lr
    return flows


def recovery_after(rec: np.ndarray, lag: np.ndarray, M: int) -> np.ndarray:
    """Proceeds ``rec`` ``(S, L, M+1)`` by default month, on the grid by arrival month."""
    out = np.zeros((rec.shape[0], M + 1))
    for s in range(rec.shape[0]):
        k = int(lag[s])
        out[s, k:] = rec[s].sum(axis=0)[: M + 1 - k]
    return out


# --------------------------------------------------------------------------- Monte Carlo paths


class SparseLease(SparsePledge):
    """The no-default flows of each lease under one scenario (CDR 0) and the flows of
    paths given their leases' default months (the pledge loans' sparse projection, with
    the leases' own recoveries: the deposit at once, the IP's sale later)."""

    def __init__(self, pool: LeasePool, arr: LeaseArrays, scenario: Scenario, grid: list[dt.date],
                 ref_rates: np.ndarray) -> None:
        """``ref_rates``: ``(n_refs, n_months + 1)``, the reference rates of the scenario."""
        if not is_zero(scenario.defaults.cdr) or any(seg.cdr is not None and not is_zero(seg.cdr)
                                                     for seg in scenario.segments):
            raise ValueError("the sparse projection needs a scenario without CDR (the paths carry the defaults)")
        free = scenario.model_copy(update={"defaults": scenario.defaults.model_copy(update={"loans": {}})})
        flows = project_lease_pool(pool, arr, [free], grid, ref_rates[None], Events(), None, record=True)
        self.name, self.arr = pool.name, arr
        self.M, self.L = len(grid) - 1, len(arr.ids)
        self.original_balance = float(arr.balance.sum())
        self.series = {k: flows.extra[f"lease_{k}"][0] for k in
                       ("scheduled_principal", "interest_collected", "prepayment", "balance_end")}
        self.totals = {k: v.sum(axis=0) for k, v in self.series.items()}
        _, smm_rates = lease_rates(pool, arr, [scenario], grid)
        smm = np.stack([smm_rates.loan_vector(0, li, self.M) for li in range(self.L)]) if not smm_rates.shared \
            else np.broadcast_to(smm_rates.table[0, 0, : self.M + 1], (self.L, self.M + 1))
        self.survive = np.cumprod(np.concatenate([np.ones((self.L, 1)), 1.0 - np.minimum(smm[:, 1:], 1.0)], axis=1), axis=1)
        rc = scenario.recovery
        self.lag, self.rate, self.value = rc.lag_months, rc.rate, None
        self.recovery_terms = (rc.haircut, rc.value_decay)
        self.named = np.zeros(self.L, dtype=np.int64)
        index = {lid: i for i, lid in enumerate(arr.ids)}
        for lid, when in scenario.defaults.loans.items():
            if lid in index:
                self.named[index[lid]] = month_of_event(when, grid)

    def recover(self, ls: np.ndarray, tau: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = self.survive[ls, tau - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            Bc = np.where(q > 0, D / q, D)
        rate = np.full(len(ls), np.nan if self.rate is None else self.rate)
        haircut, decay = self.recovery_terms
        now, _, later = recoveries(self.arr, ls, D, Bc, tau, rate, np.full(len(ls), self.lag), haircut, decay)
        return now, later


# --------------------------------------------------------------------------- the kind


def asset_table(pool: LeasePool, header: Header) -> pd.DataFrame:
    """The asset table of a lease pool: the balance is the lease principal, the rate the one
    in force at the cut-off date, the collateral value the leased IP's appraised value."""
    cut = header.cutoff_date
    rows = [(pool.name, a.lease_id, a.lessee, float(a.balance), float(a.rate),
             max(months_between(cut, a.last_rent_date), 0.0), max(months_between(a.origination_date, cut), 0.0),
             float(a.collateral_value), a.ip_type, a.industry, a.region) for a in pool.assets]
    return asset_frame(rows)


def lease_terms(pool: LeasePool, header: Header) -> dict[str, float]:
    """The pool's lease terms as the term sheet states them: lease principal, the rents
    still due under the tape rates (principal + interest; LPR-linked leases at their rate in
    force), the interest in them, deposits, purchase options, upfront fees due after the
    cut-off date, and the rents over principal."""
    arr = KIND.prepare(pool, header.cutoff_date, KIND.months_needed(pool, header.cutoff_date),
                       sorted(header.reference_rates))
    S1 = np.zeros((1, 1, arr.pay.shape[1]))
    B = arr.balance[None, :].copy()
    q = np.ones_like(B)
    fixed = arr.rate_month[:, :] * 0  # (rates as in force at the cut-off date)
    plain = LeaseArrays(**{**arr.__dict__, "rate_month": fixed, "income": np.zeros_like(arr.income)})
    interest = 0.0
    for m in range(1, arr.pay.shape[1]):
        i, p = rents(plain, m, S1, B, q)
        interest += float(i.sum())
        B = B - p
    principal = float(arr.balance.sum())
    return {
        "lease_principal": principal,
        "lease_rents_due": principal + interest,
        "lease_interest_due": interest,
        "lease_deposits": float(sum(a.deposit for a in pool.assets)),
        "lease_purchase_options": float(sum(a.purchase_option for a in pool.assets)),
        "lease_upfront_fees": float(sum(a.upfront_fee for a in pool.assets
                                        if a.upfront_fee_date is not None and a.upfront_fee_date > header.cutoff_date)),
        "lease_rents_to_principal": (principal + interest) / principal if principal else math.nan,
    }


class Leases:
    """Finance-lease receivables (``kind: lease``): the :class:`~abs_engine.pools.base.PoolKind`
    of this module."""

    tag = "lease"

    def months_needed(self, pool: LeasePool, cutoff: dt.date) -> int:
        return max(grid_month(a.last_rent_date, cutoff) for a in pool.assets) + 1

    def original_balance(self, pool: LeasePool, cutoff: dt.date) -> float:
        return float(sum(a.balance for a in pool.assets))

    def prepare(self, pool: LeasePool, cutoff: dt.date, grid_months: int, references: list[str]) -> LeaseArrays:
        return lease_arrays(pool, cutoff, grid_months, references)

    def project(self, pool: LeasePool, prepared: LeaseArrays, scenarios: list[Scenario], grid: list[dt.date],
                ref_rates: np.ndarray, events: Events, support: Support | None) -> PoolFlows:
        return project_lease_pool(pool, prepared, scenarios, grid, ref_rates, events, support)

    def has_sparse(self, pool: LeasePool, *, exact: bool) -> bool:
        return not (exact and pool.support)  # (the layers work on each lease's defaults: dense)

    def sparse(self, pool: LeasePool, prepared: LeaseArrays, scenario: Scenario, grid: list[dt.date],
               ref_rates: np.ndarray, *, exact: bool) -> SparseLease | None:
        if not self.has_sparse(pool, exact=exact):
            return None
        return SparseLease(pool, prepared, scenario, grid, ref_rates)

    def default_rates(self, pool: LeasePool, prepared: LeaseArrays, scenario: Scenario, grid: list[dt.date]) -> LoanRates | None:
        return lease_rates(pool, prepared, [scenario], grid)[0] if varies_by_loan(scenario) else None

    def patent_types(self, pool: LeasePool) -> list[str]:
        return []

    def asset_table(self, pool: LeasePool, header: Header) -> pd.DataFrame:
        return asset_table(pool, header)

    def ip_rights(self, pool: LeasePool) -> int:
        """The rights leased (``ip_count``)."""
        return int(sum(a.ip_count for a in pool.assets))

    def collateral(self, pool: LeasePool, header: Header, notes: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One row per lease: its leased rights (type, count, appraised value, valuer), its
        lease principal less a deposit the trust holds the exposure."""
        held = pool.deposit_held_by == "trust"
        expo = [max(a.balance - (a.deposit if held else 0.0), 0.0) for a in pool.assets]
        total = sum(expo)
        rows = [{"pool": pool.name, "right": a.lease_id, "type": a.ip_type, "count": a.ip_count,
                 "expiry_date": None, "years_after_legal_maturity": math.nan,
                 "appraised_value": a.collateral_value, "valuer": a.valuer,
                 "exposure": e, "exposure_share": e / total if total else math.nan}
                for a, e in zip(pool.assets, expo, strict=True)]
        return rows, None

    def terms(self, pool: LeasePool, header: Header) -> dict[str, float]:
        """The term sheet's lease terms (:func:`lease_terms`)."""
        return lease_terms(pool, header)


def lease_schedule(lease: LeaseAsset, cutoff: dt.date, rows: dict[dt.date, float] | None = None,
                   deposit_held: bool = False) -> pd.DataFrame:
    """One performing lease's rents after the cut-off date at its tape rate: date, rent,
    principal, interest, purchase option, the deposit set against the rent and what the lessee
    pays (the rents less the deposit, from the last rent backwards)."""
    pool = LeasePool(name="x", assets=[lease], deposit_held_by="trust" if deposit_held else "lessor",
                     schedule=[{"lease_id": lease.lease_id, "date": d, "principal": p} for d, p in (rows or {}).items()])  # type: ignore[misc]
    arr = KIND.prepare(pool, cutoff, KIND.months_needed(pool, cutoff), [])
    B, q = arr.balance[None, :].copy(), np.ones((1, 1))
    out = []
    for d in [d for d in rent_dates(lease) if d > cutoff]:
        m = grid_month(d, cutoff)
        i, p = rents(arr, m, np.zeros((1, 1, arr.pay.shape[1])), B, q)
        option = float(arr.income[0, m])
        out.append({"date": d, "principal": float(p[0, 0]), "interest": float(i[0, 0]) - option,
                    "purchase_option": option})
        B = B - p
    df = pd.DataFrame(out)
    df["rent"] = df["principal"] + df["interest"]
    left = lease.deposit
    setoff = np.zeros(len(df))
    for j in range(len(df) - 1, -1, -1):  # the deposit pays the last rents
        setoff[j] = min(left, float(df["rent"].iloc[j] + df["purchase_option"].iloc[j]))
        left -= setoff[j]
    df["deposit_applied"] = setoff
    df["lessee_pays"] = df["rent"] + df["purchase_option"] - df["deposit_applied"]
    return df


#: The lease kind.
KIND = Leases()
