"""Loan tapes (CSV or XLSX): one row per asset, validated row by row.

Every invalid row is reported with its row number as the user sees it in a spreadsheet
(the header is row 1), together with the column and the reason.
"""

from __future__ import annotations

import math
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
    if not path.exists():
        raise InputError.single(name, "", "tape file not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for corrupt files
            raise InputError.single(name, "", f"cannot read Excel file: {exc}") from None
    elif suffix in (".csv", ".txt"):
        last: Exception | None = None
        for enc in ENCODINGS:
            try:
                df = pd.read_csv(path, dtype=str, encoding=enc, keep_default_na=False, skipinitialspace=True)
                break
            except UnicodeDecodeError as exc:
                last = exc
            except pd.errors.EmptyDataError:
                raise InputError.single(name, "", "empty tape file") from None
            except pd.errors.ParserError as exc:
                raise InputError.single(name, "", f"malformed CSV: {exc}") from None
        else:
            raise InputError.single(name, "", f"cannot decode the file as UTF-8 or GB18030: {last}")
    else:
        raise InputError.single(name, "", f"unsupported tape format '{suffix}' (use .csv or .xlsx)")
    if len(df) > MAX_TAPE_ROWS:
        raise InputError.single(name, "", f"{len(df)} rows; tapes are limited to {MAX_TAPE_ROWS}")
    if df.empty:
        raise InputError.single(name, "", "the tape has a header but no rows")
    unnamed = [str(c) for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed:
        raise InputError.single(name, "header", "empty or merged header cells; the first row must name every column")
    df.columns = [str(c).strip().lower() for c in df.columns]
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


def parse_rows(df: pd.DataFrame, model: type[BaseModel], file: str, id_field: str) -> list[Any]:
    """Validate every row of ``df`` as ``model``; list every bad row at once."""
    fields = {f.alias or n for n, f in model.model_fields.items()}
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
        data = {k: v for k, v in ((k, _clean(v)) for k, v in rec.items()) if v is not None}
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
