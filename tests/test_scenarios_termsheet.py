"""The break-even and loss-distribution sheet of the term sheets (abs_engine/report/
risk_sheet.py): present only when asked for, in both languages, its figures equal to the
break-even table and the Monte Carlo summary, the workbook's own tranches highlighted, the
histogram counting every path, and a chart."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.model.scenario import MonteCarlo
from abs_engine.report import write_term_sheets
from abs_engine.report.labels import label
from abs_engine.report.xl import HIGHLIGHT_FILL
from abs_engine.studies.breakeven import breakeven
from abs_engine.studies.executors import Executor
from abs_engine.studies.montecarlo import simulate

SHEET = {lang: label("sheet_risk", lang, " ") for lang in ("zh", "en", "both")}


@pytest.fixture(scope="module")
def inputs():
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    base = ae.load_scenario(SCENARIOS / "stress_guarantor_fails.yaml")
    be = breakeven(deal, base, stresses=["cdr", "cdr_multiple", "recovery"])
    sim = simulate(deal, base, MonteCarlo(paths=160, seed=4, correlation=0.2), executor=Executor("serial"))
    return deal, base, be, sim, ae.run(deal, [base])


def _rows(ws):
    return [[c for c in row] for row in ws.iter_rows(values_only=True)]


def _find(rows, value):
    for i, row in enumerate(rows):
        if value in row:
            return i
    raise AssertionError(f"{value!r} not in the sheet")


def test_no_sheet_unless_asked(inputs, tmp_path):
    *_, result = inputs
    wb = openpyxl.load_workbook(write_term_sheets(result, tmp_path)[0])
    assert SHEET["both"] not in wb.sheetnames


def test_sheet_figures_equal_the_inputs(inputs, tmp_path):
    deal, base, be, sim, result = inputs
    paths = write_term_sheets(result, tmp_path, breakeven=be.table, simulation=sim)
    summary = sim.summary().set_index("tranche")
    for path, mine in zip(paths, (["A"], ["SUB"]), strict=True):
        wb = openpyxl.load_workbook(path)
        names = wb.sheetnames
        assert SHEET["both"] in names and names.index(SHEET["both"]) == names.index("敏感性 Sensitivity") + 1
        ws = wb[SHEET["both"]]
        rows = _rows(ws)
        # break-even rows: every (stress, tranche) of the table, values as computed
        h = _find(rows, label("be_level", "both", "\n"))
        header = rows[h]
        col = {k: header.index(label(k, "both", "\n")) for k in ("be_level", "be_first_break", "be_multiple")}
        body = rows[h + 1:h + 1 + len(be.table)]
        for row, ref in zip(body, be.table.itertuples(), strict=True):
            assert row[0] == ref.tranche
            assert row[1] == label(f"stress_{ref.stress}", "both")
            if ref.bound == "found":
                assert row[col["be_level"]] == pytest.approx(ref.breakeven)
                assert row[col["be_first_break"]] == pytest.approx(ref.first_break)
            else:
                assert row[col["be_level"]] is None
            # this workbook's tranches are highlighted
            fill = ws.cell(row=h + 2 + body.index(row), column=1).fill
            assert (fill.fgColor.rgb == HIGHLIGHT_FILL.fgColor.rgb) == (ref.tranche in mine)
        # Monte Carlo summary per tranche
        m = _find(rows, label("mc_expected_loss", "both", "\n"))
        mh = rows[m]
        for row in rows[m + 1:m + 1 + len(deal.tranches)]:
            s = summary.loc[row[0]]
            assert row[mh.index(label("mc_expected_loss", "both", "\n"))] == pytest.approx(s["expected_loss"])
            assert row[mh.index(label("mc_loss_probability", "both", "\n"))] == pytest.approx(s["loss_probability"])
            rating = s["rating"]  # translated: "低于 Caa-C / below Caa-C"
            if rating.startswith("below "):
                rating = f"低于 {rating[6:]} / {rating}"
            assert row[mh.index(label("mc_rating", "both", "\n"))] == rating
        # the histogram counts every path in every series
        b = _find(rows, label("mc_bin", "both", "\n"))
        hist = rows[b + 1:b + 21]
        for j in range(1, 2 + len(deal.tranches)):
            assert sum(r[j] for r in hist) == sim.n_paths
        assert len(ws._charts) == 1
        text = "\n".join(str(c) for row in rows for c in row if c is not None)
        assert f"{sim.n_paths:,}" in text and "seed 4" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_single_language(inputs, tmp_path, lang):
    *_, be, sim, result = inputs
    wb = openpyxl.load_workbook(write_term_sheets(result, tmp_path, lang=lang, breakeven=be.table, simulation=sim)[0])
    assert SHEET[lang] in wb.sheetnames
    rows = _rows(wb[SHEET[lang]])
    other = "en" if lang == "zh" else "zh"
    flat = {c for row in rows for c in row if isinstance(c, str)}
    assert label("stress_cdr", lang) in flat and label("stress_cdr", other) not in flat
    assert label("mc_expected_loss", lang) in flat


def test_only_breakeven_or_only_simulation(inputs, tmp_path):
    *_, be, sim, result = inputs
    wb = openpyxl.load_workbook(write_term_sheets(result, tmp_path / "a", breakeven=be.table)[0])
    rows = _rows(wb[SHEET["both"]])
    flat = {c for row in rows for c in row if isinstance(c, str)}
    assert label("be_section", "both") in flat and label("mc_section", "both") not in flat
    wb = openpyxl.load_workbook(write_term_sheets(result, tmp_path / "b", simulation=sim)[0])
    flat = {c for row in _rows(wb[SHEET["both"]]) for c in row if isinstance(c, str)}
    assert label("mc_section", "both") in flat and label("be_section", "both") not in flat
