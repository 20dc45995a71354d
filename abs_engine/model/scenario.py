"""Scenario files (scenarios/*.yaml): the assumptions a projection runs under.

Annual rates (CDR, CPR) are decimals; a vector gives one value per projection month
starting with the first month after the cut-off date, and its last value holds after
its end. Monthly rates derive from annual ones as 1 - (1 - annual)^(1/12).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator

from .common import Fraction, Model, Rate, describe


def _check_vector(v: list[float]) -> list[float]:
    if not v:
        raise ValueError("a vector needs at least one value")
    for i, x in enumerate(v):
        if x != x or not 0.0 <= x <= 1.0:
            hint = f"; {x} looks like a percentage (write {x / 100:g})" if x == x and 1 < x <= 100 else ""
            raise ValueError(f"value [{i}] = {x} must be between 0 and 1{hint}")
    return v


#: An annual rate as a constant or a per-month vector.
AnnualRate = Fraction | Annotated[list[float], AfterValidator(_check_vector)]


class Defaults(Model):
    cdr: AnnualRate = describe("Constant default rate p.a. (CDR), or a per-month vector of CDRs", default=0.0)
    loans: dict[str, dt.date] = describe(
        "Asset-level default events: asset id (loan, licence or receivable id) -> default date "
        "(the whole asset defaults then)",
        default_factory=dict,
    )


class Prepayment(Model):
    cpr: AnnualRate = describe("Constant prepayment rate p.a. (CPR), or a per-month vector", default=0.0)
    applies_to: Literal["after_defaults", "before_defaults"] = describe(
        "Balance the monthly prepayment rate (SMM) applies to: after_defaults = what is left "
        "after the month's defaults and scheduled principal; before_defaults = the opening "
        "balance less its scheduled principal, as if nothing had defaulted that month "
        "(SIFMA/BMA Standard Formulas, SF-18: VOL PREPAY), at most what is left "
        "(docs/conventions.md)",
        default="after_defaults",
    )


class Recovery(Model):
    """Recovery from disposing of the pledged IP (处置): collateral value at disposal x
    (1 - haircut), capped at the defaulted balance, received `lag_months` after default."""

    haircut: Fraction = describe("Haircut on the collateral value at disposal", default=0.5)
    lag_months: int = describe("Months from default to disposal proceeds", default=12, ge=0, le=240)
    value_decay: Fraction = describe("Annual decline of the collateral value from the cut-off date", default=0.0)
    rate: Fraction | None = describe(
        "If given, recover this share of the defaulted balance instead of using collateral values",
        default=None,
    )


class PatentEvent(Model):
    """A named event on a patent: from the month containing ``date`` on, an invalidated
    patent (无效) carries no fee; an obsolete one carries its fee less the renegotiation haircut."""

    patent: str = describe("Patent id")
    date: dt.date = describe("Date of the event")
    kind: Literal["invalidation", "obsolescence"] = describe("What happens to the patent", default="invalidation")


class Patents(Model):
    """Patent-level risks of licence pools: they hit every licence resting on the patent."""

    invalidation_hazard: Fraction | dict[str, Fraction] = describe(
        "Annual invalidation probability per patent (expected-value projection), or a mapping "
        "from patent type (invention, utility_model, design, trademark, copyright) to it",
        default=0.0,
    )
    events: list[PatentEvent] = describe("Named invalidation / obsolescence events", default_factory=list)
    renegotiation_haircut: Fraction = describe(
        "Cut of the fee share resting on a patent after it becomes obsolete (fee renegotiation)", default=0.0
    )


class Receivables(Model):
    """Obligor risks of receivable pools (licensees, IP buyers). Defaults use `defaults`."""

    use_tape_pd: bool = describe("Use each obligor's `pd` from the tape instead of `defaults.cdr`", default=False)
    termination_rate: AnnualRate = describe(
        "Annual rate at which licences terminate: fees stop, with no recovery", default=0.0
    )
    recovery_rate: Fraction = describe("Share of a defaulted receivable's remaining fees recovered", default=0.0)
    recovery_lag_months: int = describe("Months from default to recovery", default=6, ge=0, le=240)


class Scenario(Model):
    """A named set of assumptions."""

    name: str = describe("Scenario name")
    description: str | None = describe("What the scenario represents", default=None)
    defaults: Defaults = describe("Default assumptions", default_factory=Defaults)
    prepayment: Prepayment = describe("Prepayment assumptions", default_factory=Prepayment)
    recovery: Recovery = describe("Recovery assumptions", default_factory=Recovery)
    patents: Patents = describe("Patent invalidation and obsolescence (licence pools)", default_factory=Patents)
    receivables: Receivables = describe("Licensee / buyer risks (receivable pools)", default_factory=Receivables)
    support_failures: dict[str, dt.date] = describe(
        "Support providers that stop paying: provider (account) name -> first payment date "
        "on which it pays nothing",
        default_factory=dict,
    )
    reference_rates: dict[str, Rate | list[Rate]] = describe(
        "Reference-rate paths (name -> constant or per-payment-period vector, decimal p.a.); "
        "missing names use the deal header's values",
        default_factory=dict,
    )


#: The scenario used when none is given: no defaults, no prepayment.
BASE = Scenario(name="base", description="No defaults, no prepayments")
