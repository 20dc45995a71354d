"""Saving a workbook atomically: a temporary file in the target's directory, fsync'd,
then renamed onto the target with :func:`os.replace`. On any exception the temporary
file is deleted, so a half-written workbook never appears under the target name (the
rename is atomic on POSIX and on Windows within one volume)."""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook

from ..io.outputs import atomic_path


def _default_mode(target: Path) -> int:
    """Permission bits the file would get from a plain ``open``: the existing target's,
    else 0o666 minus the process umask (``mkstemp`` creates 0o600 files)."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def save_workbook(wb: Workbook, target: str | os.PathLike[str]) -> Path:
    """Save ``wb`` to ``target`` atomically; returns the target path."""
    target = Path(target)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            wb.save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode(target))
    return target
