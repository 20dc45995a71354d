"""Bond analytics for tranche cash flows: yield, price, WAL, durations, spreads, IRR.

This is the only module of the engine that prices with QuantLib. Everything that crosses
its boundary is plain Python: ``datetime.date`` in, ``float`` (or pandas) out. QuantLib
objects are built inside each call and never returned, and any change of QuantLib's
global evaluation date happens inside ``ql.SavedSettings()``.

Units and conventions (docs/analytics.md has the full list)
-----------------------------------------------------------
* Rates, yields and spreads are decimals (0.038 is 3.8 %).
* Prices are per 100 of the face outstanding at settlement (the *current* face), clean
  unless a name says ``dirty``; accrued interest is per 100 of that face too.
* Times (WAL, durations) are in years; WAL is always ACT/365F from settlement, durations
  use the day count of the yield.
* Yields are quoted with a stated compounding and day count: ``chinabond`` (the PBoC /
  ChinaBond formulas of 银发〔2007〕200号, the default of CNY deals' tranche analytics),
  or a street formula (``annual`` by default, ``semiannual`` ... ``simple``, ``continuous``,
  ``<f>_simple_stub``) over the day count (``ACT/365F`` by default). The settlement date is
  always explicit; cash flows paid on the settlement date belong to the seller.
* Money amounts in :class:`CashFlows` are in deal currency units.

Examples
--------
>>> import datetime as dt
>>> cf = CashFlows.level_coupon([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], 0.03)
>>> round(price_from_yield(cf, 0.03, dt.date(2026, 1, 1)), 10)
100.0
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache, wraps
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import QuantLib as ql

from .dates import calendar_months
from .errors import AnalyticsError

__all__ = [
    "AnalyticsError",
    "CashFlows",
    "Curve",
    "COMPOUNDINGS",
    "DAY_COUNTS",
    "TRANCHE_ANALYTICS_COLUMNS",
    "accrued_interest",
    "cash_multiple",
    "convexity",
    "discount_margin",
    "effective_convexity",
    "effective_duration",
    "expected_maturity",
    "irr",
    "macaulay_duration",
    "modified_duration",
    "price_from_yield",
    "price_from_z_spread",
    "principal_window",
    "risk_measures",
    "tranche_analytics",
    "tranche_cashflows",
    "PrincipalWindow",
    "wal",
    "yield_from_price",
    "yield_table",
    "z_spread",
]



# --- conventions ---------------------------------------------------------------------------

#: Suffix of the compoundings that discount the fractional first period at simple interest.
_SIMPLE_STUB = "_simple_stub"
_STUB_BASES: tuple[str, ...] = ("annual", "semiannual", "quarterly", "monthly")

#: The yield convention of the People's Bank of China for interbank and exchange bonds
#: (银发〔2007〕200号, the formulas 中债 / ChinaBond uses): compounding at the coupon
#: frequency ``f`` over coupon periods counted as ``d/TS + i`` while more than one payment
#: is left, simple interest over the coupon year when one is left within a year, annual
#: compounding over years for a single payment further away (:class:`_ChinaBond`). ``TS``
#: is the actual days of the current coupon period (当前付息周期的实际天数), an odd first
#: period included; ``chinabond_icma`` measures an odd first period on its regular
#: (quasi-coupon) periods instead, as ICMA and the US Treasury do.
_CHINABOND = "chinabond"
_CHINABOND_ICMA = "chinabond_icma"
_CHINABONDS = (_CHINABOND, _CHINABOND_ICMA)

#: Accepted yield compoundings. ``<f>_simple_stub`` compounds whole periods at frequency
#: ``f`` but discounts the fractional period before the first payment at simple interest:
#: ``PV = CF / ((1 + w y/f) (1 + y/f)^k)`` (the US Treasury's formula, 31 CFR 356 App. B;
#: the plain names compound the fraction too, ``(1 + y/f)^(w + k)``, the "street" formula).
#: ``chinabond`` is the PBoC / ChinaBond convention (docs/analytics.md, "The ChinaBond
#: convention"), the default of CNY deals' tranche analytics.
COMPOUNDINGS: tuple[str, ...] = (
    "annual", "semiannual", "quarterly", "monthly", "simple", "continuous",
    *(b + _SIMPLE_STUB for b in _STUB_BASES), _CHINABOND, _CHINABOND_ICMA,
)

_COMPOUNDING: dict[str, tuple[int, int]] = {
    "annual": (ql.Compounded, ql.Annual),
    "semiannual": (ql.Compounded, ql.Semiannual),
    "quarterly": (ql.Compounded, ql.Quarterly),
    "monthly": (ql.Compounded, ql.Monthly),  # the "mortgage yield" of SIFMA SF-50
    "simple": (ql.Simple, ql.Annual),
    "continuous": (ql.Continuous, ql.Annual),
}
_COMPOUNDING.update({b + _SIMPLE_STUB: _COMPOUNDING[b] for b in _STUB_BASES})
_CURVE_COMPOUNDINGS: tuple[str, ...] = tuple(c for c in _COMPOUNDING if _SIMPLE_STUB not in c)

#: Accepted day counts (aliases are listed in docs/analytics.md).
DAY_COUNTS: tuple[str, ...] = ("ACT/365F", "ACT/ACT", "ACT/ACT ICMA", "ACT/360", "30/360")

_DAY_COUNT_ALIASES: dict[str, str] = {
    "ACT/365F": "ACT/365F",
    "ACT/365": "ACT/365F",
    "ACT/365 FIXED": "ACT/365F",
    "ACTUAL/365 (FIXED)": "ACT/365F",
    "A365F": "ACT/365F",
    "ACT/ACT": "ACT/ACT",
    "ACT/ACT ISDA": "ACT/ACT",
    "ACTUAL/ACTUAL": "ACT/ACT",
    "ACT/ACT ICMA": "ACT/ACT ICMA",
    "ACT/ACT ISMA": "ACT/ACT ICMA",
    "ACT/360": "ACT/360",
    "A360": "ACT/360",
    "30/360": "30/360",
    "30/360 BOND": "30/360",
}

#: A yield or price-table rate at or above this is taken for a percentage typo.
_YIELD_PERCENT_LIMIT = 1.0
#: A curve rate at or above this is taken for a percentage typo.
_CURVE_PERCENT_LIMIT = 0.5


def _convention(name: str) -> str:
    """The yield compounding ``name``, normalised; AnalyticsError if it is not one of
    :data:`COMPOUNDINGS`."""
    key = str(name).strip().lower()
    if key not in COMPOUNDINGS:
        raise AnalyticsError(
            f"unknown compounding {name!r} (known: {', '.join(COMPOUNDINGS)})"
        )
    return key


def _compounding(name: str) -> tuple[int, int]:
    """QuantLib's compounding and frequency of a yield compounding that QuantLib discounts
    (every one but ``chinabond``, which :class:`_ChinaBond` discounts)."""
    key = _convention(name)
    if key not in _COMPOUNDING:
        raise AnalyticsError(f"compounding {name!r} has no QuantLib equivalent")
    return _COMPOUNDING[key]


def _simple_stub(name: str) -> bool:
    """Whether compounding ``name`` discounts the fractional first period at simple interest."""
    return str(name).strip().lower().endswith(_SIMPLE_STUB)


def _curve_compounding(name: str) -> tuple[int, int]:
    """:func:`_compounding` for a curve's zero rates, which have no first period and no
    coupon schedule."""
    if _simple_stub(name) or _convention(name) in _CHINABONDS:
        what = "a security's first period" if _simple_stub(name) else "a security's coupon schedule"
        raise AnalyticsError(
            f"compounding {name!r} is a yield convention for {what}; "
            f"a curve's zero rates use one of {', '.join(_CURVE_COMPOUNDINGS)}"
        )
    return _compounding(name)


def _day_count_name(name: str) -> str:
    key = " ".join(str(name).strip().upper().split())
    if key not in _DAY_COUNT_ALIASES:
        raise AnalyticsError(f"unknown day count {name!r} (known: {', '.join(DAY_COUNTS)})")
    return _DAY_COUNT_ALIASES[key]


@cache
def _day_counter(name: str) -> ql.DayCounter:
    key = _day_count_name(name)
    if key == "ACT/365F":
        return ql.Actual365Fixed()
    if key == "ACT/ACT":
        return ql.ActualActual(ql.ActualActual.ISDA)
    if key == "ACT/ACT ICMA":
        return ql.ActualActual(ql.ActualActual.ISMA)
    if key == "ACT/360":
        return ql.Actual360()
    return ql.Thirty360(ql.Thirty360.BondBasis)


@lru_cache(maxsize=65536)
def _qd(d: _dt.date) -> ql.Date:
    """Python date -> QuantLib date (cached: payment dates repeat across scenarios)."""
    return ql.Date(d.day, d.month, d.year)


def _pyd(d: ql.Date) -> _dt.date:
    return _dt.date(d.year(), d.month(), d.dayOfMonth())


def _as_date(value: Any, what: str) -> _dt.date:
    """Accept datetime.date, datetime.datetime, pandas/numpy timestamps and ISO strings."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).date()
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise AnalyticsError(f"{what}: {value!r} is not a date (use YYYY-MM-DD)")


def _years_365(start: _dt.date, end: _dt.date) -> float:
    return (end - start).days / 365.0


_F = TypeVar("_F", bound=Callable[..., Any])


def _quantlib_edge(func: _F) -> _F:
    """Run ``func`` inside ``ql.SavedSettings()`` so QuantLib's global state is restored."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with ql.SavedSettings():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- cash flows ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CashFlows:
    """The cash flows of one security, as the holder receives them.

    Parameters
    ----------
    dates : sequence of datetime.date
        Payment dates, strictly increasing.
    interest, principal : array-like of float
        Interest and principal paid on each date, in currency units, non-negative.
    face : float
        Face outstanding at settlement, in currency units. Prices are per 100 of it.
    coupon_rate : float, optional
        Annual coupon rate of the current period (decimal), for accrued interest.
        ``None`` for a security that accrues nothing (a subordinate tranche, a zero).
    accrual_start : datetime.date, optional
        Start of the first accrual period (the closing date, or the last coupon date before
        the first listed payment). The accrual period of a later payment starts on the
        previous payment date.
    day_count : str
        Day count of the coupon accrual (for accrued interest). Default ``ACT/365F``.
    frequency : int, optional
        Coupons per year of a regular schedule anchored on the last date (the maturity;
        end-of-month if it is a month end). Given, the first period is measured against its
        regular (quasi-coupon) period, so that a short or long first coupon counts as the
        fraction of a period it is, in ``ACT/ACT ICMA`` accrued interest and yields (31 CFR
        356 App. B, r/s) and in the ``chinabond`` convention, which compounds at this
        frequency and needs it while more than one payment is left. ``None`` (default):
        each period is its own reference period.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 3, 26)], interest=[3.0], principal=[100.0], face=100.0)
    >>> cf.total.tolist()
    [103.0]
    """

    dates: tuple[_dt.date, ...]
    interest: np.ndarray
    principal: np.ndarray
    face: float
    coupon_rate: float | None = None
    accrual_start: _dt.date | None = None
    day_count: str = "ACT/365F"
    frequency: int | None = None
    _ords: np.ndarray = field(init=False, repr=False)
    _qdates: list[ql.Date] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        dates = tuple(_as_date(d, "cash flow date") for d in self.dates)
        interest = np.array(self.interest, dtype=np.float64, copy=True).reshape(-1)
        principal = np.array(self.principal, dtype=np.float64, copy=True).reshape(-1)
        problems: list[str] = []
        if not dates:
            problems.append("no payment dates")
        if not (len(dates) == interest.size == principal.size):
            problems.append(
                f"{len(dates)} dates, {interest.size} interest and {principal.size} principal "
                "amounts: lengths must match"
            )
        elif dates:
            if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
                problems.append("payment dates must be strictly increasing")
            if not (np.all(np.isfinite(interest)) and np.all(np.isfinite(principal))):
                problems.append("amounts must be finite numbers")
            elif np.any(interest < 0) or np.any(principal < 0):
                problems.append("amounts must be non-negative (cash received by the holder)")
        if not (isinstance(self.face, (int, float)) and math.isfinite(self.face) and self.face > 0):
            problems.append(f"face {self.face!r} must be a positive amount")
        if self.coupon_rate is not None and not math.isfinite(self.coupon_rate):
            problems.append("coupon_rate must be a finite decimal or None")
        if self.frequency is not None and (
            isinstance(self.frequency, bool) or self.frequency not in (1, 2, 3, 4, 6, 12)
        ):
            problems.append(f"frequency {self.frequency!r} must be 1, 2, 3, 4, 6 or 12 (per year)")
        if problems:
            raise AnalyticsError("invalid cash flows: " + "; ".join(problems))
        interest.setflags(write=False)
        principal.setflags(write=False)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "interest", interest)
        object.__setattr__(self, "principal", principal)
        object.__setattr__(self, "face", float(self.face))
        object.__setattr__(self, "day_count", _day_count_name(self.day_count))
        if self.accrual_start is not None:
            object.__setattr__(self, "accrual_start", _as_date(self.accrual_start, "accrual_start"))
        ords = np.fromiter((d.toordinal() for d in dates), dtype=np.int64, count=len(dates))
        object.__setattr__(self, "_ords", ords)
        object.__setattr__(self, "_qdates", [_qd(d) for d in dates])

    @classmethod
    def _trusted(
        cls,
        dates: tuple[_dt.date, ...],
        qdates: list[ql.Date],
        ords: np.ndarray,
        interest: np.ndarray,
        principal: np.ndarray,
        face: float,
        coupon_rate: float | None,
        accrual_start: _dt.date | None,
        day_count: str,
        frequency: int | None = None,
    ) -> CashFlows:
        """Build without validation, from inputs the caller has already checked."""
        self = object.__new__(cls)
        for name, value in (
            ("dates", dates), ("interest", interest), ("principal", principal),
            ("face", face), ("coupon_rate", coupon_rate), ("accrual_start", accrual_start),
            ("day_count", day_count), ("frequency", frequency), ("_ords", ords), ("_qdates", qdates),
        ):
            object.__setattr__(self, name, value)
        return self

    @classmethod
    def level_coupon(
        cls,
        dates: Sequence[_dt.date],
        coupon_rate: float,
        *,
        frequency: int = 1,
        face: float = 100.0,
        accrual_start: _dt.date | None = None,
        day_count: str = "ACT/365F",
    ) -> CashFlows:
        """A bullet bond paying ``face * coupon_rate / frequency`` on every date.

        ``accrual_start`` defaults to one coupon period (``12 / frequency`` months) before
        the first date.

        Examples
        --------
        >>> import datetime as dt
        >>> cf = CashFlows.level_coupon([dt.date(2027, 6, 30), dt.date(2027, 12, 31)], 0.04,
        ...                             frequency=2)
        >>> cf.interest.tolist(), cf.principal.tolist()
        ([2.0, 2.0], [0.0, 100.0])
        """
        n = len(dates)
        principal = np.zeros(n)
        if n:
            principal[-1] = face
            if accrual_start is None:
                first = _as_date(dates[0], "date")
                accrual_start = _pyd(_qd(first) - ql.Period(12 // frequency, ql.Months))
        return cls(
            tuple(dates),
            np.full(n, face * coupon_rate / frequency),
            principal,
            face,
            coupon_rate=coupon_rate,
            accrual_start=accrual_start,
            day_count=day_count,
            frequency=frequency,
        )

    @property
    def total(self) -> np.ndarray:
        """Interest plus principal on each date."""
        return self.interest + self.principal

    def _future(self, settlement: _dt.date) -> int:
        """Index of the first payment strictly after ``settlement``."""
        return int(np.searchsorted(self._ords, settlement.toordinal(), side="right"))

    def _period_start(self, i: int) -> _dt.date | None:
        """Accrual start of the period paid on ``dates[i]``."""
        return self.dates[i - 1] if i > 0 else self.accrual_start

    def _reference_period(self, i: int, start: _dt.date) -> tuple[ql.Date, ql.Date]:
        """Reference period of the accrual period ``[start, dates[i]]`` (ACT/ACT ICMA).

        The period itself, unless ``frequency`` is set: then the regular period that ends
        on ``dates[i]``, one ``12 / frequency`` months long, month ends kept when the
        maturity is a month end.
        """
        end = self._qdates[i]
        if self.frequency is None:
            return _qd(start), end
        begin = end - ql.Period(12 // self.frequency, ql.Months)
        if ql.Date.isEndOfMonth(self._qdates[-1]):
            begin = ql.Date.endOfMonth(begin)
        return begin, end


def _check_settlement(cf: CashFlows, settlement: _dt.date) -> int:
    i = cf._future(settlement)
    if i >= len(cf.dates):
        raise AnalyticsError(
            f"settlement {settlement.isoformat()} is on or after the last cash flow "
            f"({cf.dates[-1].isoformat()}): nothing left to price"
        )
    return i


def _accrued(cf: CashFlows, settlement: _dt.date, i: int) -> float:
    """Accrued interest per 100 of face at settlement; ``i`` = first future payment."""
    if cf.coupon_rate is None or cf.coupon_rate == 0.0:
        return 0.0
    start = cf._period_start(i)
    if start is None:
        raise AnalyticsError(
            "accrued interest needs accrual_start (the closing date or last coupon date) "
            "when settlement falls before the first listed payment"
        )
    if start >= settlement:
        return 0.0
    dc = _day_counter(cf.day_count)
    ref_start, ref_end = cf._reference_period(i, start)
    frac = dc.yearFraction(_qd(start), _qd(settlement), ref_start, ref_end)
    return 100.0 * cf.coupon_rate * frac


def _leg(cf: CashFlows, settlement: _dt.date, i: int, scale: float) -> ql.Leg:
    """QuantLib leg of the payments after settlement, amounts scaled by ``scale``.

    The first interest payment is a coupon carrying its accrual period, so that QuantLib
    measures the broken first period as *full period minus accrued period* in the yield's
    day count (the market convention; it differs from settlement-to-payment only for
    30/360 and ACT/ACT ICMA). Every other date pays one plain cash flow (interest plus
    principal: both are discounted alike).
    """
    qdates = cf._qdates[i:]
    totals = ((cf.interest[i:] + cf.principal[i:]) * scale).tolist()
    flows: list[ql.CashFlow] = []
    start = cf._period_start(i)
    if start is not None and start < cf.dates[i]:
        qs, d = _qd(start), qdates[0]
        interest = float(cf.interest[i]) * scale
        days = cf.dates[i].toordinal() - start.toordinal()
        ref_start, ref_end = cf._reference_period(i, start)
        # nominal * rate * days/365 == interest: the amount is exact, the accrual and
        # reference dates only tell QuantLib how to measure the first period.
        flows.append(ql.FixedRateCoupon(d, interest, 365.0 / days, _ACT365, qs, d,
                                        ref_start, ref_end))
        principal = float(cf.principal[i]) * scale
        if principal != 0.0:
            flows.append(ql.SimpleCashFlow(principal, d))
        qdates, totals = qdates[1:], totals[1:]
    flows.extend([ql.SimpleCashFlow(a, d) for a, d in zip(totals, qdates, strict=True) if a != 0.0])
    return ql.Leg(flows)


_ACT365 = ql.Actual365Fixed()


def _rate(yld: float, compounding: str, day_count: str) -> ql.InterestRate:
    comp, freq = _compounding(compounding)
    return ql.InterestRate(float(yld), _day_counter(day_count), comp, freq)


def _check_yield(yld: float, what: str = "yield") -> float:
    if isinstance(yld, bool) or not isinstance(yld, (int, float, np.floating, np.integer)):
        raise AnalyticsError(f"{what} {yld!r} must be a number (decimal, 0.038 for 3.8%)")
    y = float(yld)
    if not math.isfinite(y):
        raise AnalyticsError(f"{what} {yld!r} must be finite")
    if abs(y) >= _YIELD_PERCENT_LIMIT:
        raise AnalyticsError(
            f"{what} {y:g} looks like a percentage; rates are decimals "
            f"({y:g}% is {y / 100:g})"
        )
    return y


def _check_price(price: float, what: str = "price") -> float:
    if isinstance(price, bool) or not isinstance(price, (int, float, np.floating, np.integer)):
        raise AnalyticsError(f"{what} {price!r} must be a number per 100 of face")
    p = float(price)
    if not math.isfinite(p) or p <= 0.0:
        raise AnalyticsError(f"{what} {price!r} must be positive (per 100 of face)")
    return p


def _stub_periods(leg: ql.Leg, rate: ql.InterestRate, settlement: ql.Date) -> float:
    """Fraction ``w`` in (0, 1] of a period from settlement to the first payment's
    quasi-coupon date, in the rate's day count and frequency.

    The time to the first payment is QuantLib's own (the Macaulay duration of that payment
    alone, so it is measured exactly as the discounting measures it); a first payment more
    than one period away (a long first coupon) is the fraction plus whole periods.
    """
    first = leg[0]
    cp = ql.as_coupon(first)
    # the same dates with a non-zero amount: a first coupon paying nothing still sets the stub
    unit = (ql.FixedRateCoupon(cp.date(), 1.0, 1.0, _ACT365, cp.accrualStartDate(), cp.accrualEndDate(),
                               cp.referencePeriodStart(), cp.referencePeriodEnd())
            if cp is not None else ql.SimpleCashFlow(1.0, first.date()))
    t = ql.CashFlows.duration(ql.Leg([unit]), rate, ql.Duration.Simple, False, settlement)
    tau = t * float(rate.frequency())
    return tau - (math.ceil(tau - 1e-9) - 1)


def _stub_terms(y: float, w: float, f: float) -> tuple[float, float, float]:
    """``g = (1 + y/f)^w / (1 + w y/f)`` and the first two derivatives of ``log g``.

    A simple-stub price is the compounded price times ``g``: whole periods are the same,
    only the first fraction ``w`` of a period is discounted at simple interest.
    """
    a, b = 1.0 + y / f, 1.0 + w * y / f
    g = a**w / b
    d1 = (w / f) / a - (w / f) / b
    d2 = -(w / f**2) / a**2 + (w / f) ** 2 / b**2
    return g, d1, d2


def _npv(leg: ql.Leg, yld: float, compounding: str, day_count: str, settlement: ql.Date) -> float:
    """Dirty value per 100 of ``leg`` at yield ``yld`` (both compounding families)."""
    rate = _rate(yld, compounding, day_count)
    npv = ql.CashFlows.npv(leg, rate, False, settlement, settlement)
    if _simple_stub(compounding) and len(leg):
        npv *= _stub_terms(yld, _stub_periods(leg, rate, settlement), rate.frequency())[0]
    return float(npv)


def _durations(
    leg: ql.Leg, yld: float, compounding: str, day_count: str, settlement: ql.Date
) -> tuple[float, float, float, float]:
    """Dirty value, Macaulay and modified duration, convexity at yield ``yld``.

    For a simple-stub yield the price is the compounded one times ``g`` (see
    :func:`_stub_terms`), so ``D = D_c - (log g)'`` and
    ``C = C_c - D_c^2 + (log g)'' + D^2``; the Macaulay duration (PV-weighted time) does
    not change, every present value being scaled alike.
    """
    rate = _rate(yld, compounding, day_count)
    npv = ql.CashFlows.npv(leg, rate, False, settlement, settlement)
    mac = ql.CashFlows.duration(leg, rate, ql.Duration.Simple, False, settlement)
    mod = ql.CashFlows.duration(leg, rate, ql.Duration.Modified, False, settlement)
    conv = ql.CashFlows.convexity(leg, rate, False, settlement, settlement)
    if _simple_stub(compounding) and len(leg):
        g, d1, d2 = _stub_terms(yld, _stub_periods(leg, rate, settlement), rate.frequency())
        npv, mod_c = npv * g, mod
        mod = mod_c - d1
        conv = conv - mod_c**2 + d2 + mod**2
    return float(npv), float(mac), float(mod), float(conv)


def _solve_yield(
    leg: ql.Leg, dirty: float, compounding: str, day_count: str, settlement: ql.Date
) -> float:
    """Yield that discounts ``leg`` to ``dirty``: QuantLib's solver, bisection as fallback.

    A simple-stub yield starts from the compounded one and takes Newton steps (the
    derivative is the modified duration), with bisection as the fallback.
    """
    comp, freq = _compounding(compounding)
    dc = _day_counter(day_count)
    y: float | None = None
    try:
        y = ql.CashFlows.yieldRate(
            leg, dirty, dc, comp, freq, False, settlement, settlement, 1e-12, 200, 0.05
        )
        if not math.isfinite(y):
            y = None
    except RuntimeError:
        y = None
    if y is not None and not _simple_stub(compounding):
        return float(y)
    if y is not None:
        for _ in range(50):
            npv, _mac, mod, _conv = _durations(leg, y, compounding, day_count, settlement)
            if abs(npv - dirty) <= 1e-13 * max(dirty, 1.0):
                return float(y)
            step = (npv - dirty) / (mod * npv) if mod * npv != 0.0 else math.nan
            if not math.isfinite(step):
                break
            y += step

    def f(x: float) -> float:
        return _npv(leg, x, compounding, day_count, settlement) - dirty

    return _bisect_decreasing(f, _lowest_yield(leg, compounding, day_count, settlement), 10.0)


def _lowest_yield(leg: ql.Leg, compounding: str, day_count: str, settlement: ql.Date) -> float:
    """A yield just above the point where discount factors stop being defined."""
    comp, freq = _compounding(compounding)
    if comp == ql.Continuous:
        return -0.99
    if comp == ql.Compounded:
        return -float(freq) * 0.9999
    last = max(cf.date() for cf in leg)
    t = _day_counter(day_count).yearFraction(settlement, last)
    return -0.9999 / max(t, 1e-9)


def _bisect_decreasing(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Root of a decreasing function on [lo, hi] (regula falsi, Illinois variant)."""
    flo, fhi = f(lo), f(hi)
    if not (flo >= 0.0 >= fhi):
        raise AnalyticsError(
            "no yield reproduces this price: the price is outside what the cash flows "
            f"can be worth at yields between {lo:.4g} and {hi:.4g}"
        )
    side = 0
    for _ in range(300):
        x = (lo * fhi - hi * flo) / (fhi - flo) if fhi != flo else 0.5 * (lo + hi)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        fx = f(x)
        if abs(fx) < 1e-12 or hi - lo < 1e-14:
            return x
        if fx > 0:
            lo, flo = x, fx
            if side == -1:
                fhi *= 0.5
            side = -1
        else:
            hi, fhi = x, fx
            if side == 1:
                flo *= 0.5
            side = 1
    return 0.5 * (lo + hi)


# --- the ChinaBond convention ---------------------------------------------------------------


def _coupon_periods(cf: CashFlows, settlement: _dt.date, i: int, icma: bool = False) -> float:
    """``d/TS``: coupon periods from settlement to the next payment ``dates[i]`` — the days
    to it over the days of the coupon period it ends.

    The current period runs from the previous payment date (or ``accrual_start``): ``TS`` is
    its actual days (当前付息周期的实际天数, 银发〔2007〕200号), an odd (short or long) first
    period included. With ``icma`` the first period of cash flows with a ``frequency`` is
    measured against its regular (quasi-coupon) periods of ``12 / frequency`` months ending
    on the first payment, as ICMA and the US Treasury measure an odd first coupon: a short
    first period is the fraction of a regular period it covers, a long one a whole period
    plus a fraction of the one before. A regular first period is the same either way; so is
    a first period whose start is not known (no ``accrual_start``): its regular period.
    """
    start = cf._period_start(i)
    if i == 0 and cf.frequency is not None and (icma or start is None):
        return _quasi_coupon_periods(cf.dates[0], cf.frequency, ql.Date.isEndOfMonth(cf._qdates[-1]), settlement)
    if start is None:
        raise AnalyticsError(
            "the chinabond yield needs the current coupon period: give accrual_start (the closing "
            "date or the last coupon date) or frequency when settlement falls before the first "
            "listed payment"
        )
    return (cf.dates[i] - settlement).days / (cf.dates[i] - start).days


@lru_cache(maxsize=4096)
def _quasi_coupon_periods(first: _dt.date, frequency: int, eom: bool, settlement: _dt.date) -> float:
    """Regular coupon periods of ``12 / frequency`` months (month ends if ``eom``) from
    settlement to the first payment on ``first``: whole ones, plus the fraction of the one
    settlement falls in (its days left over its days)."""
    q0, qs, step = _qd(first), _qd(settlement), 12 // frequency

    def back(j: int) -> ql.Date:
        if j == 0:
            return q0
        d = q0 - ql.Period(j * step, ql.Months)
        return ql.Date.endOfMonth(d) if eom else d

    j = 1
    while back(j) > qs:
        j += 1
    end, start = back(j - 1), back(j)
    return (j - 1) + (end.serialNumber() - qs.serialNumber()) / (end.serialNumber() - start.serialNumber())


def _coupon_years(settlement: _dt.date, when: _dt.date) -> tuple[int, float]:
    """Whole years ``m`` and the fraction ``d/TY`` from settlement to a payment on ``when``.

    The years are counted back from ``when`` (its anniversaries, 29 February kept as 28);
    ``d`` is the days from settlement to the next anniversary and ``TY`` the days of the
    year it ends (365 or 366). ``m = 0`` within a year of ``when``.
    """
    qw, qs = _qd(when), _qd(settlement)
    j = 1
    while qw - ql.Period(j, ql.Years) > qs:
        j += 1
    end = qw if j == 1 else qw - ql.Period(j - 1, ql.Years)
    start = qw - ql.Period(j, ql.Years)
    return j - 1, (end.serialNumber() - qs.serialNumber()) / (end.serialNumber() - start.serialNumber())


def chinabond_times(
    dates: Sequence[_dt.date], frequency: int, settlement: _dt.date, *, start: _dt.date | None = None,
    icma: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The exponents of the ChinaBond convention for payments on ``dates`` (a whole
    schedule, every coupon date listed) bought at ``settlement``, before ``dates[0]``, in the
    current coupon period that began on ``start`` (default: ``settlement``, a purchase at
    closing or on a payment date): ``periods[k] = d/TS + k``, the coupon periods the ``k``-th
    payment is discounted over while more than one is left (``TS`` the actual days of the
    current period; with ``icma`` its regular quasi-coupon periods, as
    :func:`_coupon_periods`), and ``years[k] = m + d/TY`` for a single payment on
    ``dates[k]`` (simple interest over ``years[k]`` years when it is at most 1, else annual
    compounding; :func:`_coupon_years`). Vectorised yields of many scenarios
    (:meth:`abs_engine.Result.measures`) use them as :class:`_ChinaBond` does.

    Examples
    --------
    >>> import datetime as dt
    >>> p, y = chinabond_times([dt.date(2026, 10, 26), dt.date(2027, 1, 26)], 4, dt.date(2026, 7, 20))
    >>> [round(float(x), 6) for x in p], [round(float(x), 6) for x in y]   # 98/98; 98/365 and 190/365
    ([1.0, 2.0], [0.268493, 0.520548])
    >>> p, _ = chinabond_times([dt.date(2026, 10, 26), dt.date(2027, 1, 26)], 4, dt.date(2026, 7, 20), icma=True)
    >>> [round(float(x), 6) for x in p]   # 1 + 6/91: the quasi-coupon quarter 04-26 - 07-26
    [1.065934, 2.065934]
    """
    if icma:
        first = _quasi_coupon_periods(dates[0], int(frequency), ql.Date.isEndOfMonth(_qd(dates[-1])), settlement)
    else:
        s0 = start or settlement
        first = (dates[0] - settlement).days / (dates[0] - s0).days
    periods = first + np.arange(len(dates), dtype=np.float64)
    years = np.array([m + x for m, x in (_coupon_years(settlement, d) for d in dates)])
    return periods, years


class _ChinaBond:
    """The payments after settlement, per 100 of face, discounted by the PBoC formulas for
    fixed-rate bonds (中国人民银行 银发〔2007〕200号, used by 中债 / ChinaBond).

    * More than one payment left: compounding at the coupon frequency ``f`` (the cash flows'
      ``frequency``) over coupon periods, the ``k``-th payment after settlement discounted by
      ``(1 + y/f)^(d/TS + k)`` (:func:`_coupon_periods`); each listed date is one coupon period,
      so an amortising note's cash flows are discounted period by period.
    * One payment left (the last coupon period; a zero-coupon or pay-at-maturity bond),
      within a year: simple interest, ``PV = FV / (1 + y D/TY)``, so ``y = (FV - PV)/PV * TY/D``
      (``D`` days to the payment, ``TY`` days of the year ending on it).
    * One payment more than a year away: annual compounding, ``PV = FV / (1 + y)^(d/TY + m)``
      (:func:`_coupon_years`).

    Times (Macaulay duration) are these exponents in years: ``(d/TS + k) / f``, ``D/TY``,
    ``d/TY + m``; the modified duration and convexity are the derivatives of the price.
    """

    def __init__(self, cf: CashFlows, settlement: _dt.date, i: int, icma: bool = False) -> None:
        amounts = (cf.interest[i:] + cf.principal[i:]) * (100.0 / cf.face)
        paid = np.flatnonzero(amounts > 0.0)
        self.simple = False
        if paid.size > 1:
            if cf.frequency is None:
                raise AnalyticsError(
                    "the chinabond yield compounds at the coupon frequency: give the cash flows' "
                    "frequency (CashFlows(..., frequency=4) for quarterly coupons)"
                )
            self.f = float(cf.frequency)
            periods = _coupon_periods(cf, settlement, i, icma) + np.arange(amounts.size, dtype=np.float64)
            self.amounts, self.exponents = amounts[paid], periods[paid]
            return
        k = int(paid[0]) if paid.size else amounts.size - 1
        whole, fraction = _coupon_years(settlement, cf.dates[i + k])
        self.f, self.simple = 1.0, whole == 0
        self.amounts, self.exponents = amounts[k:k + 1], np.array([whole + fraction])

    def npv(self, y: float) -> float:
        """Dirty price per 100 at yield ``y``."""
        if self.simple:
            return float(self.amounts[0] / (1.0 + y * self.exponents[0]))
        return float(np.dot(self.amounts, (1.0 + y / self.f) ** -self.exponents))

    def risk(self, y: float) -> tuple[float, float, float, float]:
        """Dirty price, Macaulay and modified duration (years), convexity (years²) at ``y``."""
        e, f = self.exponents, self.f
        if self.simple:
            t, g = float(e[0]), 1.0 + y * float(e[0])
            return float(self.amounts[0]) / g, t, t / g, 2.0 * t * t / (g * g)
        base = 1.0 + y / f
        pv = self.amounts * base ** -e
        p = float(pv.sum())
        if p == 0.0:
            return 0.0, math.nan, math.nan, math.nan
        mac = float(np.dot(pv, e)) / (f * p)
        conv = float(np.dot(pv, e * (e + 1.0))) / (f * f * base * base * p)
        return p, mac, mac / base, conv

    def solve(self, dirty: float) -> float:
        """The yield at which the payments are worth ``dirty`` per 100."""
        fv = float(self.amounts.sum())
        if self.simple and fv > 0.0:
            return (fv / dirty - 1.0) / float(self.exponents[0])  # y = (FV - PV)/PV * TY/D
        lo = -self.f * 0.9999
        if fv > 0.0:
            a, e, f = self.amounts, self.exponents, self.f
            ae = a * e / f
            y = 0.0  # Newton from 0: the price is convex and decreasing in y
            for _ in range(100):
                base = 1.0 + y / f
                v = base ** -e
                p = float(a @ v)
                if abs(p - dirty) <= 1e-13 * max(dirty, 1.0):
                    return y
                slope = float(ae @ v) / base  # -dP/dy
                nxt = y + (p - dirty) / slope if slope > 0.0 else math.nan
                if not (math.isfinite(nxt) and nxt > lo):
                    break
                y = nxt
        return _bisect_decreasing(lambda x: self.npv(x) - dirty, lo, 10.0)


@dataclass
class _QuantLibYield:
    """The payments after settlement (a QuantLib leg per 100 of face) discounted by
    QuantLib at a yield in every compounding but ``chinabond``."""

    leg: ql.Leg
    compounding: str
    day_count: str
    settlement: ql.Date

    def npv(self, y: float) -> float:
        return _npv(self.leg, y, self.compounding, self.day_count, self.settlement)

    def risk(self, y: float) -> tuple[float, float, float, float]:
        return _durations(self.leg, y, self.compounding, self.day_count, self.settlement)

    def solve(self, dirty: float) -> float:
        return _solve_yield(self.leg, dirty, self.compounding, self.day_count, self.settlement)


def _discounting(
    cf: CashFlows, settlement: _dt.date, i: int, compounding: str, day_count: str,
    leg: ql.Leg | None = None,
) -> _ChinaBond | _QuantLibYield:
    """How the payments of ``cf`` after settlement (``i`` = the first of them) are worth a
    yield in ``compounding`` and ``day_count``: price, durations and the yield at a price.
    ``chinabond`` measures its own time (coupon periods and years), so ``day_count`` does
    not apply to it."""
    if (conv := _convention(compounding)) in _CHINABONDS:
        return _ChinaBond(cf, settlement, i, icma=conv == _CHINABOND_ICMA)
    if leg is None:
        leg = _leg(cf, settlement, i, 100.0 / cf.face)
    return _QuantLibYield(leg, compounding, day_count, _qd(settlement))


# --- price, yield, risk ---------------------------------------------------------------------


@_quantlib_edge
def accrued_interest(cf: CashFlows, settlement: _dt.date) -> float:
    """Accrued interest at settlement, per 100 of face.

    ``coupon_rate * yearfraction(period start, settlement) * 100`` in the cash flows' day
    count; 0 when ``coupon_rate`` is ``None``.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows.level_coupon([dt.date(2026, 12, 31)], 0.0365,
    ...                             accrual_start=dt.date(2025, 12, 31))
    >>> round(accrued_interest(cf, dt.date(2026, 3, 1)), 6)   # 60 days
    0.6
    """
    settlement = _as_date(settlement, "settlement")
    i = _check_settlement(cf, settlement)
    return _accrued(cf, settlement, i)


@_quantlib_edge
def price_from_yield(
    cf: CashFlows,
    yld: float,
    settlement: _dt.date,
    *,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
    clean: bool = True,
) -> float:
    """Price per 100 of face that gives yield ``yld``.

    Dirty price = 100/face * sum of each payment after settlement times its discount
    factor at ``yld``; clean = dirty - accrued interest.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2031, 1, 1)], [0.0], [100.0], face=100.0)
    >>> round(price_from_yield(zero, 0.03, dt.date(2026, 1, 1)), 4)   # 100 / 1.03**(1826/365)
    86.2539
    """
    settlement = _as_date(settlement, "settlement")
    y = _check_yield(yld)
    i = _check_settlement(cf, settlement)
    dirty = _discounting(cf, settlement, i, compounding, day_count).npv(y)
    return dirty - _accrued(cf, settlement, i) if clean else dirty


@_quantlib_edge
def yield_from_price(
    cf: CashFlows,
    price: float,
    settlement: _dt.date,
    *,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
    clean: bool = True,
) -> float:
    """Yield (decimal) at which the cash flows are worth ``price`` per 100 of face.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows.level_coupon([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], 0.03)
    >>> round(yield_from_price(cf, 100.0, dt.date(2026, 1, 1)), 10)
    0.03
    """
    settlement = _as_date(settlement, "settlement")
    p = _check_price(price)
    _convention(compounding)
    i = _check_settlement(cf, settlement)
    dirty = p + _accrued(cf, settlement, i) if clean else p
    return _discounting(cf, settlement, i, compounding, day_count).solve(dirty)


def _risk(
    cf: CashFlows,
    y: float,
    settlement: _dt.date,
    i: int,
    compounding: str,
    day_count: str,
    at: _ChinaBond | _QuantLibYield | None = None,
) -> dict[str, float]:
    if at is None:
        at = _discounting(cf, settlement, i, compounding, day_count)
    dirty, mac, mod, conv = at.risk(y)
    accrued = _accrued(cf, settlement, i)
    return {
        "price": dirty - accrued,
        "dirty_price": dirty,
        "accrued": accrued,
        "yield": y,
        "macaulay_duration": mac,
        "modified_duration": mod,
        "convexity": conv,
        "wal_years": _wal(cf, settlement, i),
    }


@_quantlib_edge
def risk_measures(
    cf: CashFlows,
    settlement: _dt.date,
    *,
    yld: float | None = None,
    price: float | None = None,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
) -> dict[str, float]:
    """Price, yield, WAL, durations and convexity in one call (give ``yld`` or clean ``price``).

    Returns
    -------
    dict
        ``price`` (clean), ``dirty_price``, ``accrued`` (per 100), ``yield`` (decimal),
        ``wal_years``, ``macaulay_duration``, ``modified_duration`` (years) and ``convexity``
        (years squared), as defined in docs/analytics.md.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2031, 1, 1)], [0.0], [100.0], face=100.0)
    >>> r = risk_measures(zero, dt.date(2026, 1, 1), yld=0.03)
    >>> round(r["macaulay_duration"], 6), round(r["wal_years"], 6)
    (5.00274, 5.00274)
    """
    settlement = _as_date(settlement, "settlement")
    if (yld is None) == (price is None):
        raise AnalyticsError("give exactly one of yld and price")
    i = _check_settlement(cf, settlement)
    if yld is None:
        assert price is not None
        y = yield_from_price(
            cf, price, settlement, compounding=compounding, day_count=day_count
        )
    else:
        y = _check_yield(yld)
    return _risk(cf, y, settlement, i, compounding, day_count)


def macaulay_duration(
    cf: CashFlows,
    yld: float,
    settlement: _dt.date,
    *,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
) -> float:
    """Macaulay duration in years: ``sum(t_i * PV_i) / sum(PV_i)`` at yield ``yld``.

    ``t_i`` is measured in ``day_count`` from settlement (the broken first period as full
    period minus accrued). For compounded yields it equals
    ``modified_duration * (1 + y/f)``.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2030, 1, 1)], [0.0], [100.0], face=100.0)
    >>> round(macaulay_duration(zero, 0.05, dt.date(2026, 1, 1)), 6)   # 1461 days / 365
    4.00274
    """
    return risk_measures(
        cf, settlement, yld=yld, compounding=compounding, day_count=day_count
    )["macaulay_duration"]


def modified_duration(
    cf: CashFlows,
    yld: float,
    settlement: _dt.date,
    *,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
) -> float:
    """Modified duration in years: ``-(1/P) dP/dy`` of the dirty price at yield ``yld``.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2030, 1, 1)], [0.0], [100.0], face=100.0)
    >>> round(modified_duration(zero, 0.05, dt.date(2026, 1, 1)), 6)   # 4.00274 / 1.05
    3.812133
    """
    return risk_measures(
        cf, settlement, yld=yld, compounding=compounding, day_count=day_count
    )["modified_duration"]


def convexity(
    cf: CashFlows,
    yld: float,
    settlement: _dt.date,
    *,
    compounding: str = "annual",
    day_count: str = "ACT/365F",
) -> float:
    """Convexity in years squared: ``(1/P) d2P/dy2`` of the dirty price at yield ``yld``.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2030, 1, 1)], [0.0], [100.0], face=100.0)
    >>> c = convexity(zero, 0.05, dt.date(2026, 1, 1))
    >>> t = 1461 / 365
    >>> abs(c - t * (t + 1) / 1.05**2) < 1e-9
    True
    """
    return risk_measures(
        cf, settlement, yld=yld, compounding=compounding, day_count=day_count
    )["convexity"]


def _wal(cf: CashFlows, settlement: _dt.date, i: int, day_count: str = "ACT/365F") -> float:
    p = cf.principal[i:]
    total = float(p.sum())
    if total <= 0.0:
        return math.nan
    if day_count == "ACT/365F":
        t = (cf._ords[i:] - settlement.toordinal()) / 365.0
    else:
        dc, qs = _day_counter(day_count), _qd(settlement)
        t = np.array([dc.yearFraction(qs, d) for d in cf._qdates[i:]])
    return float(np.dot(t, p) / total)


def wal(cf: CashFlows, settlement: _dt.date, *, day_count: str = "ACT/365F") -> float:
    """Weighted average life in years from settlement, times measured in ``day_count``
    (ACT/365F by default; ``30/360`` gives the months / 12 of the SIFMA and textbook
    average life when payments fall on one day of the month).

    ``sum(t_i * principal_i) / sum(principal_i)`` over payments after settlement.

    Raises
    ------
    AnalyticsError
        If no principal is paid after settlement.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], [0, 0], [50, 50], face=100)
    >>> round(wal(cf, dt.date(2026, 1, 1)), 6)   # (365 + 730) / 2 / 365
    1.5
    """
    settlement = _as_date(settlement, "settlement")
    i = _check_settlement(cf, settlement)
    w = _wal(cf, settlement, i, _day_count_name(day_count))
    if math.isnan(w):
        raise AnalyticsError("no principal is paid after settlement: WAL is undefined")
    return w


@dataclass(frozen=True)
class PrincipalWindow:
    """First and last principal payment dates, and the window length in months."""

    first: _dt.date
    last: _dt.date
    months: int


def principal_window(cf: CashFlows, settlement: _dt.date | None = None) -> PrincipalWindow:
    """First and last principal dates and the months between them.

    ``months = 12 * (last.year - first.year) + (last.month - first.month)``, so a bullet
    has a 0-month window.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 3, 26), dt.date(2027, 6, 26), dt.date(2028, 3, 26)],
    ...                [1, 1, 1], [0, 40, 60], face=100)
    >>> w = principal_window(cf)
    >>> w.first.isoformat(), w.last.isoformat(), w.months
    ('2027-06-26', '2028-03-26', 9)
    """
    i = 0 if settlement is None else cf._future(_as_date(settlement, "settlement"))
    idx = [k for k in range(i, len(cf.dates)) if cf.principal[k] > 0.0]
    if not idx:
        raise AnalyticsError("no principal is paid after settlement: no principal window")
    first, last = cf.dates[idx[0]], cf.dates[idx[-1]]
    return PrincipalWindow(first, last, calendar_months(first, last))


def expected_maturity(cf: CashFlows, settlement: _dt.date | None = None) -> _dt.date:
    """Expected maturity: the date of the last principal payment.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 3, 26), dt.date(2027, 6, 26)], [1, 1], [100, 0], face=100)
    >>> expected_maturity(cf).isoformat()
    '2027-03-26'
    """
    return principal_window(cf, settlement).last


# --- IRR and cash multiple -------------------------------------------------------------------


@_quantlib_edge
def irr(cf: CashFlows, price: float, settlement: _dt.date) -> float:
    """Internal rate of return (annual compounding, ACT/365F) at a purchase price.

    Solves ``price * face / 100 = sum(cash_i / (1 + r) ** t_i)`` with ``t_i`` in ACT/365F
    years from settlement; ``price`` is the (dirty) purchase price per 100 of face.

    Raises
    ------
    AnalyticsError
        If nothing is received after settlement (the IRR would be -100 %).

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 1, 1)], [0.0], [110.0], face=100.0)
    >>> round(irr(cf, 100.0, dt.date(2026, 1, 1)), 10)
    0.1
    """
    settlement = _as_date(settlement, "settlement")
    p = _check_price(price)
    i = _check_settlement(cf, settlement)
    if float(cf.total[i:].sum()) <= 0.0:
        raise AnalyticsError("no cash is received after settlement: the IRR is undefined")
    leg = _leg(cf, settlement, i, 100.0 / cf.face)
    return _solve_yield(leg, p, "annual", "ACT/365F", _qd(settlement))


def cash_multiple(cf: CashFlows, price: float, settlement: _dt.date) -> float:
    """Total cash received after settlement divided by the price paid.

    ``sum(interest + principal) / (price * face / 100)``; undiscounted.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows([dt.date(2027, 1, 1)], [30.0], [100.0], face=100.0)
    >>> cash_multiple(cf, 80.0, dt.date(2026, 1, 1))
    1.625
    """
    settlement = _as_date(settlement, "settlement")
    p = _check_price(price)
    i = _check_settlement(cf, settlement)
    return float(cf.total[i:].sum()) / (p * cf.face / 100.0)


# --- curves ----------------------------------------------------------------------------------

_TENOR = re.compile(r"^\s*([+-]?\d+)\s*([DWMY])\s*$", re.IGNORECASE)
_CURVE_KEYS = {"kind", "compounding", "day_count", "reference_date", "rate", "points", "frequency"}


class Curve:
    """A discount curve with a fixed reference date.

    Build it with :meth:`flat`, :meth:`from_zero_rates`, :meth:`from_par_yields` or
    :meth:`from_dict`. Zero rates are quoted in the curve's ``compounding`` and
    ``day_count``; z-spreads over the curve are added in that same convention.

    Examples
    --------
    >>> import datetime as dt
    >>> c = Curve.flat(0.02, dt.date(2026, 1, 1))
    >>> round(c.discount(dt.date(2027, 1, 1)), 10) == round(1 / 1.02, 10)
    True
    """

    def __init__(
        self,
        ts: ql.YieldTermStructure,
        *,
        reference_date: _dt.date,
        compounding: str,
        day_count: str,
        kind: str,
    ) -> None:
        self._ts = ts
        self._ts.enableExtrapolation()
        self.reference_date = reference_date
        self.compounding = str(compounding).strip().lower()
        self.day_count = _day_count_name(day_count)
        self.kind = kind
        self._handle = ql.YieldTermStructureHandle(ts)

    def __repr__(self) -> str:
        return (
            f"Curve(kind={self.kind!r}, reference_date={self.reference_date.isoformat()}, "
            f"compounding={self.compounding!r}, day_count={self.day_count!r})"
        )

    # constructors

    @classmethod
    def flat(
        cls,
        rate: float,
        reference_date: _dt.date,
        *,
        compounding: str = "annual",
        day_count: str = "ACT/365F",
    ) -> Curve:
        """A flat curve: every zero rate equals ``rate`` (in ``compounding``/``day_count``).

        Examples
        --------
        >>> import datetime as dt
        >>> round(Curve.flat(0.025, dt.date(2026, 1, 1)).zero_rate(dt.date(2030, 5, 5)), 12)
        0.025
        """
        ref = _as_date(reference_date, "reference_date")
        errors = _check_curve_rate(rate, "rate")
        if errors:
            raise AnalyticsError("invalid curve: " + "; ".join(errors))
        comp, freq = _curve_compounding(compounding)
        ts = ql.FlatForward(_qd(ref), float(rate), _day_counter(day_count), comp, freq)
        return cls(ts, reference_date=ref, compounding=compounding, day_count=day_count,
                   kind="flat")

    @classmethod
    def from_zero_rates(
        cls,
        points: Sequence[tuple[_dt.date | str, float]],
        reference_date: _dt.date,
        *,
        compounding: str,
        day_count: str = "ACT/365F",
    ) -> Curve:
        """A zero curve from ``(date or tenor, zero rate)`` points, sorted by maturity.

        The rates are in ``compounding`` and ``day_count``. Before the first point the
        first rate applies; between points QuantLib's ``ZeroCurve`` interpolates linearly
        in the continuously compounded equivalent of each rate (the curve reproduces every
        input rate exactly at its date); after the last point the instantaneous forward
        rate at that point is held (QuantLib's extrapolation; see docs/analytics.md).

        Examples
        --------
        >>> import datetime as dt
        >>> c = Curve.from_zero_rates([("1Y", 0.015), ("5Y", 0.02)], dt.date(2026, 1, 1),
        ...                           compounding="annual")
        >>> round(c.zero_rate(dt.date(2031, 1, 1)), 12)
        0.02
        """
        return cls.from_dict(
            {
                "kind": "zero",
                "compounding": compounding,
                "day_count": day_count,
                "points": [_point_dict(p) for p in points],
            },
            reference_date=reference_date,
        )

    @classmethod
    def from_par_yields(
        cls,
        points: Sequence[tuple[_dt.date | str, float]],
        reference_date: _dt.date,
        *,
        frequency: str = "annual",
        day_count: str = "ACT/365F",
    ) -> Curve:
        """Bootstrap a curve from par yields (see :meth:`from_dict`, ``kind: par``).

        Examples
        --------
        >>> import datetime as dt
        >>> c = Curve.from_par_yields([("1Y", 0.015), ("3Y", 0.018), ("5Y", 0.02)],
        ...                           dt.date(2026, 1, 1))
        >>> round(1 / c.discount(dt.date(2027, 1, 1)) - 1, 10)   # 1Y deposit, 365 days
        0.015
        """
        return cls.from_dict(
            {
                "kind": "par",
                "frequency": frequency,
                "day_count": day_count,
                "points": [_point_dict(p) for p in points],
            },
            reference_date=reference_date,
        )

    @classmethod
    @_quantlib_edge
    def from_dict(cls, spec: Mapping[str, Any], *, reference_date: _dt.date | None = None) -> Curve:
        """Build a curve from a plain dict, as read from YAML, validating it.

        Format (docs/analytics.md, "Curve files")::

            kind: zero            # flat | zero | par
            compounding: annual   # zero: required; flat: default annual
            frequency: annual     # par only: coupon frequency of the par bonds
            day_count: ACT/365F   # optional
            reference_date: 2026-03-31   # optional; else the reference_date argument
            rate: 0.02            # flat only
            points:               # zero and par: sorted, no duplicates
              - {tenor: 1Y, rate: 0.0135}
              - {date: 2031-03-31, rate: 0.0185}

        Tenors are ``<n>D``, ``<n>W``, ``<n>M`` or ``<n>Y`` after the reference date
        (unadjusted). Rates are decimals.

        Raises
        ------
        AnalyticsError
            Listing every problem: unknown keys or kinds, missing compounding, points
            unsorted or duplicated, non-positive tenors, dates not after the reference
            date, rates that look like percentages (>= 0.5).

        Examples
        --------
        >>> import datetime as dt
        >>> spec = {"kind": "zero", "compounding": "annual",
        ...         "points": [{"tenor": "1Y", "rate": 0.0135}, {"tenor": "3Y", "rate": 0.0155}]}
        >>> Curve.from_dict(spec, reference_date=dt.date(2026, 3, 31)).kind
        'zero'
        >>> Curve.from_dict({"kind": "zero", "compounding": "annual",
        ...                  "points": [{"tenor": "1Y", "rate": 2.5}]},
        ...                 reference_date=dt.date(2026, 3, 31))
        Traceback (most recent call last):
        ...
        abs_engine.errors.AnalyticsError: invalid curve: points[0].rate = 2.5 looks like a percentage; rates are decimals (2.5% is 0.025)
        """
        if not isinstance(spec, Mapping):
            raise AnalyticsError(f"invalid curve: expected a mapping, got {type(spec).__name__}")
        errors: list[str] = []
        unknown = sorted(set(spec) - _CURVE_KEYS)
        if unknown:
            errors.append(
                f"unknown key(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(_CURVE_KEYS))})"
            )
        kind = str(spec.get("kind", "")).strip().lower()
        if kind not in ("flat", "zero", "par"):
            errors.append(f"kind {spec.get('kind')!r} must be one of flat, zero, par")
        ref_raw = spec.get("reference_date", reference_date)
        ref: _dt.date | None = None
        if ref_raw is None:
            errors.append("no reference_date (give it in the curve or as an argument)")
        else:
            try:
                ref = _as_date(ref_raw, "reference_date")
            except AnalyticsError as exc:
                errors.append(str(exc))
        day_count = spec.get("day_count", "ACT/365F")
        try:
            _day_count_name(day_count)
        except AnalyticsError as exc:
            errors.append(str(exc))
        compounding = spec.get("compounding")
        if kind == "zero" and compounding is None:
            errors.append(
                f"'compounding' is required for a zero curve (one of {', '.join(_CURVE_COMPOUNDINGS)})"
            )
        compounding = "annual" if compounding is None else compounding
        try:
            _curve_compounding(compounding)
        except AnalyticsError as exc:
            errors.append(str(exc))
        frequency = str(spec.get("frequency", "annual")).strip().lower()
        if kind == "par" and frequency not in ("annual", "semiannual", "quarterly"):
            errors.append(f"frequency {frequency!r} must be annual, semiannual or quarterly")

        if kind == "flat":
            if "points" in spec:
                errors.append("a flat curve takes 'rate', not 'points'")
            if "rate" not in spec:
                errors.append("a flat curve needs 'rate'")
            else:
                errors += _check_curve_rate(spec["rate"], "rate")
            if errors:
                raise AnalyticsError("invalid curve: " + "; ".join(errors))
            assert ref is not None
            return cls.flat(spec["rate"], ref, compounding=compounding, day_count=day_count)

        nodes: list[tuple[_dt.date, float, str]] = []
        if kind in ("zero", "par"):
            if "rate" in spec:
                errors.append(f"a {kind} curve takes 'points', not 'rate'")
            nodes, point_errors = _parse_points(spec.get("points"), ref)
            errors += point_errors
        if errors:
            raise AnalyticsError("invalid curve: " + "; ".join(errors))
        assert ref is not None
        dc = _day_counter(day_count)
        if kind == "zero":
            comp, freq = _curve_compounding(compounding)
            dates = [_qd(ref)] + [_qd(d) for d, _, _ in nodes]
            rates = [nodes[0][1]] + [r for _, r, _ in nodes]
            ts = ql.ZeroCurve(dates, rates, dc, ql.NullCalendar(), ql.Linear(), comp, freq)
            return cls(ts, reference_date=ref, compounding=compounding, day_count=day_count,
                       kind="zero")
        ts = _bootstrap_par(nodes, ref, frequency, dc)
        return cls(ts, reference_date=ref, compounding=compounding, day_count=day_count,
                   kind="par")

    # queries

    def discount(self, d: _dt.date) -> float:
        """Discount factor from the reference date to ``d``."""
        return float(self._ts.discount(_qd(_as_date(d, "date"))))

    def zero_rate(self, d: _dt.date) -> float:
        """Zero rate to ``d`` in the curve's compounding and day count."""
        d = _as_date(d, "date")
        if d <= self.reference_date:
            d = self.reference_date + _dt.timedelta(days=1)
        comp, freq = _curve_compounding(self.compounding)
        return float(
            self._ts.zeroRate(_qd(d), _day_counter(self.day_count), comp, freq).rate()
        )

    def forward_rate(self, start: _dt.date, end: _dt.date, day_count: str = "ACT/365F") -> float:
        """Simple forward rate between two dates: ``(D(start)/D(end) - 1) / tau``."""
        s, e = _as_date(start, "start"), _as_date(end, "end")
        if e <= s:
            raise AnalyticsError(f"forward period {s} to {e} is empty")
        tau = _day_counter(day_count).yearFraction(_qd(s), _qd(e))
        return (self.discount(s) / self.discount(e) - 1.0) / tau

    def shifted(self, bp: float) -> Curve:
        """The curve with every zero rate moved by ``bp`` basis points (same convention)."""
        comp, freq = _curve_compounding(self.compounding)
        ts = ql.ZeroSpreadedTermStructure(
            self._handle,
            ql.QuoteHandle(ql.SimpleQuote(bp * 1e-4)),
            comp,
            freq,
            _day_counter(self.day_count),
        )
        return Curve(ts, reference_date=self.reference_date, compounding=self.compounding,
                     day_count=self.day_count, kind=f"{self.kind}{bp:+g}bp")


def _point_dict(p: tuple[_dt.date | str, float]) -> dict[str, Any]:
    when, rate = p
    return {"tenor": when, "rate": rate} if isinstance(when, str) else {"date": when, "rate": rate}


def _check_curve_rate(rate: Any, where: str) -> list[str]:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
        return [f"{where} = {rate!r} must be a number (decimal)"]
    r = float(rate)
    if not math.isfinite(r):
        return [f"{where} = {rate!r} must be finite"]
    if abs(r) >= _CURVE_PERCENT_LIMIT:
        return [f"{where} = {r:g} looks like a percentage; rates are decimals "
                f"({r:g}% is {r / 100:g})"]
    return []


def _parse_points(
    points: Any, ref: _dt.date | None
) -> tuple[list[tuple[_dt.date, float, str]], list[str]]:
    errors: list[str] = []
    nodes: list[tuple[_dt.date, float, str]] = []
    if not isinstance(points, Sequence) or isinstance(points, (str, bytes)) or not points:
        return [], ["'points' must be a non-empty list of {tenor|date, rate}"]
    for k, p in enumerate(points):
        where = f"points[{k}]"
        if not isinstance(p, Mapping):
            errors.append(f"{where} must be a mapping with tenor or date, and rate")
            continue
        extra = sorted(set(p) - {"tenor", "date", "rate"})
        if extra:
            errors.append(f"{where}: unknown key(s) {', '.join(map(repr, extra))}")
        if ("tenor" in p) == ("date" in p):
            errors.append(f"{where} needs exactly one of 'tenor' and 'date'")
            continue
        if "rate" not in p:
            errors.append(f"{where} has no 'rate'")
            continue
        rate_errors = _check_curve_rate(p["rate"], f"{where}.rate")
        errors += rate_errors
        label: str
        when: _dt.date | None = None
        if "tenor" in p:
            label = str(p["tenor"]).strip()
            m = _TENOR.match(label)
            if not m:
                errors.append(f"{where}.tenor {label!r} is not a tenor like 6M or 5Y")
                continue
            n, unit = int(m.group(1)), m.group(2).upper()
            if n <= 0:
                kind = "negative" if n < 0 else "zero"
                errors.append(f"{where}.tenor {label!r} is {kind}; tenors must be positive")
                continue
            if ref is not None:
                when = _pyd(_qd(ref) + ql.Period(n, _UNITS[unit]))
        else:
            try:
                when = _as_date(p["date"], f"{where}.date")
            except AnalyticsError as exc:
                errors.append(str(exc))
                continue
            label = when.isoformat()
            if ref is not None and when <= ref:
                errors.append(f"{where}.date {label} is not after the reference date {ref}")
                continue
        if when is not None and not rate_errors:
            nodes.append((when, float(p["rate"]), f"{where} ({label})"))
    for (d0, _, l0), (d1, _, l1) in zip(nodes, nodes[1:], strict=False):
        if d1 == d0:
            errors.append(f"duplicate point: {l1} falls on the same date as {l0}")
        elif d1 < d0:
            errors.append(f"points must be sorted by maturity: {l1} comes after {l0}")
    return nodes, errors


_UNITS = {"D": ql.Days, "W": ql.Weeks, "M": ql.Months, "Y": ql.Years}


def _bootstrap_par(
    nodes: list[tuple[_dt.date, float, str]], ref: _dt.date, frequency: str, dc: ql.DayCounter
) -> ql.YieldTermStructure:
    """Bootstrap par yields, then freeze the result into a plain discount curve.

    Points up to one year are money-market deposits (simple rate, ``dc``); longer points
    are bonds priced at par paying ``rate / f`` every coupon period. The bootstrap is
    piecewise log-linear in discount factors (flat forwards between nodes); its nodes are
    copied into a ``ql.DiscountCurve`` so that the result no longer depends on QuantLib's
    evaluation date (which the helpers need and which is set only inside this function).
    """
    qref = _qd(ref)
    ql.Settings.instance().evaluationDate = qref
    _, freq = _compounding(frequency)
    helpers = []
    for when, rate, _ in nodes:
        qd = _qd(when)
        if when <= _add_years(ref, 1):
            days = when.toordinal() - ref.toordinal()
            helpers.append(
                ql.DepositRateHelper(
                    ql.QuoteHandle(ql.SimpleQuote(rate)), ql.Period(days, ql.Days), 0,
                    ql.NullCalendar(), ql.Unadjusted, False, dc,
                )
            )
        else:
            schedule = ql.Schedule(
                qref, qd, ql.Period(freq), ql.NullCalendar(), ql.Unadjusted, ql.Unadjusted,
                ql.DateGeneration.Backward, False,
            )
            helpers.append(
                ql.FixedRateBondHelper(
                    ql.QuoteHandle(ql.SimpleQuote(100.0)), 0, 100.0, schedule, [rate],
                    ql.ActualActual(ql.ActualActual.Bond, schedule), ql.Unadjusted, 100.0, qref,
                )
            )
    curve = ql.PiecewiseLogLinearDiscount(qref, helpers, dc)
    dates, dfs = zip(*curve.nodes(), strict=True)
    return ql.DiscountCurve(list(dates), list(dfs), dc)


def _add_years(d: _dt.date, n: int) -> _dt.date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


# --- spreads over a curve --------------------------------------------------------------------


def _curve_npv(leg: ql.Leg, curve: Curve, spread: float, settlement: ql.Date) -> float:
    comp, freq = _curve_compounding(curve.compounding)
    return ql.CashFlows.npv(
        leg, curve._ts, float(spread), _day_counter(curve.day_count), comp, freq,
        False, settlement, settlement,
    )


def _check_curve_settlement(curve: Curve, settlement: _dt.date) -> None:
    if settlement < curve.reference_date:
        raise AnalyticsError(
            f"settlement {settlement} is before the curve's reference date "
            f"{curve.reference_date}"
        )


@_quantlib_edge
def price_from_z_spread(
    cf: CashFlows, spread: float, curve: Curve, settlement: _dt.date, *, clean: bool = True
) -> float:
    """Price per 100 when every zero rate of ``curve`` is raised by ``spread``.

    The spread is added in the curve's compounding and day count; discount factors are
    forward from the settlement date (``D(t) / D(settlement)``).

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows.level_coupon([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], 0.03)
    >>> flat = Curve.flat(0.02, dt.date(2026, 1, 1))
    >>> round(price_from_z_spread(cf, 0.01, flat, dt.date(2026, 1, 1)), 10)
    100.0
    """
    settlement = _as_date(settlement, "settlement")
    _check_curve_settlement(curve, settlement)
    i = _check_settlement(cf, settlement)
    leg = _leg(cf, settlement, i, 100.0 / cf.face)
    dirty = _curve_npv(leg, curve, float(spread), _qd(settlement))
    return dirty - _accrued(cf, settlement, i) if clean else dirty


@_quantlib_edge
def z_spread(
    cf: CashFlows, price: float, curve: Curve, settlement: _dt.date, *, clean: bool = True
) -> float:
    """Z-spread (decimal): the constant spread over ``curve``'s zero rates that gives ``price``.

    Same convention as :func:`price_from_z_spread` (QuantLib ``CashFlows.zSpread``). On a
    flat curve at rate ``c``, the z-spread of a bond yielding ``y`` in the curve's
    compounding and day count is ``y - c``.

    Examples
    --------
    >>> import datetime as dt
    >>> cf = CashFlows.level_coupon([dt.date(2027, 1, 1), dt.date(2028, 1, 1)], 0.03)
    >>> flat = Curve.flat(0.02, dt.date(2026, 1, 1))
    >>> round(z_spread(cf, 100.0, flat, dt.date(2026, 1, 1)), 10)
    0.01
    """
    settlement = _as_date(settlement, "settlement")
    p = _check_price(price)
    _check_curve_settlement(curve, settlement)
    i = _check_settlement(cf, settlement)
    leg = _leg(cf, settlement, i, 100.0 / cf.face)
    dirty = p + _accrued(cf, settlement, i) if clean else p
    return _solve_z(leg, dirty, curve, _qd(settlement))


def _solve_z(leg: ql.Leg, dirty: float, curve: Curve, qs: ql.Date) -> float:
    comp, freq = _curve_compounding(curve.compounding)
    dc = _day_counter(curve.day_count)
    try:
        z = ql.CashFlows.zSpread(
            leg, dirty, curve._ts, dc, comp, freq, False, qs, qs, 1e-12, 200, 0.0
        )
        if math.isfinite(z):
            return float(z)
    except RuntimeError:
        pass
    return _bisect_decreasing(lambda s: _curve_npv(leg, curve, s, qs) - dirty, -0.5, 5.0)


def _curve_shift_prices(
    cf: CashFlows, curve: Curve, settlement: _dt.date, spread: float, shift_bp: float
) -> tuple[float, float, float]:
    i = _check_settlement(cf, settlement)
    leg = _leg(cf, settlement, i, 100.0 / cf.face)
    qs = _qd(settlement)
    h = shift_bp * 1e-4
    return (
        _curve_npv(leg, curve, spread - h, qs),
        _curve_npv(leg, curve, spread, qs),
        _curve_npv(leg, curve, spread + h, qs),
    )


@_quantlib_edge
def effective_duration(
    cf: CashFlows,
    curve: Curve,
    settlement: _dt.date,
    *,
    spread: float = 0.0,
    shift_bp: float = 10.0,
) -> float:
    """Effective duration in years from a parallel shift of the curve's zero rates.

    ``(P(-h) - P(+h)) / (2 * P(0) * h)`` with dirty prices discounted on ``curve`` plus
    ``spread`` and ``h = shift_bp / 10000``. The cash flows are held fixed (re-run the
    engine under shifted rates to capture cash flows that move with rates).

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2031, 1, 1)], [0.0], [100.0], face=100.0)
    >>> flat = Curve.flat(0.03, dt.date(2026, 1, 1), compounding="continuous")
    >>> round(effective_duration(zero, flat, dt.date(2026, 1, 1)), 4)   # sinh(hT)/h, T=5.0027
    5.0028
    """
    settlement = _as_date(settlement, "settlement")
    _check_curve_settlement(curve, settlement)
    lo, mid, hi = _curve_shift_prices(cf, curve, settlement, float(spread), shift_bp)
    return (lo - hi) / (2.0 * mid * shift_bp * 1e-4)


@_quantlib_edge
def effective_convexity(
    cf: CashFlows,
    curve: Curve,
    settlement: _dt.date,
    *,
    spread: float = 0.0,
    shift_bp: float = 10.0,
) -> float:
    """Effective convexity in years squared: ``(P(-h) + P(+h) - 2 P(0)) / (P(0) h^2)``.

    Examples
    --------
    >>> import datetime as dt
    >>> zero = CashFlows([dt.date(2031, 1, 1)], [0.0], [100.0], face=100.0)
    >>> flat = Curve.flat(0.03, dt.date(2026, 1, 1), compounding="continuous")
    >>> round(effective_convexity(zero, flat, dt.date(2026, 1, 1)), 2)   # = T^2 continuous
    25.03
    """
    settlement = _as_date(settlement, "settlement")
    _check_curve_settlement(curve, settlement)
    lo, mid, hi = _curve_shift_prices(cf, curve, settlement, float(spread), shift_bp)
    h = shift_bp * 1e-4
    return (lo + hi - 2.0 * mid) / (mid * h * h)


def discount_margin(
    cf: CashFlows,
    reference_rates: Sequence[float] | np.ndarray | Curve,
    settlement: _dt.date,
    *,
    price: float = 100.0,
    clean: bool = True,
    day_count: str = "ACT/365F",
) -> float:
    """Discount margin (decimal) of a floating-rate tranche.

    The cash flows hold the projected interest (reference rate + quoted margin, as the
    engine projects it). The discount margin ``dm`` is the constant margin that, added
    to the projected reference rate of every period, discounts them to ``price``::

        dirty = 100/face * sum_i CF_i * prod_{j<=i} 1 / (1 + (r_j + dm) * tau_j)

    ``tau_1`` runs from settlement to the first payment, ``tau_j`` from payment ``j-1``
    to payment ``j``, in ``day_count``. If the interest is reference rate + ``m`` on the
    outstanding balance and the price is par at a payment date, ``dm == m``.

    Parameters
    ----------
    cf : CashFlows
        Projected cash flows of the tranche.
    reference_rates : sequence of float or Curve
        Projected reference rate of each period (one per payment of ``cf``, decimals), or
        a curve from which the simple forward rate of each period is taken.
    settlement : datetime.date
        Settlement date.
    price : float
        Price per 100 of face (clean unless ``clean=False``). Default par.
    clean : bool
        Whether ``price`` is clean.
    day_count : str
        Day count of the accrual periods. Default ``ACT/365F``.

    Examples
    --------
    >>> import datetime as dt
    >>> dates = [dt.date(2026, 4, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)]
    >>> ref = [0.02, 0.022, 0.024]
    >>> starts = [dt.date(2026, 1, 1)] + dates[:-1]
    >>> tau = [(e - s).days / 365 for s, e in zip(starts, dates)]
    >>> interest = [100 * (r + 0.015) * t for r, t in zip(ref, tau)]
    >>> cf = CashFlows(dates, interest, [0, 0, 100], face=100, coupon_rate=0.035,
    ...                accrual_start=dt.date(2026, 1, 1))
    >>> round(discount_margin(cf, ref, dt.date(2026, 1, 1)), 10)
    0.015
    """
    settlement = _as_date(settlement, "settlement")
    i = _check_settlement(cf, settlement)
    p = _check_price(price)
    dirty = p + _accrued(cf, settlement, i) if clean else p
    dates = cf.dates[i:]
    starts = [settlement] + list(dates[:-1])
    with ql.SavedSettings():
        dc = _day_counter(day_count)
        tau = np.array([dc.yearFraction(_qd(s), _qd(e)) for s, e in zip(starts, dates, strict=True)])
        if isinstance(reference_rates, Curve):
            period_starts = [cf._period_start(k) or settlement for k in range(i, len(cf.dates))]
            refs = np.array(
                [reference_rates.forward_rate(max(s, reference_rates.reference_date), e, day_count)
                 for s, e in zip(period_starts, dates, strict=True)]
            )
        else:
            all_refs = np.asarray(reference_rates, dtype=np.float64).reshape(-1)
            if all_refs.size != len(cf.dates):
                raise AnalyticsError(
                    f"{all_refs.size} reference rates for {len(cf.dates)} payments: give one "
                    "per payment date"
                )
            refs = all_refs[i:]
    amounts = cf.total[i:] * (100.0 / cf.face)

    def pv(dm: float) -> float:
        growth = 1.0 + (refs + dm) * tau
        if np.any(growth <= 0.0):
            return math.inf
        return float(np.dot(amounts, 1.0 / np.cumprod(growth)))

    lo = float(np.max(-1.0 / tau - refs)) + 1e-9
    return _bisect_decreasing(lambda dm: pv(dm) - dirty, max(lo, -0.99), 5.0)


# --- tranche tables --------------------------------------------------------------------------

#: Columns of :func:`tranche_analytics`, in order (units and formulas: docs/analytics.md).
TRANCHE_ANALYTICS_COLUMNS: tuple[str, ...] = (
    "scenario",
    "tranche",
    "kind",
    "face",
    "price",
    "dirty_price",
    "accrued",
    "yield",
    "compounding",
    "wal_years",
    "macaulay_duration",
    "modified_duration",
    "convexity",
    "z_spread",
    "effective_duration",
    "discount_margin",
    "first_principal_date",
    "last_principal_date",
    "principal_window_months",
    "total_interest",
    "total_principal",
    "total_residual",
    "loss",
    "irr",
    "cash_multiple",
    "note",
)

_REQUIRED_COLUMNS = (
    "scenario",
    "tranche",
    "period",
    "payment_date",
    "balance_start",
    "interest_paid",
    "principal_paid",
    "writedown",
    "balance_end",
    "coupon_rate",
)
_KINDS = ("senior", "mezzanine", "subordinate")


def _auto_compounding(info: Mapping[str, Any], settlement: _dt.date, last: _dt.date) -> str:
    """The compounding ``auto`` stands for: the market's convention for the tranche.

    The subordinate's yield is its IRR (``annual``); a CNY tranche's is ``chinabond`` (the
    PBoC / ChinaBond convention of the interbank and exchange markets); in other currencies
    ``simple`` for a last payment at most 365 days after settlement, else ``annual``.
    """
    if info.get("kind") == "subordinate":
        return "annual"
    if str(info.get("currency") or "").strip().upper() == "CNY":
        return _CHINABOND
    return "simple" if (last - settlement).days <= 365 else "annual"


def _validate_tranche_inputs(
    tranches: pd.DataFrame, tranche_info: Mapping[str, Mapping[str, Any]],
    pricing: Mapping[str, Mapping[str, Any]],
) -> None:
    problems: list[str] = []
    if not isinstance(tranches, pd.DataFrame):
        raise AnalyticsError("tranches must be a pandas DataFrame")
    missing = [c for c in _REQUIRED_COLUMNS if c not in tranches.columns]
    if missing:
        problems.append(f"tranches: missing column(s) {', '.join(missing)}")
    else:
        names = sorted(map(str, pd.unique(tranches["tranche"])))
        unknown = [n for n in names if n not in tranche_info]
        if unknown:
            problems.append(
                f"tranche_info: no entry for tranche(s) {', '.join(unknown)} "
                f"(known: {', '.join(map(str, tranche_info))})"
            )
    for name, info in tranche_info.items():
        kind = info.get("kind", "senior")
        if kind not in _KINDS:
            problems.append(f"tranche_info[{name!r}].kind {kind!r} not one of {', '.join(_KINDS)}")
        try:
            _day_count_name(info.get("day_count", "ACT/365F"))
        except AnalyticsError as exc:
            problems.append(f"tranche_info[{name!r}]: {exc}")
        freq = info.get("frequency")
        if freq is not None and (isinstance(freq, bool) or freq not in (1, 2, 3, 4, 6, 12)):
            problems.append(f"tranche_info[{name!r}].frequency {freq!r} must be 1, 2, 3, 4, 6 or 12 (per year)")
    for name, quote in pricing.items():
        where = f"pricing[{name!r}]"
        if name not in tranche_info:
            problems.append(f"{where}: unknown tranche")
            continue
        if not isinstance(quote, Mapping):
            problems.append(f"{where} must be a mapping like {{'price': 100.0}}")
            continue
        extra = sorted(set(quote) - {"yield", "price", "compounding"})
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
        if ("yield" in quote) == ("price" in quote):
            problems.append(f"{where} needs exactly one of 'yield' and 'price'")
        try:
            if "yield" in quote:
                _check_yield(quote["yield"], f"{where}.yield")
            if "price" in quote:
                _check_price(quote["price"], f"{where}.price")
            comp = quote.get("compounding", "auto")
            if comp != "auto":
                _convention(comp)
        except AnalyticsError as exc:
            problems.append(str(exc))
    if problems:
        raise AnalyticsError("invalid tranche analytics input:\n  " + "\n  ".join(problems))


@dataclass
class _Group:
    scenario: Any
    tranche: str
    dates: tuple[_dt.date, ...]
    qdates: list[ql.Date]
    ords: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    writedown: np.ndarray
    balance_start: np.ndarray
    balance_end: np.ndarray
    coupon: np.ndarray
    extra: np.ndarray | None
    #: the coupon interest alone when ``extra`` (residual) has been added to ``interest``
    interest_only: np.ndarray | None = None


def _groups(tranches: pd.DataFrame, extra_cash: str | None) -> Iterable[_Group]:
    """Split the tidy frame into (scenario, tranche) groups of numpy arrays, once."""
    df = tranches.sort_values(["scenario", "tranche", "payment_date"], kind="stable")
    n = len(df)
    if n == 0:
        return
    scen = df["scenario"].to_numpy()
    tr = df["tranche"].astype(str).to_numpy()
    pay = pd.to_datetime(df["payment_date"]).to_numpy(dtype="datetime64[D]")
    ords_all = pay.astype(np.int64) + _dt.date(1970, 1, 1).toordinal()
    uniq, inv = np.unique(ords_all, return_inverse=True)
    uniq_dates = [_dt.date.fromordinal(int(o)) for o in uniq]
    uniq_q = [_qd(d) for d in uniq_dates]
    interest = df["interest_paid"].to_numpy(dtype=np.float64)
    extra = None if extra_cash is None else df[extra_cash].fillna(0.0).to_numpy(dtype=np.float64)
    principal = df["principal_paid"].to_numpy(dtype=np.float64)
    writedown = df["writedown"].to_numpy(dtype=np.float64)
    bstart = df["balance_start"].to_numpy(dtype=np.float64)
    bend = df["balance_end"].to_numpy(dtype=np.float64)
    coupon = pd.to_numeric(df["coupon_rate"], errors="coerce").to_numpy(dtype=np.float64)
    change = np.ones(n, dtype=bool)
    change[1:] = (scen[1:] != scen[:-1]) | (tr[1:] != tr[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        idx = inv[a:b].tolist()
        yield _Group(
            scen[a], tr[a], tuple([uniq_dates[k] for k in idx]), [uniq_q[k] for k in idx],
            ords_all[a:b], interest[a:b], principal[a:b], writedown[a:b], bstart[a:b],
            bend[a:b], coupon[a:b], None if extra is None else extra[a:b],
        )


def _nan_row() -> dict[str, Any]:
    row: dict[str, Any] = {c: math.nan for c in TRANCHE_ANALYTICS_COLUMNS}
    row.update(first_principal_date=None, last_principal_date=None, compounding=None, note="")
    return row


def _group_cashflows(
    g: _Group, info: Mapping[str, Any], settlement: _dt.date
) -> tuple[CashFlows | None, int, str]:
    """CashFlows of a group; (None, i, reason) when there is nothing to analyse."""
    i = int(np.searchsorted(g.ords, settlement.toordinal(), side="right"))
    if i >= len(g.dates):
        return None, i, "settlement is on or after the last payment date"
    if np.any(np.diff(g.ords) <= 0):
        return None, i, "payment dates are not strictly increasing"
    face = float(g.balance_start[i])
    if not face > 0.0:
        return None, i, "no face outstanding at settlement"
    interest, principal = g.interest, g.principal
    if not (np.all(np.isfinite(interest)) and np.all(np.isfinite(principal))):
        return None, i, "cash flows are not finite"
    lowest = min(float(interest.min()), float(principal.min()))
    if lowest < 0.0:
        if lowest < -1e-9 * max(face, 1.0):
            return None, i, "negative cash flows"
        interest, principal = np.maximum(interest, 0.0), np.maximum(principal, 0.0)
    coupon = float(g.coupon[i])
    rate = info.get("coupon_rate") if not math.isfinite(coupon) else coupon
    if info.get("kind") == "subordinate" or rate is None:
        rate = None
    start = info.get("accrual_start")
    cf = CashFlows._trusted(
        g.dates, g.qdates, g.ords, interest, principal, face,
        None if rate is None else float(rate),
        None if start is None else _as_date(start, "accrual_start"),
        _day_count_name(info.get("day_count", "ACT/365F")),
        info.get("frequency"),
    )
    return cf, i, ""


def _analyse(
    g: _Group,
    info: Mapping[str, Any],
    quote: Mapping[str, Any],
    settlement: _dt.date,
    curve: Curve | None,
) -> dict[str, Any]:
    row = _nan_row()
    kind = info.get("kind", "senior")
    row.update(scenario=g.scenario, tranche=g.tranche, kind=kind)
    fut = g.ords > settlement.toordinal()
    # interest and residual (excess return) apart, although the subordinate's cash has both
    row["total_interest"] = float((g.interest if g.interest_only is None else g.interest_only)[fut].sum())
    row["total_principal"] = float(g.principal[fut].sum())
    row["total_residual"] = float(g.extra[fut].sum()) if g.extra is not None else math.nan
    row["loss"] = float(g.writedown[fut].sum())
    cf, i, reason = _group_cashflows(g, info, settlement)
    if cf is None:
        row["note"] = reason
        return row
    row["face"] = cf.face
    paid = np.flatnonzero(cf.principal[i:] > 0.0)
    if paid.size:
        first, last = cf.dates[i + int(paid[0])], cf.dates[i + int(paid[-1])]
        row.update(first_principal_date=first, last_principal_date=last,
                   principal_window_months=calendar_months(first, last))
    cash = float(cf.interest[i:].sum() + cf.principal[i:].sum())
    if cash <= 0.0:
        row["note"] = "receives no cash after settlement"
        if kind == "subordinate":
            row["cash_multiple"] = 0.0
        return row
    comp = quote.get("compounding", "auto")
    if comp == "auto":
        comp = _auto_compounding(info, settlement, cf.dates[-1])
    row["compounding"] = comp
    qs = _qd(settlement)
    leg = _leg(cf, settlement, i, 100.0 / cf.face)
    try:
        accrued = _accrued(cf, settlement, i)
        at = _discounting(cf, settlement, i, comp, "ACT/365F", leg)
        if "yield" in quote:
            y = float(quote["yield"])
            dirty = at.npv(y)
        else:
            dirty = float(quote.get("price", 100.0)) + accrued
            y = at.solve(dirty)
        if kind == "subordinate":
            row["irr"] = y if comp == "annual" else _solve_yield(leg, dirty, "annual", "ACT/365F", qs)
            row["cash_multiple"] = cash / (dirty * cf.face / 100.0)
        risk = _risk(cf, y, settlement, i, comp, "ACT/365F", at)
        row.update(risk)
        margin = info.get("margin")
        if margin is not None and kind != "subordinate":
            # a floater: the reference rate of each period is the projected coupon less its
            # quoted margin (a floor or cap that binds shifts it)
            refs = np.nan_to_num(g.coupon, nan=0.0) - float(margin)
            row["discount_margin"] = discount_margin(cf, refs, settlement, price=risk["price"],
                                                     day_count=_day_count_name(info.get("day_count", "ACT/365F")))
        if curve is not None:
            z = _solve_z(leg, risk["dirty_price"], curve, qs)
            row["z_spread"] = z
            h = 10.0 * 1e-4
            lo = _curve_npv(leg, curve, z - h, qs)
            hi = _curve_npv(leg, curve, z + h, qs)
            row["effective_duration"] = (lo - hi) / (2.0 * risk["dirty_price"] * h)
    except (AnalyticsError, RuntimeError) as exc:
        row["note"] = f"not priced: {exc}"
    return row


@_quantlib_edge
def tranche_analytics(
    tranches: pd.DataFrame,
    tranche_info: Mapping[str, Mapping[str, Any]],
    *,
    settlement: _dt.date,
    pricing: Mapping[str, Mapping[str, Any]] | None = None,
    curve: Curve | None = None,
) -> pd.DataFrame:
    """Price and risk of every tranche in every scenario: one row per (scenario, tranche).

    Parameters
    ----------
    tranches : pandas.DataFrame
        The engine's tidy tranche cash flows, one row per scenario, tranche and period,
        with columns ``scenario, tranche, period, payment_date, balance_start,
        interest_due, interest_paid, interest_shortfall, principal_paid, writedown,
        balance_end, coupon_rate`` (amounts in currency units, ``payment_date``
        datetime64, ``coupon_rate`` decimal, NaN for the subordinate). An optional
        ``residual_paid`` column is added to the subordinate's cash.
    tranche_info : dict
        ``{name: {"original_balance": float, "coupon_rate": float | None,
        "day_count": "ACT/365F", "accrual_start": date, "kind": "senior" | "mezzanine" |
        "subordinate", "frequency": int (coupons a year, for chinabond), "currency": str}}``.
    settlement : datetime.date
        Settlement date; payments on it go to the seller.
    pricing : dict, optional
        ``{name: {"yield": 0.038}}`` or ``{name: {"price": 100.0}}`` (clean, per 100 of
        the face at settlement), optionally with ``"compounding"`` (default ``"auto"``:
        ``chinabond`` for a tranche whose ``tranche_info`` currency is CNY; otherwise
        ``simple`` if the last payment is at most 365 days away, else ``annual``; the
        subordinate always ``annual``). Default: price 100. For the subordinate, the price
        is the purchase price per 100 of face and ``irr`` and ``cash_multiple`` are filled.
    curve : Curve, optional
        Discount curve; fills ``z_spread`` and ``effective_duration`` (10 bp shift).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRANCHE_ANALYTICS_COLUMNS` (docs/analytics.md gives each unit and
        formula). A tranche that cannot be priced (nothing received, settlement after its
        last payment) gets NaN measures and the reason in ``note``.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> rows = [("base", "A", k + 1, pd.Timestamp(2027 + k, 1, 1), 100.0 - 50 * k, 3.0 * (1 - k / 2),
    ...          3.0 * (1 - k / 2), 0.0, 50.0, 0.0, 50.0 - 50 * k, 0.03) for k in range(2)]
    >>> cols = ["scenario", "tranche", "period", "payment_date", "balance_start", "interest_due",
    ...         "interest_paid", "interest_shortfall", "principal_paid", "writedown",
    ...         "balance_end", "coupon_rate"]
    >>> info = {"A": {"original_balance": 100.0, "coupon_rate": 0.03,
    ...               "accrual_start": dt.date(2026, 1, 1), "kind": "senior"}}
    >>> out = tranche_analytics(pd.DataFrame(rows, columns=cols), info,
    ...                         settlement=dt.date(2026, 1, 1))
    >>> round(float(out.loc[0, "yield"]), 8), round(float(out.loc[0, "wal_years"]), 4)
    (0.03, 1.5)
    """
    settlement = _as_date(settlement, "settlement")
    pricing = dict(pricing or {})
    _validate_tranche_inputs(tranches, tranche_info, pricing)
    if curve is not None:
        _check_curve_settlement(curve, settlement)
    extra = "residual_paid" if "residual_paid" in tranches.columns else None
    rows: list[dict[str, Any]] = []
    memo: dict[tuple[Any, ...], dict[str, Any]] = {}
    for g in _groups(tranches, extra):
        info = tranche_info[g.tranche]
        if g.extra is not None and info.get("kind") == "subordinate":
            g.interest_only = g.interest
            g.interest = g.interest + g.extra
        quote = pricing.get(g.tranche, {})
        key = (
            g.tranche, g.ords.tobytes(), g.interest.tobytes(), g.principal.tobytes(),
            g.writedown.tobytes(), g.balance_start.tobytes(), g.coupon.tobytes(),
            None if g.extra is None else g.extra.tobytes(),
        )
        cached = memo.get(key)
        if cached is None:
            cached = _analyse(g, info, quote, settlement, curve)
            memo[key] = cached
        row = dict(cached)
        row["scenario"] = g.scenario
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(TRANCHE_ANALYTICS_COLUMNS))
    for col in ("first_principal_date", "last_principal_date"):
        out[col] = pd.to_datetime(out[col])
    out["note"] = out["note"].astype(str)
    return out


def tranche_cashflows(
    tranches: pd.DataFrame,
    tranche_info: Mapping[str, Mapping[str, Any]],
    *,
    scenario: Any,
    tranche: str,
    settlement: _dt.date,
) -> CashFlows:
    """The :class:`CashFlows` of one tranche in one scenario, as :func:`tranche_analytics` sees them.

    The face is the tranche balance outstanding at settlement.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> cols = ["scenario", "tranche", "period", "payment_date", "balance_start", "interest_due",
    ...         "interest_paid", "interest_shortfall", "principal_paid", "writedown",
    ...         "balance_end", "coupon_rate"]
    >>> df = pd.DataFrame([("base", "A", 1, pd.Timestamp(2027, 1, 1), 100.0, 3.0, 3.0, 0.0,
    ...                     100.0, 0.0, 0.0, 0.03)], columns=cols)
    >>> info = {"A": {"original_balance": 100.0, "coupon_rate": 0.03, "kind": "senior"}}
    >>> cf = tranche_cashflows(df, info, scenario="base", tranche="A",
    ...                        settlement=dt.date(2026, 6, 1))
    >>> cf.face, cf.total.tolist()
    (100.0, [103.0])
    """
    settlement = _as_date(settlement, "settlement")
    _validate_tranche_inputs(tranches, tranche_info, {})
    sel = tranches[(tranches["scenario"] == scenario) & (tranches["tranche"].astype(str) == tranche)]
    if sel.empty:
        raise AnalyticsError(f"no rows for scenario {scenario!r}, tranche {tranche!r}")
    extra = "residual_paid" if "residual_paid" in sel.columns else None
    g = next(iter(_groups(sel, extra)))
    info = tranche_info[tranche]
    if g.extra is not None and info.get("kind") == "subordinate":
        g.interest = g.interest + g.extra
    cf, _, reason = _group_cashflows(g, info, settlement)
    if cf is None:
        raise AnalyticsError(f"scenario {scenario!r}, tranche {tranche!r}: {reason}")
    return cf


@_quantlib_edge
def yield_table(
    tranches: pd.DataFrame,
    tranche_info: Mapping[str, Mapping[str, Any]],
    tranche: str,
    *,
    settlement: _dt.date,
    prices: Sequence[float] | None = None,
    yields: Sequence[float] | None = None,
    compounding: str = "auto",
    scenarios: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Price/yield table of one tranche across scenarios.

    Give ``prices`` (clean, per 100) to get yields, or ``yields`` to get clean prices.
    Rows are the given prices (index ``price``) or yields (index ``yield``); columns are the
    scenarios in the order of ``scenarios`` (default: order of first appearance). A cell is
    NaN when the tranche receives nothing in that scenario.

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> cols = ["scenario", "tranche", "period", "payment_date", "balance_start", "interest_due",
    ...         "interest_paid", "interest_shortfall", "principal_paid", "writedown",
    ...         "balance_end", "coupon_rate"]
    >>> rows = [(s, "A", 1, pd.Timestamp(2028, 1, 1), 100.0, 6.0, 6.0, 0.0, p, 100.0 - p, 0.0,
    ...          0.03) for s, p in (("base", 100.0), ("stress", 90.0))]
    >>> info = {"A": {"original_balance": 100.0, "coupon_rate": 0.03,
    ...               "accrual_start": dt.date(2026, 1, 1), "kind": "senior"}}
    >>> t = yield_table(pd.DataFrame(rows, columns=cols), info, "A",
    ...                 settlement=dt.date(2026, 1, 1), prices=[100.0])
    >>> t.round(6).to_dict("index")
    {100.0: {'base': 0.029563, 'stress': -0.020204}}
    """
    settlement = _as_date(settlement, "settlement")
    if (prices is None) == (yields is None):
        raise AnalyticsError("give exactly one of prices and yields")
    _validate_tranche_inputs(tranches, tranche_info, {})
    if tranche not in tranche_info:
        raise AnalyticsError(f"unknown tranche {tranche!r} (known: {', '.join(tranche_info)})")
    grid = [(_check_price(p) if prices is not None else _check_yield(p))
            for p in (prices if prices is not None else yields or [])]
    if compounding != "auto":
        _convention(compounding)
    sel = tranches[tranches["tranche"].astype(str) == tranche]
    order = list(pd.unique(sel["scenario"])) if scenarios is None else list(scenarios)
    extra = "residual_paid" if "residual_paid" in sel.columns else None
    info = tranche_info[tranche]
    columns: dict[Any, list[float]] = {}
    for g in _groups(sel, extra):
        if g.extra is not None and info.get("kind") == "subordinate":
            g.interest = g.interest + g.extra
        cf, i, _ = _group_cashflows(g, info, settlement)
        values = columns[g.scenario] = [math.nan] * len(grid)
        if cf is None or float(cf.total[i:].sum()) <= 0.0:
            continue
        comp = _auto_compounding(info, settlement, cf.dates[-1]) if compounding == "auto" else compounding
        accrued = _accrued(cf, settlement, i)
        try:
            at = _discounting(cf, settlement, i, comp, "ACT/365F")
        except AnalyticsError:  # e.g. chinabond without the coupon frequency: NaN cells
            continue
        for k, x in enumerate(grid):
            try:
                values[k] = at.solve(x + accrued) if prices is not None else at.npv(x) - accrued
            except (AnalyticsError, RuntimeError):
                values[k] = math.nan
    missing = [s for s in order if s not in columns]
    if missing:
        raise AnalyticsError(f"no rows for tranche {tranche!r} in scenario(s) {missing}")
    table = pd.DataFrame({s: columns[s] for s in order}, index=pd.Index(grid, name="price" if prices is not None else "yield"))
    table.columns.name = "scenario"
    return table
