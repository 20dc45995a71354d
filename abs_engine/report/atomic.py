"""Saving a workbook atomically: a temporary file in the target's directory, fsync'd,
then renamed onto the target with :func:`os.replace`. On any exception the temporary
file is deleted, so a half-written workbook never appears under the target name (the
rename is atomic on POSIX and on Windows within one volume); the file gets the permissions
a plain ``open`` would give (:func:`abs_engine.io.outputs.atomic_path`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ..io.outputs import atomic_path
from .xl import clean_text


def _clean_parts(obj: Any, seen: set[int]) -> None:
    """Clean every text attribute of an openpyxl object tree (chart titles, axis titles,
    headers and footers, document properties) in place, the way cells are cleaned."""
    if id(obj) in seen or isinstance(obj, Worksheet | Workbook):
        return
    if not isinstance(obj, list | dict):  # (a list made for the call may reuse a freed list's id)
        seen.add(id(obj))
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else \
        vars(obj).items() if type(obj).__module__.startswith("openpyxl") and hasattr(obj, "__dict__") else ()
    for key, value in list(items):
        if isinstance(value, str):
            clean = clean_text(value)
            if clean != value:
                if isinstance(obj, dict | list):
                    obj[key] = clean
                else:
                    setattr(obj, key, clean)
        elif isinstance(value, list | dict) or type(value).__module__.startswith("openpyxl"):
            _clean_parts(value, seen)


def clean_workbook(wb: Workbook) -> None:
    """Drop the characters XML 1.0 cannot hold (ESC, NUL... from a deal or tranche name)
    from the text a workbook holds outside its cells: document properties, chart and axis
    titles, headers and footers (cells are cleaned as they are written,
    :func:`abs_engine.report.xl.to_cell_value`; openpyxl would write them and the saved
    file would not open)."""
    seen: set[int] = set()
    _clean_parts(wb.properties, seen)
    _clean_parts(list(wb.custom_doc_props.props), seen)
    for ws in wb.worksheets:
        _clean_parts(list(ws._charts), seen)
        _clean_parts(ws.HeaderFooter, seen)


def save_workbook(wb: Workbook, target: str | os.PathLike[str]) -> Path:
    """Save ``wb`` to ``target`` atomically; returns the target path (text outside the
    cells cleaned first, :func:`clean_workbook`)."""
    target = Path(target)
    clean_workbook(wb)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        wb.save(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return target
