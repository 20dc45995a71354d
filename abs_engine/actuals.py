"""Actual vs projected (实际与预测): the periods a deal's statuses report, set against what
was projected for them at closing, or at the last status before each period
(docs/seasoned.md, "Actual vs projected").

The actuals are the statuses' histories (``Status.history``; a later status's figures of a
period replace an earlier one's). The projection at closing is one run from closing under
the scenario; at the last status, the run from the latest status dated before each period.
:func:`actual_vs_projected` returns one tidy frame (``actual_vs_projected.csv``);
:mod:`abs_engine.report.actuals_sheet` draws it (a plot, a term-sheet sheet).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd

from .errors import InputError, Problem
from .model.deal import Deal
from .model.scenario import Scenario
from .model.status import PeriodActuals, Status

#: Pool items compared, in order (PeriodActuals fields).
POOL_ITEMS = ("interest_collected", "principal_collected", "prepayments", "defaults", "recoveries", "losses",
              "support_paid", "pool_balance", "fees_paid")
#: Each class's items compared (TranchePeriod fields).
CLASS_ITEMS = ("interest", "principal", "residual", "balance")
#: Columns of :func:`actual_vs_projected`'s frame.
COLUMNS = ("scenario", "period", "payment_date", "item", "tranche", "actual", "projected", "difference", "projected_at")


def _rows(p: PeriodActuals) -> dict[tuple[str, str], float]:
    out = {(k, ""): float(getattr(p, k)) for k in POOL_ITEMS}
    for name, tp in p.tranches.items():
        out.update({(k, name): float(getattr(tp, k)) for k in CLASS_ITEMS})
    return out


def _projected(result: Any) -> dict[int, PeriodActuals]:
    """A run's figures per period (0-based) of its projected periods (its only scenario)."""
    from .restart import _actuals

    t0 = result.start_period
    return dict(enumerate(_actuals(result, 0, result.schedule.n_periods - 1), start=t0))


def actual_vs_projected(
    deal: Deal,
    statuses: Sequence[Status],
    scenarios: Scenario | Sequence[Scenario],
    *,
    baseline: Literal["closing", "previous"] = "closing",
    backend: Literal["cython", "reference"] = "cython",
) -> pd.DataFrame:
    """Each period the statuses report: its actual pool figures (collections, prepayments,
    defaults, recoveries, losses, support, pool balance, expenses) and each class's payments
    and balance, against the projection under each scenario made at closing
    (``baseline="closing"``) or at the latest status dated before the period
    (``"previous"``; the periods before any status against closing).

    Returns a frame of :data:`COLUMNS`: ``difference = actual - projected``;
    ``projected_at`` the date the projection was made (the closing date or a status date).
    """
    from .dates import legal_schedule

    if baseline not in ("closing", "previous"):
        raise InputError.single("", "--baseline", f"unknown baseline '{baseline}' (closing, previous)")
    if not statuses:
        raise InputError.single("", "statuses", "no status given")
    problems = [Problem("", f"statuses[{i}]", f"a status of deal '{st.deal}', not '{deal.name}'")
                for i, st in enumerate(statuses) if st.deal != deal.name]
    if problems:
        raise InputError(problems)
    sched = legal_schedule(deal.deal)
    ordered = sorted(statuses, key=lambda st: st.date)
    problems = [Problem("", f"statuses[{i}]", f"two statuses of {st.date}: give one status per date")
                for i, st in enumerate(ordered[1:], start=1) if st.date == ordered[i - 1].date]
    if problems:
        raise InputError(problems)
    actual: dict[int, PeriodActuals] = {}
    for st in ordered:  # a later status's figures of a period replace an earlier one's
        for p in st.history:
            t = sched.match(p.date)
            if t is not None:  # (load_status checked the dates)
                actual[t] = p
    if not actual:
        raise InputError.single("", "statuses", "the statuses carry no history (the actuals of their periods)")
    out: list[dict[str, Any]] = []
    for scenario in [scenarios] if isinstance(scenarios, Scenario) else scenarios:
        out += _compare(deal, ordered, actual, scenario, baseline, backend)
    return pd.DataFrame(out, columns=list(COLUMNS))


def _compare(deal: Deal, ordered: list[Status], actual: dict[int, PeriodActuals], scenario: Scenario, baseline: str,
             backend: Any) -> list[dict[str, Any]]:
    """The rows of one scenario (:func:`actual_vs_projected`)."""
    from .dates import legal_schedule
    from .engine import run

    sched = legal_schedule(deal.deal)
    closing = _projected(run(deal, scenario, backend=backend))
    from_status: dict[int, dict[int, PeriodActuals]] = {}
    out = []
    for t in sorted(actual):
        at, proj = deal.deal.closing_date, closing
        if baseline == "previous":
            earlier = [st for st in ordered if sched.period_of(st.date) < t]
            if earlier:
                st = earlier[-1]
                k = sched.period_of(st.date)
                if k not in from_status:
                    from_status[k] = _projected(run(deal, scenario, backend=backend, status=st))
                at, proj = st.date, from_status[k]
        got, want = _rows(actual[t]), _rows(proj[t])
        for key, a in got.items():
            w = want.get(key)
            if w is None:
                continue
            out.append({"scenario": scenario.name, "period": t + 1, "payment_date": sched.payment_dates[t], "item": key[0],
                        "tranche": key[1], "actual": a, "projected": w, "difference": a - w, "projected_at": at})
    return out
