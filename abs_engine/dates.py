"""Payment dates, collection periods, the monthly projection grid and accrual fractions.

Conventions (docs/conventions.md):

* The pool is projected on a monthly grid: grid date ``m`` is the cut-off date plus ``m``
  months (end-of-month kept if the cut-off is a month end). Grid month ``m`` covers
  ``(grid[m-1], grid[m]]``.
* Collection periods start at the cut-off date and last ``collection_frequency``.
  A collection period is distributed on the first payment date that falls at least
  ``collection_to_payment_days`` after it ends.
* Payment dates are ``first_payment_date + k * payment_frequency``, up to the legal
  maturity, adjusted on the deal's calendar. Period ``t`` (1-based) accrues from the
  previous adjusted payment date (the closing date for ``t = 1``) to its payment date.
* A date given in a deal names a period when it is that period's payment date, unadjusted
  or adjusted (:meth:`Schedule.period_of`); any other date there is an input error. An
  event date of a scenario (a support failure) falls in the first period paid on or after
  it (:meth:`Schedule.event_period`).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import QuantLib as ql

from .calendars import payment_calendar
from .model.common import DayCount
from .model.deal import BusinessDayConvention, Header

_BDC = {
    BusinessDayConvention.following: ql.Following,
    BusinessDayConvention.modified_following: ql.ModifiedFollowing,
    BusinessDayConvention.preceding: ql.Preceding,
    BusinessDayConvention.unadjusted: ql.Unadjusted,
}


def _day_counter(dc: DayCount) -> ql.DayCounter:
    return {
        DayCount.act365f: ql.Actual365Fixed(),
        DayCount.act360: ql.Actual360(),
        DayCount.actact: ql.ActualActual(ql.ActualActual.ISDA),
        DayCount.thirty360: ql.Thirty360(ql.Thirty360.BondBasis),
    }[dc]


def to_ql(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def from_ql(d: ql.Date) -> dt.date:
    return dt.date(d.year(), d.month(), d.dayOfMonth())


# --------------------------------------------------------------------------- month arithmetic
# (the one home of it: pools, support layers, statistics, analytics and studies use these)


def days_in_month(year: int, month: int) -> int:
    """Days in ``month`` (1-12) of ``year``.

    >>> days_in_month(2028, 2)
    29
    """
    return _cal.monthrange(year, month)[1]


def is_month_end(d: dt.date) -> bool:
    return d.day == days_in_month(d.year, d.month)


def month_index(d: dt.date) -> int:
    """Months since year 0 of the month of ``d`` (``year * 12 + month - 1``): differences of
    these count calendar months.

    >>> month_index(dt.date(2026, 3, 31)) - month_index(dt.date(2025, 12, 1))
    3
    """
    return d.year * 12 + d.month - 1


def calendar_months(a: dt.date, b: dt.date) -> int:
    """Calendar months from the month of ``a`` to the month of ``b`` (days ignored).

    >>> calendar_months(dt.date(2026, 6, 30), dt.date(2027, 3, 1))
    9
    """
    return (b.year - a.year) * 12 + (b.month - a.month)


def months_between(a: dt.date, b: dt.date) -> float:
    """Calendar months from ``a`` to ``b`` with a day fraction (negative if ``b < a``): the
    whole months ``n`` with ``a + n months <= b`` (the day clamped to the month's length, and
    kept at month end when ``a`` is a month end, as the projection grid does), plus the days
    left over divided by the length of the next month-step.

    >>> months_between(dt.date(2026, 6, 30), dt.date(2027, 6, 30))
    12.0
    >>> months_between(dt.date(2026, 1, 31), dt.date(2026, 2, 28))
    1.0
    >>> round(months_between(dt.date(2026, 6, 30), dt.date(2026, 7, 15)), 6)
    0.483871
    """
    if b < a:
        return -months_between(b, a)
    eom = is_month_end(a)
    n = calendar_months(a, b)
    while n > 0 and add_months(a, n, eom=eom) > b:
        n -= 1
    lo, hi = add_months(a, n, eom=eom), add_months(a, n + 1, eom=eom)
    return n + (b - lo).days / (hi - lo).days


def add_months(d: dt.date, n: int, *, eom: bool = False) -> dt.date:
    """``d`` plus ``n`` months, the day clamped to the month's length; with ``eom`` the
    result is the month end.

    >>> add_months(dt.date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    >>> add_months(dt.date(2026, 2, 28), 1, eom=True)
    datetime.date(2026, 3, 31)
    """
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    last = days_in_month(year, month)
    return dt.date(year, month, last if eom else min(d.day, last))


def grid_month(d: dt.date, cutoff: dt.date) -> int:
    """The month of the projection grid that starts at ``cutoff`` containing ``d`` (grid
    month ``m`` covers ``(grid[m-1], grid[m]]``; 0 if ``d`` is on or before the cut-off date).

    >>> grid_month(dt.date(2026, 7, 31), dt.date(2026, 6, 30)), grid_month(dt.date(2026, 8, 1), dt.date(2026, 6, 30))
    (1, 2)
    """
    cut_eom = is_month_end(cutoff)
    x = calendar_months(cutoff, d)
    dim = days_in_month(d.year, d.month)
    gday = dim if cut_eom else min(cutoff.day, dim)
    return max(x + (1 if d.day > gday else 0), 0)


def month_on_grid(when: dt.date, grid: Sequence[dt.date]) -> int:
    """The month of the projection ``grid`` (its dates) containing ``when`` (month ``m`` covers
    ``(grid[m-1], grid[m]]``); 0 if on or before the cut-off date; after the grid, months are
    counted on from its last date.

    >>> g = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    >>> month_on_grid(dt.date(2026, 3, 1), g), month_on_grid(dt.date(2026, 5, 31), g)
    (2, 4)
    """
    i = bisect_left(grid, when)
    if i < len(grid):
        return i
    last = grid[-1]
    n = month_index(when) - month_index(last)
    last_day = days_in_month(when.year, when.month)
    day_on_grid = last.day if last.day < days_in_month(last.year, last.month) else last_day
    return len(grid) - 1 + n + (1 if when.day > min(day_on_grid, last_day) else 0)


def event_month(when: dt.date, grid: Sequence[dt.date]) -> int:
    """The first month ``1..M`` of the projection ``grid`` whose date is on or after ``when``
    (a named default falls in it; 1 for a date on or before the first month), 0 if ``when``
    is after the grid.

    >>> g = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    >>> event_month(dt.date(2026, 1, 2), g), event_month(dt.date(2026, 3, 1), g), event_month(dt.date(2026, 4, 1), g)
    (1, 2, 0)
    """
    return next((k for k in range(1, len(grid)) if grid[k] >= when), 0)


def year_fraction(start: dt.date, end: dt.date, dc: DayCount) -> float:
    """Accrual fraction between two dates in the given day count."""
    return float(_day_counter(dc).yearFraction(to_ql(start), to_ql(end)))


@dataclass(frozen=True)
class Schedule:
    """The deal's time axis."""

    payment_dates: list[dt.date]
    """Adjusted payment dates, one per period."""
    unadjusted_dates: list[dt.date]
    accrual_start: list[dt.date]
    """Start of each period's note accrual (previous payment date; closing date first)."""
    collection_end: list[dt.date | None]
    """End of the last collection period distributed on each payment date (None if none)."""
    grid: list[dt.date]
    """Monthly projection grid; ``grid[0]`` is the cut-off date."""
    month_period: np.ndarray
    """For grid month m >= 1, the 0-based period its cash is distributed in; n_periods if after the last."""
    merged: dict[dt.date, int] = field(default_factory=dict)
    """Regular unadjusted dates whose payment rolled onto the legal maturity (the last
    period), which they name too."""

    @property
    def n_periods(self) -> int:
        return len(self.payment_dates)

    def match(self, d: dt.date) -> int | None:
        """0-based index of the period that ``d`` names, as scheduled (unadjusted) or as
        paid (adjusted on the deal's calendar); None when ``d`` is not a payment date.

        >>> s = Schedule([dt.date(2022, 3, 28)], [dt.date(2022, 3, 26)], [dt.date(2021, 12, 27)],
        ...              [None], [dt.date(2022, 1, 1)], np.zeros(1, dtype=np.int64))
        >>> s.match(dt.date(2022, 3, 26)), s.match(dt.date(2022, 3, 28)), s.match(dt.date(2022, 3, 27))
        (0, 0, None)
        """
        for i, (u, a) in enumerate(zip(self.unadjusted_dates, self.payment_dates, strict=True)):
            if d in (u, a):
                return i
        return self.merged.get(d)

    def period_of(self, d: dt.date) -> int:
        """0-based index of the period a date *given in a deal* names (expected maturities,
        principal schedule rows, ``when`` dates): the payment date it is, unadjusted or
        adjusted (docs/deal-language.md, "Dates that name a payment date").

        Raises
        ------
        ValueError
            If ``d`` is neither; the deal's checks (:func:`abs_engine.checks.reference_problems`)
            report such a date as an input error before anything runs.
        """
        t = self.match(d)
        if t is None:
            raise ValueError(self.not_a_payment_date(d))
        return t

    def event_period(self, d: dt.date) -> int:
        """0-based index of the first period paid on or after an *event* date (a scenario's
        ``support_failures``): the period ``d`` names if it is a payment date, else the first
        whose payment, unadjusted or adjusted, falls on or after ``d``; ``n_periods`` after
        the last.

        >>> s = Schedule([dt.date(2022, 3, 28), dt.date(2022, 6, 27)], [dt.date(2022, 3, 26), dt.date(2022, 6, 26)],
        ...              [dt.date(2021, 12, 27), dt.date(2022, 3, 28)], [None, None], [dt.date(2022, 1, 1)],
        ...              np.zeros(1, dtype=np.int64))
        >>> s.event_period(dt.date(2022, 3, 27)), s.event_period(dt.date(2022, 3, 29)), s.event_period(dt.date(2023, 1, 1))
        (0, 1, 2)
        """
        t = self.match(d)
        if t is not None:
            return t
        for i, (u, a) in enumerate(zip(self.unadjusted_dates, self.payment_dates, strict=True)):
            if max(u, a) >= d:
                return i
        return self.n_periods

    def paid_through(self, period: int) -> int:
        """The grid month as of whose end the pool stands after ``period`` (0-based) is paid:
        the last month whose cash was paid on or before that period's payment date (0: none)."""
        mp = np.asarray(self.month_period)
        paid = np.flatnonzero(mp[1:] <= period)
        return int(paid[-1]) + 1 if len(paid) else 0

    def not_a_payment_date(self, d: dt.date) -> str:
        """Why ``d`` names no period, with the nearest payment dates (both forms)."""

        def label(i: int) -> str:
            u, a = self.unadjusted_dates[i], self.payment_dates[i]
            return f"{u} (adjusted {a})" if a != u else f"{u}"

        def distance(i: int) -> int:
            return min(abs((self.unadjusted_dates[i] - d).days), abs((self.payment_dates[i] - d).days))

        nearest = sorted(range(self.n_periods), key=distance)[:2]
        return (f"{d} is not a payment date (nearest: {', '.join(label(i) for i in nearest)}); "
                "give a payment date as scheduled or as adjusted")


def build_schedule(h: Header, grid_months: int) -> Schedule:
    """Build the payment schedule and map a ``grid_months``-month projection grid onto it
    (``grid_months=0``: the payment dates alone, as the deal's checks use them)."""
    cal = payment_calendar(h.calendar)
    bdc = _BDC[h.business_day_convention]
    step = h.payment_frequency.months
    eom = is_month_end(h.first_payment_date)
    unadj: list[dt.date] = []
    k = 0
    while True:
        d = add_months(h.first_payment_date, k * step, eom=eom)
        if d > h.legal_maturity:
            break
        unadj.append(d)
        k += 1
    if unadj[-1] != h.legal_maturity:
        unadj.append(h.legal_maturity)
    adj = [from_ql(cal.adjust(to_ql(d), bdc)) for d in unadj]
    # a regular date that rolls onto (or past) the adjusted legal maturity is the same
    # payment as the legal maturity: keep one period, not two on one date
    dropped: list[dt.date] = []
    while len(adj) >= 2 and adj[-2] >= adj[-1]:
        dropped.append(unadj[-2])
        del adj[-2], unadj[-2]
    merged = {d: len(adj) - 1 for d in dropped}
    starts = [h.closing_date, *adj[:-1]]

    cut_eom = is_month_end(h.cutoff_date)
    grid = [add_months(h.cutoff_date, m, eom=cut_eom) for m in range(grid_months + 1)]
    cm = h.collection_frequency.months
    lag = dt.timedelta(days=h.collection_to_payment_days)
    n = len(adj)
    # collection period k (1-based) ends at grid[k * cm]; it is paid on the first payment
    # date at least `lag` after its end
    n_coll = (grid_months + cm - 1) // cm
    coll_period = np.full(n_coll + 1, n, dtype=np.int64)
    coll_end: list[dt.date | None] = [None] * n
    t = 0
    for kk in range(1, n_coll + 1):
        end = add_months(h.cutoff_date, kk * cm, eom=cut_eom)
        while t < n and adj[t] < end + lag:
            t += 1
        coll_period[kk] = t
        if t < n:
            coll_end[t] = end
    month_period = np.full(grid_months + 1, n, dtype=np.int64)
    for m in range(1, grid_months + 1):
        month_period[m] = coll_period[(m + cm - 1) // cm]
    return Schedule(adj, unadj, starts, coll_end, grid, month_period, merged)


def legal_schedule(h: Header) -> Schedule:
    """The deal's payment schedule with the monthly grid up to its legal maturity (what a
    status of a deal picked up mid-life is dated on)."""
    return build_schedule(h, calendar_months(h.cutoff_date, h.legal_maturity) + 1)


def accrual_fractions(s: Schedule, dc: DayCount) -> np.ndarray:
    """Year fraction of each period's accrual under ``dc``."""
    dcc = _day_counter(dc)
    return np.array(
        [dcc.yearFraction(to_ql(a), to_ql(b)) for a, b in zip(s.accrual_start, s.payment_dates, strict=True)],
        dtype=np.float64,
    )
