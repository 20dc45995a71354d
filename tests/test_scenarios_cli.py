"""The scenario commands as a user runs them (subprocesses): ``sweep``, ``breakeven`` and
``simulate`` write their frames (CSV, Parquet), plots, term sheets and a manifest as one
set, agree with the Python API, refuse bad input with exit 2 and one line per problem,
and stop on Ctrl-C with exit 130 leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import DEALS, ROOT, SCENARIOS

import abs_engine as ae
from abs_engine.io import load_grid
from abs_engine.studies.breakeven import breakeven
from abs_engine.studies.executors import Executor
from abs_engine.studies.montecarlo import simulate

EXAMPLE = DEALS / "sz_pledge_2026_1.yaml"
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}


def cli(*args: str, cwd: Path = ROOT, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "abs_engine.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=ENV, encoding="utf-8")


def _no_partial(directory: Path) -> None:
    left = [p for p in directory.rglob("*") if p.name.startswith(".abs-engine-partial-") or p.name.endswith(".part")]
    assert not left, left


def test_simulate_writes_the_set_and_matches_the_api(tmp_path):
    stress = SCENARIOS / "stress_guarantor_fails.yaml"
    model = SCENARIOS / "monte_carlo" / "sz_pledge_industry.yaml"
    p = cli("simulate", str(EXAMPLE), "-s", str(stress), "--model", str(model), "--paths", "96", "--seed", "5",
            "--format", "both", "--breakeven", "--no-progress", "-o", str(tmp_path / "a"))
    assert p.returncode == 0, p.stderr
    assert "Monte Carlo, 96 paths, seed 5" in p.stdout and "Traceback" not in p.stderr
    out = tmp_path / "a"
    for name in ("mc_paths", "mc_pool", "mc_summary", "mc_pool_summary", "mc_loss_distribution", "mc_settings"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.parquet").exists(), name
    assert (out / "loss_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 5 and "mc_paths.parquet" in manifest["outputs"] and "model" in manifest["inputs"]
    _no_partial(out)
    # the same paths through the API, on another executor
    settings = ae.io.scenario_file.load_monte_carlo(model).model_copy(update={"paths": 96, "seed": 5})
    sim = simulate(ae.load_deal(EXAMPLE), ae.load_scenario(stress), settings, executor=Executor("serial"))
    paths = pd.read_parquet(out / "mc_paths.parquet")
    pd.testing.assert_frame_equal(paths, sim.paths, check_exact=True)
    csv = pd.read_csv(out / "mc_summary.csv")
    assert csv["expected_loss"].tolist() == pytest.approx(sim.summary()["expected_loss"].tolist(), abs=1e-6)
    wb = openpyxl.load_workbook(out / "SZ-IP-PLEDGE-2026-1_senior_termsheet.xlsx")
    assert "临界违约率与损失分布 Break-even & losses" in wb.sheetnames
    # a second run with the same seed writes byte-identical frames
    p = cli("simulate", str(EXAMPLE), "-s", str(stress), "--model", str(model), "--paths", "96", "--seed", "5",
            "--no-term-sheets", "--no-progress", "--executor", "serial", "-o", str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    for name in ("mc_paths.csv", "mc_pool.csv", "mc_summary.csv", "mc_loss_distribution.csv"):
        assert (tmp_path / "b" / name).read_bytes() == (out / name).read_bytes(), name


def test_breakeven_command(tmp_path):
    stress = SCENARIOS / "stress_guarantor_fails.yaml"
    p = cli("breakeven", str(EXAMPLE), "-s", str(stress), "--tranche", "A", "--stress", "cdr", "--stress",
            "cdr_multiple", "-o", str(tmp_path), "--lang", "en")
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(tmp_path / "breakeven.csv")
    api = breakeven(ae.load_deal(EXAMPLE), ae.load_scenario(stress), stresses=["cdr", "cdr_multiple"], tranches=["A"]).table
    assert got["breakeven"].tolist() == pytest.approx(api["breakeven"].tolist(), abs=1e-6)
    assert set(got["tranche"]) == {"A"}
    assert (tmp_path / "tranche_loss_vs_default_multiple.png").exists()
    curve = pd.read_csv(tmp_path / "loss_curve.csv")
    assert set(curve["stress"]) == {"cdr_multiple"} and len(curve) == 41 * 2
    wb = openpyxl.load_workbook(tmp_path / "SZ-IP-PLEDGE-2026-1_senior_termsheet.xlsx")
    assert "Break-even & losses" in wb.sheetnames
    _no_partial(tmp_path)


def test_sweep_command(tmp_path):
    grid = SCENARIOS / "grid_default_multiples.yaml"
    p = cli("sweep", str(EXAMPLE), "--grid", str(grid), "-s", str(SCENARIOS / "stress.yaml"), "--chunk", "5",
            "--format", "parquet", "-o", str(tmp_path), "--no-progress")
    assert p.returncode == 0, p.stderr
    g = load_grid(grid)
    t = pd.read_parquet(tmp_path / "sweep_tranches.parquet")
    assert len(t) == (len(g.scenarios) + 1) * 2
    assert list(t.columns[:3]) == ["scenario", "cdr_x", "timing"]
    assert t["scenario"].iloc[-1] == "stress" and pd.isna(t["cdr_x"].iloc[-1])
    assert (tmp_path / "sweep_tranche_loss.png").exists() and (tmp_path / "manifest.json").exists()
    assert "default_multiples[cdr_x=12, timing=ramp]" in set(t["scenario"])


@pytest.mark.parametrize(("args", "fragments"), [
    (["breakeven", str(EXAMPLE), "--tranche", "AA"], ["--tranche: unknown tranche 'AA'; did you mean 'A'?"]),
    (["simulate", str(EXAMPLE), "--dask", "--scheduler", "tcp://127.0.0.1:1"], ["give --dask (start a LocalCluster) or --scheduler"]),
    (["simulate", str(EXAMPLE), "--paths", "0", "--correlation", "1.5"],
     ["--paths: Input should be greater than or equal to 1", "--correlation: 1.5 looks like a percentage"]),
    (["sweep", str(EXAMPLE), "--grid", "tests/bad_inputs/grid_every_problem_at_once/scenario.yaml"],
     ["grid[0].values[1]: defaults.cdr: 3.0 looks like a percentage", "4 problem(s) found."]),
    (["simulate", str(EXAMPLE), "--backend", "fast", "--criterion", "sometimes"],
     ["--backend: unknown backend 'fast'", "--criterion: unknown criterion 'sometimes'"]),
])
def test_bad_input_exits_2_with_every_problem(args, fragments):
    p = cli(*args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    for f in fragments:
        assert f in p.stderr, (f, p.stderr)


def test_ctrl_c_stops_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "abs_engine.cli", "simulate", str(EXAMPLE), "--paths", "200000",
                             "-s", str(SCENARIOS / "stress.yaml"), "-o", str(out), "--workers", "2", "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    deadline = time.time() + 60
    while time.time() < deadline and not any(out.glob(".abs-engine-partial-*")):
        time.sleep(0.1)
    time.sleep(1.0)  # into the paths
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "nothing was written" in stderr and "Traceback" not in stderr
    assert list(out.iterdir()) == [], list(out.iterdir())


@pytest.mark.parametrize("command", ["sweep", "simulate"])
def test_long_runs_print_an_estimate_and_need_yes(tmp_path, monkeypatch, capsys, command):
    """A run above the pilot threshold is timed on a pilot; one estimated above the
    long-run limit stops (exit 2, 'pass --yes') unless --yes is given, and then runs. The
    thresholds are lowered so that the example deal counts as long."""
    from abs_engine.cli import app
    from abs_engine.cli import studies as scli

    monkeypatch.setattr(scli, "PILOT_ABOVE", 1)
    monkeypatch.setattr(scli, "LONG_RUN_S", 0.0)
    args = {"sweep": ["sweep", str(DEALS / "sz_pledge_2026_1.yaml"), "-s", str(SCENARIOS / "base.yaml"),
                      "-s", str(SCENARIOS / "stress.yaml")],
            "simulate": ["simulate", str(DEALS / "sz_pledge_2026_1.yaml"), "-n", "64", "--no-term-sheets"]}[command]
    args += ["--no-progress", "-o", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exc:
        app(args, prog_name="abs-engine")
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "estimate " in err and "pass --yes to start it" in err
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(SystemExit) as exc:
        app([*args, "--yes"], prog_name="abs-engine")
    assert exc.value.code in (0, None)
    assert "estimate " in capsys.readouterr().err and (tmp_path / "out" / "manifest.json").exists()
