"""Files in and out of the models."""

from .deal_file import load_deal
from .scenario_file import load_grid, load_scenario, load_scenarios
from .status_file import load_status

__all__ = ["load_deal", "load_grid", "load_scenario", "load_scenarios", "load_status"]
