"""Docs that must stay true: the generated reference and the architecture file list."""

from __future__ import annotations

import re

from conftest import ROOT

from abs_engine.model.reference import markdown_reference


def test_deal_language_reference_is_generated():
    committed = (ROOT / "docs" / "deal-language-reference.md").read_text(encoding="utf-8")
    assert committed == markdown_reference(), "run: python -m abs_engine.model.reference > docs/deal-language-reference.md"


def test_architecture_lists_real_paths_and_every_module():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = re.findall(r"^\| `([^`]+)` \|", text, flags=re.M)
    assert paths
    for p in paths:
        assert (ROOT / p).exists(), f"docs/architecture.md lists {p}, which does not exist"
    listed = set(paths)
    for mod in (ROOT / "abs_engine").glob("*.py*"):
        if mod.suffix in (".py", ".pyx") and mod.name != "__main__.py":
            rel = f"abs_engine/{mod.name}"
            assert rel in listed or rel in text, f"{rel} is missing from docs/architecture.md"
    for pkg in (ROOT / "abs_engine").iterdir():
        if pkg.is_dir() and (pkg / "__init__.py").exists():
            assert f"abs_engine/{pkg.name}/" in text, f"abs_engine/{pkg.name}/ is missing from docs/architecture.md"
