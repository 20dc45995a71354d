"""Licence-fee receivables resting on patents (知识产权许可应收许可费, ``kind: licence``): a
licensee's schedule of fees under a licence of one or more patents in given shares. A
patent event (invalidation, obsolescence, expiry, a lapse for an unpaid annual fee) cuts
the share resting on it for every licence that uses the patent. The projection is the
receivables' (:mod:`abs_engine.pools.receivables`); this module lays the pool on the grid
and gives its statistics and collateral rows.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from ..dates import grid_month
from ..model.deal import Header, LicencePool
from ..model.support import AnnualFeeUpkeep
from .base import asset_frame
from .receivables import (
    ReceivableArrays,
    ReceivableKind,
    receivable_arrays,
    remaining_fees,
    schedule_row,
    terms,
)

#: Grid month from which a patent whose annual fee (年费) is unpaid at the cut-off has lapsed
#: when no annual_fee_upkeep layer pays it: the fee counts as due in grid month 1 (as an
#: upkeep's first fee), plus the 6-month grace period of the Chinese patent rules.
UNPAID_FEE_LAPSE_MONTH = 1 + 6


def licence_arrays(pool: LicencePool, cutoff: dt.date, n_months: int) -> ReceivableArrays:
    """The licences' fees on the grid, their links to the patents, each patent in force
    through the grid month of its expiry (or its lapse for an unpaid annual fee)."""
    M = n_months
    assets = pool.licences
    ids = [a.licence_id for a in assets]
    fees = np.stack([schedule_row(a.first_fee_date, a.last_fee_date, a.fee_frequency.months, a.fee,
                                  a.escalation, a.upfront_fee, cutoff, M) for a in assets])
    pids = [p.patent_id for p in pool.patents]
    ptypes: list[str] = [p.type for p in pool.patents]
    pidx = {p: i for i, p in enumerate(pids)}
    lidx = {x: i for i, x in enumerate(ids)}
    link_l = np.array([lidx[k.licence_id] for k in pool.links], dtype=np.int64)
    link_p = np.array([pidx[k.patent_id] for k in pool.links], dtype=np.int64)
    share = np.array([k.share for k in pool.links], dtype=np.float64)
    expiry = np.ones((len(pids), M + 1))
    for i, p in enumerate(pool.patents):
        gm = grid_month(p.expiry_date, cutoff)
        # in force through the grid month containing the expiry date only if the
        # expiry falls on that month's grid date or later
        expiry[i, gm + 1:] = 0.0
        # an annual fee unpaid at the cut-off, with no upkeep layer to pay it: the right
        # lapses after the grace period, as if it expired then (docs/methodology.md)
        if p.annual_fee_status == "unpaid" and not any(isinstance(x, AnnualFeeUpkeep) for x in pool.support):
            expiry[i, UNPAID_FEE_LAPSE_MONTH:] = 0.0
    pd_ = np.array([np.nan if a.pd is None else a.pd for a in assets])
    value = np.array([p.appraised_value for p in pool.patents], dtype=np.float64)
    return receivable_arrays(ids, fees, pd_, pids, ptypes, link_l, link_p, share, expiry, value)


def asset_table(pool: LicencePool, header: Header) -> pd.DataFrame:
    """The asset table of a licence-fee pool: the balance is the remaining scheduled fees
    (as the projection's pool balance), the rate NaN (a fee schedule has no coupon), the
    remaining term to the last fee date, the seasoning from the first fee date, the
    collateral value 0 (no LTV), and the IP type the patent type carrying the largest share
    of the licence's fee (``mixed`` when two types carry equal shares)."""
    cut = header.cutoff_date
    bal = remaining_fees(KIND.on_grid(pool, header))
    ptype = {p.patent_id: p.type for p in pool.patents}
    by_licence: dict[str, dict[str, float]] = {}
    for k in pool.links:
        per = by_licence.setdefault(k.licence_id, {})
        t = ptype.get(k.patent_id, "other")
        per[t] = per.get(t, 0.0) + k.share
    rows = []
    for a, b in zip(pool.licences, bal, strict=True):
        shares = by_licence.get(a.licence_id, {})
        top = max(shares.values(), default=0.0)
        lead = [t for t, x in shares.items() if x >= top - 1e-12]
        ip = lead[0] if len(lead) == 1 else ("mixed" if lead else "other")
        rows.append((pool.name, a.licence_id, a.licensee, float(b), math.nan,
                     *terms(cut, a.first_fee_date, a.last_fee_date), 0.0, ip, a.industry, a.region))
    return asset_frame(rows)


class Licences(ReceivableKind):
    """Licence-fee receivables (``kind: licence``): the :class:`~abs_engine.pools.base.PoolKind`
    of this module."""

    tag = "licence"

    def last_date(self, pool: LicencePool) -> dt.date:
        return max(a.last_fee_date for a in pool.licences)

    def prepare(self, pool: LicencePool, cutoff: dt.date, grid_months: int, references: list[str]) -> ReceivableArrays:
        return licence_arrays(pool, cutoff, grid_months)

    def patent_types(self, pool: LicencePool) -> list[str]:
        return [p.type for p in pool.patents]

    def asset_table(self, pool: LicencePool, header: Header) -> pd.DataFrame:
        return asset_table(pool, header)

    def ip_rights(self, pool: LicencePool) -> int:
        """The distinct patents the licences rest on."""
        return len({k.patent_id for k in pool.links})

    def collateral(self, pool: LicencePool, header: Header, notes: float) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One row per patent: its remaining scheduled fees (each licence's remaining fees
        times the patent's share), years of legal life left at the legal maturity."""
        arr, flows, row = self.receivables(pool, header, notes)
        remaining = row["remaining_receivables"]
        expo = np.zeros(len(arr.patent_ids))
        np.add.at(expo, arr.link_p, flows[:, 1:].sum(axis=1))
        info = {p.patent_id: p for p in pool.patents}
        rights = []
        for j, pid in enumerate(arr.patent_ids):
            p = info[pid]
            rights.append({"pool": pool.name, "right": pid, "type": p.type, "count": 1,
                           "expiry_date": p.expiry_date,
                           "years_after_legal_maturity": (p.expiry_date - header.legal_maturity).days / 365.0,
                           "appraised_value": p.appraised_value, "valuer": p.valuer,
                           "exposure": float(expo[j]), "exposure_share": float(expo[j]) / remaining if remaining else math.nan})
        return rights, row


#: The licence kind.
KIND = Licences()
