"""Files in and out of the models."""

from .deal_file import load_deal
from .scenario_file import load_grid, load_scenario, load_scenarios

__all__ = ["load_deal", "load_grid", "load_scenario", "load_scenarios"]
