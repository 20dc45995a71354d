"""The structure-comparison workbook for the desk (结构对比; ``abs-engine compare``).

Layout only: the figures come from :class:`abs_engine.studies.compare.Comparison`.
Sheets: the side-by-side comparison under each scenario (one column per structure), the
per-scenario figures of every structure, the per-tranche figures, the risk figures
(expected loss, BDR) and the inputs. Labels are bilingual (中文 / English), numbers are
numbers (with number formats), every table is a named Excel table with its header row
frozen, and every sheet prints on A4 landscape with no text smaller than
:data:`MIN_PRINT_PT` points: one page wide when that scale allows it, else at that scale
across several pages with the first column repeated.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from . import structuring_labels  # noqa: F401  (the workbook's labels)
from .atomic import save_workbook
from .labels import in_currency, label
from .xl import (
    BOLD,
    BOX,
    DEC4,
    HEADER_FILL,
    PCT2,
    PCT4,
    WRAP_CENTER,
    YEARS,
    YUAN,
    Sheet,
    display_width,
    file_stem,
    sheet_name,
)

#: Smallest printed text size (points).
MIN_PRINT_PT = 8.0
#: Narrowest column of a table, and the widest a header alone makes one (characters).
MIN_WIDTH = 10
MAX_HEADER_WIDTH = 22
#: Printable width of A4 landscape (inches) with the sheets' 0.4-inch side margins.
PRINT_WIDTH_IN = 11.69 - 0.8
NOTE = Font(italic=True, size=10, color="FF595959")

#: measure -> number format
FORMATS: dict[str, str] = {
    "balance": YUAN, "share_of_notes": PCT2, "coupon": PCT4, "wal_years": YEARS, "yield": PCT4, "loss_rate": PCT4,
    "interest": YUAN, "principal": YUAN, "residual": YUAN, "expected_loss": PCT4, "bdr": PCT4, "notes_total": YUAN,
    "senior_share": PCT2, "funding_cost": PCT4, "all_in_cost": PCT4, "subordinate_balance": YUAN,
    "subordinate_residual": YUAN, "subordinate_principal": YUAN, "subordinate_yield": PCT4,
}


def column_inches(width: float) -> float:
    """Printed width (inches) of a column ``width`` characters wide (Calibri 11: 7 pixels a
    character plus 5 of padding, 96 pixels an inch)."""
    return (7.0 * width + 5.0) / 96.0


def fonts_in(ws: Any) -> float:
    """The smallest font size used by a written cell of ``ws`` (11 by default)."""
    sizes = [float(c.font.sz) for row in ws.iter_rows() for c in row if c.value is not None and c.font is not None and c.font.sz]
    return min(sizes) if sizes else 11.0


def print_scale(ws: Any) -> int:
    """The scale (percent) at which ``ws`` prints: ``ws.page_setup.scale`` when pages are
    not fitted, else the scale that fits its columns on one A4-landscape page width."""
    if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage:
        widths = [d.width or 8.43 for d in ws.column_dimensions.values()]
        total = sum(column_inches(w) for w in widths[: ws.max_column]) or 1.0
        return min(100, math.floor(100.0 * PRINT_WIDTH_IN / total))
    return int(ws.page_setup.scale or 100)


def print_readable(ws: Any, min_pt: float = MIN_PRINT_PT, repeat_cols: str | None = "A:A") -> None:
    """A4 landscape, one page wide when its smallest font stays at least ``min_pt`` points,
    else at the smallest scale that keeps it (pages run across, ``repeat_cols`` repeated)."""
    need = math.ceil(100.0 * min_pt / fonts_in(ws))
    ps = ws.page_setup
    ps.orientation = "landscape"
    ps.paperSize = ws.PAPERSIZE_A4
    ws.page_margins.left = ws.page_margins.right = 0.4
    widths = [ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, ws.max_column + 1)]
    fit = math.floor(100.0 * PRINT_WIDTH_IN / (sum(column_inches(w) for w in widths) or 1.0))
    if fit >= need:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ps.fitToWidth, ps.fitToHeight = 1, 0
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ps.scale = max(need, 10)
        if repeat_cols:
            ws.print_title_cols = repeat_cols


def _table_name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", text) or "Table"
    if not base[0].isalpha():
        base = "T_" + base
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name.lower())
    return name


class _Book:
    def __init__(self, lang: str, currency: str) -> None:
        self.wb = Workbook()
        self.lang, self.currency = lang, currency
        self.sheets: list[str] = []
        self.tables: set[str] = set()
        self.styles: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def L(self, key: str) -> str:  # noqa: N802
        return in_currency(label(key, self.lang, " / "), self.currency)

    def sheet(self, key: str) -> Sheet:
        name = sheet_name(label(key, self.lang, " "), self.sheets)
        ws = self.wb.active if not self.sheets else self.wb.create_sheet()
        assert ws is not None
        ws.title = name
        self.sheets.append(name)
        return Sheet(ws, styles=self.styles)

    def table(self, s: Sheet, row: int, df: pd.DataFrame, headers: list[str], fmts: Sequence[str | None], name: str) -> int:
        """A named Excel table of ``df`` at ``row``: bilingual headers wrapped in columns as
        wide as their data (at least :data:`MIN_WIDTH`, at most :data:`MAX_HEADER_WIDTH`
        for the header), the header row tall enough to show them."""
        for j, h in enumerate(headers):
            s.put(row, 1 + j, h, font=BOLD, fill=HEADER_FILL, border=BOX, align=WRAP_CENTER, fit=False)
        first = row
        r = s.rows(row + 1, 1, df.itertuples(index=False), fmts)
        lines = 1
        for j, h in enumerate(headers):
            col = 1 + j
            w = max(s.widths.get(col, 0), MIN_WIDTH, min(display_width(h) + 2, MAX_HEADER_WIDTH) if len(df) == 0 else 0)
            w = max(w, min(max((display_width(part) for part in h.split(" / ")), default=0) + 2, MAX_HEADER_WIDTH))
            s.widths[col] = w
            lines = max(lines, math.ceil(display_width(h) / max(w - 2, 1)))
        height = 15.0 * lines + 4
        if (s.ws.row_dimensions[first].height or 0) < height:
            s.ws.row_dimensions[first].height = height
        if r - 1 > first:
            ref = f"A{first}:{get_column_letter(len(headers))}{r - 1}"
            t = Table(displayName=_table_name(name, self.tables), ref=ref)
            t.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
            s.ws.add_table(t)
        return r


def _headers(book: _Book, cols: list[str], extra: dict[str, str] | None = None) -> list[str]:
    keys = {"structure": "cmp_structure", "scenario": "cmp_scenario", "tranche": "cmp_tranche", "kind": "cmp_kind",
            "section": "cmp_section", "measure": "cmp_measure", **(extra or {})}
    out = []
    for c in cols:
        k = keys.get(c, f"m_{c}")
        out.append(book.L(k) if (k in _known()) else c)
    return out


def _known() -> set[str]:
    from .labels import LABELS

    return set(LABELS)


def _note(s: Sheet, row: int, text: str, ncols: int) -> None:
    """A note wrapped across the first ``ncols`` columns (merged), its row tall enough to
    show it on screen and in print."""
    width = sum(s.ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, ncols + 1))
    if ncols > 1:
        s.ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    s.wrapped(row, 1, text, width, font=NOTE)


def comparison_workbook(c: Any, *, lang: str = "both") -> Workbook:
    """Build the workbook (module docstring) from a :class:`~abs_engine.studies.compare.Comparison`."""
    from ..studies.compare import side_by_side

    currency = c.structures[0].deal.deal.currency
    book = _Book(lang, currency)
    names = [st.name for st in c.structures]
    # 1. side by side, a block per scenario
    s = book.sheet("sheet_cmp")
    r = s.title(1, f"{book.L('cmp_title')}: {', '.join(names)}")
    r += 2  # the note (row 2) is written once the columns are known
    for k, sc in enumerate(c.scenarios):
        sbs = side_by_side(c, sc.name)
        s.put(r, 1, f"{book.L('cmp_under')}: {sc.name}", font=BOLD, fit=False)
        r += 1
        measure = [book.L(f"m_{m}") if f"m_{m}" in _known() else m for m in sbs["measure"]]
        view = pd.DataFrame({"tranche": sbs["tranche"], "measure": measure, **{n: sbs[n] for n in names}})
        fmts: list[str | None] = [None, None, *[None] * len(names)]
        first = r + 1
        r = book.table(s, r, view, _headers(book, ["tranche", "measure"]) + names, fmts, f"comparison_{k + 1}")
        for i, m in enumerate(sbs["measure"]):  # number formats by measure (rows, not columns)
            for j in range(len(names)):
                s.ws.cell(row=first + i, column=3 + j).number_format = FORMATS.get(str(m), DEC4)
        r += 1
    s.finish(freeze="C6", title_rows=None)
    _note(s, 2, book.L("cmp_note"), 2 + len(names))
    print_readable(s.ws, repeat_cols="A:B")
    # 2. per structure and scenario
    s = book.sheet("sheet_cmp_scenarios")
    cols = ["structure", "scenario", "notes_total", "senior_share", "subordinate_balance", "funding_cost", "all_in_cost",
            "subordinate_residual", "subordinate_principal", "subordinate_yield", "all_whole"]
    r = book.table(s, 1, c.summary[cols], _headers(book, cols), [None, None, *[FORMATS.get(x) for x in cols[2:]]],
                   "compare_scenarios")
    s.finish(freeze="C2", title_rows=(1, 1))
    print_readable(s.ws, repeat_cols="A:B")
    # 3. per tranche
    s = book.sheet("sheet_cmp_tranches")
    cols = ["structure", "scenario", "tranche", "kind", "balance", "share_of_notes", "coupon", "wal_years", "yield",
            "loss_rate", "whole", "interest", "principal", "residual"]
    t = c.tranches.copy()
    t["kind"] = [book.L(x) for x in t["kind"]]
    r = book.table(s, 1, t[cols], _headers(book, cols), [None] * 4 + [FORMATS.get(x) for x in cols[4:]], "compare_tranches")
    s.finish(freeze="D2", title_rows=(1, 1))
    print_readable(s.ws, repeat_cols="A:C")
    # 4. risk
    s = book.sheet("sheet_cmp_risk")
    cols = ["structure", "tranche", "kind", "balance", "expected_loss", "bdr", "bdr_bound"]
    rk = c.risk.copy()
    rk["kind"] = [book.L(x) for x in rk["kind"]]
    rk["bdr_bound"] = [book.L(f"bound_{str(x).replace(' ', '_')}") if x else "" for x in rk["bdr_bound"]]
    r = book.table(s, 1, rk[cols], _headers(book, cols), [None, None, None, YUAN, PCT4, PCT4, None], "compare_risk")
    s.finish(freeze="C2", title_rows=(1, 1))
    _note(s, r + 1, f"{book.L('cmp_paths')}: {c.paths:,}", len(cols))
    print_readable(s.ws)
    # 5. inputs
    s = book.sheet("sheet_cmp_inputs")
    inp = pd.DataFrame([{"structure": st.name, "source": st.source, "description": st.description,
                         "notes_total": float(sum(t.balance for t in st.deal.tranches))} for st in c.structures])
    r = book.table(s, 1, inp, _headers(book, list(inp.columns), {"source": "cmp_source", "description": "cmp_description"}),
                   [None, None, None, YUAN], "compare_inputs")
    sc = pd.DataFrame([{"scenario": x.name, "description": x.description or ""} for x in c.scenarios])
    end = book.table(s, r + 1, sc, _headers(book, ["scenario", "description"], {"description": "cmp_description"}),
                     [None, None], "compare_scenario_list")
    s.finish(freeze="A2", title_rows=None)
    # long text wraps within its column (it would spill over the page's edge)
    for col in (2, 3):
        width = s.ws.column_dimensions[get_column_letter(col)].width or 8.43
        for row in range(2, end):
            v = s.ws.cell(row=row, column=col).value
            if isinstance(v, str) and display_width(v) > width:
                s.wrapped(row, col, v, width, border=BOX)
    print_readable(s.ws)
    wb = book.wb
    wb.properties.title = f"{label('cmp_workbook', 'en')}: {', '.join(names)}"
    return wb


def write_comparison_workbook(c: Any, out_dir: str | os.PathLike[str], *, lang: str = "both",
                              stem: str | None = None) -> Path:
    """Write :func:`comparison_workbook` atomically as ``<stem>_comparison.xlsx``."""
    wb = comparison_workbook(c, lang=lang)
    name = stem or file_stem(c.structures[0].deal.deal.name)
    return save_workbook(wb, Path(out_dir) / f"{name}_comparison.xlsx")
