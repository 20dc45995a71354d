"""The credit-support sheet of a term sheet (增信措施): every risk-sharing layer of the pools
and every deal-level support provider, in plain words with its capacity, and what each
paid under each scenario of the run. Layout only; the words come from the deal's models and
the figures from :class:`~abs_engine.results.Result` (``layers``, ``support``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Alignment

from ..model.deal import Account, Deal
from ..model.support import AnnualFeeUpkeep, BuyBack, Guarantee, InterestSubsidy, Sharing
from .labels import label
from .xl import BOX, SUBTITLE, YUAN, Sheet

TOP = Alignment(vertical="top")

#: Width (characters) of the column of plain-word terms: wrapped, rows grown to fit.
TERMS_WIDTH = 40
#: Fixed widths of the columns holding long text (party, mechanism, provider names, status,
#: terms): the three tables share columns, so fitting each to its longest text would make
#: the sheet too wide to print; text in them wraps and its row grows to show all of it.
TEXT_WIDTHS = {1: 14, 2: 14, 3: 16, 4: 20, 7: 16, 8: TERMS_WIDTH}

if TYPE_CHECKING:
    from ..results import Result

#: (中文, English) templates of the plain-word terms; fields in braces.
TERMS: dict[str, tuple[str, str]] = {
    "buy_back": ("违约后{delay}个月按{basis}的{price}回购每笔违约资产（不超过违约余额）{when}",
                 "buys each defaulted asset {delay} months after default at {price} of its {basis} "
                 "(at most the defaulted balance){when}"),
    "basis_original_amount": ("原始金额", "original amount"),
    "basis_defaulted_balance": ("违约余额", "defaulted balance"),
    "when_better": ("；仅在回购价高于处置回收时行使", "; only when the price beats the disposal proceeds"),
    "on_default": ("违约后{delay}个月先行支付其份额，处置后取得相应份额的回收款",
                   "pays its share {delay} months after default, then takes that share of the disposal proceeds"),
    "after_disposal": ("处置完成后{delay}个月按份额承担实际损失",
                       "pays its share of the actual loss {delay} months after the disposal completes"),
    "advance": ("违约时按预估损失（回收率{rate}）先行补偿，处置后多退少补",
                "advances its share of the loss estimated at a {rate} recovery, settled after disposal "
                "(top-up or claw-back)"),
    "regime_first": ("分担比例：{shares}；其余由资产池承担", "shares of each loss: {shares}; the rest stays with the pool"),
    "regime_next": ("前一档无法支付时：{shares}", "when the regime before cannot pay: {shares}"),
    "guarantee_on_default": ("违约后{delay}个月代偿每笔违约资产的{share}，并取得处置回收款（代位追偿）",
                             "pays {share} of each defaulted asset {delay} months after default and takes over "
                             "its disposal proceeds (subrogation)"),
    "guarantee_after_disposal": ("处置完成后{delay}个月代偿实际损失的{share}",
                                 "pays {share} of the actual loss {delay} months after the disposal completes"),
    "reguarantee": ("返还担保人每笔代偿金额的{share}，并分享相应追偿回收",
                    "refunds the guarantor {share} of each payment and shares its recoveries"),
    "subsidy": ("补贴借款人已付利息的{share}{cap}{until}，支付给{to}", "pays {share} of the interest paid{cap}{until}, to the {to}"),
    "subsidy_cap": ("，每户每年不超过{cap}", ", at most {cap} per borrower per year"),
    "subsidy_until": ("，至{until}止", ", until {until}"),
    "to_pool": ("资产池", "pool"),
    "to_borrower": ("借款人（不计入资产池）", "borrowers (not to the pool)"),
    "upkeep": ("资产池每年为每项资产预付年费{cost}；未缴纳的，宽限{grace}个月后权利失效，此后处置无回收",
               "the pool pays annual fees of {cost} per asset per year in advance; if unpaid, the rights lapse "
               "{grace} months later and later disposals recover nothing"),
    "provider_backs": ("差额支付/担保：{items}", "shortfall payment / guarantee of: {items}"),
    "backs_fees": ("优先费用", "senior expenses"),
    "backs_interest": ("{t}利息", "{t} interest"),
    "backs_principal": ("{t}应付本金（预期到期日起或按计划）", "{t} principal when due (from the expected maturity, or on schedule)"),
    "reimbursed": ("；已付款项从剩余资金中偿还（偿还差额支付款项）：在{after}之后、{before}之前",
                   "; what it pays is repaid out of the remaining funds: after {after}, ahead of {before}"),
    "reimbursed_revolving": ("，偿还后额度恢复", ", and repayment restores its capacity"),
    "not_reimbursed": ("；已付款项不从信托财产中偿还（其代付款项最终惠及其所支持证券之后的各档）",
                       "; what it pays is never repaid out of the trust (it ends up with the classes junior to "
                       "those it backs)"),
    "after_principal": ("{t}本金", "{t} principal"),
    "after_start": ("本顺序开始", "the start of the waterfall"),
    "before_end": ("分配结束", "the end of the waterfall"),
    "capacity_net": ("；额度按净额计：处置回收（其所得份额）恢复其额度（以该笔代偿为限），即额度在处置完成收回款项时恢复",
                     "; net capacity: what it gets back from disposals (its share of the proceeds) restores its "
                     "capacity, up to what it paid on that default, so capacity comes back only when a disposal "
                     "completes"),
    "capacity_gross": ("；额度按总额计：只减不增", "; gross capacity: it only ever decreases by what it pays"),
}


def _capacity_words(layer: Any) -> tuple[str, str]:
    """How a layer's capacity is counted (net of recoveries or gross), when it has one."""
    basis = getattr(layer, "capacity_basis", None)
    if getattr(layer, "capacity", None) is None or basis is None:
        return ("", "")
    return TERMS[f"capacity_{basis}"]


def _with_capacity(key: str, layer: Any, lang: str, **kw: Any) -> str:
    """The terms of ``key`` followed by how the layer's capacity is counted, in ``lang``."""
    zh, en = _pair(key, **kw)
    czh, cen = _capacity_words(layer)
    return _lang((zh + czh, en + cen), lang)


def _pair(key: str, **kw: Any) -> tuple[str, str]:
    """The (中文, English) text of ``key``; a field given as a pair fills each language."""
    zh, en = TERMS[key]
    return (zh.format(**{k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}),
            en.format(**{k: (v[1] if isinstance(v, tuple) else v) for k, v in kw.items()}))


def _lang(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1] if lang == "en" else f"{pair[0]} / {pair[1]}"


def _t(key: str, lang: str, **kw: Any) -> str:
    return _lang(_pair(key, **kw), lang)


def _pct(x: float) -> str:
    return f"{100 * x:.4g}%"


def _money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _cap(x: float | None) -> float | None:
    return None if x is None else float(x)


def layer_rows(deal: Deal, lang: str) -> list[list[Any]]:
    """One row per payer of every pool's support stack: pool, name, kind, provider, terms,
    capacity (None: unlimited), per-asset cap, annual cap."""
    rows: list[list[Any]] = []
    for pool in deal.pools:
        for layer in pool.support:
            if isinstance(layer, BuyBack):
                terms = _with_capacity("buy_back", layer, lang, delay=layer.delay_months, price=_pct(layer.price),
                                       basis=TERMS[f"basis_{layer.price_basis}"],
                                       when=TERMS["when_better"] if layer.exercise == "when_better" else ("", ""))
                rows.append([pool.name, layer.name, "kind_buy_back", layer.provider, terms,
                             _cap(layer.capacity), _cap(layer.per_asset_cap), _cap(layer.annual_cap)])
            elif isinstance(layer, Sharing):
                names = {p.name: p for p in layer.parties}
                regimes = []
                for i, reg in enumerate(layer.regimes):
                    shares = ", ".join(f"{n} {_pct(a)}" for n, a in reg.items())
                    regimes.append(_t("regime_first" if i == 0 else "regime_next", lang, shares=shares))
                for p in names.values():
                    timing = _t(p.timing, lang, delay=p.delay_months, rate=_pct(p.advance_recovery))
                    rows.append([pool.name, p.name, f"kind_{p.kind}", p.provider,
                                 f"{timing}; " + "; ".join(regimes) + _lang(_capacity_words(p), lang),
                                 _cap(p.capacity), _cap(p.per_asset_cap), _cap(p.annual_cap)])
            elif isinstance(layer, Guarantee):
                terms = _with_capacity(f"guarantee_{layer.timing}", layer, lang, delay=layer.delay_months,
                                       share=_pct(layer.share))
                rows.append([pool.name, layer.name, "kind_guarantee", layer.provider, terms,
                             _cap(layer.capacity), _cap(layer.per_asset_cap), _cap(layer.annual_cap)])
                rg = layer.reguarantee
                if rg is not None:
                    rows.append([pool.name, rg.name, "kind_reguarantee", rg.provider,
                                 _with_capacity("reguarantee", rg, lang, share=_pct(rg.share)),
                                 _cap(rg.capacity), _cap(rg.per_asset_cap), _cap(rg.annual_cap)])
            elif isinstance(layer, InterestSubsidy):
                none = ("", "")
                cap = _pair("subsidy_cap", cap=_money(layer.per_borrower_annual_cap)) if layer.per_borrower_annual_cap is not None else none
                until = _pair("subsidy_until", until=f"{layer.until:%Y-%m-%d}") if layer.until is not None else none
                terms = _t("subsidy", lang, share=_pct(layer.share), cap=cap, until=until, to=TERMS[f"to_{layer.to}"])
                rows.append([pool.name, layer.name, "kind_interest_subsidy", layer.provider, terms,
                             _cap(layer.capacity), None, _cap(layer.per_borrower_annual_cap)])
            elif isinstance(layer, AnnualFeeUpkeep):
                cost = _money(layer.cost_per_year) + (f" + {_pct(layer.collateral_share)}" if layer.collateral_share else "")
                rows.append([pool.name, layer.name, "kind_annual_fee_upkeep", None, _t("upkeep", lang, cost=cost, grace=layer.grace_months),
                             None, None, None])
    return rows


def _backs(deal: Deal, acc: Account, lang: str) -> str:
    """What a deal-level provider backs, read off the waterfall steps that draw on it."""
    fees = False
    interest: list[str] = []
    principal: list[str] = []
    for state in ("normal", "accelerated", "event_of_default"):
        for s in getattr(deal.waterfalls, state) or []:
            if acc.name in getattr(s, "support", []):
                if s.action == "pay_fee":
                    fees = True
                elif s.action == "pay_interest":
                    interest += [t for t in s.to if t not in interest]
            if s.action == "draw_reserve" and s.from_ == acc.name:
                fees = fees or bool(s.cover.fees)
                interest += [t for t in s.cover.interest if t not in interest]
                principal += [t for t in s.cover.principal if t not in principal]
    items: list[tuple[str, str]] = []
    if fees:
        items.append(TERMS["backs_fees"])
    if interest:
        zh, en = TERMS["backs_interest"]
        items.append((zh.format(t="、".join(interest)), en.format(t=", ".join(interest))))
    if principal:
        zh, en = TERMS["backs_principal"]
        items.append((zh.format(t="、".join(principal)), en.format(t=", ".join(principal))))
    zh, en = _pair("provider_backs", items=("、".join(i[0] for i in items) or "—", "; ".join(i[1] for i in items) or "—"))
    rzh, ren = reimbursement_words(deal, acc)
    return _lang((zh + rzh, en + ren), lang)


def reimbursement_words(deal: Deal, acc: Account) -> tuple[str, str]:
    """Whether a provider's payments are repaid out of the trust and ahead of whom: read off
    the ``reimburse_support`` step of the normal waterfall (the first state that has one):
    after the principal steps before it, ahead of the classes paid after it."""
    for state in ("normal", "accelerated", "event_of_default"):
        steps = getattr(deal.waterfalls, state) or []
        at = next((i for i, st in enumerate(steps) if st.action == "reimburse_support" and st.to == acc.name), None)
        if at is None:
            continue
        before = [t for st in steps[:at] if st.action == "pay_principal" for t in st.to]
        after: list[str] = []
        for st in steps[at + 1:]:
            if st.action in ("pay_principal", "pay_residual"):
                after += [t for t in ([st.to] if isinstance(st.to, str) else st.to) if t not in after]
        zh_a, en_a = TERMS["after_principal"]
        a = ((zh_a.format(t="、".join(before)), en_a.format(t=", ".join(before))) if before else TERMS["after_start"])
        b = ("、".join(after), ", ".join(after)) if after else TERMS["before_end"]
        zh, en = TERMS["reimbursed"]
        words = (zh.format(after=a[0], before=b[0]), en.format(after=a[1], before=b[1]))
        if getattr(steps[at], "restore_capacity", False):
            words = (words[0] + TERMS["reimbursed_revolving"][0], words[1] + TERMS["reimbursed_revolving"][1])
        return words
    return TERMS["not_reimbursed"]


def provider_rows(deal: Deal, lang: str) -> list[list[Any]]:
    """One row per deal-level support provider (undertaking, guarantee account)."""
    return [[a.name, f"kind_{a.kind}", a.provider, _backs(deal, a, lang), _cap(a.limit if a.kind == "liquidity" else a.capacity)]
            for a in deal.accounts if a.external]


def support_sheet(s: Sheet, result: Result, lang: str, L: Any, H: Any, *, tr: Any = None,  # noqa: N803
                  pool_name: Any = None, more: Any = None) -> None:
    """Write the credit-support sheet. ``L`` / ``H`` render labels (running text / headers),
    ``tr`` text from the deal in both languages, ``pool_name`` a pool with its kind;
    ``more(s, row)`` writes further sections (support parties, dependence) below."""
    deal = result.deal
    tr = tr or (lambda x: x)
    pool_name = pool_name or (lambda x: x)
    s.max_width = 16
    r = s.title(1, f"{L('credit_support')} — {deal.name}")
    layers = layer_rows(deal, lang)
    providers = provider_rows(deal, lang)
    unlimited = label("unlimited", lang)

    def cap(x: float | None) -> Any:
        return unlimited if x is None else x

    # the terms in column H, wrapped in fixed-width columns; each row as tall as its text
    for col, w in TEXT_WIDTHS.items():
        s.set_width(col, w)

    def line(r: int, values: list[Any], fmts: list[str | None]) -> None:
        s.rows(r, 1, [values], fmts)
        for j, v in enumerate(values):
            if isinstance(v, str) and (1 + j) in TEXT_WIDTHS:
                s.wrapped(r, 1 + j, v, TEXT_WIDTHS[1 + j], border=BOX)
            else:  # the row's other cells at the top too, beside wrapped text
                s.ws.cell(row=r, column=1 + j).alignment = TOP

    heads = [H("pool"), H("party"), H("mechanism"), H("provider"), H("capacity"), H("per_asset_cap"), H("annual_cap"),
             H("terms")]
    fmts: list[str | None] = [None, None, None, None, YUAN, YUAN, YUAN, None]
    r += 1
    r = s.title(r, L("support_layers"), SUBTITLE)
    if layers:
        h0 = r
        r = s.header(r, 1, heads)
        for pool, name, kind, provider, terms, c, pa, an in layers:
            line(r, [pool_name(pool), name, L(kind), tr(provider) if provider else "—", cap(c),
                     cap(pa) if pa is not None else "—", cap(an) if an is not None else "—", terms], fmts)
            r += 1
        s.table("support_layers", h0, 1, r - 1, 8)
    else:
        r = s.note(r, L("no_support_layers"))
    r += 1
    r = s.title(r, L("deal_support"), SUBTITLE)
    if providers:
        h0 = r
        r = s.header(r, 1, [H("level"), *heads[1:]])
        for name, kind, provider, terms, c in providers:
            line(r, [L("level_deal"), name, L(kind), tr(provider) if provider else "—", cap(c), "—", "—", terms], fmts)
            r += 1
        s.table("deal_support", h0, 1, r - 1, 8)
    else:
        r = s.note(r, L("no_deal_support"))
    # what each paid, per scenario
    r += 1
    r = s.title(r, L("support_paid_by_scenario"), SUBTITLE)
    h0 = r
    r = s.header(r, 1, [H("scenario"), H("party"), H("mechanism"), H("support_paid"), H("support_net_cost"),
                        H("capacity_end"), H("support_status")])
    failures = {sc.name: sc.support_failures for sc in result.scenarios}

    def status(sc: str, party: str) -> str:
        when = failures.get(sc, {}).get(party)
        return L("support_active") if when is None else L("support_failed").format(date=f"{when:%Y-%m-%d}")

    data: list[list[Any]] = []
    led = result.layers
    if len(led):
        g = led.groupby(["scenario", "party"], sort=False)
        last = g["capacity_remaining"].last()
        for (sc, party), part in g:
            kind = str(part["kind"].iloc[0])
            c = float(last[(sc, party)])
            data.append([sc, party, L(f"kind_{kind}"), float(part["paid"].sum()), float(part["net_cost"].sum()),
                         unlimited if math.isinf(c) else c, status(sc, party)])
    sup = result.support
    if len(sup):
        kinds = {a.name: a.kind for a in deal.accounts}
        g = sup.groupby(["scenario", "provider"], sort=False)
        last = g["capacity_remaining"].last()
        for (sc, prov), part in g:
            c = float(last[(sc, prov)])
            paid = float(part["paid"].sum())
            data.append([sc, prov, L(f"kind_{kinds[prov]}"), paid, paid, unlimited if math.isinf(c) else c,
                         status(sc, prov)])
    order = {n: i for i, n in enumerate(result.scenario_names)}
    data.sort(key=lambda row: order.get(row[0], 0))
    for values in data:
        line(r, values, [None, None, None, YUAN, YUAN, YUAN, None])
        r += 1
    s.table("support_paid", h0, 1, r - 1, 7)
    r = s.note(r, L("support_note"))
    if more is not None:
        r = more(s, r)
    s.finish(freeze="A3", title_rows=None)
