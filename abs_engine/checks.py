"""Every meaning check of the inputs, in one place: a deal (every name it uses exists with
the right kind, dates name payment dates, its pools meet their kind's rules), the scenarios
run on it, its discount curves, the Monte Carlo settings of a simulation and the status of
a deal picked up mid-life (docs/seasoned.md).

Pure functions over the models (Hastructure keeps the same in ``DealValidation.hs``): each
returns the list of :class:`~abs_engine.errors.Problem` it finds (empty when all is well),
every problem at once, with the file, the field path and the reason. Every entry point calls
them: loading a deal (:func:`abs_engine.io.load_deal`), a run (:func:`abs_engine.run`), the
studies (sweeps, break-evens, Monte Carlo, structuring) and ``abs-engine validate``.
:func:`require` turns a list into an :class:`~abs_engine.errors.InputError`.

The vocabulary these checks speak (the pool kinds, the waterfall's actions, the parties a
residual may be paid to) is the model's: :data:`abs_engine.model.deal.POOL_KINDS`,
:data:`~abs_engine.model.deal.ACTIONS`, :data:`~abs_engine.model.deal.PARTIES`. What a pool
of a kind must meet besides its fields is the kind's own ``check`` (its model class).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, assert_never

import numpy as np

from .analytics import AnalyticsError, Curve
from .curves import SegmentIndex, by_age, is_sda, label, segment_problems
from .dates import build_schedule, calendar_months, grid_month, legal_schedule
from .errors import InputError, Problem, did_you_mean, unknown
from .errors import unknown as unknown_name
from .model.deal import (
    PARTIES,
    STATES,
    TAPES,
    AnyStep,
    Deal,
    DrawReserve,
    FundReserve,
    PayFee,
    PayInterest,
    PayPrincipal,
    PayResidual,
    ReimburseSupport,
    ReleaseReserve,
    RepayLiquidity,
    Transfer,
    asset_id,
    patents_of,
)
from .model.scenario import MonteCarlo, Scenario
from .model.status import PoolStatus, Status
from .model.support import failure_names, payer_capacities, stack_names
from .pools.kinds import kind_of, months_needed
from .pools.receivables import start_balances


def settlement_outside(settlement: dt.date | None, deal: Deal, what: str = "settlement") -> str:
    """Why a settlement (or valuation: ``what``) date cannot be used (before the closing
    date, or on or after the legal maturity, when every class is repaid: nothing is left to
    price), or ''."""
    if settlement is None:
        return ""
    if settlement < deal.deal.closing_date:
        return f"{what} {settlement} is before the closing date {deal.deal.closing_date}"
    if settlement >= deal.deal.legal_maturity:
        return f"{what} {settlement} is on or after the legal maturity {deal.deal.legal_maturity}: nothing is left to price"
    return ""


def valuation_problems(deal: Deal, date: dt.date, file: str) -> list[Problem]:
    """A valuation date (``file``'s ``date``) the deal can be valued on: on or after the
    closing date and before the legal maturity (:func:`settlement_outside`)."""
    why = settlement_outside(date, deal, "the valuation date")
    return [Problem(file, "date", why)] if why else []

def require(problems: Sequence[Problem]) -> None:
    """Raise an :class:`InputError` listing ``problems``, if there are any."""
    if problems:
        raise InputError(list(problems))


# --------------------------------------------------------------------------- deal


def deal_problems(deal: Deal, file: str) -> list[Problem]:
    """Every problem of a validated deal (its fields are valid; this checks what they mean
    together): :func:`asset_problems`, then :func:`reference_problems`."""
    return asset_problems(deal, file) + reference_problems(deal, file)


def check_deal(deal: Deal, file: str = "<deal>") -> None:
    """Raise an :class:`InputError` unless the deal passes :func:`deal_problems`."""
    require(deal_problems(deal, file))


def asset_problems(deal: Deal, file: str) -> list[Problem]:
    """Every pool has assets; asset ids are unique in the deal; each pool meets its kind's
    rules (its model's ``check``: dates after the cut-off, reference rates, the joins of a
    licence pool); a floating tranche's index is a reference rate of the deal."""
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    for i, pool in enumerate(deal.pools):
        at = f"pools[{i}]"
        if not pool.assets and not any(getattr(pool, t[0], None) for t in TAPES.get(pool.kind, [])):
            # (a pool whose tape failed to load has been reported already)
            problems.append(Problem(file, at, "the pool has no assets (give a tape or inline assets)"))
        for a in pool.assets:
            aid = asset_id(a)
            if aid in ids:
                problems.append(Problem(file, f"{at} asset '{aid}'", f"duplicate asset id (also in {ids[aid]})"))
            ids.setdefault(aid, at)
        problems.extend(pool.check(deal.deal, file, at))
    for i, t in enumerate(deal.tranches):
        if t.coupon.kind == "floating" and t.coupon.index not in deal.deal.reference_rates:
            problems.append(Problem(file, f"tranches[{i}].coupon.index", unknown("reference rate", t.coupon.index, list(deal.deal.reference_rates))))
    return problems


def provider_names(deal: Deal) -> list[str]:
    """Every ``provider`` the deal names: pool support layers (and their parties,
    re-guarantors) and deal-level support accounts, in deal order, once each."""
    out: list[str] = []

    def add(x: object) -> None:
        if isinstance(x, str) and x not in out:
            out.append(x)

    for p in deal.pools:
        for layer in p.support:
            add(getattr(layer, "provider", None))
            for party in getattr(layer, "parties", []):
                add(party.provider)
            rg = getattr(layer, "reguarantee", None)
            if rg is not None:
                add(rg.provider)
    for a in deal.accounts:
        add(a.provider)
    return out


def support_party_names(deal: Deal) -> list[str]:
    """The names a scenario's ``support_failures`` (and a simulation's
    ``support_default_probability``) may use: the deal-level support providers (accounts of
    kind undertaking or guarantee), then every payer of the pools' support stacks."""
    return [a.name for a in deal.accounts if a.external] + [n for p in deal.pools for n in failure_names(p.support)]


def _entity_problems(deal: Deal, file: str) -> list[Problem]:
    """``entities``: unique names, each a provider of the deal (else it rates nobody)."""
    problems: list[Problem] = []
    known = provider_names(deal)
    seen: set[str] = set()
    for i, e in enumerate(deal.entities):
        if e.name in seen:
            problems.append(Problem(file, f"entities[{i}].name", f"duplicate entity '{e.name}'"))
        seen.add(e.name)
        if e.name not in known:
            problems.append(Problem(file, f"entities[{i}].name", unknown("provider", e.name, known)))
    return problems


class _Names:
    """The names of a deal by kind, and the problem list the reference checks append to."""

    def __init__(self, deal: Deal, file: str) -> None:
        self.deal, self.file = deal, file
        self.problems: list[Problem] = []
        self.tranches = [t.name for t in deal.tranches]
        self.fees = [f.name for f in deal.fees]
        self.accounts = [a.name for a in deal.accounts]
        self.reserves = [a.name for a in deal.accounts if a.kind == "reserve"]
        self.triggers = [t.name for t in deal.triggers]
        self.providers = [a.name for a in deal.accounts if a.external]
        self.trust_accounts = [a.name for a in deal.accounts if not a.external]
        self.facilities = [a.name for a in deal.accounts if a.kind == "liquidity"]
        #: per tranche: (carry_shortfall, interest_on_shortfall, the step that set them)
        self.carry: dict[str, tuple[bool, bool, str]] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message))

    def ref(self, path: str, kind: str, name: str, known: list[str]) -> None:
        if name not in known:
            self.add(path, unknown(kind, name, known))


def reference_problems(deal: Deal, file: str) -> list[Problem]:
    """Every name used somewhere exists, with the right kind; names are unique; support
    names are unique in the deal; a trigger's effect has its waterfall; tranche totals and
    maturities agree with the header; every date that names a period is a payment date."""
    n = _Names(deal, file)

    def dupes(kind: str, path: str, names: list[str]) -> None:
        seen: set[str] = set()
        for i, x in enumerate(names):
            if x in seen:
                n.add(f"{path}[{i}].name", f"duplicate {kind} name '{x}'")
            seen.add(x)

    dupes("tranche", "tranches", n.tranches)
    dupes("fee", "fees", n.fees)
    dupes("account", "accounts", n.accounts)
    dupes("trigger", "triggers", n.triggers)
    dupes("pool", "pools", [p.name for p in deal.pools])
    for x in set(n.tranches) & set(PARTIES):
        n.add("tranches", f"tranche name '{x}' is reserved for a party")

    # a support party's name identifies it in scenarios (support_failures): unique in the deal
    support_owner: dict[str, str] = {a.name: f"accounts ('{a.name}')" for a in deal.accounts}
    for i, p in enumerate(deal.pools):
        n.ref(f"pools[{i}].deposit_interest_to", "trust account", p.deposit_interest_to, n.trust_accounts)
        n.ref(f"pools[{i}].deposit_principal_to", "trust account", p.deposit_principal_to, n.trust_accounts)
        for x in stack_names(p.support):
            if x in support_owner:
                n.add(f"pools[{i}].support", f"name '{x}' is already used by {support_owner[x]}; "
                      "support names must be unique in the deal")
            else:
                support_owner[x] = f"pools[{i}].support"

    n.problems += _entity_problems(deal, file)
    for x in deal.pricing.tranches:
        n.ref(f"pricing.tranches.{x}", "tranche", x, n.tranches)
    why = settlement_outside(deal.pricing.settlement, deal)
    if why:
        n.add("pricing.settlement", why)

    for i, t in enumerate(deal.triggers):
        for j, x in enumerate(t.tranches):
            n.ref(f"triggers[{i}].tranches[{j}]", "tranche", x, n.tranches)
        if len(set(t.tranches)) != len(t.tranches):
            n.add(f"triggers[{i}].tranches", "a name appears twice in the list")
        if t.account is not None:
            n.ref(f"triggers[{i}].account", "account", t.account, n.accounts)
        state = {"accelerate": "accelerated", "event_of_default": "event_of_default"}[t.effect]
        if getattr(deal.waterfalls, state) is None:
            n.add(f"triggers[{i}].effect", f"moves the deal to '{state}' but waterfalls.{state} is not defined")

    for state in STATES:
        for i, s in enumerate(getattr(deal.waterfalls, state) or []):
            _step_problems(n, s, f"waterfalls.{state}[{i}]")
    # a liquidity facility lends: the deal must say where it is repaid (an undertaking need not)
    repaid = {s.to for state in STATES for s in getattr(deal.waterfalls, state) or [] if isinstance(s, RepayLiquidity)}
    for i, a in enumerate(deal.accounts):
        if a.kind == "liquidity" and a.name not in repaid:
            n.add(f"accounts[{i}]", f"liquidity facility '{a.name}' is never repaid: add a repay_liquidity step "
                  "(its rank in the waterfall) to the waterfalls that draw it")

    if deal.deal.total_notes is not None:
        total = sum(t.balance for t in deal.tranches)
        if abs(total - deal.deal.total_notes) > 0.005:
            n.add("tranches", f"tranche balances add up to {total:,.2f} but deal.total_notes is {deal.deal.total_notes:,.2f}")
    for i, tr in enumerate(deal.tranches):
        for key in ("expected_maturity", "legal_maturity"):
            d = getattr(tr, key)
            if d is not None and not deal.deal.closing_date < d <= deal.deal.legal_maturity:
                n.add(f"tranches[{i}].{key}", f"{d} must be after the closing date and not after the deal's legal maturity")
    # (a schedule is built only from dates it can be built from)
    n.problems.extend(header_date_problems(deal, file) or payment_date_problems(deal, file))
    return n.problems


def _step_problems(n: _Names, s: AnyStep, at: str) -> None:
    """The names of one waterfall step: each action checked in its own arm (a new action
    without an arm is a type error, :func:`typing.assert_never`)."""
    if s.when is not None:
        for key in ("trigger", "not_trigger"):
            x = getattr(s.when, key)
            if x is not None:
                n.ref(f"{at}.when.{key}", "trigger", x, n.triggers)

    def paid_from_trust() -> None:
        n.ref(f"{at}.from", "trust account", s.from_, n.trust_accounts)

    def backed(step: PayFee | PayInterest | PayPrincipal) -> None:
        """``support`` accounts (not a provider behind principal), and the step's ``to`` list."""
        for j, x in enumerate(step.support):
            n.ref(f"{at}.support[{j}]", "account", x, n.accounts)
            if isinstance(step, PayPrincipal) and x in n.providers:
                n.add(f"{at}.support[{j}]", f"support provider '{x}' cannot back a pay_principal step "
                      "(it would pay every principal payable); draw it with draw_reserve and cover.principal")
        if step.from_ in step.support:
            n.add(f"{at}.support", f"'{step.from_}' is the step's own account (from), not a support")
        if len(set(step.to)) != len(step.to):
            n.add(f"{at}.to", "a name appears twice in the list")

    def moves_cash(step: FundReserve | ReleaseReserve | DrawReserve | Transfer) -> None:
        """Into a trust account, never from an account into itself."""
        if step.to in n.providers:
            n.add(f"{at}.to", f"cannot pay into support provider '{step.to}'")
        # circular: an account that pays itself (a fund_reserve into a non-reserve is said below)
        if step.to == step.from_ and (not isinstance(step, FundReserve) or step.to in n.reserves):
            n.add(f"{at}.to", f"moves cash from '{step.from_}' to itself")

    match s:
        case PayFee():
            paid_from_trust()
            backed(s)
            for j, x in enumerate(s.to):
                n.ref(f"{at}.to[{j}]", "fee", x, n.fees)
        case PayInterest():
            paid_from_trust()
            backed(s)
            for j, x in enumerate(s.to):
                n.ref(f"{at}.to[{j}]", "tranche", x, n.tranches)
            for j, x in enumerate(s.to):
                if x in n.tranches and n.deal.tranche(x).coupon.kind == "none":
                    n.add(f"{at}.to[{j}]", f"tranche '{x}' has no coupon (coupon.kind: none)")
                flags = (s.carry_shortfall, s.interest_on_shortfall, at)
                if x in n.carry and n.carry[x][:2] != flags[:2]:
                    n.add(at, f"carry_shortfall/interest_on_shortfall for '{x}' differ from {n.carry[x][2]}")
                n.carry.setdefault(x, flags)
        case PayPrincipal():
            paid_from_trust()
            backed(s)
            for j, x in enumerate(s.to):
                n.ref(f"{at}.to[{j}]", "tranche", x, n.tranches)
        case FundReserve():
            paid_from_trust()
            moves_cash(s)
            n.ref(f"{at}.to", "reserve account", s.to, n.reserves)
        case ReleaseReserve():
            n.ref(f"{at}.from", "reserve account", s.from_, n.reserves)
            moves_cash(s)
            n.ref(f"{at}.to", "account", s.to, n.accounts)
        case DrawReserve():
            n.ref(f"{at}.from", "reserve account or support provider", s.from_, n.reserves + n.providers)
            moves_cash(s)
            n.ref(f"{at}.to", "account", s.to, n.accounts)
            for key, kind, known in (("fees", "fee", n.fees), ("interest", "tranche", n.tranches),
                                     ("principal", "tranche", n.tranches)):
                for j, x in enumerate(getattr(s.cover, key)):
                    n.ref(f"{at}.cover.{key}[{j}]", kind, x, known)
        case Transfer():
            paid_from_trust()
            moves_cash(s)
            n.ref(f"{at}.to", "account", s.to, n.accounts)
        case PayResidual():
            paid_from_trust()
            n.ref(f"{at}.to", "tranche or party", s.to, n.tranches + list(PARTIES))
        case ReimburseSupport():
            paid_from_trust()
            if s.to in n.facilities:
                n.add(f"{at}.to", f"'{s.to}' is a liquidity facility: repay it with repay_liquidity (interest "
                      "and fees, then principal)")
            else:
                n.ref(f"{at}.to", "support provider", s.to, n.providers)
        case RepayLiquidity():
            paid_from_trust()
            n.ref(f"{at}.to", "liquidity facility", s.to, n.facilities)
        case _:
            assert_never(s)


def payment_date_problems(deal: Deal, file: str) -> list[Problem]:
    """Every date of the deal that names a period (expected maturities, principal schedule
    rows, ``when`` dates) is one of its payment dates, unadjusted or adjusted; two schedule
    rows of a tranche name different periods (docs/deal-language.md, "Dates that name a
    payment date")."""
    sched = build_schedule(deal.deal, 0)
    problems: list[Problem] = []

    def check(at: str, d: dt.date | None) -> int | None:
        if d is None:
            return None
        t = sched.match(d)
        if t is None:
            problems.append(Problem(file, at, sched.not_a_payment_date(d)))
        return t

    check("deal.expected_maturity", deal.deal.expected_maturity)
    for i, tr in enumerate(deal.tranches):
        check(f"tranches[{i}].expected_maturity", tr.expected_maturity)
        named: dict[int, int] = {}
        for j, row in enumerate(tr.principal.schedule):
            t = check(f"tranches[{i}].principal.schedule[{j}].date", row.date)
            if t is not None and t in named:
                problems.append(Problem(file, f"tranches[{i}].principal.schedule[{j}].date",
                                        f"{row.date} names the same payment date as schedule[{named[t]}] "
                                        f"({tr.principal.schedule[named[t]].date})"))
            elif t is not None:
                named[t] = j
    for state in STATES:
        for j, step in enumerate(getattr(deal.waterfalls, state) or []):
            if step.when is not None:
                check(f"waterfalls.{state}[{j}].when.on_or_after", step.when.on_or_after)
                check(f"waterfalls.{state}[{j}].when.before", step.when.before)
    return problems


def curve_problems(spec: object, reference_date: Any, file: str, path: str) -> list[Problem]:
    """Why a curve mapping (docs/analytics.md, "Curve files") cannot be built, if it cannot."""
    if not isinstance(spec, dict):
        return [Problem(file, path, f"a curve is a mapping (kind, points, ...), not {type(spec).__name__}")]
    try:
        Curve.from_dict(spec, reference_date=reference_date)
    except AnalyticsError as exc:
        return [Problem(file, path, str(exc))]
    return []


# --------------------------------------------------------------------------- scenarios


def scenario_problems(deal: Deal, scenarios: Sequence[Scenario]) -> list[Problem]:
    """Every name a scenario uses resolves in the deal (with a did-you-mean), and every date
    it gives falls inside the deal (a default dated before the cut-off date would silently
    become a first-month default; one after the legal maturity would have no effect);
    scenario names are unique; a scenario's own curve builds."""
    problems: list[Problem] = []
    h = deal.deal
    ids = {asset_id(a) for p in deal.pools for a in p.assets}
    patents = sorted({pt.patent_id for p in deal.pools for pt in getattr(p, "patents", [])})
    names: set[str] = set()
    # what may fail: deal-level providers (accounts) and every payer of the pools' stacks
    providers = support_party_names(deal)

    def outside(d: dt.date, first: dt.date, first_name: str) -> str | None:
        if d < first:
            return f"{d} is before the {first_name} {first}"
        if d > h.legal_maturity:
            return f"{d} is after the legal maturity {h.legal_maturity}"
        return None

    # (loans have an age and prepay: the pools whose kind takes a scenario's prepayment)
    receivable_pools = [p.name for p in deal.pools if "prepayment" not in type(p).SECTIONS]
    loans = [SegmentIndex(p.name, p.assets) for p in deal.pools if "prepayment" in type(p).SECTIONS]
    for sc in scenarios:
        where = f"scenario '{sc.name}'"
        if receivable_pools and (by_age(sc.defaults.cdr) or is_sda(sc.defaults.cdr)):
            problems.append(Problem(where, "defaults.cdr", (
                f"{label(sc.defaults.cdr)} runs on loan age, which the receivable pools of the deal "
                f"({', '.join(receivable_pools)}) do not have; write the rate by projection_month")))
        problems += segment_problems(sc, loans)
        for what, on in (("recovery.advancing", sc.recovery.advancing != "none"), ("delinquency", sc.delinquency is not None)):
            for p in deal.pools if on else []:
                if "prepayment" in type(p).SECTIONS and p.support:
                    problems.append(Problem(f"scenario '{sc.name}'", what, (
                        f"{'servicer advancing' if what != 'delinquency' else 'a delinquency pipeline'} with the "
                        f"risk-sharing layers of pool '{p.name}' is not modelled (the layers take each default "
                        "as it happens); run it without")))
        if sc.name in names:
            problems.append(Problem(where, "name", "duplicate scenario name"))
        names.add(sc.name)
        for lid, day in sc.defaults.loans.items():
            if lid not in ids:
                hint = did_you_mean(lid, sorted(ids)) if len(ids) <= 10_000 else ""
                problems.append(Problem(where, f"defaults.loans.{lid}", f"unknown loan id '{lid}'{hint}"))
            elif (why := outside(day, h.cutoff_date, "cut-off date")) is not None:
                problems.append(Problem(where, f"defaults.loans.{lid}", f"default date {why}"))
        for i, ev in enumerate(sc.patents.events):
            if ev.patent not in patents:
                problems.append(Problem(where, f"patents.events[{i}].patent",
                                        unknown("patent", ev.patent, patents[:20]) if patents
                                        else f"unknown patent '{ev.patent}' (the deal has no licence pool with patents)"))
            elif (why := outside(ev.date, h.cutoff_date, "cut-off date")) is not None:
                problems.append(Problem(where, f"patents.events[{i}].date", f"event date {why}"))
        for name in sc.support_failures:  # (any date: before the cut-off, failed from the start)
            if name not in providers:
                problems.append(Problem(where, f"support_failures.{name}",
                                        f"not a support provider of the deal{did_you_mean(name, providers)} "
                                        f"(known: {', '.join(providers) or 'none'})"))
        if sc.curve is not None:
            settle = deal.pricing.settlement or h.closing_date
            problems += curve_problems(sc.curve, settle, where, "curve")
        for ref in sc.reference_rates:
            if ref not in h.reference_rates:
                known = ", ".join(h.reference_rates) or "none"
                problems.append(Problem(where, f"reference_rates.{ref}",
                                        f"not a reference rate of the deal{did_you_mean(ref, list(h.reference_rates))} (known: {known})"))
    return problems


#: Longest projection grid in months (cut-off to the last cash flow plus the recovery lag).
MAX_HORIZON_MONTHS = 1200


def _latest_asset(pool: Any) -> str:
    """", asset '<id>': <field> <date>" for the asset with the latest date of
    ``pool`` (any date field of its model: a maturity, a last fee or instalment), or ''."""
    best: tuple[dt.date, str, str] | None = None
    for a in pool.assets:
        for field in type(a).model_fields:
            d = getattr(a, field, None)
            if isinstance(d, dt.date) and (best is None or d > best[0]):
                best = (d, asset_id(a), field)
    return f", asset '{best[1]}': {best[2]} {best[0]}" if best is not None else ""


def horizon_problems(deal: Deal, scenarios: Sequence[Scenario], file: str = "<deal>") -> list[Problem]:
    """The projection grid (cut-off date to the last scheduled cash flow or the legal
    maturity, plus the longest recovery lag of ``scenarios``, none when empty:
    :func:`~abs_engine.pools.kinds.horizon_months`) is at most :data:`MAX_HORIZON_MONTHS`:
    a maturity typed 9999 would make a grid of 95,000 months. Each pool whose own cash flows
    run beyond the limit is named with its latest asset; else the legal maturity.
    The deal's checks call it without scenarios, every run's with its own."""
    h = deal.deal
    lag = max((max(s.recovery.lag_months, s.receivables.recovery_lag_months) for s in scenarios), default=0)
    limit = f"the limit is {MAX_HORIZON_MONTHS:,} months ({MAX_HORIZON_MONTHS // 12} years): is a date mistyped?"
    problems: list[Problem] = []
    for i, pool in enumerate(deal.pools):
        if pool.assets and (months := months_needed(pool, h.cutoff_date) + lag) > MAX_HORIZON_MONTHS:
            problems.append(Problem(file, f"pools[{i}]", (
                f"the projection would run {months:,} months from the cut-off date {h.cutoff_date} (to the pool's "
                f"last scheduled cash flow{_latest_asset(pool)}, plus the recovery lag); {limit}")))
    if problems:
        return problems
    if (months := calendar_months(h.cutoff_date, h.legal_maturity) + 1 + lag) > MAX_HORIZON_MONTHS:
        problems.append(Problem(file, "deal.legal_maturity", (
            f"the projection would run {months:,} months from the cut-off date {h.cutoff_date} "
            f"(to the last maturity or legal maturity, plus the recovery lag); {limit}")))
    return problems


#: The years a deal's dates may fall in: QuantLib's calendars (payment dates, business days).
DATE_YEARS = (1901, 2199)


def header_date_problems(deal: Deal, file: str) -> list[Problem]:
    """The header's dates lie in :data:`DATE_YEARS` (QuantLib's range) and the legal maturity
    within the horizon limit (:func:`horizon_problems`): the dates a payment schedule is
    built from."""
    lo, hi = DATE_YEARS
    problems = [Problem(file, f"deal.{k}", f"{d} is outside the years {lo}-{hi} that payment calendars cover: is the year mistyped?")
                for k in ("cutoff_date", "closing_date", "first_payment_date", "expected_maturity", "legal_maturity")
                if not lo <= (d := getattr(deal.deal, k)).year <= hi]
    return problems or horizon_problems(deal, [], file)


def check_scenarios(deal: Deal, scenarios: Sequence[Scenario], file: str = "<deal>") -> None:
    """Raise an :class:`InputError` unless the scenarios pass :func:`scenario_problems`
    and the projection of the deal (``file``) fits the horizon limit (:func:`horizon_problems`)."""
    require(scenario_problems(deal, scenarios) + horizon_problems(deal, scenarios, file))


def check_run(deal: Deal, scenarios: Sequence[Scenario]) -> None:
    """What every run checks before it projects anything: the deal
    (:func:`deal_problems`), then the scenarios (:func:`scenario_problems`)."""
    check_deal(deal)
    check_scenarios(deal, scenarios)


# --------------------------------------------------------------------------- Monte Carlo


def simulation_problems(scenario: Scenario) -> list[Problem]:
    """What a Monte Carlo cannot draw paths of: a delinquency pipeline (an expected-value
    model: shares of each loan roll from bucket to bucket; the paths draw whole defaults)."""
    if scenario.delinquency is None:
        return []
    return [Problem(f"scenario '{scenario.name}'", "delinquency", (
        "a delinquency pipeline is an expected-value model (shares of each loan roll from bucket to "
        "bucket); Monte Carlo paths draw whole defaults from defaults.cdr: simulate without it"))]


def settings_problems(deal: Deal, settings: MonteCarlo, file: str = "monte carlo") -> list[Problem]:
    """Every name in Monte Carlo ``settings`` the deal does not have: a key of ``correlations``
    that is no industry (or IP type, after ``correlation_by``) of the deal's assets, a key of
    ``patent_correlations`` that is no patent type of its licence pools, a
    ``support_default_probability`` that is no support party; ``correlations`` given with
    ``correlation_by: none``. One problem each (file, field path, reason, the known names)."""
    problems: list[Problem] = []

    def unknown_keys(path: str, names: list[str], known: list[str], what: str) -> None:
        for x in names:
            if x not in known:
                problems.append(Problem(file, f"{path}.{x}", f"not {what} of the deal{did_you_mean(x, known, 0.6)} "
                                        f"(known: {', '.join(known) or 'none'})"))

    by = settings.correlation_by
    if by == "none" and settings.correlations:
        problems.append(Problem(file, "correlations", "given, but correlation_by is 'none' (every obligor has "
                                "`correlation`); set correlation_by: industry or ip_type, or remove correlations"))
    elif by != "none":
        groups = sorted({str(g) for p in deal.pools for a in p.assets if (g := getattr(a, by, None)) is not None})
        unknown_keys("correlations", list(settings.correlations), groups,
                     "an industry" if by == "industry" else "an IP type")
    types = sorted({str(pt.type) for p in deal.pools for pt in getattr(p, "patents", None) or []})
    unknown_keys("patent_correlations", list(settings.patent_correlations), types, "a patent type")
    unknown_keys("support_default_probability", list(settings.support_default_probability), support_party_names(deal),
                 "a support party")
    return problems


# --------------------------------------------------------------------------- statuses


#: Money within this of a stated total adds up (a cent, and rounding of large sums).
CENT = 0.01


def adds_up(stated: float, computed: float) -> bool:
    """Whether a stated figure matches the figures it sums, to the cent (and 1e-9 of it)."""
    return abs(stated - computed) <= CENT + 1e-9 * max(abs(stated), abs(computed))




#: Where the rows of a pool's list came from: (pool, list field) -> (rows given inline, tape file).
Origins = dict[tuple[str, str], tuple[int, str]]


def status_problems(deal: Deal, st: Status, file: str, origins: Origins | None = None) -> list[Problem]:
    """Every problem of a status against its deal (docs/seasoned.md, "Checks"); a row read
    from a tape (``origins``, from :func:`load_status`) is named by the tape and its row."""
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(file, path, message))

    def unknown(path: str, kind: str, name: str, known: list[str]) -> None:
        bad(path, unknown_name(kind, name, known))

    if st.deal != deal.name:
        bad("deal", f"the status is of deal '{st.deal}', not '{deal.name}'")
    for a in deal.accounts:
        if a.kind == "liquidity":  # (a status carries no facility interest owed yet)
            bad("accounts", f"deal account '{a.name}' is a liquidity facility: a run from a status does not "
                "model liquidity facilities yet (the status carries no facility interest owed); run from closing")
    sched = legal_schedule(deal.deal)
    period = sched.match(st.date)
    if period is None:
        bad("date", sched.not_a_payment_date(st.date))
        return problems  # every other check counts periods from it
    if period >= sched.n_periods - 1:
        bad("date", f"{st.date} is the deal's last payment date: nothing is left to project")
    month = sched.paid_through(period)
    pool_date = sched.grid[month]

    # notes
    for name in st.tranches:
        if name not in [t.name for t in deal.tranches]:
            unknown(f"tranches.{name}", "tranche", name, [t.name for t in deal.tranches])
    carries = _carrying_tranches(deal)
    for tr in deal.tranches:
        ts = st.tranches.get(tr.name)
        if ts is None:
            bad("tranches", f"no status for tranche '{tr.name}' (every class is needed: its balance after the payments)")
            continue
        if ts.balance > tr.balance + CENT:
            bad(f"tranches.{tr.name}.balance", f"{ts.balance:,.2f} exceeds the original balance {tr.balance:,.2f}")
        if ts.unpaid_interest > 0 and tr.name not in carries:
            bad(f"tranches.{tr.name}.unpaid_interest", "the class does not carry unpaid interest (its pay_interest step forfeits it)")
    fees = {f.name: f for f in deal.fees}
    for name, amount in st.fees.items():
        if name not in fees:
            unknown(f"fees.{name}", "fee", name, list(fees))
        elif amount > 0 and not fees[name].carry_forward:
            bad(f"fees.{name}", "the fee does not carry unpaid amounts forward (carry_forward: false)")

    # accounts
    accounts = {a.name: a for a in deal.accounts}
    for name in st.accounts:
        if name not in accounts:
            unknown(f"accounts.{name}", "account", name, list(accounts))
    notes = sum(ts.balance for ts in st.tranches.values())
    pool_balance = sum(ps.balance for ps in st.pools.values())
    for a in deal.accounts:
        s = st.accounts.get(a.name)
        at = f"accounts.{a.name}"
        if s is None:
            bad("accounts", f"no status for account '{a.name}'")
            continue
        if a.external:
            if s.balance is not None:
                bad(f"{at}.balance", "a support provider has capacity_remaining and owed, not a balance")
            if a.capacity is not None:
                if s.capacity_remaining is None:
                    bad(at, f"give capacity_remaining (the deal limits the provider to {a.capacity:,.2f})")
                elif s.capacity_remaining > a.capacity + CENT:
                    bad(f"{at}.capacity_remaining", f"{s.capacity_remaining:,.2f} exceeds the provider's capacity {a.capacity:,.2f}")
                if s.owed > a.capacity + CENT:  # (what it paid in and is owed back: at most what it could pay)
                    bad(f"{at}.owed", f"{s.owed:,.2f} exceeds the provider's capacity {a.capacity:,.2f}: it cannot be owed more than it can pay")
        else:
            if s.balance is None:
                bad(f"{at}.balance", "give the account's balance after the status date's payments")
            for fld in ("capacity_remaining", "owed"):
                if getattr(s, fld):
                    bad(f"{at}.{fld}", "only support providers (undertaking, guarantee) have one")
        if s.target_met is not None:
            if a.target is None:
                bad(f"{at}.target_met", "only reserve accounts have a target")
            elif s.balance is not None:
                target = a.target.level(notes, pool_balance)
                met = s.balance >= target - CENT
                if met != s.target_met:
                    bad(f"{at}.target_met", f"says {'met' if s.target_met else 'not met'}, but the balance {s.balance:,.2f} "
                        f"{'meets' if met else 'is below'} the target {target:,.2f} (from the status's note and pool balances)")

    # cumulative figures and the pools
    listed = sum(d.amount for ps in st.pools.values() for d in ps.defaults)
    recovered = sum(d.recovered or 0.0 for ps in st.pools.values() for d in ps.defaults)
    cum = st.cumulative
    if not adds_up(cum.defaults, listed + cum.terminations):
        bad("cumulative.defaults", f"{cum.defaults:,.2f} does not add up: the defaults listed total {listed:,.2f}"
            + (f" and the terminations {cum.terminations:,.2f}" if cum.terminations else ""))
    if not adds_up(cum.recoveries, recovered):
        bad("cumulative.recoveries", f"{cum.recoveries:,.2f} does not add up: the proceeds received in the defaults listed total {recovered:,.2f}")
    pools = {p.name: p for p in deal.pools}
    for name in st.pools:
        if name not in pools:
            unknown(f"pools.{name}", "pool", name, list(pools))
    for pool in deal.pools:
        ps = st.pools.get(pool.name)
        if ps is None:
            bad("pools", f"no status for pool '{pool.name}'")
            continue
        problems += _check_pool(pool, ps, f"pools.{pool.name}", file, deal.deal.cutoff_date, pool_date, origins or {})

    # triggers and the deal state
    trig = {t.name: t for t in deal.triggers}
    for name in st.triggers:
        if name not in trig:
            unknown(f"triggers.{name}", "trigger", name, list(trig))
    original = _original_pool(deal)
    severity = 0
    for t in deal.triggers:
        tg = st.triggers.get(t.name)
        if tg is None:
            continue
        at = f"triggers.{t.name}"
        if tg.consecutive > period + 1:
            bad(f"{at}.consecutive", f"{tg.consecutive} breaches in a row, but only {period + 1} tests have run by {st.date}")
        if tg.consecutive >= t.consecutive and not tg.fired:
            bad(f"{at}.fired", f"{tg.consecutive} breaches in a row reach the trigger's {t.consecutive}: it has fired")
        if tg.fired and t.curable and tg.consecutive < t.consecutive:
            bad(f"{at}.fired", f"a curable trigger is fired only while breached {t.consecutive} time(s) in a row ({tg.consecutive} given)")
        if t.metric == "cumulative_default_ratio" and original > 0:
            ratio = cum.defaults / original
            breach = ratio > t.above if t.above is not None else ratio < (t.below or 0.0)
            level = t.above if t.above is not None else t.below
            if breach and tg.consecutive == 0:
                bad(f"{at}.consecutive", f"the cumulative default ratio {ratio:.6%} breaches {level:.6%} on the status date: the count is at least 1")
            if not breach and tg.consecutive > 0:
                bad(f"{at}.consecutive", f"the cumulative default ratio {ratio:.6%} does not breach {level:.6%}: the count is 0")
        if tg.fired:
            severity = max(severity, 1 if t.effect == "accelerate" else 2)
    for t in deal.triggers:  # (an omitted trigger: not fired, no breach)
        if t.name not in st.triggers and t.metric == "cumulative_default_ratio" and original > 0:
            ratio = cum.defaults / original
            if (ratio > t.above) if t.above is not None else (ratio < (t.below or 0.0)):
                bad("triggers", f"trigger '{t.name}': the cumulative default ratio {ratio:.6%} breaches its level; give its state")
    if STATES.index(st.deal_state) != severity:
        bad("deal_state", f"'{st.deal_state}' contradicts the fired triggers (they put the deal in '{STATES[severity]}')")

    # history
    last: int | None = None
    tranche_names = [tr.name for tr in deal.tranches]
    for i, h in enumerate(st.history):
        u = sched.match(h.date)
        if u is None:
            bad(f"history[{i}].date", sched.not_a_payment_date(h.date))
        elif u > period:
            bad(f"history[{i}].date", f"{h.date} is after the status date {st.date}")
        elif last is not None and u <= last:
            bad(f"history[{i}].date", "periods must be listed oldest first, once each")
        last = u if u is not None else last
        for name in h.tranches:
            if name not in tranche_names:
                unknown(f"history[{i}].tranches.{name}", "tranche", name, tranche_names)
    return problems


def _check_pool(pool: Any, ps: PoolStatus, at: str, file: str, cutoff: dt.date, pool_date: dt.date,
                origins: Origins) -> list[Problem]:
    problems: list[Problem] = []

    def bad(path: str, message: str) -> None:
        problems.append(Problem(file, path, message))

    def row(field: str, i: int, message: str, column: str = "") -> None:
        """A problem of row ``i`` of the pool's list ``field``: in its tape, or inline."""
        n_inline, tape = origins.get((pool.name, field), (len(getattr(ps, field)), ""))
        if i >= n_inline:
            problems.append(Problem(tape, f"row {i - n_inline + 2}" + (f": {column}" if column else ""), message))
        else:
            bad(f"{at}.{field}[{i}]" + (f".{column}" if column else ""), message)

    assets = {asset_id(a): a for a in pool.assets}
    seen: set[str] = set()
    for i, a in enumerate(ps.assets):
        if a.asset_id not in assets:
            row("assets", i, f"unknown asset '{a.asset_id}' (not in the pool's tape)", "asset_id")
        elif a.asset_id in seen:
            row("assets", i, f"asset '{a.asset_id}' listed twice", "asset_id")
        elif "receivables" not in type(pool).SECTIONS and a.balance > assets[a.asset_id].balance + CENT:
            row("assets", i, f"{a.balance:,.2f} exceeds the loan's balance at the cut-off date "
                f"{assets[a.asset_id].balance:,.2f}", "balance")
        seen.add(a.asset_id)
    if "receivables" in type(pool).SECTIONS:  # a receivable's balance is its remaining fees: they must agree
        _receivable_balances(pool, ps, cutoff, pool_date, row)
    total = sum(a.balance for a in ps.assets)
    if not adds_up(ps.balance, total):
        bad(f"{at}.balance", f"{ps.balance:,.2f} does not add up: the assets listed total {total:,.2f}")
    def known_and_dated(field: str, i: int, aid: str, date: dt.date, column: str) -> None:
        """A row of ``field`` names an asset of the pool and a date since the cut-off date."""
        if aid not in assets:
            row(field, i, f"unknown asset '{aid}' (not in the pool's tape)", "asset_id")
        if not cutoff < date <= pool_date:
            row(field, i, f"{date} is not between the cut-off date {cutoff} and the pool's status date {pool_date} "
                "(the end of the last collection period paid)", column)

    months: set[tuple[str, int, int]] = set()
    for i, d in enumerate(ps.defaults):
        known_and_dated("defaults", i, d.asset_id, d.default_date, "default_date")
        key = (d.asset_id, d.default_date.year, d.default_date.month)
        if key in months:
            row("defaults", i, f"asset '{d.asset_id}' defaults twice in {d.default_date:%Y-%m}", "default_date")
        months.add(key)
        if "receivables" not in type(pool).SECTIONS and d.asset_id in assets and d.amount > assets[d.asset_id].balance + CENT:
            row("defaults", i, f"{d.amount:,.2f} exceeds the loan's balance at the cut-off date "
                f"{assets[d.asset_id].balance:,.2f}", "amount")
        if d.recovery_date is not None and d.recovery_date > pool_date:
            row("defaults", i, f"{d.recovery_date} is after the pool's status date {pool_date}: not received yet",
                "recovery_date")
    if "patents" in type(pool).SECTIONS:
        known = {p.patent_id for p in patents_of(pool)}
        for i, pt in enumerate(ps.patents):
            if pt.patent_id not in known:
                row("patents", i, f"unknown patent '{pt.patent_id}' (not in the pool's patent tape)", "patent_id")
    elif ps.patents:
        bad(f"{at}.patents", f"only licence pools have patents (this pool is a {pool.kind} pool)")
    for i, x in enumerate(ps.interest):
        known_and_dated("interest", i, x.asset_id, x.month_end, "month_end")
    if ps.interest and not any(layer.kind == "interest_subsidy" for layer in pool.support):
        bad(f"{at}.interest", "only a pool with an interest subsidy needs the interest its loans paid")
    payers = failure_names(pool.support)
    capacities = payer_capacities(pool.support)
    for name, pay in ps.support.items():
        if name not in payers:
            bad(f"{at}.support.{name}", unknown_name("payer of the pool's support stack", name, payers))
        elif pay.capacity_remaining is not None and (cap := capacities.get(name)) is not None \
                and pay.capacity_remaining > cap + CENT:
            bad(f"{at}.support.{name}.capacity_remaining",
                f"{pay.capacity_remaining:,.2f} exceeds the payer's capacity {cap:,.2f} in the deal")
    return problems


def _receivable_balances(pool: Any, ps: PoolStatus, cutoff: dt.date, pool_date: dt.date, row: Any) -> None:
    """Each listed receivable's balance against its scheduled fees after the pool's status
    date, on its patents in force, times its chance of performing (reported through ``row``)."""
    month = grid_month(pool_date, cutoff)
    kind = kind_of(pool)
    arr = kind.prepare(pool, cutoff, max(kind.months_needed(pool, cutoff), month), [])
    index = {a: i for i, a in enumerate(arr.ids)}
    patents = None
    if arr.patents_at_risk:
        pidx = {p: i for i, p in enumerate(arr.patent_ids)}
        patents = np.ones(len(pidx))
        for pt in ps.patents:
            if pt.patent_id in pidx:
                patents[pidx[pt.patent_id]] = pt.in_force
    performing = np.zeros(len(arr.ids))
    for a in ps.assets:
        if a.asset_id in index:
            performing[index[a.asset_id]] = a.performing
    want = start_balances(arr, performing, patents, month)
    what = "fees on the patents in force" if arr.patents_at_risk else "instalments"
    for i, a in enumerate(ps.assets):
        j = index.get(a.asset_id)
        if j is not None and not adds_up(a.balance, float(want[j])):
            row("assets", i, f"{a.balance:,.2f} does not add up: the scheduled {what} after {pool_date}, times the "
                f"chance of performing ({a.performing:g}), are {want[j]:,.2f}", "balance")


def _carrying_tranches(deal: Deal) -> set[str]:
    """Tranches whose unpaid interest is carried (every pay_interest step naming them carries)."""
    out = {t.name for t in deal.tranches}
    for state in STATES:
        for s in getattr(deal.waterfalls, state) or []:
            if s.action == "pay_interest" and not s.carry_shortfall:
                out -= set(s.to)
    return out


def _original_pool(deal: Deal) -> float:
    """The pools' balance at the cut-off date, as the cumulative default ratio divides by."""
    total = 0.0
    for p in deal.pools:
        total += kind_of(p).original_balance(p, deal.deal.cutoff_date)
    return total
