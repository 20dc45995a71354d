"""Loading scenario files (scenarios/*.yaml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..errors import InputError
from ..model.scenario import Scenario
from .validation import problems_from_validation
from .yamlio import load_yaml


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file; raises InputError listing every problem."""
    p = Path(path)
    raw = load_yaml(p, "scenario")
    raw.setdefault("name", p.stem)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, Scenario, str(path))) from None
