"""The public surface, and the constants the kernel shares with Python."""

from __future__ import annotations

import re

from conftest import ROOT

import abs_engine
from abs_engine.waterfall import program as P


def test_public_api_is_pinned():
    assert sorted(abs_engine.__all__) == sorted([
        "AbsEngineError", "Deal", "InputError", "Result", "Scenario", "__version__", "load_deal", "load_scenario", "load_status",
        "run",
    ])


def test_kernel_constants_match_program_layout():
    """The enum at the top of _waterfall.pyx must equal abs_engine/waterfall/program.py."""
    text = (ROOT / "abs_engine" / "_waterfall.pyx").read_text(encoding="utf-8")
    # the first enum block mirrors waterfall/program.py (kernel-internal enums follow it)
    block = text[text.index("cdef enum:"):]
    block = block[: block.index("\n\n")]
    enum = dict(re.findall(r"^    ([A-Z][A-Z_]+) = (\d+)$", block, flags=re.M))
    assert len(enum) > 30
    for name, value in enum.items():
        assert getattr(P, name) == int(value), name


def test_both_backends_available():
    from abs_engine.engine import kernel

    assert kernel("reference") is not kernel("cython")


def test_every_public_name_resolves():
    """The package's names are imported on first use (abs_engine/_lazy.py): each one works."""
    for name in abs_engine.__all__:
        assert getattr(abs_engine, name) is not None, name
    assert set(abs_engine.__all__) <= set(dir(abs_engine))
    from abs_engine.engine import run
    from abs_engine.studies import breakeven

    assert abs_engine.run is run
    assert callable(breakeven)  # the function, not the module of the same name


#: what neither ``import abs_engine`` nor ``abs-engine --help`` may load (start-up time,
#: docs/performance.md): each command imports what it needs when it runs
HEAVY = ("pandas", "QuantLib", "openpyxl", "matplotlib", "dask", "distributed", "scipy", "pyarrow")


def test_import_and_help_load_no_numerical_library():
    import json
    import subprocess
    import sys

    code = ("import json, sys\nimport abs_engine\nfirst = set(sys.modules)\nfrom abs_engine.cli import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "sys.stderr.write(json.dumps([sorted(first), sorted(sys.modules)]))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: " in p.stdout and "simulate" in p.stdout
    after_import, after_help = json.loads(p.stderr)
    for modules in (after_import, after_help):
        loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
        assert loaded == [], loaded
