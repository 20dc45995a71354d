"""Licence-fee and transfer receivable pools: hand-computed cases and properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import deal
from conftest import DEALS, SCENARIOS
from hypothesis import given
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.engine import project
from abs_engine.model.scenario import PatentEvent, Scenario
from abs_engine.waterfall.program import KernelArgs

FEE = 100_000.0


def licence_deal(licences, patents, links, **kw):
    """A monthly deal whose only pool is a licence pool (fees quarterly from 2026-03-15)."""
    d = deal(**kw)
    pool = {"name": "lic", "kind": "licence", "licences": licences, "patents": patents, "links": links}
    total = 1_000_000.0
    data = d.model_dump(by_alias=True)
    data["pools"] = [pool]
    data["tranches"] = [{"name": "A", "rank": 1, "balance": total * 0.9, "coupon": {"kind": "fixed", "rate": 0.03}},
                        {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": total * 0.1}]
    data["waterfalls"] = {"normal": [
        {"action": "pay_interest", "from": "collection", "to": ["A"]},
        {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
        {"action": "pay_residual", "from": "collection", "to": "SUB"}]}
    return ae.Deal.model_validate(data)


def lic(i, fee=FEE, **kw):
    base = {"licence_id": f"LIC{i}", "licensee": f"SME{i}", "fee": fee, "fee_frequency": "quarterly",
            "first_fee_date": dt.date(2026, 3, 15), "last_fee_date": dt.date(2027, 12, 15)}
    base.update(kw)
    return base


def pat(pid, **kw):
    return {"patent_id": pid, "type": "invention", "expiry_date": dt.date(2035, 1, 1), **kw}


def two_licences():
    """LIC1 rests 60/40 on P1/P2; LIC2 rests wholly on P3."""
    return licence_deal(
        [lic(1), lic(2, fee=50_000.0)],
        [pat("P1"), pat("P2"), pat("P3")],
        [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.6}, {"licence_id": "LIC1", "patent_id": "P2", "share": 0.4},
         {"licence_id": "LIC2", "patent_id": "P3", "share": 1.0}],
    )


def flows(d, scenarios):
    _, pools = project(d, scenarios)
    return pools[0].series


def test_schedule_and_balance():
    s = flows(two_licences(), [Scenario(name="zero")])
    # 8 quarterly fees of 150,000 in total, in the months of Mar, Jun, Sep, Dec (periods 2, 5, 8, ...)
    assert s["scheduled_principal"][0].sum() == pytest.approx(8 * 150_000)
    assert s["balance_start"][0][0] == pytest.approx(8 * 150_000)
    np.testing.assert_allclose(s["fees_due"], s["scheduled_principal"])


def test_invalidation_cuts_only_the_share_on_that_patent():
    d = two_licences()
    base = flows(d, [Scenario(name="zero")])
    inv = flows(d, [Scenario(name="inv", patents={"events": [{"patent": "P1", "date": dt.date(2026, 6, 1)}]})])
    # from the June 2026 fee on, LIC1 loses 60% of its fee; LIC2 is untouched
    lost = base["scheduled_principal"][0] - inv["scheduled_principal"][0]
    expected = np.where(np.arange(lost.size) >= 4, 0.6 * FEE, 0.0) * (base["fees_due"][0] > 0)
    np.testing.assert_allclose(lost, expected, atol=1e-6)
    np.testing.assert_allclose(inv["fees_lost_invalidation"][0], expected, atol=1e-6)
    # the balance drops by the remaining fees on P1 when the event happens (7 fees left)
    assert inv["patent_writedown"][0].sum() == pytest.approx(0.6 * FEE * 7)


def test_obsolescence_renegotiates_the_fee_down():
    d = two_licences()
    sc = Scenario(name="obs", patents={"events": [{"patent": "P3", "date": dt.date(2026, 1, 1), "kind": "obsolescence"}],
                                       "renegotiation_haircut": 0.3})
    s = flows(d, [sc])
    assert s["scheduled_principal"][0].sum() == pytest.approx(8 * (FEE + 0.7 * 50_000))


def test_named_default_stops_exactly_that_licensee():
    d = two_licences()
    sc = Scenario(name="d", defaults={"loans": {"LIC2": dt.date(2026, 5, 1)}},
                  receivables={"recovery_rate": 0.25, "recovery_lag_months": 3})
    s = flows(d, [sc])
    # LIC2 paid its March fee, then defaults in May with 7 fees (350,000) outstanding
    assert s["scheduled_principal"][0].sum() == pytest.approx(8 * FEE + 50_000)
    assert s["default_amount"][0].sum() == pytest.approx(7 * 50_000)
    assert s["recovery"][0].sum() == pytest.approx(0.25 * 7 * 50_000)
    assert s["loss"][0].sum() == pytest.approx(0.75 * 7 * 50_000)


def test_hazards_and_roll_forward():
    d = two_licences()
    sc = Scenario(name="h", defaults={"cdr": 0.2}, patents={"invalidation_hazard": {"invention": 0.1}},
                  receivables={"termination_rate": 0.05, "recovery_rate": 0.3, "recovery_lag_months": 2})
    s = flows(d, [sc])
    np.testing.assert_allclose(
        s["balance_start"] - s["scheduled_principal"] - s["default_amount"] - s["patent_writedown"], s["balance_end"], atol=1e-6)
    np.testing.assert_allclose(
        s["fees_due"], s["scheduled_principal"] + s["fees_lost_default"] + s["fees_lost_invalidation"], atol=1e-6)
    total_loss = s["default_amount"].sum() + s["patent_writedown"].sum() - s["recovery"].sum()
    assert s["loss"].sum() == pytest.approx(total_loss)


def test_patent_expiry_ends_its_share_when_allowed():
    licences = [lic(1)]
    patents = [pat("P1", expiry_date=dt.date(2026, 12, 31)), pat("P2")]
    links = [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.5}, {"licence_id": "LIC1", "patent_id": "P2", "share": 0.5}]
    with pytest.raises(ae.InputError, match="expires on 2026-12-31"):
        ae.run(licence_deal(licences, patents, links))
    d = licence_deal(licences, patents, links)
    data = d.model_dump(by_alias=True)
    data["pools"][0]["allow_fees_after_expiry"] = True
    s = flows(ae.Deal.model_validate(data), [Scenario(name="zero")])
    assert s["scheduled_principal"][0].sum() == pytest.approx(4 * FEE + 4 * 0.5 * FEE)


def test_join_problems_listed_together():
    d = licence_deal(
        [lic(1), lic(2)], [pat("P1")],
        [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.7}, {"licence_id": "LIC9", "patent_id": "P8", "share": 1.0}])
    with pytest.raises(ae.InputError) as exc:
        ae.run(d)
    text = str(exc.value)
    assert "unknown licence 'LIC9'" in text and "unknown patent 'P8'" in text
    assert "licence 'LIC1': patent shares sum to 0.7, not 1" in text
    assert "licence 'LIC2': rests on no patent" in text


def test_transfer_pool():
    d = deal()
    data = d.model_dump(by_alias=True)
    data["pools"] = [{"name": "tr", "kind": "transfer", "assets": [
        {"receivable_id": "T1", "buyer": "Buyer Co", "instalment": 250_000.0, "frequency": "semiannual",
         "first_date": dt.date(2026, 6, 30), "last_date": dt.date(2027, 12, 31)}]}]
    data["tranches"] = [{"name": "A", "rank": 1, "balance": 1_000_000.0, "coupon": {"kind": "fixed", "rate": 0.02}}]
    data["waterfalls"] = {"normal": [{"action": "pay_interest", "from": "collection", "to": ["A"]},
                                     {"action": "pay_principal", "from": "collection", "to": ["A"]}]}
    d = ae.Deal.model_validate(data)
    s = flows(d, [Scenario(name="zero", patents={"invalidation_hazard": 0.5})])  # no patents behind transfers
    assert s["scheduled_principal"][0].sum() == pytest.approx(1_000_000)
    sc = Scenario(name="d", defaults={"loans": {"T1": dt.date(2027, 1, 15)}}, receivables={"recovery_rate": 0.5, "recovery_lag_months": 0})
    s = flows(d, [sc])
    assert s["default_amount"][0].sum() == pytest.approx(500_000) and s["recovery"][0].sum() == pytest.approx(250_000)


@given(st.floats(0, 0.3), st.floats(0, 0.3), st.sampled_from(["P1", "P2", "P3"]), st.integers(1, 20))
def test_invalidating_a_patent_never_increases_collections(cdr, hazard, pid, month):
    d = two_licences()
    base = Scenario(name="b", defaults={"cdr": cdr}, patents={"invalidation_hazard": hazard})
    when = dt.date(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    inv = base.model_copy(update={"name": "i", "patents": base.patents.model_copy(
        update={"events": [PatentEvent(patent=pid, date=when)]})})
    s = flows(d, [base, inv])
    assert np.all(s["scheduled_principal"][1] <= s["scheduled_principal"][0] + 1e-9)


def test_pudong_example_runs_on_both_backends():
    d = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    assert len(d.pools[0].licences) == 11 and len(d.pools[0].patents) == 60
    assert len({x.licensee for x in d.pools[0].licences}) == 9
    scs = [Scenario(name="base"), ae.load_scenario(SCENARIOS / "pudong_two_invalidations.yaml")]
    ref = ae.run(d, scs, backend="reference")
    cy = ae.run(d, scs, backend="cython")
    for name in KernelArgs.OUTPUTS:
        np.testing.assert_allclose(getattr(cy.args, name), getattr(ref.args, name), atol=1e-9)
    cy.check_conservation()
    s = cy.summary().set_index(["scenario", "tranche"])
    assert s.loc[("base", "A"), "principal"] == pytest.approx(36_100_000)
    # the invalidations cost the subordinate, not the senior
    assert s.loc[("two_invalidations", "SUB"), "writedown"] > 0
    assert s.loc[("two_invalidations", "A"), "writedown"] == pytest.approx(0)


@given(st.floats(0, 0.4), st.floats(0, 0.4), st.floats(0, 0.2), st.floats(0, 0.9),
       st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.integers(1, 20), st.sampled_from(["invalidation", "obsolescence"])),
                max_size=3),
       st.booleans())
def test_the_shared_survival_row_equals_the_per_licence_projection(cdr, term, hazard, haircut, events, by_type):
    """When every licensee has the same default rate the projection sums per patent type
    once and applies one survival row; it must equal the per-licence computation (forced
    here by giving every licensee the same PD on the tape)."""
    d = licence_deal(
        [lic(1, pd=cdr), lic(2, fee=50_000.0, pd=cdr), lic(3, fee=20_000.0, pd=cdr, last_fee_date=dt.date(2028, 6, 15))],
        [pat("P1"), pat("P2", type="utility_model"), pat("P3", type="design")],
        [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.6}, {"licence_id": "LIC1", "patent_id": "P2", "share": 0.4},
         {"licence_id": "LIC2", "patent_id": "P3", "share": 1.0},
         {"licence_id": "LIC3", "patent_id": "P2", "share": 0.5}, {"licence_id": "LIC3", "patent_id": "P3", "share": 0.5}],
    )
    hz = {"invention": hazard, "utility_model": hazard / 2} if by_type else hazard
    evs = [PatentEvent(patent=p, date=dt.date(2026 + (m - 1) // 12, (m - 1) % 12 + 1, 1), kind=k) for p, m, k in events]
    common = {"patents": {"invalidation_hazard": hz, "events": evs, "renegotiation_haircut": haircut},
              "receivables": {"termination_rate": term, "recovery_rate": 0.3, "recovery_lag_months": 2}}
    row = Scenario(name="row", defaults={"cdr": cdr}, **common)
    per = Scenario(name="per", **{**common, "receivables": {**common["receivables"], "use_tape_pd": True}})
    s = flows(d, [row, per])
    for k, v in s.items():
        np.testing.assert_allclose(v[0], v[1], rtol=1e-12, atol=1e-6, err_msg=k)


def test_monte_carlo_hooks_equal_named_events():
    """The arrays a Monte Carlo passes (default month per licence, invalidation month per
    patent) do exactly what the same events named in a scenario do."""
    from abs_engine.engine import projection_grid
    from abs_engine.pools.licence import licence_arrays
    from abs_engine.pools.receivables import project_receivable_pool

    d = two_licences()
    pool = d.pools[0]
    named = Scenario(name="n", defaults={"cdr": 0.05, "loans": {"LIC2": dt.date(2026, 9, 20)}},
                     patents={"events": [PatentEvent(patent="P2", date=dt.date(2027, 2, 1))]})
    plain = Scenario(name="p", defaults={"cdr": 0.05})
    months, sched = projection_grid(d, [named])
    arr = licence_arrays(pool, d.deal.cutoff_date, months)
    a = project_receivable_pool(pool, arr, [named], sched.grid)
    gm = lambda x: (x.year - 2026) * 12 + x.month - 1  # noqa: E731 (cut-off 2026-01-31: month m ends in month m+1)
    b = project_receivable_pool(pool, arr, [plain], sched.grid,
                                default_month=np.array([[0, gm(dt.date(2026, 9, 20))]]),
                                invalidation_month=np.array([[0, gm(dt.date(2027, 2, 1)), 0]]))
    for k, v in a.series().items():
        np.testing.assert_allclose(v, b.series()[k], rtol=1e-12, atol=1e-9, err_msg=k)
    with pytest.raises(ValueError, match="default_month has shape"):
        project_receivable_pool(pool, arr, [plain], sched.grid, default_month=np.zeros((1, 5)))


def test_mixed_deal_projects_each_pool_and_combines_their_collections(backend):
    """A licence pool and a pledge-loan pool in one deal: each is projected on its own, both
    deposit into the collection account, and the deal's statistics cover both."""
    from builders import loan

    from abs_engine.pools.stats import deal_pool_stats

    lic_only = two_licences()
    pledge = deal([loan(1, balance=600_000.0)])
    data = lic_only.model_dump(by_alias=True)
    data["deal"]["asset_type"] = "mixed"
    data["pools"] = [data["pools"][0], {**pledge.model_dump(by_alias=True)["pools"][0], "name": "loans"}]
    total = 8 * 150_000 + 600_000
    data["tranches"] = [{"name": "A", "rank": 1, "balance": 0.8 * total, "coupon": {"kind": "fixed", "rate": 0.03}},
                        {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 0.2 * total}]
    mixed = ae.Deal.model_validate(data)
    sc = Scenario(name="s", defaults={"cdr": 0.05}, recovery={"rate": 0.3, "lag_months": 3})
    r = ae.run(mixed, sc, backend=backend)
    r.check_conservation()
    by_pool = r.pool.groupby("pool")[["scheduled_principal", "interest_collected", "default_amount", "recovery"]].sum()
    assert set(by_pool.index) == {"lic", "loans"}
    alone_lic = ae.run(lic_only, sc, backend=backend).pool[["scheduled_principal", "default_amount", "recovery"]].sum()
    alone_loan = ae.run(pledge, sc, backend=backend).pool[["scheduled_principal", "interest_collected", "recovery"]].sum()
    np.testing.assert_allclose(by_pool.loc["lic", ["scheduled_principal", "default_amount", "recovery"]], alone_lic, rtol=1e-12)
    np.testing.assert_allclose(by_pool.loc["loans", ["scheduled_principal", "interest_collected", "recovery"]], alone_loan, rtol=1e-12)
    deposits = r.accounts.groupby("account")["deposits"].sum()["collection"]
    p = r.pool
    assert deposits == pytest.approx((p["scheduled_principal"] + p["prepayment"] + p["recovery"] + p["interest_collected"]).sum())
    st = deal_pool_stats(mixed)
    assert st.kinds == ("licence", "pledge_loan") and st.n_assets == 3
    assert st.total_balance == pytest.approx(total)


def test_a_patent_with_its_annual_fee_unpaid_at_cut_off_lapses_after_the_grace_period(backend):
    """annual_fee_status unpaid (年费未缴) and no annual_fee_upkeep layer: P1 lapses from grid
    month 1 + 6 = 7 (2026-07-31), so LIC1 loses P1's 60% of every fee from September 2026
    on: 6 quarterly fees x 60,000 = 360,000 of the 8 x 150,000 scheduled."""
    d = licence_deal(
        [lic(1), lic(2, fee=50_000.0)],
        [pat("P1", annual_fee_status="unpaid"), pat("P2"), pat("P3")],
        [{"licence_id": "LIC1", "patent_id": "P1", "share": 0.6}, {"licence_id": "LIC1", "patent_id": "P2", "share": 0.4},
         {"licence_id": "LIC2", "patent_id": "P3", "share": 1.0}],
    )
    base = flows(two_licences(), [Scenario(name="zero")])
    s = flows(d, [Scenario(name="zero")])
    assert s["balance_start"][0][0] == pytest.approx(8 * 150_000 - 6 * 0.6 * FEE)  # 840,000
    assert s["scheduled_principal"][0].sum() == pytest.approx(840_000.0)
    lost = base["scheduled_principal"][0] - s["scheduled_principal"][0]
    # the June 2026 fee (grid month 5) is still paid, September (month 8) is not
    assert lost[:7].sum() == pytest.approx(0.0, abs=1e-9)
    assert lost.sum() == pytest.approx(360_000.0)
    assert s["fees_lost_invalidation"][0].sum() == pytest.approx(360_000.0)
    r = ae.run(d, backend=backend)
    r.check_conservation()
    assert r.accounts.groupby("account")["deposits"].sum()["collection"] == pytest.approx(840_000.0)
    # with an upkeep layer paying the annual fees the patent stays in force
    data = d.model_dump(by_alias=True)
    data["pools"][0]["support"] = [{"kind": "annual_fee_upkeep", "cost_per_year": 0.0}]
    kept = flows(ae.Deal.model_validate(data), [Scenario(name="zero")])
    assert kept["scheduled_principal"][0].sum() == pytest.approx(8 * 150_000)
