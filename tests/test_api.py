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
