"""The documentation site: mkdocs builds it with warnings as errors, every page is in the
nav, and the Python examples of the quick start and the tutorials run as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DOCS = ROOT / "docs"
#: Pages whose ```python blocks are run, in order, in one namespace each.
RUNNABLE = ["index.md", "tutorials/licence-deal.md", "tutorials/risk-sharing.md", "tutorials/breakeven-montecarlo.md"]


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # no --quiet: it hides the warnings from the strict-mode counter, and the build passes
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True, text=True, timeout=300,
    )


def test_site_builds_without_a_warning(tmp_path):
    p = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "WARNING" not in p.stderr, p.stderr
    for page in ("index.html", "gallery/index.html", "tutorials/licence-deal/index.html",
                 "deal-language-reference/index.html"):
        assert (tmp_path / "site" / page).exists(), page


def test_strict_build_fails_on_a_broken_anchor(tmp_path):
    """The check above can fail: a link to a missing anchor breaks the build."""
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with open(tmp_path / "docs" / "index.md", "a", encoding="utf-8") as f:
        f.write("\nSee [nothing](conventions.md#no-such-anchor).\n")
    p = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert p.returncode != 0
    assert "no-such-anchor" in p.stdout + p.stderr


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for v in node.values() for p in _nav_pages(v)]
    return []


def test_every_docs_page_is_in_the_nav():
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    missing = [p for p in pages if p not in nav]
    assert not missing, f"add these pages to the nav of mkdocs.yml: {missing}"
    assert not [p for p in nav if p not in pages], "mkdocs.yml lists pages that do not exist"


@pytest.mark.parametrize("page", RUNNABLE)
def test_python_examples_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(encoding="utf-8"), flags=re.M | re.S)
    assert blocks, page
    # run where a user runs them (the repository root), writing outputs into tmp_path
    for name in ("deals", "scenarios"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs:{page}"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{page} [python block {i + 1}]", "exec"), namespace)
    assert list((tmp_path / "out").rglob("*_termsheet.xlsx"))


def test_readme_example_and_summary_table_are_current(tmp_path, monkeypatch):
    """The README's Python example runs, and its tranche-summary table is what the README's
    first command prints today (update the table when the example deal changes)."""
    import abs_engine as ae

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("deals", "scenarios"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for code in re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S):
        exec(compile(code, "README.md", "exec"), {"__name__": "docs:README"})
    rows = re.findall(r"^ (base|stress)\s+(A|SUB)\s+([\d,.\s]+?)\s*$", text, flags=re.M)
    assert len(rows) == 4, "README.md: the tranche summary table is missing"
    deal = ae.load_deal(ROOT / "deals" / "sz_pledge_2026_1.yaml")
    result = ae.run(deal, [ae.load_scenario(ROOT / "scenarios" / f"{s}.yaml") for s in ("base", "stress")])
    summary = result.summary().set_index(["scenario", "tranche"])
    for scenario, tranche, numbers in rows:
        shown = [float(x.replace(",", "")) for x in numbers.split()]
        row = summary.loc[(scenario, tranche)]
        expected = [row.balance, row.interest, row.principal, row.residual, row.writedown, row.wal_years]
        assert shown == pytest.approx(expected, abs=0.006), (
            f"README.md: the {scenario}/{tranche} row of the summary table is out of date: "
            f"run the README's first command and copy its table")
