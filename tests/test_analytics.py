"""Tests of abs_engine.analytics: golden values, closed forms, properties, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from abs_engine import analytics as an
from abs_engine.analytics import AnalyticsError, CashFlows, Curve

GOLDEN = Path(__file__).parent / "golden" / "analytics_bonds.csv"
SENTINEL = ql.Date(17, 3, 2003)  # an evaluation date nothing here should use or change


@pytest.fixture(autouse=True)
def _quantlib_settings():
    """Run every test with a strange evaluation date, restored afterwards."""
    with ql.SavedSettings():
        ql.Settings.instance().evaluationDate = SENTINEL
        yield
        assert ql.Settings.instance().evaluationDate == SENTINEL


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, min(d.day, 28))


def _bullet(settle: dt.date, years: int, coupon: float, freq: int = 1) -> CashFlows:
    dates = [_add_months(settle, 12 // freq * k) for k in range(1, years * freq + 1)]
    return CashFlows.level_coupon(dates, coupon, frequency=freq, accrual_start=settle)


# --- golden ---------------------------------------------------------------------------------


def _golden_rows() -> list[dict[str, str]]:
    with GOLDEN.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _golden_bond(row: dict[str, str]) -> CashFlows:
    freq = int(row["frequency"])
    maturity = dt.date.fromisoformat(row["maturity"])
    start = dt.date.fromisoformat(row["accrual_start"])
    dates = []
    k = 0
    while True:
        d = ql.Date(maturity.day, maturity.month, maturity.year) - ql.Period(12 // freq * k, ql.Months)
        pd_ = dt.date(d.year(), d.month(), d.dayOfMonth())
        if pd_ <= start:
            break
        dates.insert(0, pd_)
        k += 1
    return CashFlows.level_coupon(
        dates, float(row["coupon_rate"]), frequency=freq, accrual_start=start,
        day_count=row["day_count"],
    )


@pytest.mark.parametrize(
    "row", _golden_rows(), ids=lambda r: f"{r['case']}-{r['quantity']}"
)
def test_golden_published_bonds(row):
    """Bloomberg values transcribed in QuantLib's bonds.cpp (tests/golden/SOURCES.md)."""
    cf = _golden_bond(row)
    settle = dt.date.fromisoformat(row["settlement"])
    kw = {"compounding": row["compounding"], "day_count": row["day_count"]}
    y = an.yield_from_price(cf, float(row["price"]), settle,
                            clean=row["price_type"] == "clean", **kw)
    measures = an.risk_measures(cf, settle, yld=y, **kw)
    expected = float(row["printed"]) * float(row["scale"])
    got = measures[row["quantity"]]
    assert abs(got - expected) <= float(row["abs_tol"]), (row["quantity"], got, expected)


# --- closed forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("years", [1, 2, 5, 10])
@pytest.mark.parametrize("y", [-0.005, 0.0, 0.021, 0.08])
def test_zero_coupon_price_closed_form(years, y):
    settle = dt.date(2026, 3, 31)
    mat = _add_months(settle, 12 * years)
    zero = CashFlows([mat], [0.0], [250.0], face=250.0)
    t = (mat - settle).days / 365
    assert an.price_from_yield(zero, y, settle) == pytest.approx(100 / (1 + y) ** t, rel=1e-13)
    assert an.macaulay_duration(zero, y, settle) == pytest.approx(t, rel=1e-12)
    assert an.modified_duration(zero, y, settle) == pytest.approx(t / (1 + y), rel=1e-12)
    assert an.convexity(zero, y, settle) == pytest.approx(t * (t + 1) / (1 + y) ** 2, rel=1e-10)
    assert an.wal(zero, settle) == pytest.approx(t)


@pytest.mark.parametrize("comp,freq", [("annual", 1), ("semiannual", 2), ("quarterly", 4)])
def test_level_coupon_at_par(comp, freq):
    """A bond priced at its coupon yield, compounded at its coupon frequency, is worth par.

    30/360 makes every coupon period exactly 1/freq years.
    """
    settle = dt.date(2026, 1, 15)
    dates = [_add_months(settle, 12 // freq * k) for k in range(1, 5 * freq + 1)]
    cf = CashFlows.level_coupon(dates, 0.0325, frequency=freq, accrual_start=settle,
                                day_count="30/360")
    kw = {"compounding": comp, "day_count": "30/360"}
    assert an.price_from_yield(cf, 0.0325, settle, **kw) == pytest.approx(100.0, abs=1e-11)
    assert an.yield_from_price(cf, 100.0, settle, **kw) == pytest.approx(0.0325, abs=1e-12)


def test_simple_compounding_short_bill():
    """ChinaBond money-market formula: PV = FV / (1 + y * D / 365)."""
    settle = dt.date(2026, 5, 6)
    mat = dt.date(2026, 11, 2)
    cf = CashFlows([mat], [1.2], [100.0], face=100.0)
    d = (mat - settle).days
    assert an.price_from_yield(cf, 0.018, settle, compounding="simple") == pytest.approx(
        101.2 / (1 + 0.018 * d / 365), rel=1e-14)
    assert an.macaulay_duration(cf, 0.018, settle, compounding="simple") == pytest.approx(d / 365)


def test_accrued_and_clean_dirty():
    settle = dt.date(2026, 3, 2)
    cf = CashFlows.level_coupon([dt.date(2026, 12, 31), dt.date(2027, 12, 31)], 0.0365,
                                accrual_start=dt.date(2025, 12, 31))
    acc = an.accrued_interest(cf, settle)
    assert acc == pytest.approx(3.65 * 61 / 365)
    dirty = an.price_from_yield(cf, 0.03, settle, clean=False)
    clean = an.price_from_yield(cf, 0.03, settle)
    assert dirty - clean == pytest.approx(acc)
    assert an.yield_from_price(cf, clean, settle) == pytest.approx(0.03, abs=1e-12)


def test_irr_and_cash_multiple_closed_form():
    settle = dt.date(2026, 1, 1)
    cf = CashFlows([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], [10.0, 10.0], [0.0, 100.0],
                   face=100.0)
    r = an.irr(cf, 90.0, settle)
    t1, t2 = 365 / 365, 730 / 365
    assert 10 / (1 + r) ** t1 + 110 / (1 + r) ** t2 == pytest.approx(90.0, abs=1e-9)
    assert an.cash_multiple(cf, 90.0, settle) == pytest.approx(120 / 90)
    # per 100 of face: 300 of cash on a face of 250 bought at 80 is 300 / 200
    big = CashFlows([dt.date(2027, 1, 1)], [50.0], [250.0], face=250.0)
    assert an.cash_multiple(big, 80.0, settle) == pytest.approx(1.5, rel=1e-15)
    assert an.irr(big, 80.0, settle) == pytest.approx(300 / 200 - 1, rel=1e-10)


def test_irr_of_a_large_loss_is_found():
    settle = dt.date(2026, 1, 1)
    cf = CashFlows([dt.date(2031, 1, 1)], [0.0], [0.5], face=100.0)
    r = an.irr(cf, 100.0, settle)
    assert r == pytest.approx(0.005 ** (365 / 1826) - 1, rel=1e-9)


def test_principal_window_and_expected_maturity():
    dates = [dt.date(2026, 6, 26), dt.date(2026, 9, 26), dt.date(2026, 12, 26), dt.date(2027, 3, 26)]
    cf = CashFlows(dates, [1, 1, 1, 1], [0, 30, 70, 0], face=100)
    w = an.principal_window(cf)
    assert (w.first, w.last, w.months) == (dates[1], dates[2], 3)
    assert an.expected_maturity(cf) == dates[2]


def test_discount_margin_equals_quoted_margin_at_par():
    settle = dt.date(2026, 1, 1)
    dates = [_add_months(settle, 3 * k) for k in range(1, 13)]
    starts = [settle] + dates[:-1]
    curve = Curve.from_zero_rates([("3M", 0.016), ("1Y", 0.018), ("3Y", 0.021)], settle,
                                  compounding="continuous")
    refs = [curve.forward_rate(s, e) for s, e in zip(starts, dates, strict=True)]
    balance = np.linspace(100.0, 100.0 / 12, 12)
    principal = balance - np.append(balance[1:], 0.0)
    tau = np.array([(e - s).days / 365 for s, e in zip(starts, dates, strict=True)])
    interest = balance * (np.array(refs) + 0.012) * tau
    cf = CashFlows(dates, interest, principal, face=100.0, coupon_rate=refs[0] + 0.012,
                   accrual_start=settle)
    assert an.discount_margin(cf, refs, settle) == pytest.approx(0.012, abs=1e-12)
    assert an.discount_margin(cf, curve, settle) == pytest.approx(0.012, abs=1e-12)
    # paying more than par means a lower margin
    assert an.discount_margin(cf, refs, settle, price=101.0) < 0.012


# --- curves -----------------------------------------------------------------------------------


def test_zero_curve_reproduces_its_points():
    ref = dt.date(2026, 3, 31)
    spec = {"kind": "zero", "compounding": "annual",
            "points": [{"tenor": "6M", "rate": 0.013}, {"tenor": "1Y", "rate": 0.0135},
                       {"tenor": "5Y", "rate": 0.0175}, {"date": "2036-03-31", "rate": 0.02}]}
    c = Curve.from_dict(spec, reference_date=ref)
    assert c.zero_rate(dt.date(2027, 3, 31)) == pytest.approx(0.0135, abs=1e-12)
    assert c.zero_rate(dt.date(2031, 3, 31)) == pytest.approx(0.0175, abs=1e-12)
    assert c.zero_rate(dt.date(2036, 3, 31)) == pytest.approx(0.02, abs=1e-12)
    assert c.zero_rate(dt.date(2026, 4, 30)) == pytest.approx(0.013, abs=1e-12)  # flat before
    assert 0.0135 < c.zero_rate(dt.date(2029, 3, 31)) < 0.0175
    t = (dt.date(2031, 3, 31) - ref).days / 365
    assert c.discount(dt.date(2031, 3, 31)) == pytest.approx(1.0175 ** -t, rel=1e-12)


def test_par_curve_reprices_its_bonds_at_par():
    ref = dt.date(2026, 3, 31)
    points = [("6M", 0.014), ("1Y", 0.015), ("2Y", 0.0165), ("3Y", 0.0175), ("5Y", 0.019),
              ("10Y", 0.0215)]
    c = Curve.from_par_yields(points, ref)
    for tenor, rate in points[2:]:
        n = int(tenor[:-1])
        dates = [dt.date(ref.year + k, ref.month, ref.day) for k in range(1, n + 1)]
        bond = CashFlows.level_coupon(dates, rate, accrual_start=ref)
        assert an.price_from_z_spread(bond, 0.0, c, ref) == pytest.approx(100.0, abs=1e-8)
    bill = CashFlows([dt.date(2026, 9, 30)], [0.0], [100.0], face=100.0)
    days = (dt.date(2026, 9, 30) - ref).days
    assert an.price_from_z_spread(bill, 0.0, c, ref) == pytest.approx(
        100 / (1 + 0.014 * days / 365), rel=1e-12)


def test_curve_from_dict_flat_and_shift():
    ref = dt.date(2026, 1, 1)
    c = Curve.from_dict({"kind": "flat", "rate": 0.02, "reference_date": "2026-01-01"})
    assert c.reference_date == ref
    assert c.shifted(25).zero_rate(dt.date(2030, 1, 1)) == pytest.approx(0.0225, abs=1e-12)


# --- properties -------------------------------------------------------------------------------

COMPS = st.sampled_from(an.COMPOUNDINGS)
DCS = st.sampled_from(an.DAY_COUNTS)


@settings(max_examples=60, deadline=None)
@given(y=st.floats(-0.01, 0.25), comp=COMPS, dc=DCS, years=st.integers(1, 12),
       coupon=st.floats(0.0, 0.08), freq=st.sampled_from([1, 2, 4]), lag=st.integers(0, 80))
def test_price_yield_price_round_trip(y, comp, dc, years, coupon, freq, lag):
    settle = dt.date(2026, 2, 27)
    cf = _bullet(settle - dt.timedelta(days=lag), years, coupon, freq)
    cf = CashFlows(cf.dates, cf.interest, cf.principal, cf.face, coupon_rate=coupon,
                   accrual_start=cf.accrual_start, day_count=dc, frequency=freq)
    p = an.price_from_yield(cf, y, settle, compounding=comp, day_count=dc)
    y2 = an.yield_from_price(cf, p, settle, compounding=comp, day_count=dc)
    assert y2 == pytest.approx(y, abs=1e-9)
    assert an.price_from_yield(cf, y2, settle, compounding=comp, day_count=dc) == pytest.approx(
        p, abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(c=st.floats(0.0, 0.06), y=st.floats(0.0, 0.12),
       comp=st.sampled_from(["annual", "semiannual", "quarterly", "continuous"]),
       years=st.integers(1, 10), coupon=st.floats(0.0, 0.08))
def test_z_spread_on_flat_curve_is_yield_minus_rate(c, y, comp, years, coupon):
    settle = dt.date(2026, 6, 30)
    cf = _bullet(settle, years, coupon)
    curve = Curve.flat(c, settle, compounding=comp)
    price = an.price_from_yield(cf, y, settle, compounding=comp)
    assert an.z_spread(cf, price, curve, settle) == pytest.approx(y - c, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(y=st.floats(0.0, 0.15), comp=COMPS, years=st.integers(1, 15),
       coupon=st.floats(0.0, 0.08), amort=st.booleans())
def test_modified_duration_matches_finite_difference(y, comp, years, coupon, amort):
    settle = dt.date(2026, 1, 10)
    cf = _bullet(settle, years, coupon, 4)
    if amort:
        n = len(cf.dates)
        cf = CashFlows(cf.dates, cf.interest * np.linspace(1, 0.1, n), np.full(n, 100.0 / n),
                       100.0, coupon_rate=coupon, accrual_start=settle, frequency=4)
    h = 1e-5
    up = an.price_from_yield(cf, y + h, settle, compounding=comp, clean=False)
    dn = an.price_from_yield(cf, y - h, settle, compounding=comp, clean=False)
    p0 = an.price_from_yield(cf, y, settle, compounding=comp, clean=False)
    fd = -(up - dn) / (2 * h * p0)
    assert an.modified_duration(cf, y, settle, compounding=comp) == pytest.approx(fd, rel=1e-6)
    fd2 = (up + dn - 2 * p0) / (h * h * p0)
    assert an.convexity(cf, y, settle, compounding=comp) == pytest.approx(fd2, rel=1e-3)


@settings(max_examples=30, deadline=None)
@given(days=st.integers(1, 12000), coupon=st.floats(0.0, 0.1))
def test_wal_of_bullet_is_time_to_maturity(days, coupon):
    settle = dt.date(2026, 1, 1)
    mat = settle + dt.timedelta(days=days)
    cf = CashFlows([mat], [coupon * 100], [100.0], face=100.0)
    assert an.wal(cf, settle) == pytest.approx(days / 365, rel=1e-14)


@settings(max_examples=20, deadline=None)
@given(y=st.floats(0.0, 0.1), price=st.floats(60.0, 120.0))
def test_evaluation_date_unchanged_property(y, price):
    settle = dt.date(2026, 1, 1)
    cf = _bullet(settle, 3, 0.03)
    an.price_from_yield(cf, y, settle)
    an.yield_from_price(cf, price, settle)
    Curve.from_par_yields([("1Y", 0.015), ("3Y", y / 2 + 0.001)], settle)
    assert ql.Settings.instance().evaluationDate == SENTINEL


def test_every_public_function_leaves_evaluation_date_alone():
    settle = dt.date(2026, 1, 1)
    cf = _bullet(settle, 3, 0.03)
    curve = Curve.from_par_yields([("1Y", 0.015), ("3Y", 0.018)], settle)
    df, info = _deal_frame(n_scen=3, n_periods=8)
    calls = [
        lambda: an.accrued_interest(cf, settle),
        lambda: an.price_from_yield(cf, 0.03, settle),
        lambda: an.yield_from_price(cf, 99.0, settle),
        lambda: an.risk_measures(cf, settle, price=99.0),
        lambda: an.macaulay_duration(cf, 0.03, settle),
        lambda: an.modified_duration(cf, 0.03, settle),
        lambda: an.convexity(cf, 0.03, settle),
        lambda: an.wal(cf, settle),
        lambda: an.principal_window(cf),
        lambda: an.expected_maturity(cf),
        lambda: an.irr(cf, 95.0, settle),
        lambda: an.cash_multiple(cf, 95.0, settle),
        lambda: an.z_spread(cf, 99.0, curve, settle),
        lambda: an.price_from_z_spread(cf, 0.01, curve, settle),
        lambda: an.effective_duration(cf, curve, settle),
        lambda: an.effective_convexity(cf, curve, settle),
        lambda: an.discount_margin(cf, [0.02, 0.02, 0.02], settle),
        lambda: Curve.flat(0.02, settle),
        lambda: Curve.from_zero_rates([("1Y", 0.02)], settle, compounding="annual"),
        lambda: Curve.from_par_yields([("1Y", 0.015), ("5Y", 0.02)], settle),
        lambda: an.tranche_analytics(df, info, settlement=settle, curve=curve),
        lambda: an.tranche_cashflows(df, info, scenario=0, tranche="A", settlement=settle),
        lambda: an.yield_table(df, info, "A", settlement=settle, prices=[99.0, 100.0]),
    ]
    for call in calls:
        call()
        assert ql.Settings.instance().evaluationDate == SENTINEL


# --- tranche tables ---------------------------------------------------------------------------

SETTLE = dt.date(2026, 3, 31)


def _deal_frame(n_scen: int = 4, n_periods: int = 12, seed: int = 1):
    """A small synthetic three-tranche deal: A amortises, B follows, SUB gets the rest."""
    rng = np.random.default_rng(seed)
    dates = [pd.Timestamp(_add_months(dt.date(2026, 6, 26), 3 * k)) for k in range(n_periods)]
    starts = [SETTLE] + [d.date() for d in dates[:-1]]
    tau = np.array([(d.date() - s).days / 365 for s, d in zip(starts, dates, strict=True)])
    info = {
        "A": {"original_balance": 700.0, "coupon_rate": 0.028, "day_count": "ACT/365F",
              "accrual_start": SETTLE, "kind": "senior"},
        "B": {"original_balance": 200.0, "coupon_rate": 0.045, "day_count": "ACT/365F",
              "accrual_start": SETTLE, "kind": "mezzanine"},
        "SUB": {"original_balance": 100.0, "coupon_rate": None, "day_count": "ACT/365F",
                "accrual_start": SETTLE, "kind": "subordinate"},
    }
    rows = []
    for s in range(n_scen):
        loss_rate = 0.06 * s
        collections = np.full(n_periods, 1000.0 / n_periods) * (1 - loss_rate)
        bal = {k: v["original_balance"] for k, v in info.items()}
        for p in range(n_periods):
            avail = collections[p] + 8.0 * (1 + rng.random())
            for name in ("A", "B", "SUB"):
                b0 = bal[name]
                rate = info[name]["coupon_rate"]
                due = b0 * rate * tau[p] if rate else 0.0
                ipaid = min(due, avail)
                avail -= ipaid
                ppaid = min(b0, avail) if name != "SUB" else (avail if p == n_periods - 1 else min(b0, avail))
                avail -= ppaid
                wd = 0.0
                if p == n_periods - 1 and name != "SUB":
                    wd = b0 - ppaid
                b1 = max(b0 - ppaid - wd, 0.0)
                bal[name] = b1
                rows.append((s, name, p + 1, dates[p], b0, due, ipaid, due - ipaid, ppaid, wd, b1,
                             rate if rate else math.nan))
    cols = ["scenario", "tranche", "period", "payment_date", "balance_start", "interest_due",
            "interest_paid", "interest_shortfall", "principal_paid", "writedown", "balance_end",
            "coupon_rate"]
    return pd.DataFrame(rows, columns=cols), info


def _hand_cash(df, scenario, tranche):
    """A tranche's cash per payment (interest + principal) and ACT/365F years from SETTLE,
    straight from the frame (nothing of the analytics module)."""
    rows = df[(df["scenario"] == scenario) & (df["tranche"] == tranche)]
    cash = (rows["interest_paid"] + rows["principal_paid"]).to_numpy()
    years = np.array([(d.date() - SETTLE).days / 365 for d in rows["payment_date"]])
    return cash, years, rows["principal_paid"].to_numpy()


def test_tranche_analytics_shape_and_columns():
    df, info = _deal_frame()
    out = an.tranche_analytics(df, info, settlement=SETTLE)
    assert list(out.columns) == list(an.TRANCHE_ANALYTICS_COLUMNS)
    assert len(out) == 4 * 3
    assert not out.duplicated(["scenario", "tranche"]).any()
    a = out[out.tranche == "A"].iloc[0]
    assert a["price"] == pytest.approx(100.0)
    assert a["compounding"] == "annual"
    # the yield and the WAL against formulas written here: at the reported annual yield the
    # cash (per 100 of the 700 face, accruing from settlement, so no accrued interest) is
    # worth the price of 100; WAL = sum(t x principal) / sum(principal)
    cash, years, principal = _hand_cash(df, 0, "A")
    assert float(np.sum(cash * (1 + a["yield"]) ** -years)) * 100 / 700 == pytest.approx(100.0, abs=1e-9)
    assert a["wal_years"] == pytest.approx(float(np.dot(years, principal) / principal.sum()), rel=1e-13)
    assert a["total_principal"] == pytest.approx(700.0)
    last = df[(df.scenario == 0) & (df.tranche == "A") & (df.principal_paid > 0)]["payment_date"].max()
    assert a["last_principal_date"] == last
    sub = out[out.tranche == "SUB"]
    assert sub["irr"].notna().all() and sub["cash_multiple"].notna().all()
    assert out[out.tranche != "SUB"]["irr"].isna().all()
    # more losses never pay the subordinate more
    assert (np.diff(sub.sort_values("scenario")["cash_multiple"].to_numpy()) <= 1e-12).all()


def test_tranche_analytics_yield_pricing_and_curve():
    df, info = _deal_frame(n_scen=2)
    curve = Curve.flat(0.02, SETTLE)
    out = an.tranche_analytics(
        df, info, settlement=SETTLE, curve=curve,
        pricing={"A": {"yield": 0.03, "compounding": "annual"}, "B": {"price": 99.5}, "SUB": {"price": 80.0}},
    )
    a = out[(out.tranche == "A") & (out.scenario == 0)].iloc[0]
    assert a["yield"] == pytest.approx(0.03)
    cash, years, _ = _hand_cash(df, 0, "A")
    assert a["price"] == pytest.approx(float(np.sum(cash * 1.03 ** -years)) * 100 / 700, rel=1e-12)
    assert a["z_spread"] == pytest.approx(0.01, abs=1e-9)  # flat annual curve, annual yield
    assert a["effective_duration"] == pytest.approx(a["modified_duration"], rel=1e-4)
    # the subordinate bought at 80 per 100 of its 100 face: its IRR discounts its cash to 80
    # (annual compounding, ACT/365F); its cash multiple is its cash over 80
    sub = out[(out.tranche == "SUB") & (out.scenario == 0)].iloc[0]
    cash, years, _ = _hand_cash(df, 0, "SUB")
    assert float(np.sum(cash * (1 + sub["irr"]) ** -years)) == pytest.approx(80.0, abs=1e-9)
    assert sub["cash_multiple"] == pytest.approx(cash.sum() / 80.0, rel=1e-13)


def test_tranche_that_receives_nothing_gets_nan_and_a_reason():
    df, info = _deal_frame(n_scen=1)
    dead = df["tranche"] == "SUB"
    df.loc[dead, ["interest_paid", "principal_paid"]] = 0.0
    out = an.tranche_analytics(df, info, settlement=SETTLE)
    sub = out[out.tranche == "SUB"].iloc[0]
    assert math.isnan(sub["irr"]) and math.isnan(sub["yield"])
    assert sub["cash_multiple"] == 0.0
    assert "receives no cash" in sub["note"]
    late = an.tranche_analytics(df, info, settlement=dt.date(2040, 1, 1))
    assert late["note"].str.contains("after the last payment").all()


def test_short_tranche_uses_simple_compounding():
    df, info = _deal_frame(n_scen=1, n_periods=4)
    out = an.tranche_analytics(df, info, settlement=SETTLE)
    assert (out[out.tranche == "A"]["compounding"] == "simple").all()


def test_yield_table():
    df, info = _deal_frame(n_scen=3)
    t = an.yield_table(df, info, "B", settlement=SETTLE, prices=[98.0, 100.0, 102.0])
    assert t.shape == (3, 3) and t.index.name == "price"
    assert (t.diff().iloc[1:] < 0).all().all()  # higher price, lower yield
    # at par, B's annual yield discounts its cash (per 100 of its 200 face) to 100
    cash, years, _ = _hand_cash(df, 2, "B")
    assert float(np.sum(cash * (1 + t.loc[100.0, 2]) ** -years)) * 100 / 200 == pytest.approx(100.0, abs=1e-9)
    p = an.yield_table(df, info, "B", settlement=SETTLE, yields=[0.03, 0.05])
    assert p.index.name == "yield" and (p.loc[0.03] > p.loc[0.05]).all()


# --- bad input --------------------------------------------------------------------------------


def _msg(exc_info) -> str:
    return str(exc_info.value)


def test_settlement_after_last_cash_flow():
    cf = _bullet(dt.date(2026, 1, 1), 2, 0.03)
    with pytest.raises(AnalyticsError) as e:
        an.price_from_yield(cf, 0.03, dt.date(2028, 1, 1))
    assert "on or after the last cash flow (2028-01-01)" in _msg(e)


@pytest.mark.parametrize("price", [0.0, -5.0, float("nan")])
def test_non_positive_price(price):
    cf = _bullet(dt.date(2026, 1, 1), 2, 0.03)
    with pytest.raises(AnalyticsError) as e:
        an.yield_from_price(cf, price, dt.date(2026, 1, 1))
    assert "must be positive (per 100 of face)" in _msg(e)


def test_yield_in_percent():
    cf = _bullet(dt.date(2026, 1, 1), 2, 0.03)
    with pytest.raises(AnalyticsError) as e:
        an.price_from_yield(cf, 3.8, dt.date(2026, 1, 1))
    assert "3.8 looks like a percentage" in _msg(e) and "0.038" in _msg(e)


REF = dt.date(2026, 3, 31)


@pytest.mark.parametrize(
    "points,message",
    [
        ([{"tenor": "5Y", "rate": 0.02}, {"tenor": "1Y", "rate": 0.015}],
         "points must be sorted by maturity: points[1] (1Y) comes after points[0] (5Y)"),
        ([{"tenor": "1Y", "rate": 0.015}, {"tenor": "12M", "rate": 0.016}],
         "duplicate point: points[1] (12M) falls on the same date as points[0] (1Y)"),
        ([{"tenor": "1Y", "rate": 2.5}],
         "points[0].rate = 2.5 looks like a percentage; rates are decimals (2.5% is 0.025)"),
        ([{"tenor": "-1Y", "rate": 0.01}], "points[0].tenor '-1Y' is negative"),
        ([{"date": "2026-03-31", "rate": 0.01}],
         "points[0].date 2026-03-31 is not after the reference date"),
        ([{"tenor": "1Y"}], "points[0] has no 'rate'"),
        ([], "'points' must be a non-empty list"),
    ],
)
def test_bad_curve_points(points, message):
    with pytest.raises(AnalyticsError) as e:
        Curve.from_dict({"kind": "zero", "compounding": "annual", "points": points},
                        reference_date=REF)
    assert message in _msg(e)


def test_curve_reports_every_problem_at_once():
    with pytest.raises(AnalyticsError) as e:
        Curve.from_dict({"kind": "zero", "compouding": "annual",
                         "points": [{"tenor": "2Y", "rate": 1.8}, {"tenor": "1Y", "rate": 0.01}]},
                        reference_date=REF)
    msg = _msg(e)
    assert "unknown key(s) 'compouding'" in msg
    assert "'compounding' is required for a zero curve" in msg
    assert "points[0].rate = 1.8 looks like a percentage" in msg


def test_bad_curve_kind_and_flat_rate():
    with pytest.raises(AnalyticsError, match="kind 'spline' must be one of flat, zero, par"):
        Curve.from_dict({"kind": "spline", "points": []}, reference_date=REF)
    with pytest.raises(AnalyticsError, match="rate = 2 looks like a percentage"):
        Curve.flat(2, REF)


def test_bad_cash_flows():
    with pytest.raises(AnalyticsError, match="strictly increasing"):
        CashFlows([dt.date(2027, 1, 1), dt.date(2026, 1, 1)], [1, 1], [0, 100], face=100)
    with pytest.raises(AnalyticsError, match="lengths must match"):
        CashFlows([dt.date(2027, 1, 1)], [1, 1], [100], face=100)
    with pytest.raises(AnalyticsError, match="face 0 must be a positive amount"):
        CashFlows([dt.date(2027, 1, 1)], [1], [100], face=0)
    with pytest.raises(AnalyticsError, match="unknown compounding 'weekly'"):
        an.price_from_yield(_bullet(REF, 1, 0.02), 0.02, REF, compounding="weekly")
    with pytest.raises(AnalyticsError, match="unknown day count 'BUS/252'"):
        an.price_from_yield(_bullet(REF, 1, 0.02), 0.02, REF, day_count="BUS/252")


def test_bad_tranche_inputs():
    df, info = _deal_frame(n_scen=1)
    with pytest.raises(AnalyticsError) as e:
        an.tranche_analytics(df.drop(columns=["writedown"]), info, settlement=SETTLE)
    assert "missing column(s) writedown" in _msg(e)
    with pytest.raises(AnalyticsError) as e:
        an.tranche_analytics(df, {"A": info["A"]}, settlement=SETTLE,
                             pricing={"C": {"price": 100}, "A": {"price": 0}})
    msg = _msg(e)
    assert "no entry for tranche(s) B, SUB" in msg
    assert "pricing['C']: unknown tranche" in msg
    assert "pricing['A'].price 0 must be positive" in msg
