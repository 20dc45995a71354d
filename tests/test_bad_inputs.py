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
from abs_engine.checks import check_scenarios
from abs_engine.io.tape import MAX_TAPE_ROWS
from abs_engine.io.yamlio import MAX_YAML_BYTES

CORPUS = Path(__file__).parent / "bad_inputs"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
BY_ID = {c["id"]: c for c in CASES}


def _cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``abs-engine ARGS`` in a fresh interpreter, exactly as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "abs_engine.cli", *args],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120,
        env={**ENV, **(env or {})}, stdin=subprocess.DEVNULL,
    )


ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}

#: Cases that need a process of their own (two at once, a signal, a killed parent).
FRESH_KINDS = ("concurrent", "signal", "orphans")

#: Runs the CLI's typer app for a batch of cases in ONE interpreter (a fresh ``python -m
#: abs_engine.cli`` costs ~1 s of imports, too slow for ~200 cases); each case gets its own
#: working directory, environment, captured stdout/stderr, exit code and recorded warnings.
#: ``test_batch_runner_matches_fresh_processes`` checks it answers exactly as fresh processes do.
_BATCH = r"""
import contextlib, io, json, os, sys, traceback, warnings
from abs_engine.cli import app
results = {}
for cid, cwd, args, env in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
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
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
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


# --------------------------------------------------------------------------- servers for --scheduler cases


class _Servers:
    """Local TCP servers that are not Dask schedulers, on 127.0.0.1 (free ports): ``http``
    (a plain HTTP server: waits for a request), ``garbage`` (answers 64 bytes of 0xff),
    ``close`` (closes every connection at once)."""

    def __init__(self) -> None:
        import http.server
        import socketserver
        import threading

        class Garbage(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(b"\xff" * 64)

        class Close(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                pass

        class Quiet(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

        self.servers = {
            "http": http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet),
            "garbage": socketserver.ThreadingTCPServer(("127.0.0.1", 0), Garbage),
            "close": socketserver.ThreadingTCPServer(("127.0.0.1", 0), Close),
        }
        for srv in self.servers.values():
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def port(self, kind: str) -> int:
        return int(self.servers[kind].server_address[1])

    def close(self) -> None:
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()


@pytest.fixture(scope="session")
def servers() -> Any:
    s = _Servers()
    yield s
    s.close()


# --------------------------------------------------------------------------- working directories


def _needs_copy(case: dict[str, Any]) -> bool:
    """Cases that write (outputs, setup files) run in a copy, so the corpus stays clean."""
    return bool(case.get("setup")) or not case["command"].startswith("validate ")


def _prepare(case: dict[str, Any], root: Path) -> Path:
    """The working directory of ``case``: the corpus directory, or a copy under ``root``
    with the case's ``setup`` applied (named pipes, links to devices: files git cannot hold)."""
    import shutil

    src = CORPUS / case["id"]
    if not _needs_copy(case):
        return src
    work = root / case["id"]
    shutil.copytree(src, work, symlinks=True)
    # a fresh copy, whatever the checkout's age: the output stage tells abandoned staging
    # directories by their age, which copytree would carry over from the corpus
    for path in [work, *work.rglob("*")]:
        if not path.is_symlink():
            os.utime(path)
    for step in case.get("setup", []):
        if "mkfifo" in step:
            target = work / step["mkfifo"]
            target.unlink(missing_ok=True)
            os.mkfifo(target)
        elif "symlink" in step:
            target = work / step["symlink"]
            target.unlink(missing_ok=True)
            target.symlink_to(step["to"])
        else:
            raise AssertionError(f"{case['id']}: unknown setup step {step}")
    return work


@pytest.fixture(scope="session")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad_inputs")
    return {c["id"]: _prepare(c, root) for c in CASES}


def _args(case: dict[str, Any], servers: Any) -> list[str]:
    command = case["command"]
    if "server" in case:
        command = command.replace("{port}", str(servers.port(case["server"])))
    return shlex.split(command)


def _batch(jobs: list[tuple[str, str, list[str], dict[str, str]]]) -> dict[str, Answer]:
    p = subprocess.run([sys.executable, "-c", _BATCH], input=json.dumps(jobs), capture_output=True, text=True,
                       encoding="utf-8", timeout=600, env=ENV, cwd=CORPUS, stdin=None)
    assert p.returncode == 0, p.stderr
    return {k: Answer(**v) for k, v in json.loads(p.stdout).items()}


@pytest.fixture(scope="session")
def cli_answers(workdirs: dict[str, Path], servers: Any) -> dict[str, Answer]:
    """Every case but the fresh-process ones through the CLI, split over the cores (one
    interpreter each)."""
    jobs = [(c["id"], str(workdirs[c["id"]]), _args(c, servers), {k: str(v) for k, v in c.get("env", {}).items()})
            for c in CASES if c.get("kind") not in FRESH_KINDS]
    n = max(1, min(os.cpu_count() or 1, 4))
    chunks = [jobs[i::n] for i in range(n)]
    with ThreadPoolExecutor(max_workers=n) as pool:
        parts = list(pool.map(_batch, chunks))
    return {k: v for part in parts for k, v in part.items()}


def _parse(command: str) -> tuple[str, list[str]]:
    """``validate DEAL [-s SCENARIO]... [-m SETTINGS] [--status STATUS]`` -> (deal, scenarios)."""
    words = shlex.split(command)
    assert words[0] == "validate", command
    deal, scenarios, rest = "", [], words[1:]
    while rest:
        w = rest.pop(0)
        if w in ("-s", "--scenario"):
            scenarios.append(rest.pop(0))
        elif w in ("-m", "--model", "--status"):
            rest.pop(0)
        else:
            deal = w
    return deal, scenarios


def _status(command: str) -> str | None:
    """The ``--status`` file of a ``validate`` command (None without one)."""
    words = shlex.split(command)
    return words[words.index("--status") + 1] if "--status" in words else None


def _files_check(case: dict[str, Any], work: Path) -> list[str]:
    """The case's checks of the files left behind: ``present`` / ``absent`` (globs, relative
    to the working directory or absolute), ``contains`` / ``lacks`` ([file, text])."""
    out: list[str] = []

    def matches(pattern: str) -> list[Path]:
        base = Path("/") if pattern.startswith("/") else work
        return list(base.glob(pattern.lstrip("/"))) if any(ch in pattern for ch in "*?[") and "[_red]" not in pattern \
            else [q for q in [base / pattern.lstrip("/")] if q.exists() or q.is_symlink()]

    for pattern in case.get("present", []):
        if not matches(pattern):
            out.append(f"{pattern} is missing")
    for pattern in case.get("absent", []):
        if matches(pattern):
            out.append(f"{pattern} exists")
    for name, text in case.get("contains", []):
        f = work / name
        if not f.exists() or text not in f.read_text(encoding="utf-8"):
            out.append(f"{name} lacks {text!r}")
    for name, text in case.get("lacks", []):
        f = work / name
        if f.exists() and text in f.read_text(encoding="utf-8"):
            out.append(f"{name} holds {text!r}")
    return out


def _failures(case: dict[str, Any], p: Answer | subprocess.CompletedProcess[str], work: Path | None = None) -> list[str]:
    """What is wrong with the CLI's answer to ``case`` (empty if all is right)."""
    exit_code = case.get("exit", 2)
    shown = p.stdout if exit_code == 0 else p.stderr
    out: list[str] = []
    if exit_code == -1 and p.returncode == 0 or exit_code != -1 and p.returncode != exit_code:
        out.append(f"exit code {p.returncode}, expected {'non-zero' if exit_code == -1 else exit_code}")
    if "Traceback" in p.stdout + p.stderr:
        out.append("a traceback was printed")
    out += [f"missing fragment {f!r}" for f in case["expect"] if f not in shown]
    out += [f"warning: {w}" for w in getattr(p, "warnings", [])]
    n = case.get("problems")
    if n is not None and f"{n} problem(s) found." not in p.stderr:
        out.append(f"expected {n} problem(s)")
    if "max_lines" in case and len(p.stderr.splitlines()) > case["max_lines"]:
        out.append(f"{len(p.stderr.splitlines())} lines printed, at most {case['max_lines']} expected")
    if work is not None:
        out += _files_check(case, work)
    return out


def test_manifest_matches_the_corpus():
    """Every case directory is in the manifest, every listed file exists, ids are unique."""
    assert len(CASES) >= 200
    assert len(BY_ID) == len(CASES), "duplicate case ids"
    dirs = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert dirs == set(BY_ID), f"not in the manifest: {dirs - set(BY_ID)}; no directory: {set(BY_ID) - dirs}"
    for case in CASES:
        assert case["expect"] or case.get("kind") in FRESH_KINDS, case["id"]
        assert case.get("exit", 2) in (0, 2, 130, -1), case["id"]
        for f in case["files"]:
            assert (CORPUS / case["id"] / f).exists(), f"{case['id']}: {f} is listed but missing"
        if case["command"].startswith("validate "):
            _parse(case["command"])


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if "xfail" not in c and c.get("kind") not in FRESH_KINDS])
def test_cli_refuses_bad_input(case_id, cli_answers, workdirs):
    """Exit code 2, every expected ``file: path: reason`` fragment, the number of problems, no
    traceback, no warning (good cases: exit 0 and the ``ok`` line); the files the case says
    must (not) be there afterwards."""
    p = cli_answers[case_id]
    bad = _failures(BY_ID[case_id], p, workdirs[case_id])
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
FRESH = ["good_example", "typo_in_key", "tape_rate_in_percent", "scenario_cdr_vector_above_one", "deal_is_a_directory",
         "name_markup_close_tag", "env_memory_nan"]


def test_batch_runner_matches_fresh_processes(cli_answers, workdirs):
    """A user's run (a fresh interpreter per command) answers exactly as the batch runner."""
    def fresh(i: str) -> subprocess.CompletedProcess[str]:
        return _cli(shlex.split(BY_ID[i]["command"]), workdirs[i], {k: str(v) for k, v in BY_ID[i].get("env", {}).items()})

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        answers = list(pool.map(fresh, FRESH))
    for case_id, p in zip(FRESH, answers, strict=True):
        batch = cli_answers[case_id]
        assert (p.returncode, p.stderr, p.stdout) == (batch.returncode, batch.stderr, batch.stdout), case_id
        assert not _failures(BY_ID[case_id], p), case_id


# --------------------------------------------------------------------------- fresh-process cases


def _start(case: dict[str, Any], work: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "abs_engine.cli", *shlex.split(case["command"])], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            encoding="utf-8", errors="replace", env=ENV)


def _finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait_for(predicate: Any, timeout: float) -> bool:
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if c.get("kind") in FRESH_KINDS])
def test_fresh_process_cases(case_id, workdirs):
    """Two runs at once into one directory; a signal while a run works; a killed parent
    of worker processes: through the real CLI, each in processes of its own."""
    import signal

    case = BY_ID[case_id]
    work = workdirs[case_id]
    if case["kind"] == "concurrent":
        procs = [_start(case, work) for _ in range(2)]
        for p in (_finish(q) for q in procs):
            bad = _failures(case, p)
            assert not bad, f"{'; '.join(bad)}\nstderr:\n{p.stderr}"
        assert not _files_check(case, work)
        import json as _json

        listed = _json.loads((work / "res" / "manifest.json").read_text(encoding="utf-8"))["outputs"]
        assert all((work / "res" / name).is_file() for name in listed)
        return
    proc = _start(case, work)
    try:
        # the run is working once its staging directory exists (after loading and checks)
        assert _wait_for(lambda: any(work.glob("res/.abs-engine-partial-*")), 90), "the run never started writing"
        if case["kind"] == "signal":
            import time

            time.sleep(case.get("after", 1.0))
            proc.send_signal(getattr(signal, case["signal"]))
            p = _finish(proc)
            bad = _failures(case, p, work)
            assert not bad, f"{'; '.join(bad)}\nstderr:\n{p.stderr}"
            return
        # orphans: wait for the worker processes, kill the parent outright, the workers must go too
        assert _wait_for(lambda: len(_children(proc.pid)) >= 2, 90), "no worker processes started"
        kids = _children(proc.pid)
        proc.kill()
        proc.communicate(timeout=60)  # (the workers hold the pipes too: EOF once they are gone)
        assert _wait_for(lambda: not any(Path(f"/proc/{k}").exists() and "Z" not in _state(k) for k in kids), 15), \
            f"orphaned workers still running: {[k for k in kids if Path(f'/proc/{k}').exists()]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


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


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if c["command"].startswith("validate ") and " -m " not in c["command"]])
def test_api_raises_input_error_only(case_id, workdirs):
    """``load_deal`` / ``load_scenario`` (and the scenario cross-check ``validate`` runs) raise
    InputError, never another exception; good cases load."""
    case = BY_ID[case_id]
    deal, scenarios = _parse(case["command"])
    base = workdirs[case_id]

    def load() -> None:
        d = ae.load_deal(base / deal)
        check_scenarios(d, [ae.load_scenario(base / s) for s in scenarios])
        status = _status(case["command"])
        if status is not None:
            ae.load_status(base / status, d)

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
        for name in (deal, *scenarios, *[f for f in case["files"] if f.startswith("status")]):
            if fragment.startswith(f"{name}: "):  # the API names files by the path it was given
                fragment = f"{base / name}: {fragment[len(name) + 2:]}"
        if "xfail" not in case and not fragment.endswith("problem(s) found."):  # (the CLI's count line)
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


@pytest.mark.parametrize("text", ["name: x\ndefaults: &a [*a]\n", "name: x\ndefaults: &a\n  b: *a\n"])
def test_alias_inside_its_own_anchor(tmp_path, text):
    """An alias inside its own anchor (endless when expanded) is refused; it hung the size count."""
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ae.InputError, match="aliases expanded"):
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



def test_tape_byte_limit_is_read_with_a_bound(tmp_path, monkeypatch):
    """A tape over the byte limit is refused, also when its size is not known beforehand
    (the reader stops one byte past the limit)."""
    import abs_engine.io.tape as tape

    p = tmp_path / "t.csv"
    p.write_text("loan_id\n" + "x\n" * 100, encoding="utf-8")
    monkeypatch.setattr(tape, "MAX_TAPE_BYTES", 50)
    with pytest.raises(ae.InputError, match="file is 208 bytes; tape files are limited to 50"):
        tape.read_table(p)


def test_xlsx_uncompressed_size_is_checked_before_parsing(tmp_path, monkeypatch):
    """An .xlsx whose parts unpack beyond the limit is refused from the archive's directory."""
    import abs_engine.io.files as files
    from abs_engine.io.tape import read_table

    src = CORPUS / "good_xlsx_lying_dimension" / "tapes" / "loans.xlsx"
    p = tmp_path / "loans.xlsx"
    p.write_bytes(src.read_bytes())
    monkeypatch.setattr(files, "MAX_XLSX_UNCOMPRESSED", 1000)
    with pytest.raises(ae.InputError, match=r"the workbook unpacks to [\d,]+ bytes; .xlsx tapes are limited to 1,000"):
        read_table(p)
