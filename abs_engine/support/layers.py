"""Risk-sharing layers (风险分担): turn the pool's default losses into payments by other
parties — buy-back counterparties, insurers, compensation funds, guarantors and their
re-guarantors — plus interest subsidies (贴息) and patent annual-fee upkeep (年费).

:func:`apply_layers` works on arrays captured from a pool projection and returns the
cash the layers move, per scenario and grid month, with a ledger per party. The rules
(docs/risk-sharing.md states them with examples):

* **Claims.** Each default ``D`` (scenario ``s``, loan ``l``, month ``m``) with disposal
  proceeds ``R`` (arriving ``lag[s]`` months later, ``rho = R / D``) is a claim. Claims are
  processed month by month; within a month **in tape order of the loans**, the order in
  which capacities are consumed. A claim meets the layers in stack order; each layer
  works on what the layers above left with the pool.
* **Regimes.** A layer has ordered regimes (a buy-back and a guarantee have one, a
  guarantee with re-guarantee two: with and without the refund). A payer can pay a claim
  if it has not failed by its payment month and has capacity, annual cap (of the
  payment's calendar year) and per-asset cap left; each payer's share is limited by that
  payer alone. A claim starts under the first regime. While all its payers can pay, the
  regime takes the largest part ``y`` their remaining limits allow (``min over limits of
  remaining / cost per unit``) — the split lies exactly on the capacity boundary. When
  some cannot, the rest moves to the first later regime that keeps every payer that can
  pay and does without some that cannot (case 9: the fund used up, insurer 90%); if there
  is none, those that can pay take parts at their own shares and the shares of the others
  stay with the pool (the insurer failed: the fund still pays its 30%). What no regime
  takes, and the share ``1 - sum(shares)`` each regime leaves, stays with the pool and
  passes to the next layer with the same ``rho``.
* **Expected-value defaults.** ``balance`` is the balance of the loan if it still performs;
  a claim ``D`` is the fraction ``f = D / balance`` of the whole loan (1 without it). A
  buy-back on the original amount is priced on that share of it; a per-asset cap binds on
  the whole-loan claim (at most ``f`` x the cap left), and a partial claim leaves the cap
  as it was for the loan's other claims (other outcomes of the same loan).
* **Payments per unit of claim.** ``on_default`` party with share ``a``: pays ``a`` in
  month ``m + delay``, receives ``a * rho`` from the disposal proceeds in month
  ``max(m + lag, m + delay)`` (subrogation / settlement of front-loaded compensation);
  ``after_disposal``: pays ``a * (1 - rho)`` in month ``m + lag + delay``; buy-back at
  unit price ``pi = min(1, price x basis / D)``: pays ``pi`` in ``m + delay`` (only if
  ``delay <= lag``) and receives ``rho`` (the whole disposal) in ``m + lag``. A
  re-guarantor with share ``q`` refunds ``q`` of each guarantor payment when it is made and
  receives ``q`` of what the guarantor receives; the guarantor's limits bind on ``1 - q``.
* **Limits** bind on what a payer pays (net of refunds); with ``capacity_basis: net`` the
  proceeds it receives back restore its capacity (up to what it paid on that claim) from
  the month they arrive. A counter-guarantee (反担保) of a payer returns it ``counter_rate``
  of what it paid on a claim and did not get back from the disposal, ``counter_lag``
  months after the later of its payment and the disposal (a re-guarantor gets ``q`` of
  it): not the trust's cash, but it lowers the payer's net cost and restores a ``net``
  capacity. A failed payer (``failures``) pays nothing from its failure
  month on; claims whose payment would fall then go to the next regime; proceeds owed to
  it are still passed to it.
* **Pool.** The pool keeps the proceeds not passed to parties or buyers, receives the
  payments, and recognises its loss after support ``D - R + passed - paid`` in the month
  of its last cash flow on the claim: the disposal (unless the whole claim was sold), the
  last payment to it, or the last share of proceeds it passes on.

Per claim: ``D = (R - passed) + paid + loss`` (the pool's view) and
``D = R + sum of the parties' net costs + counter-guarantee recoveries + loss`` (who bears
it); :meth:`LayerResult.check`
verifies both per loan.

Arrays have a month axis of length ``T = M + 1 + max(lag) + max(delay) + max(counter_lag)``: index ``m <= M``
is grid month ``m``; later indices are months after the grid (payments and proceeds of late
defaults), which a projection on the grid drops, as it drops late recoveries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..dates import month_index, month_on_grid
from ..model.support import AnnualFeeUpkeep, BuyBack, Guarantee, InterestSubsidy, Layer, Sharing

#: A payer with this much (deal currency units) or less left is exhausted.
EPS = 1e-6

ON_DEFAULT, AFTER_DISPOSAL, BUY, ADVANCE = 0, 1, 2, 3
_MODE = {"on_default": ON_DEFAULT, "after_disposal": AFTER_DISPOSAL, "advance": ADVANCE}
_NEVER = np.iinfo(np.int64).max // 4


# --------------------------------------------------------------------------- compiled stack


@dataclass(frozen=True)
class Payer:
    """One party that pays: its limits and when it pays claims (claims payers) or
    subsidies."""

    name: str
    layer: str
    kind: str  # buy_back / guarantee / reguarantee / interest_subsidy / a SharingParty kind
    capacity: float
    per_asset_cap: float
    annual_cap: float
    net: bool  # capacity restored by what it receives back
    mode: int  # ON_DEFAULT / AFTER_DISPOSAL / BUY / ADVANCE (claims payers; a re-guarantor pays with its guarantor)
    delay: int
    rho_hat: float = 0.0  # ADVANCE: the recovery rate the advance assumes
    counter_rate: float = 0.0  # counter-guarantee (反担保): share of its unrecovered payments recovered
    counter_lag: int = 0  # months from the later of its payment and the disposal to that recovery

    def gross(self, rho: np.ndarray | float, pi: np.ndarray | float = 0.0) -> np.ndarray | float:
        """What the payer pays per unit of claim it takes (before refunds): 1 at default;
        the loss share 1 - rho after disposal; the unit price pi for a buyer; for an
        advance, the advance 1 - rho_hat plus any top-up rho_hat - rho."""
        if self.mode == ON_DEFAULT:
            return 1.0
        if self.mode == AFTER_DISPOSAL:
            return 1.0 - rho
        if self.mode == BUY:
            return pi
        return np.maximum(1.0 - self.rho_hat, 1.0 - rho)


@dataclass(frozen=True)
class _Entry:
    payer: int
    share: float  # share of the claim (1 for a buy-back)
    refund_payer: int = -1  # re-guarantor index
    refund: float = 0.0  # share of each payment it refunds


@dataclass(frozen=True)
class _Regime:
    entries: tuple[_Entry, ...]
    retained: float  # share of the claim the regime leaves with the pool


@dataclass(frozen=True)
class _ClaimLayer:
    name: str
    regimes: tuple[_Regime, ...]
    buy: BuyBack | None = None


def rounds(cl: _ClaimLayer) -> int:
    """The most steps one claim takes through a layer (a move to a later regime, or a part
    taken); both twins stop there (a part is bounded by a limit that it uses up, so a claim
    needs at most one step per regime and per limit of its payers)."""
    return 4 * (len(cl.regimes) + sum(1 + (e.refund_payer >= 0) for r in cl.regimes for e in r.entries)) + 8


@dataclass(frozen=True)
class CompiledStack:
    """A support stack as flat lists: payers (ledger columns) and claim layers in order."""

    payers: tuple[Payer, ...]
    claim_layers: tuple[_ClaimLayer, ...]
    subsidies: tuple[tuple[int, InterestSubsidy], ...]
    upkeep: AnnualFeeUpkeep | None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.payers]

    @property
    def failure_keys(self) -> list[str]:
        return self.names + ([self.upkeep.name] if self.upkeep is not None else [])


def _inf(v: float | None) -> float:
    return np.inf if v is None else float(v)


def compile_stack(layers: Sequence[Layer]) -> CompiledStack:
    """Flatten a validated stack (see :mod:`abs_engine.model.support`)."""
    payers: list[Payer] = []
    claims: list[_ClaimLayer] = []
    subsidies: list[tuple[int, InterestSubsidy]] = []
    upkeep: AnnualFeeUpkeep | None = None

    def add(name: str, layer: str, kind: str, lim: BuyBack | Sharing | Guarantee | object, mode: int, delay: int) -> int:
        cg = getattr(lim, "counter_guarantee", None)
        payers.append(Payer(
            name=name, layer=layer, kind=kind,
            capacity=_inf(getattr(lim, "capacity", None)),
            per_asset_cap=_inf(getattr(lim, "per_asset_cap", None)),
            annual_cap=_inf(getattr(lim, "annual_cap", None)),
            net=getattr(lim, "capacity_basis", "net") == "net",
            mode=mode, delay=delay, rho_hat=float(getattr(lim, "advance_recovery", 0.0)),
            counter_rate=float(cg.recovery_rate) if cg is not None else 0.0,
            counter_lag=int(cg.lag_months) if cg is not None and cg.recovery_rate > 0 else 0,
        ))
        return len(payers) - 1

    for layer in layers:
        if isinstance(layer, BuyBack):
            p = add(layer.name, layer.name, "buy_back", layer, BUY, layer.delay_months)
            claims.append(_ClaimLayer(layer.name, (_Regime((_Entry(p, 1.0),), 0.0),), buy=layer))
        elif isinstance(layer, Sharing):
            idx = {pt.name: add(pt.name, layer.name, pt.kind, pt, _MODE[pt.timing], pt.delay_months) for pt in layer.parties}
            regimes = tuple(
                _Regime(tuple(_Entry(idx[n], float(a)) for n, a in r.items() if a > 0), max(0.0, 1.0 - sum(r.values())))
                for r in layer.regimes
            )
            claims.append(_ClaimLayer(layer.name, regimes))
        elif isinstance(layer, Guarantee):
            mode = _MODE[layer.timing]
            g = add(layer.name, layer.name, "guarantee", layer, mode, layer.delay_months)
            plain = _Regime((_Entry(g, float(layer.share)),), 1.0 - float(layer.share))
            rg = layer.reguarantee
            if rg is not None and rg.share > 0:
                r = add(rg.name, layer.name, "reguarantee", rg, mode, layer.delay_months)
                refunded = _Regime((_Entry(g, float(layer.share), r, float(rg.share)),), 1.0 - float(layer.share))
                claims.append(_ClaimLayer(layer.name, (refunded, plain)))
            else:
                if rg is not None:  # a zero re-guarantee still has a ledger column
                    add(rg.name, layer.name, "reguarantee", rg, mode, layer.delay_months)
                claims.append(_ClaimLayer(layer.name, (plain,)))
        elif isinstance(layer, InterestSubsidy):
            p = add(layer.name, layer.name, "interest_subsidy", layer, ON_DEFAULT, 0)
            subsidies.append((p, layer))
        elif isinstance(layer, AnnualFeeUpkeep):
            upkeep = layer
        else:  # pragma: no cover - the union is closed
            raise TypeError(type(layer).__name__)
    return CompiledStack(tuple(payers), tuple(claims), tuple(subsidies), upkeep)


# --------------------------------------------------------------------------- dates


def month_years(month_dates: Sequence[dt.date], n: int) -> np.ndarray:
    """Calendar year of each of ``n`` months: the year of the grid date ending the month;
    after the grid, the grid's last date plus whole months."""
    out = np.empty(n, dtype=np.int64)
    k = min(n, len(month_dates))
    out[:k] = [d.year for d in month_dates[:k]]
    last = month_index(month_dates[-1])
    extra = np.arange(k, n)
    out[k:] = (last + extra - (len(month_dates) - 1)) // 12
    return out


def failure_months(failures: Mapping[str, dt.date], month_dates: Sequence[dt.date]) -> dict[str, int]:
    """A scenario's ``support_failures`` (name -> date) as name -> first grid month in
    which the party pays nothing.

    >>> g = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    >>> failure_months({"fund": dt.date(2026, 3, 1)}, g)
    {'fund': 2}
    """
    return {name: month_on_grid(d, month_dates) for name, d in failures.items()}


# --------------------------------------------------------------------------- result


@dataclass
class LayerResult:
    """What the layers did. Month axes have length ``T >= M + 1`` (see the module doc);
    scenario axis first. Money in deal currency units, all amounts non-negative.

    Pool series, ``(S, T)``:

    * ``recovery``: disposal proceeds arriving (after any lapse of the pledged rights);
    * ``recovery_lost``: proceeds lost because the rights lapsed (annual fees unpaid);
    * ``recovery_passed``: proceeds handed to parties (their shares) and buyers (all);
    * ``recovery_to_pool``: ``recovery - recovery_passed``, what the pool keeps;
    * ``paid_to_pool``: payments of the parties and buyers to the pool;
    * ``loss_after_support``: the pool's loss on claims resolved in the month;
    * ``subsidy_to_pool`` / ``subsidy_to_borrowers``: interest subsidies;
    * ``upkeep_cost``: annual fees paid out of the pool.

    Ledger, ``(S, T, P)`` with ``P = len(names)``: ``claims`` (the party's share of the
    defaults it took, in the default month; subsidies: what was due before caps),
    ``paid`` (cash paid: to the pool, a re-guarantor's to its guarantor, subsidies),
    ``refunded`` (received from a re-guarantor), ``recoveries_kept`` (disposal proceeds
    kept), ``counter_recovered`` (recovered from the borrowers' counter-guarantees, a
    guarantor net of its re-guarantor's share; not the trust's cash),
    ``capacity_remaining`` (end of month, ``inf`` if unlimited).

    Per loan, ``(S, L)``, over the whole horizon: ``loan_default``, ``loan_recovery``,
    ``loan_passed``, ``loan_paid_to_pool``, ``loan_loss``.
    """

    names: list[str]
    kinds: list[str]
    grid_months: int
    recovery: np.ndarray
    recovery_lost: np.ndarray
    recovery_passed: np.ndarray
    paid_to_pool: np.ndarray
    loss_after_support: np.ndarray
    subsidy_to_pool: np.ndarray
    subsidy_to_borrowers: np.ndarray
    upkeep_cost: np.ndarray
    claims: np.ndarray
    paid: np.ndarray
    refunded: np.ndarray
    recoveries_kept: np.ndarray
    counter_recovered: np.ndarray
    capacity_remaining: np.ndarray
    loan_default: np.ndarray
    loan_recovery: np.ndarray
    loan_passed: np.ndarray
    loan_paid_to_pool: np.ndarray
    loan_loss: np.ndarray
    lapse_month: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def recovery_to_pool(self) -> np.ndarray:
        """Disposal proceeds the pool keeps, ``(S, T)``."""
        return self.recovery - self.recovery_passed

    @property
    def net_cost(self) -> np.ndarray:
        """Each party's net cost per month, ``paid - refunded - recoveries_kept -
        counter_recovered``, ``(S, T, P)``."""
        return self.paid - self.refunded - self.recoveries_kept - self.counter_recovered

    def party(self, name: str) -> int:
        return self.names.index(name)

    def check(self, tol: float = 1e-6) -> None:
        """Raise AssertionError unless every loan's defaults are accounted for, both from
        the pool's side and by who bears them, and no party went beyond its capacity."""
        pool_side = self.loan_recovery - self.loan_passed + self.loan_paid_to_pool + self.loan_loss
        bad = np.abs(pool_side - self.loan_default) > tol * np.maximum(1.0, self.loan_default)
        if bad.any():
            s, i = np.argwhere(bad)[0]
            raise AssertionError(f"scenario {s} loan {i}: default {self.loan_default[s, i]} != kept recovery + paid + loss {pool_side[s, i]}")
        totals = {
            "recovery": (self.recovery.sum(axis=1), self.loan_recovery.sum(axis=1)),
            "recovery_passed": (self.recovery_passed.sum(axis=1), self.loan_passed.sum(axis=1)),
            "paid_to_pool": (self.paid_to_pool.sum(axis=1), self.loan_paid_to_pool.sum(axis=1)),
            "loss_after_support": (self.loss_after_support.sum(axis=1), self.loan_loss.sum(axis=1)),
        }
        for k, (series, loans) in totals.items():
            if not np.allclose(series, loans, rtol=1e-9, atol=tol):
                raise AssertionError(f"{k}: monthly series total {series} != per-loan total {loans}")
        # who bears it: the parties' net costs, the borrowers' counter-guarantees and the
        # pool's loss use up the default less the proceeds
        borne = (self.net_cost.sum(axis=(1, 2)) + self.counter_recovered.sum(axis=(1, 2))
                 - self.paid[..., self._subsidy_cols].sum(axis=(1, 2)))
        want = self.loan_default.sum(axis=1) - self.loan_recovery.sum(axis=1) - self.loan_loss.sum(axis=1)
        if not np.allclose(borne, want, rtol=1e-9, atol=tol * max(1, self.loan_default.shape[1])):
            raise AssertionError(f"parties' net cost {borne} != default - recovery - pool loss {want}")
        over: list[bool] = np.asarray((self.capacity_remaining < -tol).any(axis=(0, 1))).tolist()
        if any(over):
            raise AssertionError(f"capacity exceeded: {[n for n, o in zip(self.names, over, strict=True) if o]}")

    @property
    def _subsidy_cols(self) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == "interest_subsidy"]

    def ledger(self, scenarios: Sequence[str] | None = None, months: int | None = None) -> pd.DataFrame:
        """The ledger as a tidy frame: scenario, month, party, claims, paid, refunded,
        recoveries_kept, counter_recovered, net_cost, capacity_remaining (the first
        ``months`` months; all by default)."""
        S, T, P = self.paid.shape
        T = T if months is None else min(T, months)
        names = list(scenarios) if scenarios is not None else [str(i) for i in range(S)]
        cols = {
            "claims": self.claims, "paid": self.paid, "refunded": self.refunded,
            "recoveries_kept": self.recoveries_kept, "counter_recovered": self.counter_recovered,
            "net_cost": self.net_cost,
            "capacity_remaining": self.capacity_remaining,
        }
        frame = {
            "scenario": np.repeat(np.array(names, dtype=object), T * P),
            "month": np.tile(np.repeat(np.arange(T), P), S),
            "party": np.tile(np.array(self.names, dtype=object), S * T),
        }
        frame.update({k: v[:, :T, :].reshape(-1) for k, v in cols.items()})
        return pd.DataFrame(frame)


# --------------------------------------------------------------------------- the computation


def _div(num: np.ndarray, den: np.ndarray | float) -> np.ndarray:
    """num / den where den > 0, +inf elsewhere (how many units of claim a limit allows)."""
    if isinstance(den, float | int):
        return num / den if den > 0 else np.full(np.shape(num), np.inf)
    shape = np.broadcast_shapes(np.shape(num), np.shape(den))
    out = np.full(shape, np.inf)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


class _Run:
    """State of one application of a stack: capacities, annual usage, per-asset limits,
    capacity restorations to come, and the output arrays."""

    def __init__(self, cs: CompiledStack, S: int, L: int, M: int, T: int, lag: np.ndarray,
                 years: np.ndarray, fail: np.ndarray) -> None:
        self.cs, self.S, self.L, self.M, self.T = cs, S, L, M, T
        P = len(cs.payers)
        self.lag = lag
        self.sidx = np.arange(S)
        self.fail = fail  # (S, P) first month each payer pays nothing
        self.cap = np.array([p.capacity for p in cs.payers], dtype=np.float64)
        self.annual = np.array([p.annual_cap for p in cs.payers], dtype=np.float64)
        self.C = np.broadcast_to(self.cap, (S, P)).copy()
        self.y0 = int(years[0])
        self.yidx = years - self.y0
        self.used = np.zeros((S, P, int(self.yidx.max()) + 1))
        self.PA = {i: np.full((S, L), p.per_asset_cap) for i, p in enumerate(cs.payers) if np.isfinite(p.per_asset_cap)}
        self.cols: slice | np.ndarray = slice(None)  # the loans with a claim this month (claim arrays are (S, len(cols)))
        # per claim of the month: the defaulted fraction of the whole loan (per-asset caps
        # bind on the whole-loan claim), and whether it is the whole loan
        self.frac: np.ndarray | float = 1.0
        self.whole: np.ndarray | bool = True
        self.all_whole = True
        self.restore = np.zeros((S, T, P))
        z = lambda: np.zeros((S, T))  # noqa: E731
        self.recovery, self.recovery_lost, self.passed, self.paid_to_pool, self.loss = z(), z(), z(), z(), z()
        zp = lambda: np.zeros((S, T, P))  # noqa: E731
        self.claims, self.paid, self.refunded, self.kept, self.cap_left = zp(), zp(), zp(), zp(), zp()
        self.counter = zp()
        zl = lambda: np.zeros((S, L))  # noqa: E731
        self.l_default, self.l_recovery, self.l_passed, self.l_paid, self.l_loss = zl(), zl(), zl(), zl(), zl()
        self.is_buy = np.array([p.mode == BUY for p in cs.payers], dtype=bool)
        self.is_after = np.array([p.mode == AFTER_DISPOSAL for p in cs.payers], dtype=bool)
        self.delay = np.array([p.delay for p in cs.payers], dtype=np.int64)
        self.claim_payers = sorted({e.payer for cl in cs.claim_layers for r in cl.regimes for e in r.entries}
                                   | {e.refund_payer for cl in cs.claim_layers for r in cl.regimes for e in r.entries if e.refund_payer >= 0})

    # -- month set-up ---------------------------------------------------------------

    def set_month(self, m: int) -> None:
        """Payment month of every payer for claims of month ``m``, then its limits."""
        self.m = m
        self.t_pay = m + self.delay[None, :] + np.where(self.is_after[None, :], self.lag[:, None], 0)  # (S, P)
        self.refresh()

    def refresh(self) -> None:
        eff = self.C.copy()
        fin = np.isfinite(self.annual)
        if fin.any():
            cols = np.flatnonzero(fin)
            yi = self.yidx[self.t_pay[:, cols]]  # (S, k)
            used = self.used[self.sidx[:, None], cols[None, :], yi]
            eff[:, cols] = np.minimum(eff[:, cols], self.annual[cols] - used)
        self.eff = eff
        ok = (self.t_pay < self.fail) & (eff > EPS)
        ok &= ~self.is_buy[None, :] | (self.delay[None, :] <= self.lag[:, None])
        self.avail = ok

    # -- one layer on a block of scenarios x loans ---------------------------------------

    def unit(self, payer: int, rho: np.ndarray, pi: np.ndarray) -> np.ndarray | float:
        """Payment per unit of claim of a regime entry before refunds."""
        return self.cs.payers[payer].gross(rho, pi)

    def entry_costs(self, e: _Entry, rho: np.ndarray, pi: np.ndarray) -> list[tuple[int, np.ndarray | float]]:
        """A regime entry's cost per unit of claim to each of its payers, net of refunds: a
        guarantor bears ``1 - q`` of its payments, its re-guarantor ``q``."""
        u = self.unit(e.payer, rho, pi)
        out: list[tuple[int, np.ndarray | float]] = [(e.payer, e.share * (1.0 - e.refund) * u)]
        if e.refund_payer >= 0:
            out.append((e.refund_payer, e.share * e.refund * u))
        return out

    def alloc(self, cl: _ClaimLayer, x: np.ndarray, rho: np.ndarray, pi: np.ndarray,
              shared: bool) -> tuple[list[list[np.ndarray]], np.ndarray]:
        """Split the claims ``x`` (S, L) among the layer's regimes step by step, as the scalar
        twin does. A claim starts under the first regime. Where all the regime's payers can
        pay (not failed, limits left) they take the part their tightest limit allows; where
        some cannot, the claim moves to the first later regime that keeps every payer that
        can pay and does without some that cannot, and if there is none, those that can pay
        take a part alone (the others' shares stay with the pool). Per-asset limits always bind (on the whole-loan
        claim: ``frac`` x what is left); capacities and annual caps only if ``shared`` (then
        at most one claim per scenario may be non-zero; otherwise the caller checks them).
        Returns, per regime, ``[Y, y_1, ..., y_k]``: the part of each claim processed under it
        and the part on which each of its ``k`` entries pays; and what no regime took."""
        rem = x
        eff = self.eff.copy() if shared else None
        frac = self.frac
        regs = [[self.entry_costs(e, rho, pi) for e in reg.entries] for reg in cl.regimes]
        payers_of = [sorted({p for cons in ents for p, _ in cons}) for ents in regs]
        pa: dict[int, np.ndarray] = {}  # per-asset limits left, of the whole-loan claim
        for ps in payers_of:
            for p in ps:
                if p in self.PA and p not in pa:
                    pa[p] = self.PA[p][:, self.cols]
        better = pi > rho if cl.buy is not None and cl.buy.exercise == "when_better" else None
        zero = np.zeros_like(x)
        parts: list[list[np.ndarray]] = [[zero] * (1 + len(ents)) for ents in regs]

        def can(p: int) -> np.ndarray:
            ok_s = self.avail[:, p] if eff is None else self.avail[:, p] & (eff[:, p] > EPS)
            ok = np.broadcast_to(ok_s[:, None], x.shape)
            if p in pa:
                ok = ok & (pa[p] > EPS)
            if better is not None:
                ok = ok & better
            return ok

        def limit(cons: list[tuple[int, np.ndarray | float]], xstar: np.ndarray) -> np.ndarray:
            for p, c in cons:
                if p in pa:
                    xstar = np.minimum(xstar, _div(frac * pa[p], c))
                if eff is not None and np.isfinite(eff[:, p]).any():
                    xstar = np.minimum(xstar, _div(eff[:, p, None], c))
            return xstar

        def take(cons: list[tuple[int, np.ndarray | float]], y: np.ndarray) -> None:
            for p, c in cons:
                if p in pa:
                    pa[p] = np.maximum(pa[p] - c * y / frac, 0.0)
                if eff is not None:
                    eff[:, p] -= (c * y).sum(axis=1)

        def all_of(masks: list[np.ndarray]) -> np.ndarray:
            out = masks[0]
            for a in masks[1:]:
                out = out & a
            return out

        def any_of(masks: list[np.ndarray]) -> np.ndarray:
            out = masks[0]
            for a in masks[1:]:
                out = out | a
            return out

        n = len(regs)
        cur = np.zeros(x.shape, dtype=np.int64)  # the regime each claim is under
        done = np.zeros(x.shape, dtype=bool)
        for _ in range(rounds(cl)):
            live = (rem > 0) & ~done
            if not live.any():
                break
            # one step per claim and round
            ats = [live] if n == 1 else [live & (cur == k) for k in range(n)]
            for k, ents in enumerate(regs):
                at = ats[k]
                if not at.any():
                    continue
                u = {p: can(p) for p in payers_of[k]}
                oks = [all_of([u[p] for p, _ in cons]) & at for cons in ents]
                some = any_of(oks)
                full = all_of(oks)
                moved = np.zeros(x.shape, dtype=bool)
                pend = at & ~full
                if pend.any():  # to a later regime that keeps those that can pay, without some that cannot
                    for j in range(k + 1, n):
                        gone = [p for p in payers_of[k] if p not in payers_of[j]]
                        if not gone:
                            continue
                        cond = pend & ~moved
                        for p in gone:
                            cond = cond & ~u[p]
                        if cond.any():
                            cur = np.where(cond, j, cur)
                            moved |= cond
                    if moved.any():
                        oks = [o & ~moved for o in oks]
                        some = some & ~moved
                done |= at & ~moved & ~some  # nobody can pay: what is left stays with the pool
                if not some.any():
                    continue
                xstar = rem
                for cons, ok in zip(ents, oks, strict=True):
                    xstar = np.where(ok, limit(cons, xstar), xstar)
                z = np.where(some, np.minimum(rem, xstar), 0.0)
                done |= some & (z <= 0)
                rem = rem - z
                if all(np.array_equal(o, some) for o in oks):
                    ys = [z] * len(ents)
                else:
                    ys = [np.where(ok, z, 0.0) for ok in oks]
                for cons, ye in zip(ents, ys, strict=True):
                    take(cons, ye)
                if parts[k][0] is zero:
                    parts[k] = [z, *ys]
                else:
                    parts[k] = [parts[k][0] + z] + [a + b for a, b in zip(parts[k][1:], ys, strict=True)]
        return parts, rem

    def sums(self, cl: _ClaimLayer, y: np.ndarray, rho: np.ndarray, pi: np.ndarray,
             ry: np.ndarray | None = None) -> dict[int, np.ndarray]:
        """Per scenario, the claims an entry pays on valued per unit as each timing pays:
        ``sum(y)``, ``sum(y * (1 - rho))``, ``sum(y * pi)`` (``ry``: ``rho * y`` if known)."""
        ys = y.sum(axis=1)
        out = {ON_DEFAULT: ys, AFTER_DISPOSAL: ys - (rho * y if ry is None else ry).sum(axis=1)}
        if cl.buy is not None:
            out[BUY] = (pi * y).sum(axis=1)
        return out

    def spend(self, cl: _ClaimLayer, parts: list[list[np.ndarray]], rho: np.ndarray, pi: np.ndarray) -> None:
        """Use up the capacities and annual caps of the layer's payers by the cost of the
        parts (:meth:`alloc`; net of refunds), paid in each payer's payment month."""
        for reg, part in zip(cl.regimes, parts, strict=True):
            if not part[0].any():
                continue
            cache: dict[int, dict[int, np.ndarray]] = {}
            for e, y in zip(reg.entries, part[1:], strict=True):
                if y is not part[0] and not y.any():
                    continue
                if id(y) not in cache:
                    cache[id(y)] = self.sums(cl, y, rho, pi)
                sums = cache[id(y)]
                pe = self.cs.payers[e.payer]
                pay_s = e.share * (sums[pe.mode] if pe.mode != ADVANCE else (pe.gross(rho) * y).sum(axis=1))
                t = self.t_pay[:, e.payer]
                spent = [(e.payer, (1.0 - e.refund) * pay_s)]
                if e.refund_payer >= 0:
                    spent.append((e.refund_payer, e.refund * pay_s))
                for p, total in spent:
                    if np.isfinite(self.cap[p]):
                        self.C[:, p] = np.maximum(self.C[:, p] - total, 0.0)
                    if np.isfinite(self.annual[p]):
                        self.used[self.sidx, p, self.yidx[t]] += total

    def use_per_asset(self, p: int, amount: np.ndarray) -> None:
        """A whole-loan claim uses up payer ``p``'s per-asset limits by what it paid; a
        partial (expected-value) one is a state of the world apart from the loan's other
        defaults and leaves them as they were."""
        if not self.all_whole:
            amount = np.where(self.whole, amount, 0.0)
        self.PA[p][:, self.cols] = np.maximum(self.PA[p][:, self.cols] - amount, 0.0)

    def commit(self, cl: _ClaimLayer, parts: list[list[np.ndarray]], left: np.ndarray,
               rho: np.ndarray, pi: np.ndarray, acc: dict[str, np.ndarray]) -> None:
        """Book the parts (:meth:`alloc`) the regimes took of the claims (ledger, pool,
        per-asset limits, capacity restorations to come), and pass on to the next layer what
        they left with the pool: what no regime took, the share each regime leaves, and the
        shares of the entries that could not pay. Capacities and annual caps are used up by
        :meth:`spend`."""
        m, sidx = self.m, self.sidx
        t_dis = m + self.lag  # disposal month
        acc["x_next"] += left
        for reg, part in zip(cl.regimes, parts, strict=True):
            Y = part[0]
            if not Y.any():
                continue
            if reg.retained:
                acc["x_next"] += reg.retained * Y
            for e, y in zip(reg.entries, part[1:], strict=True):
                if y is not Y:
                    acc["x_next"] += e.share * (Y - y)
            pay_claim = np.zeros_like(Y)
            cache: dict[int, tuple[np.ndarray, dict[int, np.ndarray], np.ndarray]] = {}
            for e, y in zip(reg.entries, part[1:], strict=True):
                if y is not Y and not y.any():
                    continue
                if id(y) not in cache:
                    ry = rho * y
                    sums = self.sums(cl, y, rho, pi, ry)
                    cache[id(y)] = (ry, sums, sums[ON_DEFAULT] - sums[AFTER_DISPOSAL])
                ry, sums, ry_s = cache[id(y)]
                p, a, q, r = e.payer, e.share, e.refund, e.refund_payer
                mode = self.cs.payers[p].mode
                t = self.t_pay[:, p]
                per_claim = (a * self.unit(p, rho, pi)) * y
                self.claims[:, m, p] += a * sums[ON_DEFAULT]
                if p in self.PA:
                    self.use_per_asset(p, (1.0 - q) * per_claim)
                if mode == ADVANCE:
                    paid_p, kept_s = self._advance(p, a, y, rho, t, t_dis, acc)
                    pay_claim += paid_p
                    self._counter(p, -1, 0.0, paid_p.sum(axis=1) - kept_s, np.maximum(t_dis, t))
                    acc["t_res"] = np.maximum(acc["t_res"], np.where(y > 0, np.maximum(t_dis, t)[:, None], 0))
                    continue
                pay_claim += per_claim
                pay_s = a * sums[mode]
                self.paid_to_pool[sidx, t] += pay_s
                self.paid[sidx, t, p] += pay_s
                if r >= 0:
                    self.refunded[sidx, t, p] += q * pay_s
                    self.paid[sidx, t, r] += q * pay_s
                    self.claims[:, m, r] += q * a * sums[ON_DEFAULT]
                    if r in self.PA:
                        self.use_per_asset(r, q * per_claim)
                t_last = t
                if mode != AFTER_DISPOSAL:
                    rec_s = a * ry_s
                    back_s = rec_s if mode == ON_DEFAULT else (np.minimum(rho, pi) * y).sum(axis=1)
                    t_rec = np.maximum(t_dis, t)
                    self.passed[sidx, t_rec] += rec_s
                    self.kept[sidx, t_rec, p] += (1.0 - q) * rec_s
                    if self.cs.payers[p].net:
                        self.restore[sidx, t_rec, p] += (1.0 - q) * back_s
                    if r >= 0:
                        self.kept[sidx, t_rec, r] += q * rec_s
                        if self.cs.payers[r].net:
                            self.restore[sidx, t_rec, r] += q * back_s
                    acc["passed"] += a * ry
                    if mode == ON_DEFAULT:
                        t_last = np.maximum(t_last, t_rec)
                    else:
                        acc["sold"] += y
                if mode != BUY:  # what it paid and did not get back from the disposal: a (1 - rho) y
                    self._counter(p, r, q, a * sums[AFTER_DISPOSAL], np.maximum(t_dis, t))
                acc["t_res"] = np.maximum(acc["t_res"], np.where(y > 0, t_last[:, None], 0))
            acc["paid"] += pay_claim

    def _counter(self, p: int, r: int, q: float, base: np.ndarray, t_settled: np.ndarray) -> None:
        """Book payer ``p``'s recovery from the borrowers' counter-guarantees (反担保): its
        ``counter_rate`` of ``base`` (per scenario, what the entry paid on the claims and did
        not get back from the disposal), ``counter_lag`` months after ``t_settled`` (the later
        of its payment and the disposal). A re-guarantor (``r``, share ``q``) receives ``q``
        of it, as of the disposal proceeds; a ``net`` capacity is restored by what each
        receives. Not the trust's cash."""
        pe = self.cs.payers[p]
        if pe.counter_rate <= 0:
            return
        got = pe.counter_rate * base
        t_c = t_settled + pe.counter_lag
        for who, w in ((p, 1.0 - q), (r, q)) if r >= 0 else ((p, 1.0),):
            self.counter[self.sidx, t_c, who] += w * got
            if self.cs.payers[who].net:
                self.restore[self.sidx, t_c, who] += w * got

    def _advance(self, p: int, a: float, y: np.ndarray, rho: np.ndarray, t: np.ndarray, t_dis: np.ndarray,
                 acc: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Book an advance (风险补偿前置) of share ``a`` on claims ``y``: ``a (1 - rho_hat)``
        paid in its payment month ``t``; at settlement (the later of the disposal and ``t``)
        a top-up ``a (rho_hat - rho)`` where the proceeds fall short of the estimate — unless
        the payer has failed by then —, or the pool pays back ``a (rho - rho_hat)`` out of
        the proceeds where they exceed it (which restores a net capacity). Per-asset limits
        are used up by the caller. Returns what it paid per claim and, per scenario, what
        it got back."""
        sidx = self.sidx
        rh = self.cs.payers[p].rho_hat
        t_set = np.maximum(t_dis, t)
        alive = (t_set < self.fail[:, p])[:, None]
        adv = a * (1.0 - rh) * y
        top = np.where(alive, a * np.maximum(rh - rho, 0.0) * y, 0.0)
        adv_s, top_s = adv.sum(axis=1), top.sum(axis=1)
        back = a * np.maximum(rho - rh, 0.0) * y
        back_s = back.sum(axis=1)
        self.paid_to_pool[sidx, t] += adv_s
        self.paid[sidx, t, p] += adv_s
        self.paid_to_pool[sidx, t_set] += top_s
        self.paid[sidx, t_set, p] += top_s
        self.passed[sidx, t_set] += back_s
        self.kept[sidx, t_set, p] += back_s
        if self.cs.payers[p].net:
            self.restore[sidx, t_set, p] += back_s
        acc["passed"] += back
        return adv + top, back_s

    def layer(self, cl: _ClaimLayer, x: np.ndarray, rho: np.ndarray, pi: np.ndarray, acc: dict[str, np.ndarray]) -> None:
        """Process the month's claims ``x`` (S, L) through one layer, loans in tape order.

        All claims are split at once (per-asset limits apply claim by claim); then, per
        scenario, the cumulative cost to each payer in tape order finds the first claim
        that would cross a capacity or annual cap (or use a payer already exhausted). The
        claims before it use up the limits as split; that claim alone is split again with
        the shared limits (exactly at the boundary); the rest start a new round. Rounds run
        for all scenarios at once (at most one per payer limit reached, plus one); the
        parts of all rounds are booked together at the end.
        """
        L = x.shape[1]
        col = np.arange(L)[None, :]
        todo = x
        taken: list[list[np.ndarray]] | None = None
        left_all: np.ndarray | None = None

        def add(a: list[list[np.ndarray]] | None, b: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
            if a is None:
                return b
            return [[u + v for u, v in zip(pa, pb, strict=True)] for pa, pb in zip(a, b, strict=True)]

        while True:
            ys, left = self.alloc(cl, todo, rho, pi, shared=False)
            first = np.full(self.S, L)
            costs: dict[int, list[tuple[np.ndarray | float, np.ndarray]]] = {}
            for reg, part in zip(cl.regimes, ys, strict=True):
                for e, y in zip(reg.entries, part[1:], strict=True):
                    for p, c in self.entry_costs(e, rho, pi):
                        if np.isfinite(self.eff[:, p]).any():
                            costs.setdefault(p, []).append((c, y))
            for p, pc in costs.items():
                eff = self.eff[:, p]
                tot = sum((c * y.sum(axis=1) if np.isscalar(c) else (c * y).sum(axis=1)) for c, y in pc)
                if ((tot == 0) | (tot <= eff - EPS)).all():
                    continue  # this payer's limits bind in no scenario
                d = sum(c * y for c, y in pc)
                used = np.any([y > 0 for _, y in pc], axis=0)
                cum = np.cumsum(d, axis=1)
                cross = (cum > eff[:, None]) | ((eff[:, None] - (cum - d) <= EPS) & used)
                has = cross.any(axis=1)
                first = np.where(has, np.minimum(first, np.argmax(cross, axis=1)), first)
            if (first == L).all():
                break
            before = col < first[:, None]
            part_b = [[y * before for y in pr] for pr in ys]
            self.spend(cl, part_b, rho, pi)
            self.refresh()
            at = col == first[:, None]
            one, left1 = self.alloc(cl, todo * at, rho, pi, shared=True)
            self.spend(cl, one, rho, pi)
            self.refresh()
            taken = add(add(taken, part_b), one)
            left_all = (left * before + left1) if left_all is None else left_all + left * before + left1
            todo = todo * (col > first[:, None])
            if not todo.any():
                self.commit(cl, taken, left_all, rho, pi, acc)
                return
        self.spend(cl, ys, rho, pi)
        self.commit(cl, add(taken, ys), left if left_all is None else left_all + left, rho, pi, acc)

    def apply_restores(self, m: int) -> None:
        r = self.restore[:, m, :]
        if r.any():
            self.C = np.minimum(self.C + r, self.cap)
            self.restore[:, m, :] = 0.0


def _check_shape(name: str, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: values must be finite")
    return a


def apply_layers(
    stack: Sequence[Layer] | CompiledStack,
    *,
    default: np.ndarray,
    recovery: np.ndarray,
    lag: np.ndarray | Sequence[int],
    month_dates: Sequence[dt.date],
    failures: Sequence[Mapping[str, int]] | None = None,
    balance: np.ndarray | None = None,
    loan_original: np.ndarray | None = None,
    collateral_value: np.ndarray | None = None,
    interest: np.ndarray | None = None,
    survival: np.ndarray | None = None,
    borrower_index: np.ndarray | None = None,
) -> LayerResult:
    """Apply a pool's support stack to its projected defaults.

    Parameters
    ----------
    stack
        The pool's ``support`` list (validated models) or its :func:`compile_stack`.
    default
        ``(S, L, M+1)``: balance of loan ``l`` defaulting in grid month ``m`` under
        scenario ``s`` (the projection's ``D``).
    recovery
        ``(S, L, M+1)``: disposal proceeds **of the default of month m** (indexed by the
        default month, not the arrival month; ``0 <= recovery <= default``); they arrive
        ``lag[s]`` months later.
    lag
        ``(S,)``: months from a default to its disposal proceeds.
    month_dates
        The grid dates ``grid[0..M]`` (cut-off date first); calendar years of annual caps
        are those of the date ending each month.
    failures
        Per scenario, payer (or upkeep) name -> first month it pays nothing
        (:func:`failure_months` converts a scenario's ``support_failures``).
    balance
        ``(S, L, M+1)``: balance at the start of month ``m`` (before default) of loan ``l``
        if it still performs — in an expected-value projection the expected balance divided
        by the chance the loan still performs; for a whole-loan default, the defaulted
        balance. A default ``D`` is the fraction ``D / balance`` of the whole loan: a buy-back
        on ``original_amount`` is priced on that share of the original amount, and a
        per-asset cap binds on the whole-loan claim, scaled by it. Needed by a buy-back on
        ``original_amount`` and the annual-fee upkeep (fees are due on loans with a positive
        balance); without it every claim is a whole loan.
    loan_original
        ``(L,)``: original loan amounts (buy-back on ``original_amount``).
    collateral_value
        ``(L,)``: appraised collateral values (upkeep with a ``collateral_share``).
    interest
        ``(S, L, M+1)``: interest paid by each loan in each month (interest subsidies).
    survival
        ``(S, L, M+1)``: in an expected-value projection, the chance that loan ``l`` still
        performs when it pays the month's interest (``interest / survival`` is what it pays
        if it does); the per-borrower subsidy cap binds on that. Default 1.
    borrower_index
        ``(L,)``: integer id of each loan's borrower (the subsidy cap is per borrower).

    Examples
    --------
    Guarantee insurance: the insurer pays 90% of a default of 100 at once and keeps 90% of
    the proceeds of 40 six months later; the bank's 10% share of the loss stays with the pool.

    >>> from abs_engine.model.support import parse_stack
    >>> stack = parse_stack([{"kind": "sharing", "name": "ins", "parties": [
    ...     {"name": "insurer", "kind": "insurance", "timing": "on_default"}],
    ...     "regimes": [{"insurer": 0.9}]}])
    >>> d = np.zeros((1, 1, 3)); d[0, 0, 1] = 100.0
    >>> grid = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    >>> r = apply_layers(stack, default=d, recovery=0.4 * d, lag=[6], month_dates=grid)
    >>> [round(float(a[0, k]), 9) for a, k in ((r.paid_to_pool, 1), (r.recovery_passed, 7), (r.loss_after_support, 7))]
    [90.0, 36.0, 6.0]
    """
    cs = stack if isinstance(stack, CompiledStack) else compile_stack(stack)
    default = np.asarray(default, dtype=np.float64)
    if default.ndim != 3:
        raise ValueError(f"default: expected shape (S, L, M+1), got {default.shape}")
    S, L, M1 = default.shape
    M = M1 - 1
    default = _check_shape("default", default, (S, L, M1))
    recovery = _check_shape("recovery", recovery, (S, L, M1))
    if (default < 0).any():
        raise ValueError("default: amounts must not be negative")
    if (recovery < 0).any() or (recovery > default * (1 + 1e-12) + 1e-9).any():
        raise ValueError("recovery: proceeds must lie between 0 and the defaulted amount")
    recovery = np.minimum(recovery, default)
    lag_a = np.asarray(lag, dtype=np.int64).reshape(-1)
    if lag_a.shape != (S,) or (lag_a < 0).any():
        raise ValueError(f"lag: expected {S} non-negative whole months, got {lag_a}")
    if len(month_dates) != M1:
        raise ValueError(f"month_dates: expected {M1} dates (grid months 0..{M}), got {len(month_dates)}")
    P = len(cs.payers)
    fails = list(failures) if failures is not None else [{} for _ in range(S)]
    if len(fails) != S:
        raise ValueError(f"failures: expected one mapping per scenario ({S}), got {len(fails)}")
    known = cs.failure_keys
    fail = np.full((S, P), _NEVER, dtype=np.int64)
    upkeep_fail = np.full(S, _NEVER, dtype=np.int64)
    for s, f in enumerate(fails):
        for name, month in f.items():
            if name not in known:
                raise ValueError(f"failures[{s}]: unknown party '{name}' (known: {', '.join(known) or 'none'})")
            if cs.upkeep is not None and name == cs.upkeep.name:
                upkeep_fail[s] = int(month)
            else:
                fail[s, cs.names.index(name)] = int(month)

    needs_balance = any(cl.buy is not None and cl.buy.price_basis == "original_amount" for cl in cs.claim_layers) or cs.upkeep is not None
    if needs_balance and balance is None:
        raise ValueError("balance: needed by a buy-back on original_amount and by annual-fee upkeep")
    if balance is not None:
        balance = _check_shape("balance", balance, (S, L, M1))
    max_delay = max((p.delay for p in cs.payers), default=0)
    T = M1 + int(lag_a.max(initial=0)) + max_delay + max((p.counter_lag for p in cs.payers), default=0)
    years = month_years(month_dates, T)
    run = _Run(cs, S, L, M, T, lag_a, years, fail)

    # annual-fee upkeep: fees in advance while a loan is performing; lapse if unpaid
    upkeep = np.zeros((S, T))
    lapse = np.full(S, -1, dtype=np.int64)
    if cs.upkeep is not None:
        assert balance is not None
        up = cs.upkeep
        k = up.frequency.months
        per_loan = np.full(L, float(up.cost_per_year))
        if up.collateral_share:
            if collateral_value is None:
                raise ValueError("collateral_value: needed by annual-fee upkeep with a collateral_share")
            per_loan = per_loan + float(up.collateral_share) * _check_shape("collateral_value", collateral_value, (L,))
        fee_month = np.zeros(M1, dtype=bool)
        fee_month[1::k] = True
        alive = balance > 0
        due = np.einsum("slm,l->sm", alive[:, :, fee_month].astype(np.float64), per_loan * k / 12.0)
        months = np.flatnonzero(fee_month)
        paid = months[None, :] < upkeep_fail[:, None]
        upkeep[:, months] = due * paid
        for s in range(S):
            if upkeep_fail[s] < _NEVER:
                lapse[s] = up.lapse_month(int(upkeep_fail[s]))

    # interest subsidies
    sub_pool = np.zeros((S, T))
    sub_borrower = np.zeros((S, T))
    if cs.subsidies:
        if interest is None or borrower_index is None:
            raise ValueError("interest and borrower_index: needed by an interest subsidy")
        interest = _check_shape("interest", interest, (S, L, M1))
        surv = None if survival is None else _check_shape("survival", survival, (S, L, M1))
        bidx = np.asarray(borrower_index).reshape(-1)
        if bidx.shape != (L,):
            raise ValueError(f"borrower_index: expected shape ({L},), got {bidx.shape}")
        for p, sub in cs.subsidies:
            due, paid = _subsidy(sub, interest, bidx, month_dates, years[:M1], fail[:, p], surv)
            run.claims[:, :M1, p] = due
            run.paid[:, :M1, p] = paid
            cap = _inf(sub.capacity)
            run.cap_left[:, :, p] = cap - np.concatenate([paid, np.zeros((S, T - M1))], axis=1).cumsum(axis=1)
            (sub_pool if sub.to == "pool" else sub_borrower)[:, :M1] += paid

    # claims, month by month
    orig = None
    if any(cl.buy is not None and cl.buy.price_basis == "original_amount" for cl in cs.claim_layers):
        if loan_original is None:
            raise ValueError("loan_original: needed by a buy-back on original_amount")
        orig = _check_shape("loan_original", loan_original, (L,))
    claim_cols = run.claim_payers
    # month-major copies: each month's (S, L) slice contiguous
    default_m = np.ascontiguousarray(default.transpose(2, 0, 1))
    recovery_m = np.ascontiguousarray(recovery.transpose(2, 0, 1))
    balance_m = np.ascontiguousarray(balance.transpose(2, 0, 1)) if balance is not None else None
    for m in range(T):
        run.apply_restores(m)
        if m <= M and default_m[m].any():
            active = np.flatnonzero(default_m[m].any(axis=0))  # loans with a claim, in tape order
            La = len(active)
            cols: slice | np.ndarray = slice(None) if La == L else active
            run.cols = cols
            D = default_m[m][:, cols]
            R = recovery_m[m][:, cols]
            t_dis = m + lag_a
            lost = (lapse >= 0) & (t_dis >= lapse)
            if lost.any():
                run.recovery_lost[lost, t_dis[lost]] += R[lost].sum(axis=1)
                R = np.where(lost[:, None], 0.0, R)
            run.recovery[run.sidx, t_dis] += R.sum(axis=1)
            rho = np.zeros((S, La))
            np.divide(R, D, out=rho, where=D > 0)
            acc: dict[str, np.ndarray] = {"paid": np.zeros((S, La)), "passed": np.zeros((S, La)), "sold": np.zeros((S, La)),
                                          "t_res": np.zeros((S, La), dtype=np.int64), "x_next": np.zeros((S, La))}
            x = D
            if balance_m is not None:  # defaulted fraction of the whole loan (1: the whole loan)
                bal = balance_m[m][:, cols]
                part = (bal * (1.0 - 1e-12) > D) & (D > 0)
                run.all_whole = not part.any()
                run.frac = 1.0 if run.all_whole else np.where(part, D / np.where(part, bal, 1.0), 1.0)
                run.whole = ~part
            run.set_month(m)
            for cl in cs.claim_layers:
                pi = rho  # unused outside buy-backs
                if cl.buy is not None:
                    if cl.buy.price_basis == "defaulted_balance":
                        pi = np.full((S, La), float(cl.buy.price))
                    else:
                        assert balance_m is not None and orig is not None
                        pi = np.minimum(1.0, _div(cl.buy.price * orig[None, cols], balance_m[m][:, cols]))
                acc["x_next"] = np.zeros((S, La))
                run.layer(cl, x, rho, pi, acc)
                x = acc["x_next"]
            loss = D - R + acc["passed"] - acc["paid"]
            # recognised at the pool's last cash flow on the claim: the disposal (unless
            # the whole claim was sold) or the last payment to it / share passed from it
            sold = acc["sold"] >= D * (1.0 - 1e-12)
            t_res = np.where(sold, acc["t_res"], np.maximum(acc["t_res"], t_dis[:, None]))
            if (t_res == t_dis[:, None]).all():
                run.loss[run.sidx, t_dis] += loss.sum(axis=1)
            else:
                hit = D > 0
                s_i = np.broadcast_to(run.sidx[:, None], (S, La))[hit]
                run.loss += np.bincount(s_i * T + t_res[hit], weights=loss[hit], minlength=S * T).reshape(S, T)
            run.l_default[:, cols] += D
            run.l_recovery[:, cols] += R
            run.l_passed[:, cols] += acc["passed"]
            run.l_paid[:, cols] += acc["paid"]
            run.l_loss[:, cols] += loss
        run.apply_restores(m)
        run.cap_left[:, m, claim_cols] = run.C[:, claim_cols]

    return LayerResult(
        names=cs.names,
        kinds=[p.kind for p in cs.payers],
        grid_months=M,
        recovery=run.recovery,
        recovery_lost=run.recovery_lost,
        recovery_passed=run.passed,
        paid_to_pool=run.paid_to_pool,
        loss_after_support=run.loss,
        subsidy_to_pool=sub_pool,
        subsidy_to_borrowers=sub_borrower,
        upkeep_cost=upkeep,
        claims=run.claims,
        paid=run.paid,
        refunded=run.refunded,
        recoveries_kept=run.kept,
        counter_recovered=run.counter,
        capacity_remaining=run.cap_left,
        loan_default=run.l_default,
        loan_recovery=run.l_recovery,
        loan_passed=run.l_passed,
        loan_paid_to_pool=run.l_paid,
        loan_loss=run.l_loss,
        lapse_month=lapse,
    )


def _subsidy(sub: InterestSubsidy, interest: np.ndarray, bidx: np.ndarray, month_dates: Sequence[dt.date],
             years: np.ndarray, fail: np.ndarray, survival: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Subsidy due (before caps) and paid, ``(S, M+1)`` each: ``share`` of the interest paid,
    per borrower capped at ``per_borrower_annual_cap`` within each calendar year, nothing
    from the body's failure month or after ``until``, the total capped at ``capacity``.

    With ``survival`` (expected-value interest, see :func:`apply_layers`) the cap binds on
    what a borrower whose loans still perform pays, ``interest / survival``: the capped
    subsidy of each month is weighted by the chance the borrower still pays
    (``sum(interest) / sum(interest / survival)`` over its loans), not the cap applied to
    the expected interest."""
    S, L, M1 = interest.shape
    order = np.argsort(bidx, kind="stable")
    sb = bidx[order]
    starts = np.flatnonzero(np.r_[True, sb[1:] != sb[:-1]])
    per_b = np.add.reduceat(interest[:, order, :], starts, axis=1) * float(sub.share)  # (S, B, M+1)
    month = np.arange(M1)
    on = month >= 1
    if sub.until is not None:
        on &= np.array([d <= sub.until for d in month_dates])
    per_b = per_b * on
    due = per_b.sum(axis=1)
    per_b = per_b * (month[None, :] < fail[:, None])[:, None, :]
    weight = None
    if survival is not None and sub.per_borrower_annual_cap is not None:
        cond = np.zeros_like(interest)
        np.divide(interest, survival, out=cond, where=survival > 0)
        cond_b = np.add.reduceat(cond[:, order, :], starts, axis=1) * float(sub.share) * on
        cond_b = cond_b * (month[None, :] < fail[:, None])[:, None, :]
        weight = np.zeros_like(per_b)
        np.divide(per_b, cond_b, out=weight, where=cond_b > 0)
        per_b = cond_b
    if sub.per_borrower_annual_cap is not None:
        cap = float(sub.per_borrower_annual_cap)
        new_year = np.r_[True, years[1:] != years[:-1]]
        cum = np.cumsum(per_b, axis=2)
        year_start = np.maximum.accumulate(np.where(new_year, month, 0))
        base = np.where(year_start > 0, cum[:, :, np.maximum(year_start - 1, 0)], 0.0)
        capped = np.minimum(cum - base, cap)
        prev = np.concatenate([np.zeros((S, per_b.shape[1], 1)), capped[:, :, :-1]], axis=2)
        prev[:, :, new_year] = 0.0
        per_b = capped - prev
        if weight is not None:
            per_b = per_b * weight
    paid = per_b.sum(axis=1)
    if sub.capacity is not None:
        cum = np.minimum(np.cumsum(paid, axis=1), float(sub.capacity))
        paid = np.diff(cum, axis=1, prepend=0.0)
    return due, paid
