"""The scenario commands of ``abs-engine``: ``sweep``, ``breakeven``, ``simulate``
(:func:`register` adds them to the app of :mod:`abs_engine.cli`; docs/scenarios.md,
"Commands").

Every command writes its outputs as one set (:func:`abs_engine.io.outputs.output_set`):
tidy CSV and/or Parquet frames, PNG plots beside them, optionally the term sheets with a
break-even and loss-distribution sheet, and a manifest last. User mistakes print one line
per problem and exit 2; Ctrl-C stops the run, writes nothing and exits 130.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InputError
from ..io.names import console_text as escape

DealArg = Annotated[Path, typer.Argument(help="Deal file (YAML)", show_default=False)]
ScenarioOpt = Annotated[
    list[Path] | None,
    typer.Option("--scenario", "-s", help="Scenario file (YAML); repeat for several"),
]


def _ui() -> tuple[Any, Any, Any]:
    """The command line's problem printer and consoles (imported late: abs_engine.cli
    imports this module to register the commands)."""
    from .common import _fail, err, out

    return _fail, out, err

FormatOpt = Annotated[str, typer.Option("--format", help="Frames as csv, parquet or both")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Output directory (default out/<deal name>/<command>)")]
BackendOpt = Annotated[str, typer.Option(help="cython or reference")]
CriterionOpt = Annotated[str, typer.Option(help="When a tranche counts as whole: timely, expected or ultimate")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Workers (default: every core)")]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="threads, processes or serial (local runs)")]
DaskOpt = Annotated[bool, typer.Option("--dask", help="Run on a Dask LocalCluster started for the run")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Run on the Dask scheduler at this address (tcp://host:port)")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr")]
LangOpt = Annotated[str, typer.Option(help="Term-sheet labels: zh, en or both")]
TermSheetsOpt = Annotated[bool, typer.Option("--term-sheets/--no-term-sheets", help="Write the Excel term sheets")]


#: The most workers a run may ask for (local threads or processes, or Dask workers).
MAX_WORKERS = 1024


def _executor(kind: str, workers: int | None, dask: bool, scheduler: str | None, chunk: int | None = None) -> Any:
    from ..studies.executors import Executor, check_scheduler

    if chunk is not None and chunk < 1:
        raise InputError.single("", "--chunk", f"must be at least 1 (got {chunk})")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise InputError.single("", "--workers", f"must be between 1 and {MAX_WORKERS} (got {workers})")
    if dask and scheduler:
        raise InputError.single("", "--dask", "give --dask (start a LocalCluster) or --scheduler ADDRESS, not both")
    if scheduler:
        check_scheduler(scheduler)  # a wrong or unreachable address fails now, in seconds
        return Executor("dask", workers, scheduler)
    if dask:
        return Executor("dask", workers)
    if kind not in ("threads", "processes", "serial"):
        raise InputError.single("", "--executor", f"unknown executor '{kind}' (threads, processes, serial)")
    if workers is not None and workers < 1:
        raise InputError.single("", "--workers", f"must be at least 1 (got {workers})")
    return Executor(kind, workers)  # type: ignore[arg-type]


def _check_options(backend: str, criterion: str, fmt: str, lang: str = "both") -> None:
    from ..results import CRITERIA
    from ..studies.outputs import FORMATS

    problems = []
    if backend not in ("cython", "reference"):
        problems.append(("--backend", f"unknown backend '{backend}' (cython, reference)"))
    if criterion not in CRITERIA:
        problems.append(("--criterion", f"unknown criterion '{criterion}' ({', '.join(CRITERIA)})"))
    if fmt not in FORMATS:
        problems.append(("--format", f"unknown format '{fmt}' ({', '.join(FORMATS)})"))
    if lang not in ("zh", "en", "both"):
        problems.append(("--lang", f"unknown language '{lang}' (zh, en, both)"))
    if problems:
        from ..errors import Problem

        raise InputError([Problem("", p, m) for p, m in problems])


def _inputs(deal_path: Path, d: Any, files: dict[str, Path]) -> dict[str, Path]:
    inputs = {"deal": deal_path, **files}
    for i, pool in enumerate(d.pools):
        for field in ("tape", "licence_tape", "patent_tape", "link_tape"):
            path = getattr(pool, field, None)
            if path:
                inputs[f"{field}:{i}"] = deal_path.parent / path
    return inputs


def _excluded(d: Any) -> list[dict[str, Any]]:
    """The loans the deal's eligibility criteria dropped, for the manifest."""
    from ..eligibility import exclusions

    return exclusions(d)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C: say that nothing was written and exit 130 (the output set is discarded)."""
    _, _, err = _ui()
    try:
        yield
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow]: the run was stopped; nothing was written.")
        raise typer.Exit(130) from None


def _output_dir(out_dir: Path | None, deal_name: str, command: str) -> Path:
    from .common import output_dir

    return output_dir(out_dir, deal_name, command)


def _print_written(final: Path, target: Path, written: list[Path]) -> None:
    _, out, _ = _ui()
    for p in written:
        out.print(f"wrote {escape(final / p.relative_to(target))}", highlight=False, soft_wrap=True)


def _term_sheets(d: Any, deal_path: Path, base: Any, target: Path, lang: str, backend: str, **extra: Any) -> list[Path]:
    from ..engine import run as run_engine
    from ..report import write_term_sheets

    result = run_engine(d, [base], backend=backend)  # type: ignore[arg-type]
    result.check_conservation()
    return write_term_sheets(result, target, lang=lang, analytics=result.analytics(), deal_path=deal_path, **extra)


# --------------------------------------------------------------------------- long runs

#: Runs estimated to take longer than this (seconds) ask for confirmation (or ``--yes``).
LONG_RUN_S = 60.0
#: Monte Carlo runs of at least this many paths x assets (sweeps: scenarios x assets) are
#: timed on a pilot first.
PILOT_ABOVE = 20_000_000
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Start a long run without asking (its estimate is still printed)")]


def _pilot_estimate(d: Any, base: Any, settings: Any, ex: Any, backend: str, criterion: str) -> tuple[float, float]:
    """Estimated (seconds, bytes) of a Monte Carlo run, from small serial pilots (32 paths
    to warm up, then 256 and 1,024: the difference is the cost per path, the rest the
    set-up), the paths
    spread over the executor's workers; memory: the per-path result frames and one chunk's
    working arrays (:func:`abs_engine.limits.working_bytes`)."""
    import time

    from ..limits import working_bytes
    from ..pools.kinds import horizon_months
    from ..studies.executors import Executor
    from ..studies.montecarlo import BLOCK, _default_chunk
    from ..studies.montecarlo import simulate as run_simulation

    times = []
    sizes = (BLOCK, 8 * BLOCK, 32 * BLOCK)  # (the first warms up: imports, caches)
    for n in sizes:
        t0 = time.perf_counter()
        run_simulation(d, base, settings.model_copy(update={"paths": n}), executor=Executor("serial"),
                       backend=backend, criterion=criterion)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    per_path = max(times[2] - times[1], 1e-9) / (sizes[2] - sizes[1])
    fixed = max(times[1] - per_path * sizes[1], 0.0)
    workers = 1 if ex.kind == "serial" else max(1, min(ex.n_workers, __import__("os").cpu_count() or 1))
    seconds = fixed + per_path * settings.paths / workers
    K = len(d.tranches)
    chunk = _default_chunk(settings.paths, ex.n_workers)
    frames = 8.0 * settings.paths * (12 * K + 16) * 3  # per-path frames, their copies while written
    memory = frames + working_bytes(d, chunk, horizon_months(d, [base])) * min(ex.n_workers, 4)
    return seconds, memory


def _sweep_estimate(d: Any, scs: list[Any], ex: Any, backend: str, criterion: str) -> tuple[float, float]:
    """Estimated (seconds, bytes) of a sweep, from serial pilots of its first 1 and 3
    scenarios (the difference is the cost per scenario, the rest the set-up), spread over the
    executor's workers; memory: one chunk's working arrays per worker and the result rows."""
    import os
    import time

    from ..limits import working_bytes
    from ..pools.kinds import horizon_months
    from ..studies.executors import Executor
    from ..studies.sweep import CHUNK, DEFAULT_CHUNK
    from ..studies.sweep import sweep as run_sweep

    times = []
    sizes = (1, 3)
    for n in sizes:
        t0 = time.perf_counter()
        run_sweep(d, scs[:n], executor=Executor("serial"), backend=backend, criterion=criterion)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    per = max(times[1] - times[0], 1e-9) / (sizes[1] - sizes[0])
    fixed = max(times[0] - per * sizes[0], 0.0)
    workers = 1 if ex.kind == "serial" else max(1, min(ex.n_workers, os.cpu_count() or 1))
    chunk = min(DEFAULT_CHUNK, CHUNK, len(scs))
    memory = working_bytes(d, chunk, horizon_months(d, scs)) * min(ex.n_workers, 4) + 8.0 * len(scs) * len(d.tranches) * 40
    return fixed + per * len(scs) / workers, memory


def _confirm_long_run(what: str, seconds: float, memory: float, yes: bool, fewer: str = "paths") -> None:
    """Print the estimate of a long run; go on if ``--yes`` or the user says so at a
    terminal, else stop with an error (a script must pass ``--yes``)."""
    from ..limits import _size

    _, _, err = _ui()
    shown = f"about {_duration(seconds)} and {_size(memory)} of memory"
    err.print(f"[yellow]estimate[/yellow] {what}: {shown}", highlight=False)
    if seconds <= LONG_RUN_S or yes:
        return
    if sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm("Start it?", default=False, err=True):
            return
        raise typer.Exit(1)
    raise InputError.single("", "--yes", f"{what} would take {shown}; pass --yes to start it "
                            f"(or run fewer {fewer})")


def _duration(seconds: float) -> str:
    """A duration as people read it.

    >>> _duration(45), _duration(2700), _duration(200000)
    ('45 s', '45 min', '55.6 h')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --------------------------------------------------------------------------- sweep


def sweep(
    deal: DealArg,
    grid: Annotated[list[Path] | None, typer.Option("--grid", "-g", help="Grid file (YAML); repeat for several")] = None,
    scenario: ScenarioOpt = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    chunk: Annotated[int | None, typer.Option(help="Scenarios per engine call (bounds memory)")] = None,
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
    dask: DaskOpt = False,
    scheduler: SchedulerOpt = None,
    backend: BackendOpt = "cython",
    criterion: CriterionOpt = "timely",
    progress: ProgressOpt = True,
    yes: YesOpt = False,
) -> None:
    """Run every point of grid files (and plain scenarios) in chunks: one row per scenario
    and tranche (loss, whole, WAL, yield) with the grid's axes, a plot, a manifest."""
    _fail, out, err = _ui()
    from ..io import load_deal
    from ..io.outputs import manifest, output_set, write_manifest
    from ..studies.executors import progress_bar
    from ..studies.outputs import write_frame
    from ..studies.plots import sweep_png
    from ..studies.sweep import sweep as run_sweep

    try:
        _check_options(backend, criterion, fmt)
        if not grid and not scenario:
            raise InputError.single("", "--grid", "give a grid file (--grid) or scenario files (-s)")
        d = load_deal(deal)
        import pandas as pd

        from ..io.scenario_file import load_points

        grids = load_points([*(grid or []), *(scenario or [])])
        scs = [sc for g in grids for sc in g.scenarios]
        points = pd.concat([g.frame() for g in grids], ignore_index=True)
        ex = _executor(executor, workers, dask, scheduler, chunk)
        final = _output_dir(out_dir, d.name, "sweep")
        n_assets = sum(len(p.assets) for p in d.pools)
        if len(scs) * max(n_assets, 1) >= PILOT_ABOVE:
            seconds, memory = _sweep_estimate(d, scs, ex, backend, criterion)
            _confirm_long_run(f"{len(scs):,} scenarios x {n_assets:,} assets", seconds, memory, yes, "scenarios")
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set(final) as target:
        with progress_bar(len(scs), "scenarios", enabled=progress, console=err) as on_done:
            try:
                result = run_sweep(d, scs, points=points, executor=ex, chunk=chunk, backend=backend,  # type: ignore[arg-type]
                                   criterion=criterion, on_done=on_done)  # type: ignore[arg-type]
            except InputError as exc:
                _fail(exc)
                return
        written = write_frame(result.tranches, target, "sweep_tranches", fmt) + write_frame(result.pool, target, "sweep_pool", fmt)
        png = sweep_png(result.tranches, result.axes, target / "sweep_tranche_loss.png",
                        f"{d.name} — tranche loss across the grid") if result.axes else None
        if png:
            written.append(png)
        files = {f"grid:{p.name}": p for p in grid or []} | {f"scenario:{p.name}": p for p in scenario or []}
        written.append(write_manifest(target / "manifest.json", manifest(_inputs(deal, d, files), written, command=sys.argv, excluded=_excluded(d))))
    _summary_table(result.tranches, f"{d.name} — sweep of {result.n_scenarios} scenarios ({result.executor}, "
                   f"{result.elapsed_s:.2f} s)")
    _print_written(final, target, written)


def _summary_table(df: Any, title: str) -> None:
    """Per tranche across the scenarios: how many whole, the worst loss and where."""
    _, out, _ = _ui()
    table = Table(title=escape(title))
    for col in ("tranche", "scenarios", "whole", "worst loss", "worst scenario", "mean WAL (y)"):
        table.add_column(col, justify="left" if col in ("tranche", "worst scenario") else "right")
    for name, g in df.groupby("tranche", sort=False):
        i = g["loss_rate"].idxmax()
        table.add_row(escape(str(name)), f"{len(g):,}", f"{int(g['whole'].sum()):,}", f"{g.loc[i, 'loss_rate']:.4%}",
                      escape(str(g.loc[i, "scenario"])), f"{g['wal_years'].mean():.3f}")
    out.print(table)


# --------------------------------------------------------------------------- breakeven


def breakeven(
    deal: DealArg,
    scenario: Annotated[Path | None, typer.Option("--scenario", "-s", help="Base scenario (default: no defaults)")] = None,
    tranche: Annotated[list[str] | None, typer.Option("--tranche", "-t", help="Tranche; repeat for several (default: all)")] = None,
    stress: Annotated[list[str] | None, typer.Option("--stress", help="cdr, cdr_multiple, recovery, invalidation, "
                                                     "invalidation_multiple; repeat (default: those that apply)")] = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
    lang: LangOpt = "both",
    term_sheets: TermSheetsOpt = True,
) -> None:
    """Break-even level of each tranche (临界违约率): the highest default rate, default
    multiple of the base, invalidation hazard, and the lowest recovery rate at which it is
    still whole, to 1 bp; a loss-vs-multiple plot and the term sheets' break-even sheet."""
    _fail, out, err = _ui()
    from ..io import load_deal, load_scenario
    from ..io.outputs import manifest, output_set, write_manifest
    from ..model.scenario import BASE
    from ..studies.breakeven import breakeven as run_breakeven
    from ..studies.outputs import write_frame
    from ..studies.plots import loss_vs_multiple_png

    try:
        _check_options(backend, criterion, fmt, lang)
        d = load_deal(deal)
        base = load_scenario(scenario) if scenario else BASE
        final = _output_dir(out_dir, d.name, "breakeven")
        be = run_breakeven(d, base, stresses=stress or None, tranches=tranche or None,
                           criterion=criterion, backend=backend)  # type: ignore[arg-type]
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set(final) as target:
        written = write_frame(be.table, target, "breakeven", fmt) + write_frame(be.curve, target, "loss_curve", fmt)
        if len(be.curve):
            written.append(loss_vs_multiple_png(be.curve, be.table, target / "tranche_loss_vs_default_multiple.png",
                                                f"{d.name} — tranche loss vs default level (base: {base.name})"))
        if term_sheets:
            written += _term_sheets(d, deal, base, target, lang, backend, breakeven=be.table)
        files = {"scenario": scenario} if scenario else {}
        written.append(write_manifest(target / "manifest.json", manifest(_inputs(deal, d, files), written, command=sys.argv, excluded=_excluded(d))))
    table = Table(title=escape(f"{d.name}") + f" — break-even levels (base: {escape(base.name)}, criterion {criterion}, "
                  f"{be.evaluations} scenarios in {be.engine_calls} engine calls, {be.elapsed_s:.2f} s)")
    for col in ("stress", "tranche", "break-even", "first break", "x base", "bound"):
        table.add_column(col, justify="left" if col in ("stress", "tranche", "bound") else "right")
    for r in be.table.itertuples():
        pct = not r.stress.endswith("multiple")
        fmt_ = (lambda v: f"{v:.4%}") if pct else (lambda v: f"{v:.4f}x")
        table.add_row(escape(r.stress), escape(r.tranche), "—" if r.breakeven != r.breakeven else fmt_(r.breakeven),
                      "—" if r.first_break != r.first_break else fmt_(r.first_break),
                      "—" if r.multiple_of_base != r.multiple_of_base else f"{r.multiple_of_base:.2f}", r.bound)
    out.print(table)
    for note in be.notes:
        err.print(f"[yellow]note[/yellow] {escape(note)}")
    _print_written(final, target, written)


# --------------------------------------------------------------------------- simulate


def simulate(
    deal: DealArg,
    paths: Annotated[int | None, typer.Option("--paths", "-n", help="Number of paths (default: the model file's, else 1000)")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the model file's)")] = None,
    scenario: Annotated[Path | None, typer.Option("--scenario", "-s", help="Scenario: marginal default rates and other assumptions")] = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Monte Carlo settings file (YAML)")] = None,
    correlation: Annotated[float | None, typer.Option(help="Asset correlation (overrides the model file)")] = None,
    correlation_by: Annotated[str | None, typer.Option(help="none, industry or ip_type")] = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    chunk: Annotated[int | None, typer.Option(help="Paths per task (whole blocks; never changes the results)")] = None,
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
    dask: DaskOpt = False,
    scheduler: SchedulerOpt = None,
    backend: BackendOpt = "cython",
    criterion: CriterionOpt = "timely",
    progress: ProgressOpt = True,
    with_breakeven: Annotated[bool, typer.Option("--breakeven/--no-breakeven", help="Add the break-even levels to the term sheets")] = False,
    lang: LangOpt = "both",
    term_sheets: TermSheetsOpt = True,
    yes: YesOpt = False,
) -> None:
    """Monte Carlo of correlated defaults (one-factor Gaussian copula): per tranche expected
    loss, probability of loss, loss percentiles, WAL and yield distributions and a rating
    from the table in data; per-path results, a loss histogram and the term sheets."""
    _fail, out, err = _ui()
    from pydantic import ValidationError

    from ..io import load_deal, load_scenario
    from ..io.outputs import manifest, output_set, write_manifest
    from ..io.scenario_file import load_monte_carlo
    from ..io.validation import problems_from_validation
    from ..model.scenario import BASE, MonteCarlo
    from ..studies.executors import progress_bar
    from ..studies.montecarlo import simulate as run_simulation
    from ..studies.outputs import write_frame
    from ..studies.plots import loss_distribution_png

    try:
        _check_options(backend, criterion, fmt, lang)
        d = load_deal(deal)
        base = load_scenario(scenario) if scenario else BASE
        settings = load_monte_carlo(model) if model else MonteCarlo()
        update = {k: v for k, v in (("paths", paths), ("seed", seed), ("correlation", correlation),
                                    ("correlation_by", correlation_by)) if v is not None}
        try:
            settings = MonteCarlo.model_validate({**settings.model_dump(), **update})
        except ValidationError as exc:
            raise InputError([type(p)(p.file or "command line", f"--{p.path.replace('_', '-')}", p.message)
                              for p in problems_from_validation(exc, MonteCarlo, "")]) from None
        from ..checks import settings_problems

        problems = settings_problems(d, settings, str(model) if model else "command line")
        if problems:
            raise InputError(problems)
        ex = _executor(executor, workers, dask, scheduler, chunk)
        final = _output_dir(out_dir, d.name, "simulate")
        n_assets = sum(len(p.assets) for p in d.pools)
        if settings.paths * max(n_assets, 1) >= PILOT_ABOVE:
            seconds, memory = _pilot_estimate(d, base, settings, ex, backend, criterion)
            _confirm_long_run(f"{settings.paths:,} paths x {n_assets:,} assets", seconds, memory, yes)
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set(final) as target:
        with progress_bar(settings.paths, "paths", enabled=progress, console=err) as on_done:
            try:
                sim = run_simulation(d, base, settings, executor=ex, chunk=chunk, backend=backend,  # type: ignore[arg-type]
                                     criterion=criterion, on_done=on_done)  # type: ignore[arg-type]
            except InputError as exc:
                _fail(exc)
                return
        summary = sim.summary()
        written = (write_frame(sim.paths, target, "mc_paths", fmt) + write_frame(sim.pool, target, "mc_pool", fmt)
                   + write_frame(summary, target, "mc_summary", fmt)
                   + write_frame(sim.pool_summary(), target, "mc_pool_summary", fmt)
                   + write_frame(sim.loss_distribution(), target, "mc_loss_distribution", fmt)
                   + write_frame(sim.settings_frame(), target, "mc_settings", fmt))
        written.append(loss_distribution_png(sim, target / "loss_distribution.png"))
        if term_sheets:
            extra: dict[str, Any] = {"simulation": sim}
            if with_breakeven:
                from ..studies.breakeven import breakeven as run_breakeven

                extra["breakeven"] = run_breakeven(d, base, criterion=criterion, backend=backend).table  # type: ignore[arg-type]
            written += _term_sheets(d, deal, base, target, lang, backend, **extra)
        files = {k: v for k, v in (("scenario", scenario), ("model", model)) if v}
        written.append(write_manifest(target / "manifest.json",
                                      manifest(_inputs(deal, d, files), written, command=sys.argv, excluded=_excluded(d), seed=settings.seed)))
    table = Table(title=escape(f"{d.name}") + f" — Monte Carlo, {sim.n_paths:,} paths, seed {settings.seed}, rho {settings.correlation:g} "
                  f"({sim.executor}, {sim.elapsed_s:.2f} s, {sim.n_paths / max(sim.elapsed_s, 1e-9):,.0f} paths/s)")
    for col in ("tranche", "EL", "P(loss)", "P(loss) 95% ub", "loss p99", "WAL (y)", "yield", "rating", "rating (95% ub)"):
        table.add_column(col, justify="left" if col in ("tranche", "rating", "rating (95% ub)") else "right")
    for r in summary.itertuples():
        table.add_row(escape(r.tranche), f"{r.expected_loss:.4%}", f"{r.loss_probability:.2%}", f"{r.loss_probability_upper95:.2%}",
                      f"{r.loss_p99:.2%}", f"{r.wal_mean:.3f}", f"{r.yield_mean:.3%}", r.rating, r.rating_upper95)
    out.print(table)
    for note in sim.notes:
        err.print(f"[yellow]note[/yellow] {escape(note)}")
    _print_written(final, target, written)


def register(app: typer.Typer) -> None:
    """Add ``sweep``, ``breakeven`` and ``simulate`` to ``app`` (the structuring commands
    are :mod:`abs_engine.cli.structuring`'s); an InputError anywhere in a command prints
    one line per problem (:func:`abs_engine.cli.common.user_errors`)."""
    from .common import user_errors

    for fn in (sweep, breakeven, simulate):
        app.command()(user_errors(fn))
