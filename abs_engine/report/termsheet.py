"""Excel term sheets (条款摘要) for the senior, mezzanine and subordinate classes of a run.

Layout only: every figure comes from a :class:`~abs_engine.results.Result` (cash flows,
``summary()``), from :func:`abs_engine.pools.stats.deal_pool_stats` (collateral) or from
an ``analytics`` frame made by :func:`abs_engine.analytics.tranche_analytics`; the
interest a tranche never receives from :func:`abs_engine.scenarios.measures.tranche_measures`
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

from ..io.outputs import sha256
from ..model.deal import Tranche
from ..pools.stats import PoolStats, deal_pool_stats, pool_stats
from ..results import Result
from .agency_sheet import agency_sheet
from .atomic import save_workbook
from .labels import LABELS, LANGS, in_currency, label
from .risk_sheet import risk_sheet
from .support_sheet import support_sheet
from .xl import (
    BOLD,
    BOX,
    DATE,
    DEC2,
    DEC4,
    HEADER_FILL,
    HIGHLIGHT_FILL,
    INT,
    PCT2,
    PCT4,
    SUBTITLE,
    TOTAL_FILL,
    WAN,
    WRAP_CENTER,
    WRAP_TOP,
    YEARS,
    YUAN,
    Sheet,
    display_width,
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
    #: break-even table and Monte Carlo run for the risk sheet (abs_engine.scenarios)
    breakeven: pd.DataFrame | None = None
    simulation: Any = None
    #: the agency stress test (abs_engine.scenarios.agency.Agency) for the agency sheet
    agency: Any = None
    #: each tranche's price/yield table (Result.yield_table)
    yield_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: the break-even / Monte Carlo measures of the run's tranches (made when first needed)
    measures: Any = None
    #: (scenario, tranche) pairs in which the tranche receives no cash (a total loss)
    no_cash: set[tuple[str, str]] = field(default_factory=set)

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
    deal = result.deal
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


def _summary_sheet(s: Sheet, ctx: _Ctx, cls: str, mine: list[Tranche]) -> None:
    h = ctx.result.deal.deal
    r = 1
    r = s.title(r, h.name_zh if (h.name_zh and ctx.lang != "en") else h.name)
    (nzh, nen), (tzh, ten) = LABELS[f"{cls}_notes"], LABELS["termsheet"]
    title = in_currency(ctx.pair(f"{nzh}{tzh}", f"{nen} {ten.lower()}"), h.currency)
    r = s.title(r, f"{title} — {', '.join(t.name for t in mine)}", SUBTITLE)
    r = _stamp(s, r, ctx)
    r += 1

    r = s.title(r, ctx.L("deal_info"), SUBTITLE)
    r = s.kv(r, ctx.L("deal_name"), h.name)
    if h.name_zh:
        r = s.kv(r, ctx.L("deal_name_zh"), h.name_zh)
    r = s.kv(r, ctx.L("asset_type"), ctx.L(f"asset_{h.asset_type}"))
    r = s.kv(r, ctx.L("currency"), h.currency)
    for key in ("originator", "manager", "servicer", "custodian", "guarantor", "shortfall_undertaker"):
        r = s.kv(r, ctx.L(key), getattr(h.parties, key) or "—")
    r += 1
    r = s.title(r, ctx.L("key_dates"), SUBTITLE)
    for key in ("cutoff_date", "closing_date", "first_payment_date", "expected_maturity", "legal_maturity"):
        r = s.kv(r, ctx.L(key), getattr(h, key))
    r = s.kv(r, ctx.L("payment_frequency"), _frequency(h.payment_frequency.value, ctx))
    r = s.kv(r, ctx.L("day_count"), h.day_count.value)
    r = s.kv(r, ctx.L("calendar"), h.calendar)
    r += 1

    r = _capital_structure(s, r, ctx, mine)
    r += 1
    r = _scenario_table(s, r, ctx)
    r += 1
    _key_figures(s, r, ctx, mine)
    s.finish(freeze=None, title_rows=None)


def _stamp(s: Sheet, r: int, ctx: _Ctx) -> int:
    from .. import __version__

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
        s.put(r, 1, text if text is not None else ctx.L(key), font=BOLD, border=BOX)
        for j, (v, f) in enumerate(zip(values, fmts, strict=True)):
            s.put(r, 2 + j, v, f, border=BOX, fill=HIGHLIGHT_FILL if tranches[j].name in names else None)
        s.put(r, 2 + len(values), total_value, total_fmt, border=BOX, font=BOLD, fill=TOTAL_FILL)
        r += 1

    n = len(tranches)
    line("kind", [ctx.L(t.kind) for t in tranches], [None] * n)
    line("rank", [t.rank for t in tranches], [INT] * n)
    line("size_yuan", [t.balance for t in tranches], [YUAN] * n, total, YUAN)
    line("size_wan", [t.balance / 1e4 for t in tranches], [WAN] * n, total / 1e4, WAN)
    line("share_of_notes", [t.balance / total if total else None for t in tranches], [PCT2] * n,
         1.0 if total else None, PCT2)
    cpns = [_coupon(t, ctx) for t in tranches]
    line("coupon", [c for c, _ in cpns], [f for _, f in cpns])
    line("credit_enhancement",
         [sum(x.balance for x in deal.tranches if x.rank > t.rank) / total if total else None for t in tranches],
         [PCT2] * n)
    for sc in ctx.scenarios:
        line("wal_scenario", [ctx.dash(wal.get((sc, t.name)), sc, t.name) for t in tranches], [YEARS] * n,
             text=f"{ctx.L('wal_scenario')} — {sc}")
    line("expected_maturity", [t.expected_maturity or h.expected_maturity for t in tranches], [DATE] * n)
    line("legal_maturity", [t.legal_maturity or h.legal_maturity for t in tranches], [DATE] * n)
    line("rating", [t.rating or "—" for t in tranches], [None] * n)
    line("principal_style", [ctx.L(f"style_{t.principal.style}") for t in tranches], [None] * n)
    r = s.note(r, ctx.L("cs_note_ce"))
    r = s.note(r, ctx.L(wal_note))
    if any((sc, t.name) in ctx.no_cash for sc in ctx.scenarios for t in tranches):
        r = s.note(r, ctx.L("no_cash_note"))
    return r


def _assumptions(ctx: _Ctx) -> tuple[list[str], list[str | None], Any]:
    """The scenario assumptions that apply to the deal's pools: header keys, formats and a
    function giving a scenario's values (pledge pools: prepayment and disposal of the
    collateral; receivable pools: terminations, recoveries and patent risks)."""
    pools = ctx.result.deal.pools
    pledge = any(p.kind == "pledge_loan" for p in pools)
    recv = any(p.kind != "pledge_loan" for p in pools)
    licence = any(p.kind == "licence" for p in pools)
    vec = ctx.L("vector")

    def rate(x: Any) -> Any:
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


def _scenario_table(s: Sheet, r: int, ctx: _Ctx) -> int:
    """Scenario assumptions; the description spans six merged, wrapped cells."""
    span = 6
    keys, fmts, values = _assumptions(ctx)
    r = s.title(r, ctx.L("scenarios"), SUBTITLE)
    r = s.header(r, 1, [ctx.H("scenario"), *(ctx.H(k) for k in keys)])
    d0 = len(keys) + 2  # first column of the description
    s.put(r - 1, d0, ctx.H("description"), font=BOLD, fill=HEADER_FILL, border=BOX, align=WRAP_CENTER, fit=False)
    s.ws.merge_cells(start_row=r - 1, start_column=d0, end_row=r - 1, end_column=d0 - 1 + span)
    for sc in ctx.result.scenarios:
        s.rows(r, 1, [[sc.name, *values(sc)]], [None, *fmts])
        desc = sc.description or ""
        s.put(r, d0, desc, border=BOX, fit=False, align=WRAP_TOP)
        s.ws.merge_cells(start_row=r, start_column=d0, end_row=r, end_column=d0 - 1 + span)
        lines = max(1, -(-display_width(desc) // (12 * span)))
        if lines > 1:
            s.ws.row_dimensions[r].height = 15 * lines
        r += 1
    return r


#: Key figures in two tables (price and risk; cash flows), each at most a dozen columns wide.
_KEY_TABLES: tuple[tuple[str, ...], ...] = (
    ("price", "dirty_price", "accrued", "yield", "compounding", "wal_years", "macaulay_duration",
     "modified_duration", "convexity", "z_spread", "effective_duration", "discount_margin"),
    ("first_principal_date", "last_principal_date", "principal_window_months", "total_interest",
     "total_principal", "total_residual", "loss", "irr", "cash_multiple", "note"),
)


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
    """One row per (tranche, scenario); columns are the figures (bounded width)."""
    r = s.title(r, ctx.L("key_figures"), SUBTITLE)
    pairs = [(t.name, sc) for t in mine for sc in ctx.scenarios]
    if ctx.analytics is not None:
        a = ctx.analytics.assign(_s=ctx.analytics["scenario"].astype(str), _t=ctx.analytics["tranche"].astype(str))
        a = a.set_index(["_t", "_s"])
        fmt_of = dict(ANALYTICS_FIGURES)
        for keys in _KEY_TABLES:
            cols = [k for k in keys if k in a.columns
                    and not all(_empty(a[k].get(p)) for p in pairs if p in a.index)
                    and (k != "total_residual" or any(t.kind == "subordinate" for t in mine))]
            if not cols:
                continue
            r = s.header(r, 1, [ctx.H("tranche"), ctx.H("scenario"), *[ctx.H(k) for k in cols]])
            rows = [[t, sc, *[_figure(k, a.at[(t, sc), k] if (t, sc) in a.index else None, ctx, sc, t) for k in cols]]
                    for t, sc in pairs]
            r = s.rows(r, 1, rows, [None, None, *[fmt_of[k] for k in cols]])
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
    r = s.header(r, 1, [ctx.H("tranche"), ctx.H("scenario"), *[ctx.H(k) for k, _, _ in items]])
    rows = [[t, sc, *[ctx.dash(sm.at[(t, sc), c], sc, t) for _, c, _ in items]] for t, sc in pairs]
    r = s.rows(r, 1, rows, [None, None, *[f for _, _, f in items]])
    r = s.note(r, ctx.L("no_analytics"))
    if any((sc, t) in ctx.no_cash for t, sc in pairs):
        r = s.note(r, ctx.L("no_cash_note"))
    return r


# --------------------------------------------------------------------------- collateral


def _ip_label(v: str, ctx: _Ctx) -> str:
    key = f"ip_{v}"
    return ctx.L(key) if key in LABELS else v


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


def _collateral_sheet(s: Sheet, ctx: _Ctx) -> None:
    h = ctx.result.deal.deal
    r = s.title(1, f"{ctx.L('pool_statistics')} — {h.name}")
    r = s.note(r, f"{ctx.L('cutoff_date')}: {h.cutoff_date:%Y-%m-%d}")
    r += 1
    columns: list[tuple[str, PoolStats | None]] = []
    if len(ctx.pool_stats) > 1:
        columns.append((ctx.L("total"), ctx.stats))
    columns += ctx.pool_stats
    r = s.header(r, 1, [ctx.H("pool")] + [name for name, _ in columns])
    for key, fmt in STAT_ROWS:
        vals = [(_stat_value(st, key) if st is not None else None) for _, st in columns]
        r = s.rows(r, 1, [[ctx.L(key), *vals]], [None] + [fmt] * len(vals))
    for name, st in columns:
        if st is None:
            r = s.note(r, f"{name}: {ctx.L('stats_unavailable')}")
    st = ctx.stats
    if st is None:
        s.finish(freeze=None, title_rows=None)
        return
    r += 1
    heads = [ctx.H("bucket"), ctx.H("count"), ctx.H("obligors"), ctx.H("strata_balance"), ctx.H("share")]
    fmts: list[str | None] = [None, INT, INT, YUAN, PCT2]
    for dim, table in st.strata.items():
        key = f"strata_{dim}"
        r = s.title(r, ctx.L(key) if key in LABELS else dim, SUBTITLE)
        r = s.header(r, 1, heads)
        rows = [
            [_ip_label(b, ctx) if dim == "ip_type" else ctx.L("bucket_na") if b == "n/a" else b, c, o, bal, sh]
            for b, c, o, bal, sh in table[["bucket", "count", "obligors", "balance", "share"]].itertuples(index=False)
        ]
        r = s.rows(r, 1, rows, fmts)
        tot = [ctx.L("total"), int(table["count"].sum()), st.n_obligors if dim == "obligor_size" else None,
               float(table["balance"].sum()), round(float(table["share"].sum()), 12)]
        r = s.rows(r, 1, [tot], fmts, font=BOLD, fill=TOTAL_FILL)
        r += 1
    r = s.title(r, ctx.L("top_obligors"), SUBTITLE)
    r = s.header(r, 1, [ctx.H("obligor_rank"), ctx.H("obligor"), ctx.H("count"), ctx.H("strata_balance"),
                        ctx.H("share"), ctx.H("cumulative_share")])
    top = st.top_obligors[["rank", "obligor", "count", "balance", "share", "cumulative_share"]]
    r = s.rows(r, 1, list(top.itertuples(index=False)), [INT, None, INT, YUAN, PCT2, PCT2])
    _eligibility_rows(s, r + 1, ctx, st)
    s.finish(freeze=None, title_rows=None)


def _eligibility_rows(s: Sheet, r: int, ctx: _Ctx, st: PoolStats) -> int:
    """The pools' eligibility criteria (入池标准): limit and the pool's value of each, and
    the loans excluded for them; nothing when no pool states criteria."""
    from ..pools.eligibility import CRITERIA, format_value

    table = st.eligibility
    if table.empty:
        return r
    r = s.title(r, ctx.L("eligibility"), SUBTITLE)
    several = table["pool"].nunique() > 1
    heads = [ctx.H("pool")] if several else []
    heads += [ctx.H("elig_criterion"), ctx.H("elig_limit"), ctx.H("elig_pool_value"), ctx.H("elig_excluded")]
    r = s.header(r, 1, heads)
    rows = []
    for row in table.itertuples(index=False):
        unit = CRITERIA[row.criterion].unit
        unit = "plain" if unit == "months" else unit  # (the label says months)
        value = "" if isinstance(row.pool_value, float) and row.pool_value != row.pool_value else \
            format_value(row.pool_value, unit)
        rows.append([*([row.pool] if several else []), ctx.L(f"elig_{row.criterion}"),
                     format_value(row.limit, unit), value, int(row.excluded)])
    r = s.rows(r, 1, rows, [*([None] if several else []), None, None, None, INT])
    if len(st.excluded):
        r = s.note(r, f"{ctx.L('elig_excluded_note')}: {len(st.excluded)} / {st.excluded['balance'].sum():,.2f}")
    return r


# --------------------------------------------------------------------------- schedules


def _schedule_sheet(s: Sheet, ctx: _Ctx, t: Tranche) -> None:
    res, h = ctx.result, ctx.result.deal.deal
    r = s.title(1, f"{ctx.L('schedule_of')} — {t.name}")
    cpn, _ = _coupon(t, ctx)
    cpn_text = f"{cpn * 100:.2f}%" if isinstance(cpn, float) else cpn
    r = s.note(r, f"{h.name} · {ctx.L('balance')}: {t.balance:,.2f} · {ctx.L('coupon')}: {cpn_text}")
    show_resid = t.kind == "subordinate"
    heads = [ctx.H("scenario"), ctx.H("period"), ctx.H("payment_date"), ctx.H("opening_balance"),
             ctx.H("interest"), ctx.H("principal")]
    cols = ["balance_start", "interest_paid", "principal_paid"]
    if show_resid:
        heads.append(ctx.H("residual"))
        cols.append("residual_paid")
    heads += [ctx.H("closing_balance"), ctx.H("new_interest_shortfall"), ctx.H("interest_shortfall"),
              ctx.H("writedown"), ctx.H("deal_state")]
    cols += ["balance_end", "new_shortfall", "interest_shortfall", "writedown"]
    header_row = r
    r = s.header(r, 1, heads)
    fmts: list[str | None] = [None, INT, DATE] + [YUAN] * len(cols) + [None]
    tr = res.tranches
    tr = tr[tr["tranche"] == t.name]
    states = res.states.set_index(["scenario", "period"])["state"]
    flows = ["interest_paid", "principal_paid", "residual_paid", "writedown", "interest_shortfall"]
    k = [x.name for x in res.deal.tranches].index(t.name)
    carried = bool(res.args.carry[k])
    never_paid = _interest_never_paid(ctx)
    for sc in ctx.scenarios:
        block = tr[tr["scenario"] == sc].sort_values("period")
        block = block.assign(new_shortfall=_new_shortfall(block["interest_shortfall"].to_numpy(), carried))
        active = (block["balance_start"] > 0) | (block[flows].abs().sum(axis=1) > 0)
        last = int(block.loc[active, "period"].max()) if active.any() else 0
        shown = block[block["period"] <= last]
        rows = []
        for rec in shown.itertuples(index=False):
            st = states.get((sc, rec.period), "")
            key = f"state_{st}"
            rows.append([sc, rec.period, rec.payment_date, *[getattr(rec, c) for c in cols],
                         ctx.L(key) if key in LABELS else st])
        r = s.rows(r, 1, rows, fmts)
        sums = {c: float(block[c].sum()) for c in cols}
        # the unpaid-interest balance is a stock: its total is the interest never paid
        sums["interest_shortfall"] = never_paid[(sc, t.name)]
        tot = [sc, ctx.L("total"), None,
               *[(None if c in ("balance_start", "balance_end") else sums[c]) for c in cols], None]
        r = s.rows(r, 1, [tot], fmts, font=BOLD, fill=TOTAL_FILL)
        r += 1
    s.note(r, ctx.L("shortfall_note"))
    s.finish(freeze=f"D{header_row + 1}", title_rows=(header_row, header_row))


def _new_shortfall(unpaid: Any, carried: bool) -> Any:
    """Unpaid interest arising in each period, from the unpaid balance at each period's end
    (``interest_shortfall``): its increase over the balance carried in (all of it when
    shortfalls are not carried); a decrease is interest made up, not a negative shortfall."""
    u = np.asarray(unpaid, dtype=float)
    before = np.concatenate([[0.0], u[:-1]]) if carried else np.zeros_like(u)
    return np.maximum(u - before, 0.0)


def _interest_never_paid(ctx: _Ctx) -> dict[tuple[str, str], float]:
    """Per (scenario, tranche): interest owed and never received, as the break-even and
    Monte Carlo losses count it (:func:`abs_engine.scenarios.measures.tranche_measures`)."""
    if ctx.measures is None:
        from ..scenarios.measures import tranche_measures

        res = ctx.result
        ctx.measures = tranche_measures(res.deal, res.schedule, res.args, yields=False)
    m = ctx.measures
    return {(sc, t): float(m.interest_lost[i, k]) for i, sc in enumerate(ctx.scenarios) for k, t in enumerate(m.tranches)}


# --------------------------------------------------------------------------- sensitivity


def _sensitivity_sheet(s: Sheet, ctx: _Ctx, mine: list[Tranche]) -> None:
    r = s.title(1, f"{ctx.L('sensitivity')} — {', '.join(t.name for t in mine)}")
    r = _stamp(s, r, ctx)
    a = ctx.analytics
    if a is not None:
        a = a.assign(_s=a["scenario"].astype(str), _t=a["tranche"].astype(str)).set_index(["_s", "_t"])
    sm = ctx.summary.assign(_s=ctx.summary["scenario"].astype(str), _t=ctx.summary["tranche"].astype(str))
    sm = sm.set_index(["_s", "_t"])
    keys, assumption_fmts, values = _assumptions(ctx)
    heads = [ctx.H("scenario"), *(ctx.H(k) for k in keys)]
    fmts: list[str | None] = [None, *assumption_fmts]
    getters: list[Any] = []
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
        for key, fmt, get in measures:
            heads.append(f"{t.name}\n{ctx.H(key)}")
            fmts.append(fmt)
            getters.append(lambda sc, g=get, n=t.name: ctx.dash(g(sc), sc, n))
    header_row = r
    r = s.header(r, 1, heads)
    rows = [[sc.name, *values(sc), *(g(sc.name) for g in getters)] for sc in ctx.result.scenarios]
    r = s.rows(r, 1, rows, fmts)
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
        r = s.header(r, 1, [ctx.H("price"), *[f"{sc}\n{ctx.H('irr' if t.kind == 'subordinate' else 'yield')}"
                                              for sc in table.columns]])
        r = s.rows(r, 1, [[float(p), *(ctx.dash(float(v), sc, t.name) for sc, v in zip(table.columns, row, strict=True))]
                          for p, row in zip(table.index, table.to_numpy(), strict=True)],
                   [DEC4, *[PCT4] * len(table.columns)])
        if any((str(sc), t.name) in ctx.no_cash for sc in table.columns):
            r = s.note(r, ctx.L("no_cash_note"))
    s.finish(freeze=f"B{header_row + 1}", title_rows=(header_row, header_row))


# --------------------------------------------------------------------------- charts


def _chart_data(s: Sheet, ctx: _Ctx) -> list[tuple[str, int, int, int]]:
    """Tables behind the charts; returns (title, header row, first data row, last data row)."""
    res, deal, h = ctx.result, ctx.result.deal, ctx.result.deal.deal
    r = s.title(1, ctx.L("chart_data_note"))
    r += 1
    scen = ctx.scenarios
    dates = [pd.Timestamp(d) for d in res.schedule.payment_dates]
    out = []
    tr = res.tranches.pivot(index=["tranche", "period"], columns="scenario", values="balance_end")
    for t in deal.tranches:
        title = f"{ctx.L('chart_balance')} — {t.name}"
        r = s.title(r, title, SUBTITLE)
        hr = r
        r = s.header(r, 1, [ctx.H("chart_date")] + list(scen))
        first = r
        rows = [[h.closing_date] + [t.balance] * len(scen)]
        block = tr.loc[t.name]
        for k, d in enumerate(dates):
            rows.append([d] + [block.at[k + 1, sc] for sc in scen])
        r = s.rows(r, 1, rows, [DATE] + [YUAN] * len(scen))
        out.append((title, hr, first, r - 1))
        r += 1
    # the pool's cumulative loss: before and after the pools' risk-sharing layers when there
    # are any (after support it is what the pool bears, all 0 while a guarantor pays)
    series = [("loss_before_support", "chart_pool_loss_before"), ("loss", "chart_pool_loss_after")] \
        if any(p.support for p in deal.pools) else [("loss", "chart_pool_loss")]
    for col, key in series:
        pool = res.pool.groupby(["scenario", "period"], sort=False)[col].sum().unstack("scenario")
        cum = pool.sort_index().cumsum()
        title = ctx.L(key)
        r = s.title(r, title, SUBTITLE)
        hr = r
        r = s.header(r, 1, [ctx.H("chart_date")] + list(scen))
        first = r
        rows = [[h.cutoff_date] + [0.0] * len(scen)]
        for k, d in enumerate(dates):
            rows.append([d] + [cum.at[k + 1, sc] for sc in scen])
        r = s.rows(r, 1, rows, [DATE] + [YUAN] * len(scen))
        out.append((title, hr, first, r - 1))
        r += 1
    s.finish(freeze=None, title_rows=None)
    return out


def _charts_sheet(s: Sheet, data: Sheet, ctx: _Ctx, tables: list[tuple[str, int, int, int]]) -> None:
    s.title(1, ctx.L("sheet_charts"))
    n_scen = len(ctx.scenarios)
    for i, (title, hr, first, last) in enumerate(tables):
        ch = LineChart()
        ch.title = title
        ch.height, ch.width = 8.5, 16.0
        ch.y_axis.title = ctx.L("chart_yuan")
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
        ref = Reference(data.ws, min_col=2, max_col=1 + n_scen, min_row=hr, max_row=last)
        ch.add_data(ref, titles_from_data=True)
        ch.set_categories(Reference(data.ws, min_col=1, min_row=first, max_row=last))
        for ser in ch.series:
            ser.smooth = False
        col = 1 if i % 2 == 0 else 11
        row = 3 + (i // 2) * 18
        s.ws.add_chart(ch, f"{'A' if col == 1 else 'K'}{row}")
    s.ws.sheet_view.showGridLines = False
    s.finish(freeze=None, title_rows=None)


# --------------------------------------------------------------------------- workbook


def _properties(wb: Workbook, ctx: _Ctx, cls: str, mine: list[Tranche]) -> None:
    from .. import __version__

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

    def sheet(key: str, suffix: str = "") -> Sheet:
        name = sheet_name(label(key, ctx.lang, " ") + (f" {suffix}" if suffix else ""), taken)
        taken.append(name)
        ws = wb.active if len(taken) == 1 else wb.create_sheet()
        assert ws is not None
        ws.title = name
        return Sheet(ws, styles=styles)

    _summary_sheet(sheet("sheet_summary"), ctx, cls, mine)
    _collateral_sheet(sheet("sheet_collateral"), ctx)
    support_sheet(sheet("sheet_support"), ctx.result, ctx.lang, ctx.L, ctx.H)
    for t in mine:
        _schedule_sheet(sheet("sheet_schedule", t.name), ctx, t)
    _sensitivity_sheet(sheet("sheet_sensitivity"), ctx, mine)
    if ctx.breakeven is not None or ctx.simulation is not None:
        risk_sheet(sheet("sheet_risk"), ctx.L, ctx.H, mine, ctx.result.deal.name, breakeven=ctx.breakeven,
                   simulation=ctx.simulation)
    if ctx.agency is not None:
        agency_sheet(sheet("sheet_agency"), ctx.L, ctx.H, mine, ctx.result.deal.name, ctx.agency)
    charts = sheet("sheet_charts")
    data = sheet("sheet_chart_data")
    _charts_sheet(charts, data, ctx, _chart_data(data, ctx))
    _properties(wb, ctx, cls, mine)
    wb.active = 0
    return wb


def _context(result: Result, lang: str, analytics: pd.DataFrame | None, deal_path: str | os.PathLike[str] | None) -> _Ctx:
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
    )


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
) -> dict[str, Workbook]:
    """Build (without saving) one workbook per tranche class present in the deal,
    keyed by class (``senior``, ``mezzanine``, ``subordinate``)."""
    ctx = _context(result, lang, analytics, deal_path)
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
        ``Breakeven.table`` from :func:`abs_engine.scenarios.breakeven`; with it (or with
        ``simulation``) every workbook gets the break-even and loss-distribution sheet.
    simulation : abs_engine.scenarios.Simulation, optional
        A Monte Carlo run (:func:`abs_engine.scenarios.simulate`) of the same deal.
    agency : abs_engine.scenarios.agency.Agency, optional
        The agency stress test (:func:`abs_engine.scenarios.agency.agency_table`) of the same
        deal; with it every workbook gets the agency sheet.

    Returns
    -------
    list of Path
        The workbooks written, in the order senior, mezzanine, subordinate.

    Every workbook is built in memory first, then each is saved atomically (temporary
    file + ``os.replace``): an error leaves no partial workbook behind.
    """
    books = term_sheet_workbooks(result, lang=lang, analytics=analytics, deal_path=deal_path,
                                 breakeven=breakeven, simulation=simulation, agency=agency)
    out = Path(out_dir)
    stem = file_stem(result.deal.deal.name)
    paths = []
    for cls, wb in books.items():
        paths.append(save_workbook(wb, out / f"{stem}_{cls}_termsheet.xlsx"))
    return paths
