"""Shared building blocks of the deal and scenario models.

Units, stated once (see docs/conventions.md): rates are decimals per annum (0.038 is
3.8%), money is in deal currency units, dates are calendar dates, periods count from 1.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: A rate written above this is almost surely a percentage typed by mistake (380 for 3.8%).
MAX_PLAUSIBLE_RATE = 1.0


def _check_id(v: str) -> str:
    """An id names a row in messages, file names and joins: no control characters (a NUL or a
    line break in an id made one loan look like two in every listing)."""
    bad = sorted({c for c in v if ord(c) < 32 or ord(c) == 127})
    if bad:
        raise ValueError(f"an id may not hold control characters (found {', '.join(repr(c) for c in bad)}): got {v!r}")
    if not v.strip():
        raise ValueError("an id may not be empty")
    return v


#: An asset, patent or obligor id: text without control characters.
Id = Annotated[str, AfterValidator(_check_id)]


class FieldErrors(ValueError):
    """The rules between fields that one record breaks, ``(field, reason)`` each: a model's
    ``after`` validator raises it (:func:`field_rules`), and the loaders report one problem
    per field (a tape's ``row 3: original_balance: ...``, an inline asset's
    ``pools[0].assets[2].original_balance: ...``; abs_engine/io/validation.py), every rule
    of the record at once."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))


def field_rules(errors: list[tuple[str, str]]) -> None:
    """Raise :class:`FieldErrors` if any rule of a record is broken."""
    if errors:
        raise FieldErrors(errors)


class Model(BaseModel):
    """Base of every model: unknown keys are errors, values are validated on assignment.

    Numbers are numbers: a boolean (YAML reads ``yes``, ``no``, ``on``, ``off``, ``true``,
    ``false`` as booleans; an Excel cell may hold TRUE) given for a number, or inside a list
    or mapping of numbers, is refused (pydantic would read ``cdr: yes`` as a CDR of 1).
    Dates are dates: a number given for a date (``1782777600``, an Excel serial ``46566``,
    or a tape cell holding only digits) is refused, not read as a Unix time."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _PLAIN.issuperset(map(type, data.values())) \
                and any(_has_bool(v) for v in data.values()):
            numeric = _numeric_fields(cls)
            data = {k: (_as_word(v) if k in numeric else v) for k, v in data.items()}
        if isinstance(data, dict):
            dates = _date_fields(cls)
            if dates and any(k in dates and _number_like(v) for k, v in data.items()):
                data = {k: (NUMBER_FOR_DATE + str(v).strip() if k in dates and _number_like(v) else v)
                        for k, v in data.items()}
        return data


#: Marks a number given for a date (pydantic reads 1782777600 as a Unix time, 2026-06-30,
#: and 46566, an Excel date serial, as a time of day): the validator refuses it
#: (:func:`abs_engine.io.validation._message` words the problem).
NUMBER_FOR_DATE = "\x00number:"

_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _number_like(v: Any) -> bool:
    """A number, or text that is only a number (a tape cell), given where a date belongs."""
    if type(v) in (int, float):
        return True
    return isinstance(v, str) and _NUMBER_TEXT.fullmatch(v) is not None


@functools.cache
def _date_fields(cls: type[BaseModel]) -> frozenset[str]:
    """Names (and aliases) of the fields that hold a date and never a number or text."""
    out = set()
    for name, f in cls.model_fields.items():
        leaves = _leaf_types(f.annotation)
        if leaves & {dt.date, dt.datetime} and not leaves & {int, float, str, Any, object}:
            out.update({name, f.alias or name})
    return frozenset(out)


#: Value types that are never a boolean nor hold one (the quick test of most inputs).
_PLAIN = frozenset({str, int, float, type(None)})


def _has_bool(v: Any) -> bool:
    if type(v) is bool:
        return True
    if isinstance(v, list):
        return any(type(x) is bool for x in v)
    if isinstance(v, dict):
        return any(type(x) is bool for x in v.values())
    return False


def _as_word(v: Any) -> Any:
    """A boolean as the word it stands for: the number validator then refuses it with the
    field's path (``got 'true'``)."""
    if type(v) is bool:
        return "true" if v else "false"
    if isinstance(v, list):
        return [_as_word(x) if type(x) is bool else x for x in v]
    if isinstance(v, dict):
        return {k: _as_word(x) if type(x) is bool else x for k, x in v.items()}
    return v


def _leaf_types(tp: Any) -> set[Any]:
    """The plain types a field annotation may hold (through Optional, unions, lists, dicts)."""
    import typing

    origin = typing.get_origin(tp)
    if origin is None:
        return {tp}
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _leaf_types(args[0])
    if origin is typing.Literal:
        return {type(a) for a in args}
    if origin is dict:  # (the keys are names: only the values matter)
        return _leaf_types(args[1])
    out: set[Any] = set()
    for a in args:
        out |= _leaf_types(a)
    return out


@functools.cache
def _numeric_fields(cls: type[BaseModel]) -> frozenset[str]:
    """Names (and aliases) of the fields that hold numbers and never a boolean or text."""
    out = set()
    for name, f in cls.model_fields.items():
        leaves = _leaf_types(f.annotation)
        if leaves & {int, float} and not leaves & {bool, str, Any, object}:
            out.update({name, f.alias or name})
    return frozenset(out)


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
