"""Files in and out of the models (names imported on first use: :mod:`abs_engine._lazy`)."""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .deal_file import load_deal
    from .scenario_file import load_grid, load_scenario, load_scenarios
    from .status_file import load_status

__all__ = ["load_deal", "load_grid", "load_scenario", "load_scenarios", "load_status"]

__getattr__, __dir__ = attach(__name__, {
    "load_deal": "deal_file", "load_grid": "scenario_file", "load_scenario": "scenario_file",
    "load_scenarios": "scenario_file", "load_status": "status_file",
})
