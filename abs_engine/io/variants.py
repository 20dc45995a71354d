"""Variants files: one deal and named changes to it, the structures ``abs-engine compare``
sets side by side (docs/structuring.md, "Comparing structures").

.. code-block:: yaml

    deal: ../deals/sz_pledge_2026_1.yaml   # relative to this file
    include_base: true                     # the deal as written is a structure too (default)
    variants:
      - name: senior_90
        description: Senior at 90% of the notes
        set:
          tranches.A.balance: 185400000    # a list item by its name, or by index: tranches.0
          tranches.SUB.balance: 20600000
      - name: reserve_2pct
        set:
          accounts.reserve.target.percent_of_notes: 0.02

Each variant is the deal file with its ``set`` values written in (a missing last key is
added), validated as a deal file: every problem of every variant is reported at once, with
the variants file, ``variants[i].set.<path>`` and the reason.
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem
from ..model.deal import Deal
from .files import resolved
from .yamlio import load_yaml

_KEYS = {"deal", "include_base", "variants"}
_VARIANT_KEYS = {"name", "description", "set"}


@dataclass(frozen=True)
class Structure:
    """One structure to compare: a name, the deal, where it comes from."""

    name: str
    deal: Deal
    source: str
    description: str = ""


def _set(raw: dict[str, Any], path: str) -> tuple[Any, str | int] | str:
    """The container and key ``path`` (dotted) points at in ``raw``, or why it cannot."""
    parts = path.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        nxt = _step(node, part)
        if isinstance(nxt, str):
            return f"{'.'.join(parts[:i + 1])}: {nxt}"
        node = nxt[0][nxt[1]]
    last = parts[-1]
    if isinstance(node, list):
        got = _step(node, last)
        return got if not isinstance(got, str) else f"{path}: {got}"
    if isinstance(node, dict):
        return node, last
    return f"{path}: {'.'.join(parts[:-1])} is a single value, not a mapping"


def _step(node: Any, part: str) -> tuple[Any, str | int] | str:
    if isinstance(node, dict):
        if part not in node:
            import difflib

            close = difflib.get_close_matches(part, [str(k) for k in node], n=1)
            return f"no field '{part}'" + (f"; did you mean '{close[0]}'?" if close else "") + \
                f" (known: {', '.join(map(str, node))})"
        return node, part
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            i = int(part)
            return (node, i) if -len(node) <= i < len(node) else f"index {i} out of range ({len(node)} items)"
        names = [x.get("name") for x in node if isinstance(x, dict)]
        if part in names:
            return node, names.index(part)
        return f"no item named '{part}' (known: {', '.join(map(str, names))})"
    return f"'{part}': not a mapping or a list"


def load_variants(path: str | Path) -> list[Structure]:
    """The structures of a variants file (module docstring), the deal as written first
    unless ``include_base: false``."""
    from .deal_file import load_deal

    p = Path(path)
    file = str(path)
    doc = load_yaml(p, "variants")
    problems = [Problem(file, k, f"unknown key (known: {', '.join(sorted(_KEYS))})") for k in doc if k not in _KEYS]
    deal_rel = doc.get("deal")
    if not isinstance(deal_rel, str):
        problems.append(Problem(file, "deal", "the deal file (a path relative to this file) is required"))
        raise InputError(problems)
    deal_path = p.parent / deal_rel
    try:
        base = load_deal(deal_path)
    except InputError as exc:
        raise InputError(problems + [Problem(file, "deal", f"{q}") for q in exc.problems]) from None
    raw0 = load_yaml(deal_path, "deal")
    variants = doc.get("variants") or []
    if not isinstance(variants, list) or not variants:
        problems.append(Problem(file, "variants", "give a list of variants, each with a name and the fields it sets"))
        raise InputError(problems)
    # the deal as written is named by its deal name, as a deal file given to compare is: not
    # "base", which reads as the base scenario beside the scenario columns
    out = [Structure(base.name, base, str(deal_path), "the deal as written")] if doc.get("include_base", True) else []
    names = {s.name for s in out}
    for i, v in enumerate(variants):
        at = f"variants[{i}]"
        if not isinstance(v, dict):
            problems.append(Problem(file, at, "a variant is a mapping with name, description and set"))
            continue
        problems += [Problem(file, f"{at}.{k}", f"unknown key (known: {', '.join(sorted(_VARIANT_KEYS))})")
                     for k in v if k not in _VARIANT_KEYS]
        name = v.get("name")
        if not isinstance(name, str) or not name:
            problems.append(Problem(file, f"{at}.name", "every variant needs a name"))
            continue
        if name in names:
            problems.append(Problem(file, f"{at}.name", f"duplicate name '{name}'"))
            continue
        names.add(name)
        sets = v.get("set")
        if not isinstance(sets, dict) or not sets:
            problems.append(Problem(file, f"{at}.set", "give the fields the variant sets (dotted path: value)"))
            continue
        raw = copy.deepcopy(raw0)
        bad = False
        for key, value in sets.items():
            got = _set(raw, str(key))
            if isinstance(got, str):
                problems.append(Problem(file, f"{at}.set.{key}", got.split(": ", 1)[1] if ": " in got else got))
                bad = True
                continue
            container, k = got
            container[k] = value
        if bad:
            continue
        try:
            deal = _load_raw(raw, deal_path.parent)
        except InputError as exc:
            problems += [Problem(file, f"{at} ({name}): {q.path}" if q.path else f"{at} ({name})", q.message)
                         for q in exc.problems]
            continue
        out.append(Structure(name, deal, f"{file}:{at}", str(v.get("description") or "")))
    if problems:
        raise InputError(problems)
    return out


def _load_raw(raw: dict[str, Any], folder: Path) -> Deal:
    """A deal from a raw mapping whose tape and curve paths are relative to ``folder``
    (they are made absolute; the mapping is loaded from a temporary file)."""
    from ..model.deal import TAPES
    from .deal_file import load_deal

    raw = copy.deepcopy(raw)
    for pool in raw.get("pools") or []:
        if isinstance(pool, dict):
            for field, *_ in TAPES.get(str(pool.get("kind", "pledge_loan")), []):
                if isinstance(pool.get(field), str):
                    pool[field] = str(resolved(folder / pool[field]))
    pricing = raw.get("pricing")
    if isinstance(pricing, dict) and isinstance(pricing.get("curve"), str):
        pricing["curve"] = str(resolved(folder / pricing["curve"]))
    fd, tmp = tempfile.mkstemp(prefix="abs-engine-variant-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(raw, fh, allow_unicode=True, sort_keys=False)
        try:
            return load_deal(tmp)
        except InputError as exc:
            raise InputError([Problem("" if q.file == tmp else q.file, q.path, q.message) for q in exc.problems]) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
