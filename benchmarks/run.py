"""The abs_engine performance suite: measure, check, print.

    python benchmarks/run.py            # a readable table, then the JSON
    python benchmarks/run.py --json     # the JSON only (progress goes to stderr)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke test (figures not comparable)

Figures (docs/performance.md explains each one):

* ``kernel_steps_per_s``: period-tranche steps per second of the Cython kernel on one core,
  synthetic 5-tranche deal x 120 periods x 10,000 scenarios (benchmarks/synthetic.py);
* ``kernel_time_over_c``: kernel time / time of the hand-written C loop of the same waterfall
  on the same arrays (benchmarks/c_baseline/waterfall.c, compiled here with ``cc -O2``);
  the C results are checked equal to the kernel's (1e-9) before any timing is reported;
* ``reference_time_over_kernel``: pure-Python reference twin time / kernel time, the twin
  timed on a subset of the scenarios and scaled per scenario;
* ``projection_ms_10k_loans``: ``project_pledge_pool`` on 10,000 synthetic loans x 120 monthly
  periods, milliseconds per scenario (one-off ``loan_arrays`` set-up reported separately);
* ``mc_10k_loans_1k_paths_s``, ``mc_peak_rss_mb``, ``breakeven_all_tranches_s``: scenario runs
  (benchmarks/scenarios_bench.py): a Monte Carlo of 1,000 paths on a 10,000-loan deal end to
  end on every core, its peak memory, and the break-even search of the example deal;
* ``licence_projection_ms``, ``analytics_1k_scenarios_s``, ``termsheets_20_scenarios_s``
  (benchmarks/outputs_bench.py): the licence-pool projection, the analytics of a
  1,000-scenario run and the term sheets of a 20-scenario run;
* ``size_sz_aaa_s``, ``compare_3x20_s`` (benchmarks/structuring_bench.py): sizing the example
  deal's senior to AAA, and three structures compared under 20 scenarios.

Timings are best-of-N with ``time.perf_counter`` after a warm-up run. Outputs are allocated
(and their pages touched) before timing and zeroed between runs outside the timed region:
the kernel's contract is that the caller allocates the outputs.
Speed is measured here, never asserted in unit tests.
"""

from __future__ import annotations

import os

# one core: keep numpy's BLAS / OpenMP pools from spinning threads next to the timed code
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import outputs_bench  # noqa: E402
import scenarios_bench  # noqa: E402
import structuring_bench  # noqa: E402
import synthetic  # noqa: E402

from abs_engine import _waterfall  # noqa: E402
from abs_engine.pools.pledge import loan_arrays, project_pledge_pool  # noqa: E402
from abs_engine.waterfall import reference as _waterfall_ref  # noqa: E402
from abs_engine.waterfall.program import KernelArgs  # noqa: E402

TARGETS = {
    "kernel_steps_per_s": (">=", 150e6),
    "kernel_time_over_c": ("<=", 1.5),
    "reference_time_over_kernel": (">=", 100.0),
    "projection_ms_10k_loans": ("<=", 50.0),
    "mc_10k_loans_1k_paths_s": ("<=", 10.0),
    "mc_peak_rss_mb": ("<=", 2048.0),
    "breakeven_all_tranches_s": ("<=", 2.0),
    "licence_projection_ms": ("<=", 50.0),
    "analytics_1k_scenarios_s": ("<=", 2.0),
    "termsheets_20_scenarios_s": ("<=", 2.0),
    "size_sz_aaa_s": ("<=", 5.0),
    "compare_3x20_s": ("<=", 3.0),
}
TOL = 1e-9


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def best_of(fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None, warmup: int = 1) -> float:
    """Smallest wall time of ``repeat`` runs of ``fn`` (``setup`` runs untimed before each)."""
    for _ in range(warmup):
        if setup:
            setup()
        fn()
    best = float("inf")
    for _ in range(repeat):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import Cython

    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "cores_used": 1,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cython": Cython.__version__,
        "cc": _cc_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": dt.date.today().isoformat(),
    }


def _cc_version() -> str:
    try:
        return subprocess.run(["cc", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unavailable"


# --------------------------------------------------------------------------- C baseline

C_FLAGS = ["-O2", "-ffp-contract=off", "-fPIC", "-shared"]
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)
_INT_P = ctypes.POINTER(ctypes.c_int)
C_INPUTS = ("bal0", "rate", "accr", "fee_fixed", "fee_rate", "fee_cap", "yf", "acct0", "res_par",
            "coll", "pool_start", "pool_end", "trg_thr", "ext")
C_OUTPUTS = ("t_bal_start", "t_int_due", "t_int_paid", "t_int_short", "t_prin", "t_wd", "t_bal_end", "t_resid",
             "f_due", "f_paid", "f_unpaid", "a_start", "a_in", "a_end", "party")


class _CArgs(ctypes.Structure):
    _fields_ = ([("S", ctypes.c_int), ("T", ctypes.c_int)]
                + [(n, _DOUBLE_P) for n in C_INPUTS + C_OUTPUTS]
                + [("state", _INT_P), ("fired", _INT_P), ("acct_fail", _INT_P), ("a_drawn", _DOUBLE_P)])


def build_c() -> ctypes.CDLL:
    """Compile benchmarks/c_baseline/waterfall.c with the system cc into benchmarks/_build/."""
    out = HERE / "_build"
    out.mkdir(exist_ok=True)
    lib = out / "waterfall_c.so"
    cmd = ["cc", *C_FLAGS, "-o", str(lib), str(HERE / "c_baseline" / "waterfall.c")]
    subprocess.run(cmd, check=True)
    dll = ctypes.CDLL(str(lib))
    dll.waterfall.argtypes = [ctypes.POINTER(_CArgs)]
    dll.waterfall.restype = ctypes.c_int
    return dll


def c_args(a: KernelArgs) -> _CArgs:
    """Pointers into ``a``'s arrays (kept alive by ``a``) for the C baseline."""
    K, F, A, J = len(a.bal0), len(a.fee_fixed), len(a.acct0), len(a.trg_thr)
    if (K, F, A, J, a.coll.shape[2], a.n_parties) != (5, 4, 3, 4, 2, 6):
        raise ValueError("the C baseline is specialised to the benchmark deal (benchmarks/synthetic.py)")
    if np.any(a.acct_ext != 0):  # waterfall.c's EXT: no account is a support provider's
        raise ValueError("the C baseline's deal has no support-provider accounts (acct_ext)")
    S, T = a.shape
    kw: dict[str, object] = {"S": S, "T": T}
    for name in C_INPUTS + C_OUTPUTS:
        arr = getattr(a, name)
        assert arr.dtype == np.float64 and arr.flags.c_contiguous, name
        kw[name] = arr.ctypes.data_as(_DOUBLE_P)
    for name in ("state", "fired", "acct_fail"):
        arr = getattr(a, name)
        assert arr.dtype == np.int32 and arr.flags.c_contiguous, name
        kw[name] = arr.ctypes.data_as(_INT_P)
    assert a.a_drawn.dtype == np.float64 and a.a_drawn.flags.c_contiguous, "a_drawn"
    kw["a_drawn"] = a.a_drawn.ctypes.data_as(_DOUBLE_P)
    return _CArgs(**kw)


def zero_outputs(a: KernelArgs) -> None:
    for name in KernelArgs.OUTPUTS:
        getattr(a, name).fill(0)


def max_diff(a: KernelArgs, b: KernelArgs, s1: int | None = None) -> tuple[float, str]:
    """Largest absolute difference over every output array (first ``s1`` scenarios of ``b``)."""
    worst, where = 0.0, ""
    for name in KernelArgs.OUTPUTS:
        x, y = getattr(a, name), getattr(b, name)
        if s1 is not None:
            y = y[:s1]
        d = float(np.max(np.abs(x.astype(np.float64) - y), initial=0.0))
        if d > worst or not np.isfinite(d):
            worst, where = d, name
    return worst, where


# --------------------------------------------------------------------------- benchmarks


def bench_kernel(S: int, T: int, repeat: int, ref_scenarios: int, ref_repeat: int) -> dict[str, object]:
    log(f"building the synthetic deal: 5 tranches x {T} periods x {S} scenarios")
    args = synthetic.waterfall_args(S=S, T=T)
    K = len(args.bal0)
    steps = S * T * K

    log("compiling the C baseline")
    dll = build_c()
    cargs = args.copy_inputs()
    cstruct = c_args(cargs)

    # correctness first: the C loop must give the kernel's numbers
    _waterfall.run(args)
    dll.waterfall(ctypes.byref(cstruct))
    diff_c, where_c = max_diff(cargs, args)
    if not diff_c <= TOL:
        raise SystemExit(f"C baseline differs from the kernel: max |diff| {diff_c:g} in {where_c}")
    states = np.bincount(args.state.ravel(), minlength=3) / args.state.size

    log(f"timing the kernel (best of {repeat})")
    t_kernel = best_of(lambda: _waterfall.run(args), repeat, setup=lambda: zero_outputs(args))
    log(f"timing the C baseline (best of {repeat})")
    t_c = best_of(lambda: dll.waterfall(ctypes.byref(cstruct)), repeat, setup=lambda: zero_outputs(cargs))
    # the timed runs must have produced the same numbers too
    zero_outputs(args)
    zero_outputs(cargs)
    _waterfall.run(args)
    dll.waterfall(ctypes.byref(cstruct))
    diff_c2, _ = max_diff(cargs, args)
    if not diff_c2 <= TOL:
        raise SystemExit(f"C baseline differs from the kernel after timing: {diff_c2:g}")

    log(f"timing the reference twin on {ref_scenarios} scenarios (best of {ref_repeat})")
    sub = args.subset(0, ref_scenarios)
    t_ref_sub = best_of(lambda: _waterfall_ref.run(sub), ref_repeat, setup=lambda: zero_outputs(sub), warmup=0)
    zero_outputs(sub)
    _waterfall_ref.run(sub)
    diff_ref, where_ref = max_diff(sub, args, ref_scenarios)
    if not diff_ref <= TOL:
        raise SystemExit(f"reference twin differs from the kernel: max |diff| {diff_ref:g} in {where_ref}")
    t_ref = t_ref_sub / ref_scenarios * S
    return {
        "kernel_steps_per_s": steps / t_kernel,
        "kernel_time_over_c": t_kernel / t_c,
        "reference_time_over_kernel": t_ref / t_kernel,
        "details": {
            "deal": "benchmarks/synthetic.py: 5 tranches, 4 fees, 3 accounts (interest, principal, reserve), "
                    "4 triggers (cumulative defaults, OC, interest coverage, interest shortfall), "
                    "3 waterfalls of 12/11/11 steps",
            "scenarios": S,
            "periods": T,
            "tranches": K,
            "period_tranche_steps": steps,
            "share_of_periods_by_state": {"normal": round(float(states[0]), 4),
                                          "accelerated": round(float(states[1]), 4),
                                          "event_of_default": round(float(states[2]), 4)},
            "kernel_s": t_kernel,
            "c_baseline_s": t_c,
            "c_steps_per_s": steps / t_c,
            "c_compiler_flags": " ".join(C_FLAGS),
            "c_vs_kernel_max_abs_diff": max(diff_c, diff_c2),
            "reference_timed_scenarios": ref_scenarios,
            "reference_subset_s": t_ref_sub,
            "reference_s_scaled_to_all_scenarios": t_ref,
            "reference_scaling": f"reference timed on the first {ref_scenarios} of {S} scenarios, "
                                 f"scaled per scenario x {S / ref_scenarios:g}",
            "reference_vs_kernel_max_abs_diff": diff_ref,
            "repeat": repeat,
            "reference_repeat": ref_repeat,
        },
    }


def bench_projection(n_loans: int, months: int, batch: int, repeat: int) -> dict[str, object]:
    log(f"building {n_loans} synthetic pledge loans")
    pool, cutoff = synthetic.pledge_pool(n_loans, months)
    grid = synthetic.month_grid(cutoff, months)
    log(f"timing loan_arrays (best of {repeat})")
    t_setup = best_of(lambda: loan_arrays(pool, cutoff, months, ["LPR1Y"]), repeat, warmup=0)
    loans = loan_arrays(pool, cutoff, months, ["LPR1Y"])
    mix = {k: int(v) for k, v in zip(*np.unique(loans.amort, return_counts=True), strict=True)}
    freq = {int(k): int(v) for k, v in zip(*np.unique(loans.freq, return_counts=True), strict=True)}
    out: dict[str, float] = {}
    for S in sorted({1, batch}):
        scens, refs = synthetic.pledge_scenarios(S, loans.ids, grid)
        log(f"timing project_pledge_pool, {S} scenario(s) per call (best of {repeat})")

        def project(scens: list[Any] = scens, refs: np.ndarray = refs) -> object:
            return project_pledge_pool(pool, loans, scens, grid, refs)

        out[f"ms_per_scenario_batch_{S}"] = best_of(project, repeat) / S * 1e3
    names = {0: "annuity", 1: "equal_principal", 2: "bullet", 3: "interest_only_balloon"}
    return {
        "projection_ms_10k_loans": out[f"ms_per_scenario_batch_{batch}"],
        "projection_setup_ms": t_setup * 1e3,
        "projection_details": {
            "loans": n_loans,
            "months": months,
            "batch_scenarios": batch,
            "projection_ms_10k_loans_is": f"project_pledge_pool wall time / scenarios, {batch} scenarios per call",
            **out,
            "amortisation_mix": {names[k]: v for k, v in mix.items()},
            "months_between_payments_mix": freq,
            "floating_loans": int((loans.ref_index >= 0).sum()),
            "repeat": repeat,
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print only the JSON document")
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke test (figures not comparable)")
    p.add_argument("--repeat", type=int, default=7, help="best of N for the kernel and the C loop (default 7)")
    p.add_argument("--only", choices=("kernel", "projection", "montecarlo", "breakeven", "licence", "outputs",
                                      "structuring"),
                   help="run one part only")
    ns = p.parse_args(argv)
    S, T, ref_s, loans_n, batch = (10_000, 120, 20, 10_000, 16) if not ns.quick else (500, 120, 4, 500, 4)
    repeat = ns.repeat if not ns.quick else 2
    result: dict[str, Any] = {"suite": "abs_engine benchmarks/run.py", "quick": ns.quick, "machine": machine()}
    if ns.only in (None, "kernel"):
        result.update(bench_kernel(S, T, repeat, ref_s, ref_repeat=2 if not ns.quick else 1))
    if ns.only in (None, "projection"):
        result.update(bench_projection(loans_n, 120, batch, repeat=5 if not ns.quick else 2))
    if ns.only in (None, "montecarlo"):
        log("Monte Carlo: 10,000 loans x 1,000 paths, in a child process (peak memory of its own)")
        result.update(scenarios_bench.bench_montecarlo(10_000 if not ns.quick else 1_000, 1_000 if not ns.quick else 200,
                                                       repeat=2 if not ns.quick else 1))
    if ns.only in (None, "breakeven"):
        log("break-even search, every tranche of the example deal")
        result.update(scenarios_bench.bench_breakeven(repeat=5 if not ns.quick else 1))
    if ns.only in (None, "licence"):
        log("licence projection: 5,000 licences on 2,000 patents x 60 quarters")
        result.update(outputs_bench.bench_licence_projection(repeat=3 if not ns.quick else 1,
                                                             n_licences=5_000 if not ns.quick else 500,
                                                             n_patents=2_000 if not ns.quick else 200))
    if ns.only in (None, "outputs"):
        log("analytics of a 1,000-scenario run; term sheets of a 20-scenario run")
        result.update(outputs_bench.bench_outputs(repeat=3 if not ns.quick else 1, n_analytics=1_000 if not ns.quick else 100))
    if ns.only in (None, "structuring"):
        log("structuring: size the example's senior to AAA; compare 3 structures under 20 scenarios")
        result.update(structuring_bench.bench_sizing(repeat=3 if not ns.quick else 1))
        result.update(structuring_bench.bench_compare(repeat=3 if not ns.quick else 1))
    result["targets"] = {
        k: {"target": f"{op} {v:g}", "measured": result[k],
            "met": bool(result[k] >= v if op == ">=" else result[k] <= v)}
        for k, (op, v) in TARGETS.items() if k in result
    }
    doc = json.dumps(result, indent=2)
    if not ns.json:
        print(f"{'figure':<30} {'measured':>14}  target")
        for k, t in result["targets"].items():
            print(f"{k:<30} {t['measured']:>14.4g}  {t['target']:<10} {'met' if t['met'] else 'MISSED'}")
        if "projection_setup_ms" in result:
            print(f"{'projection_setup_ms':<30} {result['projection_setup_ms']:>14.4g}  (one-off, reported only)")
        print()
    print(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
