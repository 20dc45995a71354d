"""Investor figures (abs_engine/studies/investor.py) and the term-sheet sections that show
them: each pins a finding of issue #13 ("What a term sheet must show")."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.errors import InputError
from abs_engine.report import term_sheet_workbooks
from abs_engine.report.labels import label
from abs_engine.studies.investor import collateral_fit, event_timeline, investor_view


def L(key: str) -> str:  # noqa: N802
    return label(key, "both")


@pytest.fixture(scope="module")
def sz():
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    return deal, [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")]


def test_senior_dependence_on_support_and_standalone_breakeven(sz, backend):
    """As written the SZ senior loses nothing; stand-alone it breaks at 11.07% CDR under the
    stress scenario's recoveries, below the 15% stress CDR; the guarantor and the
    undertaker are one company."""
    deal, scs = sz
    res = ae.run(deal, scs, backend=backend)
    view = investor_view(res, backend=backend)
    dep = view.dependence.set_index(["scenario", "case", "tranche"])
    assert dep.at[("stress", "as_written", "A"), "loss"] == 0 and dep.at[("stress", "as_written", "A"), "whole"]
    assert not dep.at[("stress", "standalone", "A"), "whole"]
    assert dep.at[("stress", "standalone", "A"), "loss_rate"] > 0
    be = view.breakeven.set_index(["scenario", "case", "tranche"])
    x = be.at[("stress", "standalone", "A"), "breakeven_cdr"]
    assert x == pytest.approx(0.1107, abs=1e-4)
    assert 0 < be.at[("stress", "standalone", "A"), "first_break"] - x <= 1e-4
    assert bool(be.at[("stress", "standalone", "A"), "below_scenario_cdr"])
    assert be.at[("stress", "as_written", "A"), "bound"] == "range"  # whole up to 100% as written
    assert be.at[("stress", "standalone", "A"), "multiple_of_base"] == pytest.approx(x / 0.02)
    parties = view.parties.set_index("party")
    assert parties.at["guarantee", "same_entity_as"] == "undertaking"
    assert parties.at["undertaking", "rating"] == "AAA"
    # the share of the senior's cash from the support: stand-alone it loses what it lost
    sh = view.support_share.set_index(["scenario", "tranche", "case"])
    got = sh.at[("stress", "A", "standalone"), "cash_from_removed"]
    assert got == pytest.approx(dep.at[("stress", "as_written", "A"), "cash"] - dep.at[("stress", "standalone", "A"), "cash"])
    assert got > 0


def test_pool_stress_and_speeds(sz, backend):
    deal, scs = sz
    res = ae.run(deal, scs, backend=backend)
    view = investor_view(res, backend=backend, breakevens=False)
    ps = view.pool_stress.set_index("scenario")
    pool = res.pool[res.pool["scenario"] == "stress"]
    assert ps.at["stress", "cumulative_default_rate"] == pytest.approx(pool["default_amount"].sum() / 206_000_000)
    assert ps.at["stress", "loss_rate_before_support"] == pytest.approx(pool["loss_before_support"].sum() / 206_000_000)
    # decrement: 100% before the first payment, monotone, 0 once repaid; faster prepayment, shorter WAL
    dec = view.decrement[view.decrement["tranche"] == "A"]
    for _, part in dec.groupby("speed"):
        pct = part.sort_values("period")["balance_pct"].to_numpy()
        assert (pct <= 1 + 1e-12).all() and (pct[1:] <= pct[:-1] + 1e-12).all()
    st = view.speed_table.set_index(["speed", "tranche"])
    assert st.at[("CPR 20% CDR 2%", "A"), "wal_years"] < st.at[("CPR 0% CDR 0%", "A"), "wal_years"]
    # with no defaults and no prepayment the senior at par yields the ChinaBond yield of its
    # cash, by hand: every payment date one quarter, the first (98 days from closing) too
    # (docs/analytics.md: 3.88%, not the coupon, as its ACT/365F periods pay more than C/4)
    from scipy.optimize import brentq

    flat = ae.run(deal, [scs[0].model_copy(update={"name": "flat", "defaults": scs[0].defaults.model_copy(update={"cdr": 0.0}),
                                                   "prepayment": scs[0].prepayment.model_copy(update={"cpr": 0.0})})],
                  backend=backend).tranches
    a = flat[flat["tranche"] == "A"].sort_values("period")
    cash = (a["interest_paid"] + a["principal_paid"]).to_numpy()
    k = range(1, len(cash) + 1)
    y = brentq(lambda y: sum(c / (1 + y / 4) ** i for c, i in zip(cash, k, strict=True)) - 195_700_000, -0.5, 0.5, xtol=1e-14)
    assert st.at[("CPR 0% CDR 0%", "A"), "yield"] == pytest.approx(y, abs=1e-9)
    assert y == pytest.approx(0.0388, abs=1e-4)


def test_payment_after_expected_maturity_is_an_event_and_red(sz, backend):
    """The senior (rated), its guarantor failing and without the shortfall undertaking, is
    paid principal after its expected maturity from the recoveries: the timeline says so and
    the schedule marks it (the unrated subordinate's cash after the expected maturity is no
    breach: test_review_rev1)."""
    from abs_engine.studies.investor import without

    deal, _ = sz
    res = ae.run(deal, [without(deal, ae.load_scenario(SCENARIOS / "stress_guarantor_fails.yaml"), ["undertaking"])],
                 backend=backend)
    ev = event_timeline(res)
    late = ev[(ev["event"] == "paid_after_expected_maturity")]
    assert len(late) and late["flag"].all()
    tr = res.tranches
    for rec in late.itertuples(index=False):
        row = tr[(tr["tranche"] == rec.subject) & (tr["period"] == rec.period)].iloc[0]
        assert rec.amount == pytest.approx(row["principal_paid"])  # principal still owed after it
        t = deal.tranche(rec.subject)
        em = t.expected_maturity or deal.deal.expected_maturity
        assert row["payment_date"].date() > em
    wb = term_sheet_workbooks(res, investor=investor_view(res, backend=backend, breakevens=False))
    subject = late["subject"].iloc[0]
    cls = deal.tranche(subject).kind
    ws = wb[cls][f"偿付计划 Schedule {subject}"]
    red = [r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).font.color is not None
           and ws.cell(row=r, column=1).font.color.rgb == "FFC00000"]
    assert red, "the late payment's row is red"
    texts = [" ".join(str(ws.cell(row=r, column=c).value) for c in range(1, ws.max_column + 1)) for r in red]
    assert sum(L("event_paid_after_expected_maturity") in t for t in texts) == late["period"].nunique()


def test_structure_terms_in_words(sz):
    deal, scs = sz
    res = ae.run(deal, scs)
    wb = term_sheet_workbooks(res, investor=False)["senior"]
    ws = wb["结构条款 Structure"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("percent" not in t and "证券余额的 1%" in t for t in texts)  # the reserve target
    assert L("metric_cumulative_default_ratio") in texts and L("effect_accelerate") in texts
    thr = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, float) and c.value == 0.10]
    assert thr, "the trigger threshold is a number"
    assert L("vat_tax") in texts and "增值税及附加 / vat" in texts
    steps = [t for t in texts if t.startswith("从 collection 支付 A 的应付利息")]
    assert steps and all(" / pay the interest due on A from collection" in t for t in steps)
    assert sum(1 for t in texts if t in (L("waterfall_title"),)) == 1
    assert L("no_cleanup") in texts


def test_collateral_fit_of_a_licence_pool():
    deal = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    fit = collateral_fit(deal)
    r = fit.rights
    assert set(r["type"]) <= {"invention", "utility_model", "design", "trademark", "copyright"}
    assert r["exposure"].sum() == pytest.approx(fit.receivables["remaining_receivables"].iloc[0])
    assert (r["exposure"].diff().dropna() <= 1e-9).all()  # largest first
    assert r["years_after_legal_maturity"].notna().all()
    # present value at a stated rate: below the total; OC = PV / notes
    pool = deal.pools[0].model_copy(update={"discount_rate": 0.05})
    fit2 = collateral_fit(deal.model_copy(update={"pools": [pool]}))
    rec = fit2.receivables.iloc[0]
    assert 0 < rec["present_value"] < rec["remaining_receivables"]
    assert rec["oc_ratio"] == pytest.approx(rec["present_value"] / 38_000_000)
    res = ae.run(deal, [ae.load_scenario(SCENARIOS / "pudong_base.yaml")])
    ws = term_sheet_workbooks(res, investor=False)["senior"]["资产池 Collateral"]
    col_a = [ws.cell(row=i, column=1).value for i in range(1, ws.max_row + 1)]
    assert L("remaining_receivables") in col_a and L("total_balance") not in col_a
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert L("ip_utility_model") in texts and L("ip_invention") in texts


def test_eligibility_limits_are_numbers(sz):
    deal, scs = sz
    res = ae.run(deal, scs[:1])
    ws = term_sheet_workbooks(res, investor=False)["senior"]["资产池 Collateral"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == L("elig_min_annual_sales"))
    assert ws.cell(row=row, column=2).value == 2_000_000 and ws.cell(row=row, column=2).data_type == "n"
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == L("elig_max_loan_to_sales"))
    assert ws.cell(row=row, column=2).value == pytest.approx(0.40) and ws.cell(row=row, column=2).number_format == "0.00%"


def test_tables_are_named_excel_tables_and_panes_frozen(sz, tmp_path):
    deal, scs = sz
    res = ae.run(deal, scs)
    from abs_engine.report import write_term_sheets

    paths = write_term_sheets(res, tmp_path, analytics=res.analytics())
    wb = openpyxl.load_workbook(paths[0])
    names = {n for ws in wb.worksheets for n in ws.tables}
    for n in ("capital_structure", "schedule_A", "schedule_totals_A", "events", "breakeven_support", "decrement_A",
              "speed_table", "support_parties", "dependence", "fees", "triggers", "eligibility", "strata_industry"):
        assert n in names, n
    for ws in wb.worksheets:
        assert ws.freeze_panes, ws.title
    import pandas as pd

    ws = wb["偿付计划 Schedule A"]
    ref = ws.tables["schedule_A"].ref
    df = pd.DataFrame(list(ws[ref]))
    assert len(df) - 1 == len(res.tranches[(res.tranches["tranche"] == "A") & (res.tranches["balance_start"] > 0)])


def test_entities_must_name_a_provider(tmp_path):
    text = (DEALS / "sz_pledge_2026_1.yaml").read_text(encoding="utf-8")
    text = text.replace("  - name: Shenzhen Hi-Tech Investment Guarantee Co. (modelled)\n    rating: AAA",
                        "  - name: Shenzhen Hi-Tech Investment Guarantee Co\n    rating: AAA")
    (tmp_path / "tapes").mkdir()
    for f in (DEALS / "tapes").glob("sz_pledge_2026_1*"):
        (tmp_path / "tapes" / f.name).write_bytes(f.read_bytes())
    p = tmp_path / "d.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        ae.load_deal(p)
    msg = str(exc.value)
    assert "entities[0].name" in msg and "unknown provider" in msg and "did you mean" in msg
