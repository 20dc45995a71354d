"""Scenario runs at desk scale (docs/scenarios.md): chunked sweeps of many scenarios,
break-even levels per tranche, Monte Carlo of correlated defaults, on local threads or
processes or a Dask cluster.

>>> from abs_engine.studies import Executor, breakeven, simulate, sweep
>>> Executor("threads", workers=2).describe()
'threads (2 workers)'
"""

from .breakeven import Breakeven
from .breakeven import breakeven as _breakeven
from .executors import Executor
from .montecarlo import Simulation, simulate
from .sweep import Sweep
from .sweep import sweep as _sweep

# the functions, not their modules of the same name
breakeven = _breakeven
sweep = _sweep

__all__ = ["Breakeven", "Executor", "Simulation", "Sweep", "breakeven", "simulate", "sweep"]
