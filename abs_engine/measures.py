"""The measures of many scenarios at once, vectorised: yields at par (the ChinaBond
convention for the notes of a CNY deal, else the annual IRR) of cash paid on a deal's
payment dates. :meth:`abs_engine.Result.measures` uses them for every tranche of a run.

Definitions (docs/scenarios.md, "Break-even"; :class:`abs_engine.results.TrancheMeasures`):

* **loss** of a tranche: its principal write-down plus the interest it is owed and never
  receives (for a tranche whose unpaid interest is carried, the shortfall left after the
  last period; otherwise the sum of the shortfalls forfeited each period), in currency
  units; **loss rate**: loss / original balance.
* **whole** (criterion ``timely``, the default): on every payment date the tranche
  receives all the interest due (no shortfall after the period's waterfall), a tranche
  with a ``scheduled`` principal style is at or below its scheduled balance after every
  payment date, and all its principal is repaid by the legal maturity (no write-down).
  ``expected`` adds that the tranche is repaid by its expected maturity; ``ultimate``
  asks only that nothing is lost in the end (no write-down, no interest left unpaid).
  Amounts below :data:`WHOLE_TOLERANCE` count as nil.
* **WAL**: years (ACT/365F) from the closing date to each principal payment, weighted by
  principal (as :meth:`abs_engine.Result.summary`).
* **yield**: the yield of the tranche's cash (interest, principal and residual) against its
  original balance (a purchase at par at closing), in the convention of
  :meth:`abs_engine.Result.analytics`: the ChinaBond yield for the notes of a CNY deal
  (:func:`chinabond_at_par`), else the internal rate of return with annual compounding over
  ACT/365F years from the closing date (:func:`irr_at_par`, also the subordinate's); -1
  when it receives nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .analytics import chinabond_times
from .dates import Schedule
from .model.deal import Deal


def year_fractions(sched: Schedule, closing: dt.date) -> np.ndarray:
    """ACT/365F years from ``closing`` to each payment date, ``(T,)``."""
    return np.array([(d - closing).days / 365.0 for d in sched.payment_dates])


def chinabond_at_par(cash: np.ndarray, sched: Schedule, frequency: int, closing: dt.date, face: float) -> np.ndarray:
    """The ChinaBond yield (docs/analytics.md) of each row of ``cash`` ``(N, T)``, paid on the
    schedule's payment dates, bought at par at closing: a row with more than one payment
    compounds at ``frequency`` over coupon periods (:func:`irr_at_par` over the periods
    gives ``y / f``), a row with one payment is simple interest within a year of it and
    annual compounding beyond; -1 when the row receives nothing.

    >>> import numpy as np
    >>> from abs_engine.dates import Schedule
    >>> d = [dt.date(2027, 1, 1), dt.date(2027, 4, 1)]
    >>> s = Schedule(d, d, [dt.date(2026, 10, 1), d[0]], [None, None], [dt.date(2026, 9, 30)], np.zeros(1, dtype=np.int64))
    >>> cash = np.array([[1.0, 101.0], [0.0, 102.0]])   # a par coupon of 4% a year; 2% in 182 days
    >>> [round(float(x), 10) for x in chinabond_at_par(cash, s, 4, dt.date(2026, 10, 1), 100.0)]
    [0.04, 0.0401098901]
    """
    periods, years = chinabond_times(sched.payment_dates, frequency, closing)
    cash = np.asarray(cash, dtype=np.float64)
    paid = cash > 0.0
    n_paid = paid.sum(axis=1)
    y = np.full(cash.shape[0], -1.0)
    many = n_paid > 1
    if many.any():
        y[many] = frequency * irr_at_par(cash[many], periods, face)
    one = np.flatnonzero(n_paid == 1)
    if one.size:
        t = years[paid[one].argmax(axis=1)]
        growth = cash[one].sum(axis=1) / face
        y[one] = np.where(t <= 1.0, (growth - 1.0) / t, growth ** (1.0 / t) - 1.0)
    return y


def notes_yield(deal: Deal, sched: Schedule, cash: np.ndarray, face: float, *, subordinate: bool = False) -> np.ndarray:
    """The yield at par at closing of cash ``(N, T)`` paid on the deal's payment dates, in the
    convention of :meth:`abs_engine.Result.analytics` (module docstring): the ChinaBond yield
    at the payment frequency for notes of a CNY deal, else (and for the subordinate) the
    annual IRR over ACT/365F years from the closing date."""
    closing = deal.deal.closing_date
    if str(deal.deal.currency).upper() == "CNY" and not subordinate:
        return chinabond_at_par(cash, sched, 12 // deal.deal.payment_frequency.months, closing, face)
    return irr_at_par(cash, year_fractions(sched, closing), face)


def irr_at_par(cash: np.ndarray, times: np.ndarray, face: np.ndarray | float) -> np.ndarray:
    """Annual-compounding yield ``y`` solving ``sum_t cash_t (1 + y)^-times_t = face`` per row.

    ``cash`` is ``(N, T)`` (non-negative), ``times`` ``(T,)`` years, ``face`` ``(N,)`` or a
    number. Solved by bisection on ``(-1, 100]`` to machine precision (64 halvings), the
    same number of steps for every row, so a row's result never depends on the others.
    Rows with no cash get -1; rows whose cash exceeds what a 10,000% yield discounts to
    get ``inf``.

    >>> round(float(irr_at_par(np.array([[110.0]]), np.array([1.0]), 100.0)[0]), 12)
    0.1
    """
    cash = np.asarray(cash, dtype=np.float64)
    n = cash.shape[0]
    face = np.broadcast_to(np.asarray(face, dtype=np.float64), (n,))
    total = cash.sum(axis=1)
    lo = np.full(n, -1.0 + 1e-12)
    hi = np.full(n, 100.0)
    t = np.asarray(times, dtype=np.float64)[None, :]

    def pv(y: np.ndarray) -> np.ndarray:
        return (cash * np.exp(-t * np.log1p(y)[:, None])).sum(axis=1)

    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = pv(mid) > face  # PV falls as y rises: the root is above mid
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    y = 0.5 * (lo + hi)
    y = np.where(total <= 0.0, -1.0, y)
    return np.where((total > 0.0) & (pv(np.full(n, 100.0)) > face), np.inf, y)
