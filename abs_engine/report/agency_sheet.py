"""The agency stress-test sheet of a term sheet (评级压力测试).

Layout only: every figure comes from :class:`abs_engine.studies.agency.Agency`
(:func:`abs_engine.studies.agency.agency_table`). Per tranche: its break-even multiple and
BDR under each stress, then per rating its target (TDR, or the rating's multiple), the
smallest cushion over the stresses, the binding stress and whether it passes; a summary of
every tranche's implied rating closes the sheet. The workbook's own tranches are
highlighted.
"""

from __future__ import annotations

from typing import Any

from ..model.deal import Tranche
from . import structuring_labels  # noqa: F401  (the sheet's labels)
from .risk_sheet import _rating
from .xl import DEC4, HIGHLIGHT_FILL, PCT4, SUBTITLE, YEARS, Sheet


def _stress(name: str, L: Any) -> str:  # noqa: N803
    from .labels import LABELS

    key = f"ag_stress_{name}"
    return L(key) if key in LABELS else name


def agency_sheet(s: Sheet, L: Any, H: Any, mine: list[Tranche], deal_name: str, agency: Any) -> None:  # noqa: N803
    """Write the sheet. ``L`` / ``H`` render labels (running text / headers)."""
    names = {t.name for t in mine}
    tdr = agency.test == "tdr"
    rate_fmt = PCT4 if tdr else DEC4
    r = s.title(1, f"{L('ag_title')} — {deal_name}")
    r = s.note(r, L("ag_note_tdr") if tdr else L("ag_note_multiple"))
    r = s.note(r, f"{L('ag_source')}: {agency.rating_source}")
    if agency.settings is not None:
        st = agency.settings
        r = s.note(r, f"{L('ag_settings')}: {int(agency.targets['paths'].iloc[0]):,} {L('mc_paths')}, {L('mc_seed')} "
                      f"{st.seed}, {L('mc_correlation')} ρ = {st.correlation:g}, {L('scenario')}: {agency.base.name}")
    r = s.note(r, L("ag_range_note"))
    r += 1
    r = s.title(r, L("ag_stresses"), SUBTITLE)
    r = s.header(r, 1, [H("ag_stress"), H("ag_description")])
    r = s.rows(r, 1, [[_stress(x.stress, L), x.description] for x in agency.stresses.itertuples(index=False)],
               [None, None])
    for tranche in dict.fromkeys(agency.bdr["tranche"]):
        hl = tranche in names
        r += 1
        r = s.title(r, f"{L('ag_tranche_section')} {tranche}", SUBTITLE)
        g = agency.bdr[agency.bdr["tranche"] == tranche]
        r = s.header(r, 1, [H("ag_stress"), H("ag_level"), H("ag_bdr"), H("ag_bound")])
        rows = [[_stress(x.stress, L), x.level, x.bdr, L(f"bound_{str(x.bound).replace(' ', '_')}")] for x in g.itertuples(index=False)]
        r = s.rows(r, 1, rows, [None, DEC4, PCT4, None], fill=HIGHLIGHT_FILL if hl else None)
        t = agency.targets[agency.targets["tranche"] == tranche]
        c = agency.table[agency.table["tranche"] == tranche]
        head = [H("ag_rating"), H("ag_horizon")]
        head += [H("ag_probability"), H("ag_order"), H("ag_tdr")] if tdr else [H("ag_target_multiple")]
        head += [H("ag_min_cushion"), H("ag_binding"), H("ag_passes")]
        r = s.header(r + 1, 1, head)
        out, fmts = [], [None, YEARS, *([PCT4, None, PCT4] if tdr else [DEC4]), rate_fmt, None, None]
        for x in t.itertuples(index=False):
            cr = c[c["rating"] == x.rating]
            bounded = cr[cr["bound"] != "range"]
            worst = bounded.loc[bounded["cushion"].idxmin()] if len(bounded) else None
            row: list[Any] = [x.rating, x.horizon_years]
            if tdr:
                order = f"{int(x.order):,} / {int(x.paths):,}" + ("" if x.resolved else " *")
                row += [x.default_probability, order, x.tdr]
            else:
                row += [x.target]
            row += [None if worst is None else float(worst["cushion"]), "" if worst is None else _stress(str(worst["stress"]), L),
                    L("ag_yes") if bool(cr["passes"].all()) else L("ag_no")]
            out.append(row)
        r = s.rows(r, 1, out, fmts, fill=HIGHLIGHT_FILL if hl else None)
        if tdr and not bool(t["resolved"].all()):
            r = s.note(r, f"* {L('ag_unresolved')}")
    r += 1
    r = s.title(r, L("ag_summary"), SUBTITLE)
    low = "min_bdr" if tdr else "min_multiple"
    r = s.header(r, 1, [H("tranche"), H("ag_stated"), H("ag_horizon"), H("ag_min_bdr" if tdr else "ag_min_multiple"),
                        H("ag_binding"), H("ag_implied"), H("ag_cushion")])
    for x in agency.summary.itertuples(index=False):
        r = s.rows(r, 1, [[x.tranche, x.stated_rating, x.horizon_years, getattr(x, low), _stress(x.binding_stress, L),
                           _rating(x.implied_rating, L), x.implied_cushion]],
                   [None, None, YEARS, rate_fmt, None, None, rate_fmt],
                   fill=HIGHLIGHT_FILL if x.tranche in names else None)
    s.finish(freeze=None, title_rows=None)
