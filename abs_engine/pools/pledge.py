"""IP-pledge loan pools (知识产权质押贷款): scheduled amortisation, prepayment, default
and recovery from disposing of the pledged IP, vectorised over loans and scenarios.

Order of events in grid month ``m`` for a loan with performing balance ``B``
(docs/conventions.md, "Pledge loans"):

1. default: ``D = B * mdr`` (``mdr = 1 - (1 - CDR)^(1/12)``), or the whole ``B`` if the
   scenario names the loan as defaulting in this month; ``B1 = B - D``;
2. if ``m`` is one of the loan's payment months: interest ``B1 * r * f / 12`` (``f`` months
   between payments, interest basis *periodic*, where a final stub period, the maturity
   date off the loan's schedule, accrues ``B1 * r * days / 365`` (ACT/365, the Chinese
   convention); ``B1 * r * days / 365`` or ``/ 360`` on the
   *act365* / *act360* bases, ``days`` from the loan's previous payment date, or its
   origination date, to this one) and scheduled principal on ``B1`` (set with the periodic
   rate ``r * f / 12`` on every basis);
3. prepayment on what is left: ``P = B2 * smm`` (``smm = 1 - (1 - CPR)^(1/12)``), or
   ``min(B2, B2 * smm / (1 - mdr))`` when the scenario's ``prepayment.applies_to`` is
   ``before_defaults`` (the SMM on the opening balance less scheduled principal, SIFMA SF-18);
4. recovery of ``D`` arrives ``lag`` months later:
   ``D * min(1, V * (1 - decay)^((m + lag)/12) * (1 - haircut) / Bc)`` where ``V`` is the
   collateral value at cut-off (or ``D * rate`` when the scenario gives a recovery rate);
   the loss ``D - recovery`` is recognised when the recovery arrives. ``Bc = B / q`` is the
   balance of the loan if it is still performing, ``q`` the product of ``(1 - mdr)(1 - smm)``
   over the months before (the expected-value ``B`` is ``q`` times it): a partial default is
   the chance ``mdr`` that the whole loan defaults, and its collateral covers that loan. A
   default the scenario names is the whole ``B``, set against ``Bc`` too (after earlier
   prepayments, ``B`` is what is left of the loan in expectation, ``Bc`` where it still is).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..curves import (
    LoanRates,
    SegmentIndex,
    age_offsets,
    by_age,
    is_sda,
    is_zero,
    loan_rates,
    segment_groups,
    varies_by_loan,
)
from ..dates import calendar_months, days_in_month, is_month_end, month_index, months_between
from ..dates import event_month as month_of_event
from ..errors import InputError, Problem
from ..model.deal import Header, PledgeLoanPool
from ..model.scenario import Scenario
from .advancing import Advances
from .base import Events, PoolFlows, PoolSnapshot, PoolStart, Support, asset_frame, clear_before
from .delinquency import Pipeline

AMORT_CODES = {"annuity": 0, "equal_principal": 1, "bullet": 2, "interest_only_balloon": 3}


def monthly_rate(annual: float | list[float], n_months: int) -> np.ndarray:
    """Annual rate (constant or per-month vector) -> monthly rate per grid month 1..n.

    Index 0 of the result is unused (0.0). A vector's last value holds after its end.

    >>> round(float(monthly_rate(0.12, 3)[1]), 6)
    0.010596
    """
    out = np.zeros(n_months + 1)
    if isinstance(annual, list):
        v = np.asarray(annual, dtype=np.float64)
        idx = np.minimum(np.arange(n_months), len(v) - 1)
        a = v[idx]
    else:
        a = np.full(n_months, float(annual))
    out[1:] = 1.0 - (1.0 - a) ** (1.0 / 12.0)
    return out


@dataclass(frozen=True)
class LoanArrays:
    """The loan tape as arrays, with each loan's payment calendar on the monthly grid."""

    ids: list[str]
    balance: np.ndarray  # (L,)
    rate: np.ndarray  # fixed rate, or spread for floating loans
    ref_index: np.ndarray  # index into the reference-rate list, -1 for fixed
    freq: np.ndarray  # months between payments
    collateral: np.ndarray
    pay: np.ndarray  # (L, M+1) bool: a scheduled payment falls in grid month m
    n_rem: np.ndarray  # (L, M+1) payments remaining including this one (0 if none)
    amort_n: np.ndarray  # (L, M+1) payments remaining on the amortisation basis
    io: np.ndarray  # (L, M+1) bool: this payment is interest-only
    amort: np.ndarray  # (L,) amortisation code
    last_month: int  # last grid month with a payment
    # the same calendar month by month (set by loan_arrays; project_pledge_pool derives it
    # from the arrays above when absent): the payments of grid month m are entries
    # pay_bounds[m]:pay_bounds[m + 1] of the arrays below, in loan order
    pay_bounds: np.ndarray | None = None  # (M+2,)
    pay_loan: np.ndarray | None = None  # loan index
    pay_amort_n: np.ndarray | None = None  # amort_n of the payment
    pay_kind: np.ndarray | None = None  # how its principal is set: PAY_* below
    # (L, M+1) year fraction of the interest period of the payment in grid month m, on an
    # act365 / act360 interest basis (actual days / 365 or 360); None: periodic (f / 12)
    accrual: np.ndarray | None = None


# how a scheduled payment sets its principal (LoanArrays.pay_kind)
PAY_NONE = 0  # interest only: an interest-only period, or a bullet before maturity
PAY_FINAL = 1  # the final payment repays the whole balance
PAY_ANNUITY = 2  # level payment on amort_n remaining payments (annuity, balloon loans)
PAY_EQUAL = 3  # balance / amort_n (equal principal)


def _month_calendar(loans_of_pay: np.ndarray, months_of_pay: np.ndarray, n_months: int, n_rem: np.ndarray,
                    amort_n: np.ndarray, io: np.ndarray, amort: np.ndarray) -> tuple[np.ndarray, ...]:
    """The payments ordered month by month (loans in order within a month): bounds per
    month, loan index, amort_n and PAY_* kind of each payment."""
    order = np.lexsort((loans_of_pay, months_of_pay))
    loan, month = loans_of_pay[order], months_of_pay[order]
    kind = np.full(len(loan), PAY_NONE, dtype=np.int8)
    code = amort[loan]
    kind[(code == 0) | (code == 3)] = PAY_ANNUITY
    kind[code == 1] = PAY_EQUAL
    kind[io[loan, month]] = PAY_NONE
    kind[n_rem[loan, month] == 1] = PAY_FINAL
    return np.searchsorted(month, np.arange(n_months + 2)), loan, amort_n[loan, month], kind


def _calendar(loans: LoanArrays, n_months: int) -> tuple[np.ndarray, ...]:
    """The month-by-month calendar of ``loans`` (pay_bounds, pay_loan, pay_amort_n,
    pay_kind) over grid months 0..n_months; derived from the (L, M+1) arrays when
    ``loans`` was built without it."""
    b, lo, n, k = loans.pay_bounds, loans.pay_loan, loans.pay_amort_n, loans.pay_kind
    if b is not None and lo is not None and n is not None and k is not None and len(b) >= n_months + 2:
        return b, lo, n, k
    of_loan, of_month = np.nonzero(loans.pay[:, : n_months + 1])
    return _month_calendar(of_loan, of_month, n_months, loans.n_rem, loans.amort_n, loans.io, loans.amort)


def loan_payments(loans: LoanArrays, payers: np.ndarray, m: int, ref_m: np.ndarray, Bp: np.ndarray,
                  n: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interest and principal of the scheduled payments of grid month ``m`` (order of events,
    step 2 of the module docstring): loans ``payers`` with balances ``Bp`` (last axis: the
    payers; any leading axes, e.g. scenarios), their remaining payments ``n`` on the
    amortisation basis and ``kind`` (PAY_*); ``ref_m`` the reference rates of the month
    (``(..., n_refs)``). The dense projection and the sparse one of Monte Carlo paths both
    pay through here."""
    rate = loans.rate[payers]
    fl = loans.ref_index[payers] >= 0
    if fl.any():
        # reference + spread below zero: the borrower pays no interest (docs/conventions.md)
        r = np.where(fl, np.maximum(ref_m[..., np.maximum(loans.ref_index[payers], 0)] + rate, 0.0), rate)
    else:
        r = np.broadcast_to(rate, Bp.shape)
    rp = r * (loans.freq[payers] / 12.0)
    # (on an actual-days basis the interest is on the days of the loan's period; the
    # principal schedule keeps the periodic rate)
    interest = Bp * (rp if loans.accrual is None else r * loans.accrual[payers, m])
    # principal: min(p, B1) of the principal p the payment's kind sets
    prin = np.minimum(0.0, Bp)  # PAY_NONE: p = 0
    g = np.flatnonzero(kind == PAY_FINAL)  # p = B1
    if len(g):
        prin[..., g] = np.take(Bp, g, axis=-1)
    g = np.flatnonzero(kind == PAY_ANNUITY)  # level payment
    if len(g):
        Bg, rg, ng = np.take(Bp, g, axis=-1), np.take(rp, g, axis=-1), n[g]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.power(1.0 + rg, ng) - 1.0
            ann = np.where(np.abs(rg) > 1e-14, Bg * rg / growth, Bg / np.maximum(ng, 1))
        prin[..., g] = np.minimum(ann, Bg)
    g = np.flatnonzero(kind == PAY_EQUAL)  # equal principal
    if len(g):
        Bg = np.take(Bp, g, axis=-1)
        prin[..., g] = np.minimum(Bg / np.maximum(n[g], 1), Bg)
    return interest, prin


def loan_arrays(pool: PledgeLoanPool, cutoff: dt.date, grid_months: int, references: list[str]) -> LoanArrays:
    """Lay the pool's loans on the monthly grid that starts at ``cutoff``."""
    assets = pool.assets
    L, M = len(assets), grid_months
    pay = np.zeros((L, M + 1), dtype=bool)
    n_rem = np.zeros((L, M + 1), dtype=np.int32)
    amort_n = np.zeros((L, M + 1), dtype=np.int32)
    io = np.zeros((L, M + 1), dtype=bool)
    cut_eom = is_month_end(cutoff)
    basis = {"act365": 365.0, "act360": 360.0}.get(pool.interest_basis)
    accrual = np.zeros((L, M + 1)) if basis is not None else None
    stubs: list[tuple[int, int, float]] = []  # (loan, grid month, year fraction) of final stubs
    last = 0
    for i, a in enumerate(assets):
        f = a.payment_frequency.months
        o = a.origination_date
        o_eom = is_month_end(o)
        total = calendar_months(o, a.maturity_date)
        js = np.arange(1, total // f + 2)
        # payment j falls in month X = origination month + j*f, on the origination day (clamped)
        X = month_index(o) + js * f
        years, months = np.divmod(X, 12)
        dim = np.array([days_in_month(int(y), int(mm) + 1) for y, mm in zip(years, months, strict=True)])
        day = dim if o_eom else np.minimum(o.day, dim)
        key = X * 100 + day
        mat_key = month_index(a.maturity_date) * 100 + a.maturity_date.day
        # the final period is a stub when the maturity date is off the loan's schedule
        stub = not (key == mat_key).any()
        js, X, dim, day = js[key < mat_key], X[key < mat_key], dim[key < mat_key], day[key < mat_key]
        # the final payment is on the maturity date
        mX = month_index(a.maturity_date)
        mdim = days_in_month(a.maturity_date.year, a.maturity_date.month)
        X = np.append(X, mX)
        day = np.append(day, a.maturity_date.day)
        dim = np.append(dim, mdim)
        js = np.append(js, len(js) + 1)
        cX = month_index(cutoff)
        grid_day = dim if cut_eom else np.minimum(cutoff.day, dim)
        gm = X - cX + (day > grid_day)
        after = gm >= 1
        if accrual is not None or stub:  # actual days from the previous payment (or origination)
            dates = (X - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]") + (day - 1)
            days = np.diff(dates, prepend=np.datetime64(o, "D")).astype(np.float64)
        gm, js = gm[after], js[after]
        if len(gm) == 0:
            continue
        if gm[-1] > M:
            raise ValueError(f"loan {a.loan_id} pays beyond the projection grid")
        n = len(gm)
        pay[i, gm] = True
        if accrual is not None:
            accrual[i, gm] = days[after] / basis
        elif stub and after[-1]:  # periodic basis: the stub accrues by days, ACT/365
            stubs.append((i, int(gm[-1]), float(days[-1]) / 365.0))
        n_rem[i, gm] = np.arange(n, 0, -1)
        if a.amortization == "interest_only_balloon":
            term = a.amortization_term_months or total
            n_amort_total = max(term // f, 1)
            k_amort = js - a.io_periods  # ordinal within the amortisation phase
            amort_n[i, gm] = np.maximum(n_amort_total - k_amort + 1, 1)
        else:
            amort_n[i, gm] = np.maximum(n_rem[i, gm] - np.maximum(a.io_periods - (js - 1), 0), 1)
        io[i, gm] = js <= a.io_periods
        last = max(last, int(gm[-1]))
    if stubs:  # periodic basis with stub periods: f / 12 for every payment, days / 365 for a stub
        freq = np.array([a.payment_frequency.months for a in assets], dtype=np.float64)
        accrual = np.where(pay, freq[:, None] / 12.0, 0.0)
        for i, m, frac in stubs:
            accrual[i, m] = frac
    amort = np.array([AMORT_CODES[a.amortization] for a in assets], dtype=np.int64)
    pay_of_loan, pay_of_month = np.nonzero(pay)
    pay_bounds, pay_loan, pay_amort_n, pay_kind = _month_calendar(pay_of_loan, pay_of_month, M, n_rem, amort_n, io, amort)
    return LoanArrays(
        ids=[a.loan_id for a in assets],
        balance=np.array([a.balance for a in assets], dtype=np.float64),
        rate=np.array([a.spread if a.reference else a.rate for a in assets], dtype=np.float64),
        ref_index=np.array([references.index(a.reference) if a.reference else -1 for a in assets], dtype=np.int64),
        freq=np.array([a.payment_frequency.months for a in assets], dtype=np.float64),
        collateral=np.array([a.collateral_value for a in assets], dtype=np.float64),
        pay=pay,
        n_rem=n_rem,
        amort_n=amort_n,
        io=io,
        amort=amort,
        last_month=last,
        pay_bounds=pay_bounds,
        pay_loan=pay_loan,
        pay_amort_n=pay_amort_n,
        pay_kind=pay_kind,
        accrual=accrual,
    )


def last_payment_month(loans: LoanArrays) -> np.ndarray:
    """Each loan's last payment month on the grid (0: none)."""
    M1 = loans.pay.shape[1]
    has = loans.pay.any(axis=1)
    return np.where(has, M1 - 1 - np.argmax(loans.pay[:, ::-1], axis=1), 0)


def pledge_rates(pool: PledgeLoanPool, loans: LoanArrays, scenarios: list[Scenario],
                 grid: list[dt.date]) -> tuple[LoanRates, LoanRates]:
    """Monthly default and prepayment rates of every scenario and loan (abs_engine/curves.py):
    one column per scenario when every rate runs by projection month, per loan when a rate
    runs by loan age or the SDA ends before each loan's maturity."""
    M = len(grid) - 1
    index = SegmentIndex(pool.name, pool.assets)
    d_specs, d_group = segment_groups(scenarios, index, "cdr")
    p_specs, p_group = segment_groups(scenarios, index, "cpr")
    specs = [x for row in d_specs + p_specs for x in row]
    ages = age_offsets([a.origination_date for a in pool.assets], grid) if any(by_age(x) for x in specs) else None
    lag = np.array([s.recovery.lag_months for s in scenarios], dtype=np.int64)
    last = last_payment_month(loans) if any(is_sda(x) for x in specs) else None
    mdr = loan_rates(d_specs, M, group=d_group, ages=ages, last_month=last, lag=lag)
    smm = loan_rates(p_specs, M, group=p_group, ages=ages)
    return mdr, smm


def grid_months_needed(pool: PledgeLoanPool, cutoff: dt.date) -> int:
    """Months from the cut-off date to the last loan maturity (inclusive)."""
    return max(calendar_months(cutoff, a.maturity_date) + 1 for a in pool.assets)


def project_pledge_pool(
    pool: PledgeLoanPool,
    loans: LoanArrays,
    scenarios: list[Scenario],
    grid: list[dt.date],
    ref_rates: np.ndarray,
    *,
    default_month: np.ndarray | None = None,
    sale_month: np.ndarray | None = None,
    sale_price: float = 1.0,
    support: Support | None = None,
    start: PoolStart | None = None,
    snapshot: int | None = None,
) -> PoolFlows:
    """Project the pool under each scenario.

    ``ref_rates`` has shape ``(n_scenarios, n_refs, n_months + 1)``: the reference rate in
    force in each grid month. Returns monthly flows of shape ``(n_scenarios, n_months + 1)``.

    ``default_month`` (optional, integers ``(n_scenarios, n_loans)``) names, per scenario,
    the grid month in which each loan defaults wholly (0: no such default), as a Monte
    Carlo draws them; a loan named there and in ``defaults.loans`` defaults at the earlier
    of the two months. Months beyond the grid are no default.

    ``sale_month`` (optional, integers ``(n_scenarios,)``, 0: none) is the month at whose end
    the clean-up call buys the performing loans: their balance is sold at ``sale_price``
    (proceeds in ``prepayment``, the discount in ``loss``) and nothing more is scheduled,
    prepaid or defaults; the disposal proceeds of loans that defaulted before still come in.

    ``support`` runs the pool's support stack (:func:`abs_engine.support.pool.support_flows`;
    a pool with a stack needs it).

    ``start`` (a deal picked up mid-life, abs_engine/restart.py): the pool as of the end of
    grid month ``start.month``; the projection continues from the next month with each
    loan's balance and chance of performing, the pending disposals of the defaults listed
    (proceeds by the scenario's recovery assumptions, ``lag`` months after the default, or
    in the first month after the start when that is already past) and, for the support
    layers, every listed default replayed in its month. The flows of the months up to
    ``start.month`` are 0 (``balance_end`` of that month is the starting balance).

    ``snapshot`` (a grid month): record the pool at the end of that month in the result's
    ``snapshot`` (:class:`~abs_engine.pools.base.PoolSnapshot`).
    """
    if pool.support and support is None:
        raise ValueError(f"pool '{pool.name}' has a support stack: give the support layers (support=...)")
    S = len(scenarios)
    M = len(grid) - 1
    L = len(loans.ids)
    # monthly default and prepayment rates per scenario (and loan, for curves by loan age
    # or by segment: abs_engine/curves.py)
    mdr, smm = pledge_rates(pool, loans, scenarios, grid)
    # prepayment.applies_to = before_defaults (SIFMA SF-18): the SMM applies to the opening
    # balance less its scheduled principal, B2 / (1 - mdr), so the rate on what is left
    # (B2) is smm / (1 - mdr), at most 1
    before = np.array([s.prepayment.applies_to == "before_defaults" for s in scenarios])
    # loan-level default events: grid month of default per scenario and loan (0 = none)
    event_month = np.zeros((S, L), dtype=np.int64)
    index = {lid: i for i, lid in enumerate(loans.ids)} if any(s.defaults.loans for s in scenarios) else {}
    for si, s in enumerate(scenarios):
        for lid, when in s.defaults.loans.items():
            if lid in index:
                event_month[si, index[lid]] = month_of_event(when, grid)
    if default_month is not None:  # per-scenario default months given as an array
        dm = np.asarray(default_month, dtype=np.int64)
        if dm.shape != (S, L):
            raise ValueError(f"default_month has shape {dm.shape}, expected (scenarios, loans) = {(S, L)}")
        dm = np.where((dm >= 1) & (dm <= M), dm, 0)
        event_month = np.where((dm > 0) & ((event_month == 0) | (dm < event_month)), dm, event_month)
    lag = np.array([s.recovery.lag_months for s in scenarios], dtype=np.int64)
    haircut = np.array([s.recovery.haircut for s in scenarios])[:, None]
    decay = np.array([s.recovery.value_decay for s in scenarios])[:, None]
    rec_rate = np.array([np.nan if s.recovery.rate is None else s.recovery.rate for s in scenarios])[:, None]
    use_rate = ~np.isnan(rec_rate)

    shape = (S, M + 1)
    out: dict[str, Any] = {k: np.zeros(shape) for k in ("balance_start", "scheduled_principal", "prepayment", "default_amount", "interest_collected", "balance_end")}
    recovery = np.zeros((S, M + 1 + int(lag.max(initial=0))))
    loss = np.zeros_like(recovery)
    m_start = 0 if start is None else int(start.month)
    B = np.broadcast_to(loans.balance if start is None else start.balance, (S, L)).copy()
    out["balance_end"][:, m_start] = B.sum(axis=1)
    sidx = np.arange(S)
    # Work only on the loans still outstanding in some scenario ("active"): a loan's
    # balance is exactly 0 after its final payment (it repays B1 - B1), so it adds nothing
    # from then on and is dropped. Within the active loans, the payment arithmetic runs
    # only on the loans with a payment this month, grouped by how their principal is set.
    # Each value is computed with the same operations as on the full grid; only the order
    # in which the sums over loans add their terms changes (agreement to rounding).
    act = np.flatnonzero((B != 0).any(axis=0))
    B = B[:, act]
    pos = np.full(L, -1, dtype=np.int64)  # column of each loan in the active arrays
    pos[act] = np.arange(len(act))
    # the payments of each grid month
    pay_bounds, pay_loan, pay_n, pay_kind = _calendar(loans, M)
    events = event_month[:, act]
    event_months = set(np.unique(event_month[event_month > 0]).tolist())
    coll = loans.collateral[act]
    by_rate = use_rate[:, 0]
    by_value = ~by_rate
    value_factor = (1.0 - decay[by_value]) if by_value.any() else None
    finished = 0  # loans repaid since the active set was last compressed
    # survival factor q of each loan (not defaulted, not prepaid): B / q is the balance of the
    # loan if it still performs, which recoveries and the support layers set a partial
    # default against (docs/methodology.md, "Expected-value defaults")
    surv = None
    if by_value.any() or pool.support or snapshot is not None:
        surv = np.ones((S, L)) if start is None else np.broadcast_to(start.performing, (S, L)).copy()
    # risk-sharing layers work on each loan's defaults: capture them per loan and month
    cap = _Capture(S, L, M) if pool.support else None
    snap = _Capture(S, L, snapshot) if snapshot is not None and 0 <= snapshot <= M else None
    snapped: PoolSnapshot | None = None
    if start is not None and len(start.d_asset):
        _start_defaults(start, loans, lag, haircut, decay, rec_rate, recovery, loss, cap, snap)
    if start is not None and start.interest is not None:  # interest paid before the start: subsidies replay it
        for c in (cap, snap):
            if c is not None:
                n = min(start.interest.shape[1], c.M + 1)
                c.interest[:, :, :n] = start.interest[None, :, :n]
                c.survival[:, :, :n] = 1.0 if start.survival is None else start.survival[None, :, :n]
    if sale_month is not None:
        sale_month = np.asarray(sale_month, dtype=np.int64)
        if sale_month.shape != (S,):
            raise ValueError(f"sale_month has shape {sale_month.shape}, expected (scenarios,) = {(S,)}")
    sale_months = set(sale_month[sale_month > 0].tolist()) if sale_month is not None else set()
    # servicer advancing (abs_engine/pools/advancing.py): the scenarios that advance keep
    # their defaulted loans amortising until liquidation
    adv_on = np.array([s.recovery.advancing != "none" for s in scenarios])
    advances = Advances(adv_on, lag, L, M) if adv_on.any() else None
    # the delinquency pipeline (abs_engine/pools/delinquency.py)
    pipeline = Pipeline(scenarios, L, M) if any(s.delinquency is not None for s in scenarios) else None
    if (start is not None or snap is not None) and (advances is not None or pipeline is not None):
        # a status carries neither the advanced loans awaiting liquidation nor the buckets
        raise InputError.single("", "scenario", "a run from a deal status, or a status written from a run, "
                                "does not model servicer advancing or the delinquency pipeline yet")
    for m in range(m_start + 1, M + 1):
        if not B.any() and (advances is None or not advances.pending) and (pipeline is None or not pipeline.pending()):
            break
        out["balance_start"][:, m] = out["balance_end"][:, m - 1]  # the same sum of the same B
        mdr_m, smm_m = mdr.at(m, act), smm.at(m, act)  # (S, 1) shared by the loans, or (S, loans)
        if before.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                on_left = np.where(mdr_m < 1.0, np.minimum(smm_m / (1.0 - mdr_m), 1.0), 1.0)
            smm_m = np.where(before[:, None], on_left, smm_m)
        D = B * mdr_m
        compress = False
        if m in event_months:
            ev = events == m
            if ev.any():
                D = np.where(ev, B, D)
                compress = True
        if surv is not None:
            q = surv[:, act]
            with np.errstate(divide="ignore", invalid="ignore"):
                Bc = np.where(q > 0, B / q, B)  # the balance of the loan still performing
            q = q * (1.0 - mdr_m)  # after this month's default: the interest's weight
            if compress:  # a named default takes the whole (expected) balance B: nothing survives
                q = np.where(ev, 0.0, q)
        else:
            Bc = B
        B1 = B - D
        if pipeline is not None:  # delinquent loans roll, cure or stay; current ones miss payments
            B1, q_dq, D_dq, whole_dq, cured_prin, cured_int = pipeline.transition(
                m, act, B1, q if surv is not None else None, loans.pay[act, m])
            if q_dq is not None:
                q = q_dq
        # loans with a payment this month: interest on B1 and scheduled principal
        month = slice(pay_bounds[m], pay_bounds[m + 1])
        payers = pay_loan[month]
        cols = pos[payers]
        on = cols >= 0
        if not on.all():
            payers, cols = payers[on], cols[on]
        if len(payers):
            Bp = np.take(B1, cols, axis=1)
            n, kind = pay_n[month], pay_kind[month]
            if not on.all():
                n, kind = n[on], kind[on]
            interest, prin = loan_payments(loans, payers, m, ref_rates[:, :, m], Bp, n, kind)
            finished += int(np.count_nonzero(kind == PAY_FINAL))
            B1[:, cols] = Bp - prin
            prin_sum = prin.sum(axis=1)
            interest_sum = interest.sum(axis=1)
        else:
            prin_sum = interest_sum = np.zeros(S)
        if pipeline is not None:  # the delinquent shares' instalments, and the arrears cures pay
            phi, rate_dq = _schedule_terms(loans, payers, n, kind, m, ref_rates) if len(payers) else (
                np.zeros((S, 0)), np.zeros((S, 0)))
            paid_prin, paid_int = pipeline.instalments(m, act, cols, phi, rate_dq)
            prin_sum = prin_sum + paid_prin + cured_prin
            interest_sum = interest_sum + paid_int + cured_int
        B2 = B1
        P = B2 * smm_m
        B3 = B2 - P
        if surv is not None:
            surv[:, act] = q * (1.0 - smm_m)
        # recoveries from disposing of the pledged IP
        if pipeline is not None:
            D_direct, D = D, D + D_dq
        dsum = D.sum(axis=1)
        if cap is not None:
            cap.balance[:, act, m] = Bc
            if len(payers):
                cap.interest[:, act[cols], m] = interest
                cap.survival[:, act[cols], m] = q[:, cols]
                if snap is not None and m <= snap.M:
                    snap.interest[:, act[cols], m] = interest
                    snap.survival[:, act[cols], m] = q[:, cols]
        rec_l = None
        if dsum.any():
            rec = np.zeros(S)
            rec_l = np.zeros_like(D) if cap is not None or snap is not None or advances is not None else None
            if by_rate.any():
                Dr = D[by_rate] * rec_rate[by_rate]
                rec[by_rate] = Dr.sum(axis=1)
                if rec_l is not None:
                    rec_l[by_rate] = Dr
            if by_value.any():
                Bv = Bc[by_value]  # the collateral covers the whole loan, if it still performs
                value = coll * value_factor ** ((m + lag[by_value])[:, None] / 12.0) * (1.0 - haircut[by_value])
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    frac = np.where(Bv > 0, np.minimum(1.0, value / Bv), 0.0)
                if pipeline is not None:  # a pipeline default's loan: its bucket's balance over its share
                    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                        frac_dq = np.where(whole_dq[by_value] > 0, np.minimum(1.0, value / whole_dq[by_value]), 0.0)
                    Dv = D_direct[by_value] * frac + D_dq[by_value] * frac_dq
                else:
                    Dv = D[by_value] * frac
                rec[by_value] = Dv.sum(axis=1)
                if rec_l is not None:
                    rec_l[by_value] = Dv
            if advances is not None:  # those scenarios book the liquidation with the advances
                rec, dsum_booked = np.where(adv_on, 0.0, rec), np.where(adv_on, 0.0, dsum)
                recovery[sidx, m + lag] += rec
                loss[sidx, m + lag] += dsum_booked - rec
            else:
                recovery[sidx, m + lag] += rec
                loss[sidx, m + lag] += dsum - rec
            if cap is not None:
                cap.default[:, act, m] = D
                cap.recovery[:, act, m] = rec_l
            if snap is not None and m <= snap.M:
                snap.default[:, act, m] = D
                snap.recovery[:, act, m] = rec_l
                snap.balance[:, act, m] = Bc
        if advances is not None:
            every = pay_loan[month]  # every loan paying this month, performing or not
            phi, rate_adv = _schedule_terms(loans, every, pay_n[month], pay_kind[month], m, ref_rates)
            advances.month(m, act, D, rec_l if rec_l is not None else np.zeros_like(D), every, phi, rate_adv)
        prepaid = P.sum(axis=1)
        if sale_month is not None and m in sale_months:  # the clean-up call buys what performs
            sold = np.where(sale_month == m, B3.sum(axis=1), 0.0)
            B3 = np.where((sale_month == m)[:, None], 0.0, B3)
            prepaid = prepaid + sale_price * sold
            loss[:, m] += (1.0 - sale_price) * sold
        out["default_amount"][:, m] = dsum
        out["scheduled_principal"][:, m] = prin_sum
        out["prepayment"][:, m] = prepaid
        out["interest_collected"][:, m] = interest_sum
        out["balance_end"][:, m] = B3.sum(axis=1) if pipeline is None else B3.sum(axis=1) + pipeline.outstanding(act)
        B = B3
        if snap is not None and m == snap.M:
            snapped = _snapshot(snap, act, B, surv, lag)
        if compress or finished > 0.05 * B.shape[1]:  # drop the loans repaid (or wholly defaulted) everywhere
            finished = 0
            keep = (B != 0).any(axis=0)
            if pipeline is not None:
                keep |= pipeline.pending(act)
            if not keep.all():
                act, B, events, coll = act[keep], B[:, keep], events[:, keep], coll[keep]
                pos[:] = -1
                pos[act] = np.arange(len(act))
    flows = PoolFlows(
        name=pool.name,
        original_balance=float(loans.balance.sum()),
        recovery=recovery[:, : M + 1],
        loss=loss[:, : M + 1],
        **out,
    )
    if pipeline is not None:
        flows.extra.update(pipeline.series())
    if advances is not None:
        flows.scheduled_principal = flows.scheduled_principal + advances.advanced_principal
        flows.interest_collected = flows.interest_collected + advances.advanced_interest
        flows.recovery = flows.recovery + advances.recovery
        flows.loss = flows.loss + advances.loss
        flows.extra.update({"advanced_principal": advances.advanced_principal,
                            "advanced_interest": advances.advanced_interest,
                            "foreclosure_balance": advances.foreclosure})
    if cap is not None:
        assert support is not None  # (checked on entry)
        _apply_support(flows, pool, loans, scenarios, grid, cap, lag, support)
    if snap is not None:  # (the loop stopped before the month: nothing was left)
        flows.snapshot = snapped or _snapshot(snap, act, np.zeros_like(B), surv, lag)
    if start is not None:
        clear_before(flows, m_start)
    return flows


def _snapshot(snap: _Capture, act: np.ndarray, B: np.ndarray, surv: np.ndarray | None, lag: np.ndarray) -> PoolSnapshot:
    """The pool at the end of month ``snap.M``: the active loans' balances ``B`` spread over
    the tape, each loan's chance of performing, and the defaults captured so far."""
    S, L = snap.default.shape[:2]
    bal = np.zeros((S, L))
    bal[:, act] = B
    perf = np.ones((S, L)) if surv is None else surv.copy()
    return PoolSnapshot(month=snap.M, balance=bal, performing=perf, patents=None, default=snap.default.copy(),
                        default_balance=snap.balance.copy(), recovery=snap.recovery.copy(), lag=lag.copy(),
                        interest=snap.interest.copy(), survival=snap.survival.copy())


def _start_defaults(start: PoolStart, loans: LoanArrays, lag: np.ndarray, haircut: np.ndarray, decay: np.ndarray,
                    rec_rate: np.ndarray, recovery: np.ndarray, loss: np.ndarray, cap: _Capture | None,
                    snap: _Capture | None) -> None:
    """The defaults a mid-life start lists: each pending disposal's proceeds (by the
    scenario's recovery assumptions, as the projection sets them for its own defaults) and
    loss arrive ``lag`` months after the default, or in the month after the start if that is
    past; the support layers replay every default in its month (``cap``), a snapshot
    records them (``snap``)."""
    li, md, D, Bc = start.d_asset, start.d_month, start.d_amount, start.d_balance
    S = len(lag)
    R = np.empty((S, len(li)))
    for s in range(S):
        if not np.isnan(rec_rate[s, 0]):
            R[s] = D * rec_rate[s, 0]
        else:  # the formula of the projection's own defaults (project_pledge_pool)
            value = loans.collateral[li] * (1.0 - decay[s, 0]) ** ((md + lag[s]) / 12.0) * (1.0 - haircut[s, 0])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                frac = np.where(Bc > 0, np.minimum(1.0, value / Bc), 0.0)
            R[s] = D * frac
    pending = start.pending
    R = np.where(pending[None, :], R, start.d_recovered[None, :])
    arrive = np.maximum(md[None, :] + lag[:, None], start.month + 1)
    for s in range(S):
        on = pending
        np.add.at(recovery[s], arrive[s, on], R[s, on])
        np.add.at(loss[s], arrive[s, on], D[on] - R[s, on])
    for c in (cap, snap):
        if c is None:
            continue
        on = md <= c.M
        for s in range(S):
            np.add.at(c.default[s], (li[on], md[on]), D[on])
            np.add.at(c.recovery[s], (li[on], md[on]), R[s, on])
            c.balance[s, li[on], md[on]] = Bc[on]


def _schedule_terms(loans: LoanArrays, payers: np.ndarray, n: np.ndarray, kind: np.ndarray, m: int,
                    ref_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For loans ``payers`` paying in grid month ``m``: the share of a balance their payment
    repays (``phi``, the scheduled principal fraction) and the interest on a balance, per
    scenario ``(S, len(payers))``, by the projection's formulas."""
    S = ref_rates.shape[0]
    rate = loans.rate[payers]
    fl = loans.ref_index[payers] >= 0
    if fl.any():
        r = np.where(fl, np.maximum(ref_rates[:, np.maximum(loans.ref_index[payers], 0), m] + rate, 0.0), rate)
    else:
        r = np.broadcast_to(rate, (S, len(payers)))
    rp = r * (loans.freq[payers] / 12.0)
    interest = rp if loans.accrual is None else r * loans.accrual[payers, m]
    phi = np.zeros((S, len(payers)))
    phi[:, kind == PAY_FINAL] = 1.0
    g = kind == PAY_ANNUITY
    if g.any():
        rg, ng = rp[:, g], n[g]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.power(1.0 + rg, ng) - 1.0
            phi[:, g] = np.minimum(np.where(np.abs(rg) > 1e-14, rg / growth, 1.0 / np.maximum(ng, 1)), 1.0)
    g = kind == PAY_EQUAL
    if g.any():
        phi[:, g] = np.minimum(1.0 / np.maximum(n[g], 1), 1.0)
    return phi, np.broadcast_to(interest, (S, len(payers)))


class _Capture:
    """Per-loan arrays ``(S, L, M+1)`` a support stack needs (docs/risk-sharing.md):
    defaults and their disposal proceeds by default month, the balance at the start of each
    month (before default) of the loan if it still performs (``B / q``, named defaults
    too), the interest each loan pays and its weight ``q`` (the chance the loan still
    performs when it pays)."""

    def __init__(self, S: int, L: int, M: int) -> None:
        self.M = M
        self.default = np.zeros((S, L, M + 1))
        self.recovery = np.zeros((S, L, M + 1))
        self.balance = np.zeros((S, L, M + 1))
        self.interest = np.zeros((S, L, M + 1))
        self.survival = np.zeros((S, L, M + 1))


def _apply_support(flows: PoolFlows, pool: PledgeLoanPool, loans: LoanArrays, scenarios: list[Scenario],
                   grid: list[dt.date], cap: _Capture, lag: np.ndarray, support_flows: Support) -> None:
    """Restate ``flows`` after the pool's support stack (in place)."""
    original = np.array([a.original_balance if a.original_balance is not None else a.balance for a in pool.assets])
    _, borrower = np.unique(np.array([a.borrower for a in pool.assets], dtype=object).astype(str), return_inverse=True)
    series, lr = support_flows(
        pool.support, scenarios, grid, default=cap.default, recovery=cap.recovery, lag=lag,
        balance=cap.balance, loan_original=original, collateral_value=loans.collateral,
        interest=cap.interest, survival=cap.survival, borrower_index=borrower,
    )
    # without the layers the pool would bear the projection's loss, and the proceeds lost
    # to lapsed rights on top (the upkeep stopped: a risk of the pool, not of a layer)
    flows.loss_before_support = flows.loss + series["recovery_lost"]
    flows.recovery = series["recovery"]
    flows.loss = series["loss"]
    flows.support_paid = series["support_paid"]
    flows.subsidy = series["subsidy"]
    # a subsidy paid to the pool pays that part of the contractual interest on the
    # borrowers' behalf: they pay the rest, the pool's total stays the contractual interest
    flows.interest_collected = flows.interest_collected - series["subsidy"]
    flows.upkeep_cost = series["upkeep_cost"]
    flows.layers = lr

# --------------------------------------------------------------------------- Monte Carlo paths, sparsely
#
# On a Monte Carlo path every loan either survives or defaults wholly in one month (its
# obligor's default month; the scenario's CDR is zero), and nothing else differs between
# paths. A surviving loan then pays exactly what it pays on the no-default path, and a loan
# defaulting in month ``tau`` pays that until ``tau - 1``, defaults with its opening balance
# in ``tau`` and recovers ``lag`` months later. The pool's flows on a path are therefore the
# no-default flows of the whole pool less the no-default flows of the defaulted loans from
# their default month on, plus their defaults and recoveries:
#
#     X_path[m] = sum_l X_l[m] - sum_{l defaulted, tau_l <= m} X_l[m]      (X: scheduled
#     principal, interest, prepayment, closing balance)
#
# The per-loan no-default flows ``X_l`` are computed once, paying through the same
# :func:`loan_payments` as :func:`project_pledge_pool` (same formulas, same order of events),
# so each loan's figures equal the dense projection's; only the order of the sums over loans
# differs (agreement to rounding: tests/test_scenarios_montecarlo.py checks it against
# ``project_pledge_pool(default_month=...)``, and every simulation checks its first paths
# before it relies on this). A path costs O(defaulted loans x months) instead of
# O(loans x months). Pools with an asset-level support stack take the dense projection.


class SparsePledge:
    """The no-default flows of each loan of a pledge pool under one scenario (CDR 0),
    and the flows of paths given their loans' default months."""

    def __init__(self, pool: PledgeLoanPool, loans: LoanArrays, scenario: Scenario, grid: list[dt.date],
                 ref_rates: np.ndarray) -> None:
        """``ref_rates``: ``(n_refs, n_months + 1)``, the reference rates of the scenario."""
        self.name = pool.name
        M = len(grid) - 1
        L = len(loans.ids)
        self.M, self.L = M, L
        self.original_balance = float(loans.balance.sum())
        mdr_rates, smm_rates = pledge_rates(pool, loans, [scenario], grid)
        if not is_zero(scenario.defaults.cdr) or any(seg.cdr is not None and not is_zero(seg.cdr)
                                                     for seg in scenario.segments):
            raise ValueError("the sparse projection needs a scenario without CDR (the paths carry the defaults)")
        # each loan's monthly prepayment rates (L, M+1): one row for every loan unless the
        # scenario's prepayment runs by loan age
        smm = np.stack([smm_rates.loan_vector(0, li, M) for li in range(L)]) if not smm_rates.shared \
            else np.broadcast_to(smm_rates.table[0, 0, : M + 1], (L, M + 1))
        if scenario.prepayment.applies_to == "before_defaults":  # smm / (1 - mdr) with mdr = 0
            smm = np.minimum(smm, 1.0)
        bal = np.zeros((L, M + 1))
        sched = np.zeros((L, M + 1))
        interest = np.zeros((L, M + 1))
        prepay = np.zeros((L, M + 1))
        B = loans.balance.astype(np.float64).copy()
        bal[:, 0] = B
        pay_bounds, pay_loan, pay_n, pay_kind = _calendar(loans, M)
        for m in range(1, M + 1):
            month = slice(pay_bounds[m], pay_bounds[m + 1])
            idx = pay_loan[month]
            if len(idx):
                Bp = B[idx]
                interest[idx, m], prin = loan_payments(loans, idx, m, ref_rates[:, m], Bp, pay_n[month], pay_kind[month])
                B[idx] = Bp - prin
                sched[idx, m] = prin
            P = B * smm[:, m]
            prepay[:, m] = P
            B = B - P
            bal[:, m] = B
        self.series = {"scheduled_principal": sched, "interest_collected": interest, "prepayment": prepay,
                       "balance_end": bal}
        # the chance a loan has not prepaid by the end of each month: balance_end / survive is
        # the balance of a loan still performing (the collateral is set against it)
        self.survive = np.cumprod(np.concatenate([np.ones((L, 1)), 1.0 - smm[:, 1:]], axis=1), axis=1)
        self.totals = {k: v.sum(axis=0) for k, v in self.series.items()}
        # what a default in month m recovers, per loan: D x rate, or D x min(1, value / B)
        rc = scenario.recovery
        self.lag = rc.lag_months
        self.rate = rc.rate
        self.value: np.ndarray | None = None
        if rc.rate is None:
            months = np.arange(M + 1)
            factor = (1.0 - rc.value_decay) ** ((months + self.lag) / 12.0)
            self.value = loans.collateral[:, None] * factor[None, :] * (1.0 - rc.haircut)  # (L, M+1)
        # named default events of the scenario (grid month per loan, 0: none)
        self.named = np.zeros(L, dtype=np.int64)
        index = {lid: i for i, lid in enumerate(loans.ids)}
        for lid, when in scenario.defaults.loans.items():
            if lid in index:
                self.named[index[lid]] = month_of_event(when, grid)

    def recover(self, ls: np.ndarray, tau: np.ndarray, D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the defaults ``D`` of loans ``ls`` in months ``tau`` recover at once and
        ``lag`` months later: ``D x rate``, or ``D x min(1, value / Dc)`` later (the
        dense projection's formulas; a kind with other recoveries overrides this)."""
        if self.rate is not None:
            return np.zeros_like(D), D * self.rate
        assert self.value is not None
        value = self.value[ls, tau]
        q = self.survive[ls, tau - 1]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            Dc = np.where(q > 0, D / q, D)  # the defaulted loan's balance, had it not prepaid
            frac = np.where(D > 0, np.minimum(1.0, value / Dc), 0.0)
        return np.zeros_like(D), D * frac

    def flows(self, default_month: np.ndarray) -> PoolFlows:
        """The pool's monthly flows on paths whose loans default in ``default_month``
        (integers ``(n_paths, n_loans)``, 0: survives; the earlier of it and the scenario's
        named default month applies)."""
        dm = np.asarray(default_month, dtype=np.int64)
        S, M, L = dm.shape[0], self.M, self.L
        if dm.shape != (S, L):
            raise ValueError(f"default_month has shape {dm.shape}, expected (paths, loans) = {(S, L)}")
        dm = np.where((dm >= 1) & (dm <= M), dm, 0)
        named = self.named[None, :]
        dm = np.where((named > 0) & ((dm == 0) | (named < dm)), named, dm)
        out = {k: np.zeros((S, M + 1)) for k in self.series}
        default = np.zeros((S, M + 1))
        recovery = np.zeros((S, M + 1 + self.lag))
        loss = np.zeros_like(recovery)
        months = np.arange(M + 1)
        bal = self.series["balance_end"]
        for s in range(S):
            ls = np.flatnonzero(dm[s])
            tau = dm[s, ls]
            D = bal[ls, tau - 1]  # the opening balance of the default month
            keep = D != 0.0
            ls, tau, D = ls[keep], tau[keep], D[keep]
            after = months[None, :] >= tau[:, None]
            for k, X in self.series.items():
                if len(ls):
                    removed = np.where(after, X[ls], 0.0).sum(axis=0)
                    out[k][s] = np.maximum(self.totals[k] - removed, 0.0)
                else:
                    out[k][s] = self.totals[k]
            if len(ls):
                now, rec = self.recover(ls, tau, D)
                np.add.at(default[s], tau, D)
                np.add.at(recovery[s], tau, now)
                np.add.at(recovery[s], tau + self.lag, rec)
                np.add.at(loss[s], tau + self.lag, D - now - rec)
        balance_start = np.zeros((S, M + 1))
        balance_start[:, 1:] = out["balance_end"][:, :-1]
        default[:, 0] = 0.0
        return PoolFlows(
            name=self.name,
            original_balance=self.original_balance,
            balance_start=balance_start,
            scheduled_principal=out["scheduled_principal"],
            prepayment=out["prepayment"],
            default_amount=default,
            recovery=recovery[:, : M + 1],
            loss=loss[:, : M + 1],
            interest_collected=out["interest_collected"],
            balance_end=out["balance_end"],
        )


# --------------------------------------------------------------------------- the kind


def asset_table(pool: PledgeLoanPool, header: Header) -> pd.DataFrame:
    """The asset table of an IP-pledge-loan pool (:data:`~abs_engine.pools.base.ASSET_COLUMNS`
    + ip_type, industry, region); floating rates are resolved with ``header.reference_rates``."""
    refs = header.reference_rates
    missing = sorted({a.reference for a in pool.assets if a.reference and a.reference not in refs})
    if missing:
        known = ", ".join(refs) or "none"
        raise InputError([
            Problem("", f"pool '{pool.name}'", f"unknown reference rate '{r}' (known: {known})") for r in missing
        ])
    cut = header.cutoff_date
    rows = [
        (
            pool.name,
            a.loan_id,
            a.borrower,
            float(a.balance),
            float(refs[a.reference] + a.spread) if a.reference else float(a.rate),
            max(months_between(cut, a.maturity_date), 0.0),
            max(months_between(a.origination_date, cut), 0.0),
            float(a.collateral_value),
            a.ip_type,
            a.industry,
            a.region,
        )
        for a in pool.assets
    ]
    return asset_frame(rows)


class PledgeLoans:
    """IP-pledge loans (``kind: pledge_loan``): the :class:`~abs_engine.pools.base.PoolKind`
    of this module."""

    tag = "pledge_loan"

    def months_needed(self, pool: PledgeLoanPool, cutoff: dt.date) -> int:
        return grid_months_needed(pool, cutoff)

    def original_balance(self, pool: PledgeLoanPool, cutoff: dt.date) -> float:
        return sum(a.balance for a in pool.assets)

    def prepare(self, pool: PledgeLoanPool, cutoff: dt.date, grid_months: int, references: list[str]) -> LoanArrays:
        return loan_arrays(pool, cutoff, grid_months, references)

    def project(self, pool: PledgeLoanPool, prepared: LoanArrays, scenarios: list[Scenario], grid: list[dt.date],
                ref_rates: np.ndarray, events: Events, support: Support | None) -> PoolFlows:
        return project_pledge_pool(pool, prepared, scenarios, grid, ref_rates, default_month=events.default_month,
                                   sale_month=events.sale_month, sale_price=events.sale_price, support=support,
                                   start=events.start, snapshot=events.snapshot)

    def has_sparse(self, pool: PledgeLoanPool, *, exact: bool) -> bool:
        return not (exact and pool.support)  # (the layers work on each loan's defaults: dense)

    def sparse(self, pool: PledgeLoanPool, prepared: LoanArrays, scenario: Scenario, grid: list[dt.date],
               ref_rates: np.ndarray, *, exact: bool) -> SparsePledge | None:
        # (servicer advancing moves cash between months of a default: dense, where it must be exact)
        if not self.has_sparse(pool, exact=exact) or (exact and scenario.recovery.advancing != "none"):
            return None
        return SparsePledge(pool, prepared, scenario, grid, ref_rates)

    def default_rates(self, pool: PledgeLoanPool, prepared: LoanArrays, scenario: Scenario,
                      grid: list[dt.date]) -> LoanRates | None:
        """Each loan's own monthly default rates where the scenario's vary by loan (by loan age,
        by segment), else None (every loan takes the scenario's CDR)."""
        return pledge_rates(pool, prepared, [scenario], grid)[0] if varies_by_loan(scenario) else None

    def patent_types(self, pool: PledgeLoanPool) -> list[str]:
        return []

    def asset_table(self, pool: PledgeLoanPool, header: Header) -> pd.DataFrame:
        return asset_table(pool, header)

    def ip_rights(self, pool: PledgeLoanPool) -> int:
        """The rights pledged to the loans (``ip_count``)."""
        return int(sum(a.ip_count for a in pool.assets))

    def collateral(self, pool: PledgeLoanPool, header: Header, notes: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One row per loan: its pledged rights as a group (type, count, appraised value,
        valuer; no expiry on the tape), its balance the exposure."""
        total = sum(a.balance for a in pool.assets)
        rows = [{"pool": pool.name, "right": a.loan_id, "type": a.ip_type, "count": a.ip_count,
                 "expiry_date": None, "years_after_legal_maturity": math.nan,
                 "appraised_value": a.collateral_value, "valuer": a.valuer,
                 "exposure": a.balance, "exposure_share": a.balance / total if total else math.nan}
                for a in pool.assets]
        return rows, None

    def terms(self, pool: PledgeLoanPool, header: Header) -> dict[str, float]:
        return {}  # (the pool statistics say it all)


#: The pledge-loan kind.
KIND = PledgeLoans()
