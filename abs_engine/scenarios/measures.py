"""Per scenario (or path) and tranche: is the tranche whole, what did it lose, its WAL and
its yield — computed from the kernel's arrays, vectorised over scenarios.

Definitions (docs/scenarios.md, "Break-even"):

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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._program import KernelArgs
from ..analytics import chinabond_times
from ..dates import Schedule
from ..model.deal import Deal

#: Amounts (currency units) below which a shortfall or write-down counts as nil: one fen.
WHOLE_TOLERANCE = 0.01

Criterion = Literal["timely", "expected", "ultimate"]
CRITERIA: tuple[str, ...] = ("timely", "expected", "ultimate")


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


@dataclass
class TrancheMeasures:
    """Measures of every tranche in every scenario: arrays ``(S, K)``."""

    tranches: list[str]
    balance: np.ndarray  # (K,) original balance
    interest: np.ndarray
    principal: np.ndarray
    residual: np.ndarray
    writedown: np.ndarray
    interest_lost: np.ndarray
    max_shortfall: np.ndarray  # largest unpaid interest after any period
    behind_schedule: np.ndarray  # largest excess of the balance over a `scheduled` tranche's schedule
    late: np.ndarray  # balance left at the expected maturity (principal due then)
    wal_years: np.ndarray
    yield_: np.ndarray

    @property
    def loss(self) -> np.ndarray:
        return self.writedown + self.interest_lost

    @property
    def loss_rate(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.balance > 0, self.loss / np.where(self.balance > 0, self.balance, 1.0), 0.0)

    def whole(self, criterion: Criterion = "timely", tol: float = WHOLE_TOLERANCE) -> np.ndarray:
        """Boolean ``(S, K)``: the tranche is whole in the scenario (module docstring)."""
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(CRITERIA)} (got {criterion!r})")
        if criterion == "ultimate":
            return (self.writedown <= tol) & (self.interest_lost <= tol)
        ok = (self.writedown <= tol) & (self.max_shortfall <= tol) & (self.behind_schedule <= tol)
        if criterion == "expected":
            ok &= self.late <= tol
        return ok

    def frame(self, scenarios: list[str], criterion: Criterion = "timely") -> pd.DataFrame:
        """One row per scenario and tranche."""
        S, K = self.writedown.shape
        whole = self.whole(criterion)
        return pd.DataFrame({
            "scenario": np.repeat(np.asarray(scenarios, dtype=object), K),
            "tranche": np.tile(np.asarray(self.tranches, dtype=object), S),
            "balance": np.tile(self.balance, S),
            "interest": self.interest.ravel(),
            "principal": self.principal.ravel(),
            "residual": self.residual.ravel(),
            "writedown": self.writedown.ravel(),
            "interest_lost": self.interest_lost.ravel(),
            "loss": self.loss.ravel(),
            "loss_rate": self.loss_rate.ravel(),
            "whole": whole.ravel(),
            "wal_years": self.wal_years.ravel(),
            "yield": self.yield_.ravel(),
        })


def tranche_measures(deal: Deal, sched: Schedule, a: KernelArgs, *, yields: bool = True) -> TrancheMeasures:
    """The measures of every tranche from a run's kernel arrays (module docstring)."""
    # from the run's start: closing, or the status date of a run from a status (abs_engine/restart.py)
    t0 = int(a.t0)
    start = deal.deal.closing_date if t0 == 0 else sched.payment_dates[t0 - 1]
    tau = year_fractions(sched, start)
    bal0 = np.asarray(a.bal_open, dtype=np.float64)
    interest = a.t_int_paid.sum(axis=1)
    principal = a.t_prin.sum(axis=1)
    residual = a.t_resid.sum(axis=1)
    writedown = a.t_wd.sum(axis=1)
    short = a.t_int_short
    carry = np.asarray(a.carry, dtype=bool)[None, :]
    interest_lost = np.where(carry, short[:, -1, :], short.sum(axis=1))
    max_short = short.max(axis=1)
    behind = np.zeros_like(writedown)
    late = np.zeros_like(writedown)
    T = a.t_bal_end.shape[1]
    for k, tr in enumerate(deal.tranches):
        if tr.principal.style == "scheduled":
            behind[:, k] = np.maximum(a.t_bal_end[:, :, k] - a.sched[None, :, k], 0.0).max(axis=1)
        em = tr.expected_maturity or deal.deal.expected_maturity
        t_em = min(sched.period_of(em), T - 1)
        late[:, k] = a.t_bal_end[:, t_em, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        wal = np.where(principal > 0, (a.t_prin * tau[None, :, None]).sum(axis=1) / np.where(principal > 0, principal, 1.0), np.nan)
    if yields:
        cash = a.t_int_paid + a.t_prin + a.t_resid  # (S, T, K)
        yld = np.full_like(writedown, np.nan)
        for k, tr in enumerate(deal.tranches):
            if bal0[k] > 0:
                yld[:, k] = notes_yield(deal, sched, cash[:, :, k], float(bal0[k]), subordinate=tr.kind == "subordinate")
    else:
        yld = np.full_like(writedown, np.nan)
    return TrancheMeasures(
        tranches=[t.name for t in deal.tranches], balance=bal0, interest=interest, principal=principal,
        residual=residual, writedown=writedown, interest_lost=interest_lost, max_shortfall=max_short,
        behind_schedule=behind, late=late, wal_years=wal, yield_=yld,
    )


def pool_measures(pools: list[Any], original: float | None = None) -> dict[str, np.ndarray]:
    """Per scenario: cumulative defaults and losses of all pools, in currency units and as
    shares of the original pool balance (``PeriodFlows`` series summed over periods)."""
    orig = sum(p.original_balance for p in pools) if original is None else original
    defaults = sum(p.series["default_amount"].sum(axis=1) for p in pools)
    loss = sum(p.series["loss"].sum(axis=1) for p in pools)
    rate = (lambda x: x / orig) if orig > 0 else (lambda x: x * 0.0)
    return {"pool_defaults": defaults, "pool_loss": loss, "pool_default_rate": rate(defaults),
            "pool_loss_rate": rate(loss)}
