"""``abs-engine static-pool HISTORY``: the static-pool analysis of an originator's history,
written as one output set (frames, plots, the fitted scenario files, a manifest last;
docs/static-pool.md). :func:`register` adds the command to the app of :mod:`abs_engine.cli`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from ..errors import InputError, Problem


def write_yaml(data: dict[str, Any], target: Path, header: str) -> Path:
    """A scenario file (YAML, comments first), atomically."""
    from ..io.outputs import atomic_open

    with atomic_open(target) as fh:
        for line in header.splitlines():
            fh.write(f"# {line}\n" if line else "#\n")
        yaml.safe_dump(data, fh, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    return target


def static_pool(
    history: Annotated[Path, typer.Argument(help="Performance history: one row per loan and month (CSV, XLSX, Parquet)",
                                            show_default=False)],
    loans: Annotated[Path | None, typer.Option("--loans", help="Loan table (one row per loan) when the history has "
                                               "only the monthly columns")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory (default out/static_pool/<name>)")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the fitted scenario (default: the history file's stem)")] = None,
    vintage: Annotated[str, typer.Option(help="Vintages by origination quarter or year")] = "quarter",
    fmt: Annotated[str, typer.Option("--format", help="Frames as csv, parquet or both")] = "csv",
) -> None:
    """Static-pool analysis (静态池分析): cumulative default and prepayment rates by vintage and
    loan age, recovery rate and timing, delinquency roll rates; the fitted default and
    prepayment curves by loan age; and scenario files ready for run, sweep, breakeven and
    simulate (the fitted base, a grid of rating stress multiples, the delinquency pipeline)."""
    from ..io.outputs import manifest, output_set, write_manifest
    from ..staticpool import analyse, load_history
    from ..staticpool.plots import fitted_curves_png, vintage_curves_png
    from ..studies.outputs import FORMATS, write_frame
    from .common import _fail, out
    from .studies import _interruptible, _print_written

    try:
        problems = []
        if vintage not in ("quarter", "year"):
            problems.append(Problem("", "--vintage", f"unknown vintage '{vintage}' (quarter, year)"))
        if fmt not in FORMATS:
            problems.append(Problem("", "--format", f"unknown format '{fmt}' ({', '.join(FORMATS)})"))
        scenario_name = name or history.stem
        if not scenario_name.replace("_", "").replace("-", "").isalnum():
            problems.append(Problem("", "--name", f"'{scenario_name}' is not a file name (letters, digits, _ and -)"))
        if problems:
            raise InputError(problems)
        hist = load_history(history, loans)
        sp = analyse(hist, vintage)
    except InputError as exc:
        _fail(exc)
        return
    final = out_dir or Path("out") / "static_pool" / scenario_name
    source = ", ".join(str(p) for p in hist.files)
    with _interruptible(), output_set(final) as target:
        written = []
        for frame, stem in ((sp.vintages, "static_pool_vintages"), (sp.vintage_curves, "static_pool_vintage_curves"),
                            (sp.by_age, "static_pool_by_age"), (sp.recovery_timing, "static_pool_recovery_timing"),
                            (sp.roll_rates, "static_pool_roll_rates")):
            written += write_frame(frame, target, stem, fmt)
        title = f"{scenario_name}: {sp.info['loans']:,} loans, vintages {sp.info['vintages']}, as of {sp.as_of}"
        written.append(vintage_curves_png(sp, target / "vintage_curves.png", title))
        written.append(fitted_curves_png(sp, target / "fitted_curves.png", title))
        note = (f"Written by abs-engine static-pool from {source} (docs/static-pool.md).\n"
                "Run it: abs-engine run DEAL -s <this file>; sweep --grid, breakeven -s and simulate -s take it too.")
        written.append(write_yaml(sp.scenario(scenario_name), target / f"{scenario_name}.yaml", note))
        written.append(write_yaml(sp.stress_grid(scenario_name), target / f"{scenario_name}_stresses.yaml",
                                  note + "\nIndicative agency stress multiples of the fitted default curve: replace them "
                                  "with the agency's own."))
        written.append(write_yaml(sp.pipeline_scenario(scenario_name), target / f"{scenario_name}_delinquency.yaml",
                                  note + "\nThe observed delinquency roll rates instead of the default curve (an "
                                  "expected-value model: run, sweep and breakeven take it; simulate and deals with pool "
                                  "risk-sharing layers do not)."))
        inputs = {"history": history, **({"loans": loans} if loans else {})}
        written.append(write_manifest(target / "manifest.json", manifest(inputs, written, command=sys.argv)))
    table = Table(title=escape(title))
    for col in ("vintage", "loans", "observed months", "cum. default", "projected lifetime", "cum. prepayment"):
        table.add_column(col, justify="left" if col == "vintage" else "right")
    for r in sp.vintages.itertuples():
        proj = r.projected_lifetime_default_rate
        table.add_row(str(r.vintage), f"{r.loans:,}", str(r.observed_age), f"{r.cumulative_default_rate:.2%}",
                      "—" if proj != proj else f"{proj:.2%}", f"{r.cumulative_prepayment_rate:.2%}")
    out.print(table)
    d, p = sp.default_curve, sp.prepayment_curve
    out.print(f"fitted MDR by loan age: {d.peak:.3%} a month from month {d.ramp} to {d.plateau}, "
              f"{d.tail:.3%} from month {d.decline}; SMM {p.peak:.3%} from month {p.ramp}, {p.tail:.3%} from "
              f"month {max(p.decline, p.plateau + 1)}; recovery {sp.recovery_rate:.1%} after {sp.recovery_lag} months")
    _print_written(final, target, written)


def register(app: typer.Typer) -> None:
    """Add ``static-pool`` to ``app``."""
    app.command("static-pool")(static_pool)
