"""Rate assumptions as desks and agencies write them: conventions and the month they run on.

A scenario's ``defaults.cdr`` and ``prepayment.cpr`` take, besides the annual constant,
vector or curve they have always taken (by projection month), a mapping that names a
**convention** and, optionally, the **month axis** (docs/scenarios.md, "Conventions and
curves by loan age"):

``defaults.cdr``
    ``{cdr: x}`` annual default rate, ``{mdr: x}`` monthly default rate, ``{sda: s}``
    the SIFMA Standard Default Assumption at ``s`` % (SF-20/21);
``prepayment.cpr``
    ``{cpr: x}`` annual, ``{smm: x}`` monthly, ``{psa: s}`` the SIFMA Standard Prepayment
    Model at ``s`` % (SF-6), ``{abs: x}`` the ABS prepayment model at ``x`` of the original
    loans a month (SF-13);

with ``x`` a constant, a vector or a curve (``{points: {...}, interpolation: ...}``) and
``s`` a speed in percent of the standard (100 is the standard curve). ``by: loan_age``
runs the rates on each loan's age in months since origination (month 1 is the loan's first
month of life), ``by: projection_month`` on the months since the cut-off date. PSA, SDA and
ABS are defined by loan age and default to it; the others default to the projection month.
``{points: {...}, by: loan_age}`` is a curve of the field's annual rate by loan age.

Only the mapping is new: a number, a vector and a curve written as before mean what they
meant. The numbers behind each convention (its monthly rates) are in
:mod:`abs_engine.curves`; this module only says what may be written.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, PlainValidator, model_validator

from .common import Fraction, Model, describe


def _check_vector(v: list[float]) -> list[float]:
    if not v:
        raise ValueError("a vector needs at least one value")
    for i, x in enumerate(v):
        if x != x or not 0.0 <= x <= 1.0:
            hint = f"; {x} looks like a percentage (write {x / 100:g})" if x == x and 1 < x <= 100 else ""
            raise ValueError(f"value [{i}] = {x} must be between 0 and 1{hint}")
    return v


#: Longest curve accepted (months): 50 years of monthly values.
MAX_CURVE_MONTHS = 600


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def curve_vector(points: dict[Any, Any], interpolation: str = "linear") -> list[float]:
    """Expand a curve (grid month -> annual rate) into the per-month vector it stands for.

    Months count from 1 (the first month after the cut-off date). Before the first point
    the first rate applies; between points the rate is interpolated linearly (``linear``)
    or the last point's rate holds (``step``); the vector ends at the last point (a
    vector's last value holds after its end). Raises ValueError naming the bad point.

    >>> [round(r, 6) for r in curve_vector({1: 0.01, 4: 0.04})]
    [0.01, 0.02, 0.03, 0.04]
    >>> curve_vector({2: 0.01, 4: 0.05}, "step")
    [0.01, 0.01, 0.01, 0.05]
    """
    if not isinstance(points, dict) or not points:
        raise ValueError("points: give at least one 'month: rate' pair")
    if interpolation not in ("linear", "step"):
        raise ValueError(f"interpolation: {interpolation!r} is not one of linear, step")
    pairs: list[tuple[int, float]] = []
    bad: list[str] = []
    for k, v in points.items():
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_CURVE_MONTHS:
            bad.append(f"points: month {k!r} must be a whole number of months from 1 to {MAX_CURVE_MONTHS}")
            continue
        if not _number(v) or not math.isfinite(v) or not 0.0 <= v <= 1.0:
            hint = f"; {v} looks like a percentage (write {v / 100:g})" if _number(v) and 1 < v <= 100 else ""
            bad.append(f"points.{k}: {v!r} must be a rate between 0 and 1{hint}")
            continue
        pairs.append((k, float(v)))
    if bad:
        raise ValueError("; ".join(bad))
    pairs.sort()
    months = [m for m, _ in pairs]
    rates = [r for _, r in pairs]
    out: list[float] = []
    j = 0
    for m in range(1, months[-1] + 1):
        while j + 1 < len(months) and months[j + 1] <= m:
            j += 1
        if m <= months[0]:
            out.append(rates[0])
        elif interpolation == "step" or months[j] == m or j + 1 >= len(months):
            out.append(rates[j])
        else:
            w = (m - months[j]) / (months[j + 1] - months[j])
            out.append(rates[j] + w * (rates[j + 1] - rates[j]))
    return out


def _curve_to_vector(v: Any) -> Any:
    """A curve mapping becomes its vector; anything else is validated as written."""
    if not isinstance(v, dict):
        return v
    unknown = [str(k) for k in v if k not in ("points", "interpolation")]
    if unknown:
        raise ValueError(f"a curve has 'points' and 'interpolation', not {', '.join(repr(u) for u in unknown)}")
    if "points" not in v:
        raise ValueError("a curve needs 'points' (grid month -> annual rate)")
    return curve_vector(v["points"], v.get("interpolation", "linear"))

#: The month a curve runs on.
By = Literal["projection_month", "loan_age"]
#: Annual, monthly and speed conventions of a default and a prepayment rate.
DEFAULT_UNITS = ("cdr", "mdr", "sda")
PREPAYMENT_UNITS = ("cpr", "smm", "psa", "abs")
#: Conventions defined by loan age (their default ``by``).
BY_AGE = ("sda", "psa", "abs")
#: Speeds in percent of a standard curve (any non-negative number); the others are rates in [0, 1].
SPEEDS = ("sda", "psa")
#: Highest speed accepted (percent of the standard curve).
MAX_SPEED = 100_000.0


def _rate_value(v: Any) -> float | list[float]:
    """A rate of a convention: a constant in [0, 1], a vector of them, or a curve
    ``{points, interpolation}`` (expanded to its vector). Validated in one step, so that a
    mistake reads as one reason."""
    if isinstance(v, dict):
        return _curve_to_vector(v)
    if isinstance(v, list):
        if any(isinstance(x, bool) or not isinstance(x, int | float) for x in v):
            raise ValueError("a vector holds numbers only")
        return _check_vector([float(x) for x in v])
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"should be a number, a vector or a curve (got {v!r})")
    v = float(v)
    if v != v or not 0.0 <= v <= 1.0:
        hint = f"; {v:g} looks like a percentage (write {v / 100:g})" if v == v and 1 < v <= 100 else ""
        raise ValueError(f"must be between 0 and 1 (got {v:g}){hint}")
    return v


def _check_speed(v: float) -> float:
    if not math.isfinite(v) or not 0.0 <= v <= MAX_SPEED:
        raise ValueError(f"a speed is a percentage of the standard curve from 0 to {MAX_SPEED:g} (got {v}); "
                         "100 is the standard curve")
    return v


#: A rate of a convention: a constant in [0, 1], a vector, or a curve (expanded to a vector).
RateValue = Annotated[float | list[float], PlainValidator(_rate_value, json_schema_input_type=float | list[float] | dict[str, Any])]
#: A speed in percent of a standard curve (PSA, SDA).
Speed = Annotated[float, AfterValidator(_check_speed)]


class _Curve(Model):
    """A rate by convention; exactly one convention key is set (subclasses list them)."""

    by: By | None = describe(
        "Month the rates run on: loan_age (months since each loan's origination; month 1 is its "
        "first month of life) or projection_month (months since the cut-off date). Default: "
        "loan_age for sda, psa and abs, projection_month otherwise",
        default=None,
    )

    #: the annual convention a bare ``points`` curve is written in, and the conventions
    ANNUAL: ClassVar[str] = "cdr"
    UNITS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "points" in data:  # {points: ..., by: ...}: the annual rate
            data = dict(data)
            curve = {k: data.pop(k) for k in ("points", "interpolation") if k in data}
            data[cls.ANNUAL] = curve
        return data

    @model_validator(mode="after")
    def _one_convention(self) -> _Curve:
        given = [u for u in self.UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            names = ", ".join(self.UNITS)
            raise ValueError(f"give exactly one convention ({names}; or points for a curve of the annual "
                             f"rate){'' if not given else ', not ' + ' and '.join(given)}")
        unit = given[0]
        if self.by is None:
            object.__setattr__(self, "by", "loan_age" if unit in BY_AGE else "projection_month")
        return self

    @property
    def unit(self) -> str:
        """The convention: cdr, mdr, sda, cpr, smm, psa or abs."""
        return next(u for u in self.UNITS if getattr(self, u) is not None)

    @property
    def value(self) -> float | list[float]:
        """The rate (constant or per-month vector) or the speed of the convention."""
        v = getattr(self, self.unit)
        assert v is not None
        return v

    @property
    def by_age(self) -> bool:
        return self.by == "loan_age"

    def with_value(self, value: float | list[float]) -> _Curve:
        """The same convention and month axis with another value (a multiple)."""
        return self.model_copy(update={self.unit: value})


class DefaultCurve(_Curve):
    """A default rate by convention (``defaults.cdr``)."""

    ANNUAL = "cdr"
    UNITS = DEFAULT_UNITS
    cdr: RateValue | None = describe("Annual default rate (CDR): constant, per-month vector or curve", default=None)
    mdr: RateValue | None = describe(
        "Monthly default rate (MDR; CDR = 1 - (1 - MDR)^12): constant, per-month vector or curve", default=None)
    sda: Speed | None = describe(
        "SIFMA Standard Default Assumption, percent of the standard (SF-20/21): 0.02% CDR a month of loan age "
        "to 0.60% at month 30, flat to month 60, down to 0.03% at month 120; 0 in each loan's last "
        "recovery.lag_months months", default=None)


class PrepaymentCurve(_Curve):
    """A prepayment rate by convention (``prepayment.cpr``)."""

    ANNUAL = "cpr"
    UNITS = PREPAYMENT_UNITS
    cpr: RateValue | None = describe("Annual prepayment rate (CPR): constant, per-month vector or curve", default=None)
    smm: RateValue | None = describe(
        "Single monthly mortality (SMM; CPR = 1 - (1 - SMM)^12): constant, per-month vector or curve", default=None)
    psa: Speed | None = describe(
        "SIFMA Standard Prepayment Model (PSA), percent of the standard (SF-6): 0.2% CPR a month of loan age to "
        "6% at month 30 and after", default=None)
    abs: RateValue | None = describe(
        "ABS prepayment speed, the share of the original loans prepaying each month (SF-13): "
        "SMM = ABS / (1 - ABS x (month - 1)) by loan age", default=None)


# --------------------------------------------------------------------------- the fields


def _rate_spec(v: Any) -> Any:
    """A curve ``{points, interpolation}`` becomes its vector, as it always did; a mapping
    with other keys names a convention."""
    if isinstance(v, dict) and not set(v) <= {"points", "interpolation"}:
        return v
    return _curve_to_vector(v)


_Vector = Annotated[list[float], AfterValidator(_check_vector)]
#: A default rate: an annual CDR (constant, vector, curve) by projection month, or a convention.
DefaultRate = Annotated[Fraction | _Vector | DefaultCurve, BeforeValidator(_rate_spec)]
#: A prepayment rate: an annual CPR (constant, vector, curve) by projection month, or a convention.
PrepaymentRate = Annotated[Fraction | _Vector | PrepaymentCurve, BeforeValidator(_rate_spec)]


# --------------------------------------------------------------------------- segments

#: Keys of a segment's ``where`` besides the loans' own fields.
SEGMENT_KEYS = ("pool", "vintage")
#: A selector value: one value or a list of values (the loan matches any of them).
Selector = str | int | float | list[str | int | float]


class SegmentDefaults(Model):
    cdr: DefaultRate | None = describe("The segment's default rate, written as `defaults.cdr`", default=None)


class SegmentPrepayment(Model):
    cpr: PrepaymentRate | None = describe("The segment's prepayment rate, written as `prepayment.cpr`", default=None)


class Segment(Model):
    """Rates of the pledge loans a selector picks (a segment of the pool: an IP type, an
    industry, a region, a vintage, any tape column), replacing the scenario's own for them.
    For each rate, a loan takes it from the first segment that matches the loan and sets that
    rate; a loan that no such segment matches keeps the scenario's rate."""

    name: str | None = describe("Name of the segment (used in messages)", default=None)
    where: dict[str, Selector] = describe(
        "Selector, every key of which must match: `pool` (pool name), `vintage` (origination year, 2024, or "
        "quarter, 2024Q3) or a field of the loans (ip_type, industry, region, amortization, payment_frequency, "
        "borrower, loan_id, reference...); a value or a list of values, any of which matches",
        min_length=1)
    defaults: SegmentDefaults | None = describe("The segment's `cdr`", default=None)
    prepayment: SegmentPrepayment | None = describe("The segment's `cpr`", default=None)

    @property
    def cdr(self) -> Any:
        return self.defaults.cdr if self.defaults is not None else None

    @property
    def cpr(self) -> Any:
        return self.prepayment.cpr if self.prepayment is not None else None

    @property
    def label(self) -> str:
        return self.name or ", ".join(f"{k}={v}" for k, v in self.where.items())
