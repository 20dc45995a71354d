"""Loan tapes (CSV or XLSX): one row per asset, validated row by row.

Every invalid row is reported with its row number as the user sees it in a spreadsheet
(the header is row 1), together with the column and the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import functools
import math
import types
import typing
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import MAX_PROBLEMS, InputError, Problem
from .files import MAX_TAPE_BYTES, check_regular, check_xlsx_size, read_bounded
from .validation import problems_from_validation

#: Tapes with more rows than this are refused (a sanity limit, not a performance one).
MAX_TAPE_ROWS = 2_000_000
#: Tapes with more columns than this are refused (a tape has about 20).
MAX_TAPE_COLUMNS = 200
#: CSV encodings tried in order (GB18030 covers the GBK files Chinese desks often save).
ENCODINGS = ("utf-8-sig", "gb18030")
#: Rows validated per batch (bounds the memory of the rows being validated).
BATCH_ROWS = 20_000


def _too_many_rows(name: str) -> InputError:
    return InputError.single(name, "", f"more than {MAX_TAPE_ROWS:,} rows; tapes are limited to {MAX_TAPE_ROWS:,} rows")


def _decode(raw: bytes, name: str) -> str:
    """The text of a CSV tape: UTF-8 (with or without BOM), else GB18030; a file mixing
    UTF-8 and GBK/GB18030 lines (copied together from two sources) is refused rather than
    decoded into mojibake."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_bad = exc
    utf8_row = None
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        utf8_row = i
        break
    if utf8_row is not None:
        bad_row = raw.count(b"\n", 0, first_bad.start) + 1
        raise InputError.single(name, "", f"mixed encodings: row {utf8_row} is UTF-8 but row {bad_row} is not "
                                "(GBK/GB18030?); save the whole file in one encoding (CSV UTF-8)")
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InputError.single(name, "", f"cannot decode the file as UTF-8 or GB18030 (save it as CSV UTF-8): {exc}") from None


def _read_csv(raw: bytes, name: str) -> pd.DataFrame:
    """A CSV tape as a frame of strings (pyarrow's reader: typed, compact string columns)."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pcsv

    text = _decode(raw, name)
    if not text.strip():
        raise InputError.single(name, "", "empty tape file")
    data = text.encode("utf-8")
    del text
    bad: list[tuple[int | None, int, int, str]] = []

    def on_bad_row(row: Any) -> str:
        if len(bad) < 10:
            bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:  # the header's names, as pyarrow will read them (a quoted name may hold a newline)
        names = next(csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")), [])
    except (csv.Error, UnicodeDecodeError):
        names = []
    n_header = len(names)
    if n_header > MAX_TAPE_COLUMNS:
        raise InputError.single(name, "header", f"{n_header:,} columns; tapes are limited to {MAX_TAPE_COLUMNS}")
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False, autogenerate_column_names=False),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_bad_row),
            # every column as text: the row models parse the values (and say what is wrong)
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                                quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "Empty CSV" in msg:
            raise InputError.single(name, "", "empty tape file") from None
        if "straddling" in msg:  # (a row longer than pyarrow's block of 1 MiB)
            raise InputError.single(name, "", "malformed CSV: a row is longer than 1 MiB (a huge cell, or a quote "
                                              "left open that runs to the end of the file?)") from None
        raise InputError.single(name, "", f"malformed CSV: {msg.removeprefix('CSV parse error: ')}") from None
    del data
    if bad:
        number, expected, actual, line = bad[0]
        if actual > expected:
            raise InputError.single(name, "", "rows have more fields than the header (an unquoted comma, e.g. in 1,000?)")
        where = f"row {number}" if number else "a row"
        if line.count('"') % 2:
            raise InputError.single(name, "", f"malformed CSV: {where}: an unclosed quote")
        raise InputError.single(name, "", f"malformed CSV: {where} has {actual} field(s), the header has {expected}")
    if table.num_rows > MAX_TAPE_ROWS:
        raise _too_many_rows(name)
    df = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow") if pa.types.is_string(t) or pa.types.is_large_string(t) else None)
    df.columns = [str(c) for c in table.column_names]
    return df


def _read_xlsx(raw: bytes, name: str) -> pd.DataFrame:
    """An .xlsx tape, streamed (openpyxl read-only): bounded in uncompressed size, rows and
    columns whatever the sheet's stated dimensions say (a 5 kB workbook may claim a cell at
    XFD1048576)."""
    import io

    from openpyxl import load_workbook

    check_xlsx_size(raw, name)
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise InputError.single(name, "", f"cannot read Excel file: {exc}") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise InputError.single(name, "", "cannot read Excel file: the workbook has no sheet")
        if getattr(ws, "merged_cells", None) and ws.merged_cells.ranges:
            raise InputError.single(name, "header", "empty or merged header cells; the first row must name every column")
        ws.reset_dimensions()  # do not trust the stated size: read the cells that are there
        rows: list[tuple[Any, ...]] = []
        blank = 0
        try:
            for r in ws.iter_rows(values_only=True):
                if len(r) > MAX_TAPE_COLUMNS:
                    last = max((j for j, v in enumerate(r) if v is not None), default=len(r) - 1)
                    if last >= MAX_TAPE_COLUMNS:
                        raise InputError.single(name, "", f"a cell in column {last + 1:,}; tapes are limited to "
                                                f"{MAX_TAPE_COLUMNS} columns")
                    r = r[:MAX_TAPE_COLUMNS]
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in r):
                    blank += 1  # (empty rows at the end are formatting; inside, they are dropped)
                    if blank + len(rows) > MAX_TAPE_ROWS + 1:
                        raise _too_many_rows(name)
                    continue
                rows.append(r)
                if len(rows) > MAX_TAPE_ROWS + 1:
                    raise _too_many_rows(name)
        except InputError:
            raise
        except Exception as exc:
            raise InputError.single(name, "", f"cannot read Excel file: {exc}") from None
    finally:
        wb.close()
    if not rows:
        raise InputError.single(name, "", "empty tape file")
    width = max(len(r) for r in rows)
    header = list(rows[0]) + [None] * (width - len(rows[0]))
    while header and header[-1] is None and all(len(r) < len(header) or r[len(header) - 1] is None for r in rows[1:]):
        header.pop()
    if any(h is None or (isinstance(h, str) and not h.strip()) for h in header):
        raise InputError.single(name, "header", "empty or merged header cells; the first row must name every column")
    body = [list(r[: len(header)]) + [None] * (len(header) - len(r)) for r in rows[1:]]
    extra = [r for r in rows[1:] if any(v is not None for v in r[len(header):])]
    if extra:
        raise InputError.single(name, "", "rows have more cells than the header")
    return pd.DataFrame(body, columns=[str(h) for h in header], dtype=object)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or XLSX tape into a DataFrame of strings/numbers; clear errors otherwise.
    The file is read with bounds (:func:`abs_engine.io.files.read_bounded`: no special
    files, at most :data:`~abs_engine.io.files.MAX_TAPE_BYTES`)."""
    name = str(path)
    suffix = path.suffix.lower()
    check_regular(path, "tape")  # (a FIFO or a device named loans.csv, a directory...)
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise InputError.single(name, "", f"unsupported tape format '{suffix}' (use .csv or .xlsx)")
    raw = read_bounded(path, "tape", MAX_TAPE_BYTES)
    df = _read_xlsx(raw, name) if suffix in (".xlsx", ".xlsm") else _read_csv(raw, name)
    del raw
    if len(df) > MAX_TAPE_ROWS:
        raise _too_many_rows(name)
    if df.empty:
        raise InputError.single(name, "", "the tape has a header but no rows")
    raw_cols = [str(c) for c in df.columns]
    if any(not c.strip() or c.startswith("Unnamed:") for c in raw_cols):
        raise InputError.single(name, "header", "empty or merged header cells; the first row must name every column")
    if len(raw_cols) == 1 and (sep := next((x for x in (";", "\t", "|") if x in raw_cols[0]), None)):
        shown = raw_cols[0] if len(raw_cols[0]) <= 60 else raw_cols[0][:60] + "..."
        raise InputError.single(name, "header", f"one column named {shown!r}; tapes are comma-separated (found {sep!r})")
    cols = [c.strip().lower() for c in raw_cols]
    dupes = list(dict.fromkeys(c for i, c in enumerate(cols) if c in cols[:i]))
    if dupes:
        raise InputError.single(name, "header", f"column(s) appear more than once: {', '.join(dupes)}")
    df.columns = cols
    return df


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        v = value.strip()
        return None if v == "" else v
    if isinstance(value, pd.Timestamp | dt.datetime):  # (Excel dates come as date-times)
        return value.date()
    return value


def _cleaned(col: pd.Series, text: bool) -> list[Any]:
    """A column's cells as the row models take them: text stripped, empty cells None (so
    the field takes its default or is reported missing); numbers in text columns as text.
    String columns (CSV tapes) are cleaned by pyarrow in one pass."""
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pc.utf8_trim_whitespace(pa.array(col, type=pa.string(), from_pandas=True))
        return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr).to_pylist()
    values = [_clean(v) for v in col.tolist()]
    return [_as_text(v) for v in values] if text else values


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
    batch_of = _batch_adapter(model)
    shared: dict[str, dict[str, str]] = {}
    field_sets: dict[frozenset[str], set[str]] = {}
    cols = list(df.columns)
    shared_values: list[tuple[str, dict[Any, Any]]] = [(n, {}) for n, f in model.model_fields.items()
                     if (f.alias or n) != id_field and _shareable(f.annotation)]
    for start in range(0, len(df), BATCH_ROWS):
        part = df.iloc[start:start + BATCH_ROWS]
        columns = [_cleaned(part[c], c in text) for c in cols]
        for j, c in enumerate(cols):  # repeated text (industry, region, kinds) shared, not copied per row
            if c != id_field:
                cache = shared.setdefault(c, {})
                if len(cache) < SHARED_VALUES:
                    columns[j] = [cache.setdefault(v, v) if isinstance(v, str) else v for v in columns[j]]
        records = [{k: v for k, v in zip(cols, vals, strict=True) if v is not None} for vals in zip(*columns, strict=True)]
        del columns
        try:
            objs: list[Any] = batch_of.validate_python(records)
        except ValidationError:
            objs = []
            for i, data in enumerate(records):
                try:
                    objs.append(model.model_validate(data))
                except ValidationError as exc:
                    objs.append(None)
                    row = start + i + 2
                    for p in problems_from_validation(exc, model, file):
                        problems.append(Problem(file, f"row {row}" + (f": {p.path}" if p.path else ""), p.message))
        for i, obj in enumerate(objs):
            if obj is None:
                continue
            # the set of fields given is the same for most rows: one shared set, not one each
            fs = obj.__pydantic_fields_set__
            object.__setattr__(obj, "__pydantic_fields_set__", field_sets.setdefault(frozenset(fs), fs))
            # equal values (dates, rates, kinds, regions) are one object, not one per row
            # (validation makes a new object per cell); ids stay as they are
            values = obj.__dict__
            for c, same in shared_values:
                v = values.get(c)
                if v is not None and len(same) < SHARED_VALUES:
                    values[c] = same.setdefault((type(v), v), v)
            if id_field:
                key = str(getattr(obj, id_field))
                if key in seen:
                    problems.append(Problem(file, f"row {start + i + 2}: {id_field}", f"duplicate id '{key}' (first at row {seen[key]})"))
                else:
                    seen[key] = start + i + 2
            out.append(obj)
        if len(problems) > MAX_PROBLEMS:
            break  # (InputError lists the first MAX_PROBLEMS and counts the rest)
    if problems:
        raise InputError(problems)
    return out


#: At most this many distinct values of a column are shared between rows (the rest are kept
#: as validated: a column of mostly distinct values gains nothing).
SHARED_VALUES = 100_000


def _shareable(tp: Any) -> bool:
    """A field whose values are immutable scalars (numbers, dates, text, enums), safe to
    share between rows."""
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    return all(a is type(None) or (isinstance(a, type) and issubclass(a, (int, float, str, dt.date, enum.Enum)))
               for a in args)


@functools.lru_cache(maxsize=16)
def _batch_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    """Validates a batch of rows in one call (much faster than a call per row)."""
    return TypeAdapter(list[model])  # type: ignore[valid-type]
