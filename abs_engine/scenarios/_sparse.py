"""The pledge-loan projection of Monte Carlo paths, computed sparsely.

On a Monte Carlo path every loan either survives or defaults wholly in one month (its
obligor's default month; the scenario's CDR is zero), and nothing else differs between
paths. A surviving loan then pays exactly what it pays on the no-default path, and a
loan defaulting in month ``tau`` pays that until ``tau - 1``, defaults with its opening
balance in ``tau`` and recovers ``lag`` months later. The pool's flows on a path are
therefore the no-default flows of the whole pool less the no-default flows of the
defaulted loans from their default month on, plus their defaults and recoveries:

    X_path[m] = sum_l X_l[m] - sum_{l defaulted, tau_l <= m} X_l[m]      (X: scheduled
    principal, interest, prepayment, closing balance)

The per-loan no-default flows ``X_l`` are computed once with the operations of
:func:`abs_engine.pools.pledge.project_pledge_pool` (same formulas, same order of
events), so each loan's figures equal the dense projection's; only the order of the sums
over loans differs (agreement to rounding: tests/test_scenarios_montecarlo.py checks it
against ``project_pledge_pool(default_month=...)``, and every simulation checks its first
paths before it relies on this). A path costs O(defaulted loans x months) instead of
O(loans x months). Pools with an asset-level support stack take the dense projection.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..curves import is_zero
from ..model.deal import PledgeLoanPool
from ..model.scenario import Scenario
from ..pools.base import PoolFlows
from ..pools.pledge import LoanArrays, pledge_rates

#: The kinds of a scheduled payment (as abs_engine.pools.pledge sets them).
_NONE, _FINAL, _ANNUITY, _EQUAL = 0, 1, 2, 3


def supports(pool: object) -> bool:
    """Whether the sparse projection applies to ``pool`` (a pledge pool without an
    asset-level support stack)."""
    return isinstance(pool, PledgeLoanPool) and not getattr(pool, "support", None)


class SparsePledge:
    """The no-default flows of each loan of a pledge pool under one scenario (CDR 0),
    and the flows of paths given their loans' default months."""

    def __init__(self, pool: PledgeLoanPool, loans: LoanArrays, scenario: Scenario, grid: list[dt.date],
                 ref_rates: np.ndarray) -> None:
        """``ref_rates``: ``(n_refs, n_months + 1)``, the reference rates of the scenario."""
        self.name = pool.name
        M = len(grid) - 1
        L = len(loans.ids)
        self.M, self.L = M, L
        self.original_balance = float(loans.balance.sum())
        mdr_rates, smm_rates = pledge_rates(pool, loans, [scenario], grid)
        if not is_zero(scenario.defaults.cdr) or any(seg.cdr is not None and not is_zero(seg.cdr)
                                                     for seg in scenario.segments):
            raise ValueError("the sparse projection needs a scenario without CDR (the paths carry the defaults)")
        # each loan's monthly prepayment rates (L, M+1): one row for every loan unless the
        # scenario's prepayment runs by loan age
        smm = np.stack([smm_rates.loan_vector(0, li, M) for li in range(L)]) if not smm_rates.shared \
            else np.broadcast_to(smm_rates.table[0, 0, : M + 1], (L, M + 1))
        if scenario.prepayment.applies_to == "before_defaults":  # smm / (1 - mdr) with mdr = 0
            smm = np.minimum(smm, 1.0)
        floating = loans.ref_index >= 0
        ref_index = np.maximum(loans.ref_index, 0)
        per = loans.freq / 12.0
        bal = np.zeros((L, M + 1))
        sched = np.zeros((L, M + 1))
        interest = np.zeros((L, M + 1))
        prepay = np.zeros((L, M + 1))
        B = loans.balance.astype(np.float64).copy()
        bal[:, 0] = B
        amort = loans.amort
        for m in range(1, M + 1):
            idx = np.flatnonzero(loans.pay[:, m])
            if len(idx):
                Bp = B[idx]
                rate = loans.rate[idx]
                fl = floating[idx]
                r = np.where(fl, np.maximum(ref_rates[ref_index[idx], m] + rate, 0.0), rate) if fl.any() else rate
                rp = r * per[idx]
                interest[idx, m] = Bp * (rp if loans.accrual is None else r * loans.accrual[idx, m])
                code = amort[idx]
                kind = np.full(len(idx), _NONE, dtype=np.int8)
                kind[(code == 0) | (code == 3)] = _ANNUITY
                kind[code == 1] = _EQUAL
                kind[loans.io[idx, m]] = _NONE
                kind[loans.n_rem[idx, m] == 1] = _FINAL
                n = loans.amort_n[idx, m]
                prin = np.minimum(0.0, Bp)
                g = kind == _FINAL
                prin[g] = Bp[g]
                g = kind == _ANNUITY
                if g.any():
                    Bg, rg, ng = Bp[g], rp[g], n[g]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        growth = np.power(1.0 + rg, ng) - 1.0
                        ann = np.where(np.abs(rg) > 1e-14, Bg * rg / growth, Bg / np.maximum(ng, 1))
                    prin[g] = np.minimum(ann, Bg)
                g = kind == _EQUAL
                if g.any():
                    Bg = Bp[g]
                    prin[g] = np.minimum(Bg / np.maximum(n[g], 1), Bg)
                B[idx] = Bp - prin
                sched[idx, m] = prin
            P = B * smm[:, m]
            prepay[:, m] = P
            B = B - P
            bal[:, m] = B
        self.series = {"scheduled_principal": sched, "interest_collected": interest, "prepayment": prepay,
                       "balance_end": bal}
        # the chance a loan has not prepaid by the end of each month: balance_end / survive is
        # the balance of a loan still performing (the collateral is set against it)
        self.survive = np.cumprod(np.concatenate([np.ones((L, 1)), 1.0 - smm[:, 1:]], axis=1), axis=1)
        self.totals = {k: v.sum(axis=0) for k, v in self.series.items()}
        # what a default in month m recovers, per loan: D x rate, or D x min(1, value / B)
        rc = scenario.recovery
        self.lag = rc.lag_months
        self.rate = rc.rate
        self.value: np.ndarray | None = None
        if rc.rate is None:
            months = np.arange(M + 1)
            factor = (1.0 - rc.value_decay) ** ((months + self.lag) / 12.0)
            self.value = loans.collateral[:, None] * factor[None, :] * (1.0 - rc.haircut)  # (L, M+1)
        # named default events of the scenario (grid month per loan, 0: none)
        self.named = np.zeros(L, dtype=np.int64)
        index = {lid: i for i, lid in enumerate(loans.ids)}
        for lid, when in scenario.defaults.loans.items():
            if lid in index:
                self.named[index[lid]] = next((k for k in range(1, M + 1) if grid[k] >= when), 0)

    def flows(self, default_month: np.ndarray) -> PoolFlows:
        """The pool's monthly flows on paths whose loans default in ``default_month``
        (integers ``(n_paths, n_loans)``, 0: survives; the earlier of it and the scenario's
        named default month applies)."""
        dm = np.asarray(default_month, dtype=np.int64)
        S, M, L = dm.shape[0], self.M, self.L
        if dm.shape != (S, L):
            raise ValueError(f"default_month has shape {dm.shape}, expected (paths, loans) = {(S, L)}")
        dm = np.where((dm >= 1) & (dm <= M), dm, 0)
        named = self.named[None, :]
        dm = np.where((named > 0) & ((dm == 0) | (named < dm)), named, dm)
        out = {k: np.zeros((S, M + 1)) for k in self.series}
        default = np.zeros((S, M + 1))
        recovery = np.zeros((S, M + 1 + self.lag))
        loss = np.zeros_like(recovery)
        months = np.arange(M + 1)
        bal = self.series["balance_end"]
        for s in range(S):
            ls = np.flatnonzero(dm[s])
            tau = dm[s, ls]
            D = bal[ls, tau - 1]  # the opening balance of the default month
            keep = D != 0.0
            ls, tau, D = ls[keep], tau[keep], D[keep]
            after = months[None, :] >= tau[:, None]
            for k, X in self.series.items():
                if len(ls):
                    removed = np.where(after, X[ls], 0.0).sum(axis=0)
                    out[k][s] = np.maximum(self.totals[k] - removed, 0.0)
                else:
                    out[k][s] = self.totals[k]
            if len(ls):
                if self.rate is not None:
                    rec = D * self.rate
                else:
                    assert self.value is not None
                    value = self.value[ls, tau]
                    q = self.survive[ls, tau - 1]
                    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                        Dc = np.where(q > 0, D / q, D)  # the defaulted loan's balance, had it not prepaid
                        frac = np.where(D > 0, np.minimum(1.0, value / Dc), 0.0)
                    rec = D * frac
                np.add.at(default[s], tau, D)
                np.add.at(recovery[s], tau + self.lag, rec)
                np.add.at(loss[s], tau + self.lag, D - rec)
        balance_start = np.zeros((S, M + 1))
        balance_start[:, 1:] = out["balance_end"][:, :-1]
        default[:, 0] = 0.0
        return PoolFlows(
            name=self.name,
            original_balance=self.original_balance,
            balance_start=balance_start,
            scheduled_principal=out["scheduled_principal"],
            prepayment=out["prepayment"],
            default_amount=default,
            recovery=recovery[:, : M + 1],
            loss=loss[:, : M + 1],
            interest_collected=out["interest_collected"],
            balance_end=out["balance_end"],
        )
