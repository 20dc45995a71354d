"""Monte Carlo (abs_engine/studies/montecarlo.py): per-path seeds, the sparse pledge
projection against the dense one, identical results whatever the executor or chunk size
(both backends), and the simulated loss distribution against theory: the Vasicek
large-pool distribution, the exact one-factor binomial mixture, the binomial at zero
correlation, and the expected-value projection for the mean."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from builders import deal as make_deal
from builders import loan
from conftest import DEALS, SCENARIOS
from scipy.special import ndtri
from scipy.stats import binom, norm

import abs_engine as ae
from abs_engine.model.scenario import MonteCarlo, Scenario
from abs_engine.pools.pledge import SparsePledge, loan_arrays, project_pledge_pool
from abs_engine.studies.executors import Executor
from abs_engine.studies.montecarlo import BLOCK, path_rng, simulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import synthetic  # noqa: E402


def homogeneous(n: int, amortization: str = "bullet", frequency: str = "annual"):
    """``n`` equal one-year loans to ``n`` different borrowers (builders.deal: cut-off
    2026-01-31, maturity 2027-01-15, i.e. in grid month 12)."""
    loans = [loan(i, amortization=amortization, payment_frequency=frequency, collateral_value=0.0)
             for i in range(n)]
    return make_deal(loans)


# --------------------------------------------------------------------------- mechanics


def test_path_generators_are_the_spawned_children():
    children = np.random.SeedSequence(2026).spawn(40)
    for k in (0, 7, 39):
        a = path_rng(2026, k).standard_normal(5)
        b = np.random.Generator(np.random.PCG64(children[k])).standard_normal(5)
        assert np.array_equal(a, b)


@pytest.mark.parametrize("recovery_rate", [None, 0.35])
def test_sparse_projection_equals_the_dense_projection(recovery_rate):
    """On random default months (10% of the loans per path, some after repayment), every
    monthly series agrees with project_pledge_pool(default_month=...) to 1e-12 of its scale;
    the mix has all four amortisation types, four payment frequencies and floating loans."""
    pool, cutoff = synthetic.pledge_pool(400, 60, seed=3)
    grid = synthetic.month_grid(cutoff, 72)
    loans = loan_arrays(pool, cutoff, 72, ["LPR1Y"])
    sc = Scenario(name="mc", prepayment={"cpr": [0.02, 0.04, 0.08]},
                  recovery={"haircut": 0.4, "lag_months": 9, "value_decay": 0.15, "rate": recovery_rate},
                  defaults={"loans": {"L00005": dt.date(2026, 12, 1)}})
    refs = np.linspace(0.025, 0.035, 73)[None, :]
    rng = np.random.default_rng(5)
    S = 12
    dm = np.where(rng.random((S, 400)) < 0.1, rng.integers(1, 73, (S, 400)), 0)
    sparse = SparsePledge(pool, loans, sc, grid, refs).flows(dm)
    dense = project_pledge_pool(pool, loans, [sc.model_copy(update={"name": f"p{i}"}) for i in range(S)], grid,
                                np.broadcast_to(refs, (S, 1, 73)).copy(), default_month=dm)
    assert dense.default_amount.sum() > 0 and dense.recovery.sum() > 0
    for key, x in dense.series().items():
        y = sparse.series()[key]
        np.testing.assert_allclose(y, x, rtol=0, atol=1e-12 * max(np.abs(x).max(), 1.0), err_msg=key)


def _sim(deal, scenario, n, executor, chunk=None, backend="cython", **kw):
    return simulate(deal, scenario, MonteCarlo(paths=n, seed=11, correlation=0.25, **kw), executor=executor,
                    chunk=chunk, backend=backend)


def _same(a, b):
    pd.testing.assert_frame_equal(a.paths, b.paths, check_exact=True)
    pd.testing.assert_frame_equal(a.pool, b.pool, check_exact=True)


@pytest.fixture(scope="module")
def sz():
    return ae.load_deal(DEALS / "sz_pledge_2026_1.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")


@pytest.fixture(scope="module")
def plain():
    """A pledge deal whose pool has no support stack: the sparse projection applies."""
    d = synthetic.pledge_deal(300, 60)
    return d, Scenario(name="base", defaults={"cdr": 0.08}, prepayment={"cpr": 0.05},
                       recovery={"haircut": 0.5, "lag_months": 6, "value_decay": 0.1})


def test_executors_worker_counts_and_chunk_sizes_give_identical_results(backend, sz, plain):
    """Serial, threads and processes (2 workers), chunks of one block, of three blocks and a
    size that is no multiple of a block: bit-identical per-path figures, on a pool with a
    support stack (dense projection) and on one without (sparse projection)."""
    for deal, sc in (sz, plain):
        n = BLOCK + 5  # two blocks, the second partial
        ref = _sim(deal, sc, n, Executor("serial"), chunk=BLOCK, backend=backend)
        for ex, chunk in ((Executor("threads", 2), 3 * BLOCK), (Executor("threads", 2), 40),
                          (Executor("processes", 2), BLOCK)):
            _same(ref, _sim(deal, sc, n, ex, chunk=chunk, backend=backend))
        assert ref.pool["obligor_defaults"].sum() > 0


def test_backends_agree(sz):
    deal, sc = sz
    a = _sim(deal, sc, 40, Executor("serial"), backend="cython")
    b = _sim(deal, sc, 40, Executor("serial"), backend="reference")
    pd.testing.assert_frame_equal(a.pool, b.pool, check_exact=True)
    for col in ("loss", "writedown", "wal_years", "yield"):
        np.testing.assert_allclose(a.paths[col], b.paths[col], rtol=1e-12, atol=1e-6, err_msg=col)


def test_dask_local_cluster_gives_identical_results(backend, plain):
    deal, sc = plain
    n = BLOCK + 3
    ref = _sim(deal, sc, n, Executor("serial"), backend=backend)
    _same(ref, _sim(deal, sc, n, Executor("dask", 2), chunk=BLOCK, backend=backend))
    if backend == "cython":  # a running scheduler, as `--scheduler tcp://host:port` uses
        import logging

        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR) as c:
            _same(ref, _sim(deal, sc, n, Executor("dask", scheduler=c.scheduler_address), chunk=BLOCK, backend=backend))


def test_seed_changes_the_paths_and_summary_is_consistent(plain):
    deal, sc = plain
    a = _sim(deal, sc, 64, Executor("serial"))
    b = simulate(deal, sc, MonteCarlo(paths=64, seed=12, correlation=0.25), executor=Executor("serial"))
    assert not a.pool["obligor_defaults"].equals(b.pool["obligor_defaults"])
    s = a.summary().set_index("tranche")
    g = a.paths[a.paths["tranche"] == "SUB"]
    assert s.loc["SUB", "expected_loss"] == pytest.approx(g["loss_rate"].mean())
    assert s.loc["SUB", "loss_probability"] == pytest.approx((g["loss"] > 0.01).mean())
    assert s.loc["SUB", "loss_p99"] == pytest.approx(np.percentile(g["loss_rate"], 99))
    # seniority: the senior never loses more than the subordinate on any path
    w = a.paths.pivot(index="path", columns="tranche", values="loss_rate")
    assert (w["A"] <= w["SUB"] + 1e-12).all()


# --------------------------------------------------------------------------- theory

PD, RHO, N_LOANS, N_PATHS = 0.05, 0.20, 3000, 2000


def _vasicek_cdf(x, pd_, rho):
    x = np.clip(x, 1e-300, 1 - 1e-16)
    return norm.cdf((math.sqrt(1 - rho) * ndtri(x) - ndtri(pd_)) / math.sqrt(rho))


def _mixture_cdf(k, n, pd_, rho, nodes=200):
    """P(defaults <= k) of the one-factor model with n obligors: the binomial given the
    factor, integrated over the factor (Gauss-Hermite)."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    p = norm.cdf((ndtri(pd_) - math.sqrt(rho) * z) / math.sqrt(1 - rho))
    return (binom.cdf(np.asarray(k)[:, None], n, p[None, :]) * w[None, :]).sum(axis=1) / w.sum()


@pytest.fixture(scope="module")
def large_pool():
    deal = homogeneous(N_LOANS)
    sc = Scenario(name="pd5", defaults={"cdr": PD}, recovery={"rate": 0.0})
    sims = {rho: simulate(deal, sc, MonteCarlo(paths=N_PATHS, seed=20261201, correlation=rho),
                          executor=Executor("threads", 2)) for rho in (RHO, 0.0)}
    return deal, sims


def _ks(sample, cdf_at):
    xs = np.sort(sample)
    emp_hi = np.arange(1, len(xs) + 1) / len(xs)
    emp_lo = np.arange(0, len(xs)) / len(xs)
    f = cdf_at(xs)
    return float(max(np.abs(emp_hi - f).max(), np.abs(emp_lo - f).max()))


def test_default_rate_matches_the_vasicek_large_pool_distribution(large_pool):
    """Pool default rates of 2,000 paths (3,000 one-year bullet loans, PD 5%, rho 0.2):
    the Kolmogorov distance to the Vasicek distribution is within the 99.9% KS bound plus the
    pool's granularity (the distance between the exact finite-pool mixture and the Vasicek
    limit, computed here), and the mean is PD within 4 standard errors."""
    _, sims = large_pool
    rate = sims[RHO].pool["pool_default_rate"].to_numpy()
    counts = np.round(rate * N_LOANS)
    assert np.allclose(counts, rate * N_LOANS, atol=1e-6)  # equal loans: the rate counts defaults
    ks_bound = 1.95 / math.sqrt(N_PATHS)  # 99.9% quantile of the Kolmogorov distribution
    grid = np.arange(N_LOANS + 1)
    granularity = float(np.abs(_mixture_cdf(grid, N_LOANS, PD, RHO) - _vasicek_cdf(grid / N_LOANS, PD, RHO)).max())
    d = _ks(rate, lambda x: _vasicek_cdf(x, PD, RHO))
    assert d <= ks_bound + granularity, (d, ks_bound, granularity)
    assert abs(rate.mean() - PD) <= 4 * rate.std(ddof=1) / math.sqrt(N_PATHS)
    # the exact finite-pool mixture, without the granularity allowance
    d_exact = _ks(counts, lambda k: _mixture_cdf(k.astype(int), N_LOANS, PD, RHO))
    assert d_exact <= ks_bound, d_exact
    # and the tail: the 99th percentile within the sampling band of the Vasicek quantile
    q = np.percentile(rate, 99)
    lo, hi = (norm.cdf((ndtri(PD) + math.sqrt(RHO) * ndtri(u)) / math.sqrt(1 - RHO)) for u in (0.985, 0.995))
    assert lo - 3 / N_LOANS <= q <= hi + 3 / N_LOANS


def test_zero_correlation_gives_the_binomial(large_pool):
    _, sims = large_pool
    counts = np.round(sims[0.0].pool["pool_default_rate"].to_numpy() * N_LOANS)
    mean, var = N_LOANS * PD, N_LOANS * PD * (1 - PD)
    assert abs(counts.mean() - mean) <= 4 * math.sqrt(var / N_PATHS)
    # the sample variance of 2,000 binomial draws: within 4 of its standard errors
    assert abs(counts.var(ddof=1) - var) <= 4 * var * math.sqrt(2 / (N_PATHS - 1))
    assert _ks(counts, lambda k: binom.cdf(k, N_LOANS, PD)) <= 1.95 / math.sqrt(N_PATHS) + binom.pmf(int(mean), N_LOANS, PD)
    # correlation widens the distribution: far more variance than the binomial
    assert sims[RHO].pool["pool_default_rate"].var() > 10 * (counts / N_LOANS).var()


def test_mean_defaults_equal_the_expected_value_projection():
    """With correlation, amortising loans and prepayments, the mean simulated default amount
    per payment period is the expected-value projection's (CDR on the balance) within 4
    standard errors: the copula keeps every obligor's marginal default time."""
    deal = homogeneous(400, amortization="annuity", frequency="monthly")
    sc = Scenario(name="ev", defaults={"cdr": 0.12}, prepayment={"cpr": 0.1}, recovery={"rate": 0.3, "lag_months": 3})
    sim = simulate(deal, sc, MonteCarlo(paths=1500, seed=3, correlation=0.3), executor=Executor("threads", 2))
    ev = ae.run(deal, sc)
    ev_defaults = sum(p.series["default_amount"].sum() for p in ev.pools)
    x = sim.pool["pool_defaults"].to_numpy()
    assert abs(x.mean() - ev_defaults) <= 4 * x.std(ddof=1) / math.sqrt(len(x)), (x.mean(), ev_defaults)


def _pudong(support: bool = False):
    deal = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    if not support:  # the copula alone, without the pool's credit insurance
        deal = deal.model_copy(update={"pools": [p.model_copy(update={"support": []}) for p in deal.pools]})
    return deal


def test_licence_pool_patents_are_invalidated_with_their_hazard():
    """Pudong licence deal, 8% annual invalidation hazard: the mean share of patents
    invalidated by the last grid month matches 1 - 0.92^(M/12) within sampling error, and
    the named invalidation events still apply on every path."""
    deal = _pudong()
    base = ae.load_scenario(SCENARIOS / "pudong_two_invalidations.yaml")
    sc = base.model_copy(update={"patents": base.patents.model_copy(update={"invalidation_hazard": 0.08})})
    sim = simulate(deal, sc, MonteCarlo(paths=400, seed=9, patent_correlation=0.3), executor=Executor("threads", 2))
    from abs_engine.studies.montecarlo import build_model

    n_pat = len(deal.pools[0].patents)
    M = build_model(type("C", (), {"deal": deal, "scenario": sc, "settings": MonteCarlo(), "fast": True})()).M
    share = sim.pool["patents_invalidated"].to_numpy() / n_pat
    expected = 1 - 0.92 ** (M / 12)
    assert abs(share.mean() - expected) <= 4 * share.std(ddof=1) / math.sqrt(len(share)) + 1e-9
    none = simulate(deal, base, MonteCarlo(paths=BLOCK, seed=9), executor=Executor("serial"))
    assert (none.pool["patents_invalidated"] == 0).all()
    assert (none.pool["pool_loss"] > 0).all()  # the two named invalidations


def test_licence_pool_with_its_support_stack_under_invalidations():
    """The same run with the pool's credit insurance (dense receivable projection with its
    layers): it runs through every path (a -7e-12 rounding claim once stopped it), the draws
    are those of the run without the layers (same seed, same obligors and patents), and the
    layers change the pool's loss on the paths with defaults."""
    base = ae.load_scenario(SCENARIOS / "pudong_two_invalidations.yaml")
    sc = base.model_copy(update={"patents": base.patents.model_copy(update={"invalidation_hazard": 0.08})})
    settings = MonteCarlo(paths=400, seed=9, patent_correlation=0.3)
    with_layers = simulate(_pudong(support=True), sc, settings, executor=Executor("threads", 2))
    without = simulate(_pudong(), sc, settings, executor=Executor("threads", 2))
    for col in ("patents_invalidated", "obligor_defaults"):
        pd.testing.assert_series_equal(with_layers.pool[col], without.pool[col])
    defaults = with_layers.pool["pool_defaults"].to_numpy() > 0
    assert defaults.any()
    differ = ~np.isclose(with_layers.pool["pool_loss"], without.pool["pool_loss"], rtol=1e-9)
    assert differ[defaults].any()


def test_support_parties_fail_on_paths_with_their_default_probability():
    """A support party's failure is drawn per path (after every other draw, so the obligors'
    draws are unchanged): certain failure equals failing it in month 1 in the scenario,
    probability 0 equals no failure, and the share of paths where it fails within the grid
    is 1 - (1 - pd)^(M/12)."""
    import abs_engine as ae
    from abs_engine.engine import projection_grid
    from abs_engine.model.scenario import MonteCarlo
    from abs_engine.studies import Executor

    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    stress = ae.load_scenario(SCENARIOS / "stress.yaml")
    M, sched = projection_grid(deal, [stress])
    ex = Executor("serial")
    plain = simulate(deal, stress, MonteCarlo(paths=64, seed=5), executor=ex)
    never = simulate(deal, stress, MonteCarlo(paths=64, seed=5, support_default_probability={"guarantee": 0.0}), executor=ex)
    pd.testing.assert_frame_equal(plain.paths, never.paths)
    month1 = stress.model_copy(update={"support_failures": {"guarantee": sched.grid[1], "undertaking": sched.grid[1]}})
    fixed = simulate(deal, month1, MonteCarlo(paths=64, seed=5), executor=ex)
    sure = simulate(deal, stress, MonteCarlo(paths=64, seed=5, support_default_probability={"guarantee": 1.0, "undertaking": 1.0}),
                    executor=ex)
    pd.testing.assert_frame_equal(fixed.paths, sure.paths)
    assert (sure.pool["support_failures"] == 2).all() and (plain.pool["support_failures"] == 0).all()
    # a failing guarantor never leaves the senior better off
    assert sure.paths.groupby("tranche")["loss"].mean()["A"] >= plain.paths.groupby("tranche")["loss"].mean()["A"]
    p = 0.3
    some = simulate(deal, stress, MonteCarlo(paths=2000, seed=9, support_default_probability={"guarantee": p}),
                    executor=Executor("threads", workers=2))
    want = 1.0 - (1.0 - p) ** (M / 12.0)
    got = some.pool["support_failures"].mean()
    assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / 2000)
    with pytest.raises(ae.InputError, match="support_default_probability.guarantor: not a support party"):
        simulate(deal, stress, MonteCarlo(paths=8, support_default_probability={"guarantor": 0.1}), executor=ex)


def test_sparse_and_dense_set_collateral_against_the_balance_not_prepaid():
    """With prepayments, a path's default recovers against the loan's balance where it has
    not prepaid (sparse and dense alike): 1,000,000 bullet, 600,000 collateral, 20% a month
    prepaid, default in month 5 -> 409,600 defaulted, 60% of it recovered."""
    d = make_deal([loan(1, amortization="bullet", collateral_value=600_000.0)])
    pool = d.pools[0]
    cutoff = d.deal.cutoff_date
    grid = [cutoff] + [dt.date(2026 + (m + 1) // 12, (m + 1) % 12 + 1, 28) for m in range(1, 13)]
    loans = loan_arrays(pool, cutoff, 12, [])
    sc = Scenario(name="mc", prepayment={"cpr": 1 - 0.8 ** 12}, recovery={"haircut": 0.0, "lag_months": 0})
    dm = np.array([[5]])
    refs = np.zeros((0, 13))
    sparse = SparsePledge(pool, loans, sc, grid, refs).flows(dm)
    dense = project_pledge_pool(pool, loans, [sc], grid, refs[None], default_month=dm)
    for f in (sparse, dense):
        assert f.default_amount[0, 5] == pytest.approx(409_600.0, abs=0.005)
        assert f.recovery[0, 5] == pytest.approx(245_760.0, abs=0.005)
