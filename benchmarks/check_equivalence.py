"""Check that performance work changed no result.

    python benchmarks/check_equivalence.py               # against the committed code (HEAD)
    python benchmarks/check_equivalence.py --rev abc123  # against another revision

Builds the baseline revision's kernel (``abs_engine/_waterfall.pyx``, compiled into
benchmarks/_build/ with setup.py's directives and flags) and loads its reference twin and
pledge-loan projection (read with ``git show``, which changes nothing), then compares on
identical inputs:

1. the kernel against the baseline kernel (bit for bit: the same 64 bits, so even the sign
   of a zero) and the baseline twin (equal values, NaN where NaN), every array in
   ``KernelArgs.OUTPUTS``: on the example deal (deals/sz_pledge_2026_1.yaml) under the
   scenario files and stresses that reach every deal state; on every other deal in deals/
   under every scenario file that fits it (support providers that pay, fail and are
   drawn on; licence, royalty and lease pools); on the synthetic benchmark deal
   (benchmarks/synthetic.py, 200 scenarios); and on random perturbations of the synthetic
   deal's program and data (limits, support lists, followed schedules, pool targets,
   ``when`` conditions, duplicate recipients, principal cover, support providers that fail
   and are reimbursed, a DSCR trigger), so that every step shape the kernel specialises and
   its generic path are compared;
2. the hand-written C loop of the benchmark (benchmarks/c_baseline/waterfall.c, as
   benchmarks/run.py builds it) against the kernel, bit for bit, on the synthetic deal with
   support providers failing at random periods (run.py compares it on the deal as it is);
3. the current reference twin against the kernel on the same inputs: a difference here is
   not a performance regression but semantics the twin has and the kernel has not (yet),
   reported as drift;
4. ``project_pledge_pool`` (and ``loan_arrays``) against the baseline's, to 1e-9 relative
   (near zero: 1e-9 of the series' largest value, as loss = defaults - recoveries is a
   difference of sums, defined only to their rounding), on
   the example deal's pool and on the synthetic 10,000-loan pool (6 scenarios in a batch,
   and one of them alone).

Exit status 1 if (1), (2) or (4) finds a difference, else 0 (drift is printed, not failed).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "_build" / "baseline"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

import abs_engine as ae  # noqa: E402
from abs_engine import _waterfall  # noqa: E402
from abs_engine.model.deal import PledgeLoanPool  # noqa: E402
from abs_engine.model.scenario import Scenario  # noqa: E402
from abs_engine.pools import pledge  # noqa: E402
from abs_engine.waterfall import program as P  # noqa: E402
from abs_engine.waterfall import reference as _waterfall_ref  # noqa: E402
from abs_engine.waterfall.program import KernelArgs  # noqa: E402

RTOL = ATOL = 1e-9

_SETUP = """
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
setup(ext_modules=cythonize(
    [Extension("_waterfall_baseline", ["_waterfall_baseline.pyx"], include_dirs=[np.get_include()],
               define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
               extra_compile_args=["-O2", "-ffp-contract=off"])],
    compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                         "cdivision": True, "initializedcheck": False, "nonecheck": False},
    quiet=True), script_args=["build_ext", "--inplace", "-q"])
"""


def git_show(rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True,
                          check=True).stdout


def baseline_kernel(rev: str) -> ModuleType:
    """The revision's Cython kernel, built once per source text into benchmarks/_build/."""
    src = git_show(rev, "abs_engine/_waterfall.pyx")
    tag = hashlib.sha256(src.encode()).hexdigest()[:12]
    d = BUILD / tag
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    so = d / f"_waterfall_baseline{suffix}"
    if not so.exists():
        d.mkdir(parents=True, exist_ok=True)
        (d / "_waterfall_baseline.pyx").write_text(src)
        (d / "setup_baseline.py").write_text(_SETUP)
        subprocess.run([sys.executable, "setup_baseline.py"], cwd=d, check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("_waterfall_baseline", so)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def baseline_module(rev: str, path: str, name: str, package: str) -> ModuleType:
    """A module of the revision, imported inside ``package`` (for its relative imports)."""
    d = BUILD / "py"
    d.mkdir(parents=True, exist_ok=True)
    src = git_show(rev, path)
    f = d / f"{name.rsplit('.', 1)[1]}_{hashlib.sha256(src.encode()).hexdigest()[:12]}.py"
    f.write_text(src)
    spec = importlib.util.spec_from_file_location(name, f, submodule_search_locations=None)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = package
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def example_scenarios(deal: ae.Deal) -> list[Scenario]:
    ids = [a.loan_id for p in deal.pools if isinstance(p, PledgeLoanPool) for a in p.assets]
    out = [ae.load_scenario(ROOT / "scenarios" / f) for f in ("base.yaml", "stress.yaml")]
    out.append(Scenario(name="none"))
    for i, (cdr, cpr) in enumerate([(0.3, 0.0), (0.6, 0.1), (0.9, 0.0), (0.05, 0.4)]):
        out.append(Scenario.model_validate({
            "name": f"stress{i}",
            "defaults": {"cdr": cdr, "loans": {ids[i]: "2026-09-15", ids[i + 3]: "2026-12-01"}},
            "prepayment": {"cpr": cpr},
            "recovery": {"haircut": 0.9, "lag_months": 3 + 6 * i, "value_decay": 0.2},
            "reference_rates": {"LPR1Y": [0.03, 0.05, 0.2, 0.01]},
        }))
    out.append(Scenario.model_validate({"name": "all_default", "defaults": {"loans": {i: "2026-08-01" for i in ids}},
                                        "recovery": {"rate": 0.1, "lag_months": 0}}))
    return out


def diff(tag: str, name: str, x: np.ndarray, y: np.ndarray, exact: bool, bits: bool = False) -> list[str]:
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return [f"{tag}: {name}: shape {x.shape} != {y.shape}"]
    if bits and x.dtype == y.dtype:
        bad = x.view(np.uint8).reshape(x.shape + (-1,)) != y.view(np.uint8).reshape(y.shape + (-1,))
        if bad.any():
            n = int(bad.any(axis=-1).sum())
            with np.errstate(invalid="ignore"):
                return [f"{tag}: {name}: {n} values differ in their bits, max |diff| {np.nanmax(np.abs(x - y)):g}"]
        return []
    if exact:
        bad = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        if bad.any():
            with np.errstate(invalid="ignore"):
                return [f"{tag}: {name}: {int(bad.sum())} values differ, max |diff| {np.nanmax(np.abs(x - y)):g}"]
        return []
    # relative to each value, and near zero to the series' scale: a series that is a
    # difference of sums (loss = defaults - recoveries) is only defined to rounding of
    # the sums' size, in the baseline as much as here
    scale = float(np.nanmax(np.abs(y), initial=0.0))
    if not np.allclose(x, y, rtol=RTOL, atol=max(ATOL, RTOL * scale), equal_nan=True):
        return [f"{tag}: {name}: max |diff| {np.nanmax(np.abs(x - y)):g} (scale {scale:g})"]
    return []


def run_on(fn: Callable[[KernelArgs], object], args: KernelArgs) -> KernelArgs:
    out = args.copy_inputs()
    fn(out)
    return out


def gallery_cases() -> list[tuple[str, KernelArgs]]:
    """Every deal in deals/ but the example, compiled under every scenario file in
    scenarios/ that fits it (one of each scenario name)."""
    from abs_engine.errors import InputError

    out = []
    for path in sorted((ROOT / "deals").glob("*.yaml")):
        if path.name == "sz_pledge_2026_1.yaml":
            continue
        deal = ae.load_deal(path)
        scs: list[Scenario] = []
        for f in sorted((ROOT / "scenarios").glob("*.yaml")):
            try:
                sc = ae.load_scenario(f)
                if sc.name in {x.name for x in scs}:
                    continue
                ae.run(deal, [sc], backend="cython")
            except InputError:
                continue  # a scenario for another deal, or not a scenario file
            scs.append(sc)
        if scs:
            out.append((f"{path.stem} ({len(scs)} scenarios)", ae.run(deal, scs, backend="cython").args))
    return out


def random_programs(n: int = 6, S: int = 40, seed: int = 20261201) -> list[tuple[str, KernelArgs]]:
    """The synthetic deal (benchmarks/synthetic.py) with its program and data perturbed at
    random, every index kept valid: the step shapes the kernel specialises and the ones it
    does not, support providers, reimbursement and every trigger metric."""
    out = []
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        a = synthetic.waterfall_args(S=S)
        T, K = a.sched.shape
        A = len(a.acct0)
        op, ia, fa = a.op.copy(), a.iarg.copy(), a.farg.copy()
        ilist = list(a.ilist)
        ext = (rng.random(A) < 0.5).astype(np.int32)
        providers = np.flatnonzero(ext) if ext.any() else np.arange(A)

        def lst(*items: int, ilist: list[int] = ilist) -> tuple[int, int]:
            ilist.extend(items)
            return len(ilist) - len(items), len(items)

        for j in range(len(op)):
            if rng.random() < 0.25:
                fa[j, P.F_LIMIT_AMOUNT] = rng.uniform(1e5, 3e7)
            if rng.random() < 0.2:
                fa[j, P.F_LIMIT_FRACTION] = rng.uniform(0.2, 1.0)
            if op[j] == P.OP_PAY_PRINCIPAL:
                ia[j, P.I_MODE] = rng.integers(0, 2)
                ia[j, P.I_FOLLOW] = rng.random() < 0.3
                if rng.random() < 0.3:
                    fa[j, P.F_TARGET_POOL] = rng.uniform(0.0, 0.9)
                if ia[j, P.I_MODE] == 0 and rng.random() < 0.15:
                    # a tranche listed twice (deal files cannot say this; hand-built programs
                    # can): sequential only, as in pro rata the kernel weighs the second entry
                    # by what is left after the first and the twin by the full amount twice
                    ia[j, P.I_A_OFF], ia[j, P.I_A_LEN] = lst(2, 2)
            if op[j] in (P.OP_PAY_FEE, P.OP_PAY_INTEREST, P.OP_PAY_PRINCIPAL) and rng.random() < 0.3:
                ia[j, P.I_B_OFF], ia[j, P.I_B_LEN] = lst(*rng.choice(A, rng.integers(1, 3), replace=False))
            if rng.random() < 0.15:
                ia[j, P.I_WHEN_TRIG] = rng.integers(-1, len(a.trg_thr))
            if rng.random() < 0.15:
                ia[j, P.I_WHEN_FROM] = rng.integers(0, T // 2)
            if op[j] == P.OP_DRAW_RESERVE:
                ia[j, P.I_C_OFF], ia[j, P.I_C_LEN] = lst(0, 1)
            if op[j] == P.OP_TRANSFER and rng.random() < 0.4:  # a provider reimbursed instead
                op[j] = P.OP_REIMBURSE
                ia[j, P.I_DST] = rng.choice(providers)
                ia[j, P.I_MODE] = rng.integers(0, 2)
        a.op, a.iarg, a.farg, a.ilist = op, ia, fa, np.array(ilist, dtype=np.int32)
        a.acct_ext = ext
        a.acct_fail = np.where(rng.random((S, A)) < 0.4, rng.integers(0, T + 5, (S, A)), T).astype(np.int32)
        a.sched = np.ascontiguousarray(a.bal0 * np.linspace(1.0, 0.0, T)[:, None] * rng.uniform(0.5, 1.0, K))
        a.due = np.ascontiguousarray(np.where(rng.random((T, K)) < 0.5, a.sched * 1.01, np.inf))
        trg = a.trg_i.copy()
        if rng.random() < 0.5:
            trg[2, P.G_METRIC] = P.M_DSCR
        a.trg_i = trg
        out.append((f"random program {i}", a.allocate_outputs()))
    return out


def check_kernel(base_kernel: ModuleType, base_twin: ModuleType) -> tuple[list[str], list[str]]:
    regress: list[str] = []
    drift: list[str] = []
    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    scs = example_scenarios(deal)
    compiled = ae.run(deal, scs, backend="cython").args  # the inputs, as the engine compiles them
    cases = [("example deal", compiled), *gallery_cases(), ("synthetic deal", synthetic.waterfall_args(S=200)),
             *random_programs()]
    for label, args in cases:
        new = run_on(_waterfall.run, args)
        old = run_on(base_kernel.run, args)
        old_twin = run_on(base_twin.run, args)
        twin = run_on(_waterfall_ref.run, args)
        print(f"{label}: {args.shape[0]} scenarios x {args.shape[1]} periods, "
              f"deal states reached {np.unique(new.state).tolist()}")
        for name in KernelArgs.OUTPUTS:
            regress += diff(f"{label}: kernel vs baseline kernel", name, getattr(new, name), getattr(old, name), True,
                            bits=True)
            regress += diff(f"{label}: kernel vs baseline twin", name, getattr(new, name), getattr(old_twin, name), True)
            drift += diff(f"{label}: current twin vs kernel", name, getattr(twin, name), getattr(new, name), True)
    return regress, drift


def check_c_loop(S: int = 300, seed: int = 5) -> list[str]:
    """The C baseline against the kernel, every output bit for bit, on the synthetic deal
    with support providers that fail at random periods in most scenarios."""
    import ctypes

    import run as bench  # benchmarks/run.py: builds and calls the C loop

    a = synthetic.waterfall_args(S=S)
    T = a.shape[1]
    rng = np.random.default_rng(seed)
    a.acct_fail = np.where(rng.random(a.acct_fail.shape) < 0.5, rng.integers(0, T + 10, a.acct_fail.shape),
                           T).astype(np.int32)
    new = run_on(_waterfall.run, a)
    c = a.copy_inputs()
    bench.build_c().waterfall(ctypes.byref(bench.c_args(c)))
    print(f"C loop: {S} scenarios, a provider fails in {int((a.acct_fail < T).any(axis=1).sum())}")
    out: list[str] = []
    for name in KernelArgs.OUTPUTS:
        out += diff("C loop vs kernel", name, getattr(c, name), getattr(new, name), True, bits=True)
    return out


def check_projection(base_pledge: ModuleType) -> tuple[list[str], int, int]:
    from abs_engine.dates import build_schedule
    from abs_engine.periods import reference_paths

    problems: list[str] = []
    n_same = n_all = 0
    worst = [0.0]

    def compare(label: str, new: Any, old: Any) -> None:
        nonlocal n_same, n_all
        a, b = new.series(), old.series()
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                problems.append(f"{label}: {k} missing")
                continue
            problems.extend(diff(label, k, a[k], b[k], False))
            worst[0] = max(worst[0], float(np.nanmax(np.abs(a[k] - b[k]), initial=0.0))
                           / max(float(np.nanmax(np.abs(b[k]), initial=0.0)), 1e-300))
            n_all += 1
            n_same += bool(np.array_equal(a[k], b[k], equal_nan=True))

    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    scs = example_scenarios(deal)
    h = deal.deal
    grid_months = max(max(pledge.grid_months_needed(p, h.cutoff_date) for p in deal.pools
                          if isinstance(p, PledgeLoanPool)),
                      (h.legal_maturity.year - h.cutoff_date.year) * 12
                      + h.legal_maturity.month - h.cutoff_date.month + 1) + max(s.recovery.lag_months for s in scs)
    sched = build_schedule(h, grid_months)
    names, refs = reference_paths(deal, scs, sched.n_periods)
    refs_m = refs[:, :, np.minimum(sched.month_period, sched.n_periods - 1)]
    pool = deal.pools[0]
    assert isinstance(pool, PledgeLoanPool)
    loans = pledge.loan_arrays(pool, h.cutoff_date, grid_months, names)
    old_loans = base_pledge.loan_arrays(pool, h.cutoff_date, grid_months, names)
    from abs_engine.support.pool import support_flows

    compare("example pool", pledge.project_pledge_pool(pool, loans, scs, sched.grid, refs_m, support=support_flows),
            base_pledge.project_pledge_pool(pool, old_loans, scs, sched.grid, refs_m))

    spool, cutoff = synthetic.pledge_pool(10_000, 120)
    grid = synthetic.month_grid(cutoff, 120)
    loans = pledge.loan_arrays(spool, cutoff, 120, ["LPR1Y"])
    old_loans = base_pledge.loan_arrays(spool, cutoff, 120, ["LPR1Y"])
    for f in ("balance", "rate", "ref_index", "freq", "collateral", "pay", "n_rem", "amort_n", "io", "amort"):
        problems.extend(diff("synthetic loan_arrays", f, getattr(loans, f), getattr(old_loans, f), True))
    s_scs, s_refs = synthetic.pledge_scenarios(6, loans.ids, grid)
    compare("synthetic pool (6 scenarios)", pledge.project_pledge_pool(spool, loans, s_scs, grid, s_refs),
            base_pledge.project_pledge_pool(spool, old_loans, s_scs, grid, s_refs))
    compare("synthetic pool (scenario 1 alone)", pledge.project_pledge_pool(spool, loans, s_scs[1:2], grid, s_refs[1:2]),
            base_pledge.project_pledge_pool(spool, old_loans, s_scs[1:2], grid, s_refs[1:2]))
    print(f"projection: largest difference / series scale: {worst[0]:.2g}")
    return problems, n_same, n_all


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rev", default="HEAD", help="baseline revision (default HEAD)")
    p.add_argument("--skip-projection", action="store_true")
    ns = p.parse_args(argv)
    base_kernel = baseline_kernel(ns.rev)
    base_twin = baseline_module(ns.rev, "abs_engine/waterfall/reference.py", "abs_engine.waterfall._reference_baseline",
                                "abs_engine.waterfall")
    regress, drift = check_kernel(base_kernel, base_twin)
    regress += check_c_loop()
    if not ns.skip_projection:
        base_pledge = baseline_module(ns.rev, "abs_engine/pools/pledge.py", "abs_engine.pools._pledge_baseline",
                                      "abs_engine.pools")
        with np.errstate(all="ignore"):
            problems, n_same, n_all = check_projection(base_pledge)
        regress += problems
        print(f"projection: {n_all} series compared with {ns.rev}, {n_same} bit-identical, "
              f"{n_all - n_same} within {RTOL:g} relative" if not problems else "projection: differences")
    for msg in regress:
        print("DIFFERS:", msg)
    for msg in drift:
        print("DRIFT (current twin has semantics the kernel lacks):", msg)
    print(f"kernel and projection vs {ns.rev}: " + ("identical" if not regress else f"{len(regress)} difference(s)"))
    return 1 if regress else 0


if __name__ == "__main__":
    raise SystemExit(main())
