"""The layering rule of docs/architecture.md, read from the imports: every module belongs to
one stage of the flow; a module imports only modules of its own stage or of earlier ones,
and no two modules import each other, directly or through others. Imports inside functions
count as well (a lazy import is still a dependency); only the imports under ``if
TYPE_CHECKING:`` (annotations, never executed) are left out, and the exceptions below, each
with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "abs_engine"

#: The stages of the flow, in order: (name, module prefixes). A prefix names a module or a
#: package (all its modules). docs/architecture.md draws the same picture.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("errors", "calendars", "version", "_lazy")),
    ("model", ("model",)),
    ("conventions", ("dates", "curves", "analytics", "eligibility")),
    ("pools", ("pools",)),
    ("support", ("support",)),
    ("inputs", ("checks", "io")),
    ("periods", ("periods",)),
    ("waterfall", ("waterfall", "_waterfall")),
    ("engine", ("limits", "restart", "measures", "results", "engine")),
    ("after the run", ("actuals", "valuation")),
    ("studies", ("studies", "staticpool")),
    ("report", ("report",)),
    ("cli", ("cli", "")),  # "": the package itself (abs_engine/__init__.py, the public API)
)

#: Imports that may reach a later stage: (importer, imported) -> why.
ALLOWED: dict[tuple[str, str], str] = {}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name relative to it ('' is the package)."""
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyx")):
        parts = list(f.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] == "__main__":
            continue
        out[".".join(parts)] = f
    return out


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of ``tree`` at any depth, but those under ``if TYPE_CHECKING:``."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                out.append(child)
            stack.append(child)
    return out


def dependencies() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name imported from a package counts as
    its submodule when there is one, else as the package)."""
    mods = modules()
    deps: dict[str, set[str]] = {}
    for name, f in mods.items():
        if f.suffix == ".pyx":
            deps[name] = set()  # the kernel imports nothing of the package (cimports C only)
            continue
        pkg = name.split(".") if f.name == "__init__.py" else name.split(".")[:-1]
        pkg = [p for p in pkg if p]
        found: set[str] = set()
        for node in _imports(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
                bases = [t.removeprefix("abs_engine").lstrip(".") for t in targets if t.split(".")[0] == "abs_engine"]
                found.update(b for b in bases if b in mods)
                continue
            if node.level:
                base = pkg[: len(pkg) - node.level + 1] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "abs_engine":
                base = node.module.split(".")[1:]
            else:
                continue
            mod = ".".join(base)
            for a in node.names:
                sub = f"{mod}.{a.name}" if mod else a.name
                found.add(sub if sub in mods else mod)
        found.discard(name)
        deps[name] = found
    return deps


def stage_of(name: str) -> int:
    """The index of ``name``'s stage: the stage of its longest matching prefix."""
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(STAGES):
        for p in prefixes:
            if (name == p or name.startswith(p + ".") or p == "") and len(p) > best_len:
                best, best_len = i, len(p)
    assert best is not None, name
    return best


def test_every_module_has_a_stage():
    unstaged = [m for m in modules() if m and not any(m == p or m.startswith(p + ".") for _, ps in STAGES for p in ps if p)]
    assert not unstaged, f"modules of no stage (add them to STAGES and docs/architecture.md): {unstaged}"


def test_no_module_imports_a_later_stage():
    bad = []
    for mod, deps in dependencies().items():
        for d in deps:
            if stage_of(d) > stage_of(mod) and (mod, d) not in ALLOWED:
                bad.append(f"{mod or 'abs_engine'} ({STAGES[stage_of(mod)][0]}) imports {d or 'abs_engine'} "
                           f"({STAGES[stage_of(d)][0]})")
    assert not bad, "upstream reaches:\n" + "\n".join(sorted(bad))


def cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``deps`` (one per strongly connected component of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(deps.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    deps = dependencies()
    # a package's __init__ importing its own modules is how it exports them, not a cycle
    # with them: an edge from a module to its own package is left out
    deps = {m: {d for d in ds if not (d == "" or (m.startswith(d + ".")))} for m, ds in deps.items()}
    found = cycles(deps)
    assert not found, f"import cycles: {found}"


def test_the_checks_find_what_they_must():
    """The rule's own test: a made-up upstream reach and a made-up cycle are found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert stage_of("engine") > stage_of("waterfall.compile") > stage_of("pools.pledge") > stage_of("model.deal")
    assert stage_of("cli.main") == len(STAGES) - 1 and stage_of("") == len(STAGES) - 1
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import b\ndef f():\n    from .c import d\n")
    assert [n.module for n in _imports(tree) if isinstance(n, ast.ImportFrom)] == ["typing", "c"]
