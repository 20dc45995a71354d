"""Static-pool analysis (abs_engine/staticpool/, docs/static-pool.md): the shipped synthetic
history of the SZ originator is recovered within the stated tolerances, the method is exact
on noise-free data, bad histories are refused with every problem at once, and the command
writes scenario files every other command runs."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEALS, ROOT

import abs_engine as ae
from abs_engine.io import load_grid, load_scenario
from abs_engine.staticpool import analyse, fit_ramp, load_history
from abs_engine.staticpool.analysis import RampCurve, cumulative

HISTORY = DEALS / "history"


def _generator():
    spec = importlib.util.spec_from_file_location("make_sz_static_pool", DEALS / "tools" / "make_sz_static_pool.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _generator()


def test_the_generator_reproduces_the_shipped_history(tmp_path):
    GEN.main(tmp_path)
    for name in ("sz_loans.csv", "sz_performance.csv"):
        assert (tmp_path / name).read_bytes() == (HISTORY / name).read_bytes(), name


@pytest.fixture(scope="module")
def shipped():
    return analyse(load_history(HISTORY / "sz_performance.csv", loans=HISTORY / "sz_loans.csv"))


def test_the_analysis_recovers_the_curves_it_was_generated_from(shipped):
    """The shipped history (1,440 loans, about 120 defaults) against the generator's truth,
    within the stated tolerances (docs/static-pool.md, "Checked"): about 2.5 standard
    deviations of each figure over 16 histories drawn with other seeds (cumulative default
    probability to 24 months: sd 10%; to 36 months: 16%; cumulative prepayment: 8%;
    recovery rate: 1.9 points; the lag was 11 months in all)."""
    sp = shipped
    for months, tol in ((24, 0.25), (36, 0.40)):
        a = np.arange(1, months + 1)
        fit, true = cumulative(sp.default_curve(a))[-1], cumulative(GEN.mdr(a))[-1]
        assert fit == pytest.approx(true, rel=tol), (months, fit, true)
        fit, true = cumulative(sp.prepayment_curve(a))[-1], cumulative(GEN.smm(a))[-1]
        assert fit == pytest.approx(true, rel=0.20), (months, fit, true)
    assert sp.recovery_rate == pytest.approx(GEN.TRUE["recovery_rate"], abs=0.05)
    lags, split = GEN.TRUE["recovery_lags"], GEN.TRUE["recovery_split"]
    assert abs(sp.recovery_lag - sum(x * w for x, w in zip(lags, split, strict=True))) <= 1
    # the recovery timing: the two instalments, in the generator's split
    t = sp.recovery_timing.set_index("months_since_default")["share"]
    assert t.index.tolist() == list(lags) and t.to_numpy() == pytest.approx(split, abs=0.05)
    # delinquency: 1.5% of current loans miss a payment and 70% of those pay it the next
    # month; defaulting loans enter too (three months before their default) and never cure
    assert sp.pipeline["entry"] == pytest.approx(GEN.TRUE["miss"] + 0.004, abs=0.004)
    assert sp.pipeline["roll"][2] == 1.0 and sp.pipeline["cure"][2] == 0.0
    assert 0.4 < sp.pipeline["cure"][0] < GEN.TRUE["cure_first_month"]


def test_vintages_by_age_and_their_extrapolation(shipped):
    sp = shipped
    v = sp.vintages.set_index("vintage")
    assert len(v) == 20 and (v["loans"] == 72).all()
    # each vintage is reported to the age all its loans reached by the as-of month (2026-06)
    assert v.loc["2025Q4", "observed_age"] == 6 and v.loc["2021Q1", "observed_age"] == 63
    curves = sp.vintage_curves
    assert curves.groupby("vintage")["age"].max().to_dict() == v["observed_age"].to_dict()
    last = curves.groupby("vintage").tail(1).set_index("vintage")
    np.testing.assert_allclose(last["cumulative_default_rate"], v["cumulative_default_rate"])
    # mature vintages are their own lifetime; the curve's shape extrapolates the others
    mature = v[v["timing_share"] >= 1.0]
    np.testing.assert_allclose(mature["projected_lifetime_default_rate"], mature["cumulative_default_rate"])
    young = v[(v["timing_share"] > 0.05) & (v["timing_share"] < 1.0)]
    np.testing.assert_allclose(young["projected_lifetime_default_rate"],
                               young["cumulative_default_rate"] / young["timing_share"])


def _noise_free_history(path: Path, vintages: int = 8, per_vintage: int = 1000) -> None:
    """Loans of equal size whose defaults follow the same timing in every vintage exactly:
    in month of age ``a`` of each vintage, ``defaults[a]`` loans default (none prepay)."""
    defaults = {3: 10, 4: 20, 5: 30, 6: 20, 7: 10, 8: 5}  # 95 of 1000 over the life
    rows = []
    as_of = dt.date(2024, 12, 1)
    for v in range(vintages):
        origin = dt.date(2022 + v // 4, 3 * (v % 4) + 1, 1)
        k = 0
        for i in range(per_vintage):
            lid = f"V{v}L{i}"
            when = None
            if k < sum(defaults.values()):
                cum = 0
                for age, n in sorted(defaults.items()):
                    cum += n
                    if i < cum:
                        when = age
                        break
                k += 1
            for age in range(1, 13):
                y, m = divmod(origin.month - 1 + age, 12)
                month = dt.date(origin.year + y, m + 1, 1)
                if month > as_of:
                    break
                if when is not None and age == when:
                    rows.append([lid, origin, 1e6, month.strftime("%Y-%m"), 0.0, 91, 0.0, 1e6, 0.0])
                    break
                rows.append([lid, origin, 1e6, month.strftime("%Y-%m"), 1e6 if age < 12 else 0.0, 0, 0.0, 0.0, 0.0])
    pd.DataFrame(rows, columns=["loan_id", "origination_date", "original_balance", "month", "balance", "days_past_due",
                                "prepaid", "defaulted", "recovered"]).to_csv(path, index=False)


def test_the_method_is_exact_on_noise_free_data(tmp_path):
    """Every vintage defaults 9.5% of its loans with the same timing: the pooled monthly
    default rates are the hazards of that timing, and every vintage observed beyond its first
    defaults projects a lifetime default rate of exactly 9.5%."""
    _noise_free_history(tmp_path / "h.csv")
    sp = analyse(load_history(tmp_path / "h.csv"))
    alive, hazard = 1000, {}
    for age, n in sorted({3: 10, 4: 20, 5: 30, 6: 20, 7: 10, 8: 5}.items()):
        hazard[age] = n / alive
        alive -= n
    b = sp.by_age.set_index("age")
    for age, h in hazard.items():
        assert b.loc[age, "mdr"] == pytest.approx(h, rel=1e-12)
    v = sp.vintages.set_index("vintage")
    seen = v[v["timing_share"] >= 0.05]
    assert len(seen) >= 5
    np.testing.assert_allclose(seen["projected_lifetime_default_rate"], 0.095, rtol=1e-9)


def test_fit_ramp_recovers_an_exact_curve():
    truth = RampCurve(peak=0.006, ramp=9, plateau=18, decline=30, tail=0.0015)
    ages = np.arange(1, 49)
    fit = fit_ramp(ages, truth(ages), np.ones(48))
    assert (fit.ramp, fit.plateau, fit.decline) == (9, 18, 30)
    assert fit.peak == pytest.approx(0.006, rel=1e-9) and fit.tail == pytest.approx(0.0015, rel=1e-9)
    # the points the scenario file writes reproduce the curve month by month
    from abs_engine.curves import monthly_rates
    from abs_engine.model.curves import DefaultCurve

    written = monthly_rates(DefaultCurve(mdr={"points": fit.points()}, by="loan_age"), 48)[1:]
    np.testing.assert_allclose(written, truth(ages), rtol=0, atol=1e-10)  # (points to 10 decimals)
    step = RampCurve(peak=0.003, ramp=1, plateau=5, decline=5, tail=0.01)
    written = monthly_rates(DefaultCurve(mdr={"points": step.points()}, by="loan_age"), 10)[1:]
    np.testing.assert_allclose(written, step(np.arange(1, 11)), rtol=0, atol=1e-10)


def test_a_bad_history_lists_every_problem(tmp_path):
    (tmp_path / "loans.csv").write_text(
        "loan_id,origination_date,original_balance,industry\nA,2024-01-10,1000000,x\nB,2024-13-01,500000,y\n"
        "C,2024-01-05,-5,z\nA,2024-02-01,1,x\n", encoding="utf-8")
    (tmp_path / "perf.csv").write_text(
        "loan_id,month,balance,days_past_due,prepaid,defaulted,recovered\n"
        "A,2024-02,900000,0,0,0,0\nA,2024-04,800000,0,0,0,0\nA,2024-04,800000,0,0,0,0\n"
        "B,2024-02,1 000,0,0,0,0\nC,2024-02,0,1.5,0,0,0\nZ,2024-02,10,0,0,0,0\n", encoding="utf-8")
    with pytest.raises(ae.InputError) as exc:
        load_history(tmp_path / "perf.csv", loans=tmp_path / "loans.csv")
    text = str(exc.value)
    for fragment in ("loans.csv: row 5: loan_id: duplicate id 'A' (first at row 2)",
                     "loans.csv: row 3: origination_date: should be a date",
                     "loans.csv: row 4: original_balance: must not be negative (got -5)",
                     "perf.csv: row 5: balance: should be a number (got '1 000')",
                     "perf.csv: row 6: days_past_due: should be a whole number of days (got 1.5)"):
        assert fragment in text, (fragment, text)
    # once the values are readable, the loans' histories are checked
    (tmp_path / "loans.csv").write_text("loan_id,origination_date,original_balance\nA,2024-01-10,1000000\n"
                                        "B,2024-01-01,500000\n", encoding="utf-8")
    (tmp_path / "perf.csv").write_text(
        "loan_id,month,balance,prepaid,defaulted,recovered\n"
        "A,2024-02,900000,0,0,0\nA,2024-04,950000,0,0,0\nA,2024-04,800000,0,0,0\n"
        "B,2024-03,500000,0,0,0\nB,2024-04,0,0,500000,0\nB,2024-05,0,0,0,100000\nZ,2024-02,10,0,0,0\n", encoding="utf-8")
    with pytest.raises(ae.InputError) as exc:
        load_history(tmp_path / "perf.csv", loans=tmp_path / "loans.csv")
    text = str(exc.value)
    assert "perf.csv: row 8: loan_id: loan 'Z' is not in the loan table loans.csv" in text
    with pytest.raises(ae.InputError) as exc:
        load_history(_drop_line(tmp_path / "perf.csv", "Z,"), loans=tmp_path / "loans.csv")
    text = str(exc.value)
    for fragment in ("row 4: month: a second row for 2024-04 of this loan",
                     "row 3: month: 2024-04: a month of the loan is missing before it",
                     "row 5: month: the history of loan 'B' starts in its month of life 2"):
        assert fragment in text, (fragment, text)


def _drop_line(path: Path, prefix: str) -> Path:
    lines = [x for x in path.read_text(encoding="utf-8").splitlines() if not x.startswith(prefix)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_file_and_parquet_forms(tmp_path):
    """The history in one file (the loan columns on every row), as Parquet, gives the same
    analysis as the two CSV files."""
    loans = pd.read_csv(HISTORY / "sz_loans.csv").head(200)
    perf = pd.read_csv(HISTORY / "sz_performance.csv")
    one = perf[perf["loan_id"].isin(loans["loan_id"])].merge(loans, on="loan_id")
    one.to_parquet(tmp_path / "one.parquet", index=False)
    loans.to_csv(tmp_path / "loans.csv", index=False)
    perf[perf["loan_id"].isin(loans["loan_id"])].to_csv(tmp_path / "perf.csv", index=False)
    a = analyse(load_history(tmp_path / "one.parquet"))
    b = analyse(load_history(tmp_path / "perf.csv", loans=tmp_path / "loans.csv"))
    pd.testing.assert_frame_equal(a.by_age, b.by_age)
    for key in ("defaults", "prepayment", "recovery"):  # (the descriptions name the files)
        assert a.scenario("x")[key] == b.scenario("x")[key]


def test_static_pool_command_writes_scenarios_the_other_commands_run(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "abs_engine.cli", "static-pool", str(HISTORY / "sz_performance.csv"),
                        "--loans", str(HISTORY / "sz_loans.csv"), "--name", "sz_fitted", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300, encoding="utf-8")
    assert p.returncode == 0, p.stdout + p.stderr
    for f in ("static_pool_vintages.csv", "static_pool_vintage_curves.csv", "static_pool_by_age.csv",
              "static_pool_recovery_timing.csv", "static_pool_roll_rates.csv", "vintage_curves.png",
              "fitted_curves.png", "sz_fitted.yaml", "sz_fitted_stresses.yaml", "sz_fitted_delinquency.yaml",
              "manifest.json"):
        assert (out / f).is_file(), f
    assert set(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["inputs"]) == {"history", "loans"}
    sc = load_scenario(out / "sz_fitted.yaml")
    sp = analyse(load_history(HISTORY / "sz_performance.csv", loans=HISTORY / "sz_loans.csv"))
    assert sc.defaults.cdr.by_age and sc.prepayment.cpr.by_age
    n = len(sc.defaults.cdr.mdr)
    np.testing.assert_allclose(sc.defaults.cdr.mdr, sp.default_curve(np.arange(1, n + 1)), rtol=1e-6, atol=1e-10)
    assert sc.recovery.rate == pytest.approx(sp.recovery_rate, abs=1e-6)
    grid = load_grid(out / "sz_fitted_stresses.yaml")
    assert [s.name for s in grid.scenarios][-1] == "sz_fitted_stresses[rating=AAA]"
    assert grid.scenarios[-1].defaults.cdr.mdr == pytest.approx([5 * x for x in sc.defaults.cdr.mdr])
    dq = load_scenario(out / "sz_fitted_delinquency.yaml")
    assert dq.delinquency is not None and dq.defaults.cdr == 0.0
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    r = ae.run(deal, [sc, *grid.scenarios[-2:]])
    r.check_conservation()
    pool = r.pool.groupby("scenario")["default_amount"].sum()
    assert 0 < pool["sz_fitted"] < pool["sz_fitted_stresses[rating=AAA]"]
    bad = subprocess.run([sys.executable, "-m", "abs_engine.cli", "static-pool", str(tmp_path / "missing.csv")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, encoding="utf-8")
    assert bad.returncode == 2 and "missing.csv" in bad.stderr + bad.stdout


def test_vintages_are_flagged_by_maturity_and_no_projection_exceeds_the_balance(shipped, tmp_path):
    """The shipped history: vintages with >= 95% of their lifetime defaults behind them are
    seasoned, the younger ones seasoning (projected) or immature (not); a young vintage that
    defaults much faster than the pooled timing would project more than its balance: capped
    at 100% with a note."""
    v = shipped.vintages.set_index("vintage")
    assert (v.loc[v["timing_share"] >= 0.95, "maturity"] == "seasoned").all()
    seasoning = v[(v["timing_share"] >= 0.05) & (v["timing_share"] < 0.95)]
    assert len(seasoning) and (seasoning["maturity"] == "seasoning").all()
    assert seasoning["note"].str.startswith("seasoning").all() and (v.loc[v["maturity"] == "seasoned", "note"] == "").all()
    # a history whose last vintage, observed to its 3rd month, loses 60% of its loans in it,
    # where the pooled timing expects about half of lifetime defaults by then: observed / T(3) > 100%
    _noise_free_history(tmp_path / "h.csv")
    h = pd.read_csv(tmp_path / "h.csv")
    age = h.groupby("loan_id").cumcount()
    last = h["loan_id"].str.startswith("V7L")
    h = h[~last | (age <= 2)].copy()
    hit = last & (age == 2) & h["loan_id"].isin([f"V7L{i}" for i in range(95, 695)])
    h.loc[hit, ["balance", "days_past_due", "defaulted"]] = [0.0, 91, 1e6]
    as_of = h.loc[last, "month"].max()
    h[h["month"] <= as_of].to_csv(tmp_path / "h2.csv", index=False)
    sp = analyse(load_history(tmp_path / "h2.csv"))
    y = sp.vintages.set_index("vintage").iloc[-1]
    assert y["cumulative_default_rate"] / y["timing_share"] > 1.0
    assert y["projected_lifetime_default_rate"] == 1.0 and "capped at 100%" in y["note"]
    assert (sp.vintages["projected_lifetime_default_rate"].dropna() <= 1.0).all()
