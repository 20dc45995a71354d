"""What an investor asks of a run beyond its cash flows (docs/termsheets.md, "Investor
figures"): how much each tranche depends on each support party, the stress figures of a
计划说明书 (cumulative default and loss rates, break-even default rates with and without
support), a decrement table and a yield table across prepayment / default speeds, and the
timeline of events of every scenario. The term sheets only lay these frames out; the run
command also writes them as CSVs (docs/outputs.md).

**Support parties.** Every payer of the pools' risk-sharing layers (docs/risk-sharing.md;
annual-fee upkeep is a cost of the pool, not a party) and every deal-level provider (an
account of kind ``undertaking`` or ``guarantee``). A party is *removed* by making it fail
from the cut-off date (a scenario's ``support_failures``): it pays nothing, ever. Parties
whose ``provider`` names the same legal entity (after the deal's ``entities``, which may
map several names to one ``legal_entity``) are a *concentration*: the entity is removed as
a whole too.

**Dependence.** For every scenario of the run and every *case* — the deal as written, each
party removed in turn, each concentrated entity removed, every party removed
(*stand-alone*) — each tranche's write-down, loss (write-down + interest never paid), loss
rate, WAL and whether it is whole, from one engine call. How much a tranche *depends* on a
party is the loss it avoids (principal written down + interest never paid, without the
party less as written) and the present value of the cash it brings, at the tranche's
internal rate of return as written (so the case as written is worth the tranche's
balance): ``share = (PV as written - PV without) / PV as written``; undiscounted cash would
mix timing with loss. Each is the party's marginal contribution (with several parties
backing the same dues each marginal share can be 0 while the stand-alone case shows the
joint one).

**Break-even.** The break-even constant CDR (临界违约率（年化CDR）,
:func:`abs_engine.studies.breakeven`, stress ``cdr``) of every tranche under every
scenario's other assumptions (recovery, prepayment, lags), as written and in each removal
case, under the ``timely`` criterion (the first failure) and the ``ultimate`` one (nothing
lost in the end), with every range of CDRs at which the tranche fails when it is whole
again at higher CDRs; its multiple of the scenario's equivalent constant CDR
(:func:`~abs_engine.studies.breakeven.equivalent_cdr`) and of the base case's (the run's
first scenario).

**Speeds.** The run's first scenario with its prepayment and default rates replaced
(:func:`default_speeds`); the decrement table is each tranche's balance as a share of its
original balance after each payment date, the speed table its yield at the deal's quoted
price (``pricing``, else 100), WAL, modified duration and first / last principal dates
(:meth:`abs_engine.results.Result.analytics`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import curves
from ..engine import Backend
from ..measures import irr_at_par, year_fractions
from ..model.deal import Deal, sections
from ..model.scenario import Scenario
from ..model.support import AnnualFeeUpkeep, Guarantee, Sharing
from ..results import WHOLE_TOLERANCE, Result, pool_measures
from .breakeven import at_cdr, breakeven, equivalent_cdr, parse_ranges

__all__ = ["SupportParty", "Speed", "InvestorView", "support_parties", "default_speeds", "investor_view",
           "event_timeline", "CASE_AS_WRITTEN", "CASE_STANDALONE"]

CASE_AS_WRITTEN = "as_written"
CASE_STANDALONE = "standalone"


@dataclass(frozen=True)
class SupportParty:
    """A party that pays for the pool's losses or the notes' dues."""

    name: str  # the name a scenario's support_failures uses
    kind: str  # guarantee, insurance, undertaking, ...
    level: str  # "pool" or "deal"
    pool: str | None
    provider: str | None  # who stands behind it, as the deal writes it
    entity: str | None  # the legal entity (deal.entities[].legal_entity, else the provider)
    rating: str | None
    rating_agency: str | None


def _entity_info(deal: Deal, provider: str | None) -> tuple[str | None, str | None, str | None]:
    if provider is None:
        return None, None, None
    for e in deal.entities:
        if e.name == provider:
            return e.legal_entity or e.name, e.rating, e.rating_agency
    return provider, None, None


def support_parties(deal: Deal) -> list[SupportParty]:
    """Every support party of the deal (module docstring), pools first, in deal order."""
    out: list[SupportParty] = []

    def add(name: str, kind: str, level: str, pool: str | None, provider: str | None) -> None:
        ent, rating, agency = _entity_info(deal, provider)
        out.append(SupportParty(name, kind, level, pool, provider, ent, rating, agency))

    for p in deal.pools:
        for layer in p.support:
            if isinstance(layer, AnnualFeeUpkeep):
                continue
            if isinstance(layer, Sharing):
                for party in layer.parties:
                    add(party.name, party.kind, "pool", p.name, party.provider)
                continue
            add(layer.name, layer.kind, "pool", p.name, getattr(layer, "provider", None))
            if isinstance(layer, Guarantee) and layer.reguarantee is not None:
                rg = layer.reguarantee
                add(rg.name, "reguarantee", "pool", p.name, rg.provider)
    for a in deal.accounts:
        if a.external:
            add(a.name, a.kind, "deal", None, a.provider)
    return out


def concentrations(parties: Sequence[SupportParty]) -> dict[str, list[str]]:
    """Legal entity -> the names of its parties, for entities behind more than one party."""
    by: dict[str, list[str]] = {}
    for p in parties:
        if p.entity:
            by.setdefault(p.entity, []).append(p.name)
    return {e: names for e, names in by.items() if len(names) > 1}


def removal_cases(parties: Sequence[SupportParty]) -> list[tuple[str, tuple[str, ...]]]:
    """(case, parties removed): as written, each party, each concentrated entity, all."""
    if not parties:
        return [(CASE_AS_WRITTEN, ())]
    cases: list[tuple[str, tuple[str, ...]]] = [(CASE_AS_WRITTEN, ())]
    cases += [(f"without:{p.name}", (p.name,)) for p in parties]
    allnames = tuple(p.name for p in parties)
    for ent, names in concentrations(parties).items():
        if len(names) < len(allnames):
            cases.append((f"without_entity:{ent}", tuple(names)))
    if len(parties) > 1 or not cases[1:]:
        cases.append((CASE_STANDALONE, allnames))
    else:  # one party: removing it is the stand-alone case
        cases[1] = (CASE_STANDALONE, allnames)
    return cases


def without(deal: Deal, sc: Scenario, names: Sequence[str], name: str | None = None,
            since: dt.date | None = None) -> Scenario:
    """``sc`` with the named parties failing from the cut-off date (they never pay), or from
    ``since`` (a run from a status: its date; what they paid before is in the status)."""
    fails = dict(sc.support_failures)
    start = since or deal.deal.cutoff_date
    for n in names:
        fails[n] = min(fails.get(n, start), start)
    return sc.model_copy(update={"name": name or sc.name, "support_failures": fails})


@dataclass(frozen=True)
class Speed:
    """A prepayment / default speed of the decrement and speed tables: the base scenario
    with its CPR and CDR replaced (None: the base's)."""

    name: str
    cpr: float | None = None
    cdr: float | None = None

    def scenario(self, base: Scenario) -> Scenario:
        sc = base
        if self.cdr is not None:
            sc = at_cdr(sc, self.cdr)
        if self.cpr is not None:
            sc = sc.model_copy(update={"prepayment": sc.prepayment.model_copy(update={"cpr": self.cpr})})
        return sc.model_copy(update={"name": self.name})


def _rate(x: Any) -> float:
    return curves.mean_annual(x)  # (a prepayment convention by loan age: its mean annual rate over 5 years)


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


def default_speeds(deal: Deal, base: Scenario) -> list[Speed]:
    """The speeds of the decrement and speed tables.

    The base CDR is the base's equivalent constant CDR (:func:`equivalent_cdr`: the same
    lifetime defaults, for a curve by loan age, segments or the tape's PDs).
    Pledge-loan pools (which prepay): 0% CPR and 0% CDR; the base case; CPR 10% and 20% at the
    base CDR; the base CPR at twice the base CDR (at least 5%). Receivable pools (no
    prepayment): 0% CDR, the base case, twice and three times the base CDR (at least 5% and
    10%).

    >>> import abs_engine as ae
    >>> [s.name for s in default_speeds(ae.load_deal("deals/sz_pledge_2026_1.yaml"), ae.load_scenario("scenarios/base.yaml"))]
    ['CPR 0% CDR 0%', 'base', 'CPR 10% CDR 2%', 'CPR 20% CDR 2%', 'CPR 5% CDR 5%']
    """
    cdr = equivalent_cdr(deal, base)  # a curve, segments or tape PDs: the constant CDR with the same defaults
    cdr2 = max(2 * cdr, 0.05)
    if "prepayment" in sections(deal.pools):
        cpr = _rate(base.prepayment.cpr)
        return [Speed("CPR 0% CDR 0%", 0.0, 0.0), Speed(base.name), Speed(f"CPR 10% CDR {_pct(cdr)}", 0.10),
                Speed(f"CPR 20% CDR {_pct(cdr)}", 0.20), Speed(f"CPR {_pct(cpr)} CDR {_pct(cdr2)}", None, cdr2)]
    cdr3 = max(3 * cdr, 0.10)
    return [Speed("CDR 0%", None, 0.0), Speed(base.name), Speed(f"CDR {_pct(cdr2)}", None, cdr2),
            Speed(f"CDR {_pct(cdr3)}", None, cdr3)]


@dataclass
class InvestorView:
    """The investor figures of a run (module docstring); every frame tidy, one row per item."""

    parties: pd.DataFrame  # one row per support party
    dependence: pd.DataFrame  # scenario x case x tranche
    support_share: pd.DataFrame  # scenario x tranche x case (without the base case)
    breakeven: pd.DataFrame  # scenario x case x tranche
    pool_stress: pd.DataFrame  # one row per scenario
    decrement: pd.DataFrame  # speed x tranche x period
    speed_table: pd.DataFrame  # speed x tranche
    speeds: pd.DataFrame  # one row per speed: its CPR and CDR
    events: pd.DataFrame  # scenario x period x event
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    FILES = {"parties": "support_parties.csv", "dependence": "support_dependence.csv",
             "support_share": "support_share.csv", "breakeven": "breakeven_support.csv",
             "pool_stress": "pool_stress.csv", "decrement": "decrement.csv", "speed_table": "speed_table.csv",
             "events": "events.csv"}

    def write_csvs(self, target: str | Path) -> list[Path]:
        """Write each frame as ``target/<name>.csv`` (docs/outputs.md); returns the paths."""
        from ..io.outputs import write_csv

        return [write_csv(getattr(self, attr), Path(target) / name) for attr, name in self.FILES.items()]


def _party_frame(parties: Sequence[SupportParty]) -> pd.DataFrame:
    conc = concentrations(parties)
    rows = []
    for p in parties:
        shared = [n for n in conc.get(p.entity or "", []) if n != p.name]
        rows.append({"party": p.name, "kind": p.kind, "level": p.level, "pool": p.pool, "provider": p.provider,
                     "legal_entity": p.entity, "rating": p.rating, "rating_agency": p.rating_agency,
                     "same_entity_as": ", ".join(shared)})
    return pd.DataFrame(rows, columns=["party", "kind", "level", "pool", "provider", "legal_entity", "rating",
                                       "rating_agency", "same_entity_as"])


def _dependence(result: Result, cases: list[tuple[str, tuple[str, ...]]], backend: Backend) -> pd.DataFrame:
    """One engine call: every scenario of the run in every removal case. ``pv`` is each row's
    cash discounted at the tranche's internal rate of return as written in that scenario
    (annual compounding, ACT/365F years from the run's start), so the case as written is
    worth what it cost (its balance at the start)."""
    from ..engine import run as run_engine

    deal = result.deal
    since = result.start_date if result.status is not None else None
    scs = [without(deal, sc, names, f"{sc.name}\x1f{case}", since) for sc in result.scenarios for case, names in cases]
    # nothing to remove: the run itself
    res = result if len(cases) == 1 else run_engine(deal, scs, backend=backend, status=result.status)
    m = res.measures(yields=False)
    whole = m.whole("timely")
    a = res.args
    cash_t = a.t_int_paid + a.t_prin + a.t_resid  # (S, T, K)
    t0 = int(a.t0)
    start = deal.deal.closing_date if t0 == 0 else res.schedule.payment_dates[t0 - 1]
    tau = np.maximum(year_fractions(res.schedule, start), 0.0)
    n = len(cases)
    rows = []
    for i, sc in enumerate(result.scenarios):
        for k, t in enumerate(deal.tranches):
            bal = float(m.balance[k])
            ref = cash_t[i * n, :, k]
            rate = float(irr_at_par(ref[None, :], tau, bal)[0]) if bal > 0 and ref.sum() > 0 else math.nan
            disc = (1.0 + rate) ** -tau if rate == rate and rate > -1.0 and np.isfinite(rate) else None
            for j, (case, names) in enumerate(cases):
                s = i * n + j
                cash = float(m.interest[s, k] + m.principal[s, k] + m.residual[s, k])
                pv = float(cash_t[s, :, k] @ disc) if disc is not None else math.nan
                rows.append({"scenario": sc.name, "case": case, "removed": ", ".join(names), "tranche": t.name,
                             "kind": t.kind, "balance": bal, "cash": cash,
                             "writedown": float(m.writedown[s, k]), "interest_lost": float(m.interest_lost[s, k]),
                             "loss": float(m.loss[s, k]), "loss_rate": float(m.loss_rate[s, k]),
                             "wal_years": float(m.wal_years[s, k]), "whole": bool(whole[s, k]),
                             "discount_rate": rate, "pv": pv})
    return pd.DataFrame(rows)


SHARE_COLUMNS = ["scenario", "tranche", "case", "removed", "loss_as_written", "loss_without", "loss_avoided",
                 "loss_avoided_rate", "discount_rate", "pv_as_written", "pv_without", "pv_from_removed", "share",
                 "cash_as_written", "cash_without", "cash_from_removed"]


def _shares(dep: pd.DataFrame) -> pd.DataFrame:
    """How much of each tranche's value depends on the parties removed: the loss they avoid
    (principal written down + interest never paid without them, less as written) and the
    present value of the cash they bring, at the tranche's yield as written; ``share`` is
    that present value over the present value as written (the tranche's balance). The
    undiscounted cash difference is kept for reconciliation: it mixes timing with loss (a
    senior repaid later earns more interest, so its cash "from" a party can be negative)."""
    base = dep[dep["case"] == CASE_AS_WRITTEN].set_index(["scenario", "tranche"])
    rows = []
    for rec in dep[dep["case"] != CASE_AS_WRITTEN].itertuples(index=False):
        b = base.loc[(rec.scenario, rec.tranche)]
        c0, pv0, l0 = float(b["cash"]), float(b["pv"]), float(b["loss"])
        bal = float(b["balance"])
        dpv = pv0 - rec.pv
        rows.append({"scenario": rec.scenario, "tranche": rec.tranche, "case": rec.case, "removed": rec.removed,
                     "loss_as_written": l0, "loss_without": rec.loss, "loss_avoided": rec.loss - l0,
                     "loss_avoided_rate": (rec.loss - l0) / bal if bal > 0 else math.nan,
                     "discount_rate": float(b["discount_rate"]), "pv_as_written": pv0, "pv_without": rec.pv,
                     "pv_from_removed": dpv, "share": dpv / pv0 if pv0 > WHOLE_TOLERANCE else math.nan,
                     "cash_as_written": c0, "cash_without": rec.cash, "cash_from_removed": c0 - rec.cash})
    return pd.DataFrame(rows, columns=SHARE_COLUMNS)


BREAKEVEN_COLUMNS = ["scenario", "case", "removed", "tranche", "breakeven_cdr", "first_break", "bound", "monotone",
                     "fail_ranges", "breakeven_cdr_ultimate", "first_break_ultimate", "bound_ultimate",
                     "monotone_ultimate", "fail_ranges_ultimate", "scenario_cdr", "scenario_cdr_equivalent",
                     "multiple_of_scenario", "base_cdr", "multiple_of_base", "below_scenario_cdr",
                     "fails_at_scenario_cdr", "note"]


def _fails_at(ranges: str, x: float) -> bool:
    return any(lo <= x <= hi for lo, hi in parse_ranges(ranges))


def _breakevens(result: Result, cases: list[tuple[str, tuple[str, ...]]], backend: Backend) -> pd.DataFrame:
    """Per scenario, case and tranche: the break-even constant CDR under the ``timely``
    criterion (the first failure) and under ``ultimate`` (nothing lost in the end), whether
    each is monotone and, when not, every range of CDRs at which the tranche fails; the
    scenario's equivalent constant CDR (same lifetime defaults, :func:`equivalent_cdr`)."""
    deal = result.deal
    eq = {sc.name: equivalent_cdr(deal, sc) for sc in result.scenarios}
    base_cdr = eq[result.scenarios[0].name]
    rows = []
    for sc in result.scenarios:
        cdr = eq[sc.name]
        exact = isinstance(sc.defaults.cdr, float | int) and not sc.segments and not sc.receivables.use_tape_pd
        for case, names in cases:
            scx = without(deal, sc, names)
            tabs = {c: breakeven(deal, scx, stresses=["cdr"], curve_points=0, backend=backend, criterion=c).table
                    .set_index("tranche") for c in ("timely", "ultimate")}
            for tranche, rec in tabs["timely"].iterrows():
                ult = tabs["ultimate"].loc[tranche]
                x = float(rec["breakeven"])
                notes = []
                if not rec["monotone"]:
                    notes.append(f"timely: not whole at CDR {rec['fail_ranges']}, whole between; the break-even is the "
                                 "first failure")
                if not ult["monotone"]:
                    notes.append(f"ultimate: loses at CDR {ult['fail_ranges']}, nothing lost between")
                if str(rec["fail_ranges"]) != str(ult["fail_ranges"]):
                    notes.append("the criteria differ: where only timely fails, interest is paid late but nothing "
                                 "is lost in the end")
                rows.append({"scenario": sc.name, "case": case, "removed": ", ".join(names), "tranche": tranche,
                             "breakeven_cdr": x, "first_break": float(rec["first_break"]), "bound": rec["bound"],
                             "monotone": bool(rec["monotone"]), "fail_ranges": rec["fail_ranges"],
                             "breakeven_cdr_ultimate": float(ult["breakeven"]),
                             "first_break_ultimate": float(ult["first_break"]), "bound_ultimate": ult["bound"],
                             "monotone_ultimate": bool(ult["monotone"]), "fail_ranges_ultimate": ult["fail_ranges"],
                             "scenario_cdr": cdr, "scenario_cdr_equivalent": not exact,
                             "multiple_of_scenario": x / cdr if cdr > 0 and x == x else math.nan,
                             "base_cdr": base_cdr,
                             "multiple_of_base": x / base_cdr if base_cdr > 0 and x == x else math.nan,
                             "below_scenario_cdr": bool(x == x and x < cdr),
                             "fails_at_scenario_cdr": _fails_at(str(rec["fail_ranges"]), cdr),
                             "note": "; ".join(notes)})
    return pd.DataFrame(rows, columns=BREAKEVEN_COLUMNS)


def _pool_stress(result: Result) -> pd.DataFrame:
    """Per scenario, the pool's cumulative figures since the cut-off date. A run from a
    status adds the status's cumulative defaults, recoveries and losses and the support its
    history says the pools' layers paid, so every figure is on one basis (since the
    cut-off date) whether the run starts at closing or later; the loss before support, which
    a status does not carry, is then left empty."""
    pm = pool_measures(result.pools)
    pool = result.pool
    before = pool.groupby("scenario", sort=False)["loss_before_support"].sum()
    paid = pool.groupby("scenario", sort=False)["support_paid"].sum()
    rec = pool.groupby("scenario", sort=False)["recovery"].sum()
    orig = sum(p.original_balance for p in result.pools)
    st = result.status
    cum = st.cumulative if st is not None else None
    d0 = cum.defaults if cum is not None else 0.0
    r0 = cum.recoveries if cum is not None else 0.0
    l0 = cum.losses if cum is not None else 0.0
    s0 = sum(h.support_paid for h in st.history) if st is not None else 0.0

    def rate(x: float) -> float:
        return x / orig if orig > 0 else math.nan

    rows = []
    for i, sc in enumerate(result.scenarios):
        b = float(before.get(sc.name, 0.0)) if st is None else math.nan
        dflt = d0 + float(pm["pool_defaults"][i])
        loss = l0 + float(pm["pool_loss"][i])
        rows.append({"scenario": sc.name, "status_date": st.date if st is not None else None,
                     "original_pool_balance": orig,
                     "cumulative_defaults": dflt, "cumulative_default_rate": rate(dflt),
                     "cumulative_recoveries": r0 + float(rec.get(sc.name, 0.0)),
                     "cumulative_loss": loss, "cumulative_loss_rate": rate(loss),
                     "loss_before_support": b, "loss_rate_before_support": rate(b),
                     "support_paid_to_pool": s0 + float(paid.get(sc.name, 0.0)),
                     "status_defaults": d0, "status_losses": l0})
    return pd.DataFrame(rows)


def _speed_runs(result: Result, speeds: Sequence[Speed], backend: Backend) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from ..engine import run as run_engine

    deal = result.deal
    base = result.scenarios[0]
    scs = [sp.scenario(base) for sp in speeds]
    res = run_engine(deal, scs, backend=backend, status=result.status)  # (a run from a status: from it)
    tr = res.tranches
    bal0 = {t.name: t.balance for t in deal.tranches}
    dec = tr[["scenario", "tranche", "period", "payment_date", "balance_end"]].rename(columns={"scenario": "speed"})
    dec = dec.assign(balance_pct=[b / bal0[t] if bal0[t] > 0 else math.nan
                                  for t, b in zip(dec["tranche"], dec["balance_end"], strict=True)])
    a = res.analytics()
    cols = ["scenario", "tranche", "price", "yield", "compounding", "wal_years", "modified_duration",
            "first_principal_date", "last_principal_date", "loss", "note"]
    table = a[[c for c in cols if c in a.columns]].rename(columns={"scenario": "speed"})
    spec = pd.DataFrame([{"speed": sp.name, "cpr": _rate(sc.prepayment.cpr), "cdr": equivalent_cdr(deal, sc)}
                         for sp, sc in zip(speeds, scs, strict=True)])
    return dec.reset_index(drop=True), table.reset_index(drop=True), spec


def event_timeline(result: Result) -> pd.DataFrame:
    """Per scenario and period, what happened besides scheduled payments (a run from a status:
    after the status date, from the status's deal state and trigger states): a trigger fires or
    cures, the deal changes state, a support party pays (pool layers and deal-level
    providers), a rated (non-subordinate) class repays principal after its expected maturity
    (``flag``; the amount is that principal), a tranche's interest
    falls short, principal is written down, the clean-up call is exercised.

    Columns: scenario, period, payment_date, event, subject, amount, detail, flag (True
    for what breaches the terms an investor was promised: a payment after the expected
    maturity, an interest shortfall, a write-down, an event of default).
    """
    deal, sched = result.deal, result.schedule
    rows: list[dict[str, Any]] = []
    dates = list(sched.payment_dates)

    def add(sc: str, period: int, event: str, subject: str, amount: float | None = None, detail: str = "",
            flag: bool = False) -> None:
        rows.append({"scenario": sc, "period": period, "payment_date": dates[period - 1], "event": event,
                     "subject": subject, "amount": amount, "detail": detail, "flag": flag})

    st = result.states
    status = result.status  # a run from a status starts in its state, its triggers as they stand
    state0 = status.deal_state if status is not None else "normal"
    fired0 = {n: t.fired for n, t in status.triggers.items()} if status is not None else {}
    for sc, part in st.groupby("scenario", sort=False):
        part = part.sort_values("period")
        prev = state0
        for rec in part.itertuples(index=False):
            if rec.state != prev:
                add(str(sc), int(rec.period), "state_change", str(rec.state), detail=f"{prev} -> {rec.state}",
                    flag=rec.state == "event_of_default")
                prev = rec.state
        for tg in deal.triggers:
            fired = part[f"trigger:{tg.name}"].to_numpy()
            per = part["period"].to_numpy()
            for i in range(len(fired)):
                was = bool(fired[i - 1]) if i else fired0.get(tg.name, False)
                if fired[i] and not was:
                    add(str(sc), int(per[i]), "trigger_fired", tg.name, detail=f"{tg.metric} {'>' if tg.above is not None else '<'} "
                        f"{tg.above if tg.above is not None else tg.below:g} -> {tg.effect}")
                elif was and not fired[i]:
                    add(str(sc), int(per[i]), "trigger_cured", tg.name)
    for rec in result.layers.itertuples(index=False):
        if rec.paid > WHOLE_TOLERANCE:
            add(str(rec.scenario), int(rec.period), "support_paid", str(rec.party), float(rec.paid), f"pool {rec.pool}")
    for rec in result.support.itertuples(index=False):
        if rec.paid > WHOLE_TOLERANCE:
            add(str(rec.scenario), int(rec.period), "support_paid", str(rec.provider), float(rec.paid), "deal")
    tr = result.tranches
    T = sched.n_periods
    for k, t in enumerate(deal.tranches):
        em = t.expected_maturity or deal.deal.expected_maturity
        t_em = min(sched.period_of(em), T - 1) + 1  # 1-based period of the expected maturity
        carried = bool(result.interest_carried[k])
        rated = t.kind != "subordinate"  # the subordinate's late cash (a residual) breaches nothing
        part = tr[tr["tranche"] == t.name]
        for sc, blk in part.groupby("scenario", sort=False):
            blk = blk.sort_values("period")
            short = blk["interest_shortfall"].to_numpy()
            before = np.concatenate([[0.0], short[:-1]]) if carried else np.zeros_like(short)
            new = np.maximum(short - before, 0.0)
            for rec, ns in zip(blk.itertuples(index=False), new, strict=True):
                p = int(rec.period)
                late = float(rec.principal_paid)  # principal still owed after the expected maturity
                if rated and p > t_em and late > WHOLE_TOLERANCE:
                    add(str(sc), p, "paid_after_expected_maturity", t.name, late,
                        f"expected maturity {em:%Y-%m-%d}", flag=True)
                if ns > WHOLE_TOLERANCE:
                    add(str(sc), p, "interest_shortfall", t.name, float(ns), flag=True)
                if rec.writedown > WHOLE_TOLERANCE:
                    add(str(sc), p, "writedown", t.name, float(rec.writedown), flag=True)
    cp = np.asarray(result.cleanup_period)
    for i, sc in enumerate(result.scenario_names):
        if i < len(cp) and cp[i] >= 0 and len(cp):
            add(sc, int(cp[i]) + 1, "cleanup_call", "originator")
    order = {n: i for i, n in enumerate(result.scenario_names)}
    cols = ["scenario", "period", "payment_date", "event", "subject", "amount", "detail", "flag"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df = df.assign(_o=df["scenario"].map(order)).sort_values(["_o", "period"], kind="stable").drop(columns="_o")
    return df.reset_index(drop=True)


def investor_view(result: Result, *, backend: Backend = "cython", speeds: Sequence[Speed] | None = None,
                  breakevens: bool = True) -> InvestorView:
    """The investor figures of ``result`` (module docstring).

    Engine calls: one for the removal cases of every scenario, one for the speeds, and the
    break-even searches (a few small calls each) of every scenario and case.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> res = ae.run(deal, [ae.load_scenario("scenarios/base.yaml"), ae.load_scenario("scenarios/stress.yaml")])
    >>> view = investor_view(res)
    >>> be = view.breakeven.set_index(["scenario", "case", "tranche"])
    >>> round(float(be.loc[("stress", "standalone", "A"), "breakeven_cdr"]), 4)
    0.1107
    """
    import time

    t0 = time.perf_counter()
    deal = result.deal
    parties = support_parties(deal)
    cases = removal_cases(parties)
    dep = _dependence(result, cases, backend)
    # the break-even search runs from closing: a run from a status (abs_engine/restart.py) leaves it out
    be = _breakevens(result, cases, backend) if breakevens and result.status is None else pd.DataFrame(columns=BREAKEVEN_COLUMNS)
    sp = list(speeds) if speeds is not None else default_speeds(deal, result.scenarios[0])
    dec, table, spec = _speed_runs(result, sp, backend)
    return InvestorView(parties=_party_frame(parties), dependence=dep, support_share=_shares(dep), breakeven=be,
                        pool_stress=_pool_stress(result), decrement=dec, speed_table=table, speeds=spec,
                        events=event_timeline(result), elapsed_s=time.perf_counter() - t0)



# --------------------------------------------------------------------------- collateral fit


@dataclass
class CollateralFit:
    """How the IP behind the pools fits the notes (docs/termsheets.md, "Collateral"):

    ``rights``: one row per IP right the tape lists — pool, right id, type as the tape states
    it, expiry date, years of legal life left at the deal's legal maturity (negative: it
    expires before), appraised value and valuer, the remaining scheduled fees resting on it
    (licence pools: each licence's remaining fees times the right's share) and their share
    of the pool, ranked by that exposure. Pledge-loan pools list one row per loan (its
    pledged rights as a group: type, count, appraised value, valuer; no expiry on the tape).
    ``receivables``: per receivable pool, the remaining scheduled receivables (剩余应收款,
    not an outstanding principal), their present value at the pool's ``discount_rate``
    (annual compounding, ACT/365F from the cut-off date to the end of each grid month) and
    the over-collateralisation present value / notes (NaN without a rate).
    """

    rights: pd.DataFrame
    receivables: pd.DataFrame


def collateral_fit(deal: Deal) -> CollateralFit:
    """The :class:`CollateralFit` of a deal's pools (each kind's rows,
    :meth:`~abs_engine.pools.base.PoolKind.collateral`)."""
    from ..pools.kinds import kind_of

    notes = sum(t.balance for t in deal.tranches)
    rights: list[dict[str, Any]] = []
    recv: list[dict[str, Any]] = []
    for pool in deal.pools:
        rows, receivables = kind_of(pool).collateral(pool, deal.deal, notes)
        rights += rows
        if receivables is not None:
            recv.append(receivables)
    cols = ["pool", "right", "type", "count", "expiry_date", "years_after_legal_maturity", "appraised_value", "valuer",
            "exposure", "exposure_share"]
    df = pd.DataFrame(rights, columns=cols)
    if len(df):
        df = df.sort_values(["pool", "exposure"], ascending=[True, False], kind="stable").reset_index(drop=True)
        df.insert(1, "rank", df.groupby("pool").cumcount() + 1)
    return CollateralFit(df, pd.DataFrame(recv, columns=["pool", "kind", "remaining_receivables", "discount_rate",
                                                          "present_value", "notes", "oc_ratio", "receivables_to_notes"]))
