"""Excel term sheets (abs_engine/report/): contents, languages, totals against the result,
formula safety, atomic writes, document properties, and (if LibreOffice is installed)
that the workbook renders with its Chinese text."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile

import openpyxl
import pytest
from conftest import DEALS

import abs_engine as ae
from abs_engine.model.scenario import Scenario
from abs_engine.pools.stats import deal_pool_stats
from abs_engine.report import term_sheet_workbooks, write_term_sheets
from abs_engine.report import termsheet as ts_module
from abs_engine.report.labels import label

DEAL_FILE = DEALS / "sz_pledge_2026_1.yaml"
CENT = 0.005


@pytest.fixture(scope="module")
def result(example_deal, example_scenarios):
    return ae.run(example_deal, example_scenarios)


@pytest.fixture(scope="module")
def written(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("termsheets")
    paths = write_term_sheets(result, out, deal_path=DEAL_FILE)
    return out, paths


def H(key: str, lang: str = "both") -> str:  # noqa: N802
    return label(key, lang, "\n")


def L(key: str, lang: str = "both") -> str:  # noqa: N802
    return label(key, lang)


def find_row(ws, col: int, value) -> int:
    for row in range(1, ws.max_row + 1):
        if ws.cell(row=row, column=col).value == value:
            return row
    raise AssertionError(f"{value!r} not found in column {col} of {ws.title}")


def header_columns(ws, row: int) -> dict[str, int]:
    return {ws.cell(row=row, column=c).value: c for c in range(1, ws.max_column + 1) if ws.cell(row=row, column=c).value}


def schedule_rows(ws):
    """The schedule table's rows per scenario and the totals table's row per scenario
    (keyed by the schedule's headers; the totals table has the same columns)."""
    hr = find_row(ws, 1, H("scenario"))
    cols = header_columns(ws, hr)
    data, totals = {}, {}
    row = hr + 1
    while ws.cell(row=row, column=1).value is not None:  # the schedule table, up to its end
        rec = {k: ws.cell(row=row, column=c).value for k, c in cols.items()}
        data.setdefault(ws.cell(row=row, column=1).value, []).append(rec)
        row += 1
    for r in range(row, ws.max_row + 1):
        if ws.cell(row=r, column=2).value == L("total"):
            rec = {k: ws.cell(row=r, column=c).value for k, c in cols.items()}
            totals[ws.cell(row=r, column=1).value] = rec
    return data, totals


# --------------------------------------------------------------------------- files


def test_one_workbook_per_class_and_nothing_else(result, written):
    out, paths = written
    name = result.deal.deal.name
    assert [p.name for p in paths] == [f"{name}_senior_termsheet.xlsx", f"{name}_subordinate_termsheet.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files left


def test_mezzanine_workbook_when_the_deal_has_one(example_deal, example_scenarios, tmp_path):
    tranches = [t if t.kind == "senior" else t.model_copy(update={"kind": "mezzanine"}) for t in example_deal.tranches]
    deal = example_deal.model_copy(update={"tranches": tranches})
    paths = write_term_sheets(ae.run(deal, example_scenarios[:1]), tmp_path)
    assert [p.name.rsplit("_", 2)[-2] for p in paths] == ["senior", "mezzanine"]
    wb = openpyxl.load_workbook(paths[1])
    assert "偿付计划 Schedule SUB" in wb.sheetnames


def test_sheets_and_headers_in_both_languages(result, written):
    _, paths = written
    for path, names in zip(paths, (["A"], ["SUB"]), strict=True):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == [
            "概要 Summary", "资产池 Collateral", "增信措施 Credit support", "结构条款 Structure",
            *[f"偿付计划 Schedule {n}" for n in names], "事件 Events", "压力测试 Stress",
            "敏感性 Sensitivity", "图表 Charts", "图表数据 Chart data",
        ]
        summ = wb["概要 Summary"]
        col_a = {summ.cell(row=r, column=1).value for r in range(1, summ.max_row + 1)}
        for key in ("originator", "manager", "servicer", "custodian", "guarantor", "shortfall_undertaker",
                    "cutoff_date", "closing_date", "first_payment_date", "expected_maturity", "legal_maturity",
                    "asset_type", "size_wan", "size_yi", "credit_enhancement", "rating", "rating_agency",
                    "venue", "payment_date_rule", "rate_type", "security_code"):
            assert L(key) in col_a, key
        assert "原始权益人 / Originator" in col_a
        assert result.deal.deal.name_zh in [summ.cell(row=r, column=2).value for r in range(1, summ.max_row + 1)]
        sched = wb[f"偿付计划 Schedule {names[0]}"]
        hdr = header_columns(sched, find_row(sched, 1, H("scenario")))
        for key in ("payment_date", "opening_balance", "interest", "principal", "closing_balance",
                    "interest_shortfall", "writedown"):
            assert H(key) in hdr, key
        assert "兑付日\nPayment date" in hdr


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_single_language(result, tmp_path, lang):
    paths = write_term_sheets(result, tmp_path, lang=lang)
    wb = openpyxl.load_workbook(paths[0])
    other = "en" if lang == "zh" else "zh"
    assert wb.sheetnames[0] == label("sheet_summary", lang)
    assert f"{label('sheet_schedule', lang)} A" in wb.sheetnames
    summ = wb.worksheets[0]
    col_a = {summ.cell(row=r, column=1).value for r in range(1, summ.max_row + 1)}
    assert label("originator", lang) in col_a
    assert label("originator", other) not in col_a
    assert label("originator", "both") not in col_a


def test_bad_language_and_foreign_analytics_are_refused(result, tmp_path):
    import pandas as pd

    with pytest.raises(ValueError, match="lang"):
        write_term_sheets(result, tmp_path, lang="fr")
    with pytest.raises(ValueError, match="unknown scenario"):
        write_term_sheets(result, tmp_path, analytics=pd.DataFrame({"scenario": ["nope"], "tranche": ["A"]}))
    with pytest.raises(ValueError, match="scenario"):
        write_term_sheets(result, tmp_path, analytics=pd.DataFrame({"tranche": ["A"]}))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- figures


def test_schedule_totals_equal_the_result_to_the_cent(result, written):
    _, paths = written
    tr = result.tranches
    seen = set()
    for path in paths:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            m = re.fullmatch(r"偿付计划 Schedule (.+)", ws.title)
            if not m:
                continue
            name = m.group(1)
            data, totals = schedule_rows(ws)
            assert sorted(data) == sorted(result.scenario_names)
            for sc in result.scenario_names:
                want = tr[(tr["tranche"] == name) & (tr["scenario"] == sc)]
                for key, col in (("interest", "interest_paid"), ("principal", "principal_paid"),
                                 ("writedown", "writedown")):
                    rows_sum = sum(r[H(key)] for r in data[sc])
                    assert abs(rows_sum - want[col].sum()) < CENT, (name, sc, key)
                    assert abs(totals[sc][H(key)] - want[col].sum()) < CENT, (name, sc, key)
                # the unpaid interest is a balance: each row as the result, the total what is never paid
                unpaid = want.sort_values("period")["interest_shortfall"]
                assert abs(sum(r[H("interest_shortfall")] for r in data[sc]) - unpaid.sum()) < CENT
                assert abs(totals[sc][H("interest_shortfall")] - unpaid.iloc[-1]) < CENT, (name, sc)
                assert abs(totals[sc][H("new_interest_shortfall")]
                           - sum(r[H("new_interest_shortfall")] for r in data[sc])) < CENT
                # every payment date of the schedule is a real payment date with its opening balance
                by_date = want.set_index(want["payment_date"].dt.date)
                for r in data[sc]:
                    d = r[H("payment_date")].date()
                    assert r[H("opening_balance")] == pytest.approx(by_date.at[d, "balance_start"], abs=CENT)
                    assert r[H("closing_balance")] == pytest.approx(by_date.at[d, "balance_end"], abs=CENT)
                if result.deal.tranche(name).kind == "subordinate":
                    resid = sum(r[H("residual")] for r in data[sc])
                    assert abs(resid - want["residual_paid"].sum()) < CENT
            seen.add(name)
    assert seen == {t.name for t in result.deal.tranches}


def test_values_are_numbers_and_dates(written):
    _, paths = written
    ws = openpyxl.load_workbook(paths[0])["偿付计划 Schedule A"]
    hr = find_row(ws, 1, H("scenario"))
    cols = header_columns(ws, hr)
    c = ws.cell(row=hr + 1, column=cols[H("interest")])
    assert c.data_type == "n" and isinstance(c.value, float)
    assert c.number_format == "#,##0.00"
    d = ws.cell(row=hr + 1, column=cols[H("payment_date")])
    assert d.is_date and d.number_format == "yyyy-mm-dd"
    assert ws.freeze_panes == f"D{hr + 1}"
    assert ws.print_title_rows == f"${hr}:${hr}"


def test_capital_structure_matches_the_deal(result, written):
    _, paths = written
    deal = result.deal
    total = sum(t.balance for t in deal.tranches)
    for path in paths:
        ws = openpyxl.load_workbook(path)["概要 Summary"]
        hr = find_row(ws, 1, H("class"))
        cols = header_columns(ws, hr)
        wan = find_row(ws, 1, L("size_wan"))
        ce = find_row(ws, 1, L("credit_enhancement"))
        rating = find_row(ws, 1, L("rating"))
        for t in deal.tranches:
            cell = ws.cell(row=wan, column=cols[t.name])  # a CNY deal's summary is in 万元
            assert cell.data_type == "n" and cell.value == pytest.approx(t.balance / 1e4)
            junior = sum(x.balance for x in deal.tranches if x.rank > t.rank)
            assert ws.cell(row=ce, column=cols[t.name]).value == pytest.approx(junior / total)
            assert ws.cell(row=rating, column=cols[t.name]).value == (t.rating or "—")
        assert ws.cell(row=wan, column=cols[H("total")]).value == pytest.approx(total / 1e4)
        assert ws.cell(row=find_row(ws, 1, L("size_yi")), column=2).value == pytest.approx(total / 1e8)
        # WAL per scenario, from result.summary() when no analytics are given
        sm = result.summary().set_index(["scenario", "tranche"])
        for sc in result.scenario_names:
            row = find_row(ws, 1, f"{L('wal_scenario')} — {sc}")
            for t in deal.tranches:
                got, want = ws.cell(row=row, column=cols[t.name]).value, sm.at[(sc, t.name), "wal_years"]
                assert (got is None and want != want) or got == pytest.approx(want)


def test_without_analytics_no_pricing_figures_are_shown(written):
    """Outside the stress sheet (whose speed table the investor figures price at the deal's
    quote), no pricing figure is shown without analytics."""
    _, paths = written
    for path in paths:
        wb = openpyxl.load_workbook(path)
        texts = {c.value for ws in wb.worksheets if ws.title != "压力测试 Stress" for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str)}
        for key in ("yield", "price", "irr", "cash_multiple", "modified_duration"):
            assert not any(H(key) in t for t in texts), key
        assert L("no_analytics") in texts


def test_collateral_sheet_shows_pool_statistics(result, written):
    _, paths = written
    st = deal_pool_stats(result.deal)
    ws = openpyxl.load_workbook(paths[0])["资产池 Collateral"]
    assert ws.cell(row=find_row(ws, 1, L("total_balance")), column=2).value == st.total_balance
    assert ws.cell(row=find_row(ws, 1, L("n_obligors")), column=2).value == st.n_obligors
    assert ws.cell(row=find_row(ws, 1, L("top5_share")), column=2).value == pytest.approx(st.top5_share)
    # every stratification table ends in a total row equal to the pool balance
    totals = [ws.cell(row=r, column=4).value for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == L("total")]
    assert len(totals) == len(st.strata)
    assert all(t == pytest.approx(st.total_balance) for t in totals)
    top = find_row(ws, 1, L("top_obligors"))
    assert ws.cell(row=top + 2, column=2).value == st.top_obligors["obligor"].iloc[0]


def test_sensitivity_loss_per_scenario(result, written):
    _, paths = written
    sm = result.summary().set_index(["scenario", "tranche"])
    ws = openpyxl.load_workbook(paths[1])["敏感性 Sensitivity"]
    hr = find_row(ws, 2, f"SUB\n{H('wal_years')}")  # the subordinate's table
    cols = header_columns(ws, hr)
    loss_col = cols[f"SUB\n{H('loss')}"]
    for i, sc in enumerate(result.scenario_names):
        assert ws.cell(row=hr + 1 + i, column=1).value == sc
        assert ws.cell(row=hr + 1 + i, column=loss_col).value == pytest.approx(sm.at[(sc, "SUB"), "writedown"], abs=CENT)


def test_charts_are_native_line_charts(result, written):
    _, paths = written
    with zipfile.ZipFile(paths[0]) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        # balance per tranche + pool loss before and after the pool's support layers
        assert len(charts) == len(result.deal.tranches) + 2
        sers = []
        for n in charts:
            xml = z.read(n).decode()
            assert "<lineChart>" in xml and "<dateAx>" in xml
            sers.append(xml.count("<ser>"))
        # balances: one line per scenario (no write-downs here); pool: losses and defaults per scenario
        assert sorted(sers) == sorted([len(result.scenario_names)] * len(result.deal.tranches)
                                      + [2 * len(result.scenario_names)] * 2)


def test_print_setup(written):
    """A4 landscape; fitted to the page width only where that keeps the scale at
    MIN_SCALE or above, else printed at WIDE_SCALE with the key columns repeated; frozen
    panes on every sheet."""
    from abs_engine.report.xl import WIDE_SCALE

    _, paths = written
    wb = openpyxl.load_workbook(paths[0])
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title  # A4
        assert ws.freeze_panes, ws.title
        if ws.sheet_properties.pageSetUpPr.fitToPage:
            assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
        else:
            assert int(ws.page_setup.scale) == WIDE_SCALE, ws.title
    assert wb["概要 Summary"].sheet_properties.pageSetUpPr.fitToPage
    assert wb["偿付计划 Schedule A"].print_title_cols == "$A:$C" or wb["偿付计划 Schedule A"].sheet_properties.pageSetUpPr.fitToPage
    widths = [d.width for d in wb["概要 Summary"].column_dimensions.values() if d.width]
    assert widths and all(8 <= w <= 30 for w in widths)


def test_notes_of_a_wide_sheet_stay_on_its_first_page(written):
    """On a sheet printed across pages (not fitted to the width), text merged across
    columns spans only the columns of the first page: merged across all, LibreOffice cut
    the note at that page's right edge (SZ senior, the schedule sheets)."""
    from openpyxl.utils import get_column_letter

    from abs_engine.report.xl import PRINT_WIDTH_PT, WIDE_SCALE, column_points

    room = PRINT_WIDTH_PT * 100 / WIDE_SCALE
    wide = 0
    for path in written[1]:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            if ws.sheet_properties.pageSetUpPr.fitToPage:
                continue
            wide += 1
            for rng in ws.merged_cells.ranges:
                if rng.min_row != rng.max_row:
                    continue
                cols = range(1, rng.max_col + 1)
                used = sum(column_points(ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in cols)
                assert used <= room, (path.name, ws.title, str(rng))
    assert wide, "no sheet of the example prints across pages: the test checks nothing"


def test_document_properties(result, written):
    _, paths = written
    digest = hashlib.sha256(DEAL_FILE.read_bytes()).hexdigest()
    for path in paths:
        wb = openpyxl.load_workbook(path)
        p = wb.properties
        assert result.deal.deal.name in p.title
        assert ae.__version__ in p.description
        assert digest in p.description
        for sc in result.scenario_names:
            assert sc in p.description and sc in p.keywords
        custom = {prop.name: prop.value for prop in wb.custom_doc_props.props}
        assert custom["engine_version"] == ae.__version__
        assert custom["deal_sha256"] == digest
        assert custom["scenarios"] == ", ".join(result.scenario_names)
        dt.datetime.fromisoformat(custom["written_at"].replace("Z", "+00:00"))


# --------------------------------------------------------------------------- safety


INJECTIONS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A2)", "=cmd|' /C calc'!A0"]


def test_formula_like_text_from_deal_files_stays_text(example_deal, tmp_path):
    h = example_deal.deal
    parties = h.parties.model_copy(update={"originator": INJECTIONS[0], "manager": INJECTIONS[1]})
    header = h.model_copy(update={"name": INJECTIONS[4], "name_zh": INJECTIONS[2], "parties": parties})
    pool = example_deal.pools[0]
    assets = [pool.assets[0].model_copy(update={"borrower": INJECTIONS[3], "industry": INJECTIONS[1]}), *pool.assets[1:]]
    tranches = [t.model_copy(update={"rating": INJECTIONS[2]}) if t.kind == "senior" else t for t in example_deal.tranches]
    deal = example_deal.model_copy(update={"deal": header, "pools": [pool.model_copy(update={"assets": assets})],
                                           "tranches": tranches})
    scen = Scenario(name="=1+1", description=INJECTIONS[0])
    paths = write_term_sheets(ae.run(deal, [scen]), tmp_path)
    assert all(p.parent == tmp_path for p in paths)  # the name's quotes and slashes are not path parts
    found = set()
    for path in paths:
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                if n.startswith("xl/worksheets/sheet"):
                    assert "<f>" not in z.read(n).decode(), f"a formula was written in {n}"
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")):
                        assert c.data_type == "s", (ws.title, c.coordinate, c.value)
                        assert c.quotePrefix, (ws.title, c.coordinate)
                        found.add(c.value)
    assert {*INJECTIONS, "=1+1"} <= found


def _boom(*args, **kwargs):
    raise OSError("disk full (simulated)")


def test_failing_save_leaves_no_file(result, tmp_path, monkeypatch):
    def half_save(self, fh):
        fh.write(b"PK\x03\x04 partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_save)
    with pytest.raises(OSError, match="simulated"):
        write_term_sheets(result, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_failing_save_keeps_the_previous_workbook(result, tmp_path, monkeypatch):
    paths = write_term_sheets(result, tmp_path)
    before = {p: p.read_bytes() for p in paths}

    def half_save(self, fh):
        fh.write(b"garbage")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_save)
    with pytest.raises(OSError):
        write_term_sheets(result, tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted(paths)
    assert all(p.read_bytes() == b for p, b in before.items())


def test_failure_while_building_writes_nothing(result, tmp_path, monkeypatch):
    monkeypatch.setattr(ts_module, "_sensitivity_sheet", _boom)
    with pytest.raises(OSError):
        write_term_sheets(result, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_workbooks_can_be_built_without_saving(result):
    books = term_sheet_workbooks(result, lang="en")
    assert list(books) == ["senior", "subordinate"]
    assert books["senior"].sheetnames[0] == "Summary"


# --------------------------------------------------------------------------- analytics


def _analytics(result):
    from abs_engine import analytics  # the term sheets need it: a missing module fails, never skips
    deal = result.deal
    info = {
        t.name: {
            "original_balance": t.balance,
            "coupon_rate": t.coupon.rate if t.coupon.kind == "fixed" else None,
            "day_count": (t.day_count or deal.deal.day_count).value,
            "accrual_start": deal.deal.closing_date,
            "kind": t.kind,
        }
        for t in deal.tranches
    }
    return analytics.tranche_analytics(result.tranches, info, settlement=deal.deal.closing_date)


def test_with_analytics(result, tmp_path):
    a = _analytics(result)
    paths = write_term_sheets(result, tmp_path, analytics=a)
    senior, sub = (openpyxl.load_workbook(p) for p in paths)
    ws = senior["概要 Summary"]
    hr = find_row(ws, 1, H("tranche"))
    cols = header_columns(ws, hr)
    row = {ws.cell(row=r, column=2).value: r for r in range(hr + 1, hr + 1 + len(result.scenario_names))}
    for sc in result.scenario_names:
        want = a[(a["scenario"] == sc) & (a["tranche"] == "A")].iloc[0]
        got = ws.cell(row=row[sc], column=cols[H("yield")]).value
        assert (got is None and want["yield"] != want["yield"]) or got == pytest.approx(want["yield"])
    # WAL in the capital structure now comes from the analytics
    assert L("cs_note_wal_analytics") in {ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)}
    sens = sub["敏感性 Sensitivity"]
    hdr = header_columns(sens, find_row(sens, 2, f"SUB\n{H('wal_years')}"))
    assert f"SUB\n{H('irr')}" in hdr and f"SUB\n{H('cash_multiple')}" in hdr
    assert f"SUB\n{H('yield')}" in hdr


# --------------------------------------------------------------------------- rendering


def test_sheet_and_file_names_are_sanitised():
    from abs_engine.report.xl import file_stem, sheet_name, to_cell_value

    assert sheet_name("偿付计划 Schedule A[1]/B:C*?", []) == "偿付计划 Schedule A_1__B_C__"
    long = "x" * 40
    first = sheet_name(long, [])
    assert len(first) == 31
    second = sheet_name(long, [first])
    assert len(second) <= 31 and second != first
    assert file_stem('=HYPERLINK("a/b","c")\n') == "=HYPERLINK(_a_b_,_c_)_"
    assert file_stem("...") == "deal"
    assert to_cell_value(float("nan")) is None and to_cell_value(float("inf")) is None
    assert to_cell_value("a\x00b") == "ab"  # characters XML cannot hold are dropped


def test_credit_support_sheet_states_each_layer_and_reconciles_what_it_paid(result, written):
    """The Shenzhen double support: the loan guarantee (a pool layer) and the shortfall
    undertaking (deal level), in plain words with capacities, and what each paid in each
    scenario equal to Result.layers / Result.support."""
    _, paths = written
    ws = openpyxl.load_workbook(paths[0])["增信措施 Credit support"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    flat = [v for row in cells for v in row if v is not None]
    assert any(isinstance(v, str) and "代偿每笔违约资产的100%" in v and "subrogation" in v for v in flat)
    assert any(isinstance(v, str) and "差额支付" in v and "A interest" in v for v in flat)
    guarantee = next(row for row in cells if row[1] == "guarantee")
    assert guarantee[2] == L("kind_guarantee") and guarantee[4] == 40_000_000
    start = next(i for i, row in enumerate(cells) if row[0] == L("support_paid_by_scenario"))
    table = [row for row in cells[start + 2:] if row[0] in result.scenario_names]
    paid = {(row[0], row[1]): row[3] for row in table}
    want = result.layers.groupby(["scenario", "party"])["paid"].sum()
    for (sc, party), v in want.items():
        assert paid[(sc, party)] == pytest.approx(v, abs=0.005)
    und = result.support.groupby(["scenario", "provider"])["paid"].sum()
    for (sc, prov), v in und.items():
        assert paid[(sc, prov)] == pytest.approx(v, abs=0.005)
    assert {row[0] for row in table} == set(result.scenario_names)


def test_sensitivity_sheet_has_each_tranches_price_yield_table(result, tmp_path):
    paths = write_term_sheets(result, tmp_path, analytics=result.analytics())
    for path, name in zip(paths, ("A", "SUB"), strict=True):
        ws = openpyxl.load_workbook(path)["敏感性 Sensitivity"]
        cells = [[c.value for c in row] for row in ws.iter_rows()]
        start = next(i for i, row in enumerate(cells) if isinstance(row[0], str) and row[0].startswith(L("yield_table")))
        body = [row for row in cells[start + 2:] if isinstance(row[0], int | float)]
        want = result.yield_table(name)
        assert [row[0] for row in body] == pytest.approx(list(want.index))
        for row, (_, w) in zip(body, want.iterrows(), strict=True):
            assert row[1:1 + len(want.columns)] == pytest.approx(list(w), abs=1e-12)
