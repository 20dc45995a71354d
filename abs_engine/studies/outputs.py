"""Writing scenario-run results: tidy frames as CSV and/or Parquet, each atomically,
inside the run's output set (:func:`abs_engine.io.outputs.output_set`: staged, moved into
place with the manifest last, nothing left behind by a failure or Ctrl-C)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io.outputs import atomic_path, write_csv

FORMATS = ("csv", "parquet", "both")


def write_parquet(df: pd.DataFrame, target: Path) -> Path:
    """Write ``df`` as Parquet (pyarrow, zstd) atomically."""
    with atomic_path(target) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
    return target


def write_frame(df: pd.DataFrame, directory: Path, stem: str, fmt: str = "csv") -> list[Path]:
    """``<stem>.csv`` and/or ``<stem>.parquet`` in ``directory`` (``fmt``: csv, parquet, both)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    out = []
    if fmt in ("csv", "both"):
        out.append(write_csv(df, directory / f"{stem}.csv"))
    if fmt in ("parquet", "both"):
        out.append(write_parquet(df, directory / f"{stem}.parquet"))
    return out
