"""The code stays ruff- and mypy-clean (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_ruff_clean():
    p = _run("ruff", "check", "--no-cache", ".")
    assert p.returncode == 0, p.stdout + p.stderr


def test_mypy_clean():
    p = _run("mypy", "abs_engine")
    assert p.returncode == 0, p.stdout + p.stderr
