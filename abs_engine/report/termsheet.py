"""Excel term sheets (条款摘要) for the senior, mezzanine and subordinate classes of a run.

Layout only: every figure comes from a :class:`~abs_engine.results.Result` (cash flows,
``summary()``), from :func:`abs_engine.pools.stats.deal_pool_stats` (collateral) or from
an ``analytics`` frame made by :func:`abs_engine.analytics.tranche_analytics`; the
interest a tranche never receives from :meth:`abs_engine.Result.measures`
(the break-even and Monte Carlo definition). The only arithmetic here is presentation:
shares of the note total and credit enhancement (share of notes junior to a class), 万元
conversions, column totals of the schedule, each period's new interest shortfall (the
increase of the carried unpaid balance), loss as a share of a tranche's size and the
running sums of pool losses for the charts.

docs/termsheets.md describes each sheet.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.axis import DateAxis
from openpyxl.packaging.custom import StringProperty
from openpyxl.worksheet.pagebreak import Break

from .. import curves
from ..io.outputs import sha256
from ..model.deal import Tranche, sections
from ..pools.kinds import kind_of
from ..pools.stats import PoolStats, deal_pool_stats, pool_stats
from ..results import Result
from ..studies.investor import collateral_fit, investor_view
from .actuals_sheet import actuals_sheet
from .agency_sheet import agency_sheet
from .atomic import save_workbook
from .investor_sheets import (
    collateral_fit_rows,
    events_sheet,
    stress_sheet,
    structure_sheet,
    support_sections,
)
from .labels import GLOSSARY, LABELS, LANGS, in_currency, label
from .risk_sheet import risk_sheet
from .support_sheet import support_sheet
from .xl import (
    ALERT,
    ALERT_FILL,
    BOLD,
    BOX,
    DATE,
    DEC2,
    DEC4,
    HIGHLIGHT_FILL,
    INT,
    PCT2,
    PCT4,
    SUBTITLE,
    TOTAL_FILL,
    WAN,
    YEARS,
    YUAN,
    Sheet,
    file_stem,
    sheet_name,
)

__all__ = ["CLASSES", "write_term_sheets", "term_sheet_workbooks"]

#: What a figure shows when it is undefined because the tranche receives no cash.
DASH = "—"
#: The ``note`` of :func:`abs_engine.analytics.tranche_analytics` for such a tranche.
NO_CASH = "receives no cash after settlement"
#: Notes of the analytics, by label key.
_NOTES = {NO_CASH: "note_no_cash", "settlement is on or after the last payment date": "note_settled",
          "no face outstanding at settlement": "note_no_face"}

#: Tranche kinds that get a workbook, in the order they are written.
CLASSES: tuple[str, ...] = ("senior", "mezzanine", "subordinate")

#: Analytics columns shown among a tranche's key figures, with their number format;
#: columns missing from the frame, or empty for every tranche of the workbook, are left out.
ANALYTICS_FIGURES: tuple[tuple[str, str | None], ...] = (
    ("price", DEC4),
    ("dirty_price", DEC4),
    ("accrued", DEC4),
    ("yield", PCT4),
    ("compounding", None),
    ("wal_years", YEARS),
    ("macaulay_duration", DEC4),
    ("modified_duration", DEC4),
    ("convexity", DEC4),
    ("z_spread", PCT4),
    ("effective_duration", DEC4),
    ("discount_margin", PCT4),
    ("first_principal_date", DATE),
    ("last_principal_date", DATE),
    ("principal_window_months", INT),
    ("total_interest", YUAN),
    ("total_principal", YUAN),
    ("total_residual", YUAN),
    ("loss", YUAN),
    ("irr", PCT4),
    ("cash_multiple", DEC4),
    ("note", None),
)


# --------------------------------------------------------------------------- context


@dataclass
class _Ctx:
    """What every sheet of every workbook of one call shares."""

    result: Result
    lang: str
    analytics: pd.DataFrame | None
    summary: pd.DataFrame
    stats: PoolStats | None
    pool_stats: list[tuple[str, PoolStats | None]]
    written_at: dt.datetime
    deal_sha256: str | None
    deal_path: Path | None
    #: break-even table and Monte Carlo run for the risk sheet (abs_engine.studies)
    breakeven: pd.DataFrame | None = None
    simulation: Any = None
    #: the agency stress test (abs_engine.studies.agency.Agency) for the agency sheet
    agency: Any = None
    #: each tranche's price/yield table (Result.yield_table)
    yield_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: the break-even / Monte Carlo measures of the run's tranches (made when first needed)
    measures: Any = None
    #: (scenario, tranche) pairs in which the tranche receives no cash (a total loss)
    no_cash: set[tuple[str, str]] = field(default_factory=set)
    #: the investor figures (abs_engine.studies.investor.investor_view) and the IP fit
    investor: Any = None
    fit: Any = None

    @property
    def cny(self) -> bool:
        """Summary pages of a CNY deal show amounts in 万元."""
        return self.result.deal.deal.currency == "CNY"

    def tr(self, text: Any) -> Any:
        """Text from the deal file or its tapes in both languages when the deal's glossary
        (or the built-in one) translates it: ``中文 / English``."""
        if not isinstance(text, str) or self.lang != "both":
            return text
        other = self.result.deal.deal.glossary.get(text) or GLOSSARY.get(text)
        if not other:
            return text
        cjk = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        return f"{text} / {other}" if cjk else f"{other} / {text}"

    def ip_label(self, v: str) -> str:
        key = f"ip_{v}"
        return self.L(key) if key in LABELS else str(self.tr(v))

    def pool_name(self, name: str) -> str:
        """A pool's name with its kind in both languages."""
        pool = next((p for p in self.result.deal.pools if p.name == name), None)
        if pool is None:
            return str(self.tr(name))
        return f"{self.L(f'asset_{pool.kind}')} ({name})"

    def L(self, key: str, sep: str = " / ") -> str:  # noqa: N802 - short on purpose
        return in_currency(label(key, self.lang, sep), self.result.deal.deal.currency)

    def pair(self, zh: str, en: str, sep: str = " / ") -> str:
        """Text given in both languages, rendered as labels are."""
        return zh if self.lang == "zh" else en if self.lang == "en" else f"{zh}{sep}{en}"

    def dash(self, value: Any, scenario: str, tranche: str) -> Any:
        """A figure, or ``—`` where it is undefined because the tranche receives no cash."""
        return DASH if _empty(value) and (str(scenario), str(tranche)) in self.no_cash else value

    def H(self, key: str) -> str:  # noqa: N802
        """A table-header label (languages on two lines)."""
        return in_currency(label(key, self.lang, "\n"), self.result.deal.deal.currency)

    @property
    def scenarios(self) -> list[str]:
        return self.result.scenario_names


def _check_analytics(analytics: pd.DataFrame | None, result: Result) -> pd.DataFrame | None:
    if analytics is None:
        return None
    if not isinstance(analytics, pd.DataFrame):
        raise TypeError(f"analytics must be a pandas DataFrame (got {type(analytics).__name__})")
    missing = [c for c in ("scenario", "tranche") if c not in analytics.columns]
    if missing:
        raise ValueError(f"analytics lacks the column(s) {missing}; expected one row per (scenario, tranche)")
    scen = set(result.scenario_names)
    tr = {t.name for t in result.deal.tranches}
    bad_s = sorted(set(map(str, analytics["scenario"])) - scen)
    bad_t = sorted(set(map(str, analytics["tranche"])) - tr)
    if bad_s or bad_t:
        raise ValueError(
            "analytics does not belong to this result: "
            + "; ".join(
                x for x in (
                    f"unknown scenario(s) {bad_s} (run has {sorted(scen)})" if bad_s else "",
                    f"unknown tranche(s) {bad_t} (deal has {sorted(tr)})" if bad_t else "",
                ) if x
            )
        )
    dup = analytics.duplicated(["scenario", "tranche"])
    if dup.any():
        first = analytics.loc[dup, ["scenario", "tranche"]].iloc[0].tolist()
        raise ValueError(f"analytics has more than one row for (scenario, tranche) = {tuple(first)}")
    return analytics


def _stats(result: Result) -> tuple[PoolStats | None, list[tuple[str, PoolStats | None]]]:
    deal = result.pool_deal  # (a run from a status: its pool on the status date)
    per_pool: list[tuple[str, PoolStats | None]] = []
    for p in deal.pools:
        try:
            per_pool.append((p.name, pool_stats(p, deal.deal)))
        except NotImplementedError:
            per_pool.append((p.name, None))
    try:
        whole: PoolStats | None = deal_pool_stats(deal)
    except NotImplementedError:
        whole = None
    return whole, per_pool


# --------------------------------------------------------------------------- summary sheet


def _coupon(t: Tranche, ctx: _Ctx) -> tuple[Any, str | None]:
    c = t.coupon
    if c.kind == "fixed":
        return c.rate, PCT2
    if c.kind == "floating":
        text = f"{c.index} + {c.spread * 100:.2f}%"
        if c.floor is not None:
            text += f", {ctx.L('coupon_floor')} {c.floor * 100:.2f}%"
        if c.cap is not None:
            text += f", {ctx.L('coupon_cap')} {c.cap * 100:.2f}%"
        return text, None
    return ctx.L("coupon_none"), None


def _frequency(value: str, ctx: _Ctx) -> str:
    key = f"freq_{value}"
    return ctx.L(key) if key in LABELS else value


def _payment_rule(ctx: _Ctx) -> str:
    h = ctx.result.deal.deal
    (zh, en) = LABELS["payment_rule_text"]
    fz, fe = LABELS.get(f"freq_{h.payment_frequency.value}", (h.payment_frequency.value,) * 2)
    bz, be = LABELS[f"bdc_{h.business_day_convention.value}"]
    return str(ctx.pair(zh.format(first=f"{h.first_payment_date:%Y-%m-%d}", freq=fz, calendar=h.calendar, bdc=bz),
                        en.format(first=f"{h.first_payment_date:%Y-%m-%d}", freq=fe.lower(), calendar=h.calendar, bdc=be)))


def _summary_sheet(s: Sheet, ctx: _Ctx, cls: str, mine: list[Tranche]) -> None:
    h = ctx.result.deal.deal
    s.set_width(1, 26)
    s.max_width = 20
    r = 1
    r = s.title(r, ctx.pair(h.name_zh, h.name) if h.name_zh else h.name)
    (nzh, nen), (tzh, ten) = LABELS[f"{cls}_notes"], LABELS["termsheet"]
    title = in_currency(ctx.pair(f"{nzh}{tzh}", f"{nen} {ten.lower()}"), h.currency)
    r = s.title(r, f"{title} — {', '.join(t.name for t in mine)}", SUBTITLE)
    r = _stamp(s, r, ctx)
    if ctx.cny:
        r = s.note(r, ctx.L("amounts_wan_note"))
    r += 1

    total = sum(t.balance for t in ctx.result.deal.tranches)
    r = s.title(r, ctx.L("deal_info"), SUBTITLE)
    r = s.kv(r, ctx.L("deal_name"), h.name)
    if h.name_zh:
        r = s.kv(r, ctx.L("deal_name_zh"), h.name_zh)
    r = s.kv(r, ctx.L("asset_type"), ctx.L(f"asset_{h.asset_type}"))
    r = s.kv(r, ctx.L("currency"), h.currency)
    if ctx.cny:
        r = s.kv(r, ctx.L("size_yi"), total / 1e8, "#,##0.0000")
    else:
        r = s.kv(r, ctx.L("size_yuan"), total, YUAN)
    r = s.kv(r, ctx.L("venue"), ctx.tr(h.venue) if h.venue else "—")
    for key in ("originator", "manager", "servicer", "custodian", "guarantor", "shortfall_undertaker"):
        r = s.kv(r, ctx.L(key), ctx.tr(getattr(h.parties, key)) or "—")
    r += 1
    r = s.title(r, ctx.L("key_dates"), SUBTITLE)
    for key in ("cutoff_date", "closing_date", "first_payment_date", "expected_maturity", "legal_maturity"):
        r = s.kv(r, ctx.L(key), getattr(h, key))
    if ctx.result.status is not None:
        r = s.kv(r, ctx.L("status_as_of"), ctx.result.status.date)
    r = s.kv(r, ctx.L("payment_frequency"), _frequency(h.payment_frequency.value, ctx))
    r = s.kv(r, ctx.L("payment_date_rule"), _payment_rule(ctx))
    r = s.kv(r, ctx.L("day_count"), h.day_count.value)
    r = s.kv(r, ctx.L("calendar"), h.calendar)
    r += 1

    r = _capital_structure(s, r, ctx, mine)
    r += 1
    r = _scenario_table(s, r, ctx)
    r += 1
    r = _key_figures(s, r, ctx, mine)
    r += 1
    r = s.title(r, ctx.L("risk_factors"), SUBTITLE)
    if h.risk_factors:
        for i, rf in enumerate(h.risk_factors, start=1):
            text = ctx.pair(rf.zh or rf.en or "", rf.en or rf.zh or "") if (rf.zh and rf.en) else (rf.zh or rf.en)
            r = s.note(r, f"{i}. {text}")
    else:
        r = s.note(r, ctx.L("no_risk_factors"))
    s.finish(freeze="B4", title_rows=None)


def _stamp(s: Sheet, r: int, ctx: _Ctx) -> int:
    from ..version import __version__

    text = (
        f"{ctx.L('generated_by')} {__version__} · {ctx.written_at:%Y-%m-%d %H:%M} UTC · "
        f"{ctx.L('scenarios')}: {', '.join(ctx.scenarios)}"
    )
    return s.note(r, text)


def _wal_by_scenario(ctx: _Ctx) -> tuple[dict[tuple[str, str], float], str]:
    """WAL per (scenario, tranche): from analytics when given, else from the result."""
    if ctx.analytics is not None and "wal_years" in ctx.analytics.columns:
        a = ctx.analytics
        return {(str(sc), str(t)): w for sc, t, w in zip(a["scenario"], a["tranche"], a["wal_years"], strict=True)}, "cs_note_wal_analytics"
    sm = ctx.summary
    return {(str(sc), str(t)): w for sc, t, w in zip(sm["scenario"], sm["tranche"], sm["wal_years"], strict=True)}, "cs_note_wal_result"


def _rate_type(t: Tranche, ctx: _Ctx) -> str:
    return str(ctx.L({"fixed": "rate_fixed", "floating": "rate_floating"}.get(t.coupon.kind, "rate_none")))


def _capital_structure(s: Sheet, r: int, ctx: _Ctx, mine: list[Tranche]) -> int:
    """One column per tranche (rank order) and a total column; one row per attribute,
    with a WAL row per scenario (so the table grows down, not across, with scenarios)."""
    deal, h = ctx.result.deal, ctx.result.deal.deal
    r = s.title(r, ctx.L("capital_structure"), SUBTITLE)
    wal, wal_note = _wal_by_scenario(ctx)
    tranches = sorted(deal.tranches, key=lambda x: x.rank)
    names = {t.name for t in mine}
    total = sum(t.balance for t in deal.tranches)
    header_row = r
    r = s.header(r, 1, [ctx.H("class"), *[t.name for t in tranches], ctx.H("total")])
    for j, t in enumerate(tranches):
        if t.name in names:
            s.ws.cell(row=header_row, column=2 + j).fill = HIGHLIGHT_FILL

    def line(key: str, values: list[Any], fmts: list[str | None], total_value: Any = None,
             total_fmt: str | None = None, text: str | None = None) -> None:
        nonlocal r
        s.label(r, 1, text if text is not None else ctx.L(key), font=BOLD, border=BOX)
        for j, (v, f) in enumerate(zip(values, fmts, strict=True)):
            s.put(r, 2 + j, v, f, border=BOX, fill=HIGHLIGHT_FILL if tranches[j].name in names else None)
        s.put(r, 2 + len(values), total_value, total_fmt, border=BOX, font=BOLD, fill=TOTAL_FILL)
        r += 1

    n = len(tranches)
    line("kind", [ctx.L(t.kind) for t in tranches], [None] * n)
    line("rank", [t.rank for t in tranches], [INT] * n)
    if ctx.cny:
        line("size_wan", [t.balance / 1e4 for t in tranches], [WAN] * n, total / 1e4, WAN)
    else:
        line("size_yuan", [t.balance for t in tranches], [YUAN] * n, total, YUAN)
    line("share_of_notes", [t.balance / total if total else None for t in tranches], [PCT2] * n,
         1.0 if total else None, PCT2)
    line("rate_type", [_rate_type(t, ctx) for t in tranches], [None] * n)
    cpns = [_coupon(t, ctx) for t in tranches]
    line("coupon", [c for c, _ in cpns], [f for _, f in cpns])
    line("credit_enhancement",
         [sum(x.balance for x in deal.tranches if x.rank > t.rank) / total if total else None for t in tranches],
         [PCT2] * n)
    st = ctx.result.status
    if st is not None:  # a run from a status: where the notes stand on its date
        cur = {t.name: st.tranches[t.name].balance if t.name in st.tranches else t.balance for t in tranches}
        cur_total = sum(cur.values())
        d = f"{st.date:%Y-%m-%d}"
        if ctx.cny:
            line("current_balance_wan", [cur[t.name] / 1e4 for t in tranches], [WAN] * n, cur_total / 1e4, WAN,
                 text=f"{ctx.L('current_balance_wan')} — {d}")
        else:
            line("current_balance", [cur[t.name] for t in tranches], [YUAN] * n, cur_total, YUAN,
                 text=f"{ctx.L('current_balance')} — {d}")
        line("factor", [cur[t.name] / t.balance if t.balance else None for t in tranches], ["0.0000"] * n,
             cur_total / total if total else None, "0.0000", text=f"{ctx.L('factor')} — {d}")
        line("current_credit_enhancement",
             [sum(cur[x.name] for x in tranches if x.rank > t.rank) / cur_total if cur_total else None for t in tranches],
             [PCT2] * n, text=f"{ctx.L('current_credit_enhancement')} — {d}")
    for sc in ctx.scenarios:
        line("wal_scenario", [ctx.dash(wal.get((sc, t.name)), sc, t.name) for t in tranches], [YEARS] * n,
             text=f"{ctx.L('wal_scenario')} — {sc}")
    line("expected_maturity", [t.expected_maturity or h.expected_maturity for t in tranches], [DATE] * n)
    line("legal_maturity", [t.legal_maturity or h.legal_maturity for t in tranches], [DATE] * n)
    line("rating", [t.rating or "—" for t in tranches], [None] * n)
    line("rating_agency", [ctx.tr(t.rating_agency) if t.rating_agency else "—" for t in tranches], [None] * n)
    line("security_code", [t.code or "—" for t in tranches], [None] * n)
    line("principal_style", [ctx.L(f"style_{t.principal.style}") for t in tranches], [None] * n)
    s.table("capital_structure", header_row, 1, r - 1, 2 + n)
    r = s.note(r, ctx.L("cs_note_ce"))
    r = s.note(r, ctx.L(wal_note))
    if any((sc, t.name) in ctx.no_cash for sc in ctx.scenarios for t in tranches):
        r = s.note(r, ctx.L("no_cash_note"))
    return r


def _assumptions(ctx: _Ctx) -> tuple[list[str], list[str | None], Any]:
    """The scenario assumptions that apply to the deal's pools: header keys, formats and a
    function giving a scenario's values (pledge pools: prepayment and disposal of the
    collateral; receivable pools: terminations, recoveries and patent risks)."""
    applies = sections(ctx.result.deal.pools)
    pledge = "prepayment" in applies
    recv = "receivables" in applies
    licence = "patents" in applies
    vec = ctx.L("vector")

    def rate(x: Any) -> Any:
        if not isinstance(x, list | float | int):  # a convention: 150% PSA, 1.00% MDR, ...
            return curves.label(x)
        return vec if isinstance(x, list) else x

    cols: list[tuple[str, str | None, Any]] = [
        ("cdr", PCT2, lambda sc: ctx.L("tape_pd") if recv and not pledge and sc.receivables.use_tape_pd else rate(sc.defaults.cdr)),
    ]
    if pledge:
        cols += [
            ("cpr", PCT2, lambda sc: rate(sc.prepayment.cpr)),
            ("recovery_haircut", PCT2, lambda sc: sc.recovery.haircut if sc.recovery.rate is None else "—"),
            ("recovery_rate_override", PCT2, lambda sc: sc.recovery.rate if sc.recovery.rate is not None else "—"),
            ("recovery_lag", INT, lambda sc: sc.recovery.lag_months),
            ("recovery_value_decay", PCT2, lambda sc: sc.recovery.value_decay),
        ]
    if recv:
        cols += [
            ("termination_rate", PCT2, lambda sc: rate(sc.receivables.termination_rate)),
            ("receivable_recovery_rate", PCT2, lambda sc: sc.receivables.recovery_rate),
            ("receivable_recovery_lag", INT, lambda sc: sc.receivables.recovery_lag_months),
        ]
    if licence:
        cols += [
            ("invalidation_hazard", PCT2, lambda sc: ctx.L("by_type") if isinstance(sc.patents.invalidation_hazard, dict)
             else sc.patents.invalidation_hazard),
            ("patent_events", INT, lambda sc: len(sc.patents.events)),
        ]
    if any(sc.support_failures for sc in ctx.result.scenarios):
        cols.append(("support_failures", None, lambda sc: ", ".join(f"{k} {v:%Y-%m-%d}" for k, v in sc.support_failures.items()) or "—"))
    return [k for k, _, _ in cols], [f for _, f, _ in cols], lambda sc: [g(sc) for _, _, g in cols]


def _description(sc: Any, ctx: _Ctx) -> str:
    zh, en = getattr(sc, "description_zh", None), sc.description
    if zh and en:
        return str(ctx.pair(zh, en))
    return str(zh or en or "—")


def _scenario_table(s: Sheet, r: int, ctx: _Ctx) -> int:
    """Scenario assumptions (a table), then each scenario's description as a wrapped note."""
    keys, fmts, values = _assumptions(ctx)
    r = s.title(r, ctx.L("scenarios"), SUBTITLE)
    h0 = r
    r = s.header(r, 1, [ctx.H("scenario"), *(ctx.H(k) for k in keys)])
    r = s.rows(r, 1, [[sc.name, *values(sc)] for sc in ctx.result.scenarios], [None, *fmts])
    s.table("scenarios", h0, 1, r - 1, 1 + len(keys))
    r = s.title(r, ctx.L("scenario_descriptions"), BOLD)
    for sc in ctx.result.scenarios:
        r = s.note(r, f"{sc.name}: {_description(sc, ctx)}")
    return r


#: Key figures in two tables (price and risk; cash flows), each at most a dozen columns wide.
_KEY_TABLES: tuple[tuple[str, ...], ...] = (
    ("price", "dirty_price", "accrued", "yield", "compounding", "wal_years"),
    ("macaulay_duration", "modified_duration", "convexity", "z_spread", "effective_duration", "discount_margin"),
    ("first_principal_date", "last_principal_date", "principal_window_months", "total_interest",
     "total_principal", "total_residual", "loss"),
    ("irr", "cash_multiple", "note"),
)
#: Money figures shown in 万元 on the summary of a CNY deal: figure -> label key in 万元.
_WAN_KEYS = {"total_interest": "total_interest_wan", "total_principal": "total_principal_wan",
             "total_residual": "total_residual_wan", "loss": "loss_wan", "balance": "balance_wan"}


def _note_text(v: Any, ctx: _Ctx) -> Any:
    """An analytics note in the workbook's language."""
    if not isinstance(v, str) or not v:
        return v
    if v in _NOTES:
        return ctx.L(_NOTES[v])
    if v.startswith("not priced: "):
        return f"{ctx.L('note_not_priced')}: {v[len('not priced: '):]}"
    return v


def _compounding_text(v: Any, ctx: _Ctx) -> Any:
    """A yield compounding (``annual``, ``simple``, ``annual_simple_stub`` ...) in words."""
    if not isinstance(v, str) or not v:
        return v
    stub = v.endswith("_simple_stub")
    key = f"comp_{v[: -len('_simple_stub')] if stub else v}"
    if key not in LABELS:
        return v
    if not stub:
        return ctx.L(key)
    (zh, en), (szh, sen) = LABELS[key], LABELS["comp_simple_stub"]
    return ctx.pair(f"{zh}（{szh}）", f"{en}, {sen}")


def _figure(key: str, v: Any, ctx: _Ctx, scenario: str, tranche: str) -> Any:
    if key == "note":
        return _note_text(v, ctx)
    if key == "compounding":
        v = _compounding_text(v, ctx)
    return ctx.dash(v, scenario, tranche)


def _empty(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def _key_figures(s: Sheet, r: int, ctx: _Ctx, mine: list[Tranche]) -> int:
    """One row per (tranche, scenario); columns are the figures, in tables of at most
    seven figures (money in 万元 for a CNY deal)."""
    r = s.title(r, ctx.L("key_figures"), SUBTITLE)
    pairs = [(t.name, sc) for t in mine for sc in ctx.scenarios]

    def head(k: str) -> str:
        return ctx.H(_WAN_KEYS[k]) if ctx.cny and k in _WAN_KEYS else ctx.H(k)

    def money(k: str, v: Any) -> Any:
        return v / 1e4 if ctx.cny and k in _WAN_KEYS and isinstance(v, float | int) and v == v else v

    if ctx.analytics is not None:
        a = ctx.analytics.assign(_s=ctx.analytics["scenario"].astype(str), _t=ctx.analytics["tranche"].astype(str))
        a = a.set_index(["_t", "_s"])
        fmt_of = dict(ANALYTICS_FIGURES)
        for i, keys in enumerate(_KEY_TABLES):
            cols = [k for k in keys if k in a.columns
                    and not all(_empty(a[k].get(p)) for p in pairs if p in a.index)
                    and (k != "total_residual" or any(t.kind == "subordinate" for t in mine))
                    and (k not in ("irr", "cash_multiple") or any(t.kind == "subordinate" for t in mine))]
            if not cols:
                continue
            h0 = r
            r = s.header(r, 1, [ctx.H("tranche"), ctx.H("scenario"), *[head(k) for k in cols]])
            rows = [[t, sc, *[money(k, _figure(k, a.at[(t, sc), k] if (t, sc) in a.index else None, ctx, sc, t))
                              for k in cols]] for t, sc in pairs]
            r = s.rows(r, 1, rows, [None, None, *[(WAN if ctx.cny and k in _WAN_KEYS else fmt_of[k]) for k in cols]])
            s.table(f"key_figures_{i + 1}", h0, 1, r - 1, 2 + len(cols))
            if "compounding" in cols:  # say, beside the yield, how the market's convention reads
                used = {str(a.at[p, "compounding"]) for p in pairs if p in a.index}
                for conv in ("chinabond", "chinabond_icma"):
                    if conv in used:
                        r = s.note(r, ctx.L(f"yield_note_{conv}"))
            r += 1
        if any((sc, t) in ctx.no_cash for t, sc in pairs):
            r = s.note(r - 1, ctx.L("no_cash_note")) + 1
        return r
    sm = ctx.summary.assign(_s=ctx.summary["scenario"].astype(str), _t=ctx.summary["tranche"].astype(str))
    sm = sm.set_index(["_t", "_s"])
    items = [("balance", "balance", YUAN), ("total_interest", "interest", YUAN), ("total_principal", "principal", YUAN)]
    if any(t.kind == "subordinate" for t in mine):
        items.append(("total_residual", "residual", YUAN))
    items += [("loss", "writedown", YUAN), ("wal_years", "wal_years", YEARS)]
    h0 = r
    r = s.header(r, 1, [ctx.H("tranche"), ctx.H("scenario"), *[head(k) for k, _, _ in items]])
    rows = [[t, sc, *[money(k, ctx.dash(sm.at[(t, sc), c], sc, t)) for k, c, _ in items]] for t, sc in pairs]
    r = s.rows(r, 1, rows, [None, None, *[(WAN if ctx.cny and k in _WAN_KEYS else f) for k, _, f in items]])
    s.table("key_figures", h0, 1, r - 1, 2 + len(items))
    r = s.note(r, ctx.L("no_analytics"))
    if any((sc, t) in ctx.no_cash for t, sc in pairs):
        r = s.note(r, ctx.L("no_cash_note"))
    return r


# --------------------------------------------------------------------------- collateral


STAT_ROWS: tuple[tuple[str, str], ...] = (
    ("n_assets", INT),
    ("n_obligors", INT),
    ("n_ip_rights", INT),
    ("total_balance", YUAN),
    ("total_balance_wan", WAN),
    ("average_balance", YUAN),
    ("average_obligor_balance", YUAN),
    ("max_obligor_balance", YUAN),
    ("wa_rate", PCT4),
    ("wa_remaining_term_months", DEC2),
    ("wa_seasoning_months", DEC2),
    ("wa_ltv", PCT2),
    ("ltv_coverage", PCT2),
    ("top1_share", PCT2),
    ("top5_share", PCT2),
    ("top10_share", PCT2),
)


def _stat_value(st: PoolStats, key: str) -> Any:
    if key == "total_balance_wan":
        return st.total_balance / 1e4
    return getattr(st, key)


#: Collateral labels of receivable pools: remaining scheduled fees, not an outstanding principal.
_RECEIVABLE_KEYS = {"total_balance": "remaining_receivables", "total_balance_wan": "remaining_receivables_wan",
                    "strata_balance": "remaining_receivables"}


def _pool_terms(s: Sheet, r: int, ctx: _Ctx) -> int:
    """Each pool's terms its kind states (lease pools: principal, rents, deposits, purchase
    options; :meth:`~abs_engine.pools.base.PoolKind.terms`), one table per pool."""
    h = ctx.result.pool_deal.deal
    for pool in ctx.result.pool_deal.pools:
        terms = kind_of(pool).terms(pool, h)
        if not terms:
            continue
        r = s.title(r + 1, f"{ctx.L('lease_terms')} — {ctx.pool_name(pool.name)}", SUBTITLE)
        held = getattr(pool, "deposit_held_by", "lessor")
        zh, en = LABELS["lease_terms_note"]
        hz, he = LABELS[f"lease_held_{held}"]
        r = s.note(r, ctx.pair(zh.format(held=hz), en.format(held=he)))
        h0 = r
        r = s.header(r, 1, [ctx.H("pool"), ctx.pool_name(pool.name)])
        for key, value in terms.items():
            s.label(r, 1, ctx.L(key), border=BOX)
            r = s.rows(r, 2, [[value]], ["0.0000" if key.endswith("_to_principal") else YUAN])
        s.table(f"terms_{pool.name}", h0, 1, r - 1, 2)
    return r


def _collateral_sheet(s: Sheet, ctx: _Ctx) -> None:
    h = ctx.result.pool_deal.deal  # (a run from a status: the pool on its status date)
    recv = "prepayment" not in sections(ctx.result.deal.pools)  # receivables only: remaining receivables, not principal
    # the words for obligors and balances by pool kind: borrowers (借款人) and principal for
    # pledge loans; licensees (被许可人) or debtors (债务人) and remaining receivables otherwise
    # (lessees 承租人 and lease principal for lease pools)
    kind = "licence" if all(p.kind == "licence" for p in ctx.result.deal.pools) else "recv"
    lease = all(p.kind == "lease" for p in ctx.result.deal.pools)

    def key_of(k: str) -> str:
        if not recv:
            return f"{k}__lease" if lease and f"{k}__lease" in LABELS else k
        for cand in (f"{k}__{kind}", f"{k}__recv"):
            if cand in LABELS:
                return cand
        return _RECEIVABLE_KEYS.get(k, k)

    s.set_width(1, 18)
    s.max_width = 16
    r = s.title(1, f"{ctx.L('pool_statistics')} — {h.name}")
    status = ctx.result.status
    if status is not None:  # the pool as it stands on the status date, not at the cut-off
        r = s.note(r, f"{ctx.L('status_as_of')}: {status.date:%Y-%m-%d}")
        r = s.note(r, f"{ctx.L('pool_as_at')}: {h.cutoff_date:%Y-%m-%d}")  # (the status's pool: its collection period's end)
    else:
        r = s.note(r, f"{ctx.L('cutoff_date')}: {h.cutoff_date:%Y-%m-%d}")
    if recv:
        r = s.note(r, ctx.L("receivables_note"))
    r += 1
    columns: list[tuple[str, PoolStats | None]] = []
    if len(ctx.pool_stats) > 1:
        columns.append((ctx.L("total"), ctx.stats))
    columns += [(ctx.pool_name(n), st) for n, st in ctx.pool_stats]
    h0 = r
    r = s.header(r, 1, [ctx.H("pool")] + [name for name, _ in columns])
    for key, fmt in STAT_ROWS:
        vals = [(_stat_value(st, key) if st is not None else None) for _, st in columns]
        if key in ("wa_rate", "wa_ltv", "ltv_coverage") and recv:
            continue
        s.label(r, 1, ctx.L(key_of(key)), border=BOX)
        r = s.rows(r, 2, [vals], [fmt] * len(vals))
    s.table("pool_statistics", h0, 1, r - 1, 1 + len(columns))
    r = _pool_terms(s, r, ctx)
    for name, st in columns:
        if st is None:
            r = s.note(r, f"{name}: {ctx.L('stats_unavailable')}")
    st = ctx.stats
    if st is None:
        s.finish(freeze="A3", title_rows=None)
        return
    r += 1
    heads = [ctx.H("bucket"), ctx.H("count"), ctx.H("obligors"), ctx.H(key_of("strata_balance")), ctx.H("share")]
    fmts: list[str | None] = [None, INT, INT, YUAN, PCT2]
    for dim, table in st.strata.items():
        key = key_of(f"strata_{dim}")
        r = s.title(r, ctx.L(key) if key in LABELS else dim, SUBTITLE)
        h0 = r
        r = s.header(r, 1, heads)
        rows = [
            [ctx.ip_label(b) if dim == "ip_type" else ctx.L("bucket_na") if b == "n/a" else ctx.tr(b), c, o, bal, sh]
            for b, c, o, bal, sh in table[["bucket", "count", "obligors", "balance", "share"]].itertuples(index=False)
        ]
        r = s.rows(r, 1, rows, fmts)
        s.table(f"strata_{dim}", h0, 1, r - 1, 5)
        tot = [ctx.L("total"), int(table["count"].sum()), st.n_obligors if dim == "obligor_size" else None,
               float(table["balance"].sum()), round(float(table["share"].sum()), 12)]
        r = s.rows(r, 1, [tot], fmts, font=BOLD, fill=TOTAL_FILL)
        r += 1
    r = s.title(r, ctx.L(key_of("top_obligors")), SUBTITLE)
    h0 = r
    r = s.header(r, 1, [ctx.H("obligor_rank"), ctx.H(key_of("obligor")), ctx.H("count"), ctx.H(key_of("strata_balance")),
                        ctx.H("share"), ctx.H("cumulative_share")])
    top = st.top_obligors[["rank", "obligor", "count", "balance", "share", "cumulative_share"]]
    r = s.rows(r, 1, [[a, ctx.tr(b), c, d, e, f] for a, b, c, d, e, f in top.itertuples(index=False)],
               [INT, None, INT, YUAN, PCT2, PCT2])
    s.table("top_obligors", h0, 1, r - 1, 6)
    r = _eligibility_rows(s, r + 1, ctx, st)
    if ctx.fit is not None:
        r = collateral_fit_rows(s, r + 1, ctx)
    s.finish(freeze="A3", title_rows=None)


def _eligibility_rows(s: Sheet, r: int, ctx: _Ctx, st: PoolStats) -> int:
    """The pools' eligibility criteria (入池标准): limit and the pool's value of each (as
    numbers: money, ratios as percentages, months), and the loans excluded for them;
    nothing when no pool states criteria."""
    from ..eligibility import CRITERIA

    table = st.eligibility
    if table.empty:
        return r
    r = s.title(r, ctx.L("eligibility"), SUBTITLE)
    several = table["pool"].nunique() > 1
    heads = [ctx.H("pool")] if several else []
    heads += [ctx.H("elig_criterion"), ctx.H("elig_limit"), ctx.H("elig_pool_value"), ctx.H("elig_excluded")]
    h0 = r
    r = s.header(r, 1, heads)
    off = 1 if several else 0
    for row in table.itertuples(index=False):
        unit = CRITERIA[row.criterion].unit
        fmt = {"money": YUAN, "ratio": PCT2, "months": DEC2}.get(unit)

        def value(v: Any, ip: bool = row.criterion == "ip_types") -> Any:
            if isinstance(v, list | tuple):
                return ", ".join(str(ctx.ip_label(x) if ip else ctx.tr(x)) for x in v)
            if isinstance(v, str):
                return ctx.tr(v)
            return v

        vals = [*([ctx.pool_name(row.pool)] if several else []), ctx.L(f"elig_{row.criterion}"),
                value(row.limit), value(row.pool_value), int(row.excluded)]
        r = s.rows(r, 1, [vals], [*([None] if several else []), None, fmt, fmt, INT])
    s.table("eligibility", h0, 1, r - 1, 4 + off)
    if len(st.excluded):
        r = s.note(r, f"{ctx.L('elig_excluded_note')}: {len(st.excluded)} / {st.excluded['balance'].sum():,.2f}")
    return r


# --------------------------------------------------------------------------- schedules


def _schedule_sheet(s: Sheet, ctx: _Ctx, t: Tranche) -> None:
    """One table of every scenario's periods (an Excel table), then the totals per scenario.
    A period with events (abs_engine.studies.investor.event_timeline) names them; one
    with a payment after the tranche's expected maturity, an interest shortfall or a
    write-down is red."""
    res, h = ctx.result, ctx.result.deal.deal
    r = s.title(1, f"{ctx.L('schedule_of')} — {t.name}")
    cpn, _ = _coupon(t, ctx)
    cpn_text = f"{cpn * 100:.2f}%" if isinstance(cpn, float) else cpn
    em = t.expected_maturity or h.expected_maturity
    r = s.note(r, f"{h.name} · {ctx.L('balance')}: {t.balance:,.2f} · {ctx.L('coupon')}: {cpn_text} · "
                  f"{ctx.L('expected_maturity')}: {em:%Y-%m-%d}")
    show_resid = t.kind == "subordinate"
    heads = [ctx.H("scenario"), ctx.H("period"), ctx.H("payment_date"), ctx.H("opening_balance"),
             ctx.H("interest"), ctx.H("principal")]
    cols = ["balance_start", "interest_paid", "principal_paid"]
    if show_resid:
        heads.append(ctx.H("residual"))
        cols.append("residual_paid")
    heads += [ctx.H("closing_balance"), ctx.H("new_interest_shortfall"), ctx.H("interest_shortfall"),
              ctx.H("writedown"), ctx.H("deal_state"), ctx.H("events_col")]
    cols += ["balance_end", "new_shortfall", "interest_shortfall", "writedown"]
    header_row = r
    r = s.header(r, 1, heads)
    fmts: list[str | None] = [None, INT, DATE] + [YUAN] * len(cols) + [None, None]
    ncol = len(fmts)
    tr = res.tranches
    tr = tr[tr["tranche"] == t.name]
    states = res.states.set_index(["scenario", "period"])["state"]
    flows = ["interest_paid", "principal_paid", "residual_paid", "writedown", "interest_shortfall"]
    k = [x.name for x in res.deal.tranches].index(t.name)
    carried = bool(res.interest_carried[k])
    never_paid = _interest_never_paid(ctx)
    events: dict[tuple[str, int], list[Any]] = {}
    if ctx.investor is not None:
        ev = ctx.investor.events
        mine_ev = ev[(ev["subject"] == t.name) | ev["event"].isin(["state_change", "trigger_fired", "trigger_cured",
                                                                     "cleanup_call"])]
        for rec in mine_ev.itertuples(index=False):
            events.setdefault((str(rec.scenario), int(rec.period)), []).append(rec)
    totals = []
    s.set_width(ncol, 16)
    s.max_width = 14
    for sc in ctx.scenarios:
        block = tr[tr["scenario"] == sc].sort_values("period")
        block = block.assign(new_shortfall=_new_shortfall(block["interest_shortfall"].to_numpy(), carried))
        active = (block["balance_start"] > 0) | (block[flows].abs().sum(axis=1) > 0)
        last = int(block.loc[active, "period"].max()) if active.any() else 0
        shown = block[block["period"] <= last]
        for rec in shown.itertuples(index=False):
            st = states.get((sc, rec.period), "")
            key = f"state_{st}"
            evs = events.get((sc, int(rec.period)), [])
            text = "; ".join(dict.fromkeys(str(ctx.L(f"event_{e.event}")) for e in evs))
            s.rows(r, 1, [[sc, rec.period, rec.payment_date, *[getattr(rec, c) for c in cols],
                           ctx.L(key) if key in LABELS else st, None]], fmts)
            if text:
                s.wrapped(r, ncol, text, 16, border=BOX)
            if any(e.flag and e.subject == t.name for e in evs):
                for c in range(1, ncol + 1):
                    cell = s.ws.cell(row=r, column=c)
                    cell.font = ALERT
                    cell.fill = ALERT_FILL
            r += 1
        sums = {c: float(block[c].sum()) for c in cols}
        # the unpaid-interest balance is a stock: its total is the interest never paid
        sums["interest_shortfall"] = never_paid[(sc, t.name)]
        totals.append([sc, ctx.L("total"), None, *[(None if c in ("balance_start", "balance_end") else sums[c]) for c in cols],
                       None, None])
    s.table(f"schedule_{t.name}", header_row, 1, r - 1, ncol)
    r += 1
    r = s.title(r, f"{ctx.L('total')} — {t.name}", SUBTITLE)
    h0 = r
    # the same columns as the schedule; the unpaid-interest column totals the interest never paid
    heads[4 + cols.index("interest_shortfall") - 1] = ctx.H("interest_never_paid")
    r = s.header(r, 1, heads)
    r = s.rows(r, 1, totals, fmts, font=BOLD, fill=TOTAL_FILL)
    s.table(f"schedule_totals_{t.name}", h0, 1, r - 1, ncol)
    r = s.note(r, ctx.L("shortfall_note"))
    s.note(r, ctx.L("events_note"))
    s.finish(freeze=f"D{header_row + 1}", title_rows=(header_row, header_row), title_cols="A:C")


def _new_shortfall(unpaid: Any, carried: bool) -> Any:
    """Unpaid interest arising in each period, from the unpaid balance at each period's end
    (``interest_shortfall``): its increase over the balance carried in (all of it when
    shortfalls are not carried); a decrease is interest made up, not a negative shortfall."""
    u = np.asarray(unpaid, dtype=float)
    before = np.concatenate([[0.0], u[:-1]]) if carried else np.zeros_like(u)
    return np.maximum(u - before, 0.0)


def _interest_never_paid(ctx: _Ctx) -> dict[tuple[str, str], float]:
    """Per (scenario, tranche): interest owed and never received, as the break-even and
    Monte Carlo losses count it (:meth:`abs_engine.Result.measures`)."""
    if ctx.measures is None:
        ctx.measures = ctx.result.measures(yields=False)
    m = ctx.measures
    return {(sc, t): float(m.interest_lost[i, k]) for i, sc in enumerate(ctx.scenarios) for k, t in enumerate(m.tranches)}


# --------------------------------------------------------------------------- sensitivity


def _sensitivity_sheet(s: Sheet, ctx: _Ctx, mine: list[Tranche]) -> None:
    """The scenarios' assumptions (a table), then one table per tranche of what each
    scenario gives it, then each tranche's price/yield table."""
    r = s.title(1, f"{ctx.L('sensitivity')} — {', '.join(t.name for t in mine)}")
    r = _stamp(s, r, ctx)
    a = ctx.analytics
    if a is not None:
        a = a.assign(_s=a["scenario"].astype(str), _t=a["tranche"].astype(str)).set_index(["_s", "_t"])
    sm = ctx.summary.assign(_s=ctx.summary["scenario"].astype(str), _t=ctx.summary["tranche"].astype(str))
    sm = sm.set_index(["_s", "_t"])
    keys, assumption_fmts, values = _assumptions(ctx)
    header_row = r
    r = s.header(r, 1, [ctx.H("scenario"), *(ctx.H(k) for k in keys)])
    r = s.rows(r, 1, [[sc.name, *values(sc)] for sc in ctx.result.scenarios], [None, *assumption_fmts])
    s.table("assumptions", header_row, 1, r - 1, 1 + len(keys))
    lost = _interest_never_paid(ctx)
    for t in mine:
        measures: list[tuple[str, str, Any]] = []
        if a is not None and "wal_years" in a.columns:
            measures.append(("wal_years", YEARS, lambda sc, n=t.name: a.at[(sc, n), "wal_years"] if (sc, n) in a.index else None))
        else:
            measures.append(("wal_years", YEARS, lambda sc, n=t.name: sm.at[(sc, n), "wal_years"]))
        if a is not None and "yield" in a.columns:
            measures.append(("yield", PCT4, lambda sc, n=t.name: a.at[(sc, n), "yield"] if (sc, n) in a.index else None))
        measures.append(("loss", YUAN, lambda sc, n=t.name: sm.at[(sc, n), "writedown"]))
        measures.append(("loss_share", PCT2,
                         lambda sc, n=t.name, b=t.balance: sm.at[(sc, n), "writedown"] / b if b else None))
        measures.append(("loss_incl_interest_share", PCT2,
                         lambda sc, n=t.name, b=t.balance: (sm.at[(sc, n), "writedown"] + lost[(sc, n)]) / b if b else None))
        if t.kind == "subordinate" and a is not None:
            for key in ("irr", "cash_multiple"):
                if key in a.columns:
                    measures.append((key, PCT4 if key == "irr" else DEC4,
                                     lambda sc, n=t.name, k=key: a.at[(sc, n), k] if (sc, n) in a.index else None))
        r = s.title(r + 1, f"{ctx.L('sensitivity')} — {t.name}", SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("scenario"), *[f"{t.name}\n{ctx.H(k)}" for k, _, _ in measures]])
        rows = [[sc, *[ctx.dash(g(sc), sc, t.name) for _, _, g in measures]] for sc in ctx.scenarios]
        r = s.rows(r, 1, rows, [None, *[f for _, f, _ in measures]])
        s.table(f"sensitivity_{t.name}", h0, 1, r - 1, 1 + len(measures))
    r = s.note(r, ctx.L("loss_note"))
    if any((sc, t.name) in ctx.no_cash for sc in ctx.scenarios for t in mine):
        r = s.note(r, ctx.L("no_cash_note"))
    if a is None:
        r = s.note(r + 1, ctx.L("no_analytics"))
    # the price/yield table of each tranche: yields (the subordinate: IRR) at each price
    for t in mine if a is not None else []:
        table = ctx.yield_tables.get(t.name)
        if table is None or table.empty:
            continue
        r = s.title(r + 1, f"{ctx.L('yield_table')} — {t.name}", SUBTITLE)
        h0 = r
        r = s.header(r, 1, [ctx.H("price"), *[f"{sc}\n{ctx.H('irr' if t.kind == 'subordinate' else 'yield')}"
                                              for sc in table.columns]])
        r = s.rows(r, 1, [[float(p), *(ctx.dash(float(v), sc, t.name) for sc, v in zip(table.columns, row, strict=True))]
                          for p, row in zip(table.index, table.to_numpy(), strict=True)],
                   [DEC4, *[PCT4] * len(table.columns)])
        s.table(f"yield_table_{t.name}", h0, 1, r - 1, 1 + len(table.columns))
        if any((str(sc), t.name) in ctx.no_cash for sc in table.columns):
            r = s.note(r, ctx.L("no_cash_note"))
    s.finish(freeze=f"B{header_row + 1}", title_rows=None)


# --------------------------------------------------------------------------- charts


def _chart_data(s: Sheet, ctx: _Ctx) -> list[tuple[str, int, int, int, int]]:
    """Tables behind the charts (Excel tables); returns (title, header row, first data row,
    last data row, last column) of each. Balance tables stop one period after the last
    payment of any scenario; a tranche written down gets its cumulative write-down beside its
    balance (drawn apart from repayments). Pool tables start at the period before the first
    default and hold the cumulative defaults beside the losses."""
    res, deal, h = ctx.result, ctx.result.deal, ctx.result.deal.deal
    r = s.title(1, ctx.L("chart_data_note"))
    r += 1
    scen = ctx.scenarios
    dates = [pd.Timestamp(d) for d in res.schedule.payment_dates]
    T = len(dates)
    out = []
    tr = res.tranches
    bal = tr.pivot(index=["tranche", "period"], columns="scenario", values="balance_end")
    wd = tr.assign(cwd=tr.groupby(["scenario", "tranche"])["writedown"].cumsum()).pivot(
        index=["tranche", "period"], columns="scenario", values="cwd")
    flows = tr.assign(x=tr["balance_start"].abs() + tr["principal_paid"].abs() + tr["interest_paid"].abs()
                      + tr["residual_paid"].abs() + tr["writedown"].abs())
    for t in deal.tranches:
        title = f"{ctx.L('chart_balance')} — {t.name}"
        r = s.title(r, title, SUBTITLE)
        f = flows[(flows["tranche"] == t.name) & (flows["x"] > 0)]
        last = min(int(f["period"].max()) if len(f) else 1, T)
        written = [sc for sc in scen if float(wd.loc[t.name][sc].max()) > 0]
        heads = [ctx.H("chart_date"), *scen, *[f"{sc} — {ctx.L('chart_writedown')}" for sc in written]]
        hr = r
        r = s.header(r, 1, heads)
        first = r
        # from the run's start: closing, or the status date of a run from a status (its balance then)
        rows = [[res.start_date] + [float(res.opening_balances[deal.tranches.index(t)])] * len(scen) + [0.0] * len(written)]
        block, wblock = bal.loc[t.name], wd.loc[t.name]
        for k in range(res.start_period, last):
            rows.append([dates[k]] + [block.at[k + 1, sc] for sc in scen] + [wblock.at[k + 1, sc] for sc in written])
        r = s.rows(r, 1, rows, [DATE] + [YUAN] * (len(heads) - 1))
        s.table(f"chart_balance_{t.name}", hr, 1, r - 1, len(heads))
        out.append((title, hr, first, r - 1, len(heads)))
        r += 1
    # the pool: cumulative defaults and losses (before and after the pools' risk-sharing
    # layers when there are any; after support it is what the pool bears)
    series = [("loss_before_support", "chart_pool_loss_before"), ("loss", "chart_pool_loss_after")] \
        if any(p.support for p in deal.pools) else [("loss", "chart_pool_loss")]
    g = res.pool.groupby(["scenario", "period"], sort=False)
    dflt = g["default_amount"].sum().unstack("scenario").sort_index().cumsum()
    base = res.start_period  # (a run from a status: its first period is base + 1)
    started = [k for k in range(base + 1, T + 1) if float(dflt.loc[k].max()) > 0] if len(dflt) else []
    start = (started[0] - 1) if started else base
    for col, key in series:
        cum = g[col].sum().unstack("scenario").sort_index().cumsum()
        title = ctx.L(key)
        r = s.title(r, title, SUBTITLE)
        heads = [ctx.H("chart_date"), *[f"{sc} — {ctx.L('chart_loss')}" for sc in scen],
                 *[f"{sc} — {ctx.L('chart_defaults')}" for sc in scen]]
        hr = r
        r = s.header(r, 1, heads)
        first = r
        rows = [[(h.cutoff_date if base == 0 else res.start_date) if start == base else dates[start - 1]]
                + ([0.0] * (2 * len(scen)) if start == base else [cum.at[start, sc] for sc in scen] + [dflt.at[start, sc] for sc in scen])]
        for k in range(start, T):
            rows.append([dates[k]] + [cum.at[k + 1, sc] for sc in scen] + [dflt.at[k + 1, sc] for sc in scen])
        r = s.rows(r, 1, rows, [DATE] + [YUAN] * (len(heads) - 1))
        s.table(f"chart_{col}", hr, 1, r - 1, len(heads))
        out.append((title, hr, first, r - 1, len(heads)))
        r += 1
    s.finish(freeze="B3", title_rows=None)
    return out


def _charts_sheet(s: Sheet, data: Sheet, ctx: _Ctx, tables: list[tuple[str, int, int, int, int]]) -> None:
    s.title(1, ctx.L("sheet_charts"))
    for i, (title, hr, first, last, ncol) in enumerate(tables):
        ch = LineChart()
        ch.title = title
        ch.height, ch.width = 12.0, 13.0
        ch.y_axis.title = ctx.L("chart_amount")
        ch.y_axis.number_format = "#,##0"
        ch.y_axis.crossAx = 500
        ch.x_axis = DateAxis(crossAx=100, axPos="b")
        ch.x_axis.number_format = "yyyy-mm"
        ch.x_axis.majorTimeUnit = "months"
        ch.x_axis.majorUnit = 3
        ch.x_axis.title = ctx.L("chart_date")
        ch.x_axis.delete = False
        ch.y_axis.delete = False
        ch.legend.position = "b"
        ref = Reference(data.ws, min_col=2, max_col=ncol, min_row=hr, max_row=last)
        ch.add_data(ref, titles_from_data=True)
        ch.set_categories(Reference(data.ws, min_col=1, min_row=first, max_row=last))
        for ser in ch.series:
            ser.smooth = False
        row = 3 + (i // 2) * 25
        if i and i % 2 == 0:  # one row of charts per printed page: never cut through a chart
            s.ws.row_breaks.append(Break(id=row - 1))
        s.ws.add_chart(ch, f"{'A' if i % 2 == 0 else 'I'}{row}")
    s.ws.sheet_view.showGridLines = False
    s.finish(freeze="A2", title_rows=None)


# --------------------------------------------------------------------------- workbook


def _properties(wb: Workbook, ctx: _Ctx, cls: str, mine: list[Tranche]) -> None:
    from ..version import __version__

    h = ctx.result.deal.deal
    scen = ", ".join(ctx.scenarios)
    p = wb.properties
    p.title = f"{h.name} — {LABELS[f'{cls}_notes'][1]} {LABELS['termsheet'][1].lower()}"
    p.subject = f"{LABELS[f'{cls}_notes'][0]} {LABELS[f'{cls}_notes'][1]}: {', '.join(t.name for t in mine)}"
    p.creator = "abs_engine"
    p.lastModifiedBy = "abs_engine"
    p.version = __version__
    p.created = p.modified = ctx.written_at.replace(tzinfo=None)
    parts = [f"abs_engine {__version__}", f"written {ctx.written_at:%Y-%m-%dT%H:%M:%SZ}", f"scenarios: {scen}"]
    if ctx.deal_sha256:
        parts.insert(1, f"deal {ctx.deal_path.name if ctx.deal_path else ''} sha256 {ctx.deal_sha256}")
    p.description = "; ".join(parts)
    p.keywords = "; ".join(["abs_engine", h.name, cls, *ctx.scenarios])
    p.category = "term sheet"
    custom = {
        "engine_version": __version__,
        "scenarios": scen,
        "written_at": f"{ctx.written_at:%Y-%m-%dT%H:%M:%SZ}",
        "deal_sha256": ctx.deal_sha256 or "",
        "deal_file": str(ctx.deal_path.name) if ctx.deal_path else "",
        "tranche_class": cls,
    }
    for k, v in custom.items():
        wb.custom_doc_props.append(StringProperty(name=k, value=v))


def _workbook(ctx: _Ctx, cls: str, mine: list[Tranche]) -> Workbook:
    wb = Workbook()
    taken: list[str] = []
    styles: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    names: set[str] = set()

    def sheet(key: str, suffix: str = "") -> Sheet:
        name = sheet_name(label(key, ctx.lang, " ") + (f" {suffix}" if suffix else ""), taken)
        taken.append(name)
        ws = wb.active if len(taken) == 1 else wb.create_sheet()
        assert ws is not None
        ws.title = name
        return Sheet(ws, styles=styles, table_names=names)

    _summary_sheet(sheet("sheet_summary"), ctx, cls, mine)
    _collateral_sheet(sheet("sheet_collateral"), ctx)
    sup = sheet("sheet_support")
    support_sheet(sup, ctx.result, ctx.lang, ctx.L, ctx.H, tr=ctx.tr, pool_name=ctx.pool_name,
                  more=(lambda s, r: support_sections(s, r, ctx, mine)) if ctx.investor is not None else None)
    structure_sheet(sheet("sheet_structure"), ctx)
    for t in mine:
        _schedule_sheet(sheet("sheet_schedule", t.name), ctx, t)
    if ctx.investor is not None:
        events_sheet(sheet("sheet_events"), ctx)
        stress_sheet(sheet("sheet_stress"), ctx, mine)
    _sensitivity_sheet(sheet("sheet_sensitivity"), ctx, mine)
    if ctx.breakeven is not None or ctx.simulation is not None:
        risk_sheet(sheet("sheet_risk"), ctx.L, ctx.H, mine, ctx.result.deal.name, breakeven=ctx.breakeven,
                   simulation=ctx.simulation)
    if ctx.agency is not None:
        agency_sheet(sheet("sheet_agency"), ctx.L, ctx.H, mine, ctx.result.deal.name, ctx.agency)
    if ctx.result.actual_vs_projected is not None:  # a run from a status, with its actuals (abs_engine/actuals.py)
        actuals_sheet(sheet("sheet_actuals"), ctx.L, ctx.H, ctx.result.actual_vs_projected, ctx.result.deal.name,
                      ctx.result.deal.deal.currency)
    charts = sheet("sheet_charts")
    data = sheet("sheet_chart_data")
    _charts_sheet(charts, data, ctx, _chart_data(data, ctx))
    _properties(wb, ctx, cls, mine)
    wb.active = 0
    return wb


def _context(result: Result, lang: str, analytics: pd.DataFrame | None, deal_path: str | os.PathLike[str] | None,
             investor: Any = None) -> _Ctx:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)} (got {lang!r})")
    a = _check_analytics(analytics, result)
    dp = Path(deal_path) if deal_path is not None else None
    whole, per_pool = _stats(result)
    return _Ctx(
        result=result,
        lang=lang,
        analytics=a,
        summary=result.summary(),
        stats=whole,
        pool_stats=per_pool,
        written_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        deal_sha256=sha256(dp) if dp is not None else None,
        deal_path=dp,
        yield_tables=result.yield_tables_by_tranche(),
        no_cash=_no_cash(result, a),
        investor=_investor(result, investor),
        fit=collateral_fit(result.deal),
    )


def _investor(result: Result, investor: Any) -> Any:
    """The investor figures: given, made here (``None``), or left out (``False``)."""
    if investor is False:
        return None
    if investor is None:
        return investor_view(result)
    return investor


def _no_cash(result: Result, analytics: pd.DataFrame | None) -> set[tuple[str, str]]:
    """(scenario, tranche) pairs in which the tranche receives no cash at all (a total
    loss), or none after settlement (the analytics say so)."""
    sm = result.summary()
    out = {(str(sc), str(t)) for sc, t, i, p, x in zip(sm["scenario"], sm["tranche"], sm["interest"], sm["principal"],
                                                       sm["residual"], strict=True) if i + p + x <= 0}
    if analytics is not None and "note" in analytics.columns:
        out |= {(str(sc), str(t)) for sc, t, n in zip(analytics["scenario"], analytics["tranche"], analytics["note"],
                                                      strict=True) if n == NO_CASH}
    return out


def term_sheet_workbooks(
    result: Result,
    *,
    lang: str = "both",
    analytics: pd.DataFrame | None = None,
    deal_path: str | os.PathLike[str] | None = None,
    breakeven: pd.DataFrame | None = None,
    simulation: Any = None,
    agency: Any = None,
    investor: Any = None,
) -> dict[str, Workbook]:
    """Build (without saving) one workbook per tranche class present in the deal,
    keyed by class (``senior``, ``mezzanine``, ``subordinate``)."""
    ctx = _context(result, lang, analytics, deal_path, investor)
    ctx.breakeven, ctx.simulation, ctx.agency = breakeven, simulation, agency
    out: dict[str, Workbook] = {}
    for cls in CLASSES:
        mine = [t for t in result.deal.tranches if t.kind == cls]
        if mine:
            out[cls] = _workbook(ctx, cls, sorted(mine, key=lambda t: t.rank))
    return out


def write_term_sheets(
    result: Result,
    out_dir: str | os.PathLike[str],
    *,
    lang: str = "both",
    analytics: pd.DataFrame | None = None,
    deal_path: str | os.PathLike[str] | None = None,
    breakeven: pd.DataFrame | None = None,
    simulation: Any = None,
    agency: Any = None,
    investor: Any = None,
) -> list[Path]:
    """Write the term sheets of a run: ``<deal name>_<class>_termsheet.xlsx`` for the
    senior tranches, the mezzanine tranches (if any) and the subordinate tranche.

    Parameters
    ----------
    result : Result
        A run (:func:`abs_engine.run`), one or several scenarios.
    out_dir : path
        Directory for the workbooks (created if missing).
    lang : {"both", "zh", "en"}
        Language of the labels (``both``: 中文 / English).
    analytics : pandas.DataFrame, optional
        One row per (scenario, tranche) from :func:`abs_engine.analytics.tranche_analytics`;
        without it only the engine's own figures are shown (WAL from ``result.summary()``).
    deal_path : path, optional
        The deal file; its SHA-256 goes into the document properties.
    breakeven : pandas.DataFrame, optional
        ``Breakeven.table`` from :func:`abs_engine.studies.breakeven`; with it (or with
        ``simulation``) every workbook gets the break-even and loss-distribution sheet.
    simulation : abs_engine.studies.Simulation, optional
        A Monte Carlo run (:func:`abs_engine.studies.simulate`) of the same deal.
    agency : abs_engine.studies.agency.Agency, optional
        The agency stress test (:func:`abs_engine.studies.agency.agency_table`) of the same
        deal; with it every workbook gets the agency sheet.
    investor : abs_engine.studies.investor.InvestorView or False, optional
        The investor figures of the run (support dependence, stress tests, events); made
        here when not given (:func:`abs_engine.studies.investor.investor_view`, a few
        engine calls); ``False`` leaves those sections out.

    Returns
    -------
    list of Path
        The workbooks written, in the order senior, mezzanine, subordinate.

    Every workbook is built in memory first, then each is saved atomically (temporary
    file + ``os.replace``): an error leaves no partial workbook behind.
    """
    books = term_sheet_workbooks(result, lang=lang, analytics=analytics, deal_path=deal_path,
                                 breakeven=breakeven, simulation=simulation, agency=agency,
                                 investor=investor)
    out = Path(out_dir)
    stem = file_stem(result.deal.deal.name)
    paths = []
    for cls, wb in books.items():
        paths.append(save_workbook(wb, out / f"{stem}_{cls}_termsheet.xlsx"))
    return paths
