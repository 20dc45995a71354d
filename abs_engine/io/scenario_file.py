"""Loading scenario files (scenarios/*.yaml): plain scenarios, derived scenarios and grids.

A scenario file is a :class:`~abs_engine.model.scenario.Scenario` written in YAML, plus
three keys of the file language (docs/scenarios.md):

``base``
    A scenario to derive from: a name (``stress`` means ``stress.yaml`` beside this file)
    or a path relative to this file. The file's own fields override the base's: mappings
    merge key by key, lists and numbers replace. In the name-keyed mappings
    ``defaults.loans``, ``support_failures`` and ``reference_rates``, ``null`` removes an
    entry inherited from the base.
``multiply``
    Multipliers applied after the overrides, e.g. ``{defaults.cdr: 2.5}`` for "the base
    with 2.5 x the defaults". A vector or curve is multiplied month by month, a mapping by
    patent type entry by entry.
``grid``
    A list of axes; the file then stands for the cartesian product of the axes' values,
    each point a named scenario derived from the file's own (resolved) scenario.

Every problem of every file is reported at once, with the file, the field path and the
reason (and a did-you-mean for misspelt names), like deal files.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError, Problem
from ..model.common import Model, describe
from ..model.curves import DEFAULT_UNITS, PREPAYMENT_UNITS, SPEEDS, curve_vector
from ..model.scenario import MonteCarlo, Scenario
from .validation import problems_from_validation
from .yamlio import load_yaml

__all__ = [
    "MAX_GRID_POINTS",
    "MULTIPLIABLE",
    "GridAxis",
    "GridPoints",
    "load_grid",
    "load_monte_carlo",
    "load_scenario",
    "load_scenarios",
    "scenario_file_schema",
]

#: The numeric fields ``multiply`` (and ``multiply.*`` grid axes) may scale, and whether a
#: result must stay a fraction in [0, 1] (True) or a rate with |r| <= 1 (False).
MULTIPLIABLE: dict[str, bool] = {
    "defaults.cdr": True,
    "prepayment.cpr": True,
    "recovery.haircut": True,
    "recovery.value_decay": True,
    "recovery.rate": True,
    "patents.invalidation_hazard": True,
    "patents.renegotiation_haircut": True,
    "receivables.termination_rate": True,
    "receivables.recovery_rate": True,
    "reference_rates.*": False,
}
#: Mappings keyed by names (asset ids, providers, reference rates): null deletes an entry.
NAMED_MAPS = ("defaults.loans", "support_failures", "reference_rates")
#: Rates that may be written as a convention mapping ({sda: 100}, {mdr: 0.01, by: loan_age}):
#: an override replaces such a mapping whole, it does not merge into it.
RATE_PATHS = ("defaults.cdr", "prepayment.cpr", "receivables.termination_rate")
#: The most scenarios one grid file may expand to.
MAX_GRID_POINTS = 100_000
#: Deepest chain of ``base`` files followed.
MAX_DERIVATION_DEPTH = 32
_FILE_KEYS = ("base", "multiply", "grid")


class GridAxis(Model):
    """One axis of a grid: the values one scenario field takes (``field``), or points that
    set several fields at once (each value a mapping of field paths to values)."""

    field: str | None = describe(
        "Dotted path of the scenario field the axis sets (e.g. defaults.cdr), or multiply.<path> for "
        "multiples of the resolved value; omit it when each value is a mapping of paths to values",
        default=None,
    )
    values: list[Any] = describe("The values of the axis, in order", min_length=1)
    label: str | None = describe(
        "Column name in outputs and scenario names (default: the field's last part; "
        "'<last part>_x' for a multiply axis); required without `field`",
        default=None,
    )
    names: list[str] | None = describe("Names of the values in scenario names (default: the values)", default=None)


@dataclass(frozen=True)
class GridPoints:
    """What a grid file expands to: one scenario per point, with the axis values of each."""

    name: str
    labels: list[str]
    scenarios: list[Scenario]
    values: list[tuple[Any, ...]] = field(repr=False)

    def frame(self) -> Any:
        """One row per scenario: ``scenario`` and one column per axis label (numbers and
        dates as written; vectors, curves and points by their names, e.g. ``vector2``)."""
        import pandas as pd

        rows = []
        for sc, vals in zip(self.scenarios, self.values, strict=True):
            row: dict[str, Any] = {"scenario": sc.name}
            for label, v in zip(self.labels, vals, strict=True):
                row[label] = v
            rows.append(row)
        return pd.DataFrame(rows, columns=["scenario", *self.labels])


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# --------------------------------------------------------------------------- field paths


def _fields_of(model: type[Model]) -> dict[str, Any]:
    return {(f.alias or n): f.annotation for n, f in model.model_fields.items()}


def _submodel(tp: Any) -> type[Model] | None:
    from .validation import _models_in

    models = [m for m in _models_in(tp) if issubclass(m, Model)]
    return models[0] if len(models) == 1 else None


def check_path(path: str) -> str | None:
    """Why ``path`` (dotted) is not a field of a scenario, or None if it is one.

    >>> check_path("defaults.cdr") is None, check_path("reference_rates.LPR1Y") is None
    (True, True)
    >>> check_path("defaults.cdrr")
    "unknown field 'cdrr' in defaults; did you mean 'cdr'?"
    """
    parts = path.split(".")
    if not path or any(not p for p in parts):
        return f"'{path}' is not a dotted field path such as defaults.cdr"
    model: type[Model] | None = Scenario
    where = ""
    for i, part in enumerate(parts):
        if model is None:
            # inside a name-keyed mapping: one key, nothing below it
            if i > 1 and ".".join(parts[: i - 1]) in NAMED_MAPS:
                return f"'{path}' goes below the entry '{parts[i - 1]}' of {'.'.join(parts[: i - 1])}"
            return f"'{'.'.join(parts[:i])}' has no fields"
        known = _fields_of(model)
        if part not in known:
            close = difflib.get_close_matches(part, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            return f"unknown field '{part}'" + (f" in {where}" if where else "") + hint
        where = ".".join(parts[: i + 1])
        model = _submodel(known[part])
        if model is None and where in NAMED_MAPS + ("patents.invalidation_hazard",) and i + 1 < len(parts):
            # a name-keyed entry: exactly one more part
            if i + 2 < len(parts):
                return f"'{path}' goes below the entry '{parts[i + 1]}' of {where}"
            return None
    return None


def _multipliable(path: str) -> bool:
    return path in MULTIPLIABLE or (path.startswith("reference_rates.") and path.count(".") == 1)


def _check_multiply_path(path: str) -> str | None:
    if _multipliable(path):
        return None
    known = [p for p in MULTIPLIABLE if not p.endswith("*")] + ["reference_rates.<name>"]
    close = difflib.get_close_matches(path, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (one of: {', '.join(known)})"
    return f"'{path}' cannot be multiplied{hint}"


def _get(d: dict[str, Any], path: str) -> Any:
    cur: Any = d
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _set(d: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = d
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _merge(base: dict[str, Any], over: dict[str, Any], at: str = "") -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge, anything else replaces; in the
    name-keyed mappings a null value deletes the entry."""
    out = dict(base)
    for k, v in over.items():
        path = f"{at}.{k}" if at else str(k)
        if at in NAMED_MAPS and v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and not _is_curve(v) and path not in RATE_PATHS:
            out[k] = _merge(out[k], v, path)
        else:
            out[k] = v
    return out


def _is_curve(v: Any) -> bool:
    return isinstance(v, dict) and "points" in v


def _leaves(d: dict[str, Any], at: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        path = f"{at}.{k}" if at else str(k)
        if isinstance(v, dict) and v and not _is_curve(v) and path not in NAMED_MAPS + RATE_PATHS:
            out += _leaves(v, path)
        else:
            out.append(path)
    return out


def _multiply(value: Any, factor: float, fraction: bool, where: str) -> tuple[Any, str | None]:
    """``value`` x ``factor`` (number, vector or mapping), or why it cannot be done."""
    limit = "above 1" if fraction else "beyond ±1"

    def one(x: Any) -> tuple[float | None, str | None]:
        if not _is_number(x):
            return None, f"{where}: the value {x!r} is not a number"
        y = float(x) * factor
        if (fraction and y > 1.0) or (not fraction and abs(y) > 1.0):
            return None, f"{where}: {x:g} x {factor:g} = {y:g} is {limit}"
        return y, None

    if value is None:
        return None, f"{where}: nothing to multiply (the scenario does not set {where.split('multiply.', 1)[-1]})"
    unit = _convention(value)
    if unit is not None:  # {psa: 150} x 2 = {psa: 300}; {mdr: 0.01} x 2 = {mdr: 0.02}
        spec: dict[str, Any] = {k: v for k, v in value.items() if v is not None and k not in ("points", "interpolation")}
        inner: Any = {k: value[k] for k in ("points", "interpolation") if k in value} if unit == "points" else value[unit]
        if unit in SPEEDS:
            if not _is_number(inner):
                return None, f"{where}: the speed {inner!r} is not a number"
            spec[unit] = float(inner) * factor
            return spec, None
        scaled, why = _multiply(inner, factor, True, where)
        if why:
            return None, why
        annual = "cdr" if where.endswith("defaults.cdr") else "cpr"
        spec[annual if unit == "points" else unit] = scaled
        return spec, None
    if _is_curve(value):  # a curve set by a grid point: multiply its monthly vector
        try:
            value = curve_vector(value["points"], value.get("interpolation", "linear"))
        except ValueError as exc:
            return None, f"{where}: {exc}"
    if isinstance(value, list):
        out = []
        for x in value:
            y, why = one(x)
            if why:
                return None, why
            out.append(y)
        return out, None
    if isinstance(value, dict):
        res = {}
        for k, x in value.items():
            y, why = one(x)
            if why:
                return None, why
            res[k] = y
        return res, None
    return one(value)


def _apply_factor(data: dict[str, Any], path: str, factor: float) -> str | None:
    """Multiply the field ``path`` of ``data`` in place (a default or prepayment rate: the
    segments' too); the reason it cannot be done, or None."""
    value, why = _multiply(_get(data, path), factor, MULTIPLIABLE.get(path, False), f"multiply.{path}")
    if why:
        return why
    _set(data, path, value)
    if path in ("defaults.cdr", "prepayment.cpr"):
        for i, seg in enumerate(data.get("segments") or []):
            own = _get(seg, path) if isinstance(seg, dict) else None
            if own is None:
                continue
            value, why = _multiply(own, factor, True, f"multiply.{path}")
            if why:
                return f"multiply.{path}: segments[{i}]: {why.split(': ', 1)[1]}"
            _set(seg, path, value)
    return None


def _convention(value: Any) -> str | None:
    """The convention a rate mapping names (``sda``, ``mdr``... or ``points`` for a curve of
    the annual rate by loan age), or None if ``value`` is no convention mapping."""
    if not isinstance(value, dict) or "by" not in value and not any(
            value.get(u) is not None for u in DEFAULT_UNITS + PREPAYMENT_UNITS):
        return None
    set_units = [u for u in DEFAULT_UNITS + PREPAYMENT_UNITS if value.get(u) is not None]
    if set_units:
        return set_units[0]
    return "points" if "points" in value else None


def _validation_problems(exc: ValidationError, file: str, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    return problems_from_validation(exc, Scenario, file, prefix)


def _fmt(v: Any, j: int = 0) -> str:
    """A value as shown in a grid point's name (vectors, curves and points by position)."""
    if _is_number(v):
        return f"{v:g}"
    if v is None:
        return "none"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return f"vector{j + 1}"
    if _convention(v) is not None:
        return "".join(f"{k}{_fmt(x, j) if not isinstance(x, dict | list) else ''}" for k, x in v.items()
                       if x is not None and k in DEFAULT_UNITS + PREPAYMENT_UNITS) or f"curve{j + 1}"
    if _is_curve(v):
        return f"curve{j + 1}"
    if isinstance(v, dict):
        return f"point{j + 1}"
    return str(v)


# --------------------------------------------------------------------------- the loader


@dataclass
class _Resolved:
    scenario: Scenario | None
    problems: list[Problem]
    data: dict[str, Any] | None = None  # the resolved scenario as a mapping (before the grid)
    grid: GridPoints | None = None


class _Loader:
    """Resolves files (and their bases) once per call; detects derivation cycles."""

    def __init__(self) -> None:
        self.cache: dict[Path, _Resolved] = {}

    def resolve(self, path: Path, stack: tuple[Path, ...] = ()) -> _Resolved:
        key = path.resolve() if path.exists() else path.absolute()
        if key in self.cache:
            return self.cache[key]
        res = self._resolve(path, stack + (key,))
        self.cache[key] = res
        return res

    def _base_path(self, file: Path, base: Any) -> tuple[Path | None, str | None]:
        if not isinstance(base, str) or not base.strip():
            return None, f"should be a scenario name or a file path (got {base!r})"
        here = file.parent
        if base.endswith((".yaml", ".yml")) or "/" in base or "\\" in base:
            p = here / base
            return (p, None) if p.is_file() else (None, f"scenario file '{base}' not found (relative to {file.name})")
        for ext in (".yaml", ".yml"):
            p = here / f"{base}{ext}"
            if p.is_file():
                return p, None
        known = sorted({q.stem for q in here.glob("*.y*ml") if q.suffix in (".yaml", ".yml") and q != file})
        close = difflib.get_close_matches(base, known, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else (
            f" (files there: {', '.join(known)})" if 0 < len(known) <= 20 else "")
        return None, f"no scenario file '{base}.yaml' beside {file.name}{hint}"

    def _resolve(self, path: Path, stack: tuple[Path, ...]) -> _Resolved:
        file = str(path)
        raw = load_yaml(path, "scenario")  # unreadable files: an InputError of their own
        raw.setdefault("name", path.stem)
        problems: list[Problem] = []
        base = raw.pop("base", None)
        has_base = "base" in raw or base is not None
        mult = raw.pop("multiply", None)
        grid = raw.pop("grid", None)
        # top-level keys that look like a misspelt file key (the model only knows its fields)
        known = set(_fields_of(Scenario))
        for k in list(raw):
            if isinstance(k, str) and k not in known:
                close = difflib.get_close_matches(k, list(_FILE_KEYS), n=1, cutoff=0.6)
                if close and not difflib.get_close_matches(k, list(known), n=1, cutoff=0.6):
                    problems.append(Problem(file, "", f"unknown field '{k}'; did you mean '{close[0]}'?"))
                    raw.pop(k)
        try:
            Scenario.model_validate(raw)  # the file's own fields, on their own
        except ValidationError as exc:
            problems += _validation_problems(exc, file)
        # multipliers
        factors: dict[str, float] = {}
        if mult is not None:
            if not isinstance(mult, dict) or not mult:
                problems.append(Problem(file, "multiply", f"should be a mapping of field paths to factors, e.g. {{defaults.cdr: 2.5}} (got {mult!r})"))
            else:
                for k, v in mult.items():
                    why = _check_multiply_path(str(k))
                    if why:
                        problems.append(Problem(file, "multiply", why))
                    elif not _is_number(v) or not math.isfinite(v) or v < 0:
                        problems.append(Problem(file, f"multiply.{k}", f"should be a non-negative number (got {v!r})"))
                    else:
                        factors[str(k)] = float(v)
        # the base
        base_data: dict[str, Any] = {}
        base_name = None
        if has_base:
            bpath, why = self._base_path(path, base)
            if why:
                problems.append(Problem(file, "base", why))
            elif bpath is not None:
                bkey = bpath.resolve()
                if bkey in stack:
                    chain = " -> ".join(p.name for p in (*stack[stack.index(bkey):], bkey))
                    problems.append(Problem(file, "base", f"derivation cycle: {chain}"))
                elif len(stack) > MAX_DERIVATION_DEPTH:
                    problems.append(Problem(file, "base", f"more than {MAX_DERIVATION_DEPTH} levels of derivation"))
                else:
                    try:
                        b = self.resolve(bpath, stack)
                    except InputError as exc:
                        b = _Resolved(None, exc.problems)
                    if b.grid is not None:
                        problems.append(Problem(file, "base", f"'{base}' is a grid file; a scenario derives from one scenario"))
                    elif b.scenario is None:
                        problems += b.problems
                        problems.append(Problem(file, "base", f"the base scenario '{base}' has problems (listed above)"))
                    else:
                        base_data = b.scenario.model_dump(mode="python")
                        base_name = b.scenario.name
        if problems:
            if grid is not None:  # the grid's own mistakes too, as far as they show without the base
                problems += _expand(file, {"name": raw["name"]}, grid, partial=True)[1]
            return _Resolved(None, problems)
        data = _merge(base_data, raw)
        data["name"] = raw["name"]
        for p, f in factors.items():
            why = _apply_factor(data, p, f)
            if why:
                problems.append(Problem(file, f"multiply.{p}", why.split(": ", 1)[1]))
        if base_name is not None and "description" not in raw:
            parts = [f"{p} x {f:g}" for p, f in factors.items()]
            overridden = [p for p in _leaves(raw) if p not in ("name", "description")]
            if overridden:
                parts.append("overrides " + ", ".join(overridden))
            data["description"] = f"Derived from '{base_name}'" + (f": {'; '.join(parts)}" if parts else "")
            if "description_zh" not in raw:  # the base's Chinese text would describe the base
                data.pop("description_zh", None)
        if problems:
            return _Resolved(None, problems)
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            return _Resolved(None, _validation_problems(exc, file))
        if grid is None:
            return _Resolved(scenario, [], scenario.model_dump(mode="python"))
        points, gproblems = _expand(file, scenario.model_dump(mode="python"), grid)
        if gproblems:
            return _Resolved(None, gproblems)
        return _Resolved(None, [], None, points)


def _expand(file: str, data: dict[str, Any], grid: Any, partial: bool = False) -> tuple[GridPoints | None, list[Problem]]:
    """The scenarios of a grid over the resolved scenario ``data``. ``partial``: the
    file's scenario could not be resolved; check the axes and their values against a
    default scenario only (multiples need the real values and are not checked)."""
    problems: list[Problem] = []
    if not isinstance(grid, list) or not grid:
        return None, [Problem(file, "grid", f"should be a list of axes ({{field: ..., values: [...]}}) (got {grid!r})")]
    axes: list[GridAxis] = []
    for i, ax in enumerate(grid):
        try:
            axes.append(GridAxis.model_validate(ax))
        except ValidationError as exc:
            problems += problems_from_validation(exc, GridAxis, file, ("grid", i))
            axes.append(None)  # type: ignore[arg-type]
    labels: list[str] = []
    seen_fields: dict[str, int] = {}
    setters: list[list[list[tuple[str, Any, bool]]]] = []  # axis -> value -> [(path, value, is_factor)]
    for i, ax in enumerate(axes):
        at = f"grid[{i}]"
        if ax is None:
            labels.append(f"axis{i}")
            setters.append([])
            continue
        if ax.names is not None and len(ax.names) != len(ax.values):
            problems.append(Problem(file, f"{at}.names", f"{len(ax.names)} names for {len(ax.values)} values"))
        per_value: list[list[tuple[str, Any, bool]]] = []
        if ax.field is not None:
            fpath = ax.field
            factor = fpath.startswith("multiply.")
            target = fpath[len("multiply."):] if factor else fpath
            why = _check_multiply_path(target) if factor else check_path(target)
            if why:
                problems.append(Problem(file, f"{at}.field", why))
            elif fpath in seen_fields:
                problems.append(Problem(file, f"{at}.field", f"'{fpath}' is already an axis (grid[{seen_fields[fpath]}])"))
            duplicate = fpath in seen_fields
            seen_fields.setdefault(fpath, i)
            label = ax.label or (f"{target.split('.')[-1]}_x" if factor else target.split(".")[-1])
            if duplicate and label in labels:
                label = f"{label}#{i}"  # (the duplicate field is the problem, not its label)
            for v in ax.values:
                per_value.append([(target, v, factor)])
        else:
            if ax.label is None:
                problems.append(Problem(file, f"{at}.label", "an axis of points (no 'field') needs a label"))
            label = ax.label or f"axis{i}"
            for j, v in enumerate(ax.values):
                if not isinstance(v, dict) or not v:
                    problems.append(Problem(file, f"{at}.values[{j}]", f"without 'field', each value is a mapping of field paths to values (got {v!r})"))
                    per_value.append([])
                    continue
                sets = []
                for k, x in v.items():
                    k = str(k)
                    factor = k.startswith("multiply.")
                    target = k[len("multiply."):] if factor else k
                    why = _check_multiply_path(target) if factor else check_path(target)
                    if why:
                        problems.append(Problem(file, f"{at}.values[{j}]", why))
                    else:
                        sets.append((target, x, factor))
                per_value.append(sets)
        if label in labels:
            problems.append(Problem(file, f"{at}.label", f"label '{label}' is used by another axis"))
        labels.append(label)
        setters.append(per_value)
    structural = list(problems)
    n = math.prod(len(s) for s in setters)
    if n > MAX_GRID_POINTS:
        problems.append(Problem(file, "grid", f"expands to {n:,} scenarios; a grid file is limited to {MAX_GRID_POINTS:,}"))

    def apply(point: Sequence[list[tuple[str, Any, bool]]]) -> tuple[dict[str, Any], str | None]:
        d = _copy(data)
        # values first, then multiples (of the values the point sets, or the resolved ones)
        for sets in point:
            for path, v, factor in sets:
                if not factor:
                    _set(d, path, _merge(_get(d, path) or {}, v, path) if isinstance(v, dict) and path in NAMED_MAPS else v)
        for sets in point:
            for path, v, factor in sets:
                if factor:
                    if not _is_number(v) or not math.isfinite(v) or v < 0:
                        return d, f"multiply.{path}: should be a non-negative number (got {v!r})"
                    why = _apply_factor(d, path, float(v))
                    if why:
                        return d, why
        return d, None

    # each value on its own first: a bad value is reported once, where it is written
    for i, per_value in enumerate(setters):
        if any(p.path.startswith(f"grid[{i}]") for p in structural):
            continue
        for j, sets in enumerate(per_value):
            if partial and any(factor for _, _, factor in sets):
                continue
            d, why = apply([sets])
            where = f"grid[{i}].values[{j}]"
            if why:
                problems.append(Problem(file, where, why))
                continue
            try:
                Scenario.model_validate(d)
            except ValidationError as exc:
                for p in problems_from_validation(exc, Scenario, file):
                    problems.append(Problem(file, where, f"{p.path}: {p.message}" if p.path else p.message))
    if problems or partial:
        return None, problems
    base_name = data.get("name", "grid")
    desc = data.get("description")
    scenarios: list[Scenario] = []
    values: list[tuple[Any, ...]] = []
    axes_ok = [a for a in axes if a is not None]
    failures: list[Problem] = []
    for idx in itertools.product(*[range(len(s)) for s in setters]):
        point = [setters[i][j] for i, j in enumerate(idx)]
        d, why = apply(point)
        tag = ", ".join(
            f"{labels[i]}={_name(axes_ok[i], j)}"
            for i, j in enumerate(idx)
        )
        if why:
            if len(failures) < 10:
                failures.append(Problem(file, "grid", f"point [{tag}]: {why}"))
            else:
                failures.append(Problem(file, "grid", "..."))
            continue
        d["name"] = f"{base_name}[{tag}]"
        d["description"] = f"{desc} [{tag}]" if desc else f"Grid '{base_name}' point [{tag}]"
        try:
            scenarios.append(Scenario.model_validate(d))
        except ValidationError as exc:
            if len(failures) < 10:
                for p in problems_from_validation(exc, Scenario, file):
                    failures.append(Problem(file, "grid", f"point [{tag}]: {p.path}: {p.message}"))
            continue
        values.append(tuple(
            axes_ok[i].values[j] if (_is_number(axes_ok[i].values[j]) or isinstance(axes_ok[i].values[j], dt.date | str))
            else _name(axes_ok[i], j)
            for i, j in enumerate(idx)
        ))
    if failures:
        extra = [p for p in failures if p.message == "..."]
        kept = [p for p in failures if p.message != "..."]
        if extra:
            kept.append(Problem(file, "grid", f"and {len(extra)} more points fail the same way"))
        return None, kept
    return GridPoints(base_name, labels, scenarios, values), []


def _name(axis: GridAxis, j: int) -> str:
    """How value ``j`` of ``axis`` appears in scenario names."""
    return axis.names[j] if axis.names else _fmt(axis.values[j], j)


def _copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_copy(v) for v in d]
    return d


# --------------------------------------------------------------------------- public API


def scenario_file_schema() -> dict[str, Any]:
    """JSON Schema of a scenario *file*: a :class:`Scenario` plus the file keys ``base``,
    ``multiply`` and ``grid``, with ``name`` optional (it defaults to the file's stem)."""
    schema = Scenario.model_json_schema(by_alias=True)
    axis = GridAxis.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    defs.update(axis.pop("$defs", {}))
    defs["GridAxis"] = axis
    props = schema["properties"]
    props["base"] = {
        "type": "string",
        "description": "Scenario to derive from: a name (stress means stress.yaml beside this file) or a "
                       "path relative to this file; this file's fields override the base's",
    }
    props["multiply"] = {
        "type": "object",
        "description": "Multipliers applied after the overrides, e.g. {defaults.cdr: 2.5}; a vector or "
                       "curve is multiplied month by month",
        "propertyNames": {"pattern": "^(" + "|".join(
            k.replace(".", r"\.").replace("*", r"[^.]+") for k in MULTIPLIABLE) + ")$"},
        "additionalProperties": {"type": "number", "minimum": 0},
    }
    props["grid"] = {
        "type": "array",
        "description": "Axes: the file stands for the cartesian product of their values, each point a "
                       "scenario derived from this file's own",
        "items": {"$ref": "#/$defs/GridAxis"},
        "minItems": 1,
    }
    schema["required"] = [r for r in schema.get("required", []) if r != "name"]
    schema["title"] = "ScenarioFile"
    return schema


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (resolving ``base`` and ``multiply``); raises
    InputError listing every problem. A grid file is refused: use :func:`load_grid`."""
    p = Path(path)
    res = _Loader().resolve(p)
    if res.problems:
        raise InputError(res.problems)
    if res.grid is not None:
        raise InputError.single(str(path), "grid", f"a grid file ({len(res.grid.scenarios)} scenarios): "
                                "load it with load_scenarios() / load_grid(), or run abs-engine sweep --grid")
    assert res.scenario is not None
    return res.scenario


def load_grid(path: str | Path) -> GridPoints:
    """Load a grid file: the scenarios of its points and the axis values of each. A plain
    scenario file is a grid of one point with no axes."""
    res = _Loader().resolve(Path(path))
    if res.problems:
        raise InputError(res.problems)
    if res.grid is not None:
        return res.grid
    assert res.scenario is not None
    return GridPoints(res.scenario.name, [], [res.scenario], [()])


def load_points(paths: Iterable[str | Path]) -> list[GridPoints]:
    """Load several scenario or grid files, each as its grid points (a plain scenario file
    is a grid of one point), reporting the problems of every file together in one
    InputError."""
    loader = _Loader()
    out: list[GridPoints] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            res = loader.resolve(Path(path))
        except InputError as exc:
            problems += exc.problems
            continue
        if res.problems:
            problems += res.problems
        elif res.grid is not None:
            out.append(res.grid)
        elif res.scenario is not None:
            out.append(GridPoints(res.scenario.name, [], [res.scenario], [()]))
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return out


def load_scenarios(paths: Iterable[str | Path]) -> list[Scenario]:
    """Load several scenario or grid files (grids expand to their points), reporting the
    problems of every file together in one InputError."""
    return [sc for g in load_points(paths) for sc in g.scenarios]



def load_monte_carlo(path: str | Path) -> MonteCarlo:
    """Load a Monte Carlo settings file (``abs-engine simulate --model``; docs/scenarios.md);
    raises InputError listing every problem."""
    raw = load_yaml(Path(path), "Monte Carlo settings")
    try:
        return MonteCarlo.model_validate(raw)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, MonteCarlo, str(path))) from None
