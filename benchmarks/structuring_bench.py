"""Benchmarks of the structuring tools (abs_engine/studies/sizing.py, compare.py), used by
benchmarks/run.py (docs/performance.md, "Structuring"):

* ``size_sz_aaa_s``: :func:`abs_engine.studies.sizing.size` of the example deal's senior
  (deals/sz_pledge_2026_1.yaml) to AAA under scenarios/base.yaml with the default settings
  (10,000 Monte Carlo paths, the seven stresses, 10,000-unit steps) and the deal's stress
  scenario scenarios/stress_guarantor_fails.yaml, on local threads using every core: the
  Monte Carlo, the target levels, the bisection and the break-even check of the solution and
  one step more. ``size_sz_aaa_no_support_s`` is the same without support in the stresses
  (the agency test binds). The deal is loaded before timing.
* ``compare_3x20_s``: :func:`abs_engine.studies.compare.compare` of three structures of the
  example deal (as written, senior at 90% and at 85% of the notes) under 20 scenarios (base,
  stress, the 15 points of scenarios/grid_cdr_recovery.yaml and three derived CDR levels),
  with the Monte Carlo expected loss (1,000 paths) and every tranche's BDR;
  ``compare_3x20_workbook_s`` adds the desk's workbook.

Each is best of ``repeat`` after a warm-up run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _best(fn: Any, repeat: int) -> tuple[float, list[float], Any]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


def bench_sizing(repeat: int = 3) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import synthetic  # noqa: F401  (puts the abs_engine to measure on the path)

    import abs_engine as ae
    from abs_engine.studies.agency import StressSet
    from abs_engine.studies.executors import Executor
    from abs_engine.studies.sizing import size

    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    base = ae.load_scenario(ROOT / "scenarios" / "base.yaml")
    stress = ae.load_scenario(ROOT / "scenarios" / "stress_guarantor_fails.yaml")
    ex = Executor("threads")
    best, times, s = _best(lambda: size(deal, {"A": "AAA"}, base, [stress], executor=ex), repeat)
    best2, times2, s2 = _best(lambda: size(deal, {"A": "AAA"}, base, [], stresses=StressSet(no_support=True), executor=ex),
                              repeat)
    return {
        "size_sz_aaa_s": best,
        "size_sz_aaa_no_support_s": best2,
        "size_details": {
            "deal": "deals/sz_pledge_2026_1.yaml", "base": "scenarios/base.yaml",
            "scenarios": ["scenarios/stress_guarantor_fails.yaml"], "paths": 10_000, "executor": ex.describe(),
            "solved": float(s.table.iloc[0]["solved_balance"]), "binding": str(s.table.iloc[0]["binding"]),
            "engine_calls_bisection": s.engine_calls, "runs_s": times,
            "no_support_solved": float(s2.table.iloc[0]["solved_balance"]),
            "no_support_binding": str(s2.table.iloc[0]["binding"]), "no_support_runs_s": times2,
        },
    }


def bench_compare(repeat: int = 3) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import synthetic  # noqa: F401  (puts the abs_engine to measure on the path)

    import abs_engine as ae
    from abs_engine.io import load_grid
    from abs_engine.io.variants import Structure
    from abs_engine.model.scenario import MonteCarlo
    from abs_engine.report.compare_book import write_comparison_workbook
    from abs_engine.studies.compare import compare
    from abs_engine.studies.executors import Executor
    from abs_engine.studies.sizing import with_balances

    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    structures = [Structure("base", deal, "deal"), Structure("senior_90", with_balances(deal, {"A": 185_400_000}), "v"),
                  Structure("senior_85", with_balances(deal, {"A": 175_100_000}), "v")]
    base = ae.load_scenario(ROOT / "scenarios" / "base.yaml")
    scs = [base, ae.load_scenario(ROOT / "scenarios" / "stress.yaml"),
           *load_grid(ROOT / "scenarios" / "grid_cdr_recovery.yaml").scenarios]
    scs += [base.model_copy(update={"name": f"cdr{c}", "defaults": base.defaults.model_copy(update={"cdr": c})})
            for c in (0.04, 0.06, 0.08)]
    assert len(scs) == 20
    ex = Executor("threads")
    settings = MonteCarlo(paths=1000)
    best, times, c = _best(lambda: compare(structures, scs, settings=settings, executor=ex), repeat)
    tmp = Path(tempfile.mkdtemp())

    def with_book() -> Any:
        out = compare(structures, scs, settings=settings, executor=ex)
        write_comparison_workbook(out, tmp)
        return out

    best2, times2, _ = _best(with_book, repeat)
    return {
        "compare_3x20_s": best,
        "compare_3x20_workbook_s": best2,
        "compare_details": {"structures": [s.name for s in structures], "scenarios": len(scs), "paths": 1000,
                            "executor": ex.describe(), "runs_s": times, "workbook_runs_s": times2,
                            "funding_cost": dict(zip(c.summary["structure"], c.summary["funding_cost"].astype(float),
                                                     strict=False))},
    }
