"""Safe YAML reading that refuses duplicate keys and reports syntax errors with lines; parsed
by libyaml (PyYAML's C parser) when available, its size bounded in bytes, nesting and values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


#: A YAML document may hold at most this many values (scalars, lists, mappings), counted with
#: every alias expanded (its value is read as often as it is used): a deal file holds a few
#: thousand; a loan list belongs in a tape (docs/errors.md, "Size limits").
MAX_YAML_NODES = 1_000_000

#: libyaml's parser (C) when PyYAML has it: composing the nodes of a 20 MB file in Python took
#: minutes (docs/performance.md, "YAML files"); the resolver and constructor stay Python. A
#: file libyaml refuses is parsed again by PyYAML's own parser, whose messages users see (and
#: a file with a tab, which libyaml reads where PyYAML refuses it, is parsed by PyYAML only).
_FAST: Any = getattr(yaml, "CSafeLoader", None)


def _expanded_size(root: yaml.Node) -> int:
    """Values of the graph under ``root`` with every alias expanded (a shared node counts once
    per use), stopping as soon as the count passes :data:`MAX_YAML_NODES`."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes started and not finished: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if not done:
            if id(node) in open_:  # an alias inside its own anchor: endless when expanded
                return MAX_YAML_NODES + 1
            open_.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children), MAX_YAML_NODES + 1)
            open_.discard(id(node))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


class _UniqueKeys(yaml.SafeLoader if TYPE_CHECKING else object):  # type: ignore[misc]
    """A safe loader's additions: duplicate mapping keys recorded instead of silently keeping
    the last, bad scalar values as :class:`_BadValue`, the values counted and capped."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []
        self.nodes = 0
        self.aliases = "*" in stream  # (without a '*' there is no alias to expand)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        """Each node's tag; counts the nodes as the parser composes them, and stops it past
        :data:`MAX_YAML_NODES` (a 20 MB file is refused in seconds, not composed in minutes)."""
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES:
            raise _TooLarge(None, None, f"more than {MAX_YAML_NODES:,} values", None)
        return super().resolve(kind, value, implicit)

    def get_single_data(self) -> Any:
        """The document, its size with aliases expanded checked before anything is constructed."""
        node = self.get_single_node()
        if node is None:
            return None
        if self.aliases and _expanded_size(node) > MAX_YAML_NODES:
            raise _TooLarge(None, None, f"more than {MAX_YAML_NODES:,} values (aliases expanded)", None)
        return self.construct_document(node)

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


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """PyYAML's own (Python) parser: its messages are the ones users see."""


_Loaders: list[Any] = [_UniqueKeyLoader]
if _FAST is not None:
    class _FastUniqueKeyLoader(_UniqueKeys, _FAST):
        """libyaml's parser."""

    _Loaders.insert(0, _FastUniqueKeyLoader)


# Numbers are decimal, as written: YAML 1.1 (PyYAML) reads ``012`` as octal 10, ``1:30`` as
# 90 (base 60) and ``0x1F`` as 31, silently. Here only decimal digits make a number; the
# rest stays text, which a number field then refuses (or reads as the decimal it shows).
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
for _L in _Loaders:
    _L.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _L.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
    _L.add_implicit_resolver(_FLOAT, re.compile(
        r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


class _BadValue(yaml.constructor.ConstructorError):
    """A well-formed scalar whose value cannot be built (not a syntax error)."""


class _TooLarge(yaml.constructor.ConstructorError):
    """A document with more values than :data:`MAX_YAML_NODES`."""


_RETRY = object()  # (libyaml refused the file: PyYAML's parser says why)


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


def _unreadable(name: str, text: str, exc: yaml.reader.ReaderError) -> InputError:
    """A character YAML does not allow, on its line (PyYAML's reader)."""
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    line = text.count("\n", 0, exc.position) + 1
    return InputError.single(name, f"line {line}", f"character {char!r} is not allowed in YAML (is this a text file?)")


def _data_depth(data: Any) -> int:
    """How deeply mappings and lists nest in ``data`` (iterative: no recursion limit).

    >>> _data_depth({"a": [1, {"b": 2}]}), _data_depth(3)
    (3, 0)
    """
    top, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        top = max(top, depth)
        stack.extend((c, depth + 1) for c in children)
    return top


def load_yaml(path: Path, what: str) -> dict[str, Any]:
    """Parse a YAML mapping from ``path``; every problem becomes an :class:`InputError`."""
    text = read_text(path, what)
    name = str(path)
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise InputError.single(name, "", f"YAML nested too deeply (more than {MAX_FLOW_DEPTH} levels of [ ] or {{ }})")
    loader = None
    try:
        if len(_Loaders) > 1 and "\t" not in text:
            fast = _Loaders[0](text)
            try:
                data = fast.get_single_data()
            except _TooLarge:
                raise
            except (yaml.YAMLError, RecursionError):  # (the message from PyYAML's parser, below)
                data = _RETRY
            finally:
                duplicates = fast.duplicates
                fast.dispose()
        else:
            data = _RETRY
        if data is _RETRY:
            # (PyYAML's reader refuses control characters here, at once)
            loader = _UniqueKeyLoader(text)
            data = loader.get_single_data()
            duplicates = loader.duplicates
    except yaml.reader.ReaderError as exc:
        raise _unreadable(name, text, exc) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, _BadValue):
            raise InputError.single(name, where, str(reason)) from None
        if isinstance(exc, _TooLarge):
            raise InputError.single(name, "", f"YAML too large: {reason}; {what} files are limited to "
                                              f"{MAX_YAML_NODES:,} (loans belong in a tape)") from None
        if reason == "exceeded maximum nesting depth":  # (libyaml's limit)
            raise InputError.single(name, where, "YAML nested too deeply") from None
        raise InputError.single(name, where, f"YAML syntax error: {reason}") from None
    except RecursionError:
        raise InputError.single(name, "", "YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if _data_depth(data) > MAX_FLOW_DEPTH:  # (block nesting: libyaml before 0.2.5 has no limit)
        raise InputError.single(name, "", f"YAML nested too deeply (more than {MAX_FLOW_DEPTH} levels)")
    problems = [Problem(name, f"line {line}", f"duplicate key '{key}'") for key, line in duplicates]
    if problems:
        raise InputError(problems)
    if data is None:
        raise InputError.single(name, "", f"empty {what} file")
    if not isinstance(data, dict):
        raise InputError.single(name, "", f"a {what} file must be a mapping of fields, got {type(data).__name__}")
    return data
