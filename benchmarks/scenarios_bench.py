"""Benchmarks of the scenario runs (abs_engine/studies/), used by benchmarks/run.py:

* ``mc_10k_loans_1k_paths_s``: :func:`abs_engine.studies.simulate` on the synthetic
  10,000-loan pledge deal (benchmarks/synthetic.py ``pledge_deal``: 120 monthly periods,
  three tranches, reserve, fees, an acceleration trigger) x 1,000 paths (6% CDR, rho 0.2), end to end
  (copula draws, projection of every path, waterfall, per-path measures, the summary), on
  local threads using every core; the deal object is built before timing (reported as
  ``mc_deal_build_s``, the equivalent of loading its tape);
* ``mc_fixed_cost_s``: the same simulation with one path (paths -> 0): what a run costs
  before its first path (building the model, checks, laying the loans on the grid, the
  no-default flows), best of ``repeat`` after the 1,000-path runs;
* ``mc_peak_rss_mb``: peak resident memory of a fresh process that builds that deal and runs
  those simulations (everything the process ever held, interpreter and libraries included),
  read by the process itself (``VmHWM`` of ``/proc/self/status``: a child's ``ru_maxrss``
  starts from its parent's);
* ``dask_over_threads``: the 1,000-path simulation on a Dask ``LocalCluster`` of one worker
  per core (started and closed inside the timed run, as ``simulate --dask`` does) over the
  time on threads, same process (after the memory figure is read);
* ``sweep_1k_scenarios_10k_loans_s``: :func:`abs_engine.studies.sweep` of 1,000 scenarios
  (benchmarks/synthetic.py ``pledge_scenarios``: CDR constant or by month, CPR, recovery by
  collateral or rate, five named loan defaults each) on the same deal, local threads on
  every core, in a child process of its own;
* ``breakeven_all_tranches_s``: :func:`abs_engine.studies.breakeven` for every tranche of
  the example deal (deals/sz_pledge_2026_1.yaml) under scenarios/stress_guarantor_fails.yaml,
  every default stress that applies (constant CDR, multiple of the base, recovery rate).

The Monte Carlo and the sweep run in child processes (``python benchmarks/scenarios_bench.py
--mc-child ...`` / ``--sweep-child ...``) so that their peak memory is their own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB: ``VmHWM`` (reset by ``exec``, unlike
    ``ru_maxrss``, which a child inherits from its parent), ``ru_maxrss`` where there is no
    ``/proc``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _mc_child(n_loans: int, paths: int, repeat: int, dask: bool) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import synthetic

    from abs_engine.model.scenario import MonteCarlo, Scenario
    from abs_engine.studies.executors import Executor
    from abs_engine.studies.montecarlo import simulate

    t0 = time.perf_counter()
    deal = synthetic.pledge_deal(n_loans, 120)
    build = time.perf_counter() - t0
    base = Scenario(name="base", defaults={"cdr": 0.06}, prepayment={"cpr": 0.05},
                    recovery={"haircut": 0.5, "lag_months": 12, "value_decay": 0.1})
    settings = MonteCarlo(paths=paths, seed=20261201, correlation=0.20)

    def timed(ex: Any, n: int, settings: Any = settings) -> tuple[list[float], Any, Any]:
        times, sim, summary = [], None, None
        for _ in range(n):
            t0 = time.perf_counter()
            sim = simulate(deal, base, settings, executor=ex)
            summary = sim.summary()
            times.append(time.perf_counter() - t0)
        return times, sim, summary

    times, sim, summary = timed(Executor("threads"), repeat)
    fixed, _, _ = timed(Executor("threads"), max(repeat, 3), MonteCarlo(paths=1, seed=20261201, correlation=0.20))
    peak = peak_rss_mb()
    out: dict[str, Any] = {
        "mc_10k_loans_1k_paths_s": min(times),
        "mc_fixed_cost_s": min(fixed),
        "mc_peak_rss_mb": peak,
    }
    details: dict[str, Any] = {
        "loans": n_loans, "months": 120, "paths": paths, "tranches": len(deal.tranches),
        "executor": sim.executor, "sparse_projection": sim.sparse, "sparse_check_max_rel_diff": sim.sparse_check,
        "mc_deal_build_s": build, "runs_s": times, "paths_per_s": paths / min(times), "fixed_cost_runs_s": fixed,
        "obligor_defaults_mean": float(sim.pool["obligor_defaults"].mean()),
        "pool_loss_rate_mean": float(sim.pool["pool_loss_rate"].mean()),
        "expected_loss": dict(zip(summary["tranche"], summary["expected_loss"].astype(float), strict=True)),
        "mc_fixed_cost_s_is": "simulate + summary with 1 path, threads, best of the runs",
        "mc_peak_rss_mb_is": "VmHWM of a fresh process that built the deal and ran the threads simulations "
                             "(read before the Dask runs)",
    }
    if dask:
        dtimes, dsim, dsummary = timed(Executor("dask"), 1)
        same = dsim.paths.equals(sim.paths) and dsim.pool.equals(sim.pool) and dsummary.equals(summary)
        if not same:
            raise SystemExit("the Dask simulation differs from the threads one")
        out["dask_over_threads"] = min(dtimes) / min(times)
        details.update({"dask_executor": dsim.executor, "dask_runs_s": dtimes, "dask_equals_threads": same})
    out["mc_details"] = details
    return out


def bench_montecarlo(n_loans: int = 10_000, paths: int = 1_000, repeat: int = 2, dask: bool = True) -> dict[str, Any]:
    """Run the Monte Carlo benchmark in a child process; its JSON result."""
    return _child("--mc-child", str(n_loans), str(paths), str(repeat), "1" if dask else "0")


def _sweep_child(n_loans: int, n_scenarios: int, repeat: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import synthetic

    from abs_engine.studies import sweep
    from abs_engine.studies.executors import Executor

    deal = synthetic.pledge_deal(n_loans, 120)
    pool = deal.pools[0]
    grid = synthetic.month_grid(deal.deal.cutoff_date, 120)
    scenarios, _ = synthetic.pledge_scenarios(n_scenarios, [a.loan_id for a in pool.assets], grid)
    ex = Executor("threads")
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = sweep(deal, scenarios, executor=ex)
        times.append(time.perf_counter() - t0)
    assert out is not None
    return {
        "sweep_1k_scenarios_10k_loans_s": min(times),
        "sweep_details": {
            "loans": n_loans, "scenarios": n_scenarios, "executor": ex.describe(), "runs_s": times,
            "ms_per_scenario": min(times) / n_scenarios * 1e3, "peak_rss_mb": peak_rss_mb(),
            "tranche_loss_mean": {str(k): float(v) for k, v in out.tranches.groupby("tranche")["loss"].mean().items()}
            if "loss" in out.tranches.columns else None,
        },
    }


def bench_sweep(n_loans: int = 10_000, n_scenarios: int = 1_000, repeat: int = 1) -> dict[str, Any]:
    """Run the sweep benchmark in a child process; its JSON result."""
    return _child("--sweep-child", str(n_loans), str(n_scenarios), str(repeat))


def _child(*args: str) -> dict[str, Any]:
    p = subprocess.run([sys.executable, str(Path(__file__)), *args], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(f"the benchmark child {' '.join(args)} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_breakeven(repeat: int = 5) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import synthetic  # noqa: F401  (puts the abs_engine to measure on the path)

    import abs_engine as ae
    from abs_engine.studies.breakeven import breakeven

    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    base = ae.load_scenario(ROOT / "scenarios" / "stress_guarantor_fails.yaml")
    breakeven(deal, base)  # warm-up
    times, be = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        be = breakeven(deal, base)
        times.append(time.perf_counter() - t0)
    assert be is not None
    return {
        "breakeven_all_tranches_s": min(times),
        "breakeven_details": {
            "deal": "deals/sz_pledge_2026_1.yaml", "base": "scenarios/stress_guarantor_fails.yaml",
            "stresses": sorted(set(be.table["stress"])), "tranches": sorted(set(be.table["tranche"])),
            "scenarios_evaluated": be.evaluations, "engine_calls": be.engine_calls, "runs_s": times,
            "breakeven": {f"{r.stress}:{r.tranche}": (None if r.breakeven != r.breakeven else float(r.breakeven))
                          for r in be.table.itertuples()},
        },
    }


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--mc-child":
        print(json.dumps(_mc_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")))
    elif len(sys.argv) == 5 and sys.argv[1] == "--sweep-child":
        print(json.dumps(_sweep_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        raise SystemExit("usage: python benchmarks/scenarios_bench.py --mc-child N_LOANS PATHS REPEAT DASK(0|1)\n"
                         "       python benchmarks/scenarios_bench.py --sweep-child N_LOANS SCENARIOS REPEAT")
