"""A credit reviewer's findings on the investor figures of the gallery deals (issue #13,
review of main at 1803e5f): each test pins one finding, fails on the code it was found
on, and checks the fix against an independent evaluation (a direct engine run, a count
by hand), not against the code it fixes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.model.curves import DefaultCurve
from abs_engine.studies.breakeven import (
    at_cdr,
    breakeven,
    equivalent_cdr,
    lifetime_defaults,
    parse_ranges,
    stressed,
    whole_at,
)
from abs_engine.studies.investor import Speed, investor_view, without

SZ = DEALS / "sz_pledge_2026_1.yaml"
PUDONG = DEALS / "pudong_licence_2020.yaml"


@pytest.fixture(scope="module")
def sz() -> ae.Deal:
    return ae.load_deal(SZ)


@pytest.fixture(scope="module")
def sz_base() -> ae.Scenario:
    return ae.load_scenario(SCENARIOS / "base.yaml")


# --------------------------------------------------------------------------- 1. break-evens


def test_breakeven_locates_every_range_of_failure(sz: ae.Deal, sz_base: ae.Scenario, backend: str) -> None:
    """SZ without the undertaking: the senior misses timely interest from ~31% CDR, is whole
    again at higher CDRs (the guarantee's recoveries come back), and never loses anything in
    the end. The table says so: non-monotone, every range, both criteria."""
    sc = without(sz, sz_base, ["undertaking"])
    timely = breakeven(sz, sc, stresses=["cdr"], tranches=["A"], curve_points=0, backend=backend).table.iloc[0]
    ultimate = breakeven(sz, sc, stresses=["cdr"], tranches=["A"], curve_points=0, backend=backend,
                         criterion="ultimate").table.iloc[0]
    ranges = parse_ranges(timely["fail_ranges"])
    assert not timely["monotone"] and len(ranges) >= 2
    assert ranges[0][0] == pytest.approx(timely["first_break"])
    # independently: the midpoints of the failure ranges fail, the gaps between them do not
    inside = [(lo + hi) / 2 for lo, hi in ranges if hi > lo]
    gaps = [(a[1] + b[0]) / 2 for a, b in zip(ranges, ranges[1:], strict=False)]
    m = whole_at(sz, sc, "cdr", inside + gaps, backend=backend)  # type: ignore[arg-type]
    w = m.whole("timely")[:, 0]
    assert not w[: len(inside)].any() and w[len(inside):].all()
    # the deferral is paid later: nothing lost at any level, so the ultimate break-even is >= 100%
    assert ultimate["bound"] == "range" and ultimate["monotone"] and ultimate["fail_ranges"] == ""
    assert whole_at(sz, sc, "cdr", [1.0], backend=backend).whole("ultimate")[0, 0]  # type: ignore[arg-type]


def test_breakeven_table_never_contradicts_the_run(sz: ae.Deal) -> None:
    """Whether a tranche fails at its scenario's CDR, as the break-even table reads, is what
    the run of that scenario says (the dependence table), in every removal case."""
    res = ae.run(sz, [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")])
    view = investor_view(res)
    be = view.breakeven.set_index(["scenario", "case", "tranche"])
    dep = view.dependence.set_index(["scenario", "case", "tranche"])
    for key, rec in be.iterrows():
        assert bool(rec["fails_at_scenario_cdr"]) == (not bool(dep.loc[key, "whole"])), key
        if not rec["monotone"]:
            assert rec["note"], key
    assert {"breakeven_cdr_ultimate", "monotone", "fail_ranges", "fail_ranges_ultimate"} <= set(view.breakeven.columns)


# --------------------------------------------------------------------------- 2. tape PDs


def test_cdr_stress_replaces_tape_pds(backend: str) -> None:
    """Pudong defaults each licensee at its tape PD: a CDR stress and a speed must replace
    them, or every level gives the base's defaults."""
    deal = ae.load_deal(PUDONG)
    base = ae.load_scenario(SCENARIOS / "pudong_base.yaml")
    assert base.receivables.use_tape_pd
    scs = [stressed(base, "cdr", 0.0, "zero"), stressed(base, "cdr", 0.5, "half"),
           Speed("s", cdr=0.5).scenario(base)]
    res = ae.run(deal, scs, backend=backend)  # type: ignore[arg-type]
    d = res.pool.groupby("scenario", sort=False)["default_amount"].sum()
    assert d["zero"] == 0.0 and d["half"] > 0.0 and d["s"] == pytest.approx(d["half"])
    # the scenario's CDR as the tables show it: the constant CDR with the same defaults, not 0
    eq = equivalent_cdr(deal, base)
    assert eq > 0.0
    assert lifetime_defaults(deal, [at_cdr(base, eq)])[0] == pytest.approx(lifetime_defaults(deal, [base])[0], rel=1e-6)


# --------------------------------------------------------------------------- 4. curves by age


def test_scenario_cdr_of_a_curve_by_loan_age_is_its_equivalent(sz: ae.Deal, sz_base: ae.Scenario) -> None:
    """A default curve by loan age: the "scenario CDR" is the constant CDR with the same
    lifetime defaults on this pool, not the curve's mean over 60 months of age."""
    sc = sz_base.model_copy(update={"name": "sda", "defaults": sz_base.defaults.model_copy(
        update={"cdr": DefaultCurve(sda=800)})})
    eq = equivalent_cdr(sz, sc)
    target = lifetime_defaults(sz, [sc])[0]
    assert lifetime_defaults(sz, [at_cdr(sc, eq)])[0] == pytest.approx(target, rel=1e-6)
    view = investor_view(ae.run(sz, [sc]))
    assert view.breakeven["scenario_cdr"].iloc[0] == pytest.approx(eq)
    assert view.breakeven["scenario_cdr_equivalent"].all()
    assert view.speeds.set_index("speed").loc["sda", "cdr"] == pytest.approx(eq)


# --------------------------------------------------------------------------- 3. reimbursement


@pytest.mark.parametrize("path,scenario,removed", [
    (SZ, "base.yaml", ["guarantee"]),
    (DEALS / "wenke_lease_2019_1.yaml", "wenke_2019_1_stress.yaml", []),
])
def test_undertaking_is_repaid_before_the_subordinate(path: object, scenario: str, removed: list[str],
                                                      backend: str) -> None:
    """差额支付承诺 backs the senior: while the undertaker is owed anything, the subordinate
    receives nothing (SZ without the guarantee at 100% CDR; Wenke's stress)."""
    deal = ae.load_deal(path)  # type: ignore[arg-type]
    sc = ae.load_scenario(SCENARIOS / scenario)
    if removed:
        sc = without(deal, stressed(sc, "cdr", 1.0), removed, "x")
    res = ae.run(deal, [sc], backend=backend)  # type: ignore[arg-type]
    sup = res.support.groupby("period")[["paid", "reimbursed", "owed"]].sum()
    assert sup["paid"].sum() > 1e6  # the undertaking is called
    t = res.tranches
    sub = t[t["tranche"] == "SUB"].set_index("period")
    to_sub = sub["principal_paid"] + sub["interest_paid"] + sub["residual_paid"]
    for p, cash in to_sub.items():
        if cash > 0.005:
            assert sup.loc[p, "owed"] <= 0.005, (p, cash, sup.loc[p, "owed"])
    assert np.isclose(sup["reimbursed"].sum() + sup["owed"].iloc[-1], sup["paid"].sum(), atol=0.01)


def test_term_sheet_says_whether_the_undertaking_is_repaid(sz: ae.Deal) -> None:
    from abs_engine.report.support_sheet import provider_rows

    terms = {r[0]: r[3] for r in provider_rows(sz, "en")}
    assert "repaid out of the remaining funds: after A principal, ahead of SUB" in terms["undertaking"]
    bio = ae.load_deal(DEALS / "biopharma_royalty_2000.yaml")
    assert "never repaid" in {r[0]: r[3] for r in provider_rows(bio, "en")}["insurer"]


# --------------------------------------------------------------------------- 10. dependence


def test_dependence_is_loss_avoided_and_present_value(sz: ae.Deal, sz_base: ae.Scenario) -> None:
    """SZ base, the senior without the guarantee: repaid later, it earns more interest, so
    its undiscounted cash "from" the guarantee is negative (−27,481). Nothing is lost and, at
    the senior's own yield, the later cash is worth the same: the dependence is ~0."""
    view = investor_view(ae.run(sz, [sz_base]))
    sh = view.support_share.set_index(["scenario", "tranche", "case"])
    row = sh.loc[("base", "A", "without:guarantee")]
    assert row["cash_from_removed"] < -1000.0  # the timing effect the old measure reported
    assert row["loss_avoided"] == 0.0
    assert abs(row["pv_from_removed"]) < 0.0001 * row["pv_as_written"]
    # independently: the senior's PV as written at its IRR is its balance; without, by hand
    a, t = (view.dependence.set_index(["scenario", "case", "tranche"]).loc[("base", c, "A")]
            for c in ("as_written", "without:guarantee"))
    assert row["pv_as_written"] == pytest.approx(195_700_000.0, rel=1e-9)
    res = ae.run(sz, [without(sz, sz_base, ["guarantee"])])
    tr = res.tranches[res.tranches["tranche"] == "A"]
    years = np.array([(d.date() - sz.deal.closing_date).days / 365.0 for d in pd.to_datetime(tr["payment_date"])])
    cash = (tr["interest_paid"] + tr["principal_paid"] + tr["residual_paid"]).to_numpy()
    assert row["pv_without"] == pytest.approx(float((cash * (1 + a["discount_rate"]) ** -years).sum()), rel=1e-9)
    assert t["loss"] == 0.0


# --------------------------------------------------------------------------- 5, 6. a run from a status


@pytest.fixture(scope="module")
def seasoned(sz: ae.Deal) -> ae.Result:
    from abs_engine.io.status_file import load_status

    st = load_status(DEALS / "seasoned" / "sz_pledge_2026_1_2027-01-26.yaml", sz)
    return ae.run(sz, [ae.load_scenario(SCENARIOS / "base.yaml")], status=st)


def test_events_of_a_status_run_start_from_the_status(seasoned: ae.Result) -> None:
    """The status says: accelerated, cumulative_defaults fired (period 2). The run must not
    report them as happening again in period 3."""
    from abs_engine.studies.investor import event_timeline

    assert seasoned.status is not None and seasoned.status.deal_state == "accelerated"
    ev = event_timeline(seasoned)
    assert not ((ev["event"] == "state_change") & (ev["subject"] == "accelerated")).any()
    assert not ((ev["event"] == "trigger_fired") & (ev["subject"] == "cumulative_defaults")).any()


def test_pool_stress_of_a_status_run_is_cumulative_since_cut_off(sz: ae.Deal, seasoned: ae.Result) -> None:
    """From closing the same path (the status's scenario) has 23.0M of defaults; from the
    status the projection alone has 1.1M: the table must add the status's 21.9M."""
    from abs_engine.studies.investor import _pool_stress

    st = seasoned.status
    assert st is not None
    ps = _pool_stress(seasoned).iloc[0]
    projected = float(seasoned.pool["default_amount"].sum())
    assert ps["cumulative_defaults"] == pytest.approx(st.cumulative.defaults + projected, abs=0.01)
    assert ps["cumulative_default_rate"] == pytest.approx(ps["cumulative_defaults"] / 206_000_000.0)
    assert ps["support_paid_to_pool"] == pytest.approx(sum(h.support_paid for h in st.history)
                                                       + float(seasoned.pool["support_paid"].sum()), abs=0.01)
    assert ps["cumulative_defaults"] > 0.10 * 206_000_000.0


# --------------------------------------------------------------------------- 16. breaches


def test_subordinate_cash_after_expected_maturity_is_no_breach(sz: ae.Deal, sz_base: ae.Scenario) -> None:
    from abs_engine.studies.investor import event_timeline

    ev = event_timeline(ae.run(sz, [sz_base]))
    late = ev[ev["event"] == "paid_after_expected_maturity"]
    assert "SUB" not in set(late["subject"])
    # a rated class repaid late is flagged with the principal it repays late
    slow = sz_base.model_copy(update={"name": "slow", "prepayment": sz_base.prepayment.model_copy(update={"cpr": 0.0}),
                                      "recovery": sz_base.recovery.model_copy(update={"lag_months": 24})})
    res = ae.run(sz, [without(sz, at_cdr(slow, 0.6), ["guarantee", "undertaking"])])
    ev = event_timeline(res)
    late = ev[(ev["event"] == "paid_after_expected_maturity")]
    tr = res.tranches
    t_em = res.schedule.period_of(sz.deal.expected_maturity) + 1  # the period of the expected maturity
    a_late = tr[(tr["tranche"] == "A") & (tr["period"] > t_em) & (tr["principal_paid"] > 0.01)]
    assert len(late) == len(a_late) > 0 and late["flag"].all()
    assert late["amount"].sum() == pytest.approx(a_late["principal_paid"].sum())


def _cells(ws: object) -> list[object]:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]  # type: ignore[attr-defined]


def test_term_sheet_of_a_status_run_shows_where_the_notes_stand(seasoned: ae.Result) -> None:
    """Summary: the status date, current balances, factors and the current credit
    enhancement (SUB 10.3M / (A 140.09M + SUB 10.3M) = 6.85%); Collateral: as of the status
    date, not a cut-off date."""
    from abs_engine.report import term_sheet_workbooks

    wb = term_sheet_workbooks(seasoned)["senior"]
    summary = wb.worksheets[0]
    labels = [str(v) for v in _cells(summary) if isinstance(v, str)]
    assert any(v.startswith("基准日信用增级 / Current credit enhancement — 2027-01-26") for v in labels)
    row = next(r for r in summary.iter_rows() if str(r[0].value).startswith("基准日信用增级"))
    st = seasoned.status
    assert st is not None
    ce = st.tranches["SUB"].balance / (st.tranches["A"].balance + st.tranches["SUB"].balance)
    assert row[1].value == pytest.approx(ce) and round(ce, 4) == 0.0685
    coll = next(ws for ws in wb.worksheets if "Collateral" in ws.title or "资产池" in ws.title)
    texts = [str(v) for v in _cells(coll) if isinstance(v, str)]
    assert any(t.startswith("基准日 / As of (status date): 2027-01-26") for t in texts)
    assert not any(t.startswith("封包日 / Cut-off date") for t in texts)


# --------------------------------------------------------------------------- 7. the ChinaBond yield


def test_summary_states_the_yield_convention_beside_the_yield(sz: ae.Deal, sz_base: ae.Scenario) -> None:
    from abs_engine.report import term_sheet_workbooks
    from abs_engine.report.labels import label

    res = ae.run(sz, [sz_base])
    wb = term_sheet_workbooks(res, analytics=res.analytics())["senior"]
    texts = [str(v) for v in _cells(wb.worksheets[0]) if isinstance(v, str)]
    assert label("yield_note_chinabond", "both") in texts
    assert "当前付息周期的实际天数" in label("yield_note_chinabond", "zh")


# --------------------------------------------------------------------------- 8. receivable pools' words


@pytest.mark.parametrize("name,obligor,balance", [("pudong_licence_2020", "被许可人", "剩余应收款"),
                                                  ("zgc_ip_lease_2022_1", "承租人", "租赁本金"),
                                                  ("wenke_lease_2019_1", "承租人", "租赁本金")])
def test_receivable_pools_are_not_labelled_as_loans(name: str, obligor: str, balance: str, sz_base: ae.Scenario) -> None:
    """A licence or transfer pool's obligors are licensees (被许可人) or debtors (债务人) and
    what they owe is remaining receivables (剩余应收款); a lease pool's (the two lease deals,
    issue #17) are lessees (承租人) owing lease principal (租赁本金): the collateral sheet
    speaks of no borrower (借款人) and no loan (贷款)."""
    from abs_engine.report import term_sheet_workbooks

    res = ae.run(ae.load_deal(DEALS / f"{name}.yaml"), [sz_base])
    wb = term_sheet_workbooks(res)["senior"]
    coll = next(ws for ws in wb.worksheets if "Collateral" in ws.title or "资产池" in ws.title)
    texts = [str(v) for v in _cells(coll) if isinstance(v, str)]
    assert not [t for t in texts if "借款人" in t or "贷款" in t]
    assert any(t.startswith(obligor) for t in texts) and any(balance in t for t in texts)
