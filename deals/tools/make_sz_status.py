"""Write the example status of deals/seasoned/ (deterministic): the SZ deal
(deals/sz_pledge_2026_1.yaml) run under scenarios/sz_2026_1_named_default.yaml (the base case
and SZ-004 defaulting in November 2026), its status after the second payment date
(2027-01-26) written by ``Result.status_at`` — what a manager would fill from that date's
trustee report, here from a run so that the consistency of the restart can be seen
(deals/seasoned/README.md).

Run from the repository root: ``python deals/tools/make_sz_status.py [OUT_DIR]`` (default
``deals/seasoned``). tests/test_seasoned_example.py writes it again into a temporary
directory and checks that it equals the committed files byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import abs_engine as ae
from abs_engine.io.status_file import write_status

ROOT = Path(__file__).resolve().parent.parent.parent
#: The status's file name: the deal and the status date.
NAME = "sz_pledge_2026_1_2027-01-26.yaml"


def main(out: Path) -> list[Path]:
    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    scenario = ae.load_scenario(ROOT / "scenarios" / "sz_2026_1_named_default.yaml")
    result = ae.run(deal, scenario, backend="reference")
    return write_status(result.status_at(2), out / NAME)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "deals" / "seasoned"
    for p in main(target):
        print(f"wrote {p}")
