"""Run-size limits (abs_engine/limits.py): a run beyond sane sizes is refused with a clear
message before anything large is allocated; the file-level limits (YAML size and nesting,
tape rows, amounts) are tested with the bad-input corpus (tests/test_bad_inputs.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from builders import deal, loan
from conftest import DEALS, ROOT

import abs_engine as ae
from abs_engine.limits import (
    MAX_HORIZON_MONTHS,
    MEMORY_ENV,
    horizon_months,
    memory_budget,
    working_bytes,
)
from abs_engine.model.scenario import Scenario


def test_horizon_beyond_the_limit_is_refused(backend):
    """A legal maturity typed as 2160 instead of 2026 would project 134 years of months: refused
    by the deal's own checks (without a scenario's recovery lag), as validate refuses it."""
    d = deal([loan(1)], header={"legal_maturity": dt.date(2160, 3, 10)})
    with pytest.raises(ae.InputError, match=r"deal.legal_maturity: the projection would run 1,611 months .* limit is 1,200 months"):
        ae.run(d, backend=backend)
    ok = deal([loan(1)], header={"legal_maturity": dt.date(2100, 3, 10)})
    assert horizon_months(ok, [Scenario(name="x")]) <= MAX_HORIZON_MONTHS
    ae.run(ok, backend=backend).check_conservation()


def test_recovery_lag_counts_in_the_horizon():
    d = deal([loan(1)], header={"legal_maturity": dt.date(2124, 12, 10)})
    base, lagged = Scenario(name="a"), Scenario(name="b", recovery={"lag_months": 240})
    assert horizon_months(d, [base]) <= MAX_HORIZON_MONTHS < horizon_months(d, [base, lagged])
    with pytest.raises(ae.InputError, match="projection would run"):
        ae.run(d, [base, lagged])


def test_working_memory_beyond_the_budget_is_refused(monkeypatch, example_deal, example_scenarios):
    """Scenarios x assets x months beyond the memory budget: refused, naming the sizes, the
    estimate, the limit and how to change it."""
    months = horizon_months(example_deal, example_scenarios)
    assert working_bytes(example_deal, 10**7, months) > memory_budget()  # ten million paths
    assert working_bytes(example_deal, 2, months) < 2**30
    monkeypatch.setenv(MEMORY_ENV, "0.00001")
    with pytest.raises(ae.InputError) as exc:
        ae.run(example_deal, example_scenarios)
    msg = str(exc.value)
    assert "2 scenarios x 12 assets x 56 months need about" in msg and "MiB of working memory (limit 0.01 MiB)" in msg
    assert MEMORY_ENV in msg
    # a setting that is no usable limit is refused, not ignored: nan compared false with every
    # estimate and so switched the limit off
    for bad in ("nan", "not a number", "-1", "0", "inf"):
        monkeypatch.setenv(MEMORY_ENV, bad)
        with pytest.raises(ae.InputError, match=f"{MEMORY_ENV}: '{bad}' is not a usable memory limit"):
            ae.run(example_deal, example_scenarios)
    monkeypatch.setenv(MEMORY_ENV, "")  # empty: the default
    ae.run(example_deal, example_scenarios).check_conservation()


def test_cli_refuses_an_oversized_run_without_traceback(tmp_path):
    env = {**os.environ, MEMORY_ENV: "0.00001"}
    p = subprocess.run([sys.executable, "-m", "abs_engine.cli", "run", str(DEALS / "sz_pledge_2026_1.yaml"),
                        "--out", str(tmp_path / "out"), "--no-term-sheets"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "of working memory (limit 0.01 MiB)" in p.stderr and "Traceback" not in p.stderr + p.stdout
    assert not (tmp_path / "out").exists()
