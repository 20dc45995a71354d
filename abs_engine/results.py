"""Kernel arrays -> tidy pandas DataFrames; the conservation check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from .dates import Schedule
from .errors import AbsEngineError
from .measures import notes_yield, year_fractions
from .model.deal import PARTIES, STATES, Deal
from .model.scenario import Scenario
from .model.status import Status
from .periods import LEDGER_FLOWS, PeriodFlows
from .pools.base import EXTRA_SERIES, SERIES
from .pools.stats import PoolStats
from .waterfall.program import KernelArgs

#: Rounding allowance of :meth:`Result.check_conservation` per money operation, as a share
#: of the run's largest amount: one float64 epsilon (2**-52, twice the largest rounding error
#: of one addition). See :func:`conservation_tolerance`.
CONSERVATION_EPS = float(np.finfo(np.float64).eps)


def conservation_tolerance(scale: float, n_ops: int) -> float:
    """Largest imbalance :meth:`Result.check_conservation` tolerates, in currency units.

    Each addition or subtraction of float64 money rounds its result by at most half an ulp,
    and the ulp of an amount ``x`` is at most ``eps * |x|``. A period's identity involves
    ``n_ops`` such operations (the waterfall's and the check's own sums) on amounts at most
    ``scale`` (the largest balance or cash of the run), so rounding alone can never leave
    more than ``n_ops * eps * scale``: a tolerance that grows with the deal, stays a few
    hundred ulps of its largest balance, and still catches a leak of one fen on a deal of
    1e9 (docs/methodology.md, "Cash conservation").

    >>> f"{conservation_tolerance(1e9, 200):.2e}"
    '4.44e-05'
    """
    return float(n_ops) * CONSERVATION_EPS * max(float(scale), 1.0)


#: The pool series that bring cash into the waterfall (before the annual fees kept back).
_INFLOWS = ("interest_collected", "subsidy", "scheduled_principal", "prepayment", "recovery", "support_paid")


class ConservationError(AbsEngineError):
    """Cash was created or lost in some period (a bug, never a user mistake)."""


def _frame(
    sched: Schedule, scen: list[str], names: list[str], label: str, cols: dict[str, np.ndarray], start: int = 0
) -> pd.DataFrame:
    """Arrays ``(S, T, N)`` -> long frame with one row per scenario, name and period (from
    period ``start``, 0-based: a run from a status shows the periods it projected)."""
    if start:
        cols = {k: v[:, start:] for k, v in cols.items()}
    S, T, N = next(iter(cols.values())).shape
    idx_s, idx_n, idx_t = np.meshgrid(np.arange(S), np.arange(N), np.arange(start, start + T), indexing="ij")
    data: dict[str, object] = {
        "scenario": np.asarray(scen, dtype=object)[idx_s.ravel()],
        label: np.asarray(names, dtype=object)[idx_n.ravel()],
        "period": idx_t.ravel() + 1,
        "payment_date": pd.to_datetime(np.asarray(sched.payment_dates, dtype="datetime64[D]")[idx_t.ravel()]),
    }
    for k, arr in cols.items():
        data[k] = np.transpose(arr, (0, 2, 1)).ravel()
    return pd.DataFrame(data)


@dataclass
class Result:
    """The outcome of :func:`abs_engine.run`: tidy DataFrames over the kernel's arrays."""

    deal: Deal
    scenarios: list[Scenario]
    schedule: Schedule
    pools: list[PeriodFlows]
    args: KernelArgs
    cleanup_period: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: the status the run picked the deal up from (None: from closing; docs/seasoned.md)
    status: Status | None = None
    #: actual vs projected figures of the periods reported (abs_engine/actuals.py), when the
    #: caller attaches them: the term sheets then carry the sheet
    actual_vs_projected: pd.DataFrame | None = None
    #: the projection the run came from (:func:`abs_engine.engine.project`), handed in by the
    #: engine: :meth:`status_at` projects the pools again with it (results come before the
    #: engine in the layering of docs/architecture.md, so they do not import it)
    project: Callable[..., tuple[Schedule, list[PeriodFlows]]] | None = field(default=None, repr=False, compare=False)

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @property
    def start_period(self) -> int:
        """The first period the run projected (0-based; 0 from closing): a run from a status
        starts after the status date, and its frames start there."""
        return int(self.args.t0)

    @property
    def start_date(self) -> dt.date:
        """Where the run's figures start: the closing date, or the status date (the last
        payment date before the projected periods)."""
        t0 = self.start_period
        return self.deal.deal.closing_date if t0 == 0 else self.schedule.payment_dates[t0 - 1]

    @property
    def opening_balances(self) -> np.ndarray:
        """Each tranche's balance where the run starts (deal order): its original balance
        from closing, its balance on the status date from a status."""
        return np.asarray(self.args.bal_open, dtype=np.float64)

    @cached_property
    def pool_deal(self) -> Deal:
        """The deal with its pools as of the run's start: the deal itself from closing; from a
        status, the surviving assets at their current balances with the cut-off date moved to
        the pool's status date (for pool statistics; :func:`abs_engine.restart.status_pool_deal`)."""
        if self.status is None:
            return self.deal
        from .restart import status_pool_deal

        return status_pool_deal(self.deal, self.status)

    def _default_settlement(self) -> dt.date:
        """The analytics' settlement when none is given: the deal's pricing settlement (else
        the closing date); for a run from a status, the status date if that is later."""
        settle = self.deal.pricing.settlement or self.deal.deal.closing_date
        return max(settle, self.start_date)

    def status_at(self, period: int, scenario: str | int | None = None) -> Status:
        """The deal's status after ``period`` (1-based, as the frames number periods) under one
        scenario (name or index; default the first), as a trustee report would give it: note
        and account balances, carried shortfalls, trigger states, cumulative figures, each
        pool's surviving assets and defaults, the actuals of the periods run
        (abs_engine/restart.py; write it with :func:`abs_engine.io.status_file.write_status`)."""
        from .restart import status_of

        return status_of(self, period, scenario)

    @cached_property
    def tranches(self) -> pd.DataFrame:
        """One row per scenario, tranche and period. Money in deal currency units;
        ``coupon_rate`` decimal p.a.; ``residual_paid`` is excess return (超额收益)."""
        a = self.args
        df = _frame(
            self.schedule,
            self.scenario_names,
            [t.name for t in self.deal.tranches],
            "tranche",
            {
                "balance_start": a.t_bal_start,
                "coupon_rate": a.rate,
                "interest_due": a.t_int_due,
                "interest_paid": a.t_int_paid,
                "interest_shortfall": a.t_int_short,
                "principal_paid": a.t_prin,
                "residual_paid": a.t_resid,
                "writedown": a.t_wd,
                "balance_end": a.t_bal_end,
            },
            self.start_period,
        )
        return df

    @cached_property
    def pool(self) -> pd.DataFrame:
        """One row per scenario, pool and period (money in deal currency units); the
        advancing and delinquency columns only when some pool of the run models them."""
        keys = list(SERIES) + [k for k in EXTRA_SERIES if any(k in p.series for p in self.pools)]
        zero = np.zeros_like(self.pools[0].series["balance_end"])
        cols = {k: np.stack([p.series.get(k, zero) for p in self.pools], axis=2) for k in keys}
        return _frame(self.schedule, self.scenario_names, [p.name for p in self.pools], "pool", cols, self.start_period)

    @cached_property
    def accounts(self) -> pd.DataFrame:
        """One row per scenario, account and period; every row reconciles:
        ``balance_start + deposits + other_in - withdrawn = balance_end``.

        ``deposits``: pool collections credited; ``drawn``: what a support provider paid into
        the trust (0 for trust accounts); ``withdrawn``: cash out (payments, transfers to other
        accounts; a provider's ``drawn``); ``other_in``: other cash in (transfers from other
        accounts, such as reserve funding; a revolving provider's capacity restored by
        reimbursements). The kernel records collections and provider draws gross; a trust
        account's other movements of one period are shown net (``other_in`` if it gained,
        ``withdrawn`` if it lost). A provider's balance is its capacity left (inf: unlimited,
        then ``other_in`` is 0 and ``withdrawn`` its draws; 0 from its failure on)."""
        a = self.args
        start, dep, drawn, end = a.a_start, a.a_in, a.a_drawn, a.a_end
        unlimited = np.isinf(start) | np.isinf(end)
        with np.errstate(invalid="ignore"):
            net = np.where(unlimited, 0.0, end - start - dep + drawn)
        return _frame(
            self.schedule, self.scenario_names, [x.name for x in self.deal.accounts], "account",
            {"balance_start": start, "deposits": dep, "other_in": np.maximum(net, 0.0),
             "withdrawn": drawn + np.maximum(-net, 0.0), "drawn": drawn, "balance_end": end},
            self.start_period,
        )

    @cached_property
    def support(self) -> pd.DataFrame:
        """Ledger of the deal-level support providers (shortfall undertakings, guarantees):
        what each paid into the trust per period (``paid``), what the trust repaid it
        (``reimbursed``, by ``reimburse_support`` steps), what it is still owed at the
        period's end (``owed``) and the capacity it has left (inf: unlimited, written empty
        in CSV; 0 from the period of its failure)."""
        a = self.args
        idx = [i for i, x in enumerate(self.deal.accounts) if x.external]
        names = [self.deal.accounts[i].name for i in idx]
        drawn, repaid = a.a_drawn[:, :, idx], a.a_repaid[:, :, idx]
        return _frame(
            self.schedule, self.scenario_names, names, "provider",
            {"paid": drawn, "reimbursed": repaid, "owed": a.owed_open[idx] + np.cumsum(drawn - repaid, axis=1),
             "capacity_remaining": a.a_end[:, :, idx]},
            self.start_period,
        )

    @cached_property
    def liquidity(self) -> pd.DataFrame:
        """Ledger of the liquidity facilities (流动性支持, accounts of kind liquidity): per
        period what the trust drew (``drawn``) and repaid of principal (``repaid``), the
        principal owed at the period's end (``balance``), the interest on it and the
        commitment fee on the undrawn limit accrued in the period (``interest``,
        ``commitment_fee``), what the trust paid of them (``interest_paid``, interest and fees
        together, by ``repay_liquidity`` steps), what it still owes of them at the period's
        end (``interest_owed``) and what the facility can still lend (``available``: the
        limit less the balance; 0 from its failure on). Empty without facilities."""
        a = self.args
        idx = [i for i, x in enumerate(self.deal.accounts) if x.kind == "liquidity"]
        names = [self.deal.accounts[i].name for i in idx]
        drawn, repaid = a.a_drawn[:, :, idx], a.a_repaid[:, :, idx]
        accrued, paid = a.l_int[:, :, idx] + a.l_fee[:, :, idx], a.l_paid[:, :, idx]
        cols = {"drawn": drawn, "repaid": repaid, "balance": a.owed_open[idx] + np.cumsum(drawn - repaid, axis=1),
                "interest": a.l_int[:, :, idx], "commitment_fee": a.l_fee[:, :, idx], "interest_paid": paid,
                "interest_owed": a.liq_open[idx] + np.cumsum(accrued - paid, axis=1),
                "available": a.a_end[:, :, idx]}
        if not idx:
            return pd.DataFrame({c: [] for c in ("scenario", "facility", "period", "payment_date", *cols)})
        return _frame(self.schedule, self.scenario_names, names, "facility", cols, self.start_period)

    @cached_property
    def layers(self) -> pd.DataFrame:
        """Ledger of the pools' risk-sharing layers (docs/risk-sharing.md): one row per
        scenario, pool, payer and period with ``kind`` and, summed over the period's
        months, ``claims`` (its share of the defaults it took), ``paid`` (to the pool; a
        re-guarantor's refunds to its guarantor; subsidies), ``refunded`` (received from a
        re-guarantor), ``recoveries_kept`` (disposal proceeds it kept),
        ``counter_recovered`` (from the borrowers' counter-guarantees), ``net_cost``; and
        ``capacity_remaining`` at the period's end (inf: unlimited, written empty in CSV; 0
        from the period of the party's failure, as :attr:`support` shows a failed provider).
        Empty without layers."""
        frames = []
        # a failed party has no capacity left, from the period its failure falls in (the
        # period a deal-level provider's account is emptied in)
        fail_from = {(si, name): self.schedule.event_period(when)
                     for si, sc in enumerate(self.scenarios) for name, when in sc.support_failures.items()}
        for pf in self.pools:
            if pf.ledger is None or not pf.ledger.names:
                continue
            ledger = dict(pf.ledger.columns)
            cap = ledger["capacity_remaining"].copy()
            for p, name in enumerate(pf.ledger.names):
                for si in range(cap.shape[0]):
                    t = fail_from.get((si, name))
                    if t is not None:
                        cap[si, t:, p] = 0.0
            ledger["capacity_remaining"] = cap
            df = _frame(self.schedule, self.scenario_names, pf.ledger.names, "party", ledger, self.start_period)
            df.insert(1, "pool", pf.name)
            df.insert(3, "kind", np.asarray(pf.ledger.kinds, dtype=object)[
                np.tile(np.repeat(np.arange(len(pf.ledger.names)), self.schedule.n_periods - self.start_period),
                        len(self.scenarios))])
            frames.append(df)
        if not frames:
            cols = ["scenario", "pool", "party", "kind", "period", "payment_date", *LEDGER_FLOWS, "capacity_remaining"]
            return pd.DataFrame({c: [] for c in cols})
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def fees(self) -> pd.DataFrame:
        a = self.args
        return _frame(
            self.schedule, self.scenario_names, [f.name for f in self.deal.fees], "fee",
            {"due": a.f_due, "paid": a.f_paid, "unpaid": a.f_unpaid},
            self.start_period,
        )

    @cached_property
    def parties(self) -> pd.DataFrame:
        """Residual payments to parties other than noteholders (e.g. the originator)."""
        return _frame(self.schedule, self.scenario_names, list(PARTIES), "party", {"paid": self.args.party},
                      self.start_period)

    @cached_property
    def states(self) -> pd.DataFrame:
        """Deal state and trigger status per scenario and period."""
        a = self.args
        t0 = self.start_period
        state, fired = a.state[:, t0:], a.fired[:, t0:]
        S, T = state.shape
        data: dict[str, object] = {
            "scenario": np.repeat(self.scenario_names, T),
            "period": np.tile(np.arange(t0 + 1, t0 + T + 1), S),
            "payment_date": pd.to_datetime(np.tile(np.asarray(self.schedule.payment_dates[t0:], dtype="datetime64[D]"), S)),
            "state": np.asarray(STATES, dtype=object)[state.ravel()],
        }
        for j, tg in enumerate(self.deal.triggers):
            data[f"trigger:{tg.name}"] = fired[:, :, j].ravel().astype(bool)
        return pd.DataFrame(data)

    @property
    def interest_carried(self) -> np.ndarray:
        """Per tranche (deal order): whether its unpaid interest is carried to later periods
        (its ``pay_interest`` steps' ``carry_shortfall``), as the waterfall ran it."""
        return np.asarray(self.args.carry, dtype=bool)

    def measures(self, *, yields: bool = True) -> TrancheMeasures:
        """Every tranche's measures in every scenario (:class:`TrancheMeasures`: whole or
        not, losses, WAL, yield at par), vectorised over the scenarios; ``yields=False``
        leaves the yields NaN (the slow part)."""
        return tranche_measures(self.deal, self.schedule, self.args, yields=yields)

    def tranche_info(self) -> dict[str, dict[str, object]]:
        """What analytics need to know of each tranche."""
        h = self.deal.deal
        return {
            t.name: {
                "original_balance": t.balance,
                "coupon_rate": t.coupon.rate if t.coupon.kind == "fixed" else None,
                "margin": t.coupon.spread if t.coupon.kind == "floating" else None,
                "day_count": (t.day_count or h.day_count).value,
                "accrual_start": self.schedule.accrual_start[self.start_period],
                "kind": t.kind,
                "frequency": 12 // h.payment_frequency.months,
                "currency": h.currency,
            }
            for t in self.deal.tranches
        }

    def analytics(
        self,
        *,
        settlement: dt.date | None = None,
        pricing: Mapping[str, Mapping[str, Any]] | None = None,
        curve: object | None = None,
    ) -> pd.DataFrame:
        """Price, yield, WAL, durations, convexity (and spreads with a curve) of every
        tranche in every scenario: one row per (scenario, tranche); see docs/analytics.md.

        Defaults come from the deal's ``pricing`` section: settlement (else the closing
        date), each tranche's price or yield (else a price of 100 per 100 of face) and the
        discount curve; a scenario's own ``curve`` replaces the deal's for that scenario.
        Arguments given here replace the deal's (``curve``: a :class:`~abs_engine.analytics.Curve`
        or a curve mapping, for every scenario).
        """
        from .analytics import Curve, tranche_analytics

        pr = self.deal.pricing
        settle = settlement or self._default_settlement()
        if pricing is None:
            pricing = {n: ({"price": t.price} if t.price is not None else {"yield": t.yield_})
                       | {"compounding": t.compounding} for n, t in pr.tranches.items()}

        def build(spec: object) -> Curve | None:
            if spec is None or isinstance(spec, Curve):
                return spec
            return Curve.from_dict(spec, reference_date=settle)  # type: ignore[arg-type]

        common = build(curve if curve is not None else pr.curve)
        own = {sc.name: sc.curve for sc in self.scenarios if sc.curve is not None and curve is None}
        info = self.tranche_info()
        if not own:
            return tranche_analytics(self.tranches, info, settlement=settle, pricing=pricing, curve=common)
        parts = []
        for name in self.scenario_names:  # each scenario on its own curve, in run order
            rows = self.tranches[self.tranches["scenario"] == name]
            c = build(own[name]) if name in own else common
            parts.append(tranche_analytics(rows, info, settlement=settle, pricing=pricing, curve=c))
        return pd.concat(parts, ignore_index=True)

    def yield_table(self, tranche: str, prices: Sequence[float] | None = None, *,
                    settlement: dt.date | None = None) -> pd.DataFrame:
        """The price/yield table investors ask for: the tranche's yield (the subordinate's
        IRR) at each clean price (rows, per 100) under each scenario (columns).

        Default prices: the tranche's price in the deal's ``pricing`` (else 100) ± 2 in steps
        of 0.5, or ± 20% in steps of 5% for the subordinate. Yields in the compounding of
        :meth:`analytics` (``auto``: ``chinabond`` for a CNY deal, else simple up to a year
        and annual beyond; the subordinate annual, its IRR).
        """
        from .analytics import yield_table

        pr = self.deal.pricing
        settle = settlement or self._default_settlement()
        t = self.deal.tranche(tranche)
        quote = pr.tranches.get(tranche)
        if prices is None:
            p0 = quote.price if quote is not None and quote.price is not None else 100.0
            steps = [p0 * (1 + 0.05 * k) for k in range(-4, 5)] if t.kind == "subordinate" else [p0 + 0.5 * k for k in range(-4, 5)]
            prices = [round(p, 6) for p in steps]
        comp = quote.compounding if quote is not None else "auto"
        return yield_table(self.tranches, self.tranche_info(), tranche, settlement=settle, prices=list(prices),
                           compounding=comp, scenarios=self.scenario_names)

    def yield_tables_by_tranche(self) -> dict[str, pd.DataFrame]:
        """Each tranche's :meth:`yield_table` at its default prices, keyed by tranche, in
        deal order; a tranche the run cannot price (e.g. settlement after its last payment)
        is left out."""
        from .analytics import AnalyticsError

        out: dict[str, pd.DataFrame] = {}
        for t in self.deal.tranches:
            try:
                out[t.name] = self.yield_table(t.name)
            except AnalyticsError:
                continue
        return out

    def yield_tables(self) -> pd.DataFrame:
        """Every tranche's :meth:`yield_table` at its default prices, as one tidy frame:
        tranche, price, scenario, yield (the subordinate's IRR). Tranches the run cannot
        price are left out."""
        parts = []
        for name, table in self.yield_tables_by_tranche().items():
            long = table.reset_index().melt(id_vars="price", var_name="scenario", value_name="yield")
            parts.append(long.assign(tranche=name)[["tranche", "price", "scenario", "yield"]])
        if not parts:
            return pd.DataFrame({c: [] for c in ("tranche", "price", "scenario", "yield")})
        return pd.concat(parts, ignore_index=True)

    def pool_stats(self, *, top_n: int = 10) -> dict[str, PoolStats]:
        """Pool statistics at the cut-off date, or at the status date of a run from a status
        (abs_engine/pools/stats.py): ``"deal"`` for
        all pools together, then each pool under its name. Each has the figures (counts,
        balance, WA rate, term, seasoning, LTV, top-N concentration), the stratification
        tables (``strata``) and the largest obligors."""
        from .pools.stats import deal_pool_stats, pool_stats

        deal = self.pool_deal  # (a run from a status: the pool as the status gives it)
        out = {"deal": deal_pool_stats(deal, top_n=top_n)}
        for p in deal.pools:
            out[p.name] = pool_stats(p, deal.deal, top_n=top_n)
        return out

    def summary(self) -> pd.DataFrame:
        """Per scenario and tranche: totals, WAL (years from closing) and loss; for a run from
        a status, over the remaining life: the balance at the status date, WAL from it."""
        df = self.tranches
        closing = pd.Timestamp(self.start_date)
        years = (df["payment_date"] - closing).dt.days / 365.0
        df = df.assign(_w=df["principal_paid"] * years)
        g = df.groupby(["scenario", "tranche"], sort=False)
        out = g.agg(
            balance=("balance_start", "first"),
            interest=("interest_paid", "sum"),
            principal=("principal_paid", "sum"),
            residual=("residual_paid", "sum"),
            writedown=("writedown", "sum"),
            _w=("_w", "sum"),
        )
        out["wal_years"] = np.where(out["principal"] > 0, out["_w"] / out["principal"].where(out["principal"] > 0, 1), np.nan)
        out = out.drop(columns="_w").reset_index()
        return out

    def imbalance(self) -> np.ndarray:
        """Per scenario and period: (opening cash + collections) - (payments + closing cash)."""
        a = self.args
        trust = a.acct_ext == 0
        # support providers stand outside the trust: what they pay in is an inflow
        cash_in = a.a_start[:, :, trust].sum(axis=2) + a.coll.sum(axis=2) + a.a_drawn[:, :, ~trust].sum(axis=2)
        paid = (
            a.f_paid.sum(axis=2) + a.t_int_paid.sum(axis=2) + a.t_prin.sum(axis=2)
            + a.t_resid.sum(axis=2) + a.party.sum(axis=2)
            + a.a_repaid.sum(axis=2)  # support providers repaid: cash leaving the trust
            + a.l_paid.sum(axis=2)  # liquidity facilities' interest and fees paid
        )
        return cash_in - paid - a.a_end[:, :, trust].sum(axis=2)

    def _check_collections(self, tol: float) -> None:
        """The collections the waterfall received are the pools' cash, less the annual fees
        paid out of the pools: never more than the pools brought in, and what is kept back
        never more than the fees due so far."""
        S, T = self.args.coll.shape[:2]
        inflow = np.zeros((S, T))
        upkeep = np.zeros((S, T))
        for pf in self.pools:
            ps = pf.series
            for k in _INFLOWS:
                inflow += ps[k]
            upkeep += ps["upkeep_cost"]
        kept = np.cumsum(inflow - self.args.coll.sum(axis=2), axis=1)
        # (the cumulative sums add one period's rounding per period)
        scale = tol * np.arange(1, T + 1)
        if np.any(kept < -scale):
            raise ConservationError("the waterfall received more than the pools collected")
        if np.any(kept > np.cumsum(upkeep, axis=1) + scale):
            raise ConservationError("pool collections did not reach the waterfall")

    def conservation_scale(self) -> float:
        """The largest money amount the conservation identities involve: the original note
        balance, a period's cash in (opening trust cash, collections, providers' payments),
        a finite account balance, the pools' original balance, their cumulative inflow."""
        a = self.args
        trust = a.acct_ext == 0
        cash_in = a.a_start[:, :, trust].sum(axis=2) + a.coll.sum(axis=2) + a.a_drawn[:, :, ~trust].sum(axis=2)
        balances = np.concatenate([a.a_start.ravel(), a.a_end.ravel(), a.t_bal_start.ravel()])
        balances = balances[np.isfinite(balances)]
        inflow = sum((np.abs(pf.series[k]).sum(axis=1) for pf in self.pools for k in _INFLOWS), np.zeros(a.shape[0]))
        parts = [float(np.abs(a.bal0).sum()), float(np.abs(cash_in).max(initial=0.0)),
                 float(np.abs(balances).max(initial=0.0)), sum(pf.original_balance for pf in self.pools),
                 float(np.max(inflow, initial=0.0))]
        return max(parts)

    def conservation_ops(self) -> int:
        """Money operations in one period's identities (a generous count): four per step
        and per list entry of the program (each moves cash with a few additions), one per
        tranche, fee, account, collection source and party (the check's sums)."""
        a = self.args
        return 4 * (len(a.op) + len(a.ilist)) + len(a.bal0) + len(a.fee_fixed) + len(a.acct0) + a.coll.shape[2] + a.n_parties

    def conservation_tolerance(self) -> float:
        """The tolerance :meth:`check_conservation` applies to this run
        (:func:`conservation_tolerance` of :meth:`conservation_scale` and
        :meth:`conservation_ops`), in currency units."""
        return conservation_tolerance(self.conservation_scale(), self.conservation_ops())

    def check_conservation(self, tol: float | None = None) -> None:
        """Raise :class:`ConservationError` if any period's cash does not balance, a note
        balance does not roll forward (start - principal - writedown = end), a period does
        not open where the previous one closed (notes and trust accounts; the first at the
        deal's balances), or the pools' collections and what the waterfall received differ
        by more than the annual fees paid out of the pools.

        ``tol`` (currency units) defaults to :meth:`conservation_tolerance`, relative to the
        size of the deal: float rounding, never a leak of a fen on a deal of 1e9."""
        if tol is None:
            tol = self.conservation_tolerance()
        gap = self.imbalance()
        worst = float(np.abs(gap).max(initial=0.0))
        if worst > tol:
            s, t = np.unravel_index(np.abs(gap).argmax(), gap.shape)
            raise ConservationError(
                f"cash not conserved: scenario '{self.scenario_names[s]}', period {t + 1}: imbalance {gap[s, t]:.6g} "
                f"(tolerance {tol:.3g})"
            )
        a = self.args
        roll = a.t_bal_start - a.t_prin - a.t_wd - a.t_bal_end
        if np.abs(roll).max(initial=0.0) > tol:
            raise ConservationError("note balances do not roll forward")
        # each period opens where the previous one closed, and the first where the deal starts
        trust = a.acct_ext == 0
        t0 = self.start_period  # (a run from a status opens at its figures)
        chain = [
            ("note balances", a.t_bal_start[:, t0 + 1:] - a.t_bal_end[:, t0:-1], a.t_bal_start[:, t0] - a.bal_open),
            ("account balances", a.a_start[:, t0 + 1:, trust] - a.a_end[:, t0:-1, trust],
             a.a_start[:, t0, trust] - a.acct0[trust]),
        ]
        for what, between, first in chain:
            if np.abs(between).max(initial=0.0) > tol:
                raise ConservationError(f"{what}: a period does not open where the previous one closed")
            if np.abs(first).max(initial=0.0) > tol:
                raise ConservationError(f"{what}: the first period does not open at the deal's balances")
        self._check_collections(tol)
        if np.any(a.a_end < -tol) or np.any(a.t_bal_end < -tol):
            raise ConservationError("a balance went negative")
        ext = a.acct_ext == 1
        # (a repayment that restores capacity may be drawn again in the same period)
        if np.any(a.a_drawn[:, :, ext] > np.maximum(a.a_start[:, :, ext], 0.0) + a.a_repaid[:, :, ext] + tol):
            raise ConservationError("a support provider paid beyond its capacity")
        for pf in self.pools:
            # risk-sharing layers: every default split exactly between the pool (proceeds
            # kept, payments received, loss) and the parties; no party beyond its limits
            if pf.layer_result is not None:
                try:
                    # (the layers' own check is relative to each default, with 1e-6 as the
                    # absolute allowance of a small deal)
                    pf.layer_result.check(max(tol, 1e-6))
                except AssertionError as exc:
                    raise ConservationError(f"pool '{pf.name}' support layers: {exc}") from None


# --------------------------------------------------------------------------- measures

#: Amounts (currency units) below which a shortfall or write-down counts as nil: one fen.
WHOLE_TOLERANCE = 0.01

Criterion = Literal["timely", "expected", "ultimate"]
CRITERIA: tuple[str, ...] = ("timely", "expected", "ultimate")


@dataclass
class TrancheMeasures:
    """Measures of every tranche in every scenario: arrays ``(S, K)``."""

    tranches: list[str]
    balance: np.ndarray  # (K,) original balance
    interest: np.ndarray
    principal: np.ndarray
    residual: np.ndarray
    writedown: np.ndarray
    interest_lost: np.ndarray
    max_shortfall: np.ndarray  # largest unpaid interest after any period
    behind_schedule: np.ndarray  # largest excess of the balance over a `scheduled` tranche's schedule
    late: np.ndarray  # balance left at the expected maturity (principal due then)
    wal_years: np.ndarray
    yield_: np.ndarray

    @property
    def loss(self) -> np.ndarray:
        return self.writedown + self.interest_lost

    @property
    def loss_rate(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.balance > 0, self.loss / np.where(self.balance > 0, self.balance, 1.0), 0.0)

    def whole(self, criterion: Criterion = "timely", tol: float = WHOLE_TOLERANCE) -> np.ndarray:
        """Boolean ``(S, K)``: the tranche is whole in the scenario (module docstring)."""
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {', '.join(CRITERIA)} (got {criterion!r})")
        if criterion == "ultimate":
            return (self.writedown <= tol) & (self.interest_lost <= tol)
        ok = (self.writedown <= tol) & (self.max_shortfall <= tol) & (self.behind_schedule <= tol)
        if criterion == "expected":
            ok &= self.late <= tol
        return ok

    def frame(self, scenarios: list[str], criterion: Criterion = "timely") -> pd.DataFrame:
        """One row per scenario and tranche."""
        S, K = self.writedown.shape
        whole = self.whole(criterion)
        return pd.DataFrame({
            "scenario": np.repeat(np.asarray(scenarios, dtype=object), K),
            "tranche": np.tile(np.asarray(self.tranches, dtype=object), S),
            "balance": np.tile(self.balance, S),
            "interest": self.interest.ravel(),
            "principal": self.principal.ravel(),
            "residual": self.residual.ravel(),
            "writedown": self.writedown.ravel(),
            "interest_lost": self.interest_lost.ravel(),
            "loss": self.loss.ravel(),
            "loss_rate": self.loss_rate.ravel(),
            "whole": whole.ravel(),
            "wal_years": self.wal_years.ravel(),
            "yield": self.yield_.ravel(),
        })


def tranche_measures(deal: Deal, sched: Schedule, a: KernelArgs, *, yields: bool = True) -> TrancheMeasures:
    """The measures of every tranche from a run's kernel arrays (module docstring)."""
    # from the run's start: closing, or the status date of a run from a status (abs_engine/restart.py)
    t0 = int(a.t0)
    start = deal.deal.closing_date if t0 == 0 else sched.payment_dates[t0 - 1]
    tau = year_fractions(sched, start)
    bal0 = np.asarray(a.bal_open, dtype=np.float64)
    interest = a.t_int_paid.sum(axis=1)
    principal = a.t_prin.sum(axis=1)
    residual = a.t_resid.sum(axis=1)
    writedown = a.t_wd.sum(axis=1)
    short = a.t_int_short
    carry = np.asarray(a.carry, dtype=bool)[None, :]
    interest_lost = np.where(carry, short[:, -1, :], short.sum(axis=1))
    max_short = short.max(axis=1)
    behind = np.zeros_like(writedown)
    late = np.zeros_like(writedown)
    T = a.t_bal_end.shape[1]
    for k, tr in enumerate(deal.tranches):
        if tr.principal.style == "scheduled":
            behind[:, k] = np.maximum(a.t_bal_end[:, :, k] - a.sched[None, :, k], 0.0).max(axis=1)
        em = tr.expected_maturity or deal.deal.expected_maturity
        t_em = min(sched.period_of(em), T - 1)
        late[:, k] = a.t_bal_end[:, t_em, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        wal = np.where(principal > 0, (a.t_prin * tau[None, :, None]).sum(axis=1) / np.where(principal > 0, principal, 1.0), np.nan)
    if yields:
        cash = a.t_int_paid + a.t_prin + a.t_resid  # (S, T, K)
        yld = np.full_like(writedown, np.nan)
        for k, tr in enumerate(deal.tranches):
            if bal0[k] > 0:
                yld[:, k] = notes_yield(deal, sched, cash[:, :, k], float(bal0[k]), subordinate=tr.kind == "subordinate")
    else:
        yld = np.full_like(writedown, np.nan)
    return TrancheMeasures(
        tranches=[t.name for t in deal.tranches], balance=bal0, interest=interest, principal=principal,
        residual=residual, writedown=writedown, interest_lost=interest_lost, max_shortfall=max_short,
        behind_schedule=behind, late=late, wal_years=wal, yield_=yld,
    )


def pool_measures(pools: list[Any], original: float | None = None) -> dict[str, np.ndarray]:
    """Per scenario: cumulative defaults and losses of all pools, in currency units and as
    shares of the original pool balance (``PeriodFlows`` series summed over periods)."""
    orig = sum(p.original_balance for p in pools) if original is None else original
    defaults = sum(p.series["default_amount"].sum(axis=1) for p in pools)
    loss = sum(p.series["loss"].sum(axis=1) for p in pools)
    rate = (lambda x: x / orig) if orig > 0 else (lambda x: x * 0.0)
    return {"pool_defaults": defaults, "pool_loss": loss, "pool_default_rate": rate(defaults),
            "pool_loss_rate": rate(loss)}
