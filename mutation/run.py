"""Mutation testing of the money logic: does the suite catch a wrong number?

    python mutation/run.py --check                 # every operator still applies (no build, seconds)
    python mutation/run.py                         # all mutants, one job (about 1.5 h on 2 busy cores)
    python mutation/run.py --jobs 2 --only reserve-floor-ignored,act360-as-365f
    python mutation/run.py --area trigger --no-confirm
    python mutation/run.py --tests-rev main        # the same mutants against another revision's tests

Run by hand, never in CI (it rebuilds the kernel for every kernel mutant). Needs Cython in
the environment (``pip install "Cython>=3,<4"``, the build requirement of pyproject.toml).

For each mutant of ``mutation/operators.py`` (the operators are documented there and in
docs/validation.md, "Mutation testing"): the tracked files of the repository are copied into
a scratch directory under the system's temp directory (once per job; the working tree is
never touched), the kernel is built there, the mutant's replacements are applied (each
``old`` text must occur exactly once), the kernel is rebuilt if ``_waterfall.pyx`` changed
(the stale-build guard would otherwise refuse it), the mutant's test files run with ``-x``
(``HYPOTHESIS_PROFILE=ci``, the randomized slice left out, so a run is reproducible), and the
files are restored. A mutant is **killed** when a test fails, **survived** when all pass;
a survivor is then run against the whole suite (but the lint, type and docs checks, which
judge style, not numbers) before it is reported (``--no-confirm`` skips that); a test that
fails there without the mutant too (a timing test under load) is set aside, not a kill. Results go to
``mutation/results.csv`` (id, area, status, the first failing test, seconds) and a summary
to the console.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from operators import MUTANTS, Edit, Mutant  # noqa: E402

#: Left out of the confirming run of a survivor: they judge style, documents and the git
#: checkout, not numbers (the lint would flag the mutant's own code; the scratch copy is no
#: git repository).
NOT_NUMBERS = ("tests/test_lint.py", "tests/test_docs.py", "tests/test_docs_site.py", "tests/test_build.py")
TIMEOUT = 1800  # seconds for one test run


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed / survived / timeout / stale (the operator no longer applies) / error
    killed_by: str = ""
    seconds: float = 0.0
    confirmed: bool = False


def check(mutants: Iterable[Mutant], root: Path = ROOT) -> list[str]:
    """Why each operator cannot be applied to the tree at ``root`` (empty: all apply)."""
    problems = []
    for m in mutants:
        texts: dict[str, str] = {}
        for e in m.edits:
            text = texts.get(e.path)
            if text is None:
                text = (root / e.path).read_text(encoding="utf-8")
            n = text.count(e.old)
            if n != 1:
                problems.append(f"{m.id}: {e.path}: {'not found' if n == 0 else f'{n} occurrences'}: {e.old!r}")
                continue
            texts[e.path] = text.replace(e.old, e.new)
    return problems


class Scratch:
    """A copy of the tracked files with the kernel built in place."""

    def __init__(self, n: int, tests_rev: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix=f"abs-mutation-{n}-"))
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
        for f in files:
            if not f:
                continue
            src = ROOT / os.fsdecode(f)
            if src.is_file():
                dst = self.dir / os.fsdecode(f)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        if tests_rev is not None:  # the tests of another revision (e.g. before a round of new tests)
            shutil.rmtree(self.dir / "tests")
            archive = subprocess.run(["git", "archive", tests_rev, "tests"], cwd=ROOT, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(self.dir)], input=archive, check=True)
        self.env = {**os.environ, "PYTHONPATH": str(self.dir), "HYPOTHESIS_PROFILE": "ci",
                    "ABS_ENGINE_RANDOM_SEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        self._baseline: list[str] | None = None
        self.build()
        where = subprocess.run([sys.executable, "-c", "import abs_engine; print(abs_engine.__file__)"], cwd=self.dir,
                               env=self.env, capture_output=True, text=True, check=True).stdout.strip()
        if not where.startswith(str(self.dir)):
            raise SystemExit(f"the scratch copy imports abs_engine from {where}, not {self.dir}")

    def baseline_failures(self) -> list[str]:
        """The tests of the whole suite that fail on the unmutated copy, in suite order (a
        timing test under load, a test that depends on what an earlier one left in the
        working directory): set aside in every confirming run of this copy. Found once."""
        if self._baseline is None:
            failing: list[str] = []
            for _ in range(6):
                code, first = self.pytest(all_tests(self.dir), deselect=failing)
                if code == 0 or "::" not in first:
                    break
                failing.append(first)
            self._baseline = failing
            if failing:
                print(f"set aside (they fail without a mutant): {', '.join(failing)}", flush=True)
        return self._baseline

    def build(self) -> None:
        p = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--force"], cwd=self.dir,
                           env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("kernel build failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])

    def apply(self, edits: tuple[Edit, ...]) -> dict[str, str]:
        saved: dict[str, str] = {}
        for e in edits:
            path = self.dir / e.path
            if e.path not in saved:
                saved[e.path] = path.read_text(encoding="utf-8")
            text = path.read_text(encoding="utf-8")
            if text.count(e.old) != 1:
                self.restore(saved)
                raise LookupError(f"{e.path}: the operator's text occurs {text.count(e.old)} times")
            path.write_text(text.replace(e.old, e.new), encoding="utf-8")
        return saved

    def restore(self, saved: dict[str, str]) -> None:
        for rel, text in saved.items():
            (self.dir / rel).write_text(text, encoding="utf-8")

    def pytest(self, tests: Iterable[str], deselect: Iterable[str] = ()) -> tuple[int, str]:
        tests = [t for t in tests if (self.dir / t).exists()]  # (another revision's tests may lack some)
        if not tests:
            return 0, ""
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:xdist", "-k", "not test_random_", "-rf", "--no-header",
               *[f"--deselect={d}" for d in deselect], *tests]
        try:
            p = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return -1, ""
        failed = re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", p.stdout, flags=re.M)
        return p.returncode, failed[0] if failed else p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def all_tests(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted((root / "tests").glob("test_*.py"))
            if str(p.relative_to(root)) not in NOT_NUMBERS]


def run_one(scratch: Scratch, m: Mutant, confirm: bool) -> Outcome:
    t0 = time.perf_counter()
    try:
        saved = scratch.apply(m.edits)
    except LookupError as exc:
        return Outcome(m, "stale", str(exc))
    try:
        if m.kernel:
            try:
                scratch.build()
            except RuntimeError as exc:
                return Outcome(m, "error", str(exc).splitlines()[-1], time.perf_counter() - t0)
        code, first = scratch.pytest(m.tests)
        out = _outcome(m, code, first)
        if out.status == "survived" and confirm:
            out = _confirm(scratch, m, saved)
    finally:
        scratch.restore(saved)
    out.seconds = time.perf_counter() - t0
    return out


def _confirm(scratch: Scratch, m: Mutant, saved: dict[str, str]) -> Outcome:
    """A survivor of its own tests against the whole suite. A test that fails without the
    mutant is no kill: those the unmutated copy fails in a whole-suite run are set aside
    (:meth:`Scratch.baseline_failures`), and a test that fails is run again alone on the
    unmutated tree; if it fails there too it is set aside as well and the suite run again."""
    if scratch._baseline is None:  # found on the unmutated tree (and kernel)
        mutated = {rel: (scratch.dir / rel).read_text(encoding="utf-8") for rel in saved}
        scratch.restore(saved)
        if m.kernel:
            scratch.build()
        scratch.baseline_failures()
        scratch.restore(mutated)
        if m.kernel:
            scratch.build()
    flaky = list(scratch.baseline_failures())
    for _ in range(4):
        code, first = scratch.pytest(all_tests(scratch.dir), deselect=flaky)
        out = _outcome(m, code, first)
        out.confirmed = True
        if out.status != "killed" or "::" not in first:
            return out
        mutated = {rel: (scratch.dir / rel).read_text(encoding="utf-8") for rel in saved}
        scratch.restore(saved)
        if m.kernel:
            scratch.build()
        clean, _ = scratch.pytest([first])
        scratch.restore(mutated)
        if m.kernel:
            scratch.build()
        if clean == 0:
            return out  # it fails only with the mutant: a kill
        flaky.append(first)
    out = Outcome(m, "error", f"too many tests fail without the mutant: {', '.join(flaky)}")
    return out


def _outcome(m: Mutant, code: int, first: str) -> Outcome:
    if code == -1:
        return Outcome(m, "timeout")
    if code == 0:
        return Outcome(m, "survived")
    if code in (1, 2):
        return Outcome(m, "killed", first)
    return Outcome(m, "error", f"pytest exit code {code}: {first}")


def run_job(n: int, mutants: list[Mutant], confirm: bool, report: list[Outcome], tests_rev: str | None) -> None:
    scratch = Scratch(n, tests_rev)
    try:
        # the Python mutants first, on the kernel as built; then each kernel mutant with its
        # own build (the last restore leaves the .pyx as it was: rebuild before anything else)
        for m in sorted(mutants, key=lambda m: m.kernel):
            out = run_one(scratch, m, confirm)
            if m.kernel:
                scratch.build()
            report.append(out)
            print(f"[job {n}] {out.status:9} {m.id:34} {out.seconds:6.0f} s  {out.killed_by}", flush=True)
    finally:
        scratch.close()


def markdown(path: Path) -> str:
    """A results file as the table of docs/validation.md: mutant, area, the wrong rule, and
    the test that killed it (its function, parameters left out)."""
    lines = ["| mutant | area | the wrong rule | status | killed by |", "|---|---|---|---|---|"]
    with path.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            test = r["killed_by"].split("[")[0]
            where = f"`{test.split('::')[0].removeprefix('tests/')}::{test.split('::')[1]}`" if "::" in test else test
            lines.append(f"| `{r['id']}` | {r['area']}{' (paired)' if r['kind'] == 'paired' else ''} | {r['what']} "
                         f"| {r['status']} | {where} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check that every operator applies")
    ap.add_argument("--list", action="store_true", help="list the mutants")
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--area", help="comma-separated areas (trigger, waterfall, fees, reserve, support, compile, pool, "
                                   "analytics, check)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel scratch copies (default 1)")
    ap.add_argument("--no-confirm", action="store_true", help="do not re-run survivors against the whole suite")
    ap.add_argument("--out", type=Path, default=HERE / "results.csv")
    ap.add_argument("--tests-rev", help="run the tests of this git revision instead of the working tree's")
    ap.add_argument("--markdown", action="store_true", help="print the results file (--out) as a Markdown table")
    args = ap.parse_args(argv)
    if args.markdown:
        print(markdown(args.out))
        return 0

    mutants = list(MUTANTS)
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.id for m in mutants}
        if unknown:
            ap.error(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.id in wanted]
    if args.area:
        areas = set(args.area.split(","))
        mutants = [m for m in mutants if m.area in areas]
    if args.list:
        for m in mutants:
            print(f"{m.id:34} {m.area:10} {'paired ' if m.kernel else 'single '} {m.what}")
        return 0
    problems = check(mutants)
    if problems:
        print("operators that no longer apply (update mutation/operators.py):", *problems, sep="\n  ")
        return 1
    if args.check:
        print(f"{len(mutants)} mutants, every operator applies ({sum(m.kernel for m in mutants)} paired with the kernel)")
        return 0
    try:
        import Cython  # noqa: F401
    except ImportError:
        print('the kernel mutants need Cython: pip install "Cython>=3,<4"')
        return 1

    t0 = time.perf_counter()
    report: list[Outcome] = []
    jobs = max(1, min(args.jobs, len(mutants)))
    # spread the kernel mutants (the slow ones) evenly over the jobs
    order = sorted(mutants, key=lambda m: m.kernel)
    shares = [order[i::jobs] for i in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:
        for f in [pool.submit(run_job, i, share, not args.no_confirm, report, args.tests_rev) for i, share in enumerate(shares)]:
            f.result()
    by_id = {m.id: i for i, m in enumerate(MUTANTS)}
    report.sort(key=lambda o: by_id[o.mutant.id])
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "area", "kind", "status", "killed_by", "seconds", "what"])
        for o in report:
            w.writerow([o.mutant.id, o.mutant.area, "paired" if o.mutant.kernel else "single", o.status,
                        o.killed_by, f"{o.seconds:.0f}", o.mutant.what])
    killed = sum(o.status in ("killed", "timeout") for o in report)
    survived = [o for o in report if o.status == "survived"]
    other = [o for o in report if o.status in ("stale", "error")]
    print(f"\n{killed} of {len(report)} mutants killed ({100.0 * killed / max(len(report), 1):.1f}%), "
          f"{len(survived)} survived, {len(other)} not run; {time.perf_counter() - t0:.0f} s; results in {args.out}")
    for o in survived:
        print(f"  survived: {o.mutant.id}: {o.mutant.what}")
    for o in other:
        print(f"  {o.status}: {o.mutant.id}: {o.killed_by}")
    return 0 if not survived and not other else 1


if __name__ == "__main__":
    sys.exit(main())
