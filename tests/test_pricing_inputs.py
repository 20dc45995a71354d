"""Pricing assumptions from the deal file (pricing:), curves from scenarios and curve files,
and the command line's --curve / --settlement: what Result.analytics and analytics.csv use."""

from __future__ import annotations

import datetime as dt
import math
import shutil

import pandas as pd
import pytest
from conftest import DEALS, SCENARIOS
from test_cli import cli

import abs_engine as ae
from abs_engine.analytics import Curve, tranche_analytics
from abs_engine.model.scenario import Scenario

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"
FLAT = {"kind": "flat", "rate": 0.02, "compounding": "annual"}


def with_pricing(tmp_path, pricing: dict, curve_file: dict | None = None):
    """A copy of the example deal (and its tape) with a pricing section."""
    import yaml

    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["pricing"] = pricing
    (tmp_path / "tapes").mkdir(exist_ok=True)
    shutil.copy(DEALS / "tapes" / "sz_pledge_2026_1.csv", tmp_path / "tapes")
    if curve_file is not None:
        (tmp_path / "curve.yaml").write_text(yaml.safe_dump({"curve": curve_file}), encoding="utf-8")
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_deal_pricing_section_sets_yields_prices_settlement_and_curve(tmp_path, example_scenarios):
    settle = dt.date(2026, 7, 22)
    d = ae.load_deal(with_pricing(tmp_path, {
        "settlement": settle, "tranches": {"A": {"yield": 0.035}, "SUB": {"price": 90.0}}, "curve": FLAT}))
    r = ae.run(d, example_scenarios)
    a = r.analytics().set_index(["scenario", "tranche"])
    # the same as the adapter called with those inputs directly
    want = tranche_analytics(r.tranches, r.tranche_info(), settlement=settle,
                             pricing={"A": {"yield": 0.035}, "SUB": {"price": 90.0}},
                             curve=Curve.from_dict(FLAT, reference_date=settle)).set_index(["scenario", "tranche"])
    pd.testing.assert_frame_equal(a, want)
    assert a.loc[("base", "A"), "yield"] == pytest.approx(0.035)
    assert a.loc[("base", "SUB"), "price"] == pytest.approx(90.0)
    assert math.isfinite(a.loc[("base", "A"), "z_spread"]) and math.isfinite(a.loc[("base", "A"), "effective_duration"])
    # arguments replace the deal's assumptions
    par = r.analytics(pricing={}, curve=None).set_index(["scenario", "tranche"])
    assert par.loc[("base", "A"), "price"] == pytest.approx(100.0)


def test_a_scenario_curve_replaces_the_deals_for_that_scenario(tmp_path):
    d = ae.load_deal(with_pricing(tmp_path, {"curve": FLAT}))
    base = ae.load_scenario(SCENARIOS / "base.yaml")
    shocked = base.model_copy(update={"name": "base_curve_up", "curve": {**FLAT, "rate": 0.03}})
    a = ae.run(d, [base, shocked]).analytics().set_index(["scenario", "tranche"])
    # same cash flows and price: the z-spread falls by the 100 bp the curve rose (flat curves, annual yields)
    zs = a.loc[("base", "A"), "z_spread"] - a.loc[("base_curve_up", "A"), "z_spread"]
    assert zs == pytest.approx(0.01, abs=1e-9)
    assert list(a.index.get_level_values("scenario").unique()) == ["base", "base_curve_up"]


def test_curve_file_relative_to_the_deal(tmp_path, example_scenarios):
    d = ae.load_deal(with_pricing(tmp_path, {"curve": "curve.yaml"}, curve_file=FLAT))
    assert d.pricing.curve == FLAT
    a = ae.run(d, example_scenarios[:1]).analytics()
    assert a["z_spread"].notna().any()


def test_pricing_problems_are_listed_together(tmp_path):
    path = with_pricing(tmp_path, {"settlement": dt.date(2026, 1, 1), "tranches": {"A3": {"yield": 0.03}, "A": {"yield": 0.03, "price": 99}},
                                   "curve": {"kind": "flat", "rate": 2.5}})
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(path)
    text = str(exc.value)
    assert "pricing.tranches.A: give exactly one of price and yield" in text
    path = with_pricing(tmp_path, {"settlement": dt.date(2026, 1, 1), "tranches": {"A3": {"yield": 0.03}},
                                   "curve": {"kind": "flat", "rate": 2.5}})
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(path)
    text = str(exc.value)
    assert "pricing.tranches.A3: unknown tranche 'A3'" in text
    assert "pricing.settlement: settlement 2026-01-01 is before the closing date 2026-07-20" in text
    assert "pricing.curve: invalid curve: rate = 2.5 looks like a percentage" in text
    with pytest.raises(ae.InputError, match="curve: invalid curve"):
        d = ae.load_deal(EXAMPLE)
        ae.run(d, Scenario(name="x", curve={"kind": "zero", "points": [{"tenor": "1Y", "rate": 0.02}]}))


def test_cli_curve_and_settlement(tmp_path):
    import yaml

    curve = tmp_path / "cdb.yaml"
    curve.write_text(yaml.safe_dump({"curve": FLAT}), encoding="utf-8")
    p = cli("run", str(EXAMPLE), "-s", str(SCENARIOS / "base.yaml"), "--out", str(tmp_path / "o"), "--no-term-sheets",
            "--curve", str(curve), "--settlement", "2026-08-03")
    assert p.returncode == 0, p.stderr
    a = pd.read_csv(tmp_path / "o" / "analytics.csv")
    row = a.set_index("tranche").loc["A"]
    assert math.isfinite(row["z_spread"])
    # settled 14 days after closing: 14 days of the 3.8% coupon accrued (ACT/365F, per 100)
    assert row["accrued"] == pytest.approx(100 * 0.038 * 14 / 365, abs=1e-6)  # (the CSV holds 6 decimals)
    bad = cli("run", str(EXAMPLE), "--out", str(tmp_path / "p"), "--settlement", "2026-13-01")
    assert bad.returncode == 2 and "--settlement: '2026-13-01' is not a date" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "p").exists()


def test_floating_tranche_discount_margin():
    """A floater (LPR1Y + 1.20%) priced at par on a payment date has a discount margin equal
    to its quoted margin; below par the margin is wider."""
    from builders import deal, loan

    tr = [{"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "floating", "index": "LPR1Y", "spread": 0.012}},
          {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 100_000.0}]
    d = deal([loan(1, rate=0.06)], tr, header={"reference_rates": {"LPR1Y": 0.03}})
    r = ae.run(d, Scenario(name="path", reference_rates={"LPR1Y": [0.03, 0.031, 0.032, 0.0335]}))
    on_date = dt.date(2026, 3, 10)  # the first payment date
    par = r.analytics(settlement=on_date).set_index("tranche")
    assert par.loc["A", "discount_margin"] == pytest.approx(0.012, abs=1e-9)
    assert math.isnan(par.loc["SUB", "discount_margin"])
    cheap = r.analytics(settlement=on_date, pricing={"A": {"price": 99.5}}).set_index("tranche")
    assert cheap.loc["A", "discount_margin"] > 0.012


def test_deal_pricing_accepts_the_simple_stub_compounding(tmp_path, example_scenarios):
    """A tranche priced at a Treasury-style yield (simple first fraction of a period) in the
    deal file gets the price the analytics give its cash flows with that compounding."""
    from abs_engine import analytics as an

    settle = dt.date(2026, 7, 22)  # inside a period: the first fraction is not a whole one
    prices = {}
    for comp in ("semiannual_simple_stub", "semiannual"):
        (tmp_path / comp).mkdir()
        d = ae.load_deal(with_pricing(tmp_path / comp, {
            "settlement": settle, "tranches": {"A": {"yield": 0.035, "compounding": comp}}}))
        r = ae.run(d, example_scenarios)
        row = r.analytics().set_index(["scenario", "tranche"]).loc[("base", "A")]
        assert row["compounding"] == comp
        cf = an.tranche_cashflows(r.tranches, r.tranche_info(), scenario="base", tranche="A", settlement=settle)
        assert row["price"] == pytest.approx(an.price_from_yield(cf, 0.035, settle, compounding=comp), abs=1e-10)
        prices[comp] = row["price"]
    assert abs(prices["semiannual_simple_stub"] - prices["semiannual"]) > 1e-6
