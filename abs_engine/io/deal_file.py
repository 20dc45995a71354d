"""Loading deal files: YAML -> :class:`~abs_engine.model.deal.Deal`, with tapes read and
every cross-reference checked. All problems are collected and raised together."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..dates import build_schedule
from ..errors import InputError, Problem
from ..model.deal import (
    TAPES,
    Deal,
    Exclusion,
    LicencePool,
    Parties,
    PledgeLoanPool,
    TransferPool,
    asset_id,
)
from ..model.support import stack_names
from .tape import parse_rows, read_table
from .validation import problems_from_validation
from .yamlio import load_yaml

#: Names that `pay_residual.to` may use besides tranche names.
PARTIES = tuple(Parties.model_fields)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{name}'{hint} (known: {', '.join(known) or 'none'})"


def check_assets(deal: Deal, file: str) -> list[Problem]:
    """Every pool has assets; ids are unique; dates and reference rates make sense."""
    problems: list[Problem] = []
    cutoff = deal.deal.cutoff_date
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
        if isinstance(pool, PledgeLoanPool):
            for a in pool.assets:
                if a.maturity_date <= cutoff:
                    problems.append(Problem(file, f"{at} loan '{a.loan_id}'", f"matures on {a.maturity_date}, on or before the cut-off date {cutoff}"))
                if a.reference is not None and a.reference not in deal.deal.reference_rates:
                    problems.append(Problem(file, f"{at} loan '{a.loan_id}'", _unknown("reference rate", a.reference, list(deal.deal.reference_rates))))
        elif isinstance(pool, LicencePool):
            problems.extend(_check_licence_pool(pool, at, file))
            for a in pool.licences:
                if a.last_fee_date <= cutoff:
                    problems.append(Problem(file, f"{at} licence '{a.licence_id}'", f"last fee on {a.last_fee_date}, on or before the cut-off date {cutoff}"))
        elif isinstance(pool, TransferPool):
            for a in pool.assets:
                if a.last_date <= cutoff:
                    problems.append(Problem(file, f"{at} receivable '{a.receivable_id}'", f"last instalment on {a.last_date}, on or before the cut-off date {cutoff}"))
    for i, t in enumerate(deal.tranches):
        if t.coupon.kind == "floating" and t.coupon.index not in deal.deal.reference_rates:
            problems.append(Problem(file, f"tranches[{i}].coupon.index", _unknown("reference rate", t.coupon.index, list(deal.deal.reference_rates))))
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
            problems.append(Problem(file, f"entities[{i}].name", _unknown("provider", e.name, known)))
    return problems


def check_references(deal: Deal, file: str) -> list[Problem]:
    """Every name used somewhere must exist, with the right kind."""
    problems: list[Problem] = []

    def dupes(kind: str, path: str, names: list[str]) -> None:
        seen: set[str] = set()
        for i, n in enumerate(names):
            if n in seen:
                problems.append(Problem(file, f"{path}[{i}].name", f"duplicate {kind} name '{n}'"))
            seen.add(n)

    tranches = [t.name for t in deal.tranches]
    fees = [f.name for f in deal.fees]
    accounts = [a.name for a in deal.accounts]
    reserves = [a.name for a in deal.accounts if a.kind == "reserve"]
    triggers = [t.name for t in deal.triggers]
    dupes("tranche", "tranches", tranches)
    dupes("fee", "fees", fees)
    dupes("account", "accounts", accounts)
    dupes("trigger", "triggers", triggers)
    dupes("pool", "pools", [p.name for p in deal.pools])
    overlap = set(tranches) & set(PARTIES)
    for n in overlap:
        problems.append(Problem(file, "tranches", f"tranche name '{n}' is reserved for a party"))

    def ref(path: str, kind: str, name: str, known: list[str]) -> None:
        if name not in known:
            problems.append(Problem(file, path, _unknown(kind, name, known)))

    providers = [a.name for a in deal.accounts if a.external]
    trust_accounts = [a.name for a in deal.accounts if not a.external]
    # a support party's name identifies it in scenarios (support_failures): unique in the deal
    support_owner: dict[str, str] = {a.name: f"accounts ('{a.name}')" for a in deal.accounts}
    for i, p in enumerate(deal.pools):
        ref(f"pools[{i}].deposit_interest_to", "trust account", p.deposit_interest_to, trust_accounts)
        ref(f"pools[{i}].deposit_principal_to", "trust account", p.deposit_principal_to, trust_accounts)
        for n in stack_names(p.support):
            if n in support_owner:
                problems.append(Problem(file, f"pools[{i}].support", f"name '{n}' is already used by {support_owner[n]}; "
                                        "support names must be unique in the deal"))
            else:
                support_owner[n] = f"pools[{i}].support"

    problems += _entity_problems(deal, file)
    for n in deal.pricing.tranches:
        ref(f"pricing.tranches.{n}", "tranche", n, tranches)
    if deal.pricing.settlement is not None and deal.pricing.settlement < deal.deal.closing_date:
        problems.append(Problem(file, "pricing.settlement",
                                f"settlement {deal.pricing.settlement} is before the closing date {deal.deal.closing_date}"))

    for i, t in enumerate(deal.triggers):
        for j, n in enumerate(t.tranches):
            ref(f"triggers[{i}].tranches[{j}]", "tranche", n, tranches)
        if len(set(t.tranches)) != len(t.tranches):
            problems.append(Problem(file, f"triggers[{i}].tranches", "a name appears twice in the list"))
        if t.account is not None:
            ref(f"triggers[{i}].account", "account", t.account, accounts)
        state = {"accelerate": "accelerated", "event_of_default": "event_of_default"}[t.effect]
        if getattr(deal.waterfalls, state) is None:
            problems.append(
                Problem(file, f"triggers[{i}].effect", f"moves the deal to '{state}' but waterfalls.{state} is not defined")
            )

    carry: dict[str, tuple[bool, bool, str]] = {}
    for state in ("normal", "accelerated", "event_of_default"):
        steps = getattr(deal.waterfalls, state) or []
        for i, s in enumerate(steps):
            at = f"waterfalls.{state}[{i}]"
            if s.when is not None:
                for key in ("trigger", "not_trigger"):
                    n = getattr(s.when, key)
                    if n is not None:
                        ref(f"{at}.when.{key}", "trigger", n, triggers)
            act = s.action
            if act in ("pay_fee", "pay_interest", "pay_principal", "transfer", "pay_residual", "fund_reserve",
                       "reimburse_support"):
                ref(f"{at}.from", "trust account", s.from_, trust_accounts)
            if act == "release_reserve":
                ref(f"{at}.from", "reserve account", s.from_, reserves)
            if act == "draw_reserve":
                ref(f"{at}.from", "reserve account or support provider", s.from_, reserves + providers)
            for j, n in enumerate(getattr(s, "support", [])):
                ref(f"{at}.support[{j}]", "account", n, accounts)
                if act == "pay_principal" and n in providers:
                    problems.append(Problem(file, f"{at}.support[{j}]", f"support provider '{n}' cannot back a pay_principal step "
                                            "(it would pay every principal payable); draw it with draw_reserve and cover.principal"))
            if act in ("fund_reserve", "release_reserve", "draw_reserve", "transfer") and s.to in providers:
                problems.append(Problem(file, f"{at}.to", f"cannot pay into support provider '{s.to}'"))
            # circular: an account that pays itself, or backs its own step
            if act in ("fund_reserve", "release_reserve", "draw_reserve", "transfer") and s.to == s.from_ \
                    and (act != "fund_reserve" or s.to in reserves):  # (else: not a reserve, said below)
                problems.append(Problem(file, f"{at}.to", f"moves cash from '{s.from_}' to itself"))
            if s.from_ in getattr(s, "support", []):
                problems.append(Problem(file, f"{at}.support", f"'{s.from_}' is the step's own account (from), not a support"))
            to_list = getattr(s, "to", None)
            if isinstance(to_list, list) and len(set(to_list)) != len(to_list):
                problems.append(Problem(file, f"{at}.to", "a name appears twice in the list"))
            if act == "pay_fee":
                for j, n in enumerate(s.to):
                    ref(f"{at}.to[{j}]", "fee", n, fees)
            elif act in ("pay_interest", "pay_principal"):
                for j, n in enumerate(s.to):
                    ref(f"{at}.to[{j}]", "tranche", n, tranches)
                if act == "pay_interest":
                    for j, n in enumerate(s.to):
                        if n in tranches and deal.tranche(n).coupon.kind == "none":
                            problems.append(Problem(file, f"{at}.to[{j}]", f"tranche '{n}' has no coupon (coupon.kind: none)"))
                        flags = (s.carry_shortfall, s.interest_on_shortfall, at)
                        if n in carry and carry[n][:2] != flags[:2]:
                            problems.append(Problem(file, at, f"carry_shortfall/interest_on_shortfall for '{n}' differ from {carry[n][2]}"))
                        carry.setdefault(n, flags)
            elif act == "fund_reserve":
                ref(f"{at}.to", "reserve account", s.to, reserves)
            elif act in ("release_reserve", "draw_reserve", "transfer"):
                ref(f"{at}.to", "account", s.to, accounts)
                if act == "draw_reserve":
                    for key, kind, known in (("fees", "fee", fees), ("interest", "tranche", tranches), ("principal", "tranche", tranches)):
                        for j, n in enumerate(getattr(s.cover, key)):
                            ref(f"{at}.cover.{key}[{j}]", kind, n, known)
            elif act == "pay_residual":
                ref(f"{at}.to", "tranche or party", s.to, tranches + list(PARTIES))
            elif act == "reimburse_support":
                ref(f"{at}.to", "support provider", s.to, providers)

    if deal.deal.total_notes is not None:
        total = sum(t.balance for t in deal.tranches)
        if abs(total - deal.deal.total_notes) > 0.005:
            problems.append(
                Problem(file, "tranches", f"tranche balances add up to {total:,.2f} but deal.total_notes is {deal.deal.total_notes:,.2f}")
            )
    for i, tr in enumerate(deal.tranches):
        for key in ("expected_maturity", "legal_maturity"):
            d = getattr(tr, key)
            if d is not None and not deal.deal.closing_date < d <= deal.deal.legal_maturity:
                problems.append(Problem(file, f"tranches[{i}].{key}", f"{d} must be after the closing date and not after the deal's legal maturity"))
    problems.extend(check_payment_dates(deal, file))
    return problems


def check_payment_dates(deal: Deal, file: str) -> list[Problem]:
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
    for state in ("normal", "accelerated", "event_of_default"):
        for j, step in enumerate(getattr(deal.waterfalls, state) or []):
            if step.when is not None:
                check(f"waterfalls.{state}[{j}].when.on_or_after", step.when.on_or_after)
                check(f"waterfalls.{state}[{j}].when.before", step.when.before)
    return problems


def _load_tapes(raw: dict[str, Any], base: Path, file: str) -> list[Problem]:
    """Read every tape a pool names into its inline list (in ``raw``), collecting problems.

    Rows read from tapes are kept as validated models under ``_tape_<field>`` keys, moved
    into the pool models after the deal itself validates.
    """
    problems: list[Problem] = []
    pools = raw.get("pools")
    if not isinstance(pools, list):
        return problems
    for i, pool in enumerate(pools):
        if not isinstance(pool, dict):
            continue
        for path_field, list_field, model, id_field in TAPES.get(str(pool.get("kind", "pledge_loan")), []):
            name = pool.get(path_field)
            if not name or not isinstance(name, str):  # a wrong type is reported by the model
                continue
            try:
                path = (base / name).resolve()
            except (OSError, ValueError):  # e.g. a NUL in the name: read_table says so
                path = base / name
            try:
                df = read_table(path)
                rows = parse_rows(df, model, str(path), id_field)
            except InputError as exc:
                for p in exc.problems:
                    problems.append(p if p.file else Problem(file, f"pools[{i}].{path_field}", p.message))
                continue
            pool[f"_tape_{list_field}"] = rows
    return problems


def _check_licence_pool(pool: LicencePool, at: str, file: str) -> list[Problem]:
    """The joins of a licence pool: ids exist, shares sum to 1, no fee after expiry."""
    problems: list[Problem] = []
    lic = {x.licence_id: x for x in pool.licences}
    pat = {x.patent_id: x for x in pool.patents}
    for kind, items, key in (("licence", pool.licences, "licence_id"), ("patent", pool.patents, "patent_id")):
        seen: set[str] = set()
        for x in items:
            v = getattr(x, key)
            if v in seen:
                problems.append(Problem(file, f"{at} {kind} '{v}'", f"duplicate {kind} id"))
            seen.add(v)
    shares: dict[str, float] = {}
    for j, link in enumerate(pool.links):
        where = f"{at}.links[{j}]"
        if link.licence_id not in lic:
            problems.append(Problem(file, where, _unknown("licence", link.licence_id, list(lic)[:20])))
        if link.patent_id not in pat:
            problems.append(Problem(file, where, _unknown("patent", link.patent_id, list(pat)[:20])))
        shares[link.licence_id] = shares.get(link.licence_id, 0.0) + link.share
        p = pat.get(link.patent_id)
        lc = lic.get(link.licence_id)
        if p is not None and lc is not None and lc.last_fee_date > p.expiry_date and not pool.allow_fees_after_expiry:
            problems.append(Problem(
                file, f"{at} licence '{lc.licence_id}'",
                f"fees run to {lc.last_fee_date} but patent '{p.patent_id}' expires on {p.expiry_date} "
                "(set allow_fees_after_expiry: true to stop that share at expiry)"))
    for lid in lic:
        total = shares.get(lid)
        if total is None:
            problems.append(Problem(file, f"{at} licence '{lid}'", "rests on no patent (no row in the licence-patent table)"))
        elif abs(total - 1.0) > 1e-6:
            problems.append(Problem(file, f"{at} licence '{lid}'", f"patent shares sum to {total:.6g}, not 1"))
    return problems


#: At most this many eligibility problems are listed per pool (then a count of the rest).
MAX_ELIGIBILITY_PROBLEMS = 200


def _asset_origin(pool: PledgeLoanPool, i: int, j: int, n_from_tape: int, file: str, base: Path) -> tuple[str, str]:
    """Where loan ``j`` of ``pools[i]`` came from: (tape file, ``row N``; the header is row
    1) for a tape's rows, which follow the inline assets; else (deal file, ``pools[i].assets[j]``)."""
    n_inline = len(pool.assets) - n_from_tape
    if j >= n_inline and pool.tape:
        return str((base / pool.tape).resolve()), f"row {j - n_inline + 2}"
    return file, f"pools[{i}].assets[{j}]"


def apply_eligibility(deal: Deal, file: str, base: Path, from_tape: dict[int, int]) -> tuple[Deal, list[Problem]]:
    """Check every pledge-loan pool's ``eligibility`` against its loans (from_tape: pool
    index -> how many of its loans came from its tape). A breach is a problem
    (``on_breach: error``) or drops the loan from the pool (``exclude``: the pool keeps them
    in ``excluded``); missing data for a stated criterion is always a problem, as is a pool
    left without loans."""
    from ..pools.eligibility import check_pool, reason

    problems: list[Problem] = []
    pools = list(deal.pools)
    changed = False
    for i, pool in enumerate(pools):
        if not isinstance(pool, PledgeLoanPool) or pool.eligibility is None:
            continue
        findings = check_pool(pool, deal.deal)
        where = [_asset_origin(pool, i, j, from_tape.get(i, 0), file, base) for j in range(len(pool.assets))]
        exclude = pool.eligibility.on_breach == "exclude"
        shown = [f for f in findings if f.missing or not exclude]
        for f in shown[:MAX_ELIGIBILITY_PROBLEMS]:
            src, at = where[f.index]
            problems.append(Problem(src, f"{at} ({f.loan_id})", f.message))
        if len(shown) > MAX_ELIGIBILITY_PROBLEMS:
            problems.append(Problem(file, f"pools[{i}].eligibility", f"{len(shown) - MAX_ELIGIBILITY_PROBLEMS:,} more "
                                    f"eligibility problems not shown (first {MAX_ELIGIBILITY_PROBLEMS} above)"))
        if not exclude:
            continue
        reasons: dict[int, list[str]] = {}
        for f in findings:
            if not f.missing:
                reasons.setdefault(f.index, []).append(reason(f))
        if not reasons:
            continue
        if len(reasons) == len(pool.assets):
            problems.append(Problem(file, f"pools[{i}].eligibility", f"excludes every loan of pool '{pool.name}' "
                                    f"({len(pool.assets)} loans; on_breach: exclude)"))
            continue
        kept = [a for j, a in enumerate(pool.assets) if j not in reasons]
        new = pool.model_copy(update={"assets": kept})
        new._excluded = tuple(Exclusion(pool.assets[j], *where[j], tuple(r)) for j, r in sorted(reasons.items()))
        pools[i] = new
        changed = True
    if changed:
        deal = deal.model_copy(update={"pools": pools})
    return deal, problems


def load_deal(path: str | Path) -> Deal:
    """Load, validate and cross-check a deal file and its tapes.

    Raises :class:`~abs_engine.errors.InputError` listing every problem found.
    """
    p = Path(path)
    file = str(path)
    raw = load_yaml(p, "deal")
    problems = _load_tapes(raw, p.parent, file)
    from_tapes: dict[int, dict[str, list[Any]]] = {}
    pools = raw.get("pools")
    for i, pool in enumerate(pools if isinstance(pools, list) else []):  # (a wrong type: the model says so)
        if isinstance(pool, dict):
            for key in [k for k in pool if isinstance(k, str) and k.startswith("_tape_")]:
                from_tapes.setdefault(i, {})[key[len("_tape_"):]] = pool.pop(key)
    try:
        deal = Deal.model_validate(raw)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, Deal, file))
        raise InputError(problems) from None
    if from_tapes:
        pools = list(deal.pools)
        for i, lists in from_tapes.items():
            pools[i] = pools[i].model_copy(update={k: [*getattr(pools[i], k), *v] for k, v in lists.items()})
        deal = deal.model_copy(update={"pools": pools})
    if not problems:  # meaning (stage 3) is checked only on what stages 1-2 accepted (docs/errors.md):
        # a tape that failed to load would make every join to it look like a dangling reference
        deal, curve = _load_curve(deal, p.parent, file)
        problems.extend(curve)
        problems.extend(check_assets(deal, file))
        problems.extend(check_references(deal, file))
        origins = {i: len(lists.get("assets", [])) for i, lists in from_tapes.items()}
        deal, screened = apply_eligibility(deal, file, p.parent, origins)
        problems.extend(screened)
    if problems:
        raise InputError(problems)
    return deal


def with_pricing(deal: Deal, *, curve_file: str | Path | None = None, settlement: Any = None) -> Deal:
    """The deal with its analytics' discount curve taken from ``curve_file`` (a YAML file
    holding a curve under ``curve:``) and/or its settlement date replaced, checked as
    ``load_deal`` checks them (command-line ``--curve`` / ``--settlement``)."""
    update: dict[str, Any] = {}
    if settlement is not None:
        update["settlement"] = settlement
    if curve_file is not None:
        update["curve"] = str(Path(curve_file).resolve())
    if not update:
        return deal
    deal = deal.model_copy(update={"pricing": deal.pricing.model_copy(update=update)})
    problems: list[Problem] = []
    if settlement is not None and settlement < deal.deal.closing_date:
        problems.append(Problem("", "--settlement", f"settlement {settlement} is before the closing date {deal.deal.closing_date}"))
    deal, more = _load_curve(deal, Path("."), str(curve_file or ""))
    problems += more
    if problems:
        raise InputError(problems)
    return deal


def curve_problems(spec: object, reference_date: Any, file: str, path: str) -> list[Problem]:
    """Why a curve mapping (docs/analytics.md, "Curve files") cannot be built, if it cannot."""
    from ..analytics import AnalyticsError, Curve

    if not isinstance(spec, dict):
        return [Problem(file, path, f"a curve is a mapping (kind, points, ...), not {type(spec).__name__}")]
    try:
        Curve.from_dict(spec, reference_date=reference_date)
    except AnalyticsError as exc:
        return [Problem(file, path, str(exc))]
    return []


def _load_curve(deal: Deal, folder: Path, file: str) -> tuple[Deal, list[Problem]]:
    """Resolve ``pricing.curve`` (a file path becomes the mapping it holds under ``curve:``)
    and check it builds."""
    spec = deal.pricing.curve
    if spec is None:
        return deal, []
    where = "pricing.curve"
    if isinstance(spec, str):
        path = folder / spec
        try:
            doc = load_yaml(path, "curve")
        except InputError as exc:
            return deal, [Problem(file, where, f"curve file {spec}: {q.message}") for q in exc.problems]
        if "curve" not in doc:
            return deal, [Problem(str(path), "curve", "a curve file holds its curve under the key 'curve'")]
        spec, file, where = doc["curve"], str(path), "curve"
        deal = deal.model_copy(update={"pricing": deal.pricing.model_copy(update={"curve": spec})})
    settle = deal.pricing.settlement or deal.deal.closing_date
    return deal, curve_problems(spec, settle, file, where)
