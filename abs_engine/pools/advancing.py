"""Servicer advancing of defaulted pledge loans (SIFMA/BMA Standard Formulas, SF-16 to SF-19).

With ``recovery.advancing: principal_and_interest`` a defaulted loan keeps amortising on its
schedule until it is liquidated, ``lag`` months after its default, and the servicer advances
its scheduled principal and interest to the trust every month until then; the loan's
principal recovery at liquidation is what is left of its balance (the *amortized default
balance*) less the loss, and the loss is the severity on the balance at default, at most
that amortized balance. Without advancing (the default, and Chinese practice) a defaulted
loan pays nothing more and is disposed of ``lag`` months later.

For month ``i`` of a loan with principal fraction ``phi(i)`` (its scheduled principal over
its balance in month ``i``: ``A(i) = A(i-1) (1 - phi(i))`` is its amortisation factor) and
period rate ``r``, with ``NEW DEF`` its defaults, ``FCL`` its balance in foreclosure and
``ADB(i) = NEW DEF(i - lag) A(i - 1) / A(i - 1 - lag)`` the amortized default balance
liquidating (SF-18/19):

    AM DEF(i)     = (NEW DEF(i) + FCL(i-1) - ADB(i)) phi(i)     advanced principal
    LOST INT(i)   = (NEW DEF(i) + FCL(i-1)) r                   advanced interest
    FCL(i)        = NEW DEF(i) + FCL(i-1) - ADB(i) - AM DEF(i)
    PRIN LOSS(i)  = min(NEW DEF(i - lag) - proceeds, ADB(i))
    PRIN RECOV(i) = ADB(i) - PRIN LOSS(i)

``proceeds`` is what the disposal brings for the balance at default: ``recovery.rate`` of
it (SIFMA's ``1 - severity``) or the collateral value after haircut and decay (capped at the
balance), as without advancing. Each default is kept in *units* ``NEW DEF / A(i - 1)`` so
that its balance in any later month is ``units x A``. The trust receives ``AM DEF`` with the
scheduled principal, ``LOST INT`` with the interest, and the principal recovery at
liquidation; the performing balance is SIFMA's "Performing Balance" (loans in foreclosure
are outside it), and the series ``advanced_principal``, ``advanced_interest`` and
``foreclosure_balance`` show the rest.
"""

from __future__ import annotations

import numpy as np


class Advances:
    """The foreclosure pipeline of the scenarios that advance, per loan (all loans of the
    pool, whether or not they still perform)."""

    def __init__(self, on: np.ndarray, lag: np.ndarray, n_loans: int, n_months: int) -> None:
        S = len(on)
        self.on = np.asarray(on, dtype=bool)  # (S,) scenarios that advance
        self.lag = np.asarray(lag, dtype=np.int64)
        self.slots = int(self.lag[self.on].max(initial=0)) + 1
        self.factor = np.ones((S, n_loans))  # A: the loan's amortisation factor
        self.units = np.zeros((S, n_loans))  # defaults in foreclosure, in units of A
        self.ring_units = np.zeros((self.slots, S, n_loans))  # each month's defaults (units)
        self.ring_loss = np.zeros((self.slots, S, n_loans))  # ... and their loss before the cap
        shape = (S, n_months + 1)
        self.advanced_principal = np.zeros(shape)
        self.advanced_interest = np.zeros(shape)
        self.foreclosure = np.zeros(shape)
        self.recovery = np.zeros(shape)
        self.loss = np.zeros(shape)

    @property
    def pending(self) -> bool:
        """Some default is still in foreclosure."""
        return bool(self.units.any())

    def month(self, m: int, cols: np.ndarray, default: np.ndarray, proceeds: np.ndarray, payers: np.ndarray,
              phi: np.ndarray, rate: np.ndarray) -> None:
        """Grid month ``m``: the defaults ``default`` of loans ``cols`` (``(S, len(cols))``)
        and what their disposal will bring (``proceeds``) enter foreclosure; the month's
        liquidations are booked; loans ``payers`` pay their scheduled principal fraction
        ``phi`` and interest at period rate ``rate`` (``(S, len(payers))``) on what they
        have in foreclosure, which the servicer advances."""
        S = len(self.on)
        sidx = np.arange(S)
        a_prev = self.factor
        new = np.zeros_like(self.units)
        loss_new = np.zeros_like(self.units)
        with np.errstate(divide="ignore", invalid="ignore"):
            new[:, cols] = np.where(a_prev[:, cols] > 0, default / a_prev[:, cols], 0.0)
        loss_new[:, cols] = default - proceeds
        new[~self.on] = 0.0
        loss_new[~self.on] = 0.0
        slot = m % self.slots
        self.ring_units[slot] = new
        self.ring_loss[slot] = loss_new
        # the defaults of month m - lag liquidate (m itself when the lag is 0)
        back = m - self.lag
        live = self.on & (back >= 1)
        liq = np.zeros_like(self.units)
        loss_at = np.zeros_like(self.units)
        if live.any():
            rs = back % self.slots
            liq[live] = self.ring_units[rs[live], sidx[live]]
            loss_at[live] = self.ring_loss[rs[live], sidx[live]]
        adb = liq * a_prev  # the amortized default balance
        loss = np.minimum(loss_at, adb)
        self.loss[:, m] = loss.sum(axis=1)
        self.recovery[:, m] = (adb - loss).sum(axis=1)
        # scheduled payments of what is in foreclosure, advanced
        held = self.units + new  # before the liquidation: LOST INT counts it
        if len(payers):
            bal = held[:, payers] * a_prev[:, payers]
            self.advanced_interest[:, m] = (bal * rate).sum(axis=1)
            amortising = (held[:, payers] - liq[:, payers]) * a_prev[:, payers]
            self.advanced_principal[:, m] = (amortising * phi).sum(axis=1)
            self.factor[:, payers] = a_prev[:, payers] * (1.0 - phi)
        self.units = held - liq
        self.foreclosure[:, m] = (self.units * self.factor).sum(axis=1)
