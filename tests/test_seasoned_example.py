"""The seasoned-deal example (deals/seasoned/README.md): the shipped status is what
deals/tools/make_sz_status.py writes, and every figure the README quotes comes out of the
engine."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from test_restart import assert_same_remaining

import abs_engine as ae
from abs_engine.actuals import actual_vs_projected
from abs_engine.io.status_file import load_status
from abs_engine.valuation import load_valuation, value

ROOT = Path(__file__).resolve().parent.parent
SEASONED = ROOT / "deals" / "seasoned"
STATUS = SEASONED / "sz_pledge_2026_1_2027-01-26.yaml"
README = (SEASONED / "README.md").read_text(encoding="utf-8")


def money(x: float) -> str:
    return f"{x:,.2f}"


@pytest.fixture(scope="module")
def deal():
    return ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")


@pytest.fixture(scope="module")
def status(deal):
    return load_status(STATUS, deal)


def test_the_shipped_status_is_what_the_tool_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_sz_status", ROOT / "deals" / "tools" / "make_sz_status.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    written = mod.main(tmp_path)
    assert {p.name for p in written} == {STATUS.name, f"{STATUS.stem}.pledge_loans.assets.csv",
                                         f"{STATUS.stem}.pledge_loans.defaults.csv"}
    for p in written:
        assert p.read_bytes() == (SEASONED / p.name).read_bytes(), p.name


def test_where_the_deal_stands(status):
    assert status.date == dt.date(2027, 1, 26) and status.deal_state == "accelerated"
    a = status.tranches["A"].balance
    assert f"Class A: {money(a)} outstanding, a factor of {a / 195_700_000:.6f}" in README
    ratio = status.cumulative.defaults / 206_000_000
    assert f"Cumulative defaults {money(status.cumulative.defaults)}, **{ratio:.2%}**" in README
    assert status.triggers["cumulative_defaults"].fired and status.triggers["cumulative_defaults"].consecutive == 1
    ps = status.pools["pledge_loans"]
    assert f"The guarantor has {money(ps.support['guarantee'].capacity_remaining)} of its 40M cover left" in README
    assert len(ps.assets) == 11 and "SZ-004" not in {x.asset_id for x in ps.assets}
    assert f"11 loans, {money(ps.balance)} on 2026-12-31" in README
    assert all(d.recovered is None for d in ps.defaults)  # every disposal still pending


def test_run_from_the_status_and_its_consistency(deal, status, backend):
    """Under base: the README's remaining payments. Under the scenario the status was written
    from: the run from closing's payments after period 2, to the cent."""
    base = ae.load_scenario(ROOT / "scenarios" / "base.yaml")
    named = ae.load_scenario(ROOT / "scenarios" / "sz_2026_1_named_default.yaml")
    r = ae.run(deal, base, status=status, backend=backend)
    r.check_conservation()
    tr = r.tranches.set_index(["tranche", "period"])
    assert f"({money(tr.at[('A', 3), 'interest_paid'])} and {money(tr.at[('A', 4), 'interest_paid'])} of" in README
    assert tr.at[("A", 4), "balance_end"] == 0 and tr.at[("A", 3), "balance_end"] > 0
    sub = tr.loc["SUB", "residual_paid"]
    assert f"{money(sub.sum())} of excess return" in README
    assert f"({money(sub[4])} on 2027-07-26 and {money(sub[5])} on 2027-10-26" in README
    full = ae.run(deal, named, backend=backend)
    part = ae.run(deal, named, status=status, backend=backend)
    assert_same_remaining(full, 0, 2, part)
    life = full.summary().set_index("tranche")
    left = part.summary().set_index("tranche")
    assert f"class A's interest {money(left.at['A', 'interest'])} of the\n{money(life.at['A', 'interest'])}" in README
    np.testing.assert_allclose(left.at["SUB", "residual"], life.at["SUB", "residual"], atol=0.005)
    # the same status, whichever scenario names the past default: the base case pays the same
    np.testing.assert_allclose(r.args.t_resid[0], part.args.t_resid[0], atol=1e-6)


def test_actual_vs_projected_figures(deal, status):
    base = ae.load_scenario(ROOT / "scenarios" / "base.yaml")
    f = actual_vs_projected(deal, [status], base).set_index(["period", "item", "tranche"]).sort_index()
    d2, b2 = f.loc[(2, "defaults", "")], f.loc[(2, "pool_balance", "")]
    assert f"in period 2 the pool's defaults were {money(d2.actual)} against {money(d2.projected)} projected" in README
    assert f"its balance {money(b2.actual)} against {money(b2.projected)}" in README
    assert (f.loc[1, "difference"].abs() < 1e-6).all()  # period 1 was the base case's


def test_valuation_table(deal, status):
    spec = load_valuation(SEASONED / "valuation_2027-02-15.yaml")
    r = ae.run(deal, ae.load_scenario(ROOT / "scenarios" / "base.yaml"), status=status)
    v = value(r, spec["date"], curve=spec["curve"], spreads=spec["spreads"], yields=spec["yields"]).set_index("tranche")
    for t in ("A", "SUB"):
        row = v.loc[t]
        line = (f"| {t} | {money(row.face)} | {row.price:.4f} | {row.dirty_price:.4f} | {row.accrued:.4f} | "
                f"{row['yield']:.4%} | {row.wal_years:.3f} | {row.modified_duration:.3f} |")
        assert line in README, line
    assert v.at["A", "accrued"] == pytest.approx(100 * 0.038 * 20 / 365, abs=1e-12)
    assert v.at["A", "z_spread"] == pytest.approx(0.006, abs=1e-8)
    assert v.at["A", "compounding"] == "chinabond" and v.at["SUB", "yield"] == pytest.approx(0.08)
