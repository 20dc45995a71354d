"""Every day count against figures computed by hand from the dates (not a round trip
through the same convention, which cannot catch a wrong one): the deal's accruals (note
interest, fees) and the analytics' accrued interest and discounting. Conventions are always
given explicitly (compounding too), never taken from defaults.

Hand formulas (ISDA 2006 Definitions, section 4.16):

- ACT/365F: days / 365; ACT/360: days / 360;
- ACT/ACT (ISDA): days in a non-leap year / 365 + days in a leap year / 366;
- 30/360 (bond basis): (360 (Y2 - Y1) + 30 (M2 - M1) + D2 - D1) / 360 with D1 = 31 -> 30,
  and D2 = 31 -> 30 when D1 is 30 or 31;
- ACT/ACT (ICMA): days / (frequency x days of the regular coupon period).

The published example: ISDA, "EMU and market conventions: recent developments" (1998),
section 4, the period 1 November 2003 - 1 May 2004 (182 days, 61 of them in 2003):
ACT/ACT (ISDA) 61/365 + 121/366 = 0.49772, ACT/ACT (ICMA), semi-annual coupon, 0.50000.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from builders import deal, loan

import abs_engine as ae
from abs_engine import analytics as an
from abs_engine.analytics import CashFlows


def days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def act_act_isda(a: dt.date, b: dt.date) -> float:
    """Days in each calendar year over that year's length."""
    total, d = 0.0, a
    while d < b:
        end = min(b, dt.date(d.year + 1, 1, 1))
        total += days(d, end) / (366 if d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0) else 365)
        d = end
    return total


def thirty_360(a: dt.date, b: dt.date) -> float:
    d1, d2 = a.day, b.day
    if d1 == 31:
        d1 = 30
    if d2 == 31 and d1 >= 30:
        d2 = 30
    return (360 * (b.year - a.year) + 30 * (b.month - a.month) + d2 - d1) / 360


HAND = {
    "ACT/365F": lambda a, b: days(a, b) / 365,
    "ACT/360": lambda a, b: days(a, b) / 360,
    "ACT/ACT": act_act_isda,
    "30/360": thirty_360,
}


def test_hand_formulas_reproduce_the_published_example():
    a, b = dt.date(2003, 11, 1), dt.date(2004, 5, 1)
    assert round(act_act_isda(a, b), 5) == 0.49772
    assert act_act_isda(a, b) == 61 / 365 + 121 / 366
    assert thirty_360(dt.date(2028, 1, 31), dt.date(2028, 2, 29)) == 29 / 360
    assert thirty_360(dt.date(2028, 2, 29), dt.date(2028, 3, 31)) == 32 / 360  # D1 = 29: D2 stays 31
    assert thirty_360(dt.date(2028, 3, 31), dt.date(2028, 4, 30)) == 30 / 360
    # bond basis keeps the end of February as it is (30/360 US would count it as the 30th)
    assert thirty_360(dt.date(2026, 2, 28), dt.date(2026, 3, 31)) == 33 / 360


# --- the deal's accruals -----------------------------------------------------------------------

# periods across a year end into a leap February, and month-end dates (30/360's D1/D2 rules)
HEADERS = {
    "mid-month": {"cutoff_date": dt.date(2027, 11, 30), "closing_date": dt.date(2027, 12, 10),
                  "first_payment_date": dt.date(2028, 1, 10), "expected_maturity": dt.date(2028, 12, 10),
                  "legal_maturity": dt.date(2029, 6, 10)},
    "month-end": {"cutoff_date": dt.date(2027, 11, 30), "closing_date": dt.date(2027, 12, 31),
                  "first_payment_date": dt.date(2028, 1, 31), "expected_maturity": dt.date(2028, 12, 31),
                  "legal_maturity": dt.date(2029, 6, 30)},
}


def _deal(day_count: str, dates: str, *, tranche_day_count: str | None = None):
    loans = [loan(1, origination_date=dt.date(2027, 11, 15), maturity_date=dt.date(2028, 11, 15))]
    tranches = [
        {"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.03},
         **({"day_count": tranche_day_count} if tranche_day_count else {})},
        {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 100_000.0},
    ]
    fees = [{"name": "trustee", "rate": 0.001, "base": "original_notes"}]
    wf = [{"action": "pay_fee", "from": "collection", "to": ["trustee"]},
          {"action": "pay_interest", "from": "collection", "to": ["A"]},
          {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
          {"action": "pay_residual", "from": "collection", "to": "SUB"}]
    return deal(loans, tranches, wf, fees=fees, header={**HEADERS[dates], "day_count": day_count})


@pytest.mark.parametrize("dates", list(HEADERS))
@pytest.mark.parametrize("dc", list(HAND))
def test_note_interest_and_fees_accrue_in_the_deals_day_count(dc, dates, backend):
    d = _deal(dc, dates)
    r = ae.run(d, backend=backend)
    starts = [d.deal.closing_date, *r.schedule.payment_dates[:-1]]
    a = r.tranches[r.tranches["tranche"] == "A"].reset_index(drop=True)
    fees = r.fees
    for t in range(4):  # the leap-year periods
        yf = HAND[dc](starts[t], r.schedule.payment_dates[t])
        assert a.loc[t, "interest_due"] == pytest.approx(a.loc[t, "balance_start"] * 0.03 * yf, rel=1e-13), (dc, t)
        assert fees.loc[t, "due"] == pytest.approx(0.001 * 1_000_000.0 * yf, rel=1e-13), (dc, t)


def test_a_tranche_day_count_overrides_the_deals_for_its_interest_only(backend):
    """A on ACT/360 in an ACT/365F deal: its interest in 360ths, the fees still in 365ths."""
    d = _deal("ACT/365F", "mid-month", tranche_day_count="ACT/360")
    r = ae.run(d, backend=backend)
    a = r.tranches[r.tranches["tranche"] == "A"].reset_index(drop=True)
    assert a.loc[0, "interest_due"] == pytest.approx(900_000.0 * 0.03 * 31 / 360, rel=1e-13)
    assert r.fees.loc[0, "due"] == pytest.approx(1_000.0 * 31 / 365, rel=1e-13)


# --- the analytics ------------------------------------------------------------------------------

ISDA_START, ISDA_END = dt.date(2003, 11, 1), dt.date(2004, 5, 1)


@pytest.mark.parametrize("dc", list(HAND))
def test_accrued_interest_in_each_day_count(dc):
    """A 6% coupon accrued from 1 Nov 2003 to settlement on 1 Feb 2004 (92 days, 61 in 2003)
    and to 29 Feb 2004, per 100 of face."""
    cf = CashFlows([dt.date(2004, 11, 1)], [6.0], [100.0], face=100.0, coupon_rate=0.06,
                   accrual_start=ISDA_START, day_count=dc)
    for settle in (dt.date(2004, 2, 1), dt.date(2004, 2, 29)):
        assert an.accrued_interest(cf, settle) == pytest.approx(100 * 0.06 * HAND[dc](ISDA_START, settle), rel=1e-13)


@pytest.mark.parametrize("dc", list(HAND))
def test_accrued_interest_from_the_end_of_february(dc):
    """From 28 Feb 2026 (a month end, not the 30th) to 31 Mar and 30 Apr 2026."""
    start = dt.date(2026, 2, 28)
    cf = CashFlows([dt.date(2026, 8, 31)], [3.0], [100.0], face=100.0, coupon_rate=0.06, accrual_start=start,
                   day_count=dc)
    for settle in (dt.date(2026, 3, 31), dt.date(2026, 4, 30)):
        assert an.accrued_interest(cf, settle) == pytest.approx(100 * 0.06 * HAND[dc](start, settle), rel=1e-13)


def test_accrued_interest_act_act_icma_is_a_share_of_the_coupon_period():
    """ICMA, semi-annual: the whole ISDA period is 0.5 of a year (the published 0.50000),
    and 92 of its 182 days accrue 92 / (2 x 182) of a year."""
    cf = CashFlows([ISDA_END, dt.date(2004, 11, 1)], [3.0, 3.0], [0.0, 100.0], face=100.0, coupon_rate=0.06,
                   accrual_start=ISDA_START, day_count="ACT/ACT ICMA", frequency=2)
    assert an.accrued_interest(cf, dt.date(2004, 2, 1)) == pytest.approx(6.0 * 92 / (2 * 182), rel=1e-13)
    assert an.accrued_interest(cf, dt.date(2004, 4, 30)) == pytest.approx(6.0 * 181 / 364, rel=1e-13)
    isda = CashFlows([ISDA_END], [3.0], [100.0], face=100.0, coupon_rate=0.06, accrual_start=ISDA_START,
                     day_count="ACT/ACT")
    assert an.accrued_interest(isda, dt.date(2004, 4, 30)) == pytest.approx(6.0 * (61 / 365 + 120 / 366), rel=1e-13)


@pytest.mark.parametrize("dc", list(HAND))
@pytest.mark.parametrize("comp,f", [("annual", 1), ("semiannual", 2), ("quarterly", 4)])
def test_a_zero_is_discounted_over_its_day_count_years(dc, comp, f):
    """A zero-coupon payment of 100 on 1 May 2004 settled 1 Nov 2003, and one over 2.4 years
    from a month end: price 100 / (1 + y/f)^(f t), t in the yield's day count by hand."""
    for settle, mat in ((ISDA_START, ISDA_END), (dt.date(2026, 1, 31), dt.date(2028, 6, 30))):
        zero = CashFlows([mat], [0.0], [100.0], face=100.0)
        t = HAND[dc](settle, mat)
        got = an.price_from_yield(zero, 0.05, settle, compounding=comp, day_count=dc)
        assert got == pytest.approx(100 / (1 + 0.05 / f) ** (f * t), rel=1e-13), (dc, comp)
        assert an.yield_from_price(zero, got, settle, compounding=comp, day_count=dc) == pytest.approx(0.05, abs=1e-12)


def test_simple_and_continuous_yields_use_the_day_count():
    """Simple: 100 / (1 + y t); continuous: 100 exp(-y t), t = 182/360 on ACT/360."""
    zero = CashFlows([ISDA_END], [0.0], [100.0], face=100.0)
    t = 182 / 360
    assert an.price_from_yield(zero, 0.04, ISDA_START, compounding="simple", day_count="ACT/360") == pytest.approx(
        100 / (1 + 0.04 * t), rel=1e-13)
    assert an.price_from_yield(zero, 0.04, ISDA_START, compounding="continuous", day_count="ACT/360") == pytest.approx(
        100 * math.exp(-0.04 * t), rel=1e-13)


def test_wal_in_each_day_count():
    """Principal 40 on 31 Jan 2028 and 60 on 31 Mar 2029 from settlement on 31 Dec 2026."""
    settle = dt.date(2026, 12, 31)
    dates = [dt.date(2028, 1, 31), dt.date(2029, 3, 31)]
    cf = CashFlows(dates, [0.0, 0.0], [40.0, 60.0], face=100.0)
    for dc, fn in HAND.items():
        want = (40 * fn(settle, dates[0]) + 60 * fn(settle, dates[1])) / 100
        assert an.wal(cf, settle, day_count=dc) == pytest.approx(want, rel=1e-13), dc
