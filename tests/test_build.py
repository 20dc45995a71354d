"""The compiled kernel is the current source: setup.py compiles the SHA-256 of
abs_engine/_waterfall.pyx into it, and a build of another .pyx (an edited, unbuilt source)
is refused by the engine and fails this file loudly."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from conftest import ROOT

from abs_engine import _waterfall, engine
from abs_engine.errors import KernelError

PYX = ROOT / "abs_engine" / "_waterfall.pyx"


def test_the_compiled_kernel_was_built_from_the_current_pyx():
    current = hashlib.sha256(PYX.read_bytes()).hexdigest()
    assert current == _waterfall.SOURCE_SHA256, (
        f"abs_engine/_waterfall.pyx changed since the kernel was built (built from {_waterfall.SOURCE_SHA256[:12]}, "
        f"source {current[:12]}): rebuild with `pip install -e . --no-deps`")
    assert engine.stale_kernel(_waterfall.SOURCE_SHA256, PYX) is None


def test_a_stale_or_unhashed_build_is_described(tmp_path):
    pyx = tmp_path / "_waterfall.pyx"
    pyx.write_bytes(b"# edited\n")
    now = hashlib.sha256(b"# edited\n").hexdigest()
    assert engine.stale_kernel(now, pyx) is None
    why = engine.stale_kernel("0" * 64, pyx)
    assert why is not None and "built from a different _waterfall.pyx (built 000000000000" in why
    assert f"source {now[:12]}" in why and "pip install -e . --no-deps" in why
    why = engine.stale_kernel("", pyx)
    assert why is not None and "without the hash of its source" in why
    # an installation without the source beside the kernel has nothing to compare with
    assert engine.stale_kernel("0" * 64, tmp_path / "absent.pyx") is None


@pytest.fixture
def fresh_kernel_lookup():
    engine._cython_run.cache_clear()
    yield
    engine._cython_run.cache_clear()


def test_the_engine_refuses_a_stale_build(monkeypatch, fresh_kernel_lookup, example_deal):
    """What a kernel built from yesterday's .pyx would do: every cython run stops with the
    reason; the reference backend still runs."""
    monkeypatch.setattr(_waterfall, "SOURCE_SHA256", "f" * 64)
    with pytest.raises(KernelError, match="rebuild it"):
        engine.kernel("cython")
    with pytest.raises(KernelError, match="built from a different _waterfall.pyx"):
        engine.run(example_deal)
    assert engine.kernel("reference") is not None


def test_build_outputs_are_ignored_by_git():
    """The build writes abs_engine/_waterfall.c and the extension module into the source
    tree (editable install); neither may ever be committed."""
    for name in ("abs_engine/_waterfall.c", "abs_engine/_waterfall.cpython-311-x86_64-linux-gnu.so", "build/x"):
        rc = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode
        assert rc == 0, f"{name} is not ignored by .gitignore"
    tracked = subprocess.run(["git", "ls-files", "abs_engine"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [p for p in tracked if p.endswith((".c", ".so", ".pyd", ".html"))], tracked
