"""The seasoned-deal commands of ``abs-engine`` (docs/seasoned.md): ``value`` (each class on
a valuation date from a curve) and ``track`` (actual vs projected over several statuses),
registered on :mod:`abs_engine.cli`'s app by :func:`register`; and what ``run --status`` /
``run --write-status K`` add to a run (:func:`status_outputs`).

User mistakes print one line per problem and exit 2, as every command does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InputError
from ..io.names import console_text as escape
from ..io.names import path_component
from .common import DealArg, ScenarioOpt

OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Output directory (default out/<deal name>/<command>)")]
BackendOpt = Annotated[str, typer.Option(help="cython or reference")]


def _ui() -> tuple[Any, Any]:
    """The command line's output directory and console (imported late: abs_engine.cli
    imports this module to register the commands)."""
    from .common import out, output_dir

    return output_dir, out


def _scenarios(paths: list[Path] | None) -> list[Any]:
    from ..io import load_scenarios
    from ..model.scenario import BASE

    return load_scenarios(paths or []) or [BASE]


def _backend(name: str) -> Any:
    if name not in ("cython", "reference"):
        raise InputError.single("", "--backend", f"unknown backend '{name}' (cython, reference)")
    return name


def load_run_status(status: Path | None, deal: Any) -> Any:
    """``run --status``: the status file, checked against the deal (None without one)."""
    if status is None:
        return None
    from ..io.status_file import load_status

    return load_status(status, deal)


def check_write_status(deal: Any, status: Any, k: int | None) -> None:
    """``run --write-status K``: K must be a period the run projects, before the last."""
    if k is None:
        return
    from ..dates import legal_schedule

    sched = legal_schedule(deal.deal)
    first = 1 if status is None else sched.period_of(status.date) + 2
    if not first <= k <= sched.n_periods - 1:
        raise InputError.single("", "--write-status", f"{k}: a status is written after a period the run projects and "
                                f"before its last, {first}..{sched.n_periods - 1}")


def status_outputs(result: Any, target: Path, write_status_after: int | None) -> list[Path]:
    """What a run from a status or with ``--write-status K`` writes into its output set:
    ``status_after_<K>/<scenario>.yaml`` (and their tapes) for ``--write-status``; for a
    run from a status that carries actuals, ``actual_vs_projected.csv`` and ``.png`` (its
    periods against the projection at closing under the run's scenarios, which the term
    sheets then show too)."""
    from ..io.outputs import write_csv
    from ..io.status_file import write_status

    written: list[Path] = []
    if write_status_after is not None:  # (check_write_status checked it)
        folder = target / f"status_after_{write_status_after}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in result.scenario_names:
            written += write_status(result.status_at(write_status_after, name),
                                    folder / f"{path_component(name, 'scenario')}.yaml")
    if result.status is not None and result.status.history:
        from ..actuals import actual_vs_projected
        from ..report.actuals_sheet import actuals_png

        frame = actual_vs_projected(result.deal, [result.status], result.scenarios)
        result.actual_vs_projected = frame
        written.append(write_csv(frame, target / "actual_vs_projected.csv"))
        written.append(actuals_png(frame, target / "actual_vs_projected.png",
                                   f"{result.deal.name} — 实际与设立时预测 / actual vs projected at closing"))
    return written


def status_inputs(status: Path | None) -> dict[str, Path]:
    """The manifest's inputs of a status file: the file and its tapes."""
    if status is None:
        return {}
    from ..io.status_file import STATUS_TAPES
    from ..io.yamlio import load_yaml

    inputs = {"status": status}
    raw = load_yaml(status, "status")
    for name, pool in (raw.get("pools") or {}).items():
        for field, *_ in STATUS_TAPES:
            if isinstance(pool, dict) and isinstance(pool.get(field), str):
                inputs[f"status:{name}:{field}"] = status.parent / pool[field]
    return inputs


def value(
    deal: DealArg,
    valuation: Annotated[Path, typer.Argument(help="Valuation file (YAML: date, curve, spreads, yields)", show_default=False)],
    status: Annotated[Path | None, typer.Option("--status", help="The deal's status (YAML): value the remaining life from it")] = None,
    scenario: ScenarioOpt = None,
    out_dir: OutOpt = None,
    backend: BackendOpt = "cython",
) -> None:
    """Value every class on a date: dirty and clean price on a discount curve plus a spread
    (or at a yield), accrued interest from the last payment date, yield, WAL and durations
    from that date; writes valuation.csv."""
    from ..checks import require, valuation_problems
    from ..engine import run as run_deal
    from ..io import load_deal
    from ..io.outputs import manifest, output_set, write_csv, write_manifest
    from ..io.status_file import load_status
    from ..valuation import load_valuation
    from ..valuation import value as value_classes

    output_dir, out = _ui()
    d = load_deal(deal)
    spec = load_valuation(valuation)
    require(valuation_problems(d, spec["date"], str(valuation)))  # (before the run, not after it)
    st = load_status(status, d) if status is not None else None
    final = output_dir(out_dir, d.name, "value")
    result = run_deal(d, _scenarios(scenario), backend=_backend(backend), status=st)
    frame = value_classes(result, spec["date"], curve=spec["curve"], spreads=spec["spreads"], yields=spec["yields"])
    with output_set(final) as target:
        written = [write_csv(frame, target / "valuation.csv")]
        inputs = {"deal": deal, "valuation": valuation, **status_inputs(status),
                  **{f"scenario:{p.name}": p for p in scenario or []}}
        written.append(write_manifest(target / "manifest.json", manifest(inputs, written, command=sys.argv)))
    table = Table(title=f"{escape(d.name)} — valuation on {spec['date']}")
    for col in ("scenario", "class", "face", "price", "dirty", "accrued", "yield", "WAL (y)", "mod. dur."):
        table.add_column(col, justify="left" if col in ("scenario", "class") else "right")
    for row in frame.to_dict("records"):
        num = (lambda x, f: "" if x != x else format(x, f))  # noqa: E731
        table.add_row(escape(str(row["scenario"])), escape(str(row["tranche"])), num(row["face"], ",.2f"),
                      num(row["price"], ".4f"), num(row["dirty_price"], ".4f"), num(row["accrued"], ".4f"),
                      num(row["yield"], ".4%"), num(row["wal_years"], ".3f"), num(row["modified_duration"], ".3f"))
    out.print(table)
    out.print(f"wrote {escape(final / 'valuation.csv')}", highlight=False, soft_wrap=True)


def track(
    deal: DealArg,
    statuses: Annotated[list[Path], typer.Argument(help="Status files (YAML) of several periods", show_default=False)],
    scenario: ScenarioOpt = None,
    baseline: Annotated[str, typer.Option(help="closing (one projection at closing) or previous (each period against the projection at the last status before it)")] = "closing",
    out_dir: OutOpt = None,
    backend: BackendOpt = "cython",
) -> None:
    """Actual vs projected: the periods the statuses report against the projection at
    closing (or at the last status); writes actual_vs_projected.csv and .png."""
    from ..actuals import actual_vs_projected
    from ..errors import Problem
    from ..io import load_deal
    from ..io.outputs import manifest, output_set, write_csv, write_manifest
    from ..io.status_file import load_status
    from ..report.actuals_sheet import actuals_png

    output_dir, out = _ui()
    d = load_deal(deal)
    loaded, problems = [], []
    for p in statuses:
        try:
            loaded.append(load_status(p, d))
        except InputError as exc:
            problems += exc.problems
    if baseline not in ("closing", "previous"):
        problems.append(Problem("", "--baseline", f"unknown baseline '{baseline}' (closing, previous)"))
    if problems:
        raise InputError(problems)
    final = output_dir(out_dir, d.name, "track")
    frame = actual_vs_projected(d, loaded, _scenarios(scenario), baseline=baseline,  # type: ignore[arg-type]
                                backend=_backend(backend))
    with output_set(final) as target:
        written = [write_csv(frame, target / "actual_vs_projected.csv"),
                   actuals_png(frame, target / "actual_vs_projected.png",
                               (f"{d.name} — 实际与设立时预测 / actual vs projected at closing" if baseline == "closing" else
                                f"{d.name} — 实际与上一期预测 / actual vs projected at the last status"))]
        inputs: dict[str, Path] = {"deal": deal}
        for i, p in enumerate(statuses):
            inputs.update({f"{k}:{i}": v for k, v in status_inputs(p).items()})
        written.append(write_manifest(target / "manifest.json", manifest(inputs, written, command=sys.argv)))
    pool = frame[(frame["tranche"] == "") & frame["item"].isin(["interest_collected", "principal_collected", "defaults", "pool_balance"])]
    table = Table(title=f"{escape(d.name)} — actual vs projected")
    for col in ("scenario", "period", "date", "item", "actual", "projected", "difference"):
        table.add_column(col, justify="left" if col in ("scenario", "item", "date") else "right")
    for row in pool.to_dict("records"):
        table.add_row(escape(str(row["scenario"])), str(row["period"]), str(row["payment_date"]), row["item"],
                      f"{row['actual']:,.2f}", f"{row['projected']:,.2f}", f"{row['difference']:,.2f}")
    out.print(table)
    for p in written:
        out.print(f"wrote {escape(final / p.relative_to(target))}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``value`` and ``track`` to ``app`` (user mistakes: one line per problem, exit 2)."""
    from .common import user_errors

    for fn in (value, track):
        app.command()(user_errors(fn))
