"""Structuring tools (abs_engine/studies/agency.py, sizing.py, solvers.py, compare.py,
heatmap.py): the TDR against the Vasicek closed form of a homogeneous pool; the agency
BDRs re-checked by plain runs; sized classes that pass while one step more fails, re-checked
by plain runs on both kernel backends; solved coupons that price at par to 1e-8 through the
analytics API; the highest coupon whole / one step more not; the subordinate's IRR against
the measures' IRR; the comparison's cost of funding by hand; heat-map frontiers; the deal
files written (comments kept, tapes found, validated) and the variants files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from builders import deal as make_deal
from builders import loan
from conftest import DEALS, SCENARIOS
from scipy.special import ndtri
from scipy.stats import binom, norm

import abs_engine as ae
from abs_engine.analytics import Curve, price_from_z_spread, tranche_cashflows
from abs_engine.errors import InputError
from abs_engine.measures import irr_at_par
from abs_engine.model.scenario import MonteCarlo, Scenario
from abs_engine.studies.agency import (
    StressSet,
    agency_table,
    levels_for_default_rate,
    load_agency_table,
    pool_default_rates,
    stress_scenarios,
    target_default_rates,
    timing_months,
)
from abs_engine.studies.breakeven import stressed
from abs_engine.studies.executors import Executor
from abs_engine.studies.montecarlo import simulate, simulate_defaults
from abs_engine.studies.ratings import RatingTable

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"


@pytest.fixture(scope="module")
def sz():
    return ae.load_deal(EXAMPLE)


@pytest.fixture(scope="module")
def base():
    return ae.load_scenario(SCENARIOS / "base.yaml")


@pytest.fixture(scope="module")
def guarantor_fails():
    return ae.load_scenario(SCENARIOS / "stress_guarantor_fails.yaml")


def _whole(deal, scenarios, tranche, backend="cython", criterion="timely"):
    res = ae.run(deal, list(scenarios), backend=backend)
    tm = res.measures(yields=False)
    return tm.whole(criterion)[:, [t.name for t in deal.tranches].index(tranche)]


# --------------------------------------------------------------------------- the rating table and TDR


def test_agency_table_is_the_sources_figures():
    """Spot values of the source's ideal default-rate table (script/sql/ideal_default_item.sql):
    AAA 1y 0.015%, AA 5y 0.70%, BBB- 10y 20%; linear between years, monotone both ways."""
    t = load_agency_table()
    assert t.ratings == ["AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-"]
    assert t.measure == "default_probability" and "LH-PROJECT/lh-data" in t.source
    assert t.thresholds(1.0)[0] == pytest.approx(0.00015)
    assert t.thresholds(5.0)[2] == pytest.approx(0.007)
    assert t.thresholds(10.0)[-1] == pytest.approx(0.20)
    assert t.thresholds(2.5)[0] == pytest.approx(0.5 * (0.0002 + 0.0006))
    assert (np.diff(t.rates, axis=0) >= 0).all() and (np.diff(t.rates, axis=1) >= 0).all()


def test_target_default_rate_is_the_sources_order_statistic():
    """TDR = the k-th largest simulated rate, k = max(floor(N p), 1) (the source's rule);
    below a year the one-year rate applies; N p < 1 is flagged unresolved."""
    t = RatingTable("default_probability", ["X", "Y"], np.array([1.0, 2.0]), np.array([[0.01, 0.02], [0.05, 0.1]]), "test")
    rates = np.arange(1000) / 1000.0  # 0.000 .. 0.999
    df = target_default_rates(rates, t, 0.4).set_index("rating")
    assert df.loc["X", "horizon_years"] == 1.0
    assert df.loc["X", "order"] == 10 and df.loc["X", "tdr"] == pytest.approx(0.990)
    assert df.loc["Y", "order"] == 50 and df.loc["Y", "tdr"] == pytest.approx(0.950)
    df = target_default_rates(rates, t, 1.5).set_index("rating")  # p = 1.5% and 7.5%
    assert df.loc["X", "order"] == 15 and df.loc["Y", "order"] == 75
    few = target_default_rates(rates[:50], t, 1.0).set_index("rating")
    assert few.loc["X", "order"] == 1 and not few.loc["X", "resolved"] and few.loc["Y", "resolved"]
    assert few.loc["X", "tdr"] == pytest.approx(0.049)  # the largest of the 50


PD, RHO, N_LOANS, N_PATHS = 0.05, 0.20, 3000, 4000


def _vasicek_cdf(x, pd_, rho):
    x = np.clip(x, 1e-300, 1 - 1e-16)
    return norm.cdf((math.sqrt(1 - rho) * ndtri(x) - ndtri(pd_)) / math.sqrt(rho))


def _mixture_cdf(k, n, pd_, rho, nodes=200):
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    p = norm.cdf((ndtri(pd_) - math.sqrt(rho) * z) / math.sqrt(1 - rho))
    return (binom.cdf(np.asarray(k)[:, None], n, p[None, :]) * w[None, :]).sum(axis=1) / w.sum()


@pytest.fixture(scope="module")
def homogeneous_rates():
    loans = [loan(i, amortization="bullet", payment_frequency="annual", collateral_value=0.0) for i in range(N_LOANS)]
    deal = make_deal(loans)
    sc = Scenario(name="pd5", defaults={"cdr": PD}, recovery={"rate": 0.0})
    return simulate_defaults(deal, sc, MonteCarlo(paths=N_PATHS, seed=20261207, correlation=RHO),
                             executor=Executor("threads", 2))["pool_default_rate"].to_numpy()


def test_tdr_matches_the_vasicek_closed_form(homogeneous_rates):
    """3,000 equal one-year bullet loans, PD 5%, rho 0.2, 4,000 paths: the TDR of every rating
    of the table at one year (p from 0.015% to 1%) lies where the k-th largest of N draws
    falls: the Vasicek distribution puts 1 - (k -+ 3.3 sqrt(k)) / N below it (a 99.9% band of
    the order statistic), widened by the finite pool's distance to the Vasicek limit; and
    within the band of the exact one-factor binomial mixture, without that allowance."""
    tdr = target_default_rates(homogeneous_rates, load_agency_table(), 1.0)
    grid = np.arange(N_LOANS + 1)
    mix = _mixture_cdf(grid, N_LOANS, PD, RHO)
    granularity = float(np.abs(mix - _vasicek_cdf(grid / N_LOANS, PD, RHO)).max())
    checked = 0
    for r in tdr.itertuples():
        k = int(r.order)
        lo_p = max(1 - (k + 3.3 * math.sqrt(k) + 1) / N_PATHS, 0.0)
        hi_p = min(1 - (k - 3.3 * math.sqrt(k) - 1) / N_PATHS, 1.0)
        f = float(_vasicek_cdf(np.array([r.tdr]), PD, RHO)[0])
        assert lo_p - granularity <= f <= hi_p + granularity, (r.rating, r.tdr, f, lo_p, hi_p)
        c = int(round(r.tdr * N_LOANS))
        assert mix[max(c - 1, 0)] <= hi_p and mix[c] >= lo_p, (r.rating, c)
        # the closed form's own quantile at 1 - p, within the same band
        v = norm.cdf((ndtri(PD) + math.sqrt(RHO) * ndtri(r.quantile)) / math.sqrt(1 - RHO))
        qs = [norm.cdf((ndtri(PD) + math.sqrt(RHO) * ndtri(u)) / math.sqrt(1 - RHO)) for u in (lo_p, min(hi_p, 1 - 1e-12))]
        assert qs[0] - 3 / N_LOANS <= v <= qs[1] + 3 / N_LOANS
        checked += r.resolved
    assert checked >= 9  # 4,000 paths resolve every rating but AAA at one year


def test_simulate_defaults_are_simulates_path_by_path(sz, base):
    """The pool default rates without the waterfall are simulate's, path by path: a pledge
    pool with a guarantee (sparse projection despite the stack) and a licence pool."""
    st = MonteCarlo(paths=70, seed=3, correlation=0.3)
    fast = simulate_defaults(sz, base.model_copy(update={"defaults": base.defaults.model_copy(update={"cdr": 0.2})}), st,
                             executor=Executor("serial"))
    full = simulate(sz, base.model_copy(update={"defaults": base.defaults.model_copy(update={"cdr": 0.2})}), st,
                    executor=Executor("serial"))
    assert fast["pool_defaults"].sum() > 0
    np.testing.assert_allclose(fast["pool_defaults"], full.pool["pool_defaults"], rtol=1e-12, atol=1e-6)
    assert (fast["obligor_defaults"] == full.pool["obligor_defaults"]).all()
    pudong = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    sc = Scenario(name="lic", defaults={"cdr": 0.1}, patents={"invalidation_hazard": 0.05})
    a = simulate_defaults(pudong, sc, st, executor=Executor("threads", 2))
    b = simulate(pudong, sc, st, executor=Executor("serial"))
    np.testing.assert_allclose(a["pool_default_rate"], b.pool["pool_default_rate"], rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- stresses and BDR


def test_stress_scenarios(sz, base):
    """The stresses as documented: the same mean CDR redistributed falling / rising over the
    months to the expected maturity; recoveries 20 points lower; disposal 6 months later;
    reference rates +-100 bp floored at 0; without support every party fails from the cut-off."""
    scs = {n: s for n, _, s in stress_scenarios(sz, base, StressSet(no_support=True))}
    assert list(scs) == ["base", "front_loaded", "back_loaded", "recovery_haircut", "recovery_lag", "rate_up", "rate_down"]
    L = timing_months(sz)
    assert L == 13
    front, back = np.array(scs["front_loaded"].defaults.cdr), np.array(scs["back_loaded"].defaults.cdr)
    assert len(front) == L and front.mean() == pytest.approx(0.02) and back.mean() == pytest.approx(0.02)
    assert (np.diff(front) < 0).all() and (np.diff(back) > 0).all()
    assert scs["recovery_haircut"].recovery.haircut == pytest.approx(0.70)
    assert scs["recovery_lag"].recovery.lag_months == 18
    assert scs["rate_up"].reference_rates == {"LPR1Y": pytest.approx(0.04)}
    assert scs["rate_down"].reference_rates == {"LPR1Y": pytest.approx(0.02)}
    for s in scs.values():
        assert s.support_failures == {"undertaking": sz.deal.cutoff_date, "guarantee": sz.deal.cutoff_date}
    assert scs["base"].defaults.cdr == 0.02
    flat = {n: s for n, _, s in stress_scenarios(sz, Scenario(name="none"))}
    assert flat["base"].defaults.cdr == 0.01  # no defaults in the base: a flat 1% curve to multiply
    with pytest.raises(ValueError, match="haircut_add"):
        StressSet(haircut_add=1.5)
    # a base at tape PDs: the search multiplies a flat CDR at the tape's mean PD, the PDs off
    pudong = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    tape = {n: (d, s) for n, d, s in stress_scenarios(pudong, ae.load_scenario(SCENARIOS / "pudong_base.yaml"))}
    pds = [a.pd for a in pudong.pools[0].assets]
    assert tape["base"][1].defaults.cdr == pytest.approx(np.mean(pds)) and not tape["base"][1].receivables.use_tape_pd
    assert tape["recovery_haircut"][1].receivables.recovery_rate == 0.0
    assert "receivables' recovery rate 20% -> 0%" in tape["recovery_haircut"][0]


@pytest.fixture(scope="module")
def agency_sz(sz, base):
    return agency_table(sz, base, MonteCarlo(paths=2000, seed=11), stresses=StressSet(no_support=True),
                        executor=Executor("threads", 2))


def test_agency_bdr_rechecked_by_plain_runs(sz, agency_sz):
    """Every BDR found: at the break-even multiple the tranche is whole and the pool defaults
    the BDR; at the first break it is not whole (plain runs)."""
    ag = agency_sz
    scs = {n: s for n, _, s in stress_scenarios(sz, ag.base, StressSet(no_support=True))}
    found = ag.bdr[ag.bdr["bound"] == "found"]
    assert len(found) >= 10
    for r in found.itertuples():
        at, nxt = (stressed(scs[r.stress], "cdr_multiple", x, f"x{i}") for i, x in enumerate((r.level, r.first_break)))
        w = _whole(sz, [at, nxt], r.tranche)
        assert w[0] and not w[1], (r.stress, r.tranche)
        assert pool_default_rates(sz, [at])[0] == pytest.approx(r.bdr, abs=1e-12)


def test_agency_cross_table_and_summary(agency_sz):
    ag = agency_sz
    c = ag.table
    assert len(c) == 2 * 10 * 7
    assert ((c["cushion"] - (c["achieved"] - c["target"])).abs() < 1e-15).all()
    assert (c["passes"] == ((c["cushion"] >= -1e-12) | (c["bound"] == "range"))).all()
    for r in ag.summary.itertuples():
        g = c[c["tranche"] == r.tranche]
        passing = [x for x in dict.fromkeys(g["rating"]) if g.loc[g["rating"] == x, "passes"].all()]
        assert r.implied_rating == (passing[0] if passing else "below BBB-")
        b = ag.bdr[(ag.bdr["tranche"] == r.tranche) & (ag.bdr["bound"] != "range")]
        assert r.min_bdr == pytest.approx(b["bdr"].min())
    # a higher rating asks for more: TDR falls down the scale
    t = ag.targets[ag.targets["tranche"] == "A"]["tdr"].to_numpy()
    assert (np.diff(t) <= 0).all()


def test_levels_for_default_rate(sz, base):
    scs = [s for _, _, s in stress_scenarios(sz, base)]
    out = levels_for_default_rate(sz, scs[:2], [0.3, 0.3])
    for sc, (x, reach) in zip(scs[:2], out, strict=True):
        assert reach
        r = pool_default_rates(sz, [stressed(sc, "cdr_multiple", x, "at"), stressed(sc, "cdr_multiple", x * 0.999, "below")])
        assert r[0] >= 0.3 - 1e-12 and r[1] < 0.3
    # the back-loaded curve cannot default 90% of the pool even at its range's end
    (x, reach), = levels_for_default_rate(sz, [scs[2]], [0.9])
    assert not reach


def test_multiple_test_compares_break_even_multiples(sz, guarantor_fails):
    ag = agency_table(sz, guarantor_fails.model_copy(update={"name": "gf"}), test="multiple",
                      multiples={"AAA": 5.0, "AA": 4.0, "A": 3.0, "BBB": 2.0}, stresses=StressSet(timing=False))
    c = ag.table[ag.table["tranche"] == "A"]
    lv = ag.bdr[ag.bdr["tranche"] == "A"].set_index("stress")["level"]
    for r in c.itertuples():
        assert r.achieved == pytest.approx(lv[r.stress]) and r.passes == (lv[r.stress] >= r.target - 1e-12 or r.bound == "range")
    with pytest.raises(InputError, match="must not rise"):
        agency_table(sz, guarantor_fails, test="multiple", multiples={"AAA": 2.0, "AA": 4.0})


# --------------------------------------------------------------------------- sizing


@pytest.fixture(scope="module")
def sized_plain(sz, base, guarantor_fails):
    from abs_engine.studies.sizing import size

    return size(sz, {"A": "AAA"}, base, [guarantor_fails], MonteCarlo(paths=2000, seed=7), executor=Executor("threads", 2))


def test_sized_senior_passes_and_one_step_more_fails(sz, guarantor_fails, sized_plain, backend):
    """Bound by the given stress scenario: at the solved size the senior is whole in it, one
    step (10,000) larger it is not; plain runs of the engine, on both backends."""
    from abs_engine.studies.sizing import with_balances

    s = sized_plain
    row = s.table.iloc[0]
    assert row["passes"] and row["next_fails"] and row["binding"] == "stress_guarantor_fails"
    n = row["solved_balance"]
    assert n % 10_000 == 0 and n < 195_700_000
    assert s.deal.tranche("A").balance == n and s.deal.tranche("SUB").balance == pytest.approx(206_000_000 - n)
    assert sum(t.balance for t in s.deal.tranches) == pytest.approx(206_000_000)
    assert _whole(s.deal, [guarantor_fails], "A", backend)[0]
    assert not _whole(with_balances(sz, {"A": n + 10_000}), [guarantor_fails], "A", backend)[0]
    trials = s.trials
    assert trials["passes"].any() and (~trials["passes"]).any()
    assert trials.loc[trials["passes"], "balance"].max() == n  # the search tried the solution


def test_sized_to_the_agency_test_without_support(sz, base):
    """Bound by the agency test: at the solved size the senior is whole under every stress at
    the level where the pool defaults the TDR (plain runs); one step more, under the binding
    stress, it breaks before the pool defaults the TDR."""
    from abs_engine.studies.sizing import size, with_balances

    st = StressSet(no_support=True)
    s = size(sz, {"A": "AA"}, base, [], MonteCarlo(paths=1000, seed=7), stresses=st, executor=Executor("threads", 2))
    row = s.table.iloc[0]
    assert row["passes"] and row["next_fails"] and row["binding"].startswith("agency:")
    tdr = row["target_value"]
    scs = {n: sc for n, _, sc in stress_scenarios(sz, base, st)}
    levels = levels_for_default_rate(sz, list(scs.values()), [tdr] * len(scs))
    at = [stressed(sc, "cdr_multiple", x, f"{n}@tdr") for (n, sc), (x, _) in zip(scs.items(), levels, strict=True)]
    assert _whole(s.deal, at, "A").all()
    more = with_balances(sz, {"A": row["solved_balance"] + 10_000})
    ag = agency_table(more, base, stresses=st, tranches=["A"], default_rates=np.array([tdr]))
    b = ag.bdr.set_index("stress").loc[row["binding"].split(":")[1]]
    x_break = stressed(scs[b.name], "cdr_multiple", b["first_break"], "break")
    assert not _whole(more, [x_break], "A")[0]
    assert pool_default_rates(sz, [x_break])[0] <= tdr + 1e-9
    assert row["cushion"] >= 0 and s.agency is not None


def test_sizing_errors_name_the_field(sz, base):
    from abs_engine.studies.sizing import parse_targets, size

    with pytest.raises(InputError) as e:
        parse_targets(["AAAA", "B=AA", "SUB=A", "A=AA", "A=A"], sz)
    msgs = [str(p) for p in e.value.problems]
    assert any("--target[0]" in m and "unknown rating 'AAAA'" in m and "did you mean 'AAA'" in m for m in msgs)
    assert any("--target[1]" in m and "unknown tranche 'B'" in m for m in msgs)
    assert any("--target[2]" in m and "subordinate" in m for m in msgs)
    assert any("--target[4]" in m and "second target" in m for m in msgs)
    assert parse_targets(["AA+"], sz) == {"A": "AA+"}
    a = sz.tranche("A")
    scheduled = sz.model_copy(update={"tranches": [a.model_copy(update={"principal": a.principal.model_copy(update={
        "style": "scheduled"})}), sz.tranche("SUB")]})
    with pytest.raises(InputError, match="repays to a schedule of amounts"):
        parse_targets(["AAA"], scheduled)
    # impossible: not whole even at one step when every loan defaults at once
    doom = Scenario(name="doom", defaults={"cdr": 1.0}, recovery={"rate": 0.0},
                    support_failures={"guarantee": sz.deal.cutoff_date, "undertaking": sz.deal.cutoff_date})
    with pytest.raises(InputError, match="impossible: tranche 'A' fails AAA even at 10,000"):
        size(sz, {"A": "AAA"}, base, [doom], MonteCarlo(paths=64, seed=1), executor=Executor("serial"))
    with pytest.raises(InputError, match="--step"):
        size(sz, {"A": "AAA"}, base, step=0.0)


# --------------------------------------------------------------------------- coupons, spreads, IRR


def test_solved_coupon_prices_at_par_through_the_analytics_api(sz, base, backend):
    """On a curve plus a spread and at a yield, under the base and a stress: a run with the
    solved coupon, priced through the analytics API (price_from_z_spread; tranche_analytics
    with the analytics' own compounding convention), gives 100 to 1e-8."""
    from abs_engine.studies.solvers import solve_coupons

    curve = {"kind": "zero", "compounding": "annual", "points": [{"tenor": "1Y", "rate": 0.018}, {"tenor": "3Y", "rate": 0.022}]}
    for sc in (base, ae.load_scenario(SCENARIOS / "stress.yaml")):
        solved, t = solve_coupons(sz, sc, curve=curve, spread=0.012, backend=backend)
        c = float(t.loc[0, "solved"])
        assert solved.tranche("A").coupon.rate == c and abs(c - 0.038) < 0.02
        res = ae.run(solved, [sc], backend=backend)
        settle = sz.deal.closing_date
        cf = tranche_cashflows(res.tranches, res.tranche_info(), scenario=sc.name, tranche="A", settlement=settle)
        price = price_from_z_spread(cf, 0.012, Curve.from_dict(curve, reference_date=settle), settle)
        assert abs(price - 100.0) <= 1e-8, price
        solved_y, ty = solve_coupons(sz, sc, yield_=0.041, backend=backend)
        a = ae.run(solved_y, [sc], backend=backend).analytics(pricing={"A": {"yield": 0.041}})
        assert abs(float(a.loc[a["tranche"] == "A", "price"].iloc[0]) - 100.0) <= 1e-8
    # the price rises with the coupon: a higher spread needs a higher coupon
    _, t2 = solve_coupons(sz, base, curve=curve, spread=0.02, backend=backend)
    assert t2.loc[0, "solved"] > t.loc[0, "solved"]


def test_coupon_solver_errors(sz, base):
    from abs_engine.studies.solvers import solve_coupons

    with pytest.raises(InputError, match="--curve"):
        solve_coupons(sz, base)  # the deal has no curve
    with pytest.raises(InputError, match="no coupon to solve"):
        solve_coupons(sz, base, yield_=0.04, tranches=["SUB"])
    with pytest.raises(InputError, match="unknown tranche 'B'"):
        solve_coupons(sz, base, yield_=0.04, tranches=["B"])
    with pytest.raises(InputError, match="no coupon in"):
        solve_coupons(sz, base, curve={"kind": "flat", "rate": 0.02}, spread=-0.5)


def test_highest_coupon_whole_and_one_step_more_not(backend):
    """A deal whose senior is paid by the pool's interest alone: the highest coupon it can
    carry leaves it whole, 0.01 bp more does not (plain runs), and lies below the pool rate."""
    from abs_engine.studies.solvers import max_coupon, with_coupon

    loans = [loan(i, rate=0.06, amortization="bullet", payment_frequency="monthly") for i in range(5)]
    d = make_deal(loans)
    sc = Scenario(name="flat")
    t = max_coupon(d, [sc], backend=backend).iloc[0]
    assert t["bound"] == "found" and 0 < t["first_break"] - t["max"] <= 1e-6
    assert _whole(with_coupon(d, "A", t["max"]), [sc], "A", backend)[0]
    assert not _whole(with_coupon(d, "A", t["first_break"]), [sc], "A", backend)[0]
    assert 0.06 < t["max"] < 0.06 / 0.9 + 1e-3  # the 6% interest on the pool over the senior's 90%
    assert t["binding"] == "flat" and t["headroom"] == pytest.approx(t["max"] - 0.03)


def test_subordinate_irr_agrees_with_the_measures(sz, base, guarantor_fails):
    """At 100 on the closing date the IRR (QuantLib, through the analytics) is the measures'
    yield at par (bisection); a lower price gives a higher IRR; no cash: no IRR."""
    from abs_engine.studies.solvers import subordinate_irr

    t = subordinate_irr(sz, [base, guarantor_fails])
    res = ae.run(sz, [base])
    tm = res.measures()
    assert t.loc[0, "irr"] == pytest.approx(float(tm.yield_[0, 1]), abs=1e-8)
    assert math.isnan(t.loc[1, "irr"]) and "no cash" in t.loc[1, "note"]
    assert subordinate_irr(sz, [base], price=90.0).loc[0, "irr"] > t.loc[0, "irr"]
    with pytest.raises(InputError, match="--sub-price"):
        subordinate_irr(sz, [base], price=0.0)


# --------------------------------------------------------------------------- comparison


def test_compare_costs_by_hand(sz, base):
    """Cost of funding = the yield at par of the sold notes' cash (one sold class: its yield;
    a CNY deal: the ChinaBond yield at the quarterly frequency, by hand: f x the IRR over
    coupon periods), the all-in cost adds the fees paid; the subordinate's residual is its
    excess return; sizes shift as the variant says."""
    from abs_engine.analytics import chinabond_times
    from abs_engine.io.variants import Structure
    from abs_engine.studies.compare import compare, side_by_side
    from abs_engine.studies.sizing import with_balances

    thin = with_balances(sz, {"A": 185_400_000})
    c = compare([Structure("base", sz, "x"), Structure("senior_90", thin, "y")], [base],
                settings=MonteCarlo(paths=64, seed=2), executor=Executor("serial"))
    for st, d in (("base", sz), ("senior_90", thin)):
        res = ae.run(d, [base])
        a = res.args
        periods, _ = chinabond_times(res.schedule.payment_dates, 4, d.deal.closing_date)
        cash = a.t_int_paid[0, :, 0] + a.t_prin[0, :, 0]
        s = c.summary.set_index("structure").loc[st]
        by_hand = 4 * float(irr_at_par(cash[None, :], periods, d.tranches[0].balance)[0])
        assert s["funding_cost"] == pytest.approx(by_hand, abs=1e-12)
        fees = a.f_paid[0].sum(axis=1)
        by_hand = 4 * float(irr_at_par((cash + fees)[None, :], periods, d.tranches[0].balance)[0])
        assert s["all_in_cost"] == pytest.approx(by_hand, abs=1e-12)
        assert s["all_in_cost"] > s["funding_cost"]
        assert s["subordinate_residual"] == pytest.approx(float(a.t_resid[0, :, 1].sum()))
        t = c.tranches[(c.tranches["structure"] == st) & (c.tranches["tranche"] == "A")].iloc[0]
        assert t["balance"] == d.tranches[0].balance and t["yield"] == pytest.approx(s["funding_cost"], abs=1e-12)
    r = c.risk.set_index(["structure", "tranche"])
    assert r.loc[("senior_90", "SUB"), "bdr"] > r.loc[("base", "SUB"), "bdr"]  # a thicker subordinate breaks later
    sbs = side_by_side(c)
    assert list(sbs.columns) == ["section", "tranche", "measure", "base", "senior_90"]
    assert sbs.set_index(["tranche", "measure"]).loc[("A", "balance"), "senior_90"] == 185_400_000
    with pytest.raises(InputError, match="must differ"):
        compare([Structure("x", sz, "a"), Structure("x", thin, "b")], [base])


def test_variants_file(tmp_path):
    from abs_engine.io.variants import load_variants

    v = tmp_path / "v.yaml"
    v.write_text(f"""deal: {EXAMPLE}
variants:
  - name: senior_90
    set:
      tranches.A.balance: 185400000
      tranches.SUB.balance: 20600000
  - name: reserve
    description: a bigger reserve
    set: {{accounts.reserve.target.percent_of_notes: 0.02, tranches.0.rating: AA+}}
""", encoding="utf-8")
    st = load_variants(v)
    assert [s.name for s in st] == ["base", "senior_90", "reserve"]
    assert st[1].deal.tranche("A").balance == 185_400_000
    assert st[2].deal.accounts[1].target.percent_of_notes == 0.02 and st[2].deal.tranche("A").rating == "AA+"
    assert len(st[1].deal.pools[0].assets) == 12  # the tape, found from the variants file's folder
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"""deal: {EXAMPLE}
variants:
  - name: a
    set: {{tranches.B.balance: 1, tranchs.A.balance: 2}}
  - name: b
    set: {{tranches.A.balance: -5}}
  - name: a
    set: {{tranches.A.balance: 1}}
  - name: c
    set: {{tranches.A.balnce: 2}}
""", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_variants(bad)
    msgs = [str(p) for p in e.value.problems]
    assert any("variants[0].set.tranches.B.balance" in m and "no item named 'B'" in m for m in msgs)
    assert any("variants[0].set.tranchs.A.balance" in m and "did you mean 'tranches'" in m for m in msgs)
    assert any("variants[3] (c)" in m and "balnce" in m for m in msgs)  # a new key: the deal's validation says why
    assert any("variants[1] (b)" in m and "must not be negative" in m for m in msgs)
    assert any("variants[2].name" in m and "duplicate" in m for m in msgs)


# --------------------------------------------------------------------------- heat maps


def test_heatmap_frontier_is_the_grids_break_even(sz, guarantor_fails):
    from abs_engine.studies.heatmap import heatmap

    hm = heatmap(sz, guarantor_fails, "A", y="lag", cdr=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3], y_values=[6, 18],
                 stresses=[ae.load_scenario(SCENARIOS / "stress.yaml")], executor=Executor("serial"))
    assert hm.grid.shape[0] == 12 and set(hm.grid["lag"]) == {6.0, 18.0}
    for f in hm.frontier.itertuples():
        g = hm.grid[hm.grid["lag"] == f.lag].set_index("cdr")
        if f.bound == "found":
            assert g.loc[f.breakeven_cdr, "whole"] and not g.loc[f.first_break_cdr, "whole"]
            assert g.loc[g.index <= f.breakeven_cdr, "whole"].all()
    assert list(hm.points["role"]) == ["base", "stress"] and hm.points["lag"].tolist() == [18.0, 18.0]
    # the loss at a point is the sweep's: a plain run of that scenario
    p = guarantor_fails.model_copy(update={"name": "p", "defaults": guarantor_fails.defaults.model_copy(update={"cdr": 0.3}),
                                           "recovery": guarantor_fails.recovery.model_copy(update={"lag_months": 6})})
    res = ae.run(sz, [p])
    lr = res.measures().loss_rate[0, 0]
    assert hm.grid.set_index(["cdr", "lag"]).loc[(0.3, 6.0), "loss_rate"] == pytest.approx(lr, abs=1e-12)
    with pytest.raises(InputError) as e:
        heatmap(sz, guarantor_fails, "Z", y="depth", value="x")
    assert len(e.value.problems) == 3


# --------------------------------------------------------------------------- deal files


def test_deal_writer_keeps_the_text_and_relocates_tapes(tmp_path):
    from abs_engine.io.deal_writer import deal_text, edit_text, write_deal

    text = EXAMPLE.read_text(encoding="utf-8")
    out = deal_text(EXAMPLE, {("tranches", "A", "balance"): 180_000_000.0, ("tranches", "SUB", "balance"): 26_000_000.0,
                              ("tranches", "A", "coupon", "rate"): 0.0412345678901234}, tmp_path / "sub", note="a test")
    assert out.startswith("# Written by abs_engine on") and "# a test\n" in out
    assert "# the Shenzhen \"double support\"" in out  # comments kept
    assert "balance: 180000000\n" in out and "rate: 0.0412345678901234}" in out
    body = out.split("\n", 2)[2]
    assert len(body.splitlines()) == len(text.splitlines())
    target = write_deal(out, tmp_path / "sub" / "x.yaml")
    d = ae.load_deal(target)
    assert d.tranche("A").balance == 180_000_000 and d.tranche("A").coupon.rate == 0.0412345678901234
    assert len(d.pools[0].assets) == 12
    # a problem: reported against the target, nothing written
    broken = out.replace("balance: 180000000\n", "balance: 170000000\n", 1)
    with pytest.raises(InputError, match="tranche balances add up to"):
        write_deal(broken, tmp_path / "sub" / "y.yaml")
    assert not (tmp_path / "sub" / "y.yaml").exists()
    assert not [p for p in (tmp_path / "sub").iterdir() if p.name.startswith(".")]
    with pytest.raises(KeyError, match="no item named 'Q'"):
        edit_text(text, {("tranches", "Q", "balance"): 1})
    assert edit_text("a: {b: [1, 2]}\n", {("a", "b", 1): 7}) == "a: {b: [1, 7]}\n"
    # copying the deal elsewhere: tape paths point back to the tapes
    shutil.copytree(DEALS / "tapes", tmp_path / "deals" / "tapes")
    copy = tmp_path / "deals" / "d.yaml"
    copy.write_text(text, encoding="utf-8")
    moved = deal_text(copy, {}, tmp_path / "out" / "x")
    assert yaml.safe_load(moved)["pools"][0]["tape"] == "../../deals/tapes/sz_pledge_2026_1.csv"


def test_funding_and_tdr_outputs_are_frames(agency_sz):
    for df in (agency_sz.targets, agency_sz.bdr, agency_sz.table, agency_sz.summary, agency_sz.stresses):
        assert isinstance(df, pd.DataFrame) and len(df)
    assert set(agency_sz.targets.columns) >= {"tranche", "rating", "horizon_years", "default_probability", "quantile",
                                              "paths", "order", "tdr", "resolved"}
    assert Path(load_agency_table().source.split("(")[-1].rstrip(")")).name == "rating_idealized_default_cn.csv"
