"""abs_engine: cash-flow modeling for IP-backed securitization (知识产权证券化).

The public names are imported on first use (:mod:`abs_engine._lazy`): ``import abs_engine``
loads none of the numerical libraries.
"""

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:
    from .engine import run
    from .errors import AbsEngineError, InputError
    from .io import load_deal, load_scenario, load_status
    from .model import Deal, Scenario
    from .results import Result

    __version__: str

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

__getattr__, __dir__ = attach(__name__, {
    "run": "engine", "AbsEngineError": "errors", "InputError": "errors", "load_deal": "io",
    "load_scenario": "io", "load_status": "io", "Deal": "model", "Scenario": "model", "Result": "results",
    "__version__": "version",
})
