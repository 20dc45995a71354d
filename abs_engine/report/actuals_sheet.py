"""Actual vs projected (实际与预测): the term-sheet sheet and the plot of
:func:`abs_engine.actuals.actual_vs_projected`'s frame. Layout only: every figure is in the
frame (docs/seasoned.md, "Actual vs projected").

The sheet lists, per period reported, each pool figure and each class's payments: actual,
projected, difference, and when the projection was made; a note says what "projected"
means. The plot sets actual against projected per period for the pool's collections,
defaults and recoveries, and each class's principal and balance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .labels import LABELS
from .xl import SUBTITLE, YUAN, Sheet

#: key -> (中文, English); they join LABELS on import (a key may not be defined twice).
ACTUALS_LABELS: dict[str, tuple[str, str]] = {
    "sheet_actuals": ("实际与预测", "Actual vs projected"),
    "av_title": ("实际与预测对比", "Actual vs projected"),
    "av_note": (
        "实际：受托机构报告各期数据（存续期状态文件）；预测：按所列日期（发行日或上一期状态日）的现金流预测；差异 = 实际 − 预测",
        "Actual: each period's trustee-report figures (the status files); projected: the cash-flow projection made on the date "
        "shown (closing, or the last status before the period); difference = actual − projected",
    ),
    "av_pool": ("资产池", "Pool"),
    "av_classes": ("各档证券", "Notes"),
    "av_period": ("期数", "Period"),
    "av_date": ("兑付日", "Payment date"),
    "av_item": ("项目", "Item"),
    "av_class": ("证券", "Class"),
    "av_actual": ("实际（元）", "Actual (CNY)"),
    "av_projected": ("预测（元）", "Projected (CNY)"),
    "av_difference": ("差异（元）", "Difference (CNY)"),
    "av_projected_at": ("预测日", "Projected on"),
    "av_scenario": ("情景", "Scenario"),
    "av_interest_collected": ("利息回收", "Interest collected"),
    "av_principal_collected": ("本金回收（含提前还款）", "Principal collected (incl. prepaid)"),
    "av_prepayments": ("其中：提前还款", "of which prepaid"),
    "av_defaults": ("违约金额", "Defaults"),
    "av_recoveries": ("处置回收", "Recoveries"),
    "av_losses": ("损失", "Losses"),
    "av_support_paid": ("风险分担方支付", "Paid by risk-sharing layers"),
    "av_pool_balance": ("期末资产池余额", "Pool balance, end of period"),
    "av_fees_paid": ("税费支出", "Expenses paid"),
    "av_interest": ("利息", "Interest"),
    "av_principal": ("本金", "Principal"),
    "av_residual": ("超额收益", "Excess return"),
    "av_balance": ("期末余额", "Balance after payment"),
}
for _k, _v in ACTUALS_LABELS.items():
    if _k in LABELS and LABELS[_k] != _v:  # pragma: no cover - a clash is a programming error
        raise KeyError(f"label {_k!r} defined twice")
    LABELS[_k] = _v


def actuals_sheet(s: Sheet, L: Any, H: Any, frame: pd.DataFrame, deal_name: str, currency: str = "CNY") -> None:  # noqa: N803
    """Write the sheet. ``L`` / ``H`` render labels (running text / headers)."""
    from .labels import in_currency

    r = s.title(1, f"{L('av_title')} — {deal_name}")
    r = s.note(r, L("av_note"))
    money = [in_currency(H(k), currency) for k in ("av_actual", "av_projected", "av_difference")]
    for part, on in (("av_pool", frame["tranche"] == ""), ("av_classes", frame["tranche"] != "")):
        rows = frame[on]
        if rows.empty:
            continue
        r += 1
        r = s.title(r, L(part), SUBTITLE)
        head = [H("av_scenario"), H("av_period"), H("av_date"), H("av_item"),
                *([H("av_class")] if part == "av_classes" else []), *money, H("av_projected_at")]
        r = s.header(r, 1, head)
        data = []
        for row in rows.itertuples(index=False):
            cls = [row.tranche] if part == "av_classes" else []
            data.append([row.scenario, row.period, row.payment_date, L(f"av_{row.item}"), *cls, row.actual, row.projected,
                         row.difference, row.projected_at])
        r = s.rows(r, 1, data, [None, None, None, None, *([None] if part == "av_classes" else []), YUAN, YUAN, YUAN, None])
    s.finish(freeze="A4", title_rows=None)


def actuals_png(frame: pd.DataFrame, target: Path, title: str) -> Path:
    """Actual (markers) against projected (lines) per period: the pool's collections,
    defaults and recoveries, its balance, and each class's principal (the first scenario's
    projection)."""
    from ..studies.plots import _pyplot, _save

    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    frame = frame[frame["scenario"] == frame["scenario"].iloc[0]] if len(frame) else frame  # (one scenario's projection)
    panels = [
        ("pool collections", [("interest_collected", ""), ("principal_collected", "")]),
        ("defaults and recoveries", [("defaults", ""), ("recoveries", "")]),
        ("pool balance", [("pool_balance", "")]),
        ("note principal", [("principal", t) for t in frame.loc[frame["tranche"] != "", "tranche"].unique()]),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), squeeze=False)
    colours = ["#4472c4", "#ed7d31", "#70ad47", "#7f7f7f", "#c00000"]
    for ax, (name, series) in zip(axes.ravel(), panels, strict=True):
        for (item, cls), colour in zip(series, colours, strict=False):
            d = frame[(frame["item"] == item) & (frame["tranche"] == cls)]
            if d.empty:
                continue
            lab = f"{cls} {item}".strip()
            ax.plot(d["period"], d["projected"] / 1e6, color=colour, lw=1.2, label=f"{lab} projected")
            ax.plot(d["period"], d["actual"] / 1e6, color=colour, ls="none", marker="o", ms=4, label=f"{lab} actual")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("period", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("millions", fontsize=8)
        if ax.has_data():
            ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, target)
