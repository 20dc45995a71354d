"""A pool's support stack applied to its projection: the per-asset arrays a projection
captures go through :func:`~abs_engine.support.layers.apply_layers`, and the pool's
monthly series are restated after support (docs/risk-sharing.md, "Wiring into a
projection")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from ..model.scenario import Scenario
from .layers import Layer, LayerResult, apply_layers, compile_stack, failure_months


def support_flows(
    stack: Sequence[Layer],
    scenarios: Sequence[Scenario],
    grid: Sequence[dt.date],
    *,
    default: np.ndarray,
    recovery: np.ndarray,
    lag: np.ndarray,
    balance: np.ndarray | None = None,
    loan_original: np.ndarray | None = None,
    collateral_value: np.ndarray | None = None,
    interest: np.ndarray | None = None,
    survival: np.ndarray | None = None,
    borrower_index: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], LayerResult]:
    """Run the stack over a projection's defaults and return the pool series after
    support, each ``(S, M+1)`` on the grid (what falls after the grid is dropped, as the
    projections drop late recoveries), with the layers' full result.

    The series: ``recovery`` (disposal proceeds the pool keeps), ``support_paid``
    (payments of the layers to the pool), ``loss`` (after support), ``recovery_lost``
    (proceeds lost because the pledged rights lapsed), ``subsidy`` (interest subsidies to
    the pool) and ``upkeep_cost`` (annual fees paid out of the pool).

    ``default`` and ``recovery`` are ``(S, L, M+1)`` by default month (see
    :func:`~abs_engine.support.layers.apply_layers` for every argument); a scenario's
    ``support_failures`` that name payers of this stack apply, the others (deal-level
    providers, other pools) are ignored here.
    """
    cs = compile_stack(stack)
    keys = set(cs.failure_keys)
    failures = [failure_months({k: v for k, v in sc.support_failures.items() if k in keys}, grid) for sc in scenarios]
    lr = apply_layers(
        cs, default=default, recovery=recovery, lag=lag, month_dates=grid, failures=failures,
        balance=balance, loan_original=loan_original, collateral_value=collateral_value,
        interest=interest, survival=survival, borrower_index=borrower_index,
    )
    m1 = len(grid)
    series = {
        "recovery": lr.recovery_to_pool[:, :m1],
        "support_paid": lr.paid_to_pool[:, :m1],
        "loss": lr.loss_after_support[:, :m1],
        "recovery_lost": lr.recovery_lost[:, :m1],
        "subsidy": lr.subsidy_to_pool[:, :m1],
        "upkeep_cost": lr.upkeep_cost[:, :m1],
    }
    return {k: np.ascontiguousarray(v) for k, v in series.items()}, lr
