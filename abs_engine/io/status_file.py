"""Status files (docs/seasoned.md): a deal's status as of a payment date, in YAML with its
tapes (surviving assets, defaults since the cut-off, patents) as CSV/XLSX beside it.

:func:`load_status` reads a status and checks it against its deal, listing every problem
at once with file, field path and reason, as a deal's loading does; :func:`write_status`
writes one (YAML and CSV tapes, each atomically), numbers at full precision so that a
status written from a run reads back to the same figures.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from ..dates import Schedule, build_schedule, grid_month
from ..errors import InputError, Problem
from ..errors import unknown as unknown_name
from ..model.deal import STATES, Deal, LicencePool, asset_id
from ..model.status import (
    AssetStatus,
    DefaultStatus,
    InterestStatus,
    PatentStatus,
    PoolStatus,
    Status,
)
from ..model.support import failure_names
from .outputs import atomic_open
from .tape import parse_rows, read_table
from .validation import problems_from_validation
from .yamlio import load_yaml

#: Each pool tape of a status: (path field, inline list field, row model, id column).
STATUS_TAPES: tuple[tuple[str, str, type[Any], str], ...] = (
    ("tape", "assets", AssetStatus, "asset_id"),
    ("defaults_tape", "defaults", DefaultStatus, ""),
    ("patent_tape", "patents", PatentStatus, "patent_id"),
    ("interest_tape", "interest", InterestStatus, ""),
)

#: Money within this of a stated total adds up (a cent, and rounding of large sums).
CENT = 0.01


def adds_up(stated: float, computed: float) -> bool:
    """Whether a stated figure matches the figures it sums, to the cent (and 1e-9 of it)."""
    return abs(stated - computed) <= CENT + 1e-9 * max(abs(stated), abs(computed))


#: Where the rows of a pool's list came from: (pool, list field) -> (rows given inline, tape file).
Origins = dict[tuple[str, str], tuple[int, str]]


def _tapes(raw: dict[str, Any], base: Path, file: str, origins: Origins) -> list[Problem]:
    """Read each pool's tapes into its inline lists (``raw`` is changed in place); record in
    ``origins`` where the rows came from, so that a problem names the tape's row."""
    problems: list[Problem] = []
    pools = raw.get("pools")
    if not isinstance(pools, dict):
        return problems
    for name, pool in pools.items():
        if not isinstance(pool, dict):
            continue
        for path_field, list_field, model, id_field in STATUS_TAPES:
            tape = pool.get(path_field)
            if not tape or not isinstance(tape, str):
                continue
            path = base / tape
            try:
                rows = parse_rows(read_table(path), model, str(path), id_field)
            except InputError as exc:
                problems += [p if p.file else Problem(file, f"pools.{name}.{path_field}", p.message) for p in exc.problems]
                continue
            inline = pool.get(list_field) or []
            inline = inline if isinstance(inline, list) else []
            origins[(str(name), list_field)] = (len(inline), str(path))
            pool[list_field] = [*inline, *[r.model_dump() for r in rows]]
    return problems


def status_schedule(deal: Deal) -> Schedule:
    """The deal's payment schedule with the monthly grid up to its legal maturity."""
    h = deal.deal
    months = (h.legal_maturity.year - h.cutoff_date.year) * 12 + h.legal_maturity.month - h.cutoff_date.month + 1
    return build_schedule(h, months)


def status_month(sched: Schedule, period: int) -> int:
    """The grid month as of whose end the pool of a status after ``period`` (0-based) stands:
    the last month whose cash was paid on or before that period's payment date (0: none)."""
    mp = np.asarray(sched.month_period)
    paid = np.flatnonzero(mp[1:] <= period)
    return int(paid[-1]) + 1 if len(paid) else 0


def load_status(path: str | Path, deal: Deal) -> Status:
    """Load a status file and its tapes, and check it against ``deal``.

    Raises :class:`~abs_engine.errors.InputError` listing every problem found.
    """
    p = Path(path)
    file = str(path)
    raw = load_yaml(p, "status")
    origins: Origins = {}
    problems = _tapes(raw, p.parent, file, origins)
    try:
        status = Status.model_validate(raw)
    except ValidationError as exc:
        problems += problems_from_validation(exc, Status, file)
        raise InputError(problems) from None
    if problems:
        raise InputError(problems)
    problems = check_status(deal, status, file, origins)
    if problems:
        raise InputError(problems)
    return status


def check_status(deal: Deal, st: Status, file: str, origins: Origins | None = None) -> list[Problem]:
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
    sched = status_schedule(deal)
    period = sched.match(st.date)
    if period is None:
        bad("date", sched.not_a_payment_date(st.date))
        return problems  # every other check counts periods from it
    if period >= sched.n_periods - 1:
        bad("date", f"{st.date} is the deal's last payment date: nothing is left to project")
    month = status_month(sched, period)
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
                target = reserve_target(a.target, notes, pool_balance)
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
        elif pool.kind == "pledge_loan" and a.balance > assets[a.asset_id].balance + CENT:
            row("assets", i, f"{a.balance:,.2f} exceeds the loan's balance at the cut-off date "
                f"{assets[a.asset_id].balance:,.2f}", "balance")
        seen.add(a.asset_id)
    if pool.kind in ("licence", "transfer"):  # a receivable's balance is its remaining fees: they must agree
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
        if d.recovery_date is not None and d.recovery_date > pool_date:
            row("defaults", i, f"{d.recovery_date} is after the pool's status date {pool_date}: not received yet",
                "recovery_date")
    if isinstance(pool, LicencePool):
        known = {p.patent_id for p in pool.patents}
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
    for name in ps.support:
        if name not in payers:
            bad(f"{at}.support.{name}", unknown_name("payer of the pool's support stack", name, payers))
    return problems


def _receivable_balances(pool: Any, ps: PoolStatus, cutoff: dt.date, pool_date: dt.date, row: Any) -> None:
    """Each listed receivable's balance against its scheduled fees after the pool's status
    date, on its patents in force, times its chance of performing (reported through ``row``)."""
    from ..pools.kinds import kind_of
    from ..pools.receivables import start_balances

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


def reserve_target(target: Any, notes: float, pool: float) -> float:
    """A reserve's target from the status's note and pool balances (the kernel's rule)."""
    if notes <= 0:
        return 0.0
    t = max(target.amount or 0.0, (target.percent_of_pool or 0.0) * pool, (target.percent_of_notes or 0.0) * notes)
    t = max(t, target.floor)
    return min(t, math.inf if target.cap is None else target.cap)


def _original_pool(deal: Deal) -> float:
    """The pools' balance at the cut-off date, as the cumulative default ratio divides by."""
    from ..pools.kinds import kind_of

    total = 0.0
    for p in deal.pools:
        total += kind_of(p).original_balance(p, deal.deal.cutoff_date)
    return total


# ------------------------------------------------------------------------ writing


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases (a date repeated is written twice)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_status(status: Status, path: str | Path) -> list[Path]:
    """Write ``status`` as a YAML file with each pool's tapes as CSV beside it
    (``<stem>.<pool>.assets.csv``, ``.defaults.csv``, ``.patents.csv``), each atomically.
    Returns the files written."""
    p = Path(path)
    data = status.model_dump(mode="python", exclude_none=True)
    written: list[Path] = []
    for name, ps in status.pools.items():
        pool = data["pools"][name]
        for path_field, list_field, model, _id in STATUS_TAPES:
            rows = getattr(ps, list_field)
            pool.pop(list_field, None)
            if not rows:  # (nothing left, no defaults: no tape; a tape has rows)
                pool.pop(path_field, None)
                continue
            tape = p.parent / f"{p.stem}.{name}.{list_field}.csv"
            frame = pd.DataFrame([r.model_dump() for r in rows], columns=list(model.model_fields))
            for col in ("default_date", "recovery_date", "month_end"):
                if col in frame.columns:
                    frame[col] = frame[col].map(lambda d: "" if d is None else d.isoformat())
            # (floats as Python writes them: the shortest text that reads back to the same number)
            with atomic_open(tape) as fh:
                frame.to_csv(fh, index=False, lineterminator="\n")
            pool[path_field] = tape.name
            written.append(tape)
    with atomic_open(p) as fh:
        fh.write(f"# status of {status.deal} as of {status.date} (docs/seasoned.md)\n")
        yaml.dump(data, fh, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    written.append(p)
    return written
