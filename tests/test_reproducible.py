"""Reproducible runs: the same inputs give byte-identical CSV outputs, across runs and across
kernel backends; every run writes a manifest of what produced it; outputs are written as one
set, and a run that fails or is interrupted leaves no partial files."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import DEALS, ROOT, SCENARIOS

from abs_engine.io.outputs import MANIFEST, STAGING_PREFIX, output_set, write_csv

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"
CSVS = ("tranches.csv", "pool.csv", "accounts.csv", "fees.csv", "states.csv", "summary.csv",
        "analytics.csv", "support.csv")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abs_engine.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=180)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[Path]:
    """Temporary or staging files of a write that did not finish."""
    return [p for p in directory.rglob("*") if p.name.startswith(STAGING_PREFIX) or p.name.endswith(".part")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The example deal under base + stress: twice on the Cython kernel, once on the
    reference twin (no term sheets: they are not CSV)."""
    out = tmp_path_factory.mktemp("runs")
    scen = ["-s", str(SCENARIOS / "base.yaml"), "-s", str(SCENARIOS / "stress.yaml")]
    for name, backend in (("c1", "cython"), ("c2", "cython"), ("ref", "reference")):
        p = cli("run", str(EXAMPLE), *scen, "--out", str(out / name), "--backend", backend, "--no-term-sheets")
        assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("name", CSVS)
def test_csv_outputs_are_byte_identical_across_runs_and_backends(runs, name):
    first = (runs / "c1" / name).read_bytes()
    assert first, name
    assert (runs / "c2" / name).read_bytes() == first
    assert (runs / "ref" / name).read_bytes() == first


def test_manifest_says_what_produced_the_outputs(runs):
    m = json.loads((runs / "c1" / MANIFEST).read_text(encoding="utf-8"))
    assert m["engine"] == "abs_engine" and m["engine_version"] == version("abs_engine")
    assert m["python"] == sys.version.split()[0]
    for lib in ("numpy", "pandas", "QuantLib", "openpyxl", "pydantic", "PyYAML"):
        assert m["libraries"][lib] == version(lib)
    assert "seed" in m
    assert m["command"][1:3] == ["run", str(EXAMPLE)] and "--backend" in m["command"]
    # every input, hashed: the deal, each scenario and the tape
    assert m["inputs"]["deal"]["sha256"] == sha(EXAMPLE)
    assert m["inputs"]["scenario:stress.yaml"]["sha256"] == sha(SCENARIOS / "stress.yaml")
    tapes = [v for k, v in m["inputs"].items() if k.startswith("tape:")]
    assert tapes and all(v["sha256"] == sha(ROOT / v["path"]) for v in tapes)
    # every path the same way: relative to the run's working directory (ROOT here; the deal
    # and scenarios were given as absolute paths inside it), tapes included
    assert m["inputs"]["deal"]["path"] == "deals/sz_pledge_2026_1.yaml"
    assert m["inputs"]["scenario:stress.yaml"]["path"] == "scenarios/stress.yaml"
    assert [v["path"] for v in tapes] == ["deals/tapes/sz_pledge_2026_1.csv"]
    # every output, hashed, and nothing written that the manifest does not list
    files = {p.name for p in (runs / "c1").iterdir()} - {MANIFEST}
    assert set(m["outputs"]) == files
    for name, digest in m["outputs"].items():
        assert digest == sha(runs / "c1" / name)
    assert not leftovers(runs / "c1")


def test_outputs_are_readable_like_ordinary_files(runs):
    mask = os.umask(0)
    os.umask(mask)
    for name in CSVS:
        assert (runs / "c1" / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_run_keeps_the_previous_set_and_leaves_no_partial_files(tmp_path, example_deal):
    """A write that fails half-way (here: after two of the outputs) leaves the directory as
    it was: the previous complete set with its manifest, no staged or temporary files."""
    import abs_engine as ae

    result = ae.run(example_deal)
    with output_set(tmp_path) as stage:
        old = [write_csv(result.tranches, stage / "tranches.csv"), write_csv(result.pool, stage / "pool.csv")]
        (stage / MANIFEST).write_text(json.dumps({"outputs": {p.name: sha(p) for p in old}}), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"tranches.csv", "pool.csv", MANIFEST}

    class Boom(Exception):
        pass

    with pytest.raises(Boom), output_set(tmp_path) as stage:
        write_csv(result.fees, stage / "fees.csv")
        write_csv(result.tranches.head(1), stage / "tranches.csv")
        raise Boom("disk full")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert not leftovers(tmp_path)


def test_a_run_killed_with_sigterm_mid_write_leaves_no_partial_files(tmp_path):
    """``abs-engine run`` stopped by SIGTERM while it writes its outputs (made slow here so
    the signal lands mid-way) exits without leaving staged or temporary files, and without a
    manifest: the directory holds no complete run."""
    ready = tmp_path / "ready"
    out = tmp_path / "out"
    script = f"""
import sys, time
from pathlib import Path
import abs_engine.io.outputs as o
real, n = o.write_csv, [0]
def slow(df, target):
    n[0] += 1
    if n[0] == 3:
        Path({str(ready)!r}).write_text("x")
        time.sleep(60)
    return real(df, target)
o.write_csv = slow
from abs_engine.cli import app
sys.argv = ["abs-engine", "run", {str(EXAMPLE)!r}, "--out", {str(out)!r}, "--no-term-sheets"]
app()
"""
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert list(out.rglob("*.csv")), "two outputs should be staged by now"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert not leftovers(out) and not (out / MANIFEST).exists()
    assert not list(out.iterdir())


def test_leftovers_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    """SIGKILL gives no chance to clean up: the next run into the same directory does."""
    stale = tmp_path / f"{STAGING_PREFIX}dead"
    stale.mkdir()
    (stale / ".owner").touch()  # the mark a run leaves once it holds its staging directory
    (stale / "tranches.csv").write_text("half", encoding="utf-8")
    # not the engine's: a user's file that looks like a temporary one, a staging directory
    # being created right now by another run (no owner mark yet): both left alone
    (tmp_path / ".pool.csv.x1y2.part").write_text("half", encoding="utf-8")
    fresh = tmp_path / f"{STAGING_PREFIX}fresh"
    fresh.mkdir()
    with output_set(tmp_path) as stage:
        (stage / "a.csv").write_text("a\n", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{STAGING_PREFIX}fresh", ".pool.csv.x1y2.part", "a.csv"]
