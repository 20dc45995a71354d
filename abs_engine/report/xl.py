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
from openpyxl.worksheet.table import Table, TableStyleInfo
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
NOTE = Font(italic=True, size=11, color="FF595959")
#: Payments after a tranche's expected maturity and other breaches of the promised terms
ALERT = Font(bold=True, color="FFC00000")
ALERT_FILL = PatternFill("solid", fgColor="FFFFE0E0")
HEADER_FILL = PatternFill("solid", fgColor="FFD9E1F2")
HIGHLIGHT_FILL = PatternFill("solid", fgColor="FFFFF2CC")
TOTAL_FILL = PatternFill("solid", fgColor="FFF2F2F2")
_THIN = Side(style="thin", color="FFBFBFBF")
BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
WRAP_CENTER = Alignment(wrap_text=True, horizontal="center", vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
LEFT = Alignment(horizontal="left")
WRAP_LEFT = Alignment(wrap_text=True, horizontal="left", vertical="top")

# --------------------------------------------------------------------------- print layout
#: Printable width of A4 landscape with 0.4-inch margins, in points (297 mm - 0.8 in).
PRINT_WIDTH_PT = 297 / 25.4 * 72 - 0.8 * 72
#: The smallest print scale (%) a sheet may get: no text is below 11 pt, so it prints at
#: 8 pt or more. A sheet that fits the page width at this scale or above is fitted to the
#: width; a wider one prints at this scale, its columns running on to further pages with
#: the key columns repeated (``title_cols`` of :meth:`Sheet.finish`).
MIN_SCALE = 74
#: The scale of a sheet too wide for that (LibreOffice rounds an explicit 74% down).
WIDE_SCALE = 76
#: Fitting to the width is chosen only with this many points of scale to spare: LibreOffice
#: fitted the Pudong credit-support sheet, estimated at 74.0%, at 71% (7.8 pt text).
FIT_MARGIN = 4
#: Text in a proportional font may set wider than Excel's width unit (its digit width)
#: allows for: widths and wrapped-text heights allow for this much.
FONT_SLACK = 1.05
#: A renderer whose default font is wider than Calibri sets columns this much wider
#: (LibreOffice converts widths with DejaVu Sans's digit width, 1.2-1.25 x Calibri's on its PDFs);
#: the print-scale estimate allows for it so that the sheet still fits the page width.
RENDER_SLACK = 1.28
#: Width (characters) a table header contributes to its column: longer labels wrap.
HEADER_WIDTH = 10


def first_page_columns(widths: list[float]) -> int:
    """How many of the columns of ``widths`` (characters; left to right) print on the first
    page of a sheet printed at :data:`WIDE_SCALE` (at least one).

    >>> first_page_columns([18] * 20)  # 8 columns of 126 pt in 1,032 pt (785 pt at 76%)
    8
    """
    room = PRINT_WIDTH_PT * 100 / WIDE_SCALE
    used, n = 0.0, 0
    for w in widths:
        used += column_points(w)
        if used > room:
            break
        n += 1
    return max(n, 1)


def column_points(width: float) -> float:
    """Printed width (points) of a column ``width`` characters wide (Excel: 7 px per
    character plus 5 px of padding at 96 dpi), times :data:`RENDER_SLACK`."""
    return (7 * width + 5) * 0.75 * RENDER_SLACK


def text_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when wrapped in ``width`` characters (paragraphs on new lines)."""
    usable = max(width - 1.0, 1.0)
    return sum(max(1, math.ceil(display_width(part) * FONT_SLACK / usable)) for part in str(text).split("\n"))


def line_height(size: float) -> float:
    """Row height (points) of one line of text of ``size`` points."""
    return size * 1.4


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
    max_width: int = 24
    #: Style arrays already registered in this workbook, keyed by the ids of the style
    #: objects (which the value keeps alive): assigning fonts and borders one by one costs
    #: a hash of each object per cell. Share one dict between the sheets of a workbook.
    styles: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    #: Columns (letters) whose width was set by hand (:meth:`set_width`): not fitted.
    fixed: set[str] = field(default_factory=set)
    #: Text laid out by :meth:`finish`: (row, col, span to the sheet's last column, font size)
    #: - notes and titles span the sheet's width; their rows grow to show every line.
    flowing: list[tuple[int, int, bool, float]] = field(default_factory=list)
    #: Excel tables (ListObjects) to add: (name, first row, first col, last row, last col).
    tables: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    #: Table names already used in the workbook (shared between its sheets).
    table_names: set[str] = field(default_factory=set)

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
            w = math.ceil(display_width(_shown(v, fmt)) * FONT_SLACK) + 2
            if font is not None and font.sz and font.sz > 11:
                w = int(w * font.sz / 11) + 1
            if isinstance(v, str) and w > self.max_width:
                # longer than a column may be: the text wraps and its row grows (finish)
                c.alignment = Alignment(wrap_text=True, vertical="top",
                                        horizontal=align.horizontal if align is not None else None)
                self.flowing.append((row, col, False, float(font.sz or 11) if font is not None else 11.0))
                w = self.max_width
            self.widths[col] = max(self.widths.get(col, 0), w)
        return c

    def wrapped(self, row: int, col: int, text: str, width: float, **kw: Any) -> Any:
        """Write wrapped text into a cell (or merged cells) ``width`` characters wide and
        make the row tall enough to show every line on screen and in print (neither Excel
        nor LibreOffice grows a row for wrapped text on its own)."""
        c = self.put(row, col, text, align=WRAP_TOP, fit=False, **kw)
        height = text_lines(str(text), width) * line_height(11) + 3
        current = self.ws.row_dimensions[row].height
        if current is None or current < height:
            self.ws.row_dimensions[row].height = height
        return c

    def label(self, row: int, col: int, text: str, **kw: Any) -> Any:
        """A row label that wraps in its column (the row grows to fit, :meth:`finish`)."""
        c = self.put(row, col, text, align=WRAP_LEFT, fit=False, **kw)
        self.flowing.append((row, col, False, 11.0))
        return c

    def title(self, row: int, text: str, font: Font = TITLE) -> int:
        """A title; it wraps across the sheet's width (:meth:`finish`)."""
        self.put(row, 1, text, font=font, fit=False, align=WRAP_LEFT)
        self.flowing.append((row, 1, True, float(font.sz or 11)))
        return row + 1

    def note(self, row: int, text: str, col: int = 1) -> int:
        """A note in small italics; it wraps across the sheet's width (:meth:`finish`)."""
        self.put(row, col, text, font=NOTE, fit=False, align=WRAP_LEFT)
        self.flowing.append((row, col, True, float(NOTE.sz or 10)))
        return row + 1

    def header(self, row: int, col: int, labels: Sequence[str]) -> int:
        """A header row of boxed, shaded, wrapped labels; the row grows to fit (:meth:`finish`)."""
        for j, text in enumerate(labels):
            self.put(row, col + j, text, font=BOLD, fill=HEADER_FILL, border=BOX, align=WRAP_CENTER, fit=False)
            longest = max((display_width(x) for x in str(text).split("\n")), default=0)
            self.widths[col + j] = max(self.widths.get(col + j, 0), min(longest, HEADER_WIDTH) + 2)
            self.flowing.append((row, col + j, False, 11.0))
        return row + 1

    def table(self, name: str, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        """Make the block (header row first) an Excel table (ListObject) named ``name``, so
        that it loads into Power Query or pandas as it is. Names are made unique in the
        workbook; a block without data rows is left a plain range."""
        if last_row <= first_row:
            return
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
        base = base if base[:1].isalpha() else f"T_{base}"
        taken = {n.lower() for n in self.table_names}
        final, k = base[:250], 2
        while final.lower() in taken:
            final = f"{base[:240]}_{k}"
            k += 1
        self.table_names.add(final)
        self.tables.append((final, first_row, first_col, last_row, last_col))

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
        """A label in column A (wrapped) and its value in column B."""
        self.label(row, 1, key, font=BOLD, border=BOX)
        self.put(row, 2, value, fmt, border=BOX, fit=fit_value, align=WRAP_LEFT)
        if isinstance(value, str) and not fit_value:
            self.flowing.append((row, 2, True, 11.0))  # long text wraps across the sheet
        return row + 1

    def finish(self, *, freeze: str | None, title_rows: tuple[int, int] | None, title_cols: str | None = None) -> None:
        """Column widths, flowing text (notes, titles, headers) wrapped with rows grown to
        show every line, Excel tables, frozen panes, and A4 landscape print setup: fitted
        to the page width when that keeps the scale at :data:`MIN_SCALE` or above, else
        printed at that scale (text never prints below 8 pt); header rows repeated on
        every printed page."""
        for col, w in self.widths.items():
            letter = get_column_letter(col)
            if letter in self.fixed:
                continue
            self.ws.column_dimensions[letter].width = max(self.min_width, min(self.max_width, w))
        last = max([c for c in self.widths] + [1])

        def width(col: int) -> float:
            w = self.ws.column_dimensions[get_column_letter(col)].width
            return float(w) if w else 8.43

        total = sum(column_points(width(c)) for c in range(1, last + 1))
        fits = total <= PRINT_WIDTH_PT * 100 / (MIN_SCALE + FIT_MARGIN)
        # a sheet printed across pages: flowing text spans only the columns of the first
        # page (merged across all, LibreOffice cut it at that page's right edge)
        span_end = last if fits else first_page_columns([width(c) for c in range(1, last + 1)])
        merged_rows: set[int] = set()
        heights: dict[int, float] = {}
        for row, col, span, size in self.flowing:
            cell = self.ws.cell(row=row, column=col)
            text = cell.value if isinstance(cell.value, str) else ""
            end = col
            stop = max(col, span_end)
            if span and stop > col and row not in merged_rows and all(
                    self.ws.cell(row=row, column=c).value is None for c in range(col + 1, stop + 1)):
                end = stop
                self.ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=end)
                merged_rows.add(row)
            avail = sum(width(c) for c in range(col, end + 1))
            h = text_lines(text, avail * 11.0 / size) * line_height(size) + 3
            heights[row] = max(heights.get(row, 0.0), h)
        for row, h in heights.items():
            current = self.ws.row_dimensions[row].height
            if current is None or current < h:
                self.ws.row_dimensions[row].height = h
        for name, r0, c0, r1, c1 in self.tables:
            ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}"
            tab = Table(displayName=name, ref=ref)
            tab.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
            self.ws.add_table(tab)
        if freeze:
            self.ws.freeze_panes = freeze
        ps = self.ws.page_setup
        ps.orientation = "landscape"
        ps.paperSize = self.ws.PAPERSIZE_A4
        ps.fitToWidth = 1 if fits else 0
        ps.fitToHeight = 0
        ps.scale = None if fits else WIDE_SCALE
        self.ws.sheet_properties.pageSetUpPr.fitToPage = fits
        self.ws.print_options.horizontalCentered = True
        self.ws.page_margins.left = self.ws.page_margins.right = 0.4
        self.ws.page_margins.top = self.ws.page_margins.bottom = 0.5
        if title_rows is not None:
            self.ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
        if title_cols is not None and not fits:
            self.ws.print_title_cols = title_cols
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
