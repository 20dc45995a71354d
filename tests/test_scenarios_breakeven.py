"""Break-even search (abs_engine/studies/breakeven.py) and chunked sweeps
(abs_engine/studies/sweep.py), on both kernel backends.

The break-even property: at the reported level the tranche is whole, at ``first_break``
(at most 1 bp worse) it is not; every level between the best end and the break-even that
the search evaluated was whole. Plus: hand-checked whole/loss definitions, the stress
multiple, the IRR against the QuantLib adapter, and sweeps identical whatever the chunk."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import deal as make_deal
from builders import loan
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.io import load_grid
from abs_engine.measures import irr_at_par, year_fractions
from abs_engine.model.scenario import Scenario
from abs_engine.studies.breakeven import PRECISION, breakeven, stressed, whole_at
from abs_engine.studies.executors import Executor
from abs_engine.studies.sweep import sweep

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import synthetic  # noqa: E402


@pytest.fixture(scope="module")
def sz():
    return ae.load_deal(DEALS / "sz_pledge_2026_1.yaml"), ae.load_scenario(SCENARIOS / "stress_guarantor_fails.yaml")


@pytest.fixture(scope="module")
def plain():
    d = synthetic.pledge_deal(200, 60)
    return d, Scenario(name="base", defaults={"cdr": 0.03}, prepayment={"cpr": 0.05},
                       recovery={"haircut": 0.5, "lag_months": 12, "value_decay": 0.1})


def _check_property(deal, base, be, backend):
    names = [t.name for t in deal.tranches]
    found = be.table[be.table["bound"] == "found"]
    assert len(found), "no break-even found: the test deal should break"
    for r in found.itertuples():
        k = names.index(r.tranche)
        assert 0 < abs(r.first_break - r.breakeven) <= r.precision + 1e-12
        if not r.stress.endswith("multiple"):
            assert r.precision == PRECISION  # 1 bp of the rate (multiples: 1 bp of the peak rate)
        w = whole_at(deal, base, r.stress, [r.breakeven, r.first_break], criterion=be.criterion, backend=backend).whole(be.criterion)
        assert w[0, k], f"{r.stress} {r.tranche}: not whole at its break-even {r.breakeven}"
        assert not w[1, k], f"{r.stress} {r.tranche}: whole just beyond its break-even ({r.first_break})"


def test_breakeven_property_on_the_example_deal(sz, backend):
    deal, base = sz
    be = breakeven(deal, base, backend=backend)
    _check_property(deal, base, be, backend)
    t = be.table.set_index(["stress", "tranche"])
    # the senior breaks later than the subordinate; the two default stresses agree:
    # the break-even multiple times the base CDR is the break-even constant CDR (15% base)
    assert t.loc[("cdr", "A"), "breakeven"] > t.loc[("cdr", "SUB"), "breakeven"]
    for tr in ("A", "SUB"):
        assert t.loc[("cdr_multiple", tr), "breakeven"] * 0.15 == pytest.approx(t.loc[("cdr", tr), "breakeven"], abs=2e-4)
        assert t.loc[("cdr", tr), "multiple_of_base"] == pytest.approx(t.loc[("cdr", tr), "breakeven"] / 0.15)
        # the precision: 1 bp of the CDR, and of the peak CDR for the multiple
        assert 0 < t.loc[("cdr", tr), "first_break"] - t.loc[("cdr", tr), "breakeven"] <= 1e-4
        assert 0 < (t.loc[("cdr_multiple", tr), "first_break"] - t.loc[("cdr_multiple", tr), "breakeven"]) * 0.15 <= 1e-4 + 1e-12
    # recovery: the lower level is the worse one
    r = t.loc[("recovery", "SUB")]
    assert r["bound"] == "found" and r["first_break"] < r["breakeven"]


def test_breakeven_property_on_three_tranches(plain, backend):
    deal, base = plain
    be = breakeven(deal, base, stresses=["cdr", "cdr_multiple"], backend=backend)
    _check_property(deal, base, be, backend)
    assert set(be.table["tranche"]) == {"A", "B", "SUB"}
    assert (be.table["monotone"]).all()


def test_breakeven_for_licence_pools_and_one_tranche():
    deal = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    base = ae.load_scenario(SCENARIOS / "pudong_base.yaml")
    be = breakeven(deal, base, tranches=["SUB"])
    assert set(be.table["tranche"]) == {"SUB"}
    assert {"cdr", "recovery", "invalidation"} <= set(be.table["stress"])
    _check_property(deal, base, be, "cython")
    with pytest.raises(ae.InputError, match="did you mean 'SUB'"):
        breakeven(deal, base, tranches=["SUBB"])


def test_loss_curve_rises_with_the_multiple(plain):
    deal, base = plain
    be = breakeven(deal, base, stresses=["cdr_multiple"], curve_points=11)
    c = be.curve.pivot(index="level", columns="tranche", values="loss_rate")
    assert len(c) == 11 and c.index[0] == 0.0
    for tr in c.columns:
        assert (np.diff(c[tr].to_numpy()) >= -1e-12).all(), tr  # more defaults never pay more
    assert c["SUB"].iloc[-1] > 0


def test_stressed_scenarios():
    base = Scenario(name="b", defaults={"cdr": [0.01, 0.02]}, patents={"invalidation_hazard": {"invention": 0.02}})
    assert stressed(base, "cdr_multiple", 3.0).defaults.cdr == pytest.approx([0.03, 0.06])
    assert stressed(base, "cdr", 0.07).defaults.cdr == 0.07
    s = stressed(base, "recovery", 0.4)
    assert s.recovery.rate == 0.4 and s.receivables.recovery_rate == 0.4
    assert stressed(base, "invalidation_multiple", 2.0).patents.invalidation_hazard == {"invention": 0.04}
    with pytest.raises(ae.InputError, match="no defaults to multiply"):
        breakeven(make_deal(), Scenario(name="zero"), stresses=["cdr_multiple"])


# --------------------------------------------------------------------------- measures


def test_whole_and_loss_by_hand(backend):
    """One 1m loan, A 90% at 3%, SUB 10%: with the loan defaulting wholly in month 3 and no
    recovery, A is short of interest from then on and loses its principal; SUB loses all."""
    deal = make_deal([loan(1, collateral_value=0.0)])
    sc = Scenario(name="d", defaults={"loans": {"L001": dt.date(2026, 4, 30)}}, recovery={"rate": 0.0})
    res = ae.run(deal, sc, backend=backend)
    tm = res.measures()
    a = res.tranches[res.tranches["tranche"] == "A"]
    assert tm.writedown[0, 0] == pytest.approx(a["writedown"].sum())
    assert tm.interest_lost[0, 0] == pytest.approx(a["interest_shortfall"].iloc[-1])  # carried: the last one
    assert tm.loss_rate[0, 1] == pytest.approx(1.0)
    assert not tm.whole()[0].any() and not tm.whole("ultimate")[0].any()
    ok = ae.run(deal, Scenario(name="ok"), backend=backend).measures()
    assert ok.whole()[0].all() and ok.whole("expected")[0].all()
    assert ok.loss[0] == pytest.approx([0.0, 0.0])


def test_yield_is_the_analytics_yield_at_par_at_closing(sz):
    """The scenario measure `yield` is what `Result.analytics()` gives a tranche bought at
    par at closing: the ChinaBond yield of the CNY senior, the IRR (annual compounding,
    ACT/365F, the QuantLib adapter's `irr`) of the subordinate."""
    from abs_engine.analytics import CashFlows, irr

    deal, base = sz
    res = ae.run(deal, [base, ae.load_scenario(SCENARIOS / "base.yaml")])
    tm = res.measures()
    tau = year_fractions(res.schedule, deal.deal.closing_date)
    analytics = res.analytics().set_index(["scenario", "tranche"])
    a = res.args
    for s, name in enumerate(res.scenario_names):
        for k, t in enumerate(deal.tranches):
            row = analytics.loc[(name, t.name)]
            if "receives no cash" in row["note"]:
                assert tm.yield_[s, k] == -1.0
                continue
            assert row["compounding"] == ("annual" if t.kind == "subordinate" else "chinabond")
            assert tm.yield_[s, k] == pytest.approx(row["yield"], abs=1e-10)
            if t.kind == "subordinate":
                cf = CashFlows(res.schedule.payment_dates, a.t_int_paid[s, :, k] + a.t_resid[s, :, k],
                               a.t_prin[s, :, k], face=t.balance)
                assert tm.yield_[s, k] == pytest.approx(irr(cf, 100.0, deal.deal.closing_date), abs=1e-10)
    y = irr_at_par(np.array([[0.0, 0.0], [50.0, 60.0]]), np.array([0.5, 1.0]), np.array([100.0, 100.0]))
    assert y[0] == -1.0 and np.isfinite(y[1])
    assert tau[0] > 0


# --------------------------------------------------------------------------- sweeps


def test_sweep_is_identical_whatever_the_executor_and_agrees_across_chunks(sz, backend):
    """The same chunks give bit-identical results on every executor; other chunk sizes
    agree to rounding (the projection drops loans repaid in every scenario of a call, which
    changes the order of its sums over loans)."""
    deal, _ = sz
    grid = load_grid(SCENARIOS / "grid_cdr_recovery.yaml")
    ref = sweep(deal, grid.scenarios, points=grid.frame(), executor=Executor("serial"), chunk=4, backend=backend)
    for ex in (Executor("threads", 2), Executor("processes", 2)):
        got = sweep(deal, grid.scenarios, points=grid.frame(), executor=ex, chunk=4, backend=backend)
        pd.testing.assert_frame_equal(got.tranches, ref.tranches, check_exact=True)
        pd.testing.assert_frame_equal(got.pool, ref.pool, check_exact=True)
    for chunk in (1, 7, 15):
        got = sweep(deal, grid.scenarios, points=grid.frame(), executor=Executor("serial"), chunk=chunk, backend=backend)
        pd.testing.assert_frame_equal(got.tranches, ref.tranches, check_exact=False, rtol=1e-12, atol=1e-6)
        pd.testing.assert_frame_equal(got.pool, ref.pool, check_exact=False, rtol=1e-12, atol=1e-6)
    # one engine call over everything gives the same figures
    res = ae.run(deal, grid.scenarios, backend=backend)
    tm = res.measures()
    np.testing.assert_allclose(tm.loss_rate.ravel(), ref.tranches["loss_rate"].to_numpy(), rtol=1e-12, atol=1e-15)
    t = ref.tranches
    assert list(t.columns[:3]) == ["scenario", "cdr", "haircut"]
    sub = t[(t["tranche"] == "SUB") & (t["haircut"] == 0.5)].sort_values("cdr")
    assert (np.diff(sub["loss_rate"].to_numpy()) >= -1e-12).all()
