"""Lazy attributes of a package (PEP 562), so that importing it costs nothing until a name
is used: ``import abs_engine`` and ``abs-engine --help`` do not load pandas, QuantLib,
openpyxl, matplotlib, Dask or SciPy (docs/performance.md, "Start-up").

>>> getattr_, dir_ = attach("abs_engine", {"InputError": "errors"})
>>> getattr_("InputError").__name__
'InputError'
>>> "InputError" in dir_()
True
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


class _Package(types.ModuleType):
    """A package with a public name that is also the name of one of its submodules
    (``abs_engine.scenarios.breakeven`` is the function, not the module): the import
    system's binding of the submodule, when it is first imported, does not replace it."""

    _shadowed: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._shadowed and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def attach(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name in ``names`` is imported,
    on first use, from the submodule given (``"engine"``, or ``"engine:run"`` when the
    attribute's name in the submodule differs), then kept in the package's namespace.
    A name that is also a submodule's (``"sweep": "sweep"``) stays the attribute."""
    shadowed = frozenset(n for n, where in names.items() if where.partition(":")[0] == n)
    if shadowed:
        mod = sys.modules[package]
        mod.__class__ = type("_Package", (_Package,), {"_shadowed": shadowed})

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = where.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attr or name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
