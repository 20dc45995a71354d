"""Scale benchmark: ``abs-engine validate`` and ``abs-engine run`` of a deal with a large
loan tape (default 1,000,000 loans), each in a fresh child process that measures itself:
wall time from its start and peak resident memory (``VmHWM`` of ``/proc/self/status``,
read by the child as it exits, so nothing else's memory is counted).

The deal is the bad-input corpus's example deal (tests/bad_inputs/good_example) with its
3-row tape replaced by ``--loans`` synthetic loans of the same shape (bullet, annuity and
equal-principal loans, one-year terms, distinct ids and borrowers), written to a temporary
directory.

    python benchmarks/tape_bench.py                 # 1,000,000 loans
    python benchmarks/tape_bench.py --loans 100000  # quicker
    python benchmarks/tape_bench.py --json

Figures are recorded in docs/performance.md ("Large tapes"), with the machine, the
command and the date. Linux only (``/proc/self/status``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "tests" / "bad_inputs" / "good_example"
HEADER = ("loan_id,borrower,balance,original_balance,rate,origination_date,maturity_date,amortization,"
          "payment_frequency,io_periods,amortization_term_months,ip_type,collateral_value,industry,region\n")

#: Runs the CLI in the child and reports its own time and peak RSS on stderr as it exits.
CHILD = r"""
import atexit, json, sys, time
t0 = time.perf_counter()
def report():
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    sys.stderr.write("BENCH " + json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mib": hwm / 1024}) + "\n")
atexit.register(report)
from abs_engine.cli import app
app(sys.argv[1:], prog_name="abs-engine")
"""


def write_tape(path: Path, n: int) -> int:
    """``n`` synthetic loans; returns the file size in bytes."""
    kinds = (("bullet", "quarterly", 15), ("annuity", "monthly", 16), ("equal_principal", "quarterly", 17))
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(HEADER)
        for i in range(n):
            am, fr, day = kinds[i % 3]
            bal = 1_000_000 + (i % 977) * 1000
            fh.write(f"SZ-{i:07d},Borrower {i % 5000},{bal},{bal},0.05,2026-06-{day},2027-06-{day},{am},{fr},,,"
                     f"patent,{3_000_000 + (i % 13) * 1000},electronics,Nanshan\n")
    return path.stat().st_size


def measure(args: list[str], cwd: Path) -> dict[str, float]:
    p = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, "ABS_ENGINE_MAX_MEMORY_GB": os.environ.get("ABS_ENGINE_MAX_MEMORY_GB", "20")})
    line = next((ln for ln in p.stderr.splitlines() if ln.startswith("BENCH ")), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"abs-engine {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(line[len("BENCH "):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true", help="print the JSON document only")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="abs-engine-tape-bench-"))
    try:
        shutil.copy(GOOD / "deal.yaml", work / "deal.yaml")
        (work / "tapes").mkdir()
        size = write_tape(work / "tapes" / "sz_pledge_2026_1.csv", a.loans)
        results = {
            "loans": a.loans,
            "tape_bytes": size,
            "validate": measure(["validate", "deal.yaml"], work),
            "run": measure(["run", "deal.yaml", "--no-term-sheets", "-o", str(work / "out")], work),
            "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count()},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not a.json:
        for k in ("validate", "run"):
            r = results[k]
            print(f"{k:9s} {a.loans:,} loans: {r['seconds']:7.1f} s, peak RSS {r['peak_rss_mib']:,.0f} MiB", file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
