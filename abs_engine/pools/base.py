"""What every pool projection returns: monthly cash flows per scenario."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..support.layers import LayerResult

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
    "support_paid",
    "loss_before_support",
    "subsidy",
    "upkeep_cost",
)


#: Monthly series a projection adds only when it models them (servicer advancing, a
#: delinquency pipeline): name -> True for a balance at the month's end, False for a flow.
#: Outputs show them only when some pool of the run has them, so every other run's outputs
#: keep their columns.
EXTRA_SERIES: dict[str, bool] = {
    "advanced_principal": False,
    "advanced_interest": False,
    "foreclosure_balance": True,
    "delinquent_1_30": True,
    "delinquent_31_60": True,
    "delinquent_61_90": True,
    "delinquent_interest_missed": False,
    "cured": False,
}


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
    # risk-sharing layers (pools with a ``support`` stack; docs/risk-sharing.md): what the
    # layers paid to the pool (claims, buy-back prices), the loss the pool would have
    # borne without them, interest subsidies paid to the pool, annual fees paid out of
    # it. With layers, ``recovery`` is the disposal proceeds the pool keeps and ``loss``
    # the loss after support.
    support_paid: np.ndarray | None = None
    loss_before_support: np.ndarray | None = None
    subsidy: np.ndarray | None = None
    upkeep_cost: np.ndarray | None = None
    #: what the layers did, month by month (None without a stack)
    layers: LayerResult | None = None
    #: the :data:`EXTRA_SERIES` the projection modelled
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def principal_collected(self) -> np.ndarray:
        return self.scheduled_principal + self.prepayment + self.recovery

    def series(self) -> dict[str, np.ndarray]:
        zero = np.zeros_like(self.balance_end)
        out = {k: zero if getattr(self, k, None) is None else getattr(self, k) for k in SERIES}
        if self.loss_before_support is None:
            out["loss_before_support"] = self.loss
        return out
