"""What every pool projection returns: monthly cash flows per scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Monthly pool series, in the order of :attr:`PoolFlows.series`.
SERIES = (
    "balance_start",
    "scheduled_principal",
    "prepayment",
    "default_amount",
    "recovery",
    "loss",
    "interest_collected",
    "balance_end",
    "fees_due",
    "fees_lost_default",
    "fees_lost_invalidation",
    "patent_writedown",
)


@dataclass
class PoolFlows:
    """Monthly cash flows of one pool: arrays of shape ``(n_scenarios, n_months + 1)``
    indexed by grid month (index 0, the cut-off date, carries only ``balance_end``)."""

    name: str
    original_balance: float
    balance_start: np.ndarray
    scheduled_principal: np.ndarray
    prepayment: np.ndarray
    default_amount: np.ndarray
    recovery: np.ndarray
    loss: np.ndarray
    interest_collected: np.ndarray
    balance_end: np.ndarray
    # receivable pools only (zeros for loans): fees due under the original schedule, and
    # the parts of them lost to obligor default and to patent events; the remaining
    # balance written off by patent events
    fees_due: np.ndarray | None = None
    fees_lost_default: np.ndarray | None = None
    fees_lost_invalidation: np.ndarray | None = None
    patent_writedown: np.ndarray | None = None

    @property
    def principal_collected(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment + self.recovery

    def series(self) -> dict[str, np.ndarray]:
        zero = np.zeros_like(self.balance_end)
        return {k: zero if getattr(self, k) is None else getattr(self, k) for k in SERIES}
