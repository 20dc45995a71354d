"""Names from inputs are hostile until made safe (abs_engine/io/names.py): a random deal,
tranche-free scenario or file name (paths, rich markup, control characters, CJK, formulas)
never writes outside the output directory, never crashes the console, and never reaches a
CSV cell a spreadsheet would run as a formula. Properties, then the whole command line."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from abs_engine.io.names import (
    FORMULA_TRIGGERS,
    MAX_COMPONENT_BYTES,
    _control,
    console_text,
    path_component,
)
from abs_engine.io.outputs import write_csv

GOOD = Path(__file__).parent / "bad_inputs" / "good_example"

#: Names as a careless or hostile user writes them.
hostile = st.one_of(
    st.text(min_size=0, max_size=60),
    st.text(alphabet=st.sampled_from(list("./\\~$:*?\"<>| \t\n\x00\x1b[]=+-@深圳知识产权·")), max_size=40),
    st.sampled_from(["..", ".", "../../../x", "/etc/passwd", "C:\\Windows\\x", "~/x", "[/red]SZ", "stress [x2 cdr]",
                     "=2+2", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "a\x1b[2Jb", "深圳·2026", "x" * 500, "$\\frac{1}{0}$",
                     "[link=file:///etc/passwd]x[/link]", "\u202eevil", "a\u0000b"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["=", "../", "/", "[", "\x1b", "@"]), st.text(max_size=20)),
)


@given(hostile)
def test_a_name_becomes_one_safe_path_component(name):
    comp = path_component(name)
    assert comp and comp not in (".", "..")
    assert "/" not in comp and "\\" not in comp and "\x00" not in comp
    assert len(comp.encode("utf-8")) <= MAX_COMPONENT_BYTES
    assert not any(ord(ch) < 32 for ch in comp)
    base = Path(tempfile.gettempdir()) / "abs-engine-names"
    assert (base / comp).resolve().parent == base.resolve()


@given(hostile)
def test_a_name_prints_as_written_on_the_console(name):
    """Markup in a name neither crashes the console nor disappears: what is shown is the
    name, with control characters spelled out."""
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None, force_terminal=False)
    console.print(f"[red]error[/red] {console_text(name)}", soft_wrap=True, highlight=False)
    shown = Text.from_markup(f"[red]error[/red] {console_text(name)}").plain
    assert shown.startswith("error ")
    visible = shown[len("error "):]
    # the console shows control and format characters as escapes, everything else as written
    expected = "".join(ch.encode("unicode_escape").decode() if _control(ch) else ch for ch in name)
    assert visible == expected
    assert "\x1b" not in buf.getvalue()


@given(st.lists(hostile, min_size=1, max_size=5))
def test_no_name_reaches_a_csv_cell_as_a_formula(names):
    with tempfile.TemporaryDirectory() as d:
        target = Path(d) / "t.csv"
        write_csv(pd.DataFrame({"scenario": names, "value": range(len(names))}), target)
        with open(target, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    assert rows[0] == ["scenario", "value"]
    for name, row in zip(names, rows[1:], strict=True):
        cell = row[0]
        assert not cell.startswith(FORMULA_TRIGGERS)
        assert (cell[1:] if name.startswith(FORMULA_TRIGGERS) else cell) == name


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow])
@given(deal_name=hostile, scenario_name=hostile)
def test_the_command_line_keeps_hostile_names_inside_the_output_directory(deal_name, scenario_name):
    """``abs-engine run`` (in this process) with a hostile deal and scenario name: exit 0 or
    a clear error, every file written inside out/, no CSV cell a formula, no traceback."""
    from abs_engine.cli import app

    if not deal_name.strip(" \t\n\r\x0b\x0c") or not scenario_name.strip():
        return  # (an empty name is a plain input error, covered by the corpus)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        work = root / "work"
        (work / "tapes").mkdir(parents=True)
        (work / "tapes" / "sz_pledge_2026_1.csv").write_bytes((GOOD / "tapes" / "sz_pledge_2026_1.csv").read_bytes())
        deal = yaml.safe_load((GOOD / "deal.yaml").read_text(encoding="utf-8"))
        deal["deal"]["name"] = deal_name
        (work / "deal.yaml").write_text(yaml.safe_dump(deal, allow_unicode=True), encoding="utf-8")
        scenario = yaml.safe_load((GOOD / "scenario.yaml").read_text(encoding="utf-8"))
        scenario["name"] = scenario_name
        (work / "s.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
        before = {p for p in root.rglob("*")}
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        try:
            os.chdir(work)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    app(["run", "deal.yaml", "-s", "s.yaml", "--no-term-sheets"], prog_name="abs-engine")
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os.chdir(cwd)
        assert code in (0, 2), err.getvalue()
        new = {p for p in root.rglob("*")} - before
        assert all(p.resolve().is_relative_to((work / "out").resolve()) for p in new), sorted(map(str, new))
        if code == 0:
            manifests = list((work / "out").rglob("manifest.json"))
            assert len(manifests) == 1 and manifests[0].parent.parent == work / "out"
            for f in manifests[0].parent.glob("*.csv"):
                with open(f, newline="", encoding="utf-8") as fh:
                    for row in csv.reader(fh):
                        assert not any(c.startswith(FORMULA_TRIGGERS) and not _number(c) for c in row), (f.name, row)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_control_characters_outside_cells_never_corrupt_a_workbook(tmp_path):
    """A name with ESC, NUL or a vertical tab reaches a workbook's chart titles, headers and
    document properties, not only its cells: the saved file must still open (it did not:
    openpyxl wrote the raw characters and Excel and openpyxl refused the file)."""
    import openpyxl
    from openpyxl.chart import LineChart

    from abs_engine.report.atomic import save_workbook

    name = "PWN\x1b[31mred\x00\x0b"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = 1
    ch = LineChart()
    ch.title = f"balance — {name}"
    ch.y_axis.title = name
    ws.add_chart(ch, "C3")
    for k in range(3):  # charts on later sheets too (the walk once skipped them)
        other = wb.create_sheet(f"s{k}")
        ch2 = LineChart()
        ch2.title = f"chart {k} — {name}"
        other.add_chart(ch2, "A1")
    ws.oddHeader.center.text = name
    wb.properties.title = wb.properties.subject = wb.properties.keywords = name
    target = save_workbook(wb, tmp_path / "t.xlsx")
    back = openpyxl.load_workbook(target)
    assert back.properties.title == "PWN[31mred"
