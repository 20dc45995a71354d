"""What every command of the ``abs-engine`` command line shares: the Typer app, the
consoles, the deal and scenario arguments, and how a user mistake is reported (one line
per problem, exit status 2, never a traceback)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ..errors import InputError
from ..io.names import console_text as escape
from ..io.names import path_component

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cash-flow engine for IP-backed securitization (知识产权证券化).")
# wide enough for the summary table when the output is a file or a pipe
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DealArg = Annotated[Path, typer.Argument(help="Deal file (YAML)", show_default=False)]
ScenarioOpt = Annotated[
    list[Path] | None,
    typer.Option("--scenario", "-s", help="Scenario file (YAML); repeat for several"),
]


def _load_scenarios(paths: list[Path] | None) -> list[Any]:
    """Scenario and grid files (grids expand to their points); every problem of every
    file in one InputError."""
    from ..io import load_scenarios

    return load_scenarios(paths or [])


def user_errors(fn: Any) -> Any:
    """A command whose :class:`InputError` anywhere (inputs, options, the output stage)
    prints one line per problem and exits 2, never a traceback."""
    import functools

    from ..errors import AnalyticsError, Problem

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            _fail(exc)
        except AnalyticsError as exc:  # inputs the analytics cannot use (prices, yields, curves)
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not ln.strip().endswith(":")]
            _fail(InputError([Problem("", "analytics", ln) for ln in lines or [str(exc)]]))

    return wrapper


def _fail(exc: InputError) -> None:
    for p in exc.problems:
        # user text (names from deal files) may look like markup: escape it
        err.print(f"[red]error[/red] {escape(str(p))}", highlight=False, markup=True, soft_wrap=True)
    err.print(f"{exc.total} problem(s) found.")
    raise typer.Exit(2)


def output_dir(out_dir: Path | None, deal_name: str, *sub: str) -> Path:
    """Where a command writes: ``--out`` as given, else ``out/<deal name>/<sub>`` with the
    deal name made a safe directory name (:func:`abs_engine.io.names.path_component`); checked
    before any work starts (:func:`abs_engine.io.outputs.check_output_dir`)."""
    from ..io.outputs import check_output_dir

    final = out_dir if out_dir is not None else Path("out", path_component(deal_name), *sub)
    check_output_dir(final)
    return final
