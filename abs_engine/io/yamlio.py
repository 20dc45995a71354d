"""Safe YAML reading that refuses duplicate keys and reports syntax errors with lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem
from .files import read_bounded

#: Files larger than this are refused before parsing (a deal file is a few kB).
MAX_YAML_BYTES = 20 * 1024 * 1024
#: Deeper nesting of [ ] / { } is refused before parsing (PyYAML's scanner slows down with
#: the depth of flow collections and its parser recurses; a deal file nests a few levels).
MAX_FLOW_DEPTH = 100


def _flow_depth(text: str) -> int:
    """Maximum nesting of flow brackets (a cheap over-estimate: brackets in strings count)."""
    depth = top = 0
    for ch in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if ch in "[{" else max(depth - 1, 0)
        top = max(top, depth)
    return top


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)):  # unhashable keys: SafeLoader reports them
                if key in seen:
                    self.duplicates.append((str(key), key_node.start_mark.line + 1))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            # a scalar that looks like a date/number but is not one: 2026-02-30, !!int abc
            if not isinstance(node, yaml.ScalarNode):
                raise
            raise _BadValue(None, None, f"invalid value '{node.value}' ({exc})", node.start_mark) from None


# Numbers are decimal, as written: YAML 1.1 (PyYAML) reads ``012`` as octal 10, ``1:30`` as
# 90 (base 60) and ``0x1F`` as 31, silently. Here only decimal digits make a number; the
# rest stays text, which a number field then refuses (or reads as the decimal it shows).
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_UniqueKeyLoader.add_implicit_resolver(_FLOAT, re.compile(
    r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


class _BadValue(yaml.constructor.ConstructorError):
    """A well-formed scalar whose value cannot be built (not a syntax error)."""


def read_text(path: Path, what: str) -> str:
    """Read a UTF-8 text file, with clear errors for missing, huge or non-UTF-8 files."""
    name = str(path)
    raw = read_bounded(path, what, MAX_YAML_BYTES)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.single(
            name, "", f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8"
        ) from None


def load_yaml(path: Path, what: str) -> dict[str, Any]:
    """Parse a YAML mapping from ``path``; every problem becomes an :class:`InputError`."""
    text = read_text(path, what)
    name = str(path)
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise InputError.single(name, "", f"YAML nested too deeply (more than {MAX_FLOW_DEPTH} levels of [ ] or {{ }})")
    try:
        loader = _UniqueKeyLoader(text)
    except yaml.reader.ReaderError as exc:  # the reader refuses control characters up front
        line = text.count("\n", 0, exc.position) + 1
        raise InputError.single(
            name, f"line {line}", f"character {chr(exc.character)!r} is not allowed in YAML (is this a text file?)"
        ) from None
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, _BadValue):
            raise InputError.single(name, where, str(reason)) from None
        raise InputError.single(name, where, f"YAML syntax error: {reason}") from None
    except RecursionError:
        raise InputError.single(name, "", "YAML nested too deeply") from None
    finally:
        loader.dispose()
    problems = [Problem(name, f"line {line}", f"duplicate key '{key}'") for key, line in loader.duplicates]
    if problems:
        raise InputError(problems)
    if data is None:
        raise InputError.single(name, "", f"empty {what} file")
    if not isinstance(data, dict):
        raise InputError.single(name, "", f"a {what} file must be a mapping of fields, got {type(data).__name__}")
    return data
