"""The structuring commands of ``abs-engine``: ``size``, ``agency``, ``solve``, ``compare``,
``heatmap`` (docs/structuring.md; registered by :func:`abs_engine.cli.studies.register`).

Like the other scenario commands, each writes one output set (staged, moved into place
with the manifest last), prints one line per user mistake with the field and exits 2, and
on Ctrl-C writes nothing and exits 130.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import InputError, Problem
from ..io.names import console_text as escape
from ..io.names import path_component
from .studies import (
    BackendOpt,
    CriterionOpt,
    DealArg,
    ExecutorOpt,
    FormatOpt,
    LangOpt,
    OutOpt,
    ScenarioOpt,
    TermSheetsOpt,
    WorkersOpt,
    _check_options,
    _excluded,
    _executor,
    _inputs,
    _interruptible,
    _output_dir,
    _print_written,
    _term_sheets,
    _ui,
)

BaseOpt = Annotated[Path | None, typer.Option("--base", "-b", help="Base scenario: the Monte Carlo's marginal default rates and the stresses' base")]
ModelOpt = Annotated[Path | None, typer.Option("--model", "-m", help="Monte Carlo settings file (YAML)")]
PathsOpt = Annotated[int | None, typer.Option("--paths", "-n", help="Monte Carlo paths (default 10,000)")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Monte Carlo seed (default: the model file's)")]
TestOpt = Annotated[str, typer.Option("--test", help="tdr (BDR >= TDR) or multiple (break-even >= multiple x base)")]
MultipleOpt = Annotated[list[str] | None, typer.Option("--multiple", help="RATING=MULTIPLE for the multiple test, best rating first; repeat")]
NoSupportOpt = Annotated[bool, typer.Option("--no-support", help="Every support party fails from the cut-off date in every stress")]
RatingTableOpt = Annotated[Path | None, typer.Option("--rating-table", help="Idealised default table (CSV; default: the one in data)")]


def _settings(model: Path | None, paths: int | None, seed: int | None) -> Any:
    from pydantic import ValidationError

    from ..io.scenario_file import load_monte_carlo
    from ..io.validation import problems_from_validation
    from ..model.scenario import MonteCarlo
    from ..studies.agency import AGENCY_PATHS

    settings = load_monte_carlo(model) if model else MonteCarlo(paths=AGENCY_PATHS)
    update = {k: v for k, v in (("paths", paths), ("seed", seed)) if v is not None}
    try:
        return MonteCarlo.model_validate({**settings.model_dump(), **update})
    except ValidationError as exc:
        raise InputError([Problem(p.file or "command line", f"--{p.path.replace('_', '-')}", p.message)
                          for p in problems_from_validation(exc, MonteCarlo, "")]) from None


def _multiples(specs: list[str] | None) -> dict[str, float] | None:
    if not specs:
        return None
    out: dict[str, float] = {}
    problems = []
    for i, s in enumerate(specs):
        rating, _, value = s.partition("=")
        try:
            out[rating.strip()] = float(value)
        except ValueError:
            problems.append(Problem("", f"--multiple[{i}]", f"'{s}' is not RATING=MULTIPLE (e.g. AAA=5)"))
    if problems:
        raise InputError(problems)
    return out


def _base(base: Path | None, command: str) -> Any:
    from ..io import load_scenario

    if base is None:
        raise InputError.single("", "--base", f"{command} needs a base scenario (-b FILE): its default rates are the "
                                "Monte Carlo's marginal rates and its assumptions the stresses' base")
    return load_scenario(base)


def _load_scenarios(paths: list[Path] | None) -> list[Any]:
    from ..io import load_scenarios

    return load_scenarios(paths or [])


def _manifest(deal: Path, d: Any, target: Path, written: list[Path], files: dict[str, Path], seed: int | None = None) -> Path:
    from ..io.outputs import manifest, write_manifest

    return write_manifest(target / "manifest.json", manifest(_inputs(deal, d, files), written, command=sys.argv,
                                                             excluded=_excluded(d), seed=seed))


def _files(**kw: Path | list[Path] | None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for k, v in kw.items():
        if isinstance(v, list):
            out.update({f"{k}:{p.name}": p for p in v})
        elif v is not None:
            out[k] = v
    return out


def _deal_file(deal: Path, changes: dict[tuple[Any, ...], Any], final: Path, name: str, note: str,
               deal_out: Path | None) -> str:
    """The changed deal file's text for the output set (checked from ``final``), also written
    (checked) at ``deal_out``."""
    from ..io.deal_writer import check_text, deal_text, write_deal

    text = deal_text(deal, changes, final, note=note)
    check_text(text, final, str(final / name))
    if deal_out is not None:
        write_deal(deal_text(deal, changes, deal_out.parent, note=note), deal_out)
    return text


def _stage_text(target: Path, name: str, text: str) -> Path:
    from ..io.outputs import atomic_open

    with atomic_open(target / name) as fh:
        fh.write(text)
    return target / name


def _report(table: Table | None, notes: list[str], final: Path, target: Path, written: list[Path],
            deal_out: Path | None = None) -> None:
    """Print the table, the notes, the files written."""
    _, out, err = _ui()
    if table is not None:
        out.print(table)
    for n in notes:
        err.print(f"[yellow]note[/yellow] {escape(n)}")
    if deal_out is not None:
        out.print(f"wrote {deal_out}", markup=False, highlight=False)
    _print_written(final, target, written)


# --------------------------------------------------------------------------- size


def size(
    deal: DealArg,
    target: Annotated[list[str], typer.Option("--target", "-t", help="RATING for the most senior class, or CLASS=RATING; repeat")],
    base: BaseOpt = None,
    scenario: ScenarioOpt = None,
    model: ModelOpt = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    test: TestOpt = "tdr",
    multiple: MultipleOpt = None,
    no_support: NoSupportOpt = False,
    rating_table: RatingTableOpt = None,
    step: Annotated[float, typer.Option("--step", help="Size step in currency units")] = 10_000.0,
    deal_out: Annotated[Path | None, typer.Option("--deal-out", help="Also write the sized deal file here")] = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
) -> None:
    """Size each class above the subordinate to its target rating: the largest balance (in
    whole steps) whole in every scenario given (-s) and passing the agency test under every
    stress; writes the sized deal file, the sizing table and the agency test of the result."""
    _fail, out, err = _ui()
    from ..io import load_deal
    from ..studies.agency import StressSet, load_agency_table
    from ..studies.outputs import write_frame
    from ..studies.sizing import parse_targets
    from ..studies.sizing import size as run_size

    try:
        _check_options(backend, criterion, fmt)
        d = load_deal(deal)
        sc = _base(base, "size")
        scs = _load_scenarios(scenario)
        settings = _settings(model, paths, seed)
        table = load_agency_table(rating_table) if rating_table else load_agency_table()
        mult = _multiples(multiple)
        targets = parse_targets(target, d, table, mult if test == "multiple" else None)
        ex = _executor(executor, workers, False, None)
        final = _output_dir(out_dir, d.name, "size")
        sz = run_size(d, targets, sc, scs, settings, stresses=StressSet(no_support=no_support), test=test,  # type: ignore[arg-type]
                      multiples=mult, table=table, step=step, criterion=criterion, backend=backend, executor=ex)  # type: ignore[arg-type]
    except InputError as exc:
        _fail(exc)
        return
    name = deal.stem + "_sized.yaml"
    changes: dict[tuple[Any, ...], Any] = {("tranches", t.name, "balance"): t.balance for t in sz.deal.tranches}
    note = "Sized by abs-engine size: " + ", ".join(f"{r.tranche} to {r.target} ({r.solved_balance:,.0f})"
                                                  for r in sz.table.itertuples())
    try:
        text = _deal_file(deal, changes, final, name, note, deal_out)
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set_(final) as target_dir:
        written = [_stage_text(target_dir, name, text)]
        written += write_frame(sz.table, target_dir, "size", fmt) + write_frame(sz.trials, target_dir, "size_trials", fmt)
        if sz.agency is not None:
            written += _agency_frames(sz.agency, target_dir, fmt)
        written.append(_manifest(deal, d, target_dir, written, _files(base=base, scenario=scenario, model=model),
                                 seed=settings.seed if test == "tdr" else None))
    t = Table(title=escape(f"{d.name}") + f" — sized to target ({test}, {sz.engine_calls} engine calls, {sz.elapsed_s:.2f} s)")
    for col in ("tranche", "target", "original", "solved", "subordinate", "binding (one step more)", "cushion"):
        t.add_column(col, justify="left" if col in ("tranche", "target", "binding (one step more)") else "right")
    for r in sz.table.itertuples():
        t.add_row(escape(r.tranche), r.target, f"{r.original_balance:,.0f}", f"{r.solved_balance:,.0f}",
                  f"{r.subordinate_balance:,.0f}", escape(str(r.binding)),
                  "—" if r.cushion != r.cushion else (f"{r.cushion:.4%}" if test == "tdr" else f"{r.cushion:.4f}x"))
    _report(t, sz.notes, final, target_dir, written, deal_out)


def output_set_(final: Path) -> Any:
    from ..io.outputs import output_set

    return output_set(final)


def _agency_frames(ag: Any, target: Path, fmt: str) -> list[Path]:
    from ..studies.outputs import write_frame

    return (write_frame(ag.targets, target, "agency_targets", fmt) + write_frame(ag.bdr, target, "agency_bdr", fmt)
            + write_frame(ag.table, target, "agency_table", fmt) + write_frame(ag.summary, target, "agency_summary", fmt)
            + write_frame(ag.stresses, target, "agency_stresses", fmt))


# --------------------------------------------------------------------------- agency


def agency(
    deal: DealArg,
    base: BaseOpt = None,
    tranche: Annotated[list[str] | None, typer.Option("--tranche", "-t", help="Tranche; repeat (default: all)")] = None,
    model: ModelOpt = None,
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    test: TestOpt = "tdr",
    multiple: MultipleOpt = None,
    no_support: NoSupportOpt = False,
    no_timing: Annotated[bool, typer.Option("--no-timing", help="Leave out the front/back-loaded timing stresses")] = False,
    haircut_add: Annotated[float, typer.Option("--haircut-add", help="Recovery stress: recoveries this much lower (decimal)")] = 0.20,
    lag_add: Annotated[int, typer.Option("--lag-add", help="Recovery stress: disposal this many months later")] = 6,
    rate_shift: Annotated[float, typer.Option("--rate-shift", help="Rate stresses: reference rates up and down by this (decimal)")] = 0.01,
    rating_table: RatingTableOpt = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
    lang: LangOpt = "both",
    term_sheets: TermSheetsOpt = True,
) -> None:
    """The agency stress table: each tranche's TDR at every rating (Monte Carlo), its BDR
    under each stress (default timing, recovery haircut and lag, rates), the cushion and
    the implied rating; CSVs, a plot and the term sheets' agency sheet."""
    _fail, out, err = _ui()
    from ..io import load_deal
    from ..studies.agency import StressSet, load_agency_table
    from ..studies.agency import agency_table as run_agency
    from ..studies.plots import agency_png

    try:
        _check_options(backend, criterion, fmt, lang)
        d = load_deal(deal)
        sc = _base(base, "agency")
        settings = _settings(model, paths, seed)
        try:
            stresses = StressSet(timing=not no_timing, haircut_add=haircut_add, lag_add_months=lag_add,
                                 rate_shift=rate_shift, no_support=no_support)
        except ValueError as exc:
            raise InputError.single("", "--haircut-add/--lag-add/--rate-shift", str(exc)) from None
        table = load_agency_table(rating_table) if rating_table else load_agency_table()
        ex = _executor(executor, workers, False, None)
        final = _output_dir(out_dir, d.name, "agency")
        ag = run_agency(d, sc, settings, stresses=stresses, tranches=tranche or None, test=test,  # type: ignore[arg-type]
                        multiples=_multiples(multiple), table=table, criterion=criterion, backend=backend,  # type: ignore[arg-type]
                        executor=ex)
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set_(final) as target:
        written = _agency_frames(ag, target, fmt)
        written.append(agency_png(ag, target / "agency_stress.png", f"{d.name} — agency stress test (base: {sc.name})"))
        if term_sheets:
            written += _term_sheets(d, deal, sc, target, lang, backend, agency=ag)
        written.append(_manifest(deal, d, target, written, _files(base=base, model=model),
                                 seed=settings.seed if test == "tdr" else None))
    t = Table(title=escape(f"{d.name}") + f" — agency stress test ({test}, {ag.elapsed_s:.2f} s)")
    low = "min_bdr" if test == "tdr" else "min_multiple"
    for col in ("tranche", "stated", "lowest BDR" if test == "tdr" else "lowest multiple", "binding stress", "implied rating", "cushion"):
        t.add_column(col, justify="right" if col in ("lowest BDR", "lowest multiple", "cushion") else "left")
    for r in ag.summary.itertuples():
        v = getattr(r, low)
        t.add_row(escape(r.tranche), escape(r.stated_rating or "—"), f"{v:.4%}" if test == "tdr" else f"{v:.4f}x",
                  r.binding_stress, r.implied_rating,
                  "—" if r.implied_cushion != r.implied_cushion else (f"{r.implied_cushion:.4%}" if test == "tdr" else f"{r.implied_cushion:.4f}x"))
    _report(t, ag.notes, final, target, written)


# --------------------------------------------------------------------------- solve


def solve(
    deal: DealArg,
    scenario: ScenarioOpt = None,
    curve: Annotated[Path | None, typer.Option("--curve", help="Discount curve file (YAML, a curve under 'curve:'); default: the deal's pricing.curve")] = None,
    spread: Annotated[float, typer.Option("--spread", help="Spread over the curve (decimal) at which the coupons price at par")] = 0.0,
    yld: Annotated[float | None, typer.Option("--yield", help="Yield (decimal) at which the coupons price at par, instead of a curve")] = None,
    tranche: Annotated[list[str] | None, typer.Option("--tranche", "-t", help="Tranche; repeat (default: every tranche with a coupon)")] = None,
    sub_price: Annotated[float, typer.Option("--sub-price", help="Purchase price of the subordinate (per 100) for its IRR")] = 100.0,
    coupons: Annotated[bool, typer.Option("--coupons/--no-coupons", help="Solve the par coupons (needs a curve or a yield)")] = True,
    no_support: Annotated[bool, typer.Option("--no-support", help="Highest coupon without support: every support party fails from the cut-off date")] = False,
    deal_out: Annotated[Path | None, typer.Option("--deal-out", help="Also write the deal with the solved coupons here")] = None,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
) -> None:
    """Coupon and spread solvers: the coupon at which each tranche prices at par (on a curve
    plus a spread, or at a yield) under the first scenario; the highest coupon each tranche
    can carry and stay whole in every scenario; the subordinate's IRR at a price."""
    _fail, out, err = _ui()
    from ..io import load_deal
    from ..io.deal_file import with_pricing
    from ..model.scenario import BASE
    from ..studies.outputs import write_frame
    from ..studies.solvers import max_coupon, solve_coupons, subordinate_irr

    try:
        _check_options(backend, criterion, fmt)
        d = load_deal(deal)
        if curve is not None:
            d = with_pricing(d, curve_file=curve)
        scs = _load_scenarios(scenario) or [BASE]
        solved = table = None
        if coupons and (yld is not None or d.pricing.curve is not None):
            solved, table = solve_coupons(d, scs[0], curve=None if yld is not None else d.pricing.curve,  # type: ignore[arg-type]
                                          spread=spread,
                                          yield_=yld, tranches=tranche or None, backend=backend)  # type: ignore[arg-type]
        elif coupons and (curve is not None or spread):
            raise InputError.single("", "--curve", "the par coupons need a discount curve (--curve or pricing.curve)")
        final = _output_dir(out_dir, d.name, "solve")
        mx = max_coupon(d, scs, tranches=tranche or None, criterion=criterion, no_support=no_support, backend=backend)  # type: ignore[arg-type]
        irr = subordinate_irr(d, scs, price=sub_price, backend=backend) if any(t.kind == "subordinate" for t in d.tranches) else None  # type: ignore[arg-type]
    except InputError as exc:
        _fail(exc)
        return
    text = None
    name = f"{deal.stem}_solved.yaml"
    if solved is not None and table is not None:
        from ..studies.solvers import coupon_field

        changes: dict[tuple[Any, ...], Any] = {("tranches", n, "coupon", coupon_field(solved.tranche(n)) or "rate"): float(v)
                                              for n, v in zip(table["tranche"], table["solved"], strict=True)}
        note = "Coupons solved by abs-engine solve to price at par (" + str(table["discount"].iloc[0]) + ")"
        try:
            text = _deal_file(deal, changes, final, name, note, deal_out)
        except InputError as exc:
            _fail(exc)
            return
    with _interruptible(), output_set_(final) as target:
        written: list[Path] = []
        if table is not None and text is not None:
            written += write_frame(table, target, "solve_coupons", fmt)
            written.append(_stage_text(target, name, text))
        written += write_frame(mx, target, "solve_max_spread", fmt)
        if irr is not None:
            written += write_frame(irr, target, "solve_sub_irr", fmt)
        written.append(_manifest(deal, d, target, written, _files(scenario=scenario, curve=curve)))
    if table is not None:
        t = Table(title=escape(f"{d.name}") + f" — coupons at par ({table['discount'].iloc[0]})")
        for col in ("tranche", "field", "original", "solved", "clean price"):
            t.add_column(col, justify="left" if col in ("tranche", "field") else "right")
        for r in table.itertuples():
            t.add_row(escape(r.tranche), r.field, f"{r.original:.6%}", f"{r.solved:.8%}", f"{r.price:.10f}")
        out.print(t)
    t = Table(title=escape(f"{d.name}") + " — highest coupon each tranche carries and stays whole")
    for col in ("tranche", "field", "current", "max", "headroom", "binding"):
        t.add_column(col, justify="left" if col in ("tranche", "field", "binding") else "right")
    for r in mx.itertuples():
        t.add_row(escape(r.tranche), r.field, f"{r.current:.4%}", f"{r.max:.4%}" + (" (range)" if r.bound == "range" else ""),
                  f"{r.headroom:.4%}", escape(r.binding or "—"))
    out.print(t)
    if irr is not None:
        t = Table(title=escape(f"{d.name}") + f" — subordinate IRR at {sub_price:g}")
        for col in ("scenario", "tranche", "IRR", "cash multiple"):
            t.add_column(col, justify="left" if col in ("scenario", "tranche") else "right")
        for r in irr.itertuples():
            t.add_row(escape(str(r.scenario)), escape(r.tranche), "—" if r.irr != r.irr else f"{r.irr:.4%}",
                      "—" if r.cash_multiple != r.cash_multiple else f"{r.cash_multiple:.4f}")
        out.print(t)
    _report(None, [], final, target, written, deal_out if text is not None else None)


# --------------------------------------------------------------------------- compare


def compare(
    deals: Annotated[list[Path] | None, typer.Argument(help="Deal files (YAML) to compare", show_default=False)] = None,
    variants: Annotated[Path | None, typer.Option("--variants", help="A deal with named variants (YAML)")] = None,
    scenario: ScenarioOpt = None,
    paths: Annotated[int, typer.Option("--paths", "-n", help="Monte Carlo paths for the expected loss (0: none)")] = 1000,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    breakevens: Annotated[bool, typer.Option("--breakeven/--no-breakeven", help="Add each tranche's BDR")] = True,
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
    lang: LangOpt = "both",
) -> None:
    """Compare structures: several deals (or a deal and its variants) under the same
    scenarios, side by side: sizes, WAL, yield, expected loss, BDR, the originator's cost of
    funding and the residual to the subordinate; CSVs and an Excel workbook for the desk."""
    _fail, out, err = _ui()
    from ..io import load_deal
    from ..io.variants import Structure, load_variants
    from ..model.scenario import BASE
    from ..report.compare_book import write_comparison_workbook
    from ..studies.compare import compare as run_compare
    from ..studies.compare import side_by_side
    from ..studies.outputs import write_frame

    try:
        _check_options(backend, criterion, fmt, lang)
        structures: list[Structure] = []
        problems: list[Problem] = []
        for p in deals or []:
            try:
                dd = load_deal(p)
                structures.append(Structure(dd.name, dd, str(p)))
            except InputError as exc:
                problems += exc.problems
        if variants is not None:
            try:
                structures += load_variants(variants)
            except InputError as exc:
                problems += exc.problems
        if problems:
            raise InputError(problems)
        if not structures:
            raise InputError.single("", "DEAL", "give deal files to compare, or --variants FILE")
        scs = _load_scenarios(scenario) or [BASE]
        settings = _settings(model, paths or 1, seed) if paths else None
        ex = _executor(executor, workers, False, None)
        final = _output_dir(out_dir, structures[0].deal.name, "compare")
        c = run_compare(structures, scs, settings=settings, criterion=criterion, backend=backend,  # type: ignore[arg-type]
                        executor=ex, breakevens=breakevens)
    except InputError as exc:
        _fail(exc)
        return
    with _interruptible(), output_set_(final) as target:
        written = (write_frame(c.tranches, target, "compare_tranches", fmt) + write_frame(c.summary, target, "compare_summary", fmt)
                   + write_frame(c.risk, target, "compare_risk", fmt)
                   + write_frame(side_by_side(c), target, "compare_side_by_side", fmt))
        written.append(write_comparison_workbook(c, target, lang=lang))
        from ..io.outputs import manifest, write_manifest

        inputs = {f"deal:{s.name}": Path(s.source) for s in structures if Path(s.source).is_file()}
        inputs |= ({"variants": variants} if variants else {}) | {f"scenario:{p.name}": p for p in scenario or []}
        written.append(write_manifest(target / "manifest.json", manifest(inputs, written, command=sys.argv,
                                                                         seed=settings.seed if settings else None)))
    sbs = side_by_side(c)
    t = Table(title=f"structure comparison — {len(structures)} structures, {len(scs)} scenarios "
                    f"({c.elapsed_s:.2f} s); figures under '{escape(scs[0].name)}'")
    t.add_column("tranche")
    t.add_column("measure")
    for s in structures:
        t.add_column(escape(s.name), justify="right")
    pct = {"share_of_notes", "coupon", "yield", "loss_rate", "expected_loss", "bdr", "funding_cost", "all_in_cost",
           "subordinate_yield"}
    for _, r in sbs.iterrows():
        vals = [float(r[s.name]) for s in structures]
        t.add_row(escape(str(r["tranche"])), str(r["measure"]),
                  *["—" if v != v else (f"{v:.4%}" if r["measure"] in pct else f"{v:,.2f}") for v in vals])
    out.print(t)
    _print_written(final, target, written)


# --------------------------------------------------------------------------- heatmap


def heatmap(
    deal: DealArg,
    tranche: Annotated[str, typer.Option("--tranche", "-t", help="Tranche")],
    base: BaseOpt = None,
    stress: Annotated[list[Path] | None, typer.Option("--stress", help="Stress scenario to mark; repeat")] = None,
    y: Annotated[str, typer.Option("--y", help="Second axis: haircut (recovery haircut) or lag (disposal lag)")] = "haircut",
    cdr: Annotated[list[float] | None, typer.Option("--cdr", help="CDR values of the grid; repeat (default: 21 up to twice the worst marked CDR, at least 30%)")] = None,
    y_values: Annotated[list[float] | None, typer.Option("--y-value", help="Values of the second axis; repeat")] = None,
    value: Annotated[str, typer.Option("--value", help="loss_rate, yield or whole")] = "loss_rate",
    out_dir: OutOpt = None,
    fmt: FormatOpt = "csv",
    criterion: CriterionOpt = "timely",
    backend: BackendOpt = "cython",
    executor: ExecutorOpt = "threads",
    workers: WorkersOpt = None,
) -> None:
    """Heat map of a tranche's loss (or yield, or whole) over CDR x recovery haircut or CDR x
    disposal lag, with its break-even frontier and the base and stress points marked."""
    _fail, out, err = _ui()
    from ..io import load_deal, load_scenario
    from ..studies.heatmap import heatmap as run_heatmap
    from ..studies.outputs import write_frame
    from ..studies.plots import heatmap_png

    try:
        _check_options(backend, criterion, fmt)
        d = load_deal(deal)
        sc = _base(base, "heatmap")
        stresses = [load_scenario(p) for p in stress or []]
        ex = _executor(executor, workers, False, None)
        final = _output_dir(out_dir, d.name, "heatmap")
        hm = run_heatmap(d, sc, tranche, y=y, cdr=cdr or None, y_values=y_values or None, stresses=stresses, value=value,
                         criterion=criterion, backend=backend, executor=ex)  # type: ignore[arg-type]
    except InputError as exc:
        _fail(exc)
        return
    stem = path_component(f"heatmap_{tranche}_cdr_{y}")
    with _interruptible(), output_set_(final) as target:
        written = (write_frame(hm.grid, target, stem, fmt) + write_frame(hm.frontier, target, f"{stem}_frontier", fmt)
                   + write_frame(hm.points, target, f"{stem}_points", fmt))
        written.append(heatmap_png(hm, target / f"{stem}.png", f"{d.name} — {tranche}: {value.replace('_', ' ')} over "
                                                             f"CDR x {y} (base: {sc.name})"))
        written.append(_manifest(deal, d, target, written, _files(base=base, stress=stress)))
    out.print(f"{d.name}: {tranche} over {len(hm.grid)} grid points ({hm.elapsed_s:.2f} s)", markup=False, highlight=False)
    _report(None, hm.notes, final, target, written)


COMMANDS = (size, agency, solve, compare, heatmap)


def register(app: typer.Typer) -> None:
    """Add the structuring commands (:data:`COMMANDS`) to ``app``, with the user-error
    handling of every command."""
    from .common import user_errors

    for fn in COMMANDS:
        app.command()(user_errors(fn))
