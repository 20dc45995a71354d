"""Scenario runs at desk scale (docs/scenarios.md): chunked sweeps of many scenarios,
break-even levels per tranche, Monte Carlo of correlated defaults, on local threads or
processes or a Dask cluster.

>>> from abs_engine.studies import Executor, breakeven, simulate, sweep
>>> Executor("threads", workers=2).describe()
'threads (2 workers)'
>>> callable(breakeven) and callable(sweep)  # the functions, not their modules of the same name
True
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .breakeven import Breakeven, breakeven
    from .executors import Executor
    from .montecarlo import Simulation, simulate
    from .sweep import Sweep, sweep

__all__ = ["Breakeven", "Executor", "Simulation", "Sweep", "breakeven", "simulate", "sweep"]

# imported on first use (:mod:`abs_engine._lazy`), so that the command line starts quickly
__getattr__, __dir__ = attach(__name__, {
    "Breakeven": "breakeven", "breakeven": "breakeven", "Executor": "executors", "Simulation": "montecarlo",
    "simulate": "montecarlo", "Sweep": "sweep", "sweep": "sweep",
})
