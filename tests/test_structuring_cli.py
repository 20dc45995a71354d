"""The structuring commands as a user runs them: ``size`` (a subprocess: the sized deal file
validates with ``abs-engine validate`` and runs), ``agency`` (CSVs, plot, the term sheets'
agency sheet), ``solve``, ``compare`` (the desk workbook: bilingual labels, numbers as
numbers, named tables, frozen panes, printable at 8 pt or more on A4 landscape) and
``heatmap``; bad input exits 2 with one line per problem naming the field."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
from conftest import DEALS, ROOT, SCENARIOS
from test_scenarios_cli import ENV, _no_partial, cli
from typer.testing import CliRunner

import abs_engine as ae
from abs_engine.cli import app

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"
BASE = SCENARIOS / "base.yaml"
GF = SCENARIOS / "stress_guarantor_fails.yaml"


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_size_writes_a_deal_file_that_validates_and_runs(tmp_path):
    out = tmp_path / "size"
    p = cli("size", str(EXAMPLE), "--target", "A=AAA", "-b", str(BASE), "-s", str(GF), "--paths", "2000",
            "--workers", "2", "-o", str(out), "--deal-out", str(tmp_path / "elsewhere" / "sized.yaml"))
    assert p.returncode == 0, p.stderr
    assert "sized to target" in p.stdout and "stress_guarantor_fails" in p.stdout
    table = pd.read_csv(out / "size.csv")
    row = table.iloc[0]
    assert row["tranche"] == "A" and bool(row["passes"]) and bool(row["next_fails"])
    for name in ("size_trials", "agency_targets", "agency_bdr", "agency_table", "agency_summary", "agency_stresses"):
        assert (out / f"{name}.csv").exists(), name
    sized = out / "sz_pledge_2026_1_sized.yaml"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sized.name in manifest["outputs"] and manifest["seed"] == 20260630
    _no_partial(out)
    for f in (sized, tmp_path / "elsewhere" / "sized.yaml"):
        v = cli("validate", str(f))
        assert v.returncode == 0 and "ok" in v.stdout, v.stderr
        d = ae.load_deal(f)
        assert d.tranche("A").balance == row["solved_balance"]
        assert d.tranche("SUB").balance == pytest.approx(206_000_000 - row["solved_balance"])
    assert "# Sized by abs-engine size: A to AAA" in sized.read_text(encoding="utf-8")


def test_size_errors_name_the_field(tmp_path):
    r = invoke("size", EXAMPLE, "--target", "AAAA", "--target", "B=AA", "-b", BASE, "-o", tmp_path / "x")
    assert r.exit_code == 2
    assert "--target[0]: unknown rating 'AAAA'; did you mean 'AAA'?" in r.output
    assert "--target[1]: unknown tranche 'B'" in r.output and "2 problem(s) found." in r.output
    r = invoke("size", EXAMPLE, "--target", "AAA", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "--base: size needs a base scenario" in r.output
    r = invoke("size", EXAMPLE, "--target", "SUB=AA", "-b", BASE, "-o", tmp_path / "x")
    assert r.exit_code == 2 and "is the subordinate" in r.output
    r = invoke("size", EXAMPLE, "--target", "AAA", "-b", BASE, "--test", "multiple", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "the multiple test needs a multiple per rating" in r.output
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_agency_writes_tables_plot_and_the_agency_sheet(tmp_path):
    out = tmp_path / "agency"
    r = invoke("agency", EXAMPLE, "-b", BASE, "--no-support", "--paths", "1000", "--workers", "2", "-o", out)
    assert r.exit_code == 0, r.output
    assert "agency stress test" in r.output and "do not resolve the TDR of AAA" in r.output
    for name in ("agency_targets", "agency_bdr", "agency_table", "agency_summary", "agency_stresses"):
        assert (out / f"{name}.csv").exists(), name
    assert (out / "agency_stress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    targets = pd.read_csv(out / "agency_targets.csv")
    assert list(targets.loc[targets["tranche"] == "A", "rating"])[:3] == ["AAA", "AA+", "AA"]
    wb = openpyxl.load_workbook(out / "SZ-IP-PLEDGE-2026-1_senior_termsheet.xlsx")
    ws = wb["评级压力测试 Agency stress test"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    text = " ".join(str(c.value) for c in cells)
    for s in ("目标违约率", "Target default rate (TDR)", "临界违约率", "回收时间延后 / later disposal", "United Ratings",
              "隐含级别", "低于 BBB- / below BBB-"):
        assert s in text, s
    summary = pd.read_csv(out / "agency_summary.csv")
    bdr_cells = [c for c in cells if isinstance(c.value, float) and c.number_format == "0.0000%"]
    assert any(c.value == pytest.approx(summary.loc[0, "min_bdr"], abs=1e-6) for c in bdr_cells)  # numbers as numbers
    r = invoke("agency", EXAMPLE, "-b", BASE, "--tranche", "Z", "--haircut-add", "2", "-o", tmp_path / "y")
    assert r.exit_code == 2 and "haircut_add must be in [0, 1]" in r.output


def test_solve_coupons_max_spread_and_sub_irr(tmp_path):
    out = tmp_path / "solve"
    r = invoke("solve", EXAMPLE, "-s", BASE, "-s", GF, "--yield", "0.04", "--sub-price", "95", "-o", out)
    assert r.exit_code == 0, r.output
    coupons = pd.read_csv(out / "solve_coupons.csv")
    assert abs(coupons.loc[0, "price"] - 100.0) < 1e-6
    d = ae.load_deal(out / "sz_pledge_2026_1_solved.yaml")
    a = ae.run(d, ae.load_scenario(BASE)).analytics(pricing={"A": {"yield": 0.04}})
    assert abs(float(a.loc[a["tranche"] == "A", "price"].iloc[0]) - 100.0) <= 1e-8
    mx = pd.read_csv(out / "solve_max_spread.csv")
    assert mx.loc[0, "binding"] == "stress_guarantor_fails"
    irr = pd.read_csv(out / "solve_sub_irr.csv")
    assert list(irr["scenario"]) == ["base", "stress_guarantor_fails"] and irr.loc[0, "price"] == 95
    r = invoke("solve", EXAMPLE, "--spread", "0.01", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "--curve" in r.output


def test_compare_workbook_for_the_desk(tmp_path):
    v = tmp_path / "variants.yaml"
    v.write_text(f"deal: {EXAMPLE}\nvariants:\n  - name: senior_90\n    set: {{tranches.A.balance: 185400000, "
                 "tranches.SUB.balance: 20600000}\n", encoding="utf-8")
    out = tmp_path / "cmp"
    r = invoke("compare", EXAMPLE, EXAMPLE, "-s", BASE, "-o", out)
    assert r.exit_code == 2 and "structure names must differ (twice: SZ-IP-PLEDGE-2026-1)" in r.output
    other = tmp_path / "other.yaml"
    shutil.copy(EXAMPLE, other)
    (tmp_path / "tapes").mkdir()
    shutil.copy(DEALS / "tapes" / "sz_pledge_2026_1.csv", tmp_path / "tapes")
    other.write_text(EXAMPLE.read_text(encoding="utf-8").replace("name: SZ-IP-PLEDGE-2026-1", "name: OTHER"), encoding="utf-8")
    r = invoke("compare", other, "--variants", v, "-s", BASE, "-s", GF, "--paths", "64", "-o", out)
    assert r.exit_code == 0, r.output
    for name in ("compare_tranches", "compare_summary", "compare_risk", "compare_side_by_side"):
        assert (out / f"{name}.csv").exists(), name
    sbs = pd.read_csv(out / "compare_side_by_side.csv")
    assert list(sbs.columns) == ["section", "tranche", "measure", "OTHER", "base", "senior_90"]
    wb = openpyxl.load_workbook(out / "OTHER_comparison.xlsx")
    assert wb.sheetnames == ["对比 Comparison", "分情景 By scenario", "分档明细 Tranches", "风险 Risk", "输入 Inputs"]
    from abs_engine.report.compare_book import MIN_PRINT_PT, fonts_in, print_scale

    for ws in wb.worksheets:
        assert ws.tables, ws.title  # named tables
        assert ws.freeze_panes, ws.title
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        assert fonts_in(ws) * print_scale(ws) / 100.0 >= MIN_PRINT_PT - 1e-9, ws.title
    ws = wb["对比 Comparison"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    bal = next(r for r in rows if r[0] == "A" and r[1] == "发行规模（元） / Balance (CNY)")
    assert bal[2:5] == [195_700_000, 195_700_000, 185_400_000]  # numbers, not text
    fc = next(r for r in rows if r[1] == "原始权益人融资成本 / Originator's cost of funding")
    assert all(isinstance(x, float) and 0.03 < x < 0.05 for x in fc[2:5])
    t = wb["分档明细 Tranches"]
    assert t.tables["compare_tranches"].ref.startswith("A1:N") and t["A1"].value == "结构 / Structure"
    r = invoke("compare", "-s", BASE, "-o", tmp_path / "y")
    assert r.exit_code == 2 and "give deal files to compare" in r.output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice and pdftotext needed")
def test_compare_workbook_prints_at_8_pt_or_more(tmp_path):
    """Rendered by LibreOffice: every word's box on the PDF is at least 8 pt x 1.2 tall."""
    import re

    from abs_engine.io.variants import Structure
    from abs_engine.report.compare_book import write_comparison_workbook
    from abs_engine.studies.compare import compare
    from abs_engine.studies.sizing import with_balances

    d = ae.load_deal(EXAMPLE)
    c = compare([Structure("base", d, "x"), Structure("thin", with_balances(d, {"A": 175_100_000}), "y")],
                [ae.load_scenario(BASE), ae.load_scenario(GF)], breakevens=False)
    src = write_comparison_workbook(c, tmp_path)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(src)], check=True, capture_output=True, timeout=240)
    subprocess.run(["pdftotext", "-bbox", str(src.with_suffix(".pdf")), str(tmp_path / "b.html")], check=True, timeout=60)
    html = (tmp_path / "b.html").read_text(encoding="utf-8")
    heights = [float(m.group(2)) - float(m.group(1))
               for m in re.finditer(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)]
    assert heights and min(heights) >= 8.0 * 1.2, min(heights)
    assert "原始权益人融资成本" in subprocess.run(["pdftotext", "-layout", str(src.with_suffix(".pdf")), "-"],
                                           capture_output=True, check=True).stdout.decode("utf-8")


def test_heatmap_writes_grid_frontier_points_and_png(tmp_path):
    out = tmp_path / "hm"
    r = invoke("heatmap", EXAMPLE, "-t", "A", "-b", GF, "--stress", SCENARIOS / "stress.yaml", "--y", "lag",
               "--cdr", "0", "--cdr", "0.1", "--cdr", "0.2", "--y-value", "6", "--y-value", "18", "-o", out)
    assert r.exit_code == 0, r.output
    grid = pd.read_csv(out / "heatmap_A_cdr_lag.csv")
    assert list(grid.columns) == ["cdr", "lag", "loss_rate", "yield", "whole"] and len(grid) == 6
    assert (out / "heatmap_A_cdr_lag.png").read_bytes()[:4] == b"\x89PNG"
    pts = pd.read_csv(out / "heatmap_A_cdr_lag_points.csv")
    assert list(pts["role"]) == ["base", "stress"]
    r = invoke("heatmap", EXAMPLE, "-t", "Q", "-b", GF, "--y", "depth", "-o", tmp_path / "z")
    assert r.exit_code == 2 and "unknown tranche 'Q'" in r.output and "unknown axis 'depth'" in r.output


def test_commands_are_registered():
    p = subprocess.run([sys.executable, "-m", "abs_engine.cli", "--help"], capture_output=True, text=True, cwd=ROOT,
                       env=ENV, timeout=120)
    for name in ("size", "agency", "solve", "compare", "heatmap"):
        assert f" {name} " in p.stdout, name
