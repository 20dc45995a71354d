"""The claim rules of :mod:`abs_engine.support.layers` in plain scalar Python: one claim
at a time — scenarios, months, loans in tape order, layers, regimes. The specification
and the test oracle of the vectorised :func:`~abs_engine.support.layers.apply_layers`
(claims only: subsidies and upkeep are simple enough to test by hand; a lapse month per
scenario may be given).

Per claim ``D`` of loan ``l`` in month ``m``, ``f = D / balance[s, l, m]`` (at most 1; 1
without ``balance``) is the defaulted fraction of the whole loan. A layer splits what
reaches it (``x``) step by step, starting under its first regime: if all the regime's
payers can pay, they take a part; if some cannot, the claim moves to the first later
regime that keeps every payer that can pay and does without some that cannot; if there is
none, the entries (a payer, with its re-guarantor) whose payers can all pay take a part at
their own shares, the others' shares staying with the pool. A part is as large as the
tightest limit of the paying entries allows: capacity and annual cap as they stand, the
per-asset cap on the whole-loan claim scaled by ``f`` (``f x`` what is left of it). A
partial claim (``f < 1``) is an outcome of the loan apart from its other defaults, so it
leaves the per-asset limits of later claims untouched; a whole-loan claim uses them up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..model.support import AnnualFeeUpkeep, BuyBack, Guarantee, InterestSubsidy, Layer, Sharing

# The twin shares nothing with the code it checks beyond the model (abs_engine/model/support.py):
# the stack is flattened, the ledger columns ordered, the calendar years counted and the
# steps of a claim bounded here again, in the twin's own terms.

#: A payer with this much (deal currency units) or less left is exhausted.
EPS = 1e-6

ON_DEFAULT, AFTER_DISPOSAL, BUY, ADVANCE = "on_default", "after_disposal", "buy", "advance"


@dataclass
class _Party:
    """A ledger column: who pays, its limits and when it pays."""

    name: str
    capacity: float = math.inf
    per_asset_cap: float = math.inf
    annual_cap: float = math.inf
    net: bool = True  # capacity restored by what it receives back
    mode: str = ON_DEFAULT
    delay: int = 0
    rho_hat: float = 0.0  # an advance: the recovery rate it assumes
    counter_rate: float = 0.0
    counter_lag: int = 0

    def gross(self, rho: float, pi: float) -> float:
        """Paid per unit of claim taken, before refunds."""
        match self.mode:
            case "on_default":
                return 1.0
            case "after_disposal":
                return 1.0 - rho
            case "buy":
                return pi
            case _:  # advance: the advance, or the whole loss if the disposal fetches less
                return max(1.0 - self.rho_hat, 1.0 - rho)


@dataclass
class _Share:
    payer: int
    share: float
    refund_payer: int = -1
    refund: float = 0.0


@dataclass
class _Regime:
    entries: list[_Share]
    retained: float


@dataclass
class _Claims:
    regimes: list[_Regime]
    buy: BuyBack | None = None


def _limit(v: float | None) -> float:
    return math.inf if v is None else float(v)


def _party(name: str, model: object, mode: str, delay: int) -> _Party:
    """A ledger column for ``model`` (a layer or one of its parties) paying in ``mode``."""
    cg = getattr(model, "counter_guarantee", None)
    rate = 0.0 if cg is None else float(cg.recovery_rate)
    return _Party(name=name, capacity=_limit(getattr(model, "capacity", None)),
                  per_asset_cap=_limit(getattr(model, "per_asset_cap", None)),
                  annual_cap=_limit(getattr(model, "annual_cap", None)),
                  net=getattr(model, "capacity_basis", "net") != "gross", mode=mode, delay=delay,
                  rho_hat=float(getattr(model, "advance_recovery", 0.0)), counter_rate=rate,
                  counter_lag=int(cg.lag_months) if cg is not None and rate > 0 else 0)


def _flatten(stack: Sequence[Layer]) -> tuple[list[_Party], list[_Claims]]:
    """The ledger columns (each layer's payers in stack order: a buyer; a sharing
    agreement's parties; a guarantor, then its re-guarantor; an interest subsidy's payer)
    and the claim layers in order."""
    parties: list[_Party] = []
    claims: list[_Claims] = []

    def col(p: _Party) -> int:
        parties.append(p)
        return len(parties) - 1

    for layer in stack:
        match layer:
            case BuyBack():
                b = col(_party(layer.name, layer, BUY, layer.delay_months))
                claims.append(_Claims([_Regime([_Share(b, 1.0)], 0.0)], buy=layer))
            case Sharing():
                at = {pt.name: col(_party(pt.name, pt, pt.timing, pt.delay_months)) for pt in layer.parties}
                claims.append(_Claims([_Regime([_Share(at[n], float(a)) for n, a in reg.items() if a > 0],
                                               max(1.0 - sum(reg.values()), 0.0)) for reg in layer.regimes]))
            case Guarantee():
                g = col(_party(layer.name, layer, layer.timing, layer.delay_months))
                a = float(layer.share)
                regimes = [_Regime([_Share(g, a)], 1.0 - a)]
                rg = layer.reguarantee
                if rg is not None:  # (a re-guarantee of share 0 still has its column)
                    r = col(_party(rg.name, rg, layer.timing, layer.delay_months))
                    if rg.share > 0:  # refunded while the re-guarantor can pay, else the guarantor alone
                        regimes.insert(0, _Regime([_Share(g, a, r, float(rg.share))], 1.0 - a))
                claims.append(_Claims(regimes))
            case InterestSubsidy():
                col(_party(layer.name, layer, ON_DEFAULT, 0))
            case AnnualFeeUpkeep():
                pass
    return parties, claims


def _steps(cl: _Claims) -> int:
    """A bound on the steps of one claim through a layer: a move goes to a later regime
    (at most one per regime) and a part either takes the rest of the claim or uses up one
    of the three limits of one of its payers (capacity, annual cap, per-asset cap); twice
    that, to spare."""
    payers = {p for reg in cl.regimes for e in reg.entries for p in (e.payer, e.refund_payer) if p >= 0}
    return 2 * (len(cl.regimes) + 3 * len(payers) + 1)


def _years(month_dates: Sequence[dt.date], n: int) -> list[int]:
    """The calendar year of each of ``n`` months: of the grid date ending it; past the grid,
    of the grid's last date moved on by whole months."""
    last = month_dates[-1]
    out = []
    for t in range(n):
        if t < len(month_dates):
            out.append(month_dates[t].year)
        else:
            k = last.month - 1 + t - (len(month_dates) - 1)
            out.append(last.year + k // 12)
    return out


def apply_layers_ref(
    stack: Sequence[Layer],
    *,
    default: np.ndarray,
    recovery: np.ndarray,
    lag: Sequence[int],
    month_dates: Sequence[dt.date],
    failures: Sequence[Mapping[str, int]] | None = None,
    balance: np.ndarray | None = None,
    loan_original: np.ndarray | None = None,
    lapse: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Same inputs as ``apply_layers`` (claims part); returns the arrays of
    :class:`~abs_engine.support.layers.LayerResult` by field name."""
    payers, claim_layers = _flatten(stack)
    S, L, M1 = default.shape
    M = M1 - 1
    P = len(payers)
    T = M1 + max(int(x) for x in lag) + max((p.delay for p in payers), default=0) + max((p.counter_lag for p in payers), default=0)
    year = _years(month_dates, T)
    out = {k: np.zeros((S, T)) for k in ("recovery", "recovery_lost", "recovery_passed", "paid_to_pool", "loss_after_support")}
    out.update({k: np.zeros((S, T, P)) for k in ("claims", "paid", "refunded", "recoveries_kept", "counter_recovered", "capacity_remaining")})
    out.update({k: np.zeros((S, L)) for k in ("loan_default", "loan_recovery", "loan_passed", "loan_paid_to_pool", "loan_loss")})

    for s in range(S):
        lg = int(lag[s])
        fail = dict(failures[s]) if failures is not None else {}
        never = 10**12
        C = [p.capacity for p in payers]
        used: dict[tuple[int, int], float] = defaultdict(float)
        per_asset: dict[tuple[int, int], float] = {}
        restore: dict[tuple[int, int], float] = defaultdict(float)
        lapse_s = lapse[s] if lapse is not None else -1

        def t_pay(p: int, m: int, lg: int = lg) -> int:
            return m + payers[p].delay + (lg if payers[p].mode == AFTER_DISPOSAL else 0)

        def eff(p: int, t: int, C: list[float] = C, used: dict[tuple[int, int], float] = used) -> float:
            return min(C[p], payers[p].annual_cap - used[(p, year[t])])

        def pa(p: int, li: int, per_asset: dict[tuple[int, int], float] = per_asset) -> float:
            return per_asset.get((p, li), payers[p].per_asset_cap)

        def left(p: int, li: int, cpa: dict[int, float], pa: Callable[[int, int], float] = pa) -> float:
            """Per-asset limit left to payer ``p`` on the current claim (of the whole loan)."""
            return cpa.get(p, pa(p, li))

        def usable(cons: list[tuple[int, float, int]], li: int, cpa: dict[int, float], fail: dict[str, int] = fail,
                   lg: int = lg, never: int = never, eff: Callable[[int, int], float] = eff,
                   left: Callable[..., float] = left) -> bool:
            """Whether an entry's payers can all pay: not failed by the payment month, limits left."""
            return all(
                t < fail.get(payers[p].name, never) and eff(p, t) > EPS and left(p, li, cpa) > EPS
                and not (payers[p].mode == BUY and payers[p].delay > lg)
                for p, _, t in cons
            )

        def spend(p: int, t: int, amount: float, C: list[float] = C, used: dict[tuple[int, int], float] = used) -> None:
            if math.isfinite(payers[p].capacity):
                C[p] = max(C[p] - amount, 0.0)
            if math.isfinite(payers[p].annual_cap):
                used[(p, year[t])] += amount

        def counter(p: int, r: int, q: float, base: float, t_settled: int, s: int = s,
                    restore: dict[tuple[int, int], float] = restore) -> None:
            """Payer p's recovery from the borrower's counter-guarantee: its rate of what it
            paid on the claim and did not get back from the disposal, counter_lag months
            after the later of its payment and the disposal; a re-guarantor r receives q of it."""
            if payers[p].counter_rate <= 0:
                return
            got = payers[p].counter_rate * base
            t_c = t_settled + payers[p].counter_lag
            for who, w in ([(p, 1.0 - q), (r, q)] if r >= 0 else [(p, 1.0)]):
                out["counter_recovered"][s, t_c, who] += w * got
                if payers[who].net:
                    restore[(t_c, who)] += w * got

        def apply_restores(m: int, C: list[float] = C, restore: dict[tuple[int, int], float] = restore) -> None:
            for p in range(P):
                r = restore.pop((m, p), 0.0)
                if r:
                    C[p] = min(C[p] + r, payers[p].capacity)

        for m in range(T):
            apply_restores(m)
            for li in range(L if m <= M else 0):
                D = float(default[s, li, m])
                if D <= 0:
                    continue
                R = float(recovery[s, li, m])
                t_dis = m + lg
                if 0 <= lapse_s <= t_dis:
                    out["recovery_lost"][s, t_dis] += R
                    R = 0.0
                out["recovery"][s, t_dis] += R
                rho = R / D
                bal = float(balance[s, li, m]) if balance is not None else 0.0
                f = D / bal if bal * (1.0 - 1e-12) > D else 1.0  # defaulted fraction of the whole loan
                # per-asset limits left on this claim, on the whole-loan claim (conditional)
                cpa: dict[int, float] = {}
                x = D
                paid = passed = sold = 0.0
                t_res = 0
                for cl in claim_layers:
                    pi = 0.0
                    if cl.buy is not None:
                        if cl.buy.price_basis == "defaulted_balance":
                            pi = cl.buy.price
                        else:
                            assert balance is not None and loan_original is not None
                            pi = min(1.0, cl.buy.price * float(loan_original[li]) / float(balance[s, li, m]))
                    # per entry: (payer, cost per unit of claim, payment month) of it and its re-guarantor
                    ents = []
                    for reg in cl.regimes:
                        row = []
                        for e in reg.entries:
                            u = float(payers[e.payer].gross(rho, pi))
                            t = t_pay(e.payer, m)
                            cons = [(e.payer, e.share * (1.0 - e.refund) * u, t)]
                            if e.refund_payer >= 0:
                                cons.append((e.refund_payer, e.share * e.refund * u, t))
                            row.append((e, cons))
                        ents.append(row)

                    better = cl.buy is None or cl.buy.exercise != "when_better" or pi > rho
                    payers_of = [{p for _, cons in row for p, _, _ in cons} for row in ents]
                    left_with_pool = 0.0
                    k = 0  # the regime the claim is under
                    for _ in range(_steps(cl)):
                        if x <= 0:
                            break
                        reg = cl.regimes[k]
                        can = {p: better and usable([(p, c, t)], li, cpa) for _, cons in ents[k] for p, c, t in cons}
                        ok = [all(can[p] for p, _, _ in cons) for _, cons in ents[k]]
                        if not all(ok):
                            # to the first later regime that keeps every payer that can pay and
                            # does without some that cannot; else those that can pay alone
                            nxt = next((j for j in range(k + 1, len(cl.regimes))
                                        if any(p not in payers_of[j] for p in can)
                                        and not any(can[p] for p in can if p not in payers_of[j])), None)
                            if nxt is not None:
                                k = nxt
                                continue
                        row = [ec for ec, o in zip(ents[k], ok, strict=True) if o]
                        if not row:
                            break
                        y = x
                        for _, cons in row:
                            for p, c, t in cons:
                                if c > 0:
                                    y = min(y, eff(p, t) / c, f * left(p, li, cpa) / c)
                        if y <= 0:
                            break
                        x -= y
                        on = {id(e) for e, _ in row}
                        left_with_pool += reg.retained * y + sum(e.share * y for e in reg.entries if id(e) not in on)
                        for e, cons in row:
                            p, a, q, r = e.payer, e.share, e.refund, e.refund_payer
                            for pp, c, _ in cons:
                                cpa[pp] = max(left(pp, li, cpa) - c * y / f, 0.0)
                            mode = payers[p].mode
                            u = float(payers[p].gross(rho, pi))
                            t = t_pay(p, m)
                            pay = a * u * y
                            out["claims"][s, m, p] += a * y
                            spend(p, t, (1.0 - q) * pay)
                            if mode == ADVANCE:  # advance at t, settled at the disposal
                                rh = payers[p].rho_hat
                                t_set = max(t_dis, t)
                                top, back = a * max(rh - rho, 0.0) * y, a * max(rho - rh, 0.0) * y
                                if t_set >= fail.get(payers[p].name, never):
                                    top = 0.0  # failed by the settlement: no top-up
                                out["paid_to_pool"][s, t] += a * (1.0 - rh) * y
                                out["paid"][s, t, p] += a * (1.0 - rh) * y
                                out["paid_to_pool"][s, t_set] += top
                                out["paid"][s, t_set, p] += top
                                out["recovery_passed"][s, t_set] += back
                                out["recoveries_kept"][s, t_set, p] += back
                                if payers[p].net:
                                    restore[(t_set, p)] += back
                                paid += a * (1.0 - rh) * y + top
                                passed += back
                                t_res = max(t_res, t_set)
                                counter(p, -1, 0.0, a * (1.0 - rh) * y + top - back, t_set)
                                continue
                            out["paid_to_pool"][s, t] += pay
                            out["paid"][s, t, p] += pay
                            if r >= 0:
                                out["refunded"][s, t, p] += q * pay
                                out["paid"][s, t, r] += q * pay
                                out["claims"][s, m, r] += q * a * y
                                spend(r, t, q * pay)
                            paid += pay
                            t_res = max(t_res, t)
                            if mode == BUY:
                                sold += y
                            if mode != AFTER_DISPOSAL:
                                rec = a * rho * y if mode == ON_DEFAULT else rho * y
                                back = rec if mode == ON_DEFAULT else min(rho, pi) * y
                                t_rec = max(t_dis, t)
                                out["recovery_passed"][s, t_rec] += rec
                                out["recoveries_kept"][s, t_rec, p] += (1.0 - q) * rec
                                if payers[p].net:
                                    restore[(t_rec, p)] += (1.0 - q) * back
                                if r >= 0:
                                    out["recoveries_kept"][s, t_rec, r] += q * rec
                                    if payers[r].net:
                                        restore[(t_rec, r)] += q * back
                                passed += rec
                                if mode == ON_DEFAULT:
                                    t_res = max(t_res, t_rec)
                            if mode != BUY:  # what it paid and did not get back from the disposal
                                counter(p, r, q, pay - (a * rho * y if mode == ON_DEFAULT else 0.0), max(t_dis, t))
                    x += left_with_pool
                if f == 1.0:  # a whole-loan claim uses up the per-asset limits
                    for p, v in cpa.items():
                        if math.isfinite(payers[p].per_asset_cap):
                            per_asset[(p, li)] = v
                loss = D - R + passed - paid
                if sold < D * (1.0 - 1e-12):  # the pool disposes of (part of) the claim itself
                    t_res = max(t_res, t_dis)
                out["loss_after_support"][s, t_res] += loss
                out["loan_default"][s, li] += D
                out["loan_recovery"][s, li] += R
                out["loan_passed"][s, li] += passed
                out["loan_paid_to_pool"][s, li] += paid
                out["loan_loss"][s, li] += loss
            apply_restores(m)
            for p in range(P):
                out["capacity_remaining"][s, m, p] = C[p]
    return out
