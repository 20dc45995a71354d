"""The abs_engine performance suite: measure, check, print.

    python benchmarks/run.py            # a readable table, then the JSON
    python benchmarks/run.py --json     # the JSON only (progress goes to stderr)
    python benchmarks/run.py --quick    # smaller sizes, for a smoke test (figures not comparable)
    python benchmarks/run.py --only startup --only kernel   # some parts only
    python benchmarks/run.py --compare main   # every figure of revision main beside this checkout's,
                                              # measured in the same run (parts alternate)

It runs in the venv that the README's test command creates (``pip install -e ".[test]"``): it
needs no Cython at run time; the C baseline is compiled with the system ``cc``. ``--compare
REV`` builds REV (``git archive`` into ``benchmarks/_build/rev-<sha>/``, then ``pip install
--no-deps --target``, which builds its kernel in an isolated environment, once per commit)
and runs each part in a child process, once against REV's package and once against this
checkout's, one after the other: on a shared machine the ratios of one run are what count.

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
* ``mc_10k_loans_1k_paths_s``, ``mc_fixed_cost_s``, ``mc_peak_rss_mb``, ``dask_over_threads``,
  ``sweep_1k_scenarios_10k_loans_s``, ``breakeven_all_tranches_s``: scenario runs
  (benchmarks/scenarios_bench.py): a Monte Carlo of 1,000 paths on a 10,000-loan deal end to
  end on every core, the same with one path, its peak memory (measured by the child itself),
  the same on a Dask LocalCluster over threads, a sweep of 1,000 scenarios of that deal, and
  the break-even search of the example deal;
* ``import_s``, ``cli_help_s``: ``import abs_engine`` (timed inside a fresh interpreter) and
  ``abs-engine --help`` (wall time of a fresh process, interpreter start included), best of 7;
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
sys.path.insert(0, str(HERE))

import outputs_bench  # noqa: E402
import scenarios_bench  # noqa: E402
import structuring_bench  # noqa: E402
import synthetic  # noqa: E402  (puts the abs_engine to measure on the path)

from abs_engine import _waterfall  # noqa: E402
from abs_engine.pools.pledge import loan_arrays, project_pledge_pool  # noqa: E402
from abs_engine.waterfall import reference as _waterfall_ref  # noqa: E402
from abs_engine.waterfall.program import KernelArgs  # noqa: E402

#: issue #16's goals (2 cores); the rest are the targets of earlier issues
TARGETS = {
    "kernel_steps_per_s": (">=", 150e6),
    "kernel_time_over_c": ("<=", 1.5),
    "reference_time_over_kernel": (">=", 100.0),
    "projection_ms_10k_loans": ("<=", 4.0),
    "mc_10k_loans_1k_paths_s": ("<=", 2.0),
    "mc_fixed_cost_s": ("<=", 0.3),
    "mc_peak_rss_mb": ("<=", 1024.0),
    "dask_over_threads": ("<=", 1.3),
    "sweep_1k_scenarios_10k_loans_s": ("<=", 3.0),
    "import_s": ("<=", 0.25),
    "cli_help_s": ("<=", 0.3),
    "breakeven_all_tranches_s": ("<=", 2.0),
    "licence_projection_ms": ("<=", 50.0),
    "analytics_1k_scenarios_s": ("<=", 2.0),
    "termsheets_20_scenarios_s": ("<=", 2.0),
    "size_sz_aaa_s": ("<=", 5.0),
    "compare_3x20_s": ("<=", 3.0),
}
#: the parts of the suite, in the order they run
PARTS = ("startup", "kernel", "projection", "montecarlo", "sweep", "breakeven", "licence", "outputs", "structuring")
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
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "cores_used": 1,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cython": _dist_version("Cython"),
        "abs_engine": str(Path(synthetic.P.__file__).resolve().parents[1]),
        "cc": _cc_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": dt.date.today().isoformat(),
    }


def _dist_version(name: str) -> str:
    """An installed distribution's version (Cython is needed to build, not to run)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


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
                + [("state", _INT_P), ("fired", _INT_P), ("acct_fail", _INT_P), ("a_drawn", _DOUBLE_P),
                   ("trg_count", _INT_P)])


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
    for name in ("state", "fired", "acct_fail", "trg_count"):
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


def bench_startup(repeat: int) -> dict[str, object]:
    """``import abs_engine`` timed inside a fresh interpreter, and ``abs-engine --help`` as the
    console script runs it, timed from outside (interpreter start included); best of ``repeat``
    fresh processes each (cold processes, warm file cache)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(synthetic.ENGINE), os.environ.get("PYTHONPATH")]))}
    imp = ("import time\nt0 = time.perf_counter()\nimport abs_engine\nt = time.perf_counter() - t0\n"
           "print(abs_engine.__file__, t)\n")
    helper = "import sys\nsys.argv = ['abs-engine', '--help']\nfrom abs_engine.cli import main\nsys.exit(main())\n"
    imports, helps = [], []
    for _ in range(repeat):
        # (cwd: a directory without an abs_engine/, which ``-c`` would put first on the path)
        p = subprocess.run([sys.executable, "-c", imp], capture_output=True, text=True, env=env, check=True, cwd=HERE)
        where, t = p.stdout.split()
        imports.append(float(t))
        if not Path(where).is_relative_to(synthetic.ENGINE):
            raise SystemExit(f"the start-up child imported {where}, not the abs_engine under {synthetic.ENGINE}")
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", helper], capture_output=True, text=True, env=env, check=False, cwd=HERE)
        helps.append(time.perf_counter() - t0)
        if p.returncode != 0 or "Usage:" not in p.stdout:
            raise SystemExit(f"abs-engine --help failed:\n{p.stderr}")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env, cwd=HERE)
    bare = time.perf_counter() - t0
    return {"import_s": min(imports), "cli_help_s": min(helps),
            "startup_details": {"import_runs_s": imports, "cli_help_runs_s": helps, "bare_interpreter_s": bare,
                                "repeat": repeat}}


def measure(parts: list[str], quick: bool, repeat_kernel: int) -> dict[str, Any]:
    """The figures of ``parts``, measured in this process (and its children)."""
    S, T, ref_s, loans_n, batch = (10_000, 120, 20, 10_000, 16) if not quick else (500, 120, 4, 500, 4)
    repeat = repeat_kernel if not quick else 2
    result: dict[str, Any] = {}
    if "startup" in parts:
        log("start-up: import abs_engine, abs-engine --help (fresh processes)")
        result.update(bench_startup(repeat=7 if not quick else 2))
    if "kernel" in parts:
        result.update(bench_kernel(S, T, repeat, ref_s, ref_repeat=2 if not quick else 1))
    if "projection" in parts:
        result.update(bench_projection(loans_n, 120, batch, repeat=5 if not quick else 2))
    if "montecarlo" in parts:
        log("Monte Carlo: 10,000 loans x 1,000 paths (threads, one path, Dask), in a child process")
        result.update(scenarios_bench.bench_montecarlo(10_000 if not quick else 1_000, 1_000 if not quick else 200,
                                                       repeat=2 if not quick else 1))
    if "sweep" in parts:
        log("sweep: 1,000 scenarios of the 10,000-loan deal, in a child process")
        result.update(scenarios_bench.bench_sweep(10_000 if not quick else 1_000, 1_000 if not quick else 50))
    if "breakeven" in parts:
        log("break-even search, every tranche of the example deal")
        result.update(scenarios_bench.bench_breakeven(repeat=5 if not quick else 1))
    if "licence" in parts:
        log("licence projection: 5,000 licences on 2,000 patents x 60 quarters")
        result.update(outputs_bench.bench_licence_projection(repeat=3 if not quick else 1,
                                                             n_licences=5_000 if not quick else 500,
                                                             n_patents=2_000 if not quick else 200))
    if "outputs" in parts:
        log("analytics of a 1,000-scenario run; term sheets of a 20-scenario run")
        result.update(outputs_bench.bench_outputs(repeat=3 if not quick else 1, n_analytics=1_000 if not quick else 100))
    if "structuring" in parts:
        log("structuring: size the example's senior to AAA; compare 3 structures under 20 scenarios")
        result.update(structuring_bench.bench_sizing(repeat=3 if not quick else 1))
        result.update(structuring_bench.bench_compare(repeat=3 if not quick else 1))
    return result


# --------------------------------------------------------------------------- --compare REV


def build_revision(rev: str) -> tuple[str, Path]:
    """REV's package, built once per commit into ``benchmarks/_build/rev-<sha>/site``: its sha
    and that directory (``git archive`` of REV, ``pip install --no-deps --target``, which
    builds the kernel in an isolated environment)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True,
                         text=True, check=True).stdout.strip()
    where = HERE / "_build" / f"rev-{sha[:12]}"
    site = where / "site"
    if (site / "abs_engine").is_dir():
        return sha, site
    import shutil
    import tarfile
    import tempfile

    log(f"building {rev} ({sha[:12]}) into {site} (once per commit)")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "src.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), sha], check=True)
        src = Path(tmp) / "src"
        with tarfile.open(archive) as tf:
            tf.extractall(src, filter="data")
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(src)],
                       check=True)
    return sha, site


def _part_in_child(part: str, quick: bool, repeat: int, package: Path | None) -> dict[str, Any]:
    """One part measured by a fresh ``run.py --json --only part``, against ``package`` (a
    revision's site directory) or this checkout."""
    env = {k: v for k, v in os.environ.items() if k != "ABS_ENGINE_BENCH_PACKAGE"}
    if package is not None:
        env["ABS_ENGINE_BENCH_PACKAGE"] = str(package)
    cmd = [sys.executable, str(Path(__file__)), "--json", "--only", part, "--repeat", str(repeat), *(["--quick"] if quick else [])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1]}
    doc = json.loads(p.stdout)
    return {k: v for k, v in doc.items() if k not in ("suite", "quick", "machine", "targets")}


def compare(rev: str, parts: list[str], quick: bool, repeat: int) -> dict[str, Any]:
    """Every figure of ``parts`` for REV and for this checkout, part by part in alternation."""
    sha, site = build_revision(rev)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for part in parts:
        log(f"{part}: {rev} ({sha[:12]})")
        before.update(_part_in_child(part, quick, repeat, site))
        log(f"{part}: this checkout")
        after.update(_part_in_child(part, quick, repeat, None))
    figures = {}
    for k in TARGETS:
        if k in before or k in after:
            b, a = before.get(k), after.get(k)
            figures[k] = {"before": b, "after": a,
                          "after_over_before": a / b if isinstance(a, float) and isinstance(b, float) and b else None}
    after["compare"] = {"rev": rev, "sha": sha, "figures": figures, "before_details": before}
    return after


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print only the JSON document")
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke test (figures not comparable)")
    p.add_argument("--repeat", type=int, default=7, help="best of N for the kernel and the C loop (default 7)")
    p.add_argument("--only", choices=PARTS, action="append", help="run this part only (repeat for several)")
    p.add_argument("--compare", metavar="REV",
                   help="also measure git revision REV (built into benchmarks/_build/), part by part in alternation")
    ns = p.parse_args(argv)
    parts = [x for x in PARTS if x in (ns.only or PARTS)]
    result: dict[str, Any] = {"suite": "abs_engine benchmarks/run.py", "quick": ns.quick, "machine": machine()}
    if ns.compare:
        result.update(compare(ns.compare, parts, ns.quick, ns.repeat))
    else:
        result.update(measure(parts, ns.quick, ns.repeat))
    result["targets"] = {
        k: {"target": f"{op} {v:g}", "measured": result[k],
            "met": bool(result[k] >= v if op == ">=" else result[k] <= v)}
        for k, (op, v) in TARGETS.items() if isinstance(result.get(k), float)
    }
    doc = json.dumps(result, indent=2)
    if not ns.json:
        if ns.compare:
            print(f"{'figure':<32} {ns.compare:>12} {'this':>12} {'this/' + ns.compare:>12}  target")
            for k, f in result["compare"]["figures"].items():
                b, a, r = (f["before"], f["after"], f["after_over_before"])
                cell = lambda x: f"{x:>12.4g}" if isinstance(x, float) else f"{'-':>12}"  # noqa: E731
                print(f"{k:<32} {cell(b)} {cell(a)} {cell(r)}  {TARGETS[k][0]} {TARGETS[k][1]:g}")
        else:
            print(f"{'figure':<32} {'measured':>14}  target")
            for k, t in result["targets"].items():
                print(f"{k:<32} {t['measured']:>14.4g}  {t['target']:<10} {'met' if t['met'] else 'MISSED'}")
        if "projection_setup_ms" in result:
            print(f"{'projection_setup_ms':<32} {result['projection_setup_ms']:>14.4g}  (one-off, reported only)")
        print()
    print(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
