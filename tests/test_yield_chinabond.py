"""The PBoC / ChinaBond yield convention (中国人民银行 银发〔2007〕200号, the formulas 中债 uses),
``compounding="chinabond"``, the default of CNY deals (docs/analytics.md).

Expected values are the formulas of the notice written out here, with the day counts typed
in by hand: more than one payment left, ``PV = sum CF_k / (1 + y/f)^(d/TS + k)``; one payment
left within a year, ``y = (FV - PV)/PV * TY/D``; one payment further away,
``PV = FV / (1 + y)^(d/TY + m)``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from conftest import DEALS, SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine import analytics as an
from abs_engine.analytics import AnalyticsError, CashFlows

CB = {"compounding": "chinabond"}


def _months(d: dt.date, n: int) -> dt.date:
    q = ql.Date(d.day, d.month, d.year) + ql.Period(n, ql.Months)
    return dt.date(q.year(), q.month(), q.dayOfMonth())


def _par_bond(start: dt.date, freq: int, years: int, coupon: float) -> CashFlows:
    dates = [_months(start, 12 // freq * k) for k in range(1, years * freq + 1)]
    return CashFlows.level_coupon(dates, coupon, frequency=freq, accrual_start=start)


# --- par bonds -------------------------------------------------------------------------------


@pytest.mark.parametrize("freq", [1, 2, 4, 12], ids=["annual", "semiannual", "quarterly", "monthly"])
@pytest.mark.parametrize("coupon", [0.0038, 0.038, 0.0725])
def test_par_bond_on_a_coupon_date_yields_its_coupon(freq, coupon):
    """A bond paying C/f per period, priced at 100 on a coupon date (at issue, and on a later
    coupon date with more than one coupon left), yields C; at yield C it is worth 100."""
    cf = _par_bond(dt.date(2026, 3, 31), freq, 3, coupon)
    for settle in (dt.date(2026, 3, 31), cf.dates[1]):
        assert an.yield_from_price(cf, 100.0, settle, **CB) == pytest.approx(coupon, abs=1e-10)
        assert an.price_from_yield(cf, coupon, settle, **CB) == pytest.approx(100.0, abs=1e-10)


@pytest.mark.parametrize("freq", [1, 2, 4, 12])
def test_par_bond_between_coupon_dates(freq):
    """Between coupon dates the convention compounds the accrued part of the period too: at
    yield C the dirty price of the par bond is 100 (1 + C/f)^(1 - d/TS), so that is the dirty
    price at which it yields its coupon. At 100 plus the linear accrued interest (ACT/ACT
    ICMA: C/f per 100 times the elapsed share of the period) it yields a little less."""
    c = 0.045
    cf = _par_bond(dt.date(2026, 1, 15), freq, 4, c)
    cf = CashFlows(cf.dates, cf.interest, cf.principal, 100.0, coupon_rate=c,
                   accrual_start=cf.accrual_start, day_count="ACT/ACT ICMA", frequency=freq)
    prev, nxt = cf.dates[0], cf.dates[1]
    settle = prev + dt.timedelta(days=(nxt - prev).days // 3)
    s = (nxt - settle).days / (nxt - prev).days  # d / TS
    implied = 100.0 * (1 + c / freq) ** (1 - s)
    assert an.price_from_yield(cf, c, settle, clean=False, **CB) == pytest.approx(implied, abs=1e-10)
    assert an.yield_from_price(cf, implied, settle, clean=False, **CB) == pytest.approx(c, abs=1e-10)
    accrued = 100.0 * c / freq * (1 - s)
    assert an.accrued_interest(cf, settle) == pytest.approx(accrued, abs=1e-12)
    assert 100.0 + accrued > implied  # linear accrual exceeds compounded accrual ...
    assert c - 1e-3 < an.yield_from_price(cf, 100.0, settle, **CB) < c  # ... so the yield is below C


def test_amortising_par_note_yields_its_coupon():
    """Principal repaid in five quarterly instalments, the coupon C/4 on the balance of each
    period: priced at par at issue, or on a payment date in the middle of the amortisation
    (at par on the balance then outstanding), the note yields C."""
    c, start = 0.038, dt.date(2026, 7, 26)
    dates = [_months(start, 3 * k) for k in range(1, 9)]
    principal = np.array([0, 0, 0, 10, 20, 30, 25, 15], dtype=float) * 1e6
    balance = 100e6 - np.concatenate([[0.0], np.cumsum(principal)[:-1]])
    interest = balance * c / 4
    cf = CashFlows(dates, interest, principal, 100e6, coupon_rate=c, accrual_start=start, frequency=4)
    assert an.yield_from_price(cf, 100.0, start, **CB) == pytest.approx(c, abs=1e-10)
    later = CashFlows(dates[4:], interest[4:], principal[4:], balance[4], coupon_rate=c,
                      accrual_start=dates[3], frequency=4)
    assert an.yield_from_price(later, 100.0, dates[3], **CB) == pytest.approx(c, abs=1e-10)


# --- one payment left --------------------------------------------------------------------------


def test_last_coupon_period_is_simple_interest_over_the_coupon_year():
    """A 3% quarterly bond in its last period: last coupon 2027-03-15, previous 2026-12-15
    (90 days), settlement 2027-01-20 (36 days accrued, D = 54 days left), TY = 365 (the year
    2026-03-15 to 2027-03-15). At a clean price of 99.9:
    y = (FV - PV) / PV * TY / D with FV = 100.75 and PV = 99.9 + 0.75 * 36/90."""
    dates = [dt.date(2026, 12, 15), dt.date(2027, 3, 15)]
    cf = CashFlows(dates, [0.75, 0.75], [0.0, 100.0], 100.0, coupon_rate=0.03,
                   accrual_start=dt.date(2026, 9, 15), day_count="ACT/ACT ICMA", frequency=4)
    settle = dt.date(2027, 1, 20)
    pv = 99.9 + 0.75 * 36 / 90
    expected = (100.75 - pv) / pv * 365 / 54
    assert an.accrued_interest(cf, settle) == pytest.approx(0.75 * 36 / 90, abs=1e-12)
    assert an.yield_from_price(cf, 99.9, settle, **CB) == pytest.approx(expected, abs=1e-12)
    assert an.price_from_yield(cf, 0.035, settle, clean=False, **CB) == pytest.approx(
        100.75 / (1 + 0.035 * 54 / 365), abs=1e-12)


def test_last_period_of_an_abs_note_counts_only_the_payments_left():
    """An amortising note whose last principal falls on 2027-07-26, with zero rows after
    (the engine lists every payment date to the legal maturity): settled 2027-05-10 it has
    one payment left, 77 days away, TY = 365 (2026-07-26 to 2027-07-26): simple interest."""
    dates = [dt.date(2027, 4, 26), dt.date(2027, 7, 26), dt.date(2027, 10, 26), dt.date(2028, 2, 2)]
    cf = CashFlows(dates, [1.0, 0.5, 0.0, 0.0], [50.0, 50.0, 0.0, 0.0], 50.0, coupon_rate=0.04,
                   accrual_start=dt.date(2027, 1, 26), frequency=4)
    settle = dt.date(2027, 5, 10)
    dirty = an.price_from_yield(cf, 0.04, settle, clean=False, **CB)
    assert dirty == pytest.approx(100.0 * 50.5 / 50.0 / (1 + 0.04 * 77 / 365), abs=1e-12)


@pytest.mark.parametrize("maturity,settle,D,TY", [
    (dt.date(2027, 3, 1), dt.date(2026, 6, 15), 259, 365),   # 2026-03-01 .. 2027-03-01
    (dt.date(2028, 3, 1), dt.date(2027, 6, 15), 260, 366),   # 2027-03-01 .. 2028-03-01 (29 Feb)
    (dt.date(2027, 3, 1), dt.date(2026, 3, 1), 365, 365),    # exactly one year: still simple
])
def test_zero_coupon_within_a_year_is_simple(maturity, settle, D, TY):
    zero = CashFlows([maturity], [0.0], [100.0], 100.0)
    assert an.price_from_yield(zero, 0.021, settle, **CB) == pytest.approx(100 / (1 + 0.021 * D / TY), abs=1e-12)
    assert an.yield_from_price(zero, 98.5, settle, **CB) == pytest.approx((100 - 98.5) / 98.5 * TY / D, abs=1e-13)
    r = an.risk_measures(zero, settle, yld=0.021, **CB)
    assert r["macaulay_duration"] == pytest.approx(D / TY, abs=1e-14)
    assert r["modified_duration"] == pytest.approx(D / TY / (1 + 0.021 * D / TY), abs=1e-14)


@pytest.mark.parametrize("maturity,settle,m,d,TY", [
    # anniversaries 2030-, 2029-, 2028-, 2027-05-20 after settlement, 2026-05-20 before it
    (dt.date(2031, 5, 20), dt.date(2026, 8, 10), 4, 283, 365),
    # counted back from 29 February: 2031-02-28, 2030-02-28 after, 2029-02-28 before
    (dt.date(2032, 2, 29), dt.date(2029, 6, 1), 2, 272, 365),
    # the year holding 29 February 2028: 2027-11-30 .. 2028-11-30
    (dt.date(2029, 11, 30), dt.date(2028, 1, 10), 1, 325, 366),
])
def test_zero_coupon_over_a_year_compounds_annually(maturity, settle, m, d, TY):
    """PV = FV / (1 + y)^(d/TY + m): d days to the next anniversary of the maturity, TY the
    days of the year it ends, m whole years from there."""
    zero = CashFlows([maturity], [0.0], [100.0], 100.0)
    t = d / TY + m
    assert an.price_from_yield(zero, 0.027, settle, **CB) == pytest.approx(100 / 1.027**t, abs=1e-11)
    assert an.yield_from_price(zero, 88.0, settle, **CB) == pytest.approx((100 / 88.0) ** (1 / t) - 1, abs=1e-12)
    assert an.macaulay_duration(zero, 0.027, settle, **CB) == pytest.approx(t, abs=1e-12)


# --- a non-par case, by hand --------------------------------------------------------------------


def _abs_note() -> CashFlows:
    """An ABS-like note: closing 2026-07-20, quarterly payments on the 26th from 2026-10-26
    (a long first period: the regular quarter ending on it starts 2026-07-26), 4.2% ACT/365F
    interest on an amortising balance of 1,000."""
    dates = [dt.date(2026, 10, 26), dt.date(2027, 1, 26), dt.date(2027, 4, 26), dt.date(2027, 7, 26)]
    starts = [dt.date(2026, 7, 20), *dates[:-1]]
    principal = np.array([300.0, 250.0, 250.0, 200.0])
    balance = np.array([1000.0, 700.0, 450.0, 200.0])
    interest = balance * 0.042 * np.array([(e - s).days for s, e in zip(starts, dates, strict=True)]) / 365
    return CashFlows(dates, interest, principal, 1000.0, coupon_rate=0.042, accrual_start=starts[0], frequency=4)


def test_non_par_price_by_hand_long_first_period():
    """At closing the first payment ends the current coupon period (2026-07-20 .. 10-26, 98
    days): d/TS = 98/98 = 1 (TS, 当前付息周期的实际天数, 银发〔2007〕200号). The ICMA reading
    (``chinabond_icma``) puts it 1 + 6/91 periods away (6 days to the quasi-coupon date
    2026-07-26, in the regular quarter 2026-04-26 .. 07-26 of 91 days)."""
    cf = _abs_note()
    y = 0.05
    for compounding, s in (("chinabond", 1.0), ("chinabond_icma", 1 + 6 / 91)):
        expected = sum(float(a) / (1 + y / 4) ** (s + k) for k, a in enumerate(cf.total)) / 10.0
        got = an.price_from_yield(cf, y, dt.date(2026, 7, 20), compounding=compounding)
        assert got == pytest.approx(expected, abs=1e-11), compounding
    # a week in: 91 of the 98 days left
    settle = dt.date(2026, 7, 27)
    dirty = sum(float(a) / (1 + y / 4) ** (91 / 98 + k) for k, a in enumerate(cf.total)) / 10.0
    assert an.price_from_yield(cf, y, settle, clean=False, **CB) == pytest.approx(dirty, abs=1e-11)


def test_non_par_price_by_hand_between_payment_dates():
    """Settled 2027-02-10, 15 days into the 90-day period 2027-01-26 .. 04-26: d/TS = 75/90.
    The face is the balance then outstanding (450), the accrued interest 4.2% x 15/365."""
    cf = _abs_note()
    settle, y = dt.date(2027, 2, 10), 0.031
    left = cf.total[2:]
    dirty = sum(float(a) / (1 + y / 4) ** (75 / 90 + k) for k, a in enumerate(left)) * 100 / 1000
    later = CashFlows(cf.dates[2:], cf.interest[2:], cf.principal[2:], 450.0, coupon_rate=0.042,
                      accrual_start=cf.dates[1], frequency=4)
    per100 = dirty * 1000 / 450
    assert an.price_from_yield(later, y, settle, clean=False, **CB) == pytest.approx(per100, abs=1e-11)
    assert an.price_from_yield(later, y, settle, **CB) == pytest.approx(per100 - 4.2 * 15 / 365, abs=1e-11)


def test_chinabond_is_the_icma_street_yield_of_a_regular_bond_with_coupons_left():
    """For C/f coupons and more than one left, d/TS + k coupon periods of ``chinabond_icma``
    are what QuantLib's ACT/ACT ICMA measures in a compounded yield at the coupon frequency:
    the two agree, short and long first periods included (the quasi-coupon periods). After
    the first period (and for a regular first period) ``chinabond`` is the same."""
    start = dt.date(2026, 2, 3)
    for first in (dt.date(2026, 5, 15), dt.date(2026, 9, 15)):  # short, long first period
        dates = [_months(first, 6 * k) for k in range(7)]
        cf = CashFlows(dates, [2.0] * 7, [0.0] * 6 + [100.0], 100.0, coupon_rate=0.04,
                       accrual_start=start, day_count="ACT/ACT ICMA", frequency=2)
        for settle in (start, dt.date(2026, 4, 1), dt.date(2027, 1, 2)):
            street = an.price_from_yield(cf, 0.037, settle, compounding="semiannual", day_count="ACT/ACT ICMA")
            icma = an.price_from_yield(cf, 0.037, settle, compounding="chinabond_icma")
            assert icma == pytest.approx(street, abs=1e-10)
            if settle > first:
                assert an.price_from_yield(cf, 0.037, settle, **CB) == pytest.approx(street, abs=1e-10)


# --- risk measures -------------------------------------------------------------------------


def _finite_differences(cf: CashFlows, y: float, settle: dt.date) -> tuple[float, float]:
    h = 1e-5
    up, dn, p0 = (an.price_from_yield(cf, x, settle, clean=False, **CB) for x in (y + h, y - h, y))
    return -(up - dn) / (2 * h * p0), (up + dn - 2 * p0) / (h * h * p0)


@pytest.mark.parametrize("case", ["coupons left", "last period", "zero over a year", "zero within a year"])
@pytest.mark.parametrize("y", [-0.004, 0.0, 0.031, 0.12])
def test_durations_are_the_derivatives_of_the_price(case, y):
    settle = dt.date(2027, 2, 10)
    cf = {
        "coupons left": _abs_note(),
        "last period": CashFlows([dt.date(2027, 4, 26)], [2.0], [100.0], 100.0, coupon_rate=0.04,
                                 accrual_start=dt.date(2027, 1, 26), frequency=4),
        "zero over a year": CashFlows([dt.date(2030, 6, 1)], [0.0], [100.0], 100.0),
        "zero within a year": CashFlows([dt.date(2027, 12, 1)], [0.0], [100.0], 100.0),
    }[case]
    r = an.risk_measures(cf, settle, yld=y, **CB)
    mod, conv = _finite_differences(cf, y, settle)
    assert r["modified_duration"] == pytest.approx(mod, rel=1e-7)
    assert r["convexity"] == pytest.approx(conv, rel=1e-4)
    if case in ("coupons left", "zero over a year"):
        f = 4 if case == "coupons left" else 1
        assert r["macaulay_duration"] == pytest.approx(r["modified_duration"] * (1 + y / f), rel=1e-13)


@settings(deadline=None)
@given(y=st.floats(-0.02, 0.2), lag=st.integers(0, 400), freq=st.sampled_from([1, 2, 4, 12]),
       years=st.integers(1, 6), amortise=st.booleans())
def test_chinabond_round_trip_and_finite_differences(y, lag, freq, years, amortise):
    cf = _par_bond(dt.date(2026, 1, 31), freq, years, 0.05)
    if amortise:
        n = len(cf.dates)
        balance = 100.0 * (1 - np.arange(n) / n)
        cf = CashFlows(cf.dates, balance * 0.05 / freq, np.full(n, 100.0 / n), 100.0, coupon_rate=0.05,
                       accrual_start=cf.accrual_start, frequency=freq)
    settle = dt.date(2026, 1, 31) + dt.timedelta(days=lag)
    if settle >= cf.dates[-1]:
        return
    p = an.price_from_yield(cf, y, settle, clean=False, **CB)
    assert an.yield_from_price(cf, p, settle, clean=False, **CB) == pytest.approx(y, abs=1e-9)
    mod, _ = _finite_differences(cf, y, settle)
    assert an.modified_duration(cf, y, settle, **CB) == pytest.approx(mod, rel=1e-6)


# --- inputs ----------------------------------------------------------------------------------


def test_chinabond_needs_the_coupon_frequency_when_coupons_are_left():
    cf = CashFlows([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], [3.0, 3.0], [0.0, 100.0], 100.0,
                   coupon_rate=0.03, accrual_start=dt.date(2026, 1, 1))
    with pytest.raises(AnalyticsError, match="compounds at the coupon frequency"):
        an.yield_from_price(cf, 100.0, dt.date(2026, 1, 1), **CB)
    # one payment left needs none
    assert math.isfinite(an.yield_from_price(cf, 100.0, dt.date(2027, 6, 1), **CB))


def test_a_curve_cannot_use_the_chinabond_convention():
    with pytest.raises(AnalyticsError, match="coupon schedule"):
        an.Curve.flat(0.02, dt.date(2026, 1, 1), compounding="chinabond")


# --- the engine's default for CNY deals ----------------------------------------------------------


@pytest.fixture(scope="module")
def sz():
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    return deal, ae.run(deal, [ae.load_scenario(SCENARIOS / "base.yaml")])


def test_sz_senior_at_par_yields_its_coupon_under_the_cny_default(sz):
    """The SZ senior, a 3.80% quarterly note priced at 100 at closing (2026-07-20), showed
    3.8541% (annual compounding); the ChinaBond convention gives the coupon, up to what
    ACT/365F coupons of 98 (the long first period, one coupon period: TS its actual 98 days),
    92, 90 and 91 days add: 3.8851%. Checked by hand: at it, sum CF_k / (1 + y/4)^(1 + k) is
    the face. The ICMA reading of the first period (1 + 6/91 periods) gives 3.8042%."""
    deal, r = sz
    a = r.analytics().set_index(["scenario", "tranche"]).loc[("base", "A")]
    assert a["compounding"] == "chinabond"
    assert round(a["yield"], 6) == 0.038851
    t = r.tranches[(r.tranches["tranche"] == "A") & (r.tranches["scenario"] == "base")]
    cash = (t["interest_paid"] + t["principal_paid"]).to_numpy()
    y = float(a["yield"])
    assert sum(c / (1 + y / 4) ** (1 + k) for k, c in enumerate(cash)) == pytest.approx(deal.tranches[0].balance, rel=1e-12)
    assert a["modified_duration"] == pytest.approx(a["macaulay_duration"] / (1 + y / 4), rel=1e-12)
    icma = deal.model_copy(update={"pricing": deal.pricing.model_copy(update={
        "tranches": {"A": ae.model.deal.TranchePricing(price=100.0, compounding="chinabond_icma")}})})
    ai = ae.run(icma, ae.load_scenario(SCENARIOS / "base.yaml")).analytics().set_index("tranche").loc["A"]
    yi, s = float(ai["yield"]), 1 + 6 / 91  # 2026-07-20 .. quasi-coupon date 07-26, of 04-26 .. 07-26
    assert round(yi, 6) == 0.038042
    assert sum(c / (1 + yi / 4) ** (s + k) for k, c in enumerate(cash)) == pytest.approx(deal.tranches[0].balance, rel=1e-12)


def test_sz_senior_other_conventions_stay_selectable(sz, tmp_path):
    """`pricing.tranches.A.compounding: annual` gives back the annual yield over ACT/365F
    years (the effective rate of a quarterly 3.8%, about 3.85%), checked by hand."""
    deal, r = sz
    priced = deal.model_copy(update={"pricing": deal.pricing.model_copy(update={
        "tranches": {"A": ae.model.deal.TranchePricing(price=100.0, compounding="annual")}})})
    res = ae.run(priced, [ae.load_scenario(SCENARIOS / "base.yaml")])
    a = res.analytics().set_index(["scenario", "tranche"]).loc[("base", "A")]
    assert a["compounding"] == "annual"
    t = res.tranches[(res.tranches["tranche"] == "A")]
    days = (pd.to_datetime(t["payment_date"]) - pd.Timestamp(deal.deal.closing_date)).dt.days.to_numpy()
    cash = (t["interest_paid"] + t["principal_paid"]).to_numpy()
    y = float(a["yield"])
    assert float(np.sum(cash / (1 + y) ** (days / 365))) == pytest.approx(deal.tranches[0].balance, rel=1e-12)
    assert 0.0384 < y < 0.0386


def test_auto_is_chinabond_for_cny_only_and_annual_for_the_subordinate(sz):
    _, r = sz
    out = r.analytics().set_index("tranche")["compounding"]
    assert out["A"] == "chinabond" and out["SUB"] == "annual"
    info = r.tranche_info()
    usd = {k: {**v, "currency": "USD"} for k, v in info.items()}
    other = an.tranche_analytics(r.tranches, usd, settlement=r.deal.deal.closing_date).set_index("tranche")
    assert other.loc["A", "compounding"] == "annual"  # more than a year to the last row
    table = r.yield_table("A", [100.0])
    assert table.loc[100.0, "base"] == pytest.approx(r.analytics().set_index("tranche").loc["A", "yield"], abs=1e-12)
