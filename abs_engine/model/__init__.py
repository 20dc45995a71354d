"""The deal and scenario models (pydantic; no numerics)."""

from .deal import Deal
from .scenario import Scenario

__all__ = ["Deal", "Scenario"]
