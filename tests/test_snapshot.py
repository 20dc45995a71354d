"""A snapshot of the engine's own outputs, to prove that a change which must not change
results (a redesign, a move of code, a speed-up) changes none.

Not a golden test from an independent source (those are the other files of tests/golden/,
with tests/golden/SOURCES.md): the figures here are whatever the engine computed when the
snapshot was taken, stored as one SHA-256 per output in ``tests/golden/snapshot.csv``. Every
output is hashed at full precision (``repr`` of each float), so a change in the last bit of
any figure shows.

What is covered:

* every gallery deal (deals/README.md) under its gallery scenarios, as ``abs-engine run``
  computes them: the cash-flow frames, the summary, the analytics, the yield tables, the
  investor figures and the term sheets (every cell value of every sheet), on the kernel and
  the tranche and account frames on the reference twin too;
* every gallery deal under every other shipped scenario file that applies to it (whose names
  resolve in the deal), one run each;
* sweeps of the grid files, break-evens, Monte Carlo simulations (licence, transfer and
  pledge pools, the sparse and the dense projection, a clean-up call) and the default-only
  simulation, on the serial executor.

When an output changes on purpose, regenerate the snapshot and say why in the commit::

    python -m pytest tests/test_snapshot.py -p no:xdist --update-golden
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import DEALS, ROOT, SCENARIOS

import abs_engine as ae
from abs_engine.io import load_grid
from abs_engine.io.scenario_file import load_monte_carlo

GOLDEN = ROOT / "tests" / "golden" / "snapshot.csv"
FIELDS = ("case", "output", "rows", "sha256")


def gallery() -> dict[str, list[str]]:
    """deal file -> its gallery scenario names (the table of deals/README.md)."""
    out: dict[str, list[str]] = {}
    for line in (DEALS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[1].endswith(".yaml`"):
            out[cells[1].strip("`")] = re.findall(r"`([^`]+)`", cells[2])
    return out


def frame_digest(df: pd.DataFrame) -> tuple[int, str]:
    """(rows, SHA-256 of the frame as CSV with every float at full precision)."""
    text = df.to_csv(index=False, lineterminator="\n")
    return len(df), hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The time a workbook was written, as its cells state it (masked: it is no output of the engine).
WRITTEN_AT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}Z?)?")


def workbook_digest(path: Path) -> tuple[int, str]:
    """(rows, SHA-256 of every sheet's name and cell values, the time of writing masked;
    not the file's bytes, which carry that time too)."""
    wb = openpyxl.load_workbook(path)
    h = hashlib.sha256()
    n = 0
    for ws in wb.worksheets:
        h.update(f"[{ws.title}]\n".encode())
        for row in ws.iter_rows(values_only=True):
            cells = tuple(WRITTEN_AT.sub("<written at>", v) if isinstance(v, str) else v for v in row)
            h.update(repr(cells).encode("utf-8") + b"\n")
            n += 1
    return n, h.hexdigest()


Output = tuple[str, str, Callable[[], tuple[int, str]]]


def _frames(case: str, frames: dict[str, Callable[[], pd.DataFrame]]) -> Iterator[Output]:
    for name, make in frames.items():
        yield case, name, (lambda make=make: frame_digest(make()))


@cache
def _deal(file: str) -> ae.Deal:
    return ae.load_deal(DEALS / file)


def _scenario(name: str) -> ae.Scenario:
    return ae.load_scenario(SCENARIOS / f"{name}.yaml")


def _applies(deal: ae.Deal, sc: ae.Scenario) -> bool:
    from abs_engine.checks import scenario_problems

    return not scenario_problems(deal, [sc])


#: The outputs of a run: every one for the gallery, the first five for the other scenarios.
RESULT_FRAMES: dict[str, Callable[[ae.Result], pd.DataFrame]] = {
    "tranches": lambda r: r.tranches, "pool": lambda r: r.pool, "accounts": lambda r: r.accounts,
    "layers": lambda r: r.layers, "summary": lambda r: r.summary(),
    "fees": lambda r: r.fees, "states": lambda r: r.states, "support": lambda r: r.support,
    "parties": lambda r: r.parties, "analytics": lambda r: r.analytics(), "yield_tables": lambda r: r.yield_tables(),
    "cleanup_period": lambda r: pd.DataFrame({"t": r.cleanup_period}),
}


def _result_frames(make: Callable[[], ae.Result], names: list[str]) -> dict[str, Callable[[], pd.DataFrame]]:
    return {k: (lambda k=k: RESULT_FRAMES[k](make())) for k in names}


def gallery_outputs() -> Iterator[Output]:
    from abs_engine.report import write_term_sheets
    from abs_engine.studies.investor import investor_view

    for file, names in gallery().items():
        deal = _deal(file)
        scs = [_scenario(n) for n in names]
        case = f"gallery/{file}"

        @cache
        def result(deal: ae.Deal = deal, scs: tuple[ae.Scenario, ...] = tuple(scs)) -> ae.Result:
            return ae.run(deal, list(scs))

        yield from _frames(case, _result_frames(result, list(RESULT_FRAMES)))

        @cache
        def view(result: Callable[[], ae.Result] = result) -> object:
            return investor_view(result())

        for attr in ("parties", "dependence", "support_share", "breakeven", "pool_stress", "decrement",
                     "speed_table", "speeds", "events"):
            yield case, f"investor.{attr}", (lambda attr=attr, view=view: frame_digest(getattr(view(), attr)))

        def sheets(result: Callable[[], ae.Result] = result, view: Callable[[], object] = view,
                   file: str = file) -> tuple[int, str]:
            with tempfile.TemporaryDirectory() as tmp:
                res = result()
                paths = write_term_sheets(res, Path(tmp), analytics=res.analytics(), deal_path=DEALS / file,
                                          investor=view())
                digests = [f"{p.name}:{workbook_digest(p)[1]}" for p in sorted(paths)]
            return len(digests), hashlib.sha256("\n".join(digests).encode()).hexdigest()

        yield case, "term_sheets", sheets

        def reference(result: Callable[[], ae.Result] = result, deal: ae.Deal = deal,
                      scs: list[ae.Scenario] = scs) -> ae.Result:
            return ae.run(deal, scs, backend="reference")

        yield from _frames(f"{case}/reference", {"tranches": lambda reference=reference: reference().tranches,
                                                 "accounts": lambda reference=reference: reference().accounts})


def scenario_outputs() -> Iterator[Output]:
    """Every other shipped scenario file (not a grid) on every gallery deal it applies to."""
    files = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("grid_"))
    for file, names in gallery().items():
        deal = _deal(file)
        for path in files:
            if path.stem in names:
                continue
            sc = ae.load_scenario(path)
            if not _applies(deal, sc):
                continue
            once = cache(lambda deal=deal, sc=sc: ae.run(deal, sc))
            yield from _frames(f"scenario/{file}/{path.stem}", _result_frames(once, list(RESULT_FRAMES)[:5]))


def study_outputs() -> Iterator[Output]:
    from abs_engine.model.deal import CleanUpCall
    from abs_engine.model.scenario import MonteCarlo
    from abs_engine.studies.breakeven import breakeven
    from abs_engine.studies.executors import Executor
    from abs_engine.studies.montecarlo import simulate, simulate_defaults
    from abs_engine.studies.sweep import sweep

    serial = Executor("serial")
    sz, pudong, wenke = "sz_pledge_2026_1.yaml", "pudong_licence_2020.yaml", "wenke_lease_2019_1.yaml"

    for deal_file, grid_file in ((sz, "grid_cdr_recovery"), (sz, "grid_default_multiples"),
                                 (pudong, "grid_default_multiples")):
        def run_sweep(deal_file: str = deal_file, grid_file: str = grid_file) -> object:
            grid = load_grid(SCENARIOS / f"{grid_file}.yaml")
            return sweep(_deal(deal_file), grid.scenarios, points=grid.frame(), executor=serial, chunk=7)

        once = cache(run_sweep)
        yield from _frames(f"sweep/{deal_file}/{grid_file}", {"tranches": lambda once=once: once().tranches,
                                                               "pool": lambda once=once: once().pool})

    for deal_file, base in ((sz, "stress_guarantor_fails"), (pudong, "pudong_base"), (wenke, "wenke_2019_1_stress")):
        def run_breakeven(deal_file: str = deal_file, base: str = base) -> object:
            return breakeven(_deal(deal_file), _scenario(base), executor=serial)

        once = cache(run_breakeven)
        yield from _frames(f"breakeven/{deal_file}/{base}", {"table": lambda once=once: once().table,
                                                              "curve": lambda once=once: once().curve})

    sz_settings = load_monte_carlo(SCENARIOS / "monte_carlo" / "sz_pledge_industry.yaml").model_copy(update={"paths": 96})
    plain = MonteCarlo(paths=96, seed=7, correlation=0.2, patent_correlation=0.3)
    sz_deal = _deal(sz)
    no_support = sz_deal.model_copy(update={"pools": [p.model_copy(update={"support": []}) for p in sz_deal.pools]})
    called = no_support.model_copy(update={"cleanup_call": CleanUpCall(threshold=0.6, price=0.95)})
    simulations: list[tuple[str, Callable[[], ae.Deal], str, MonteCarlo]] = [
        (f"{sz}/stress", lambda: sz_deal, "stress", sz_settings),
        (f"{sz}/stress_guarantor_fails", lambda: sz_deal, "stress_guarantor_fails",
         sz_settings.model_copy(update={"support_default_probability": {"guarantee": 0.05}})),
        (f"{sz}:no_support/stress", lambda: no_support, "stress", sz_settings),
        (f"{sz}:cleanup_call/base", lambda: called, "base", sz_settings),
        (f"{pudong}/pudong_two_invalidations", lambda: _deal(pudong), "pudong_two_invalidations", plain),
        (f"{pudong}/pudong_base", lambda: _deal(pudong), "pudong_base", plain),
        (f"{wenke}/wenke_2019_1_stress", lambda: _deal(wenke), "wenke_2019_1_stress", plain),
    ]
    for case, make_deal, scenario, settings in simulations:
        def run_mc(make_deal: Callable[[], ae.Deal] = make_deal, scenario: str = scenario,
                   settings: MonteCarlo = settings) -> object:
            return simulate(make_deal(), _scenario(scenario), settings, executor=serial)

        once = cache(run_mc)
        yield from _frames(f"montecarlo/{case}", {
            "paths": lambda once=once: once().paths, "pool": lambda once=once: once().pool,
            "summary": lambda once=once: once().summary(), "pool_summary": lambda once=once: once().pool_summary(),
            "loss_distribution": lambda once=once: once().loss_distribution(),
            "facts": lambda once=once: pd.DataFrame({"sparse": [once().sparse], "sparse_check": [once().sparse_check],
                                                     "notes": ["; ".join(once().notes)]}),
        })
    yield from _frames(f"montecarlo_defaults/{sz}/stress", {
        "pool": lambda: simulate_defaults(sz_deal, _scenario("stress"), sz_settings, executor=serial)})


def outputs() -> Iterator[Output]:
    yield from gallery_outputs()
    yield from scenario_outputs()
    yield from study_outputs()


def read_golden() -> dict[tuple[str, str], tuple[int, str]]:
    with GOLDEN.open(encoding="utf-8", newline="") as fh:
        return {(r["case"], r["output"]): (int(r["rows"]), r["sha256"]) for r in csv.DictReader(fh)}


def test_outputs_match_the_snapshot(request: pytest.FixtureRequest) -> None:
    got = {(case, name): digest() for case, name, digest in outputs()}
    if request.config.getoption("--update-golden"):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(FIELDS)
        for (case, name), (rows, sha) in got.items():
            w.writerow([case, name, rows, sha])
        GOLDEN.write_text(buf.getvalue(), encoding="utf-8")
        pytest.skip(f"snapshot written: {GOLDEN.relative_to(ROOT)} ({len(got)} outputs)")
    want = read_golden()
    missing = sorted(set(want) - set(got))
    new = sorted(set(got) - set(want))
    changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    assert not (missing or new or changed), (
        f"{len(changed)} output(s) changed: {changed[:20]}; missing: {missing[:10]}; not in the snapshot: {new[:10]} "
        "(regenerate with --update-golden only when the change is intended)")


def test_the_snapshot_covers_every_gallery_deal_and_shipped_scenario() -> None:
    want = read_golden()
    cases = {c for c, _ in want}
    for file in gallery():
        assert f"gallery/{file}" in cases, file
    applied = {c.split("/")[2] for c in cases if c.startswith("scenario/")} | {n for ns in gallery().values() for n in ns}
    stems = {p.stem for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("grid_")}
    assert stems <= applied, sorted(stems - applied)
    for prefix in ("sweep/", "breakeven/", "montecarlo/", "montecarlo_defaults/"):
        assert any(c.startswith(prefix) for c in cases), prefix
