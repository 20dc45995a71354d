"""IP transfer receivables (知识产权转让应收账款, ``kind: transfer``): instalments owed by the
buyer of an IP right. The receivables' projection (:mod:`abs_engine.pools.receivables`)
with one stand-in "patent" per receivable that never fails.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from ..model.deal import Header, TransferPool
from .base import asset_frame
from .receivables import (
    ReceivableArrays,
    ReceivableKind,
    receivable_arrays,
    remaining_fees,
    schedule_row,
    terms,
)


def transfer_arrays(pool: TransferPool, cutoff: dt.date, n_months: int) -> ReceivableArrays:
    """The instalments on the grid, each receivable resting wholly on one right that never fails."""
    M = n_months
    assets = pool.assets
    ids = [a.receivable_id for a in assets]
    fees = np.stack([schedule_row(a.first_date, a.last_date, a.frequency.months, a.instalment, 0.0, 0.0, cutoff, M)
                     for a in assets])
    pd_ = np.array([np.nan if a.pd is None else a.pd for a in assets])
    return receivable_arrays(ids, fees, pd_, ["-"], ["none"], np.arange(len(ids), dtype=np.int64),
                             np.zeros(len(ids), dtype=np.int64), np.ones(len(ids)), np.ones((1, M + 1)),
                             np.zeros(1), patents_at_risk=False)


def asset_table(pool: TransferPool, header: Header) -> pd.DataFrame:
    """The asset table of an IP transfer-receivable pool: the balance is the remaining
    instalments, the rate NaN, terms from the first and last instalment dates."""
    cut = header.cutoff_date
    bal = remaining_fees(KIND.on_grid(pool, header))
    rows = [(pool.name, a.receivable_id, a.buyer, float(b), math.nan, *terms(cut, a.first_date, a.last_date),
             0.0, a.ip_type, a.industry, a.region)
            for a, b in zip(pool.assets, bal, strict=True)]
    return asset_frame(rows)


class Transfers(ReceivableKind):
    """IP transfer receivables (``kind: transfer``): the :class:`~abs_engine.pools.base.PoolKind`
    of this module."""

    tag = "transfer"

    def last_date(self, pool: TransferPool) -> dt.date:
        return max(a.last_date for a in pool.assets)

    def prepare(self, pool: TransferPool, cutoff: dt.date, grid_months: int, references: list[str]) -> ReceivableArrays:
        return transfer_arrays(pool, cutoff, grid_months)

    def asset_table(self, pool: TransferPool, header: Header) -> pd.DataFrame:
        return asset_table(pool, header)

    def ip_rights(self, pool: TransferPool) -> int:
        """One right per receivable."""
        return len(pool.assets)

    def collateral(self, pool: TransferPool, header: Header, notes: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One row per receivable: its remaining instalments."""
        arr, _, row = self.receivables(pool, header, notes)
        remaining = row["remaining_receivables"]
        rights = [{"pool": pool.name, "right": ta.receivable_id, "type": ta.ip_type, "count": 1,
                   "expiry_date": None, "years_after_legal_maturity": math.nan, "appraised_value": math.nan,
                   "valuer": None, "exposure": float(b), "exposure_share": float(b) / remaining if remaining else math.nan}
                  for ta, b in zip(pool.assets, arr.remaining[:, 0], strict=False)]
        return rights, row


#: The transfer kind.
KIND = Transfers()
