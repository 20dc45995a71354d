"""The seasoned-deal command line (docs/seasoned.md): run --write-status, run --status,
value, track — run as a user runs them."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from conftest import DEALS, SCENARIOS
from test_cli import EXAMPLE, cli

import abs_engine as ae

SEASONED = DEALS / "seasoned"
STATUS = SEASONED / "sz_pledge_2026_1_2027-01-26.yaml"


def test_write_a_status_then_run_from_it(tmp_path):
    p = cli("run", str(EXAMPLE), "-s", str(SCENARIOS / "stress.yaml"), "--write-status", "2", "--no-term-sheets",
            "-o", str(tmp_path / "closing"))
    assert p.returncode == 0, p.stderr
    status = tmp_path / "closing" / "status_after_2" / "stress.yaml"
    assert status.exists() and (tmp_path / "closing" / "status_after_2" / "stress.pledge_loans.assets.csv").exists()
    manifest = json.loads((tmp_path / "closing" / "manifest.json").read_text(encoding="utf-8"))
    assert {"stress.yaml", "stress.pledge_loans.defaults.csv"} <= set(manifest["outputs"])
    p = cli("run", str(EXAMPLE), "-s", str(SCENARIOS / "stress.yaml"), "--status", str(status), "-o", str(tmp_path / "seasoned"))
    assert p.returncode == 0, p.stderr
    full = pd.read_csv(tmp_path / "closing" / "tranches.csv")
    part = pd.read_csv(tmp_path / "seasoned" / "tranches.csv")
    assert part["period"].min() == 3
    later = full[full["period"] >= 3].reset_index(drop=True)
    for col in ("interest_paid", "principal_paid", "residual_paid", "balance_end"):
        assert part[col].to_numpy() == pytest.approx(later[col].to_numpy(), abs=1e-6), col
    avp = pd.read_csv(tmp_path / "seasoned" / "actual_vs_projected.csv")
    assert avp["difference"].abs().max() < 1e-5  # its history is the stress run's own
    manifest = json.loads((tmp_path / "seasoned" / "manifest.json").read_text(encoding="utf-8"))
    assert {"status", "status:pledge_loans:tape", "status:pledge_loans:defaults_tape"} <= set(manifest["inputs"])
    # the term sheets: the actuals sheet, the schedule from period 3, the collateral on the status date
    wb = openpyxl.load_workbook(tmp_path / "seasoned" / "SZ-IP-PLEDGE-2026-1_senior_termsheet.xlsx", read_only=True)
    assert any("Actual vs projected" in n for n in wb.sheetnames)
    text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    assert "2026-12-31" in text and "实际与预测" in text


def test_write_status_outside_the_run(tmp_path):
    p = cli("run", str(EXAMPLE), "--write-status", "12", "--no-term-sheets", "-o", str(tmp_path))
    assert p.returncode == 2 and "--write-status: 12: a status is written after a period the run projects and before its last, 1..11" in p.stderr
    assert not (tmp_path / "manifest.json").exists()


def test_value_and_track(tmp_path):
    p = cli("value", str(EXAMPLE), str(SEASONED / "valuation_2027-02-15.yaml"), "--status", str(STATUS),
            "-s", str(SCENARIOS / "base.yaml"), "-o", str(tmp_path / "value"))
    assert p.returncode == 0, p.stderr
    v = pd.read_csv(tmp_path / "value" / "valuation.csv")
    assert list(v["tranche"]) == ["A", "SUB"] and v.loc[0, "basis"] == "curve" and v.loc[1, "basis"] == "yield"
    assert "100.6545" in p.stdout and "8.0000%" in p.stdout
    d = ae.load_deal(EXAMPLE)
    st = ae.load_status(STATUS, d)
    run = ae.run(d, ae.load_scenario(SCENARIOS / "sz_2026_1_named_default.yaml"))
    p = cli("track", str(EXAMPLE), str(STATUS), "-s", str(SCENARIOS / "base.yaml"), "-o", str(tmp_path / "track"))
    assert p.returncode == 0, p.stderr
    t = pd.read_csv(tmp_path / "track" / "actual_vs_projected.csv")
    assert sorted(t["period"].unique()) == [1, 2] and (tmp_path / "track" / "actual_vs_projected.png").exists()
    got = t[(t["period"] == 2) & (t["item"] == "defaults")]["actual"].iloc[0]
    assert got == pytest.approx(st.history[1].defaults, abs=1e-6) == pytest.approx(run.pool.at[1, "default_amount"], abs=1e-6)
    p = cli("track", str(EXAMPLE), str(STATUS), "--baseline", "later", "-o", str(tmp_path / "bad"))
    assert p.returncode == 2 and "--baseline: unknown baseline 'later' (closing, previous)" in p.stderr
