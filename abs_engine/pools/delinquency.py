"""The delinquency pipeline of a pledge pool: current -> 1-30 -> 31-60 -> 61-90 days past due
-> default (违约 at 90+ days, as most Chinese ABS define it), with roll rates and cures.

An expected-value Markov chain on each loan, month by month (docs/methodology.md,
"Delinquency pipeline"). Each month, before the loan's scheduled payment:

1. of the loans 61-90 days past due, ``roll[2]`` default (their unpaid principal is the
   default; their missed interest is lost); of each bucket ``k``, ``cure[k]`` pay all their
   arrears (missed principal and interest) and become current, ``roll[k]`` move to the next
   bucket and the rest stay; in a month when the loan has no instalment due (between the
   payments of a quarterly loan, after its maturity) nothing can stay as far behind, so what
   does not cure rolls on;
2. of the current loans (after the month's direct defaults, ``defaults.cdr``), the share
   ``entry`` misses this month's payment and becomes 1-30 days past due.

Then the month's instalment: current loans (cured ones included) pay it as ever; loans that
stayed in their bucket pay it too (they stay as far behind, so in the same bucket); loans that
entered a bucket this month miss it (its principal and interest join their arrears). Only
current loans prepay. A loan's *unpaid principal* is what it owes; its *contractual balance*
(unpaid principal less principal arrears) is what its schedule runs on, so a cured loan is back
on its schedule. The pool balance is the current loans' plus the delinquent loans' unpaid
principal; the bucket balances are the delinquency ratios' numerators (严重拖欠率, trigger
metric ``delinquency_ratio``). For the collateral of a pipeline default, the loan's balance is
the bucket's unpaid principal over the bucket's share of the loan (its probability).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The buckets of the pipeline, by days past due.
BUCKETS = ("1_30", "31_60", "61_90")


class Pipeline:
    """The delinquent shares of each loan under the scenarios that have a pipeline."""

    def __init__(self, scenarios: list[Any], n_loans: int, n_months: int) -> None:
        S, L, M = len(scenarios), n_loans, n_months
        self.on = np.array([sc.delinquency is not None for sc in scenarios])
        self.roll = np.zeros((S, 3))
        self.cure = np.zeros((S, 3))
        self.entry = np.zeros((S, M + 1))
        for s, sc in enumerate(scenarios):
            dq = sc.delinquency
            if dq is None:
                continue
            self.roll[s] = dq.roll
            self.cure[s] = dq.cure
            e = np.asarray(dq.entry if isinstance(dq.entry, list) else [dq.entry], dtype=np.float64)
            self.entry[s, 1:] = e[np.minimum(np.arange(M), len(e) - 1)]
        # per bucket (0: 1-30, 1: 31-60, 2: 61-90) and loan: unpaid principal, principal and
        # interest arrears, and the share of the loan (probability) in the bucket
        self.U = np.zeros((3, S, L))
        self.AP = np.zeros((3, S, L))
        self.AI = np.zeros((3, S, L))
        self.W = np.zeros((3, S, L))
        shape = (S, M + 1)
        self.balance = {b: np.zeros(shape) for b in BUCKETS}
        self.missed_interest = np.zeros(shape)
        self.cured = np.zeros(shape)
        self._incoming: tuple[np.ndarray, ...] | None = None

    def pending(self, act: np.ndarray | None = None) -> np.ndarray | bool:
        """Loans (of ``act``) with a delinquent share; without ``act``: whether any has one."""
        if act is None:
            return bool(self.U.any())
        return (self.U[:, :, act] != 0).any(axis=(0, 1))

    def transition(self, m: int, act: np.ndarray, current: np.ndarray, q: np.ndarray | None, paying: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step 1 and 2 of grid month ``m`` for the loans ``act``: returns the current balance
        after entries and cures, the current share after them (None if ``q`` is None), the
        defaults out of 61-90 days, the balance of the loan such a default belongs to (unpaid
        principal over its share), and the principal and interest the cures pay (``(S,)``)."""
        U, AP, AI, W = (x[:, :, act] for x in (self.U, self.AP, self.AI, self.W))
        # a loan with no instalment due this month (between the payments of a quarterly loan,
        # after its maturity) cannot stay as far behind: what does not cure rolls on
        cure = self.cure[:, :, None]
        stay = np.where(paying[None, None, :], 1.0 - self.roll[:, :, None] - cure, 0.0)  # (S, 3, La)
        roll = 1.0 - cure - stay
        default = roll[:, 2] * U[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            whole = np.where(W[2] > 0, U[2] / W[2], 0.0)
        cured_c = np.stack([self.cure[:, k, None] * (U[k] - AP[k]) for k in range(3)])
        prin = sum(self.cure[:, k, None] * AP[k] for k in range(3)).sum(axis=1)
        intr = sum(self.cure[:, k, None] * AI[k] for k in range(3)).sum(axis=1)
        entering = current * self.entry[:, m, None]
        new_current = current - entering + cured_c.sum(axis=0)
        w_enter = q * self.entry[:, m, None] if q is not None else np.zeros_like(current)
        new_q = None if q is None else q - w_enter + sum(self.cure[:, k, None] * W[k] for k in range(3))
        # what stays in each bucket, and what comes into it (it misses this month's payment)
        kept = tuple(np.stack([stay[:, k] * X[k] for k in range(3)]) for X in (U, AP, AI, W))
        zero = np.zeros_like(current)
        incoming = (
            np.stack([entering, roll[:, 0] * U[0], roll[:, 1] * U[1]]),
            np.stack([zero, roll[:, 0] * AP[0], roll[:, 1] * AP[1]]),
            np.stack([zero, roll[:, 0] * AI[0], roll[:, 1] * AI[1]]),
            np.stack([w_enter, roll[:, 0] * W[0], roll[:, 1] * W[1]]),
        )
        self._kept, self._incoming = kept, incoming
        self.cured[:, m] = cured_c.sum(axis=(0, 2))
        return new_current, new_q, default, whole, prin, intr

    def instalments(self, m: int, act: np.ndarray, cols: np.ndarray, phi: np.ndarray, rate: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The month's instalment of the delinquent shares of loans ``act[cols]`` (which pay
        this month, principal fraction ``phi`` and interest rate ``rate``, ``(S, len(cols))``):
        the shares that stayed pay it, those that came in miss it. Returns the principal and
        interest paid ``(S,)``; then the bucket balances of month ``m`` are recorded."""
        assert self._incoming is not None
        kU, kAP, kAI, kW = self._kept
        iU, iAP, iAI, iW = self._incoming
        S = phi.shape[0]
        prin, intr = np.zeros(S), np.zeros(S)
        if len(cols):
            c = kU[:, :, cols] - kAP[:, :, cols]
            p = phi[None] * c
            prin = p.sum(axis=(0, 2))
            intr = (rate[None] * c).sum(axis=(0, 2))
            kU[:, :, cols] -= p
            ci = iU[:, :, cols] - iAP[:, :, cols]
            iAP[:, :, cols] += phi[None] * ci
            missed = rate[None] * ci
            iAI[:, :, cols] += missed
            self.missed_interest[:, m] = missed.sum(axis=(0, 2))
        self.U[:, :, act] = kU + iU
        self.AP[:, :, act] = kAP + iAP
        self.AI[:, :, act] = kAI + iAI
        self.W[:, :, act] = kW + iW
        for k, b in enumerate(BUCKETS):
            self.balance[b][:, m] = self.U[k][:, act].sum(axis=1)
        self._incoming = None
        return prin, intr

    def outstanding(self, act: np.ndarray) -> np.ndarray:
        """Unpaid principal of the delinquent shares of loans ``act``, per scenario."""
        return self.U[:, :, act].sum(axis=(0, 2))

    def series(self) -> dict[str, np.ndarray]:
        out = {f"delinquent_{b}": v for b, v in self.balance.items()}
        out["delinquent_interest_missed"] = self.missed_interest
        out["cured"] = self.cured
        return out
