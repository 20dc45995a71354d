"""The installed version of abs_engine (``abs_engine.__version__``; the term sheets print it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("abs_engine")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
