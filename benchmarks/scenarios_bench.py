"""Benchmarks of the scenario runs (abs_engine/studies/), used by benchmarks/run.py:

* ``mc_10k_loans_1k_paths_s``: :func:`abs_engine.studies.simulate` on the synthetic
  10,000-loan pledge deal (benchmarks/synthetic.py ``pledge_deal``: 120 monthly periods,
  three tranches, reserve, fees, an acceleration trigger) x 1,000 paths (6% CDR, rho 0.2), end to end
  (copula draws, projection of every path, waterfall, per-path measures, the summary), on
  local threads using every core; the deal object is built before timing (reported as
  ``mc_deal_build_s``, the equivalent of loading its tape);
* ``mc_peak_rss_mb``: peak resident memory of a fresh process that builds that deal and runs
  that simulation (everything the process ever held, interpreter and libraries included);
* ``breakeven_all_tranches_s``: :func:`abs_engine.studies.breakeven` for every tranche of
  the example deal (deals/sz_pledge_2026_1.yaml) under scenarios/stress_guarantor_fails.yaml,
  every default stress that applies (constant CDR, multiple of the base, recovery rate).

The Monte Carlo runs in a child process (``python benchmarks/scenarios_bench.py --mc-child
...``) so that its peak memory is its own and not the kernel benchmark's.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _mc_child(n_loans: int, paths: int, repeat: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
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
    ex = Executor("threads")
    times = []
    sim = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        sim = simulate(deal, base, settings, executor=ex)
        summary = sim.summary()
        times.append(time.perf_counter() - t0)
    assert sim is not None
    return {
        "mc_10k_loans_1k_paths_s": min(times),
        "mc_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "mc_details": {
            "loans": n_loans, "months": 120, "paths": paths, "tranches": len(deal.tranches),
            "executor": sim.executor, "sparse_projection": sim.sparse, "sparse_check_max_rel_diff": sim.sparse_check,
            "mc_deal_build_s": build, "runs_s": times, "paths_per_s": paths / min(times),
            "obligor_defaults_mean": float(sim.pool["obligor_defaults"].mean()),
            "pool_loss_rate_mean": float(sim.pool["pool_loss_rate"].mean()),
            "expected_loss": dict(zip(summary["tranche"], summary["expected_loss"].astype(float), strict=True)),
            "mc_peak_rss_mb_is": "ru_maxrss of a fresh process that built the deal and ran the simulation",
        },
    }


def bench_montecarlo(n_loans: int = 10_000, paths: int = 1_000, repeat: int = 2) -> dict[str, Any]:
    """Run the Monte Carlo benchmark in a child process; its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, str(Path(__file__)), "--mc-child", str(n_loans), str(paths), str(repeat)],
                       capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        raise SystemExit(f"the Monte Carlo benchmark failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_breakeven(repeat: int = 5) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
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
    if len(sys.argv) == 5 and sys.argv[1] == "--mc-child":
        print(json.dumps(_mc_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        raise SystemExit("usage: python benchmarks/scenarios_bench.py --mc-child N_LOANS PATHS REPEAT")
