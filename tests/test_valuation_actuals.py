"""Valuation on a date (abs_engine/valuation.py) against prices computed by hand from the
cash flows, and actual vs projected (abs_engine/actuals.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.actuals import actual_vs_projected
from abs_engine.valuation import curve_from_csv, load_valuation, value


@pytest.fixture(scope="module")
def deal():
    return ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")


@pytest.fixture(scope="module")
def base():
    return ae.load_scenario(SCENARIOS / "base.yaml")


@pytest.fixture(scope="module")
def seasoned(deal, base):
    """The run from the base case's status after period 2 (2027-01-26)."""
    st = ae.run(deal, base).status_at(2)
    return ae.run(deal, base, status=st)


def test_price_on_a_flat_curve_by_hand(seasoned):
    """A flat 2% annual ACT/365F curve and a 50 bp spread: the dirty price is each payment
    after the date discounted at 1.025^-(days/365), per 100 of the face outstanding; the clean
    price that less 3.8% x days since 2027-01-26 / 365."""
    date = dt.date(2027, 3, 10)
    v = value(seasoned, date, curve={"kind": "flat", "rate": 0.02, "compounding": "annual"}, spreads={"A": 0.005, "SUB": 0.0})
    a = seasoned.tranches[seasoned.tranches["tranche"] == "A"]
    face = float(a["balance_start"].iloc[0])
    days = (a["payment_date"] - pd.Timestamp(date)).dt.days.to_numpy()
    cash = (a["interest_paid"] + a["principal_paid"]).to_numpy()
    dirty = float((cash * 1.025 ** (-days / 365.0)).sum()) / face * 100.0
    accrued = 100 * 0.038 * (date - dt.date(2027, 1, 26)).days / 365.0
    row = v.set_index("tranche").loc["A"]
    assert row.dirty_price == pytest.approx(dirty, abs=1e-9)
    assert row.accrued == pytest.approx(accrued, abs=1e-12)
    assert row.price == pytest.approx(dirty - accrued, abs=1e-9)
    assert row.value == pytest.approx(dirty * face / 100.0, rel=1e-12)
    assert row.z_spread == pytest.approx(0.005, abs=1e-8) and row.face == face and row.factor == face / 195_700_000
    assert row.last_payment_date == dt.date(2027, 1, 26) and row.next_payment_date == dt.date(2027, 4, 26)
    # WAL from the valuation date, by hand
    wal = float((a["principal_paid"] * days / 365.0).sum() / a["principal_paid"].sum())
    assert row.wal_years == pytest.approx(wal, abs=1e-12)


def test_a_yield_prices_in_the_deals_convention(seasoned):
    """A class given a yield: at par coupon on a payment date, the ChinaBond yield of a
    3.80% quarterly note is about its coupon (ACT/365F coupons, not C/4 exactly)."""
    v = value(seasoned, dt.date(2027, 1, 26), yields={"A": 0.038, "SUB": 0.1}).set_index("tranche")
    assert v.at["A", "compounding"] == "chinabond" and v.at["A", "yield"] == pytest.approx(0.038)
    assert v.at["A", "price"] == pytest.approx(100.0, abs=0.02) and v.at["A", "accrued"] == 0.0
    assert v.at["SUB", "yield"] == pytest.approx(0.1) and np.isnan(v.at["SUB", "spread"])


def test_valuation_inputs_are_checked(seasoned):
    with pytest.raises(ae.InputError) as exc:
        value(seasoned, dt.date(2027, 1, 1), spreads={"C": 0.01}, yields={"A": 0.03})
    got = {p.path: p.message for p in exc.value.problems}
    assert got["date"] == "2027-01-01 is before the run's start 2027-01-26 (the status date)"
    assert got["spreads.C"].startswith("unknown class 'C'")
    assert got["curve"] == "a discount curve is needed for the classes without a yield: SUB"


def test_curve_csv_of_a_chinabond_export(tmp_path):
    (tmp_path / "c.csv").write_text("标准期限(年),收益率(%)\n0.25,1.30\n1,1.40\n3,1.55\n", encoding="utf-8")
    spec = curve_from_csv(tmp_path / "c.csv")
    assert spec == {"kind": "par", "frequency": "annual",
                    "points": [{"tenor": "3M", "rate": pytest.approx(0.013)}, {"tenor": "12M", "rate": pytest.approx(0.014)},
                               {"tenor": "36M", "rate": pytest.approx(0.0155)}]}
    (tmp_path / "v.yaml").write_text("date: 2027-02-15\ncurve: c.csv\nspreads: {A: 0.6}\nyield: {}\n", encoding="utf-8")
    with pytest.raises(ae.InputError) as exc:
        load_valuation(tmp_path / "v.yaml")
    got = {p.path: p.message for p in exc.value.problems}
    assert got["spreads.A"] == "0.6 looks like a percentage; write decimals (0.006 for 0.6%)"
    assert got["yield"].startswith("unknown key")


def test_actual_vs_projected(deal, base):
    """Actuals of the stress case against the base projection: period 1 differs by the
    stress's extra defaults; against the projection from each previous status under the
    scenario that made them, nothing differs (the restart's consistency)."""
    stress = ae.load_scenario(SCENARIOS / "stress.yaml")
    run = ae.run(deal, stress)
    statuses = [run.status_at(k) for k in (1, 2, 3)]
    closing = actual_vs_projected(deal, statuses, base)
    assert list(closing.columns) == ["scenario", "period", "payment_date", "item", "tranche", "actual", "projected",
                                     "difference", "projected_at"]
    assert sorted(closing["period"].unique()) == [1, 2, 3] and (closing["projected_at"] == deal.deal.closing_date).all()
    rows = closing.set_index(["period", "item", "tranche"]).sort_index()
    pool = run.pool.set_index("period")
    assert rows.at[(1, "defaults", ""), "actual"] == pytest.approx(pool.at[1, "default_amount"])
    base_pool = ae.run(deal, base).pool.set_index("period")
    assert rows.at[(1, "defaults", ""), "projected"] == pytest.approx(base_pool.at[1, "default_amount"])
    assert rows.at[(3, "principal", "A"), "difference"] != 0.0
    prev = actual_vs_projected(deal, statuses, stress, baseline="previous")
    assert prev["difference"].abs().max() < 1e-6
    assert set(prev["projected_at"]) == {deal.deal.closing_date, statuses[0].date, statuses[1].date}
    with pytest.raises(ae.InputError, match="two statuses of 2026-10-26"):
        actual_vs_projected(deal, [statuses[0], statuses[0]], base)
