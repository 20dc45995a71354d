"""The ``abs-engine`` command line.

User mistakes (bad deal files, tapes, scenarios) print one line per problem and exit
with status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InputError
from ..io.names import console_text as escape
from .common import (
    DealArg,
    ScenarioOpt,
    _fail,
    _load_scenarios,
    app,
    err,
    out,
    output_dir,
    user_errors,
)


@app.command()
@user_errors
def validate(
    deal: DealArg,
    scenario: ScenarioOpt = None,
    model: Annotated[Path | None, typer.Option("--model", "-m", help="Monte Carlo settings file (YAML) to check against the deal")] = None,
    status: Annotated[Path | None, typer.Option("--status", help="A status of the deal (YAML) to check against it")] = None,
) -> None:
    """Check a deal file (and its tapes, scenarios and Monte Carlo settings); list every
    problem and exit with status 2 when there are any."""
    from ..checks import check_scenarios, settings_problems
    from ..io import load_deal
    from ..model.scenario import BASE

    try:
        d = load_deal(deal)
        problems = []
        try:
            scs = _load_scenarios(scenario)
            check_scenarios(d, scs or [BASE], str(deal))  # (what run checks; without -s it runs the base scenario)
        except InputError as exc:
            problems += exc.problems
            scs = []
        if model is not None:
            from ..io.scenario_file import load_monte_carlo

            try:
                problems += settings_problems(d, load_monte_carlo(model), str(model))
            except InputError as exc:
                problems += exc.problems
        if status is not None:
            from ..io.status_file import load_status

            try:
                load_status(status, d)
            except InputError as exc:
                problems += exc.problems
        if problems:
            raise InputError(problems)
    except InputError as exc:
        _fail(exc)
        return
    from ..eligibility import exclusion_lines

    n_assets = sum(len(p.assets) for p in d.pools)
    extra = f", Monte Carlo settings {escape(model)}" if model is not None else ""
    extra += f", status {escape(status)}" if status is not None else ""
    dropped = exclusion_lines(d)
    excluded = f" ({len(dropped)} excluded by eligibility)" if dropped else ""
    out.print(f"[green]ok[/green] {escape(deal)}: deal '{escape(d.name)}', {len(d.pools)} pool(s), {n_assets} assets{excluded}, "
              f"{len(d.tranches)} tranches, {len(scs)} scenario(s){extra}")
    _print_exclusions(dropped)


def _print_exclusions(lines: list[str]) -> None:
    """The loans eligibility dropped (on_breach: exclude), one line each."""
    for line in lines:
        out.print(f"[yellow]excluded[/yellow] {escape(line)}", highlight=False, soft_wrap=True)


@app.command()
@user_errors
def schema(kind: Annotated[str, typer.Argument(help="deal, scenario or montecarlo")] = "deal") -> None:
    """Print the JSON Schema of deal, scenario or Monte Carlo files, for editor autocompletion."""
    from ..io.scenario_file import scenario_file_schema
    from ..model import Deal
    from ..model.scenario import MonteCarlo

    schemas = {
        "deal": lambda: Deal.model_json_schema(by_alias=True),
        "scenario": scenario_file_schema,
        "montecarlo": lambda: MonteCarlo.model_json_schema(by_alias=True),
    }
    if kind not in schemas:
        err.print(f"[red]error[/red] unknown schema '{escape(kind)}' (deal, scenario, montecarlo)")
        raise typer.Exit(2)
    sys.stdout.write(json.dumps(schemas[kind](), indent=2, ensure_ascii=False) + "\n")


@app.command()
@user_errors
def run(
    deal: DealArg,
    scenario: ScenarioOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory (default out/<deal name>)")] = None,
    backend: Annotated[str, typer.Option(help="cython or reference")] = "cython",
    lang: Annotated[str, typer.Option(help="Term-sheet labels: zh, en or both")] = "both",
    term_sheets: Annotated[bool, typer.Option("--term-sheets/--no-term-sheets", help="Write the Excel term sheets")] = True,
    curve: Annotated[Path | None, typer.Option(help="Discount curve file (YAML, a curve under 'curve:') for spreads; replaces the deal's pricing.curve")] = None,
    settlement: Annotated[str | None, typer.Option(help="Settlement date of the analytics, YYYY-MM-DD (default: the deal's pricing.settlement, else closing)")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr")] = True,
    status: Annotated[Path | None, typer.Option("--status", help="Pick the deal up from its status on a payment date (YAML; docs/seasoned.md)")] = None,
    write_status: Annotated[int | None, typer.Option("--write-status", help="Write the status after period K of each scenario (status_after_K/)")] = None,
) -> None:
    """Project a deal under its scenarios, print a summary, write the cash flows, the
    analytics, the investor figures (docs/outputs.md) and the Excel term sheets (senior,
    mezzanine if any, subordinate)."""
    import datetime as dt

    from ..eligibility import exclusion_lines
    from ..engine import run as run_deal
    from ..io import load_deal
    from ..io.deal_file import with_pricing

    try:
        d = load_deal(deal)
        try:
            settle = dt.date.fromisoformat(settlement) if settlement is not None else None
        except ValueError:
            raise InputError.single("", "--settlement", f"'{settlement}' is not a date (YYYY-MM-DD)") from None
        d = with_pricing(d, curve_file=curve, settlement=settle)
        scs = _load_scenarios(scenario) or None
        if backend not in ("cython", "reference"):
            raise InputError.single("", "--backend", f"unknown backend '{backend}' (cython, reference)")
        if lang not in ("zh", "en", "both"):
            raise InputError.single("", "--lang", f"unknown language '{lang}' (zh, en, both)")
        final = output_dir(out_dir, d.name)
        from .status import check_write_status, load_run_status

        st = load_run_status(status, d)  # (docs/seasoned.md)
        check_write_status(d, st, write_status)
    except InputError as exc:
        _fail(exc)
        return
    from ..studies.executors import progress_bar
    from ..studies.investor import investor_view

    with progress_bar(5, "steps", enabled=progress, console=err) as step:
        try:
            result = run_deal(d, scs, backend=backend, status=st)  # type: ignore[arg-type]
        except InputError as exc:
            _fail(exc)
            return
        result.check_conservation()
        step(1)
        analytics = result.analytics()
        step(1)
        view = investor_view(result, backend=backend)  # type: ignore[arg-type]
        step(1)
        # one set: staged, then moved into place with the manifest last (docs/validation.md)
        written = _write_run(d, deal, scenario, curve, final, result, analytics, view, term_sheets, lang, step,
                             status, write_status)
    _print_exclusions(exclusion_lines(d))

    table = Table(title=f"{escape(d.name)} — tranche summary")
    for col in ("scenario", "tranche", "balance", "interest", "principal", "residual", "writedown", "WAL (y)"):
        table.add_column(col, justify="right" if col not in ("scenario", "tranche") else "left")
    for row in result.summary().itertuples():
        table.add_row(escape(row.scenario), escape(row.tranche), f"{row.balance:,.2f}", f"{row.interest:,.2f}", f"{row.principal:,.2f}",
                      f"{row.residual:,.2f}", f"{row.writedown:,.2f}", "" if row.wal_years != row.wal_years else f"{row.wal_years:.3f}")
    out.print(table)
    for p in written:
        out.print(f"wrote {escape(p)}", highlight=False, soft_wrap=True)


def _write_run(d: Any, deal: Path, scenario: list[Path] | None, curve: Path | None, final: Path, result: Any,
               analytics: Any, view: Any, term_sheets: bool, lang: str, step: Any, status: Path | None = None,
               write_status: int | None = None) -> list[Path]:
    """The outputs of ``run`` as one set (docs/validation.md): staged, then moved into place
    with the manifest last."""
    from ..eligibility import exclusions
    from ..io.outputs import manifest, output_set, write_csv, write_manifest
    from .status import status_inputs, status_outputs

    with output_set(final) as target:
        seasoned = status_outputs(result, target, write_status)  # (first: the term sheets show the actuals)
        written = [
            write_csv(result.tranches, target / "tranches.csv"),
            write_csv(result.pool, target / "pool.csv"),
            write_csv(result.accounts, target / "accounts.csv"),
            write_csv(result.fees, target / "fees.csv"),
            write_csv(result.states, target / "states.csv"),
            write_csv(result.summary(), target / "summary.csv"),
            write_csv(analytics, target / "analytics.csv"),
            write_csv(result.yield_tables(), target / "yield_tables.csv"),
            write_csv(result.support, target / "support.csv"),
            write_csv(result.layers, target / "layers.csv"),
            *([write_csv(result.liquidity, target / "liquidity.csv")]
              if any(a.kind == "liquidity" for a in result.deal.accounts) else []),
            *view.write_csvs(target),
            *seasoned,
        ]
        step(1)
        if term_sheets:
            from ..report import write_term_sheets

            written += write_term_sheets(result, target, lang=lang, analytics=analytics, deal_path=deal, investor=view)
        step(1)
        inputs = {"deal": deal, **{f"scenario:{p.name}": p for p in scenario or []}, **({"curve": curve} if curve else {}),
                  **status_inputs(status)}
        for i, pool in enumerate(d.pools):
            # loan and receivable pools have `tape`; licence pools three tapes
            for field in ("tape", "licence_tape", "patent_tape", "link_tape"):
                path = getattr(pool, field, None)
                if path:
                    inputs[f"{field}:{i}"] = deal.parent / path
        written.append(write_manifest(target / "manifest.json", manifest(inputs, written, command=sys.argv,
                                                                         excluded=exclusions(d))))
    return [final / p.relative_to(target) for p in written]


# the scenario commands: sweep, breakeven, simulate (abs_engine/cli/studies.py)
from .studies import register as _register_scenario_commands  # noqa: E402

_register_scenario_commands(app)
# the structuring commands: size, agency, solve, compare, heatmap (abs_engine/cli/structuring.py)
from .structuring import register as _register_structuring  # noqa: E402

_register_structuring(app)
# the seasoned-deal commands: value, track (abs_engine/cli/status.py)
from .status import register as _register_status_commands  # noqa: E402

_register_status_commands(app)
# the static-pool analysis (abs_engine/cli/staticpool.py)
from .staticpool import register as _register_static_pool  # noqa: E402

_register_static_pool(app)


def main() -> None:
    app()
