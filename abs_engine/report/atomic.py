"""Saving a workbook atomically: a temporary file in the target's directory, fsync'd,
then renamed onto the target with :func:`os.replace`. On any exception the temporary
file is deleted, so a half-written workbook never appears under the target name (the
rename is atomic on POSIX and on Windows within one volume); the file gets the permissions
a plain ``open`` would give (:func:`abs_engine.io.outputs.atomic_path`)."""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook

from ..io.outputs import atomic_path


def save_workbook(wb: Workbook, target: str | os.PathLike[str]) -> Path:
    """Save ``wb`` to ``target`` atomically; returns the target path."""
    target = Path(target)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        wb.save(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return target
