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

    @property
    def principal_collected(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment + self.recovery

    def series(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in SERIES}
