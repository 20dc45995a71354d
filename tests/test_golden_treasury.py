"""Golden cases from a government's own worked examples: US Treasury, 31 CFR Part 356,
Appendix B (tests/golden/SOURCES.md).

The notes (section II) convert a yield to a price for every first-period shape Treasury
issues: regular, short, long, and reopenings inside each of them. Treasury discounts the
fraction of a period before the first payment at simple interest (``*_simple_stub``); the
street formula compounds it. Both are tested: the first reproduces every printed price to
the printed six decimals, the second misses all but the regular case.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import pytest
import QuantLib as ql
from hypothesis import given
from hypothesis import strategies as st

from abs_engine import analytics as an
from abs_engine.analytics import CashFlows

GOLDEN = Path(__file__).parent / "golden"
ICMA = "ACT/ACT ICMA"


def _rows(name: str) -> list[dict[str, str]]:
    with (GOLDEN / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


NOTES = _rows("us_treasury_notes.csv")
PRICED = [r for r in NOTES if r["price"]]
BILLS = _rows("us_treasury_bills.csv")


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _schedule(first: dt.date, maturity: dt.date) -> list[dt.date]:
    """Semiannual coupon dates from ``first`` to ``maturity``, anchored on the maturity
    (month ends kept when the maturity is a month end), as Treasury defines them."""
    q = ql.Date(maturity.day, maturity.month, maturity.year)
    eom = ql.Date.isEndOfMonth(q)
    dates: list[dt.date] = []
    k = 0
    while True:
        d = q - ql.Period(6 * k, ql.Months)
        if eom:
            d = ql.Date.endOfMonth(d)
        day = dt.date(d.year(), d.month(), d.dayOfMonth())
        if day < first:
            return dates
        dates.insert(0, day)
        k += 1


def _note(row: dict[str, str]) -> CashFlows:
    """The note per 100 of par: its first payment is the one the CFR states, ``C/2`` times
    ``r/s`` (short) or ``1 + r/s`` (long) periods."""
    c = float(row["coupon_pct"])
    dates = _schedule(_date(row["first_coupon"]), _date(row["maturity"]))
    periods = int(row["first_r"]) / int(row["first_s"]) + (1 if row["first_long"] == "1" else 0)
    interest = [c / 2] * len(dates)
    interest[0] = c / 2 * periods
    principal = [0.0] * len(dates)
    principal[-1] = 100.0
    return CashFlows(dates, interest, principal, face=100.0, coupon_rate=c / 100,
                     accrual_start=_date(row["accrual_start"]), day_count=ICMA, frequency=2)


def _treasury_price(row: dict[str, str], compounding: str) -> float:
    """The clean price as Treasury computes and rounds it: P + A to six decimals (per 100),
    less the accrued interest rounded to five decimals per 1,000 (App. B, I.D.4)."""
    cf, settle = _note(row), _date(row["settlement"])
    dirty = an.price_from_yield(cf, float(row["yield"]), settle, compounding=compounding,
                                day_count=ICMA, clean=False)
    return round(dirty, 6) - round(an.accrued_interest(cf, settle), 6)


@pytest.mark.parametrize("row", PRICED, ids=lambda r: r["section"])
def test_treasury_price_from_yield(row):
    """Every printed price, to the printed six decimals."""
    got = _treasury_price(row, "semiannual_simple_stub")
    assert abs(got - float(row["price"])) < 1e-9, (got, row["price"])


@pytest.mark.parametrize("row", PRICED, ids=lambda r: r["section"])
def test_treasury_yield_from_price(row):
    """The printed price gives back the yield, within what the rounding of the price and of
    the accrued interest (half a unit of the sixth decimal each) moves it."""
    cf, settle = _note(row), _date(row["settlement"])
    y = an.yield_from_price(cf, float(row["price"]), settle,
                            compounding="semiannual_simple_stub", day_count=ICMA)
    rounding = 1e-6 / an.risk_measures(cf, settle, yld=y, compounding="semiannual_simple_stub",
                                        day_count=ICMA)["modified_duration"] / 100
    assert abs(y - float(row["yield"])) <= rounding + 1e-12


@pytest.mark.parametrize("row", [r for r in NOTES if r["accrued"]], ids=lambda r: r["section"])
def test_treasury_accrued_interest(row):
    """Accrued interest over short, long and regular first periods, one or two half-years
    (ACT/ACT ICMA against the regular period, ``frequency=2``)."""
    cf = _note(row)
    got = an.accrued_interest(cf, _date(row["settlement"]))
    assert round(got, 6) == pytest.approx(float(row["accrued"]), abs=1e-12)


@pytest.mark.parametrize("row", PRICED, ids=lambda r: r["section"])
def test_street_convention_differs_except_for_a_regular_first_period(row):
    """The street formula compounds the fraction of a period: it equals Treasury's only
    when settlement falls on a coupon date (case A)."""
    street = _treasury_price(row, "semiannual")
    if row["case"] == "A":
        assert abs(street - float(row["price"])) < 1e-9
    else:
        assert abs(street - float(row["price"])) > 5e-4


def test_reference_period_matters_for_a_short_first_coupon():
    """Without ``frequency`` a short first period counts as a whole one: II.B then misses."""
    row = next(r for r in PRICED if r["case"] == "B")
    cf = _note(row)
    plain = CashFlows(cf.dates, cf.interest, cf.principal, face=100.0,
                      coupon_rate=cf.coupon_rate, accrual_start=cf.accrual_start,
                      day_count=ICMA)
    settle = _date(row["settlement"])
    kw = {"compounding": "semiannual_simple_stub", "day_count": ICMA}
    assert abs(an.price_from_yield(plain, 0.0859, settle, **kw) - 99.838183) > 1e-3
    assert abs(an.price_from_yield(cf, 0.0859, settle, **kw) - 99.838183) < 1e-6


@pytest.mark.parametrize("row", BILLS, ids=lambda r: r["section"])
def test_treasury_bill_investment_rate(row):
    """Investment rate (coupon-equivalent yield) of a bill from its price: simple for up to
    a half-year, a simple stub then one semiannual period beyond (ACT/365F, y = 365)."""
    mat = _date(row["maturity"])
    bill = CashFlows([mat], [0.0], [100.0], face=100.0)
    y = an.yield_from_price(bill, float(row["price"]), _date(row["settlement"]),
                            compounding=row["compounding"])
    assert abs(y - float(row["yield"])) <= float(row["abs_tol"])


def test_fifty_two_week_bill_needs_the_simple_stub():
    row = next(r for r in BILLS if r["compounding"] == "semiannual_simple_stub")
    bill = CashFlows([_date(row["maturity"])], [0.0], [100.0], face=100.0)
    y = an.yield_from_price(bill, float(row["price"]), _date(row["settlement"]),
                            compounding="semiannual")
    assert abs(y - float(row["yield"])) > 1e-6


# --- the simple-stub convention, beyond the published cases -----------------------------------


@given(
    y=st.floats(-0.02, 0.3),
    days=st.integers(1, 900),
    freq=st.sampled_from([("annual", 1), ("semiannual", 2), ("quarterly", 4), ("monthly", 12)]),
)
def test_simple_stub_zero_closed_form(y, days, freq):
    """A zero ``w + k`` periods away is worth ``100 / ((1 + w y/f) (1 + y/f)^k)``."""
    name, f = freq
    settle = dt.date(2026, 1, 1)
    zero = CashFlows([settle + dt.timedelta(days=days)], [0.0], [100.0], face=100.0)
    tau = days / 365 * f
    k = math.ceil(tau - 1e-9) - 1
    w = tau - k
    expected = 100 / ((1 + w * y / f) * (1 + y / f) ** k)
    got = an.price_from_yield(zero, y, settle, compounding=name + "_simple_stub")
    assert got == pytest.approx(expected, rel=1e-12)


@given(y=st.floats(0.0, 0.2), row=st.sampled_from(PRICED))
def test_simple_stub_risk_matches_finite_differences(y, row):
    """Modified duration and convexity of the simple-stub price are its log-derivatives."""
    cf, settle = _note(row), _date(row["settlement"])
    kw = {"compounding": "semiannual_simple_stub", "day_count": ICMA}
    r = an.risk_measures(cf, settle, yld=y, **kw)
    h = 2e-4
    f = {k: an.price_from_yield(cf, y + k * h, settle, clean=False, **kw) for k in (-2, -1, 1, 2)}
    p = r["dirty_price"]
    # fourth-order central differences (Richardson): error ~ h^4, far below the tolerance
    d1 = (8 * (f[1] - f[-1]) - (f[2] - f[-2])) / (12 * h)
    d2 = (-f[2] + 16 * f[1] - 30 * p + 16 * f[-1] - f[-2]) / (12 * h * h)
    assert r["modified_duration"] == pytest.approx(-d1 / p, rel=1e-7)
    assert r["convexity"] == pytest.approx(d2 / p, rel=1e-6)


def test_simple_stub_does_not_depend_on_the_first_coupon_paying():
    """The stub is the fraction of a period to the first payment date, whatever that
    payment is: a first coupon of 0 prices as the limit of small ones (it did not: the
    stub vanished and the price was the compounded one)."""
    settle = dt.date(2026, 2, 1)
    dates = [dt.date(2026, 3, 10), dt.date(2026, 9, 10), dt.date(2027, 3, 10)]

    def price(first: float, comp: str) -> float:
        cf = CashFlows(dates, [first, 2.0, 2.0], [10.0, 0.0, 90.0], face=100.0,
                       accrual_start=dt.date(2025, 9, 10), coupon_rate=0.04)
        return an.price_from_yield(cf, 0.05, settle, compounding=comp)

    assert price(0.0, "semiannual_simple_stub") == pytest.approx(price(1e-9, "semiannual_simple_stub"), abs=1e-8)
    assert abs(price(0.0, "semiannual_simple_stub") - price(0.0, "semiannual")) > 1e-3


def test_simple_stub_of_nothing_is_worth_nothing():
    nothing = CashFlows([dt.date(2027, 1, 1)], [0.0], [0.0], face=100.0)
    assert an.price_from_yield(nothing, 0.03, dt.date(2026, 1, 1), compounding="semiannual_simple_stub") == 0.0


def test_curve_rejects_a_simple_stub_compounding():
    with pytest.raises(an.AnalyticsError, match="first period"):
        an.Curve.flat(0.02, dt.date(2026, 1, 1), compounding="semiannual_simple_stub")


def test_frequency_must_divide_the_year():
    with pytest.raises(an.AnalyticsError, match="frequency 5"):
        CashFlows([dt.date(2027, 1, 1)], [1.0], [100.0], face=100.0, frequency=5)
