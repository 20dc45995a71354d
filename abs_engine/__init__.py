"""abs_engine: cash-flow modeling for IP-backed securitization (知识产权证券化)."""

from .engine import run
from .errors import AbsEngineError, InputError
from .io import load_deal, load_scenario, load_status
from .model import Deal, Scenario
from .results import Result
from .version import __version__

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
