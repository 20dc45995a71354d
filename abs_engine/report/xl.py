"""Low-level openpyxl helpers: typed, formula-safe cell writing, tables, column widths,
print setup. Layout only; no figures are computed here.

Text safety: any string is written as a string cell (``data_type = "s"``). A string that
a spreadsheet would read as a formula or command (first character ``= + - @``, or a
tab / carriage return) additionally gets the cell's *quote prefix* (Excel's leading
apostrophe), so it stays text when a user edits the cell or exports the sheet to CSV.
Characters XML cannot hold are dropped.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# number formats
YUAN = "#,##0.00"  # 元 with thousands separators
WAN = "#,##0.00"  # 万元 (values already in 10k units; the header says so)
INT = "#,##0"
PCT2 = "0.00%"
PCT4 = "0.0000%"
YEARS = "0.00"
DEC4 = "0.0000"
DEC2 = "0.00"
DATE = "yyyy-mm-dd"
TEXT = "@"

#: Numbers closer to zero than this are written as 0: float noise of sums and differences
#: (a cumulative loss of -4.4e-11 元), never a figure anyone reads (0.0000% shows 1e-6).
ZERO_NOISE = 1e-9

#: First characters that make a spreadsheet treat text as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
SUBTITLE = Font(bold=True, size=12)
NOTE = Font(italic=True, size=9, color="FF595959")
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
HIGHLIGHT_FILL = PatternFill("solid", fgColor="FFFFF2CC")
TOTAL_FILL = PatternFill("solid", fgColor="FFF2F2F2")
_THIN = Side(style="thin", color="FFBFBFBF")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
WRAP_CENTER = Alignment(wrap_text=True, horizontal="center", vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
LEFT = Alignment(horizontal="left")


def clean_text(value: str) -> str:
    """Drop characters XML 1.0 cannot hold (openpyxl would refuse them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value)) or math.isinf(float(value))
    return bool(isinstance(value, pd.Timestamp) and pd.isna(value))


def to_cell_value(value: Any) -> Any:
    """A value openpyxl writes with the right type: numbers as numbers (NaN -> empty,
    float noise below :data:`ZERO_NOISE` -> 0), dates as dates, everything else as text.

    >>> to_cell_value(-4.37e-11), to_cell_value(float("nan")), to_cell_value(2.5)
    (0.0, None, 2.5)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return 0.0 if abs(v) < ZERO_NOISE else v
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return to_cell_value(pd.Timestamp(value))
    if isinstance(value, dt.datetime | dt.date):
        return value
    return clean_text(str(value))


def display_width(text: str) -> int:
    """Columns a string needs: East Asian wide / full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _shown(value: Any, fmt: str | None) -> str:
    """Roughly how a value is displayed (for column widths)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return max(value.split("\n"), key=display_width) if value else ""
    if isinstance(value, dt.datetime | dt.date):
        return "yyyy-mm-dd"
    if isinstance(value, bool):
        return "FALSE"
    if isinstance(value, int | float):
        f = fmt or "General"
        if "%" in f:
            dec = f.split(".")[1].count("0") if "." in f else 0
            return f"{value * 100:,.{dec}f}%"
        if "." in f:
            dec = f.split(".")[1].count("0")
            return f"{value:,.{dec}f}" if "," in f else f"{value:.{dec}f}"
        return f"{value:,.0f}" if "," in f else f"{value:g}"
    return str(value)


@dataclass
class Sheet:
    """A worksheet plus the width each column needs, updated as cells are written."""

    ws: Worksheet
    widths: dict[int, int] = field(default_factory=dict)
    min_width: int = 8
    max_width: int = 60
    #: Style arrays already registered in this workbook, keyed by the ids of the style
    #: objects (which the value keeps alive): assigning fonts and borders one by one costs
    #: a hash of each object per cell. Share one dict between the sheets of a workbook.
    styles: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    #: Columns (letters) whose width was set by hand (:meth:`set_width`): not fitted.
    fixed: set[str] = field(default_factory=set)

    def set_width(self, col: int, width: float) -> None:
        """Fix a column's width (characters); :meth:`finish` leaves it alone."""
        letter = get_column_letter(col)
        self.ws.column_dimensions[letter].width = width
        self.fixed.add(letter)

    def put(
        self,
        row: int,
        col: int,
        value: Any,
        fmt: str | None = None,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        border: Border | None = None,
        align: Alignment | None = None,
        fit: bool = True,
    ) -> Any:
        """Write one cell; ``fit=False`` leaves the column width alone (long text that
        may overflow into empty neighbours)."""
        v = to_cell_value(value)
        c = self.ws.cell(row=row, column=col)
        number_format: str | None = None
        if isinstance(v, str):
            c.value = v
            c.data_type = "s"  # never a formula, whatever the text says
            quote = v.startswith(FORMULA_TRIGGERS)
        else:
            c.value = v
            quote = False
            if isinstance(v, dt.datetime | dt.date):
                number_format = DATE
            elif fmt is not None and v is not None:
                number_format = fmt
        key = (id(font), id(fill), id(border), id(align), number_format, quote)
        cached = self.styles.get(key)
        if cached is not None:
            c._style = copy.copy(cached[0])
        else:
            if number_format is not None:
                c.number_format = number_format
            if quote:
                c.quotePrefix = True
            if font is not None:
                c.font = font
            if fill is not None:
                c.fill = fill
            if border is not None:
                c.border = border
            if align is not None:
                c.alignment = align
            self.styles[key] = (copy.copy(c._style), font, fill, border, align, number_format)
        if fit:
            w = display_width(_shown(v, fmt)) + 2
            if font is not None and font.sz and font.sz > 11:
                w = int(w * font.sz / 11) + 1
            self.widths[col] = max(self.widths.get(col, 0), w)
        return c

    def wrapped(self, row: int, col: int, text: str, width: float, **kw: Any) -> Any:
        """Write wrapped text into a cell (or merged cells) ``width`` characters wide and
        make the row tall enough to show every line on screen and in print (neither Excel
        nor LibreOffice grows a row for wrapped text on its own)."""
        c = self.put(row, col, text, align=WRAP_TOP, fit=False, **kw)
        lines = sum(max(1, -(-display_width(part) // max(int(width) - 1, 1))) for part in str(text).split("\n"))
        height = 15.0 * lines + 2
        current = self.ws.row_dimensions[row].height
        if current is None or current < height:
            self.ws.row_dimensions[row].height = height
        return c

    def title(self, row: int, text: str, font: Font = TITLE) -> int:
        self.put(row, 1, text, font=font, fit=False)
        return row + 1

    def note(self, row: int, text: str, col: int = 1) -> int:
        self.put(row, col, text, font=NOTE, fit=False)
        return row + 1

    def header(self, row: int, col: int, labels: Sequence[str]) -> int:
        """A header row of boxed, shaded, wrapped labels; the row grows to fit."""
        lines = 1
        for j, text in enumerate(labels):
            self.put(row, col + j, text, font=BOLD, fill=HEADER_FILL, border=BOX, align=WRAP_CENTER)
            lines = max(lines, text.count("\n") + 1)
        if lines > 1:
            self.ws.row_dimensions[row].height = 15 * lines + 2
        return row + 1

    def rows(
        self,
        row: int,
        col: int,
        data: Iterable[Sequence[Any]],
        fmts: Sequence[str | None],
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
    ) -> int:
        """Boxed data rows; ``fmts[j]`` is the number format of column ``j``."""
        for values in data:
            for j, v in enumerate(values):
                self.put(row, col + j, v, fmts[j], font=font, fill=fill, border=BOX)
            row += 1
        return row

    def kv(self, row: int, key: str, value: Any, fmt: str | None = None, *, fit_value: bool = False) -> int:
        """A label in column A and its value in column B."""
        self.put(row, 1, key, font=BOLD, border=BOX)
        self.put(row, 2, value, fmt, border=BOX, fit=fit_value, align=LEFT)
        return row + 1

    def finish(self, *, freeze: str | None, title_rows: tuple[int, int] | None) -> None:
        """Column widths, frozen panes, A4 landscape fitted to the page width, header
        rows repeated on every printed page."""
        for col, w in self.widths.items():
            letter = get_column_letter(col)
            if letter in self.fixed:
                continue
            self.ws.column_dimensions[letter].width = max(self.min_width, min(self.max_width, w))
        if freeze:
            self.ws.freeze_panes = freeze
        ps = self.ws.page_setup
        ps.orientation = "landscape"
        ps.paperSize = self.ws.PAPERSIZE_A4
        ps.fitToWidth = 1
        ps.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_options.horizontalCentered = True
        self.ws.page_margins.left = self.ws.page_margins.right = 0.4
        self.ws.page_margins.top = self.ws.page_margins.bottom = 0.5
        if title_rows is not None:
            self.ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
        self.ws.oddFooter.center.text = "&P / &N"


_BAD_SHEET_CHARS = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_name(text: str, taken: Iterable[str]) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, at most 31 characters, not starting
    or ending with an apostrophe, unique (case-insensitive) among ``taken``."""
    base = clean_text(text).translate(_BAD_SHEET_CHARS).strip().strip("'") or "Sheet"
    base = base[:31]
    used = {t.lower() for t in taken}
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name = base[: 31 - len(suffix)] + suffix
        k += 1
    return name


def file_stem(text: str) -> str:
    """A file-name-safe stem: path separators, reserved and control characters -> ``_``,
    at most 120 bytes (:func:`abs_engine.io.names.path_component`)."""
    from ..io.names import path_component

    return path_component(text, default="deal")
