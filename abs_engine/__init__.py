"""abs_engine: cash-flow modeling for IP-backed securitization (知识产权证券化)."""

from importlib.metadata import PackageNotFoundError, version

from .engine import run
from .errors import AbsEngineError, InputError
from .io import load_deal, load_scenario, load_status
from .model import Deal, Scenario
from .results import Result

try:
    __version__ = version("abs_engine")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "AbsEngineError",
    "Deal",
    "InputError",
    "Result",
    "Scenario",
    "__version__",
    "load_deal",
    "load_scenario",
    "load_status",
    "run",
]
