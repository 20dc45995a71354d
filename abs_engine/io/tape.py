"""Loan tapes (CSV or XLSX): one row per asset, validated row by row.

Every invalid row is reported with its row number as the user sees it in a spreadsheet
(the header is row 1), together with the column and the reason.
"""

from __future__ import annotations

import math
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from ..errors import InputError, Problem
from .validation import problems_from_validation

#: Tapes with more rows than this are refused (a sanity limit, not a performance one).
MAX_TAPE_ROWS = 2_000_000
#: CSV encodings tried in order (GB18030 covers the GBK files Chinese desks often save).
ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or XLSX tape into a DataFrame of strings/numbers; clear errors otherwise."""
    name = str(path)
    try:
        if not path.exists():
            raise InputError.single(name, "", "tape file not found")
        if path.is_dir():
            raise InputError.single(name, "", "is a directory, expected a tape file")
    except (OSError, ValueError) as exc:  # name too long, NUL in the name...
        raise InputError.single(name, "", f"cannot read the tape file: {getattr(exc, 'strerror', None) or exc}") from None
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, dtype=object, engine="openpyxl", nrows=MAX_TAPE_ROWS + 1)
        except Exception as exc:  # openpyxl raises many types for corrupt files
            raise InputError.single(name, "", f"cannot read Excel file: {exc}") from None
    elif suffix in (".csv", ".txt"):
        last: Exception | None = None
        for enc in ENCODINGS:
            try:
                with warnings.catch_warnings():
                    # more fields in the rows than in the header: pandas warns and drops data
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    df = pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False, skipinitialspace=True,
                                     index_col=False, nrows=MAX_TAPE_ROWS + 1)
                break
            except pd.errors.ParserWarning:
                raise InputError.single(
                    name, "", "rows have more fields than the header (an unquoted comma, e.g. in 1,000?)"
                ) from None
            except UnicodeDecodeError as exc:
                last = exc
            except pd.errors.EmptyDataError:
                raise InputError.single(name, "", "empty tape file") from None
            except pd.errors.ParserError as exc:
                raise InputError.single(name, "", f"malformed CSV: {exc}") from None
            except OSError as exc:
                raise InputError.single(name, "", f"cannot read the tape file: {exc.strerror or exc}") from None
        else:
            raise InputError.single(name, "", f"cannot decode the file as UTF-8 or GB18030 (save it as CSV UTF-8): {last}")
    else:
        raise InputError.single(name, "", f"unsupported tape format '{suffix}' (use .csv or .xlsx)")
    if len(df) > MAX_TAPE_ROWS:
        raise InputError.single(name, "", f"more than {MAX_TAPE_ROWS:,} rows; tapes are limited to {MAX_TAPE_ROWS:,} rows")
    if df.empty:
        raise InputError.single(name, "", "the tape has a header but no rows")
    unnamed = [str(c) for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed:
        raise InputError.single(name, "header", "empty or merged header cells; the first row must name every column")
    raw = [str(c) for c in df.columns]
    if len(raw) == 1 and (sep := next((x for x in (";", "\t", "|") if x in raw[0]), None)):
        shown = raw[0] if len(raw[0]) <= 60 else raw[0][:60] + "..."
        raise InputError.single(name, "header", f"one column named {shown!r}; tapes are comma-separated (found {sep!r})")
    df.columns = [c.strip().lower() for c in raw]
    # pandas renames a repeated column 'x' to 'x.1'; names differing only in case or spaces collide here
    mangled = [m.group(1) for c in raw if (m := re.fullmatch(r"(.+)\.\d+", c)) and m.group(1) in raw]
    repeated = [c for i, c in enumerate(df.columns) if c in df.columns[:i]]
    dupes = list(dict.fromkeys(c.strip().lower() for c in [*mangled, *repeated]))
    if dupes:
        raise InputError.single(name, "header", f"column(s) appear more than once: {', '.join(dupes)}")
    return df


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        v = value.strip()
        return None if v == "" else v
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _text_fields(model: type[BaseModel]) -> set[str]:
    """Columns holding text (ids, names): a number there (an Excel cell such as 1001) is text."""
    out = set()
    for n, f in model.model_fields.items():
        tp = f.annotation
        if tp is str or (typing.get_origin(tp) in (typing.Union, types.UnionType) and str in typing.get_args(tp)):
            out.add(f.alias or n)
    return out


def _as_text(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_rows(df: pd.DataFrame, model: type[BaseModel], file: str, id_field: str) -> list[Any]:
    """Validate every row of ``df`` as ``model``; list every bad row at once."""
    fields = {f.alias or n for n, f in model.model_fields.items()}
    text = _text_fields(model)
    problems: list[Problem] = []
    unknown = [c for c in df.columns if c not in fields]
    if unknown:
        import difflib

        for c in unknown:
            close = difflib.get_close_matches(c, sorted(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(file, "header", f"unknown column '{c}'{hint}"))
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in df.columns]
    if missing:
        problems.append(Problem(file, "header", f"missing required column(s): {', '.join(missing)}"))
    if problems:
        raise InputError(problems)
    out: list[Any] = []
    seen: dict[str, int] = {}
    records = df.to_dict(orient="records")
    for i, rec in enumerate(records):
        row = i + 2
        data = {k: _as_text(v) if k in text else v for k, v in ((k, _clean(v)) for k, v in rec.items()) if v is not None}
        try:
            obj = model.model_validate(data)
        except ValidationError as exc:
            for p in problems_from_validation(exc, model, file):
                problems.append(Problem(file, f"row {row}" + (f": {p.path}" if p.path else ""), p.message))
            continue
        key = str(getattr(obj, id_field)) if id_field else ""
        if not id_field:
            pass
        elif key in seen:
            problems.append(Problem(file, f"row {row}: {id_field}", f"duplicate id '{key}' (first at row {seen[key]})"))
        else:
            seen[key] = row
        out.append(obj)
        if len(problems) > 200:
            break
    if problems:
        raise InputError(problems)
    return out
