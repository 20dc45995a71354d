"""Writing a changed deal file: the original YAML text with only the changed values
replaced, so its comments, order and layout survive (the sized structure of
``abs-engine size``, the solved coupons of ``abs-engine solve``).

A value is addressed by its field path: mapping keys, list indexes, or for lists of named
items (tranches, accounts, fees, pools, triggers) the item's ``name``, e.g.
``("tranches", "A", "balance")``. The value's node in the text (found with PyYAML's
composer, which records where each node starts and ends) is replaced by the new value.
Paths of tapes and of a curve file, relative to the deal file, are rewritten relative to
the directory the new file is written to. The new text is checked by loading it from that
directory (:func:`abs_engine.io.load_deal`) before it is written, atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem
from ..model.deal import TAPES, Deal
from .outputs import atomic_open
from .yamlio import read_text

Key = str | int


def _scalar(value: Any) -> str:
    """A YAML scalar for ``value``: integral amounts without a decimal point, floats at full
    precision, text double-quoted.

    >>> _scalar(182800000.0), _scalar(0.0381), _scalar("tapes/x.csv")
    ('182800000', '0.0381', '"tapes/x.csv"')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _child(node: yaml.Node, key: Key, where: str) -> yaml.Node:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return v
        raise KeyError(f"{where}: no key '{key}'")
    if isinstance(node, yaml.SequenceNode):
        if isinstance(key, int):
            return node.value[key]
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                for k, v in item.value:
                    if k.value == "name" and isinstance(v, yaml.ScalarNode) and v.value == key:
                        return item
        raise KeyError(f"{where}: no item named '{key}'")
    raise KeyError(f"{where}: not a mapping or a list")


def edit_text(text: str, changes: Mapping[tuple[Any, ...], Any]) -> str:
    """``text`` with the scalar at each field path replaced by its new value.

    >>> edit_text("a: 1  # kept\\nb: [{name: x, v: 2}]\\n", {("a",): 5, ("b", "x", "v"): 0.5})
    'a: 5  # kept\\nb: [{name: x, v: 0.5}]\\n'
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans: list[tuple[int, int, str]] = []
    for path, value in changes.items():
        node = root
        where = ""
        for key in path:
            where = f"{where}.{key}" if where else str(key)
            node = _child(node, key, where)
        if not isinstance(node, yaml.ScalarNode):
            raise KeyError(f"{where}: not a single value")
        spans.append((node.start_mark.index, node.end_mark.index, _scalar(value)))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _relocated(src: Path, target_dir: Path) -> dict[tuple[Any, ...], str]:
    """New values of every tape and curve path of the deal file ``src`` (relative to its
    directory), relative to ``target_dir``."""
    out: dict[tuple[Any, ...], str] = {}

    def rel(p: str) -> str:
        if os.path.isabs(p):
            return p
        where, there = (src.parent / p).resolve(), target_dir.resolve()
        if os.path.commonpath([where, there]) == where.anchor:  # nothing in common: absolute
            return where.as_posix()
        return Path(os.path.relpath(where, there)).as_posix()

    raw = yaml.safe_load(read_text(src, "deal"))
    for i, pool in enumerate(raw.get("pools") or []):
        if not isinstance(pool, dict):
            continue
        for field, *_ in TAPES.get(str(pool.get("kind", "pledge_loan")), []):
            if isinstance(pool.get(field), str):
                out[("pools", i, field)] = rel(pool[field])
    curve = (raw.get("pricing") or {}).get("curve")
    if isinstance(curve, str):
        out[("pricing", "curve")] = rel(curve)
    return out


def deal_text(src: str | Path, changes: Mapping[tuple[Any, ...], Any], target_dir: str | Path, *,
              note: str = "") -> str:
    """The text of ``src`` with ``changes`` applied, tape and curve paths made relative to
    ``target_dir``, and ``note`` (one line per line) as a comment on top."""
    src = Path(src)
    text = read_text(src, "deal")
    edits = {**_relocated(src, Path(target_dir)), **changes}
    text = edit_text(text, edits)
    stamp = f"Written by abs_engine on {dt.date.today().isoformat()} from {src.name}"
    head = "".join(f"# {line}\n" for line in [stamp, *note.splitlines()] if line)
    return head + text


def check_text(text: str, target_dir: str | Path, name: str) -> Deal:
    """Load ``text`` as a deal file placed in ``target_dir`` (tapes relative to it); every
    problem is reported against ``name``."""
    from .deal_file import load_deal

    d = Path(target_dir)
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".abs-engine-check-", suffix=".yaml", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            return load_deal(tmp)
        except InputError as exc:
            raise InputError([Problem(name if p.file == tmp else p.file, p.path, p.message) for p in exc.problems]) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_deal(text: str, target: str | Path, *, final_dir: str | Path | None = None) -> Path:
    """Check ``text`` as a deal file in ``final_dir`` (default: ``target``'s directory) and
    write it to ``target`` atomically."""
    target = Path(target)
    check_text(text, final_dir if final_dir is not None else target.parent, str(target))
    with atomic_open(target) as fh:
        fh.write(text)
    return target
