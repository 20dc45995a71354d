"""The bad-input corpus (tests/bad_inputs/cases.yaml), run as a user runs it.

Every malformed deal, tape or scenario must be refused by ``abs-engine validate`` with exit
code 2, one ``file: field.path: reason`` line per problem and no traceback; through the
Python API, ``load_deal`` / ``load_scenario`` must raise :class:`abs_engine.InputError` and
nothing else. The size limits (YAML bytes, tape rows, amounts) are checked at the end.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import abs_engine as ae
from abs_engine.engine import _check_scenarios
from abs_engine.io.tape import MAX_TAPE_ROWS
from abs_engine.io.yamlio import MAX_YAML_BYTES

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
BY_ID = {c["id"]: c for c in CASES}


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``abs-engine ARGS`` in a fresh interpreter, exactly as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "abs_engine.cli", *args],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120, env=ENV,
    )


ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}

#: Runs the CLI's typer app for a batch of cases in ONE interpreter (a fresh ``python -m
#: abs_engine.cli`` costs ~1 s of imports, too slow for ~90 cases); each case gets its own
#: working directory, captured stdout/stderr, exit code and recorded warnings.
#: ``test_batch_runner_matches_fresh_processes`` checks it answers exactly as fresh processes do.
_BATCH = r"""
import contextlib, io, json, os, sys, traceback, warnings
from abs_engine.cli import app
results = {}
for cid, cwd, args in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            app(args, prog_name="abs-engine")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            err.write(traceback.format_exc())
            code = 1
    results[cid] = {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                    "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}
sys.__stdout__.write(json.dumps(results))
"""


@dataclass
class Answer:
    returncode: int
    stdout: str
    stderr: str
    warnings: list[str]


def _batch(cases: list[dict[str, Any]]) -> dict[str, Answer]:
    jobs = [(c["id"], str(CORPUS / c["id"]), shlex.split(c["command"])) for c in cases]
    p = subprocess.run([sys.executable, "-c", _BATCH], input=json.dumps(jobs), capture_output=True, text=True,
                       encoding="utf-8", timeout=600, env=ENV, cwd=CORPUS)
    assert p.returncode == 0, p.stderr
    return {k: Answer(**v) for k, v in json.loads(p.stdout).items()}


@pytest.fixture(scope="session")
def cli_answers() -> dict[str, Answer]:
    """Every case through the CLI, split over the cores (one interpreter each)."""
    n = max(1, min(os.cpu_count() or 1, 4))
    chunks = [CASES[i::n] for i in range(n)]
    with ThreadPoolExecutor(max_workers=n) as pool:
        parts = list(pool.map(_batch, chunks))
    return {k: v for part in parts for k, v in part.items()}


def _parse(command: str) -> tuple[str, list[str]]:
    """``validate DEAL [-s SCENARIO]...`` -> (deal, scenarios)."""
    words = shlex.split(command)
    assert words[0] == "validate", command
    deal, scenarios, rest = "", [], words[1:]
    while rest:
        w = rest.pop(0)
        if w in ("-s", "--scenario"):
            scenarios.append(rest.pop(0))
        else:
            deal = w
    return deal, scenarios


def _failures(case: dict[str, Any], p: Answer | subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with the CLI's answer to ``case`` (empty if all is right)."""
    exit_code = case.get("exit", 2)
    shown = p.stdout if exit_code == 0 else p.stderr
    out: list[str] = []
    if p.returncode != exit_code:
        out.append(f"exit code {p.returncode}, expected {exit_code}")
    if "Traceback" in p.stdout + p.stderr:
        out.append("a traceback was printed")
    out += [f"missing fragment {f!r}" for f in case["expect"] if f not in shown]
    out += [f"warning: {w}" for w in getattr(p, "warnings", [])]
    n = case.get("problems")
    if n is not None and f"{n} problem(s) found." not in p.stderr:
        out.append(f"expected {n} problem(s)")
    return out


def test_manifest_matches_the_corpus():
    """Every case directory is in the manifest, every listed file exists, ids are unique."""
    assert len(CASES) >= 40
    assert len(BY_ID) == len(CASES), "duplicate case ids"
    dirs = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert dirs == set(BY_ID), f"not in the manifest: {dirs - set(BY_ID)}; no directory: {set(BY_ID) - dirs}"
    for case in CASES:
        assert case["expect"], case["id"]
        assert case.get("exit", 2) in (0, 2), case["id"]
        for f in case["files"]:
            assert (CORPUS / case["id"] / f).exists(), f"{case['id']}: {f} is listed but missing"
        _parse(case["command"])


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if "xfail" not in c])
def test_cli_refuses_bad_input(case_id, cli_answers):
    """Exit code 2, every expected ``file: path: reason`` fragment, the number of problems, no
    traceback, no warning (good cases: exit 0 and the ``ok`` line)."""
    p = cli_answers[case_id]
    bad = _failures(BY_ID[case_id], p)
    assert not bad, f"{'; '.join(bad)}\nstderr:\n{p.stderr}\nstdout:\n{p.stdout}"


# A case may carry `xfail` (a known bug outside the loaders, its test a strict xfail);
# none does now. Generated only when some case does, so no test is skipped for nothing.
KNOWN_BUGS = [c["id"] for c in CASES if "xfail" in c]
if KNOWN_BUGS:
    @pytest.mark.parametrize("case_id", KNOWN_BUGS)
    def test_cli_known_bugs(case_id, cli_answers):
        """Cases that expose a known bug (the manifest says which); strict, so the fix is
        noticed and the case joins the others."""
        case = BY_ID[case_id]
        bad = _failures(case, cli_answers[case_id])
        if bad:
            pytest.xfail(f"{case['xfail']}: {'; '.join(bad)}")
        pytest.fail(f"{case_id} passes now: drop its 'xfail' from cases.yaml")


#: One case of each kind, also run as fresh ``python -m abs_engine.cli`` processes.
FRESH = ["good_example", "typo_in_key", "tape_rate_in_percent", "scenario_cdr_vector_above_one", "deal_is_a_directory"]


def test_batch_runner_matches_fresh_processes(cli_answers):
    """A user's run (a fresh interpreter per command) answers exactly as the batch runner."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        answers = list(pool.map(lambda i: _cli(shlex.split(BY_ID[i]["command"]), CORPUS / i), FRESH))
    fresh = dict(zip(FRESH, answers, strict=True))
    for case_id, p in fresh.items():
        batch = cli_answers[case_id]
        assert (p.returncode, p.stderr, p.stdout) == (batch.returncode, batch.stderr, batch.stdout), case_id
        assert not _failures(BY_ID[case_id], p), case_id


def test_docs_examples_are_real_messages(cli_answers):
    """Every example message in docs/errors.md's table is printed by some corpus case."""
    import re

    text = (Path(__file__).parent.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    table = text[text.index("## What is checked"):text.index("## Size limits")]
    examples = [m for line in table.splitlines() if line.startswith("| ") for m in re.findall(r"`([^`]+)`\s*\|\s*$", line)]
    assert len(examples) >= 30
    printed = "\n".join(a.stderr for a in cli_answers.values())
    for example in examples:
        for piece in example.split("..."):
            assert piece.strip(" ,;") in printed, example


@pytest.mark.parametrize("case_id", list(BY_ID))
def test_api_raises_input_error_only(case_id):
    """``load_deal`` / ``load_scenario`` (and the scenario cross-check ``validate`` runs) raise
    InputError, never another exception; good cases load."""
    case = BY_ID[case_id]
    deal, scenarios = _parse(case["command"])
    base = CORPUS / case_id

    def load() -> None:
        d = ae.load_deal(base / deal)
        _check_scenarios(d, [ae.load_scenario(base / s) for s in scenarios])

    if case.get("exit", 2) == 0:
        load()
        return
    with pytest.raises(ae.InputError) as exc:
        load()
    messages = [str(p) for p in exc.value.problems]
    assert messages and all(m.strip() for m in messages)
    if case.get("problems") is not None:
        assert len(messages) == case["problems"], messages
    for fragment in case["expect"]:
        for name in (deal, *scenarios):
            if fragment.startswith(f"{name}: "):  # the API names files by the path it was given
                fragment = f"{base / name}: {fragment[len(name) + 2:]}"
        if "xfail" not in case:
            assert any(fragment in m for m in messages), (fragment, messages)


def test_xlsx_tape_with_numeric_ids_loads(tmp_path):
    """Excel stores an id typed as 1001 as a number: it is read as the text '1001'."""
    import pandas as pd

    case = BY_ID["good_example"]["id"]
    df = pd.read_csv(CORPUS / case / "tapes" / "sz_pledge_2026_1.csv", dtype=str, keep_default_na=False)
    df["loan_id"] = [1001, 1002, 1003]
    df["balance"] = df["balance"].astype(float)
    (tmp_path / "tapes").mkdir()
    df.to_excel(tmp_path / "tapes" / "loans.xlsx", index=False)
    text = (CORPUS / case / "deal.yaml").read_text(encoding="utf-8")
    (tmp_path / "deal.yaml").write_text(text.replace("tapes/sz_pledge_2026_1.csv", "tapes/loans.xlsx"), encoding="utf-8")
    deal = ae.load_deal(tmp_path / "deal.yaml")
    assert [a.loan_id for a in deal.pools[0].assets] == ["1001", "1002", "1003"]
    assert deal.pools[0].assets[0].balance == 30_000_000


def test_xlsx_case_really_has_merged_header_cells():
    import openpyxl

    wb = openpyxl.load_workbook(CORPUS / "tape_xlsx_merged_header" / "tapes" / "loans.xlsx")
    assert [str(r) for r in wb.active.merged_cells.ranges] == ["F1:G1"]


# --------------------------------------------------------------------------- size limits


def test_yaml_size_limit(tmp_path):
    """A deal or scenario file over 20 MB is refused before it is read (a sparse file)."""
    for what, load in (("deal", ae.load_deal), ("scenario", ae.load_scenario)):
        big = tmp_path / f"{what}.yaml"
        with open(big, "wb") as fh:
            fh.truncate(MAX_YAML_BYTES + 1)
        with pytest.raises(ae.InputError) as exc:
            load(big)
        assert f"file is {MAX_YAML_BYTES + 1} bytes; {what} files are limited to {MAX_YAML_BYTES}" in str(exc.value)
    p = _cli(["validate", "deal.yaml"], tmp_path)
    assert p.returncode == 2 and "deal files are limited to" in p.stderr and "Traceback" not in p.stderr


def test_yaml_size_limit_boundary(tmp_path, monkeypatch):
    """The limit is inclusive: a file of exactly the limit is parsed, one byte more is not."""
    import abs_engine.io.yamlio as yamlio

    monkeypatch.setattr(yamlio, "MAX_YAML_BYTES", 64)
    p = tmp_path / "s.yaml"
    p.write_bytes(b"name: x\n" + b"#" * (64 - 9) + b"\n")
    assert ae.load_scenario(p).name == "x"
    p.write_bytes(p.read_bytes() + b"\n")
    with pytest.raises(ae.InputError, match="file is 65 bytes; scenario files are limited to 64"):
        ae.load_scenario(p)


def test_deep_block_nesting(tmp_path):
    """Indentation nested 1500 levels deep (no brackets) is refused, not a RecursionError."""
    p = tmp_path / "s.yaml"
    p.write_text("".join(" " * i + f"k{i}:\n" for i in range(1500)), encoding="utf-8")
    with pytest.raises(ae.InputError, match="YAML nested too deeply"):
        ae.load_scenario(p)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("1000000000000000", True), ("1.0e+15", True), ("1.000001e+15", False), ("1.0e+20", False), ("1.0e+300", False)],
)
def test_amount_limit(tmp_path, value, ok):
    """Amounts up to 1e15 are accepted; beyond, refused with the limit in the message."""
    case = CORPUS / "good_example"
    text = (case / "deal.yaml").read_text(encoding="utf-8").replace("  total_notes: 200000000\n", "")
    text = text.replace("    balance: 10000000", f"    balance: {value}")
    (tmp_path / "tapes").mkdir()
    (tmp_path / "tapes" / "sz_pledge_2026_1.csv").write_bytes((case / "tapes" / "sz_pledge_2026_1.csv").read_bytes())
    (tmp_path / "deal.yaml").write_text(text, encoding="utf-8")
    if ok:
        ae.load_deal(tmp_path / "deal.yaml")
        return
    with pytest.raises(ae.InputError) as exc:
        ae.load_deal(tmp_path / "deal.yaml")
    assert [p.path for p in exc.value.problems] == ["tranches[1].balance"]
    assert "is beyond any plausible amount (limit 1e15)" in str(exc.value)


def test_tape_row_limit(tmp_path):
    """A tape with more than 2,000,000 rows is refused (and is not read beyond the limit)."""
    tape = tmp_path / "big.csv"
    with open(tape, "w", encoding="utf-8") as fh:
        fh.write("loan_id\n")
        fh.write("x\n" * (MAX_TAPE_ROWS + 1))
    from abs_engine.io.tape import read_table

    with pytest.raises(ae.InputError) as exc:
        read_table(tape)
    assert str(exc.value).endswith(f"more than {MAX_TAPE_ROWS:,} rows; tapes are limited to {MAX_TAPE_ROWS:,} rows")

