"""Benchmarks of the licence-pool projection and of the investor outputs (analytics, term
sheets), called by benchmarks/run.py:

* ``licence_projection_ms``: ``project_receivable_pool`` on 5,000 licences resting on 2,000
  patents (1-3 patents each), 60 quarterly fee periods (15 years), milliseconds per
  scenario, 16 scenarios per call with a patent hazard and named invalidations; the per-call
  figure for one scenario, and for a call whose scenarios name obligor defaults (the
  per-licence path), are reported beside it;
* ``analytics_1k_scenarios_s``: ``Result.analytics`` with a discount curve (z-spreads and
  effective durations) for every tranche of the example deal in a 1,000-scenario run;
* ``termsheets_20_scenarios_s``: ``write_term_sheets`` (both workbooks, with analytics) for
  the example deal run under 20 scenarios.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _best(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def licence_pool(n_licences: int = 5_000, n_patents: int = 2_000, quarters: int = 60, seed: int = 11) -> tuple[Any, dt.date]:
    """A synthetic licence pool: quarterly fees from the first quarter after the cut-off for
    ``quarters`` quarters, each licence on 1-3 patents with random shares."""
    from abs_engine.model.deal import LicencePool

    rng = np.random.default_rng(seed)
    cut = dt.date(2026, 6, 30)
    first = dt.date(2026, 9, 30)
    y, m = divmod(9 - 1 + 3 * (quarters - 1), 12)  # the last of `quarters` quarter ends
    last = dt.date(2026 + y, m + 1, calendar.monthrange(2026 + y, m + 1)[1])
    types = ["invention", "utility_model", "design"]
    patents = [{"patent_id": f"P{i}", "type": types[i % 3], "expiry_date": dt.date(2046, 1, 1)} for i in range(n_patents)]
    licences, links = [], []
    for i in range(n_licences):
        licences.append({"licence_id": f"L{i}", "licensee": f"SME{i % 3_000}", "fee": float(rng.uniform(1e4, 1e5)),
                         "fee_frequency": "quarterly", "first_fee_date": first, "last_fee_date": last,
                         "industry": f"ind{i % 12}", "region": f"reg{i % 7}"})
        k = int(rng.integers(1, 4))
        ps = rng.choice(n_patents, k, replace=False)
        sh = np.round(rng.dirichlet(np.ones(k)), 6)
        sh[-1] = round(1.0 - float(sh[:-1].sum()), 6)
        links += [{"licence_id": f"L{i}", "patent_id": f"P{int(p)}", "share": float(s)} for p, s in zip(ps, sh, strict=True)]
    pool = LicencePool.model_validate({"name": "bench", "kind": "licence", "licences": licences, "patents": patents,
                                       "links": links})
    return pool, cut


def bench_licence_projection(repeat: int = 3, n_licences: int = 5_000, n_patents: int = 2_000) -> dict[str, object]:
    from abs_engine.model.scenario import Scenario
    from abs_engine.pools.licence import KIND, licence_arrays
    from abs_engine.pools.receivables import project_receivable_pool

    pool, cut = licence_pool(n_licences, n_patents)
    M = KIND.months_needed(pool, cut)
    grid = [cut]
    for m in range(1, M + 1):
        y, mm = divmod(cut.month - 1 + m, 12)
        grid.append(dt.date(cut.year + y, mm + 1, calendar.monthrange(cut.year + y, mm + 1)[1]))
    arr = licence_arrays(pool, cut, M)
    events = [{"patent": f"P{j}", "date": dt.date(2029, 1, 1)} for j in range(5)]

    def scen(i: int, named: bool = False) -> Scenario:
        d = {"cdr": 0.01 + 0.002 * i, **({"loans": {f"L{7 * i}": dt.date(2028, 3, 15)}} if named else {})}
        return Scenario(name=f"s{i}", defaults=d,
                        patents={"invalidation_hazard": {"invention": 0.01, "utility_model": 0.02}, "events": events})

    out: dict[str, float] = {}
    for S, named in ((16, False), (1, False), (16, True)):
        scs = [scen(i, named) for i in range(S)]
        t = _best(lambda scs=scs: project_receivable_pool(pool, arr, scs, grid), repeat)
        out[f"ms_per_scenario_batch_{S}{'_named_defaults' if named else ''}"] = t / S * 1e3
    return {
        "licence_projection_ms": out["ms_per_scenario_batch_16"],
        "licence_projection_details": {"licences": n_licences, "patents": n_patents, "links": len(pool.links),
                                       "months": M, **out, "repeat": repeat},
    }


def _example(n: int) -> Any:
    import abs_engine as ae
    from abs_engine.model.scenario import Scenario

    d = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    scs = [Scenario(name=f"s{i}", defaults={"cdr": 0.0003 * i}, prepayment={"cpr": 0.01 * (i % 7)},
                    recovery={"haircut": 0.5, "lag_months": 6 + i % 12}) for i in range(n)]
    return ae.run(d, scs)


def bench_outputs(repeat: int = 3, n_analytics: int = 1_000, n_sheets: int = 20) -> dict[str, object]:
    from abs_engine.report import write_term_sheets

    curve = {"kind": "flat", "rate": 0.02, "compounding": "annual"}
    big = _example(n_analytics)
    t_an = _best(lambda: big.analytics(curve=curve), repeat)
    small = _example(n_sheets)
    analytics = small.analytics(curve=curve)
    with tempfile.TemporaryDirectory() as tmp:
        t_ts = _best(lambda: write_term_sheets(small, tmp, analytics=analytics), repeat)
    return {
        "analytics_1k_scenarios_s": t_an,
        "termsheets_20_scenarios_s": t_ts,
        "outputs_details": {"deal": "deals/sz_pledge_2026_1.yaml", "analytics_scenarios": n_analytics,
                            "analytics_rows": len(big.scenarios) * len(big.deal.tranches), "curve": curve,
                            "termsheet_scenarios": n_sheets, "termsheet_workbooks": 2, "repeat": repeat,
                            "termsheets_include": "analytics computed beforehand (not timed)"},
    }
