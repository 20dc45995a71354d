"""The investor sections of a term sheet: support parties and the notes' dependence on
them, structure terms in words (reserves, triggers, fees, the waterfall of each state, the
clean-up call), the timeline of events, the stress tests (cumulative default and loss
rates, break-even default rates with and without support, decrement tables, yields across
speeds) and how the IP behind the pool fits the notes.

Layout only: the figures come from :mod:`abs_engine.studies.investor` (an
:class:`~abs_engine.studies.investor.InvestorView` and a
:class:`~abs_engine.studies.investor.CollateralFit`) and the words from the deal's models.
``ctx`` is the term sheet's context (``abs_engine.report.termsheet._Ctx``).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..model.deal import (
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
    sections,
)
from ..studies.breakeven import parse_ranges
from .labels import LABELS
from .xl import (
    ALERT,
    ALERT_FILL,
    BOLD,
    BOX,
    DATE,
    DEC2,
    HIGHLIGHT_FILL,
    INT,
    PCT2,
    PCT4,
    SUBTITLE,
    WRAP_LEFT,
    YEARS,
    YUAN,
    Sheet,
)

#: (中文, English) sentences of the waterfall steps; fields in braces.
STEP_TEXT: dict[str, tuple[str, str]] = {
    "pay_fee": ("从 {src} 支付税费：{to}（不足时按比例）", "pay the fees {to} from {src} (pro rata if short)"),
    "pay_interest": ("从 {src} 支付 {to} 的应付利息{carry}", "pay the interest due on {to} from {src}{carry}"),
    "carry": ("，未付部分结转下期", "; unpaid interest is carried to later periods"),
    "no_carry": ("，未付部分不再支付", "; unpaid interest is not paid later"),
    "pay_principal": ("从 {src} {mode}偿还 {to} 的本金{sched}{target}", "repay principal of {to} {mode} from {src}{sched}{target}"),
    "sequential": ("按顺序", "sequentially"),
    "pro_rata": ("按比例", "pro rata"),
    "follow": ("（按各档还本方式）", " (each as its principal style allows)"),
    "no_follow": ("（不受还本计划限制，全部可用资金）", " (as fast as cash allows, ignoring schedules)"),
    "target": ("，偿还至资产池余额的{p}", ", down to {p} of the pool balance"),
    "fund_reserve": ("从 {src} 补足 {to} 至目标余额", "top {to} up to its target from {src}"),
    "release_reserve": ("{src} 超出目标余额的部分转入 {to}（证券清偿完毕或最后一期全部转入）",
                        "move {src}'s excess over its target to {to} (all of it once the notes are repaid or at the last period)"),
    "draw_reserve": ("从 {src} 提取 {to} 不足支付 {cover} 的差额", "draw from {src} what {to} lacks for {cover}"),
    "transfer": ("{src} 的资金转入 {to}", "move the cash in {src} to {to}"),
    "pay_residual": ("{src} 的剩余资金{share}支付给 {to}", "pay {share}the residual in {src} to {to}"),
    "reimburse_support": ("从 {src} 偿还 {to} 已垫付的款项（追偿）", "repay {to} from {src} what it has advanced (recourse)"),
    "repay_liquidity": ("从 {src} 偿还流动性支持 {to}：{part}", "repay the liquidity facility {to} from {src}: {part}"),
    "liq_all": ("先付利息及承诺费，再偿还已提取本金", "interest and commitment fee first, then the amount drawn"),
    "liq_interest": ("利息及承诺费", "interest and commitment fee"),
    "liq_principal": ("已提取本金", "the amount drawn"),
    "support": ("；不足时依次由 {s} 补足", "; shortfalls drawn in turn from {s}"),
    "cover_fees": ("税费", "the fees"),
    "cover_interest": ("{t} 利息", "{t} interest"),
    "cover_principal": ("{t} 应付本金", "{t} principal due"),
    "when_trigger": ("（仅在 {t} 触发时）", " (only while {t} has fired)"),
    "when_not_trigger": ("（仅在 {t} 未触发时）", " (only while {t} has not fired)"),
    "when_on_or_after": ("（{d} 及以后）", " (from {d})"),
    "when_before": ("（{d} 之前）", " (before {d})"),
    "limit_amount": ("（上限 {a}）", " (at most {a})"),
    "limit_fraction": ("（不超过可用资金的 {f}）", " (at most {f} of the cash available)"),
}

#: Events flagged in red (breaches of what the notes promised).
STATE_KEYS = {"normal": "state_normal", "accelerated": "state_accelerated", "event_of_default": "state_event_of_default"}


def _pct(x: float) -> str:
    return f"{100 * x:.4g}%"


def _pair(key: str, **kw: Any) -> tuple[str, str]:
    zh, en = STEP_TEXT[key]
    return zh.format(**{k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}), \
        en.format(**{k: (v[1] if isinstance(v, tuple) else v) for k, v in kw.items()})


def _join(a: tuple[str, str], *more: tuple[str, str]) -> tuple[str, str]:
    return a[0] + "".join(m[0] for m in more), a[1] + "".join(m[1] for m in more)


def step_words(step: Any) -> tuple[str, str]:
    """A waterfall step in plain (中文, English) words."""
    src = getattr(step, "from_", "")
    to = step.to if isinstance(step.to, str) else ", ".join(step.to)
    if isinstance(step, PayFee):
        text = _pair("pay_fee", src=src, to=to)
    elif isinstance(step, PayInterest):
        text = _pair("pay_interest", src=src, to=to, carry=_pair("carry" if step.carry_shortfall else "no_carry"))
    elif isinstance(step, PayPrincipal):
        tgt = _pair("target", p=_pct(step.target_percent_of_pool)) if step.target_percent_of_pool is not None else ("", "")
        text = _pair("pay_principal", src=src, to=to, mode=_pair(step.mode),
                     sched=_pair("follow" if step.follow_schedule else "no_follow"), target=tgt)
    elif isinstance(step, FundReserve):
        text = _pair("fund_reserve", src=src, to=to)
    elif isinstance(step, ReleaseReserve):
        text = _pair("release_reserve", src=src, to=to)
    elif isinstance(step, DrawReserve):
        items: list[tuple[str, str]] = []
        if step.cover.fees:
            items.append(_pair("cover_fees"))
        if step.cover.interest:
            items.append(_pair("cover_interest", t=", ".join(step.cover.interest)))
        if step.cover.principal:
            items.append(_pair("cover_principal", t=", ".join(step.cover.principal)))
        cover = ("、".join(i[0] for i in items), ", ".join(i[1] for i in items))
        text = _pair("draw_reserve", src=src, to=to, cover=cover)
    elif isinstance(step, Transfer):
        text = _pair("transfer", src=src, to=to)
    elif isinstance(step, PayResidual):
        share = ("" if step.share >= 1 else (f"的{_pct(step.share)}", f"{_pct(step.share)} of "))
        text = _pair("pay_residual", src=src, to=to, share=share)
    elif isinstance(step, ReimburseSupport):
        text = _pair("reimburse_support", src=src, to=to)
    elif isinstance(step, RepayLiquidity):
        text = _pair("repay_liquidity", src=src, to=to, part=_pair(f"liq_{step.part}"))
    else:  # pragma: no cover - the vocabulary is closed
        text = (step.action, step.action)
    sup = getattr(step, "support", [])
    if sup:
        text = _join(text, _pair("support", s=", ".join(sup)))
    w = step.when
    if w is not None:
        if w.trigger:
            text = _join(text, _pair("when_trigger", t=w.trigger))
        if w.not_trigger:
            text = _join(text, _pair("when_not_trigger", t=w.not_trigger))
        if w.on_or_after:
            text = _join(text, _pair("when_on_or_after", d=f"{w.on_or_after:%Y-%m-%d}"))
        if w.before:
            text = _join(text, _pair("when_before", d=f"{w.before:%Y-%m-%d}"))
    lim = step.limit
    if lim is not None:
        if lim.amount is not None:
            text = _join(text, _pair("limit_amount", a=f"{lim.amount:,.2f}"))
        if lim.fraction is not None:
            text = _join(text, _pair("limit_fraction", f=_pct(lim.fraction)))
    return text


# --------------------------------------------------------------------------- structure


def _yes(ctx: Any, v: bool) -> str:
    return str(ctx.L("yes" if v else "no"))


def _target_words(ctx: Any, acc: Any) -> str:
    t = acc.target
    parts = []
    if t.amount is not None:
        parts.append(ctx.pair(f"固定 {t.amount:,.2f}", f"fixed {t.amount:,.2f}"))
    if t.percent_of_pool is not None:
        parts.append(ctx.pair(f"资产池余额的 {_pct(t.percent_of_pool)}", f"{_pct(t.percent_of_pool)} of the pool balance"))
    if t.percent_of_notes is not None:
        parts.append(ctx.pair(f"证券余额的 {_pct(t.percent_of_notes)}", f"{_pct(t.percent_of_notes)} of the notes outstanding"))
    text = ctx.pair("取较大者：", "the largest of: ") + "; ".join(parts) if len(parts) > 1 else (parts[0] if parts else "")
    if t.floor:
        text += ctx.pair(f"；下限 {t.floor:,.2f}", f"; floor {t.floor:,.2f}")
    if t.cap is not None:
        text += ctx.pair(f"；上限 {t.cap:,.2f}", f"; cap {t.cap:,.2f}")
    return str(text)


def _base_words(ctx: Any, f: Any) -> str:
    """What a fee's rate applies to, in words (a collections or tax base: per period)."""
    if f.base == "collections":
        return str(ctx.L(f"base_collections_{f.collections}"))
    if f.base == "taxable_income":
        zh, en = LABELS["base_taxable_income"]
        sur = _pct(0.12 if f.surcharge is None else f.surcharge)
        return str(ctx.pair(zh.format(s=sur), en.format(s=sur)))
    return str(ctx.L(f"base_{f.base}"))


def _facilities(s: Sheet, r: int, ctx: Any) -> int:
    """The liquidity facilities (流动性支持): limit, interest, commitment fee, provider;
    nothing when the deal has none."""
    facilities = [a for a in ctx.result.deal.accounts if a.kind == "liquidity"]
    if not facilities:
        return r
    r = s.title(r, ctx.L("liquidity_title"), SUBTITLE)
    h0 = r
    r = s.header(r, 1, [ctx.H("account"), ctx.H("provider"), ctx.H("liq_limit"), ctx.H("liq_rate"),
                        ctx.H("liq_commitment_fee")])
    for a in facilities:
        r = s.rows(r, 1, [[a.name, ctx.tr(a.provider) if a.provider else "—", a.limit, a.rate or 0.0,
                           a.commitment_fee or 0.0]], [None, None, YUAN, PCT4, PCT4])
    s.table("liquidity", h0, 1, r - 1, 5)
    r = s.note(r, ctx.L("liquidity_note"))
    return r + 1


def structure_sheet(s: Sheet, ctx: Any) -> None:
    """Reserve accounts and targets, triggers, fees, the waterfall of each state as numbered
    steps in words, the clean-up call."""
    deal = ctx.result.deal
    s.set_width(1, 20)
    s.set_width(2, 18)
    s.max_width = 20
    r = s.title(1, f"{ctx.L('structure_title')} — {deal.name}")
    r += 1
    # reserves
    r = s.title(r, ctx.L("reserves"), SUBTITLE)
    reserves = [a for a in deal.accounts if a.kind == "reserve"]
    if reserves:
        h0 = r
        r = s.header(r, 1, [ctx.H("account"), ctx.H("initial_balance"), ctx.H("target")])
        for a in reserves:
            s.rows(r, 1, [[a.name, a.initial_balance]], [None, YUAN])
            s.wrapped(r, 3, _target_words(ctx, a), 20)
            r += 1
        s.table("reserves", h0, 1, r - 1, 3)
    else:
        r = s.note(r, ctx.L("no_reserves"))
    r += 1
    r = _facilities(s, r, ctx)
    # triggers
    r = s.title(r, ctx.L("triggers"), SUBTITLE)
    if deal.triggers:
        h0 = r
        r = s.header(r, 1, [ctx.H("trigger"), ctx.H("metric"), ctx.H("side"), ctx.H("threshold"), ctx.H("trigger_tranches"),
                            ctx.H("consecutive"), ctx.H("curable"), ctx.H("effect")])
        for tg in deal.triggers:
            level = tg.above if tg.above is not None else tg.below
            fmt = {"cumulative_default_ratio": PCT2, "interest_shortfall": "#,##0.000"}.get(tg.metric, "0.00")
            who = ", ".join(tg.tranches) + (f" ({tg.account})" if tg.account else "")
            r = s.rows(r, 1, [[tg.name, ctx.L(f"metric_{tg.metric}"), ctx.L("above" if tg.above is not None else "below"),
                               level, who or "—", tg.consecutive, _yes(ctx, tg.curable), ctx.L(f"effect_{tg.effect}")]],
                       [None, None, None, fmt, None, INT, None, None])
        s.table("triggers", h0, 1, r - 1, 8)
    else:
        r = s.note(r, ctx.L("no_triggers"))
    r += 1
    # fees
    r = s.title(r, ctx.L("fees_title"), SUBTITLE)
    if deal.fees:
        h0 = r
        r = s.header(r, 1, [ctx.H("fee"), ctx.H("fee_base"), ctx.H("fee_rate"), ctx.H("fee_fixed"), ctx.H("fee_cap"),
                            ctx.H("payee"), ctx.H("vat"), ctx.H("carry_forward")])
        for f in deal.fees:
            name = ctx.pair(f.label_zh, f.name) if f.label_zh else ctx.tr(f.name)
            base = _base_words(ctx, f) if f.rate else "—"
            vat = ctx.L(f"vat_{f.vat}") if f.vat else ctx.L("not_stated")
            r = s.rows(r, 1, [[name, base, f.rate, f.fixed, f.cap if f.cap is not None else ctx.L("unlimited"),
                               ctx.tr(f.payee) if f.payee else "—", vat, _yes(ctx, f.carry_forward)]],
                       [None, None, PCT4, YUAN, YUAN, None, None, None])
        s.table("fees", h0, 1, r - 1, 8)
    else:
        r = s.note(r, ctx.L("no_fees"))
    r += 1
    # waterfalls
    r = s.title(r, ctx.L("waterfall_title"), SUBTITLE)
    for state in ("normal", "accelerated", "event_of_default"):
        steps = getattr(deal.waterfalls, state)
        if steps is None:
            continue
        zh, en = LABELS["waterfall_state"]
        sz, se = LABELS[STATE_KEYS[state]]
        r = s.title(r, ctx.pair(zh.format(state=sz), en.format(state=se)), BOLD)
        if not steps:
            r = s.note(r, ctx.L("waterfall_empty"))
            continue
        h0 = r
        r = s.header(r, 1, [ctx.H("step"), ctx.H("step_text")])
        s.flowing.append((r - 1, 2, True, 11.0))
        for i, step in enumerate(steps, start=1):
            zh_t, en_t = step_words(step)
            s.put(r, 1, i, INT, border=BOX)
            s.put(r, 2, ctx.pair(zh_t, en_t), border=BOX, align=WRAP_LEFT, fit=False)
            s.flowing.append((r, 2, True, 11.0))  # merged across the sheet, the row grows (finish)
            r += 1
        r += 1
    # clean-up call
    r = s.title(r, ctx.L("cleanup_title"), SUBTITLE)
    cc = deal.cleanup_call
    if cc is not None:
        zh, en = LABELS["cleanup_terms"]
        r = s.note(r, ctx.pair(zh.format(threshold=_pct(cc.threshold), price=_pct(cc.price)),
                               en.format(threshold=_pct(cc.threshold), price=_pct(cc.price))))
    else:
        r = s.note(r, ctx.L("no_cleanup"))
    s.finish(freeze="A3", title_rows=None)


# --------------------------------------------------------------------------- support


def case_label(ctx: Any, case: str) -> str:
    if case == "as_written":
        return str(ctx.L("case_as_written"))
    if case == "standalone":
        return str(ctx.L("case_standalone"))
    kind, _, name = case.partition(":")
    zh, en = LABELS["case_without_entity" if kind == "without_entity" else "case_without"]
    return str(ctx.pair(zh.format(name=ctx.tr(name)), en.format(name=ctx.tr(name))))


def support_sections(s: Sheet, r: int, ctx: Any, mine: list[Any]) -> int:
    """Support parties (legal entity, rating, concentration), each tranche's loss, WAL,
    break-even with the deal as written and with support removed, and the loss each party
    avoids and the present value it brings."""
    view = ctx.investor
    names = {t.name for t in mine}
    parties = view.parties
    r += 1
    r = s.title(r, ctx.L("support_parties"), SUBTITLE)
    if len(parties):
        h0 = r
        r = s.header(r, 1, [ctx.H("party"), ctx.H("mechanism"), ctx.H("level"), ctx.H("provider"), ctx.H("legal_entity"),
                            ctx.H("party_rating"), ctx.H("rating_agency"), ctx.H("same_entity")])
        for p in parties.itertuples(index=False):
            kind = f"kind_{p.kind}"
            r = s.rows(r, 1, [[p.party, ctx.L(kind) if kind in LABELS else p.kind, ctx.L(f"level_{p.level}"),
                               ctx.tr(p.provider) if isinstance(p.provider, str) else "—",
                               ctx.tr(p.legal_entity) if isinstance(p.legal_entity, str) else "—",
                               p.rating if isinstance(p.rating, str) else "—",
                               ctx.tr(p.rating_agency) if isinstance(p.rating_agency, str) else "—",
                               p.same_entity_as or "—"]], [None] * 8)
        s.table("support_parties", h0, 1, r - 1, 8)
        by: dict[str, list[str]] = {}
        for p in parties.itertuples(index=False):
            if isinstance(p.legal_entity, str) and p.legal_entity:
                by.setdefault(p.legal_entity, []).append(p.party)
        for ent, ps in by.items():
            if len(ps) > 1:
                zh, en = LABELS["concentration_note"]
                r = s.note(r, ctx.pair(zh.format(parties="、".join(ps), entity=ctx.tr(ent)),
                                       en.format(parties=", ".join(ps), entity=ctx.tr(ent))))
    else:
        r = s.note(r, ctx.L("no_support_layers"))
        return r
    # dependence
    r += 1
    r = s.title(r, ctx.L("dependence"), SUBTITLE)
    dep = view.dependence
    dep = dep[dep["tranche"].isin(names)]
    be = view.breakeven.set_index(["scenario", "case", "tranche"]) if len(view.breakeven) else None
    h0 = r
    r = s.header(r, 1, [ctx.H("scenario"), ctx.H("case"), ctx.H("tranche"), ctx.H("loss"), ctx.H("loss_rate"),
                        ctx.H("wal_years"), ctx.H("whole"), ctx.H("breakeven_cdr")])
    for rec in dep.itertuples(index=False):
        b = be.loc[(rec.scenario, rec.case, rec.tranche)] if be is not None and (rec.scenario, rec.case, rec.tranche) in be.index else None
        bcdr = be_cell(float(b["breakeven_cdr"]), str(b["bound"])) if b is not None else None
        r = s.rows(r, 1, [[rec.scenario, case_label(ctx, rec.case), rec.tranche, rec.writedown, rec.loss_rate,
                           rec.wal_years if rec.wal_years == rec.wal_years else "—", _yes(ctx, rec.whole),
                           bcdr]],
                   [None, None, None, YUAN, PCT2, YEARS, None, PCT2])
        if not rec.whole or (b is not None and bool(b["below_scenario_cdr"])):
            for c in range(1, 9):
                s.ws.cell(row=r - 1, column=c).font = ALERT
    s.table("dependence", h0, 1, r - 1, 8)
    r = s.note(r, ctx.L("dependence_note"))
    # shares of cash
    sh = view.support_share
    sh = sh[sh["tranche"].isin(names)]
    if len(sh):
        r += 1
        r = s.title(r, ctx.L("support_share"), SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("scenario"), ctx.H("tranche"), ctx.H("case"), ctx.H("loss_avoided"),
                            ctx.H("loss_avoided_rate"), ctx.H("pv_from_removed"), ctx.H("share_of_value")])
        r = s.rows(r, 1, [[x.scenario, x.tranche, case_label(ctx, x.case), x.loss_avoided, x.loss_avoided_rate,
                           x.pv_from_removed, x.share] for x in sh.itertuples(index=False)],
                   [None, None, None, YUAN, PCT2, YUAN, PCT2])
        s.table("support_share", h0, 1, r - 1, 7)
        r = s.note(r, ctx.L("support_share_note"))
    return r


# --------------------------------------------------------------------------- events


def event_text(ctx: Any, rec: Any) -> str:
    key = f"event_{rec.event}"
    text = str(ctx.L(key)) if key in LABELS else str(rec.event)
    return text


def _event_detail(ctx: Any, rec: Any) -> str:
    """An event's detail in the workbook's languages."""
    d = str(rec.detail or "")
    if rec.event == "paid_after_expected_maturity":
        date = d.rsplit(" ", 1)[-1]
        return str(ctx.pair(f"{ctx.L('expected_maturity').split(' / ')[0]} {date}", f"expected maturity {date}"))
    if rec.event == "support_paid":
        return str(ctx.L("level_deal")) if d == "deal" else f"{ctx.L('level_pool')}: {ctx.pool_name(d.removeprefix('pool '))}"
    if rec.event == "trigger_fired":
        tg = next((t for t in ctx.result.deal.triggers if t.name == rec.subject), None)
        if tg is not None:
            level = tg.above if tg.above is not None else tg.below
            return (f"{ctx.L(f'metric_{tg.metric}')} {ctx.L('above' if tg.above is not None else 'below')} {level:g} → "
                    f"{ctx.L(f'effect_{tg.effect}')}")
    return d


def events_sheet(s: Sheet, ctx: Any) -> None:
    """The timeline of events of every scenario; breaches in red."""
    ev = ctx.investor.events
    r = s.title(1, f"{ctx.L('events_title')} — {ctx.result.deal.name}")
    r = s.note(r, ctx.L("events_note"))
    r += 1
    if not len(ev):
        r = s.note(r, ctx.L("no_events"))
        s.finish(freeze="A4", title_rows=None)
        return
    h0 = r
    r = s.header(r, 1, [ctx.H("scenario"), ctx.H("period"), ctx.H("payment_date"), ctx.H("event"), ctx.H("subject"),
                        ctx.H("amount"), ctx.H("detail"), ctx.H("flag")])
    s.set_width(7, 30)
    s.max_width = 20
    for rec in ev.itertuples(index=False):
        subject = rec.subject
        if rec.event == "state_change":
            subject = ctx.L(STATE_KEYS.get(str(rec.subject), "state_normal"))
        detail = _event_detail(ctx, rec)
        if rec.event == "state_change":
            a, _, b = str(rec.detail).partition(" -> ")
            detail = f"{ctx.L(STATE_KEYS.get(a, 'state_normal'))} → {ctx.L(STATE_KEYS.get(b, 'state_normal'))}"
        s.rows(r, 1, [[rec.scenario, rec.period, rec.payment_date, event_text(ctx, rec), subject,
                       rec.amount if rec.amount == rec.amount else None, None, _yes(ctx, bool(rec.flag))]],
               [None, INT, DATE, None, None, YUAN, None, None])
        s.wrapped(r, 7, str(detail or ""), 30, border=BOX)
        if rec.flag:
            for c in range(1, 9):
                cell = s.ws.cell(row=r, column=c)
                cell.font = ALERT
                cell.fill = ALERT_FILL
        r += 1
    s.table("events", h0, 1, r - 1, 8)
    s.finish(freeze=f"A{h0 + 1}", title_rows=(h0, h0))


# --------------------------------------------------------------------------- stress


def _bound_text(ctx: Any, bound: str) -> str | None:
    if bound == "range":
        return str(ctx.L("be_whole_range"))
    if bound == "never whole":
        return str(ctx.L("be_never_whole"))
    return None


def _or_dash(x: Any) -> Any:
    return "—" if x is None or x != x else x


def be_cell(x: float, bound: str) -> Any:
    """A break-even CDR as a cell: the rate, "≥ 100%" when whole across the range, "—"
    when never whole."""
    if bound == "range":
        return "≥ 100%"
    if bound == "never whole" or x != x:
        return "—"
    return x


def multiple_cell(m: float, bound: str) -> Any:
    """A multiple of a CDR: a lower bound ("≥ 50.00") when whole across the range."""
    if m != m or bound == "never whole":
        return "—"
    return f"≥ {m:,.2f}" if bound == "range" else m


def _ranges_text(text: Any) -> str:
    return ", ".join(f"{100 * lo:.2f}%–{100 * hi:.2f}%" if hi > lo else f"{100 * lo:.2f}%"
                     for lo, hi in parse_ranges(text))


def fail_ranges_text(ctx: Any, x: Any) -> str:
    """Where a tranche fails, in words: every range under each criterion when the tranche is
    whole again at higher CDRs or when the two criteria differ; "—" otherwise."""
    t, u = str(x.fail_ranges or ""), str(x.fail_ranges_ultimate or "")
    if t == u:
        return _ranges_text(t) if not x.monotone else "—"
    parts = [f"{ctx.L('be_fails_timely')}{_ranges_text(t) or '—'}", f"{ctx.L('be_fails_ultimate')}{_ranges_text(u) or '—'}",
             str(ctx.L("be_criteria_differ"))]
    return "; ".join(parts)


def stress_sheet(s: Sheet, ctx: Any, mine: list[Any]) -> None:
    """Cumulative default and loss rates per scenario, break-even default rates with and
    without support, decrement tables and yields across speeds."""
    view = ctx.investor
    names = [t.name for t in mine]
    s.max_width = 20
    r = s.title(1, f"{ctx.L('stress_title')} — {', '.join(names)}")
    r += 1
    r = s.title(r, ctx.L("pool_stress"), SUBTITLE)
    h0 = r
    ps = view.pool_stress
    r = s.header(r, 1, [ctx.H("scenario"), ctx.H("cumulative_defaults"), ctx.H("cumulative_default_rate"),
                        ctx.H("cumulative_loss"), ctx.H("cumulative_loss_rate"), ctx.H("loss_before_support_amt"),
                        ctx.H("loss_rate_before_support"), ctx.H("support_paid_to_pool")])
    r = s.rows(r, 1, [[x.scenario, x.cumulative_defaults, x.cumulative_default_rate, x.cumulative_loss,
                       x.cumulative_loss_rate, _or_dash(x.loss_before_support), _or_dash(x.loss_rate_before_support),
                       x.support_paid_to_pool]
                      for x in ps.itertuples(index=False)], [None, YUAN, PCT2, YUAN, PCT2, YUAN, PCT2, YUAN])
    s.table("pool_stress", h0, 1, r - 1, 8)
    r = s.note(r, ctx.L("pool_stress_note"))
    if ctx.result.status is not None:
        zh, en = LABELS["pool_stress_status_note"]
        d = f"{ctx.result.status.date:%Y-%m-%d}"
        r = s.note(r, ctx.pair(zh.format(date=d), en.format(date=d)))
    r += 1
    be = view.breakeven
    be = be[be["tranche"].isin(names)]
    if len(be):
        r = s.title(r, ctx.L("be_support"), SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("scenario"), ctx.H("case"), ctx.H("tranche"), ctx.H("breakeven_cdr"),
                            ctx.H("breakeven_cdr_ultimate"), ctx.H("scenario_cdr"), ctx.H("multiple_of_scenario"),
                            ctx.H("multiple_of_base"), ctx.H("be_fail_ranges")])
        s.set_width(9, 30)
        for x in be.itertuples(index=False):
            r = s.rows(r, 1, [[x.scenario, case_label(ctx, x.case), x.tranche, be_cell(x.breakeven_cdr, x.bound),
                               be_cell(x.breakeven_cdr_ultimate, x.bound_ultimate), x.scenario_cdr,
                               multiple_cell(x.multiple_of_scenario, x.bound), multiple_cell(x.multiple_of_base, x.bound),
                               None]],
                       [None, None, None, PCT2, PCT2, PCT2, DEC2, DEC2, None])
            s.wrapped(r - 1, 9, fail_ranges_text(ctx, x), 30, border=BOX)
            if x.below_scenario_cdr:
                for c in range(1, 10):
                    s.ws.cell(row=r - 1, column=c).font = ALERT
                    s.ws.cell(row=r - 1, column=c).fill = ALERT_FILL
        s.table("breakeven_support", h0, 1, r - 1, 9)
        r = s.note(r, ctx.L("be_support_note"))
        r += 1
    # speeds
    sp = view.speeds
    r = s.title(r, ctx.L("speeds_title"), SUBTITLE)
    h0 = r
    r = s.header(r, 1, [ctx.H("speed"), ctx.H("cpr"), ctx.H("cdr")])
    r = s.rows(r, 1, [[x.speed, x.cpr, x.cdr] for x in sp.itertuples(index=False)], [None, PCT2, PCT2])
    s.table("speeds", h0, 1, r - 1, 3)
    r += 1
    speeds = list(sp["speed"])
    dec = view.decrement
    for t in mine:
        d = dec[dec["tranche"] == t.name]
        if not len(d):
            continue
        wide = d.pivot(index="period", columns="speed", values="balance_pct")[speeds]
        dates = d.drop_duplicates("period").set_index("period")["payment_date"]
        alive = wide.index[(wide > 1e-12).any(axis=1)]
        last = int(alive.max()) + 1 if len(alive) else int(wide.index.min())
        last = min(last, int(wide.index.max()))
        zh, en = LABELS["decrement_title"]
        r = s.title(r, ctx.pair(zh.format(tranche=t.name), en.format(tranche=t.name)), SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("period"), ctx.H("payment_date"), *[f"{x}\n{ctx.H('speed')}" for x in speeds]])
        rows = [[0, ctx.result.deal.deal.closing_date, *[1.0] * len(speeds)]]
        rows += [[int(p), dates[p], *[float(wide.at[p, x]) for x in speeds]] for p in wide.index if p <= last]
        r = s.rows(r, 1, rows, [INT, DATE, *[PCT2] * len(speeds)])
        s.table(f"decrement_{t.name}", h0, 1, r - 1, 2 + len(speeds))
        r += 1
    r = s.note(r - 1, ctx.L("decrement_note")) + 1
    st = view.speed_table
    st = st[st["tranche"].isin(names)]
    if len(st):
        r = s.title(r, ctx.L("speed_table_title"), SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("speed"), ctx.H("tranche"), ctx.H("price"), ctx.H("yield"), ctx.H("wal_years"),
                            ctx.H("modified_duration"), ctx.H("first_principal_date"), ctx.H("last_principal_date")])
        order = {x: i for i, x in enumerate(speeds)}
        st = st.assign(_o=st["speed"].map(order)).sort_values(["tranche", "_o"], kind="stable")
        r = s.rows(r, 1, [[x["speed"], x["tranche"], x["price"], x["yield"], x["wal_years"], x["modified_duration"],
                           x["first_principal_date"], x["last_principal_date"]] for x in st.to_dict("records")], [None, None, "0.0000", PCT4, YEARS, "0.0000", DATE, DATE])
        s.table("speed_table", h0, 1, r - 1, 8)
        r = s.note(r, ctx.L("speed_table_note"))
    s.finish(freeze="A3", title_rows=None)


# --------------------------------------------------------------------------- collateral fit


def collateral_fit_rows(s: Sheet, r: int, ctx: Any, top: int = 10) -> int:
    """Remaining receivables against the notes (present value and OC where the deal gives a
    discount rate) and the largest IP rights: type as the tape states it, legal life left
    at the legal maturity, appraised value and valuer, the fees resting on each."""
    fit = ctx.fit
    rec = fit.receivables
    if len(rec):
        r = s.title(r, ctx.L("receivables_title"), SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("pool"), ctx.H("remaining_receivables"), ctx.H("discount_rate"), ctx.H("present_value"),
                            ctx.H("notes_total"), ctx.H("oc_ratio"), ctx.H("receivables_to_notes")])
        for x in rec.itertuples(index=False):
            dr = x.discount_rate if x.discount_rate == x.discount_rate else ctx.L("not_stated")
            r = s.rows(r, 1, [[ctx.pool_name(x.pool), x.remaining_receivables, dr,
                               x.present_value if x.present_value == x.present_value else None, x.notes,
                               x.oc_ratio if x.oc_ratio == x.oc_ratio else None, x.receivables_to_notes]],
                       [None, YUAN, PCT2, YUAN, YUAN, "0.0000", "0.0000"])
        s.table("receivables", h0, 1, r - 1, 7)
        r = s.note(r, ctx.L("receivables_note"))
        r += 1
    rights = fit.rights
    if not len(rights):
        return r
    pledge = "receivables" not in sections(ctx.result.deal.pools)  # pools of loans only: one row per loan
    r = s.title(r, ctx.L("ip_fit"), SUBTITLE)
    zh, en = LABELS["ip_fit_note"]
    r = s.note(r, ctx.pair(zh.format(n=top), en.format(n=top)))
    h0 = r
    r = s.header(r, 1, [ctx.H("obligor_rank"), ctx.H("ip_right"), ctx.H("ip_type"), ctx.H("ip_count"), ctx.H("expiry_date"),
                        ctx.H("years_after_legal"), ctx.H("appraised_value"), ctx.H("valuer"),
                        ctx.H(("exposure_lease" if all(p.kind == "lease" for p in ctx.result.deal.pools) else "exposure_loan")
                              if pledge else "exposure"), ctx.H("exposure_share")])
    shown = rights.groupby("pool", sort=False).head(top)
    r = s.rows(r, 1, [[x.rank, x.right, ctx.ip_label(str(x.type)), x.count, x.expiry_date if isinstance(x.expiry_date, dt.date) else "—",
                       x.years_after_legal_maturity if x.years_after_legal_maturity == x.years_after_legal_maturity else "—",
                       x.appraised_value if x.appraised_value == x.appraised_value else "—",
                       ctx.tr(x.valuer) if isinstance(x.valuer, str) else ctx.L("valuer_missing"),
                       x.exposure, x.exposure_share] for x in shown.itertuples(index=False)],
               [INT, None, None, INT, DATE, DEC2, YUAN, None, YUAN, PCT2])
    for i, x in enumerate(shown.itertuples(index=False)):
        if x.years_after_legal_maturity == x.years_after_legal_maturity and x.years_after_legal_maturity < 0:
            for c in range(1, 11):
                s.ws.cell(row=h0 + 1 + i, column=c).font = ALERT
    s.table("ip_rights", h0, 1, r - 1, 10)
    exp = rights[rights["years_after_legal_maturity"].notna()]
    if len(exp):
        share = float(exp.loc[exp["years_after_legal_maturity"] < 0, "exposure"].sum() / exp["exposure"].sum()) \
            if exp["exposure"].sum() > 0 else math.nan
        r = s.rows(r + 1, 1, [[ctx.L("ip_fit_expiring"), None, None, None, None, None, None, None, None, share]],
                   [None] * 9 + [PCT2], font=BOLD, fill=HIGHLIGHT_FILL)
    return r

