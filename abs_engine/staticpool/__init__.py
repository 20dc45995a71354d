"""Static-pool analysis (静态池分析): an originator's loan-level history -> default,
prepayment and recovery curves by vintage and loan age, the fitted curves and the scenario
files they make (docs/static-pool.md; the ``abs-engine static-pool`` command)."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .analysis import STRESS_MULTIPLES, RampCurve, StaticPool, analyse, fit_ramp
    from .history import History, load_history

__all__ = ["STRESS_MULTIPLES", "History", "RampCurve", "StaticPool", "analyse", "fit_ramp", "load_history"]

# imported on first use (:mod:`abs_engine._lazy`), so that the command line starts quickly
__getattr__, __dir__ = attach(__name__, {
    "STRESS_MULTIPLES": "analysis", "RampCurve": "analysis", "StaticPool": "analysis", "analyse": "analysis",
    "fit_ramp": "analysis", "History": "history", "load_history": "history",
})
