"""Every gallery deal's term sheets (with its scenarios), rendered by LibreOffice to PDF in
one call: the smallest printed text is at least 8 pt (measured from the PDF with
pdfminer.six), no cell shows ``###``, the Chinese text renders, and every label of the
workbooks is in both languages."""

from __future__ import annotations

import re
import shutil
import subprocess

import openpyxl
import pytest
from conftest import DEALS, SCENARIOS
from test_gallery import GALLERY

import abs_engine as ae
from abs_engine.report import write_term_sheets

MIN_PT = 8.0
CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]{3,}")


def _label_cells(wb, names: set[str]):
    """Text cells that are labels: table headers (shaded), titles, notes (italic), row labels
    (bold), minus identifiers from the deal (tranche, scenario, party, speed names)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if not isinstance(v, str) or not v.strip():
                    continue
                f = c.font
                header = c.fill is not None and c.fill.fgColor is not None and c.fill.fgColor.rgb == "FFD9E1F2"
                if not (header or f.b or f.i or (f.sz and f.sz >= 12)):
                    continue
                bare = v
                for n in sorted(names, key=len, reverse=True):
                    bare = bare.replace(n, "")
                if WORD.search(bare) or CJK.search(bare):
                    yield ws.title, c.coordinate, v, bare


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if shutil.which("soffice") is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice (soffice) or pdftotext (poppler-utils) not installed")
    out = tmp_path_factory.mktemp("render")
    books = []
    for deal_file, scs in sorted(GALLERY.items()):
        deal = ae.load_deal(DEALS / deal_file)
        res = ae.run(deal, [ae.load_scenario(SCENARIOS / f"{s}.yaml") for s in scs])
        paths = write_term_sheets(res, out / deal_file.removesuffix(".yaml"), analytics=res.analytics())
        names = {t.name for t in deal.tranches} | set(res.scenario_names) | {a.name for a in deal.accounts}
        names |= {p.name for p in deal.pools} | {f.name for f in deal.fees} | {t.name for t in deal.triggers}
        for p in deal.pools:
            for layer in p.support:
                names |= {layer.name} | {x.name for x in getattr(layer, "parties", [])}
        books += [(p, names) for p in paths]
    pdf = out / "pdf"
    profile = out / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(pdf), *[str(p) for p, _ in books]], check=True, capture_output=True, timeout=600)
    return books, pdf


@pytest.mark.slow
def test_every_gallery_term_sheet_prints_at_8pt_without_hashes(rendered):
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar

    books, pdf = rendered

    def chars(o):
        if isinstance(o, LTChar):
            yield o
        elif hasattr(o, "__iter__"):
            for x in o:
                yield from chars(x)

    for path, _ in books:
        f = pdf / f"{path.stem}.pdf"
        assert f.exists(), f
        smallest = (1e9, 0, "")
        for i, page in enumerate(extract_pages(f)):
            for ch in chars(page):
                if not ch.get_text().strip():
                    continue
                # the printed size: the glyph box's height, its width for rotated text (axis titles)
                size = ch.height if ch.upright else ch.width
                smallest = min(smallest, (size, i + 1, ch.get_text()))
        assert smallest[0] >= MIN_PT - 0.05, (path.name, smallest)
        text = subprocess.run(["pdftotext", "-layout", str(f), "-"], check=True, capture_output=True,
                              timeout=120).stdout.decode("utf-8")
        assert "###" not in text, path.name
        assert "资本结构" in text and "Capital structure" in text, path.name


@pytest.mark.slow
def test_every_label_is_bilingual(rendered):
    books, _ = rendered
    bad = []
    for path, names in books:
        wb = openpyxl.load_workbook(path)
        for sheet, where, v, bare in _label_cells(wb, names):
            if not (CJK.search(bare) and re.search(r"[A-Za-z]", bare)):
                bad.append((path.name, sheet, where, v))
    assert not bad, bad[:20]
