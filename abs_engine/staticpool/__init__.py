"""Static-pool analysis (静态池分析): an originator's loan-level history -> default,
prepayment and recovery curves by vintage and loan age, the fitted curves and the scenario
files they make (docs/static-pool.md; the ``abs-engine static-pool`` command)."""

from .analysis import STRESS_MULTIPLES, RampCurve, StaticPool, analyse, fit_ramp
from .history import History, load_history

__all__ = ["STRESS_MULTIPLES", "History", "RampCurve", "StaticPool", "analyse", "fit_ramp", "load_history"]
