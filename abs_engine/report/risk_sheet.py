"""The break-even and loss-distribution sheet of a term sheet (临界违约率与损失分布).

Layout only: the break-even table comes from :func:`abs_engine.studies.breakeven`
(``Breakeven.table``), the Monte Carlo figures from
:class:`abs_engine.studies.montecarlo.Simulation` (``summary()``, ``loss_distribution()``,
``settings_frame()``). The workbook's own tranches are highlighted; a column chart shows the
distribution of the pool's and the tranches' loss rates.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, Reference

from ..model.deal import Tranche
from .xl import DEC4, HIGHLIGHT_FILL, INT, PCT2, PCT4, SUBTITLE, YEARS, Sheet

#: Break-even columns: (frame column, label key, number format for rates, for multiples).
BREAKEVEN_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("breakeven", "be_level", PCT4, DEC4),
    ("first_break", "be_first_break", PCT4, DEC4),
    ("base_level", "be_base_level", PCT4, DEC4),
    ("multiple_of_base", "be_multiple", DEC4, DEC4),
)

#: Monte Carlo columns per tranche: (summary column, label key, format).
MC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("expected_loss", "mc_expected_loss", PCT4),
    ("loss_probability", "mc_loss_probability", PCT2),
    ("loss_probability_upper95", "mc_loss_probability_ub", PCT2),
    ("loss_p95", "mc_loss_p95", PCT2),
    ("loss_p99", "mc_loss_p99", PCT2),
    ("loss_p99_9", "mc_loss_p99_9", PCT2),
    ("wal_mean", "mc_wal_mean", YEARS),
    ("yield_mean", "mc_yield_mean", PCT4),
    ("yield_p5", "mc_yield_p5", PCT4),
    ("rating", "mc_rating", ""),
    ("rating_upper95", "mc_rating_ub", ""),
)


def _rating(value: Any, L: Any) -> Any:  # noqa: N803
    """A mapped rating; ``below <worst>`` in the sheet's language."""
    if isinstance(value, str) and value.startswith("below "):
        worst = value[len("below "):]
        return " / ".join(f"{part} {worst}" for part in L("rating_below").split(" / "))
    return value


def _measure_header(col: str, H: Any) -> str:  # noqa: N803
    """Header of a pool-summary column: ``mean``, ``std``, ``max``, ``p99_5`` (99.5th pct)."""
    if col in ("mean", "std", "max"):
        return str(H(f"stat_{col}"))
    if col.startswith("p") and col[1:].replace("_", "").isdigit():
        return str(H("stat_pct")).format(q=col[1:].replace("_", "."))
    return col


def risk_sheet(s: Sheet, L: Any, H: Any, mine: list[Tranche], deal_name: str, *,  # noqa: N803
               breakeven: pd.DataFrame | None = None, simulation: Any = None) -> None:
    """Write the sheet. ``L`` / ``H`` render labels (running text / headers)."""
    names = {t.name for t in mine}
    r = s.title(1, f"{L('risk_title')} — {deal_name}")
    if breakeven is not None:
        r += 1
        r = s.title(r, L("be_section"), SUBTITLE)
        crit = str(breakeven["criterion"].iloc[0]) if len(breakeven) else "timely"
        r = s.note(r, f"{L('be_note')} ({L('criterion')}: {L(f'criterion_{crit}')})")
        r = s.header(r, 1, [H("tranche"), H("be_stress"), *[H(k) for _, k, _, _ in BREAKEVEN_COLUMNS], H("be_bound")])
        for row in breakeven.itertuples(index=False):
            multiple = str(row.stress).endswith("multiple")
            fmts = [None, None, *[(m if multiple else p) for _, _, p, m in BREAKEVEN_COLUMNS], None]
            values = [row.tranche, L(f"stress_{row.stress}"), *[getattr(row, c) for c, _, _, _ in BREAKEVEN_COLUMNS],
                      L(f"bound_{str(row.bound).replace(' ', '_')}")]
            r = s.rows(r, 1, [values], fmts)
            if row.tranche in names:
                for c in range(1, len(values) + 1):
                    s.ws.cell(row=r - 1, column=c).fill = HIGHLIGHT_FILL
    if simulation is not None:
        r += 1
        r = s.title(r, L("mc_section"), SUBTITLE)
        st = simulation.settings
        r = s.note(r, f"{L('mc_note')}: {simulation.n_paths:,} {L('mc_paths')}, {L('mc_seed')} {st.seed}, "
                      f"{L('mc_correlation')} ρ = {st.correlation:g} ({L(f'corr_by_{st.correlation_by}')}), "
                      f"{L('scenario')}: {simulation.scenario.name}")
        summary = simulation.summary()
        r = s.header(r, 1, [H("tranche"), *[H(k) for _, k, _ in MC_COLUMNS]])
        for row in summary.itertuples(index=False):
            values = [row.tranche, *[(_rating(getattr(row, c), L) if c.startswith("rating") else getattr(row, c))
                                     for c, _, _ in MC_COLUMNS]]
            r = s.rows(r, 1, [values], [None, *[(f or None) for _, _, f in MC_COLUMNS]])
            if row.tranche in names:
                for c in range(1, len(values) + 1):
                    s.ws.cell(row=r - 1, column=c).fill = HIGHLIGHT_FILL
        r = s.note(r, L("mc_loss_note"))
        r = s.note(r, L("mc_rating_note"))
        r += 1
        pool = simulation.pool_summary()
        r = s.title(r, L("mc_pool"), SUBTITLE)
        cols = [c for c in pool.columns if c != "measure"]
        r = s.header(r, 1, [H("measure"), *[_measure_header(c, H) for c in cols]])
        for row in pool.itertuples(index=False):
            r = s.rows(r, 1, [[L(row.measure), *[getattr(row, c) for c in cols]]], [None, *[PCT4] * len(cols)])
        # the histogram behind the chart: one column per series, one row per bin
        r += 1
        r = s.title(r, L("mc_histogram"), SUBTITLE)
        dist = simulation.loss_distribution()  # the bins of mc_loss_distribution.csv
        series = ["pool", *[t.name for t in simulation.deal.tranches]]
        hr = r
        r = s.header(r, 1, [H("mc_bin"), *[(H("pool") if x == "pool" else x) for x in series]])
        first = r
        pool_bins = dist[dist["series"] == "pool"].reset_index(drop=True)
        rows = []
        for i in range(len(pool_bins)):
            rows.append([f"{pool_bins.loc[i, 'lower']:.2%}–{pool_bins.loc[i, 'upper']:.2%}",
                         *[int(dist[dist["series"] == x].reset_index(drop=True).loc[i, "paths"]) for x in series]])
        r = s.rows(r, 1, rows, [None, *[INT] * len(series)])
        r = s.note(r, L("mc_histogram_note"))
        ch = BarChart()
        ch.type = "col"
        ch.title = L("mc_chart")
        ch.y_axis.title = L("mc_paths")
        ch.x_axis.title = L("mc_bin")
        ch.height, ch.width = 8.0, 18.0
        ch.add_data(Reference(s.ws, min_col=2, max_col=2, min_row=hr, max_row=r - 2), titles_from_data=True)
        ch.set_categories(Reference(s.ws, min_col=1, min_row=first, max_row=r - 2))
        ch.legend = None
        s.ws.add_chart(ch, f"A{r + 1}")
    s.finish(freeze=None, title_rows=None)
