"""Reading an originator's loan-level performance history (静态池数据) for the static-pool
analysis (docs/static-pool.md, "The history").

One row per loan and month (CSV, XLSX or Parquet), or that without the loans' static columns
plus a loan table (one row per loan): each loan from its first month of life to its last
(repaid, prepaid, defaulted), and, after a default, the months its recoveries came in.
Every problem of both files is reported at once (file, row, column, reason), at most
:data:`MAX_PROBLEMS`; files are read with the tape loader's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Problem
from ..io.tape import MAX_TAPE_ROWS, read_table

#: Columns of the performance rows; the loan columns may instead come from a loan table.
PERFORMANCE = ("loan_id", "month", "balance", "days_past_due", "prepaid", "defaulted", "recovered")
LOAN = ("loan_id", "origination_date", "original_balance")
REQUIRED = ("loan_id", "month", "balance")
AMOUNTS = ("balance", "prepaid", "defaulted", "recovered")
#: Problems listed before the reader stops looking.
MAX_PROBLEMS = 200
#: Money differences below this are rounding (currency units).
CENT = 0.01


@dataclass
class History:
    """A validated history: one row per loan and month, sorted, with ``age`` (the loan's
    month of life: 1 is the first calendar month after its origination month),
    ``start`` (its balance at the month's start) and ``scheduled`` (principal it repaid on
    schedule that month, ``start - balance - prepaid - defaulted``); the loans' static
    columns (segments) in ``loans``; the as-of month (the last reported)."""

    rows: pd.DataFrame
    loans: pd.DataFrame
    as_of: pd.Period
    files: list[Path]

    @property
    def segments(self) -> list[str]:
        """The loans' descriptive columns (IP type, industry, ...)."""
        return [c for c in self.loans.columns if c not in ("loan_id", "origination_date", "original_balance")]


def _read(path: Path) -> pd.DataFrame:
    """A CSV, XLSX or Parquet file as a frame (lower-case column names), bounded like tapes."""
    if path.suffix.lower() == ".parquet":
        name = str(path)
        if not path.is_file():
            raise InputError.single(name, "", "file not found")
        try:
            import pyarrow.parquet as pq

            n = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:
            raise InputError.single(name, "", f"cannot read the Parquet file: {exc}") from None
        if n > MAX_TAPE_ROWS:
            raise InputError.single(name, "", f"more than {MAX_TAPE_ROWS:,} rows; histories are limited to {MAX_TAPE_ROWS:,} rows")
        df = pd.read_parquet(path)
        if df.empty:
            raise InputError.single(name, "", "the file has no rows")
        df.columns = [str(c).strip().lower() for c in df.columns]
        return df
    return read_table(path)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, where: str, why: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(file, where, why))

    def rows(self, file: str, mask: np.ndarray, frame: pd.DataFrame, column: str, why: str) -> None:
        for i in np.flatnonzero(mask)[: MAX_PROBLEMS - len(self.items)]:
            self.add(file, f"row {int(frame['_row'].iat[i])}: {column}", why.format(value=frame[column].iat[i]))

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.items)


def _text(s: pd.Series) -> pd.Series:
    def one(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one)


def _numbers(df: pd.DataFrame, col: str, file: str, problems: _Problems, *, default: float | None = None) -> pd.Series:
    raw = df[col] if col in df.columns else pd.Series([default] * len(df), index=df.index, dtype=object)
    blank = raw.map(lambda v: v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v)))
    values = pd.to_numeric(raw.where(~blank, other=default), errors="coerce").astype(float)
    bad = values.isna() & ~(blank & (default is not None))
    if bad.any():
        problems.rows(file, bad.to_numpy(), df.assign(**{col: raw}), col,
                      "should be a number (got {value!r})" + ("; write numbers without thousands separators"
                                                             if raw[bad].astype(str).str.contains(",").any() else ""))
    neg = values < 0
    if neg.any():
        problems.rows(file, neg.to_numpy(), df.assign(**{col: values}), col, "must not be negative (got {value:g})")
    return values


def _dates(df: pd.DataFrame, col: str, file: str, problems: _Problems) -> pd.Series:
    raw = df[col]
    parsed = pd.to_datetime(raw.map(lambda v: v if not isinstance(v, str) else v.strip()), errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        problems.rows(file, bad.to_numpy(), df, col, "should be a date, YYYY-MM-DD (got {value!r})")
    return parsed


def load_history(path: str | Path, loans: str | Path | None = None) -> History:
    """Read and validate a history (and its loan table); raises :class:`InputError` listing
    every problem (at most :data:`MAX_PROBLEMS`)."""
    path = Path(path)
    files = [path]
    perf = _read(path)
    pfile = str(path)
    perf["_row"] = np.arange(len(perf)) + 2
    problems = _Problems()
    if loans is not None:
        lpath = Path(loans)
        files.append(lpath)
        ltab = _read(lpath)
        lfile = str(lpath)
        ltab["_row"] = np.arange(len(ltab)) + 2
        missing = [c for c in LOAN if c not in ltab.columns]
        if missing:
            problems.add(lfile, "header", f"missing required column(s): {', '.join(missing)}")
        clash = [c for c in perf.columns if c in ltab.columns and c not in ("loan_id", "_row")]
        if clash:
            problems.add(pfile, "header", f"column(s) also in the loan table {lpath.name}: {', '.join(clash)} "
                                          "(give each once)")
    else:
        lfile = pfile
        missing = [c for c in LOAN if c not in perf.columns]
        if missing:
            problems.add(pfile, "header", f"missing required column(s): {', '.join(missing)} (or give a loan table)")
        ltab = None
    missing = [c for c in REQUIRED if c not in perf.columns]
    if missing:
        problems.add(pfile, "header", f"missing required column(s): {', '.join(missing)}")
    problems.raise_if_any()

    # the loans: one row each, from the loan table or the performance rows
    if ltab is not None:
        ltab["loan_id"] = _text(ltab["loan_id"])
        dup = ltab["loan_id"].duplicated(keep="first")
        if dup.any():
            first = ltab.drop_duplicates("loan_id").set_index("loan_id")["_row"]
            for i in np.flatnonzero(dup.to_numpy())[:MAX_PROBLEMS]:
                lid = ltab["loan_id"].iat[i]
                problems.add(lfile, f"row {int(ltab['_row'].iat[i])}: loan_id", f"duplicate id '{lid}' (first at row {int(first[lid])})")
        table, tfile = ltab, lfile
    else:
        table, tfile = perf, pfile
    table["loan_id"] = _text(table["loan_id"])
    empty = (table["loan_id"] == "").to_numpy()
    if empty.any():
        problems.rows(tfile, empty, table, "loan_id", "missing loan id")
    table["origination_date"] = _dates(table, "origination_date", tfile, problems)
    table["original_balance"] = _numbers(table, "original_balance", tfile, problems)
    zero = (table["original_balance"] == 0).to_numpy()
    if zero.any():
        problems.rows(tfile, zero, table, "original_balance", "must be above 0")
    segments = [c for c in table.columns if c not in (*PERFORMANCE, "origination_date", "original_balance", "_row")]
    for c in segments:
        table[c] = _text(table[c])
    if ltab is None:
        # the loan's columns must be the same on all its rows
        for c in ("origination_date", "original_balance", *segments):
            n = table.groupby("loan_id")[c].nunique(dropna=False)
            for lid in n[n > 1].index[:20]:
                rows = table.loc[table["loan_id"] == lid, "_row"]
                problems.add(tfile, f"rows {int(rows.min())}-{int(rows.max())}: {c}", f"loan '{lid}' has more than one {c}")
    loan_frame = table.drop_duplicates("loan_id")[["loan_id", "origination_date", "original_balance", *segments]]

    # the performance rows
    perf["loan_id"] = _text(perf["loan_id"])
    empty = (perf["loan_id"] == "").to_numpy()
    if empty.any():
        problems.rows(pfile, empty, perf, "loan_id", "missing loan id")
    month = _dates(perf, "month", pfile, problems)
    for c in AMOUNTS:
        perf[c] = _numbers(perf, c, pfile, problems, default=None if c == "balance" else 0.0)
    dpd = _numbers(perf, "days_past_due", pfile, problems, default=0.0)
    frac = (dpd % 1 != 0) & dpd.notna()
    if frac.any():
        problems.rows(pfile, frac.to_numpy(), perf.assign(days_past_due=dpd), "days_past_due", "should be a whole number of days (got {value:g})")
    perf["days_past_due"] = dpd
    problems.raise_if_any()
    if ltab is not None:
        unknown = ~perf["loan_id"].isin(loan_frame["loan_id"])
        for lid in perf.loc[unknown, "loan_id"].unique()[:50]:
            row = int(perf.loc[perf["loan_id"] == lid, "_row"].iat[0])
            problems.add(pfile, f"row {row}: loan_id", f"loan '{lid}' is not in the loan table {Path(loans).name}")  # type: ignore[arg-type]
    problems.raise_if_any()

    perf["month"] = month.dt.to_period("M")
    perf = perf.merge(loan_frame[["loan_id", "origination_date", "original_balance"]], on="loan_id", how="left",
                      suffixes=("_x", "")) if ltab is not None else perf
    perf = perf.sort_values(["loan_id", "month"], kind="stable").reset_index(drop=True)
    origin = perf["origination_date"].dt.to_period("M")
    perf["age"] = (perf["month"].astype("int64") - origin.astype("int64")).astype(np.int64)
    early = (perf["age"] < 1).to_numpy()
    if early.any():
        problems.rows(pfile, early, perf.assign(month=perf["month"].astype(str)), "month",
                      "{value} is not after the loan's origination month")
    same = perf.duplicated(["loan_id", "month"], keep="first").to_numpy()
    if same.any():
        problems.rows(pfile, same, perf.assign(month=perf["month"].astype(str)), "month", "a second row for {value} of this loan")
    big = (perf["balance"] > perf["original_balance"] + CENT).to_numpy()
    if big.any():
        problems.rows(pfile, big, perf, "balance", "{value:,.2f} is above the loan's original balance")
    # (the loans' sequences are checked on the rows left without the repeated months, so
    # that these problems are listed with the others)
    perf = perf[~same].reset_index(drop=True)
    g = perf.groupby("loan_id", sort=False)
    prev_balance = g["balance"].shift(1)
    first = prev_balance.isna()
    start_age = perf.loc[first, "age"]
    late = start_age[start_age != 1]
    for i in late.index[:MAX_PROBLEMS]:
        problems.add(pfile, f"row {int(perf['_row'].iat[i])}: month",
                     f"the history of loan '{perf['loan_id'].iat[i]}' starts in its month of life {int(late[i])}; "
                     "a static pool needs every loan from its first month")
    # a loan is outstanding until a row with no balance left; after a default, only rows
    # of recoveries (no balance) may follow, in any month
    defaulted_before = g["defaulted"].cumsum() - perf["defaulted"] > 0
    ended_before = (prev_balance <= CENT) & ~first
    prev_age = g["age"].shift(1)
    gap = ~first & ~ended_before & (perf["age"] - prev_age != 1)
    if gap.any():
        problems.rows(pfile, gap.to_numpy(), perf.assign(month=perf["month"].astype(str)), "month",
                      "{value}: a month of the loan is missing before it (every month while a loan is outstanding)")
    twice = (perf["defaulted"] > 0) & defaulted_before
    if twice.any():
        problems.rows(pfile, twice.to_numpy(), perf, "defaulted", "the loan already defaulted (one default per loan)")
    after = ended_before & ((perf["balance"] > CENT) | (perf["prepaid"] > CENT) | (perf["defaulted"] > CENT))
    if after.any():
        problems.rows(pfile, after.to_numpy(), perf, "balance",
                      "the loan was already repaid, prepaid or defaulted: later rows may only bring recoveries")
    start = prev_balance.where(~first, perf["original_balance"]).where(~ended_before, 0.0)
    scheduled = start - perf["balance"] - perf["prepaid"] - perf["defaulted"]
    grows = (scheduled < -CENT).to_numpy()
    if grows.any():
        problems.rows(pfile, grows, perf.assign(balance=start), "balance",
                      "the balance at the month's start ({value:,.2f}) less prepaid and defaulted is below the balance at its end")
    early_rec = (perf["recovered"] > CENT) & ~(defaulted_before | (perf["defaulted"] > 0))
    if early_rec.any():
        problems.rows(pfile, early_rec.to_numpy(), perf, "recovered", "a recovery before the loan defaulted")
    problems.raise_if_any()
    perf["start"] = start.clip(lower=0.0)
    perf["scheduled"] = scheduled.clip(lower=0.0)
    perf["defaulted_before"] = defaulted_before
    perf["prev_dpd"] = g["days_past_due"].shift(1).fillna(0.0)
    as_of = perf["month"].max()
    return History(perf.drop(columns=[c for c in perf.columns if c.endswith("_x")]), loan_frame.reset_index(drop=True),
                   as_of, files)
