"""Scenario files (scenarios/*.yaml): the assumptions a projection runs under.

Annual rates (CDR, CPR) are decimals; a vector gives one value per projection month
starting with the first month after the cut-off date, and its last value holds after
its end. Monthly rates derive from annual ones as 1 - (1 - annual)^(1/12). A *curve*
``{points: {month: rate, ...}, interpolation: linear | step}`` is a short way to write a
vector: it is expanded to one value per month up to its last point when the file is read.

Derivation (``base:``, ``multiply:``) and grids (``grid:``) are features of scenario
*files*, resolved by :mod:`abs_engine.io.scenario_file`; the :class:`MonteCarlo`
settings of ``abs-engine simulate`` are a model of their own (docs/scenarios.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from .common import Fraction, Model, Rate, describe
from .curves import (
    DefaultRate,
    PrepaymentRate,
    Segment,
    _check_vector,
    _curve_to_vector,
)
from .delinquency import Delinquency

#: An annual rate as a constant, a per-month vector, or a curve (expanded to a vector).
AnnualRate = Annotated[
    Fraction | Annotated[list[float], AfterValidator(_check_vector)], BeforeValidator(_curve_to_vector)
]


class Defaults(Model):
    cdr: DefaultRate = describe(
        "Default rate: a constant CDR p.a., a per-month vector or a curve of CDRs (by projection month), or "
        "a convention {cdr|mdr|sda: ..., by: loan_age|projection_month} (docs/scenarios.md)", default=0.0)
    loans: dict[str, dt.date] = describe(
        "Asset-level default events: asset id (loan, licence or receivable id) -> default date "
        "(the whole asset defaults then)",
        default_factory=dict,
    )


class Prepayment(Model):
    cpr: PrepaymentRate = describe(
        "Prepayment rate: a constant CPR p.a., a per-month vector or a curve of CPRs (by projection month), or "
        "a convention {cpr|smm|psa|abs: ..., by: loan_age|projection_month} (docs/scenarios.md)", default=0.0)
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
    advancing: Literal["none", "principal_and_interest"] = describe(
        "Servicer advancing (pledge loans; SIFMA SF-16 to SF-19): none (Chinese practice: a defaulted loan "
        "pays nothing more), or principal_and_interest: a defaulted loan keeps amortising on its schedule "
        "until liquidation lag_months later, its scheduled principal and interest advanced to the trust; "
        "the principal recovered at liquidation is its amortized balance less the loss (the loss on the "
        "balance at default, at most that amortized balance)",
        default="none",
    )


class PatentEvent(Model):
    """A named event on a patent: from the month containing ``date`` on, an invalidated
    patent (无效) carries no fee; an obsolete one carries its fee less the renegotiation haircut."""

    patent: str = describe("Patent id")
    date: dt.date = describe("Date of the event")
    kind: Literal["invalidation", "obsolescence"] = describe("What happens to the patent", default="invalidation")


#: The patent types of patent tapes (abs_engine.model.deal.PatentAsset.type).
PATENT_TYPES = ("invention", "utility_model", "design", "trademark", "copyright")


def check_patent_types(keys: Any, what: str) -> list[str]:
    """Why the keys of a mapping by patent type are not patent types (empty: they are)."""
    import difflib

    out = []
    for k in keys:
        if k not in PATENT_TYPES:
            close = difflib.get_close_matches(str(k), PATENT_TYPES, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'? " if close else ""
            out.append(f"{what}: '{k}' is not a patent type ({hint}known: {', '.join(PATENT_TYPES)})")
    return out


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

    @model_validator(mode="after")
    def _known_types(self) -> Patents:
        if isinstance(self.invalidation_hazard, dict):
            bad = check_patent_types(self.invalidation_hazard, "invalidation_hazard")
            if bad:
                raise ValueError("; ".join(bad))
        return self


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
    description_zh: str | None = describe(
        "The description in Chinese (term sheets show both languages; `description` is then the English)",
        default=None,
    )
    defaults: Defaults = describe("Default assumptions", default_factory=Defaults)
    prepayment: Prepayment = describe("Prepayment assumptions", default_factory=Prepayment)
    recovery: Recovery = describe("Recovery assumptions", default_factory=Recovery)
    patents: Patents = describe("Patent invalidation and obsolescence (licence pools)", default_factory=Patents)
    receivables: Receivables = describe("Licensee / buyer risks (receivable pools)", default_factory=Receivables)
    delinquency: Delinquency | None = describe(
        "Delinquency pipeline of the pledge loans (current -> 1-30 -> 31-60 -> 61-90 days -> default) with "
        "roll rates and cures; its defaults come on top of defaults.cdr (docs/methodology.md)",
        default=None,
    )
    segments: list[Segment] = describe(
        "Rates by segment of the pledge-loan pools (IP type, industry, region, vintage, any loan field): "
        "each segment's cdr / cpr replace the scenario's for the loans it selects (docs/scenarios.md)",
        default_factory=list,
    )
    support_failures: dict[str, dt.date] = describe(
        "Support providers that stop paying: provider name -> date of the failure; a deal-level "
        "provider pays nothing on the payment dates on or after it (a payment date names its own "
        "period, as scheduled or as adjusted), a pool layer's party nothing from the grid month "
        "containing it",
        default_factory=dict,
    )
    reference_rates: dict[str, Rate | Annotated[list[Rate], Field(min_length=1)]] = describe(
        "Reference-rate paths (name -> constant or per-payment-period vector, decimal p.a.); "
        "missing names use the deal header's values",
        default_factory=dict,
    )
    curve: dict[str, object] | None = describe(
        "Discount curve of the analytics under this scenario (z-spreads, effective durations): a "
        "curve mapping as in docs/analytics.md, 'Curve files'; replaces the deal's pricing.curve",
        default=None,
    )


#: The scenario used when none is given: no defaults, no prepayment.
BASE = Scenario(name="base", description="No defaults, no prepayments")


# --------------------------------------------------------------------------- Monte Carlo


class MonteCarlo(Model):
    """Settings of a Monte Carlo run (``abs-engine simulate``; docs/scenarios.md).

    One-factor Gaussian copula: obligor ``i`` of group ``g`` has the latent variable
    ``X_i = sqrt(rho_g) Z + sqrt(1 - rho_g) e_i`` (``Z``, ``e_i`` independent standard
    normals, one ``Z`` per path) and defaults in the first grid month ``m`` with
    ``Phi(X_i) <= F_i(m)``, where ``F_i`` is its cumulative default probability from the
    scenario (``defaults.cdr``, or the tape PD with ``receivables.use_tape_pd``). Patents
    of licence pools are invalidated the same way, with ``patents.invalidation_hazard``
    as their annual probability and loadings on the same factor ``Z``.
    """

    paths: int = describe("Number of simulated paths", default=1000, ge=1, le=10_000_000)
    seed: int = describe("Seed of the run; path k uses numpy SeedSequence(seed, spawn_key=(k,))",
                         default=20260630, ge=0, lt=2**63)
    correlation: Fraction = describe("Asset correlation rho of obligors not named in `correlations`", default=0.15)
    correlation_by: Literal["none", "industry", "ip_type"] = describe(
        "Obligor attribute that selects the correlation in `correlations` (the obligor's first asset's "
        "`industry`, or `ip_type` of pledge loans / transfer receivables)",
        default="none",
    )
    correlations: dict[str, Fraction] = describe(
        "Asset correlation by industry or IP type (see `correlation_by`)", default_factory=dict
    )
    patent_correlation: Fraction = describe("Asset correlation of patents not named in `patent_correlations`",
                                            default=0.10)
    patent_correlations: dict[str, Fraction] = describe(
        "Patent correlation by patent type (invention, utility_model, design, trademark, copyright)",
        default_factory=dict,
    )
    support_default_probability: dict[str, Fraction] = describe(
        "Annual probability that a support party fails (stops paying for good): party name -> "
        "probability; the name is one a scenario's `support_failures` accepts (a deal-level "
        "provider, a payer of a pool's stack). On each path its failure month is drawn like an "
        "obligor's default, loading `support_correlation` on the same factor",
        default_factory=dict,
    )
    support_correlation: Fraction = describe(
        "Asset correlation of the support parties' failures (their exposure to the factor that "
        "drives the obligors' defaults)", default=0.3,
    )
