"""Safe YAML reading that refuses duplicate keys and reports syntax errors with lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem

#: Files larger than this are refused before parsing (a deal file is a few kB).
MAX_YAML_BYTES = 20 * 1024 * 1024


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                self.duplicates.append((str(key), key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path, what: str) -> str:
    """Read a UTF-8 text file, with clear errors for missing, huge or non-UTF-8 files."""
    name = str(path)
    if not path.exists():
        raise InputError.single(name, "", f"{what} file not found")
    if path.is_dir():
        raise InputError.single(name, "", f"is a directory, expected a {what} file")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise InputError.single(name, "", f"file is {size} bytes; {what} files are limited to {MAX_YAML_BYTES}")
    raw = path.read_bytes()
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
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError.single(name, where, f"YAML syntax error: {reason}") from None
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
