"""Shared building blocks of the deal and scenario models.

Units, stated once (see docs/conventions.md): rates are decimals per annum (0.038 is
3.8%), money is in deal currency units, dates are calendar dates, periods count from 1.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: A rate written above this is almost surely a percentage typed by mistake (380 for 3.8%).
MAX_PLAUSIBLE_RATE = 1.0


class Model(BaseModel):
    """Base of every model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_rate(v: float) -> float:
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    if abs(v) > MAX_PLAUSIBLE_RATE:
        raise ValueError(
            f"{v} looks like a percentage; rates are decimals (write {v / 100:g} for {v:g}%)"
        )
    return v


def _check_money(v: float) -> float:
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    if v < 0:
        raise ValueError(f"must not be negative (got {v:g})")
    if v > 1e15:
        raise ValueError(f"{v:g} is beyond any plausible amount (limit 1e15)")
    return v


def _check_signed_money(v: float) -> float:
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    if abs(v) > 1e15:
        raise ValueError(f"{v:g} is beyond any plausible amount (limit 1e15)")
    return v


def _check_fraction(v: float) -> float:
    if v != v or not 0.0 <= v <= 1.0:
        if v == v and 1.0 < v <= 100.0:
            raise ValueError(f"{v} looks like a percentage; write {v / 100:g} for {v:g}%")
        raise ValueError(f"must be between 0 and 1 (got {v})")
    return v


#: A rate per annum as a decimal; values above 1 are refused as probable percentages.
Rate = Annotated[float, AfterValidator(_check_rate)]
#: A non-negative finite amount of money in deal currency units.
Money = Annotated[float, AfterValidator(_check_money)]
#: A finite amount of money that may be negative (net assets, for instance).
SignedMoney = Annotated[float, AfterValidator(_check_signed_money)]
#: A fraction in [0, 1] (a share, a haircut, a percentage written as a decimal).
Fraction = Annotated[float, AfterValidator(_check_fraction)]


class Frequency(StrEnum):
    """How often something happens; the value is the number of months per period."""

    monthly = "monthly"
    quarterly = "quarterly"
    semiannual = "semiannual"
    annual = "annual"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}[self.value]


class DayCount(StrEnum):
    """Day-count conventions for accrual fractions."""

    act365f = "ACT/365F"
    act360 = "ACT/360"
    actact = "ACT/ACT"
    thirty360 = "30/360"


def describe(text: str, **kw: Any) -> Any:
    """A pydantic Field with a description (every field states its unit)."""
    return Field(description=text, **kw)
