"""Risk-sharing layers wired into the pools: what a pool's ``support`` stack does to its
collections, its loss and the waterfall, hand-computed, on both backends."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import deal, loan
from conftest import DEALS, SCENARIOS
from hypothesis import given
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine.model.scenario import Scenario

D0 = dt.date(2026, 2, 20)  # in grid month 1 (2026-01-31, 2026-02-28]


def pledge_deal(support, loans=None, **kw):
    loans = loans or [loan(1, amortization="bullet", collateral_value=0.0)]
    d = deal(loans, **kw)
    data = d.model_dump(by_alias=True)
    data["pools"][0]["support"] = support
    return ae.Deal.model_validate(data)


def named_default(*ids, rate=0.4, lag=6, **kw):
    return Scenario(name=kw.pop("name", "d"), defaults={"loans": dict.fromkeys(ids, D0)},
                    recovery={"rate": rate, "lag_months": lag}, **kw)


INSURANCE = [{"kind": "sharing", "name": "ins", "parties": [{"name": "insurer", "kind": "insurance", "timing": "on_default"}],
              "regimes": [{"insurer": 0.9}]}]


def pool_totals(r, scenario=None):
    p = r.pool if scenario is None else r.pool[r.pool.scenario == scenario]
    return p[["default_amount", "recovery", "support_paid", "loss", "loss_before_support", "subsidy", "upkeep_cost",
              "scheduled_principal", "interest_collected"]].sum()


def test_guarantee_insurance_pays_90_percent_at_default_and_keeps_its_share_of_proceeds(backend):
    """Insurer 90% / bank 10% (保证保险, case 9): D = 1,000,000, R = 0.4 D after 6 months."""
    r = ae.run(pledge_deal(INSURANCE), named_default("L001"), backend=backend)
    r.check_conservation()
    D, rho, a = 1_000_000.0, 0.4, 0.9
    tot = pool_totals(r)
    assert tot["default_amount"] == pytest.approx(D)
    assert tot["support_paid"] == pytest.approx(a * D)  # paid at default
    assert tot["recovery"] == pytest.approx((1 - a) * rho * D)  # the pool keeps the bank's share of proceeds
    assert tot["loss"] == pytest.approx((1 - a) * (1 - rho) * D)
    assert tot["loss_before_support"] == pytest.approx((1 - rho) * D)
    # the insurer's payment lands in the period of the default month (period 1, paid 2026-03-10)
    pool = r.pool.set_index("period")
    assert pool.loc[1, "support_paid"] == pytest.approx(a * D)
    led = r.layers.set_index("period")
    assert led["paid"].sum() == pytest.approx(a * D)
    assert led["recoveries_kept"].sum() == pytest.approx(a * rho * D)
    assert led["net_cost"].sum() == pytest.approx(a * (1 - rho) * D)
    assert set(r.layers["kind"]) == {"insurance"}
    # the notes see it: A (900,000) is repaid in full, and the notes receive exactly the
    # insurer's payment and the proceeds the pool kept
    s = r.summary().set_index("tranche")
    assert s.loc["A", "writedown"] == 0
    assert s.loc["A", "principal"] == pytest.approx(900_000)
    assert s[["interest", "principal", "residual"]].to_numpy().sum() == pytest.approx(a * D + (1 - a) * rho * D)


def test_fund_30_insurer_60_bank_10_then_9_to_1_once_the_4m_fund_is_used_up(backend):
    """Case 9: a 4M元 fund bears 30% of each loss after disposal, the insurer 60% at default;
    once the fund is exhausted insurer and bank share 9:1. Three 5M defaults in month 1 with
    20% recoveries: the fund pays 0.3 x 0.8 x 5M = 1.2M on each of the first three claims
    (3.6M), the fourth is split where the remaining 0.4M runs out."""
    loans = [loan(i, amortization="bullet", balance=5_000_000.0, collateral_value=0.0) for i in range(1, 5)]
    stack = [{"kind": "sharing", "name": "scheme", "parties": [
        {"name": "fund", "kind": "compensation_fund", "capacity": 4_000_000, "timing": "after_disposal"},
        {"name": "insurer", "kind": "insurance", "timing": "on_default"}],
        "regimes": [{"fund": 0.30, "insurer": 0.60}, {"insurer": 0.90}]}]
    r = ae.run(pledge_deal(stack, loans), named_default("L001", "L002", "L003", "L004", rate=0.2, lag=3), backend=backend)
    r.check_conservation()
    D, rho = 5_000_000.0, 0.2
    x1 = 400_000 / (0.3 * (1 - rho))  # the part of the fourth claim the fund's last 0.4M covers
    x2 = D - x1
    led = r.layers.groupby("party")[["paid", "recoveries_kept", "net_cost"]].sum()
    assert led.loc["fund", "paid"] == pytest.approx(4_000_000)
    insurer_paid = 0.6 * (3 * D + x1) + 0.9 * x2
    assert led.loc["insurer", "paid"] == pytest.approx(insurer_paid)
    assert led.loc["insurer", "recoveries_kept"] == pytest.approx(insurer_paid * rho)
    bank_loss = 0.1 * (1 - rho) * 4 * D  # the bank keeps 10% of the loss in both regimes
    assert pool_totals(r)["loss"] == pytest.approx(bank_loss)
    cap = r.layers[r.layers.party == "fund"].set_index("period")["capacity_remaining"]
    assert cap.iloc[-1] == pytest.approx(0.0, abs=1e-6)


def test_guarantee_with_reguarantee_and_failure(backend):
    """A guarantor pays 100% of each default at once (代偿) and is subrogated; a
    re-guarantor refunds 80% of what it pays. If the guarantor fails before the default,
    nothing is paid and the pool bears the loss."""
    stack = [{"kind": "guarantee", "name": "guarantor", "share": 1.0,
              "reguarantee": {"name": "municipal", "share": 0.8}}]
    ok = named_default("L001", name="ok")
    failed = named_default("L001", name="failed", support_failures={"guarantor": dt.date(2026, 2, 1)})
    r = ae.run(pledge_deal(stack), [ok, failed], backend=backend)
    r.check_conservation()
    D, rho = 1_000_000.0, 0.4
    led = r.layers[r.layers.scenario == "ok"].groupby("party")[["paid", "refunded", "recoveries_kept", "net_cost"]].sum()
    assert led.loc["guarantor", "paid"] == pytest.approx(D)
    assert led.loc["guarantor", "refunded"] == pytest.approx(0.8 * D)
    assert led.loc["municipal", "paid"] == pytest.approx(0.8 * D)
    assert led.loc["guarantor", "net_cost"] == pytest.approx(0.2 * (1 - rho) * D)
    assert led.loc["municipal", "net_cost"] == pytest.approx(0.8 * (1 - rho) * D)
    assert pool_totals(r, "ok")["loss"] == pytest.approx(0.0, abs=1e-6)
    assert pool_totals(r, "failed")["support_paid"] == 0
    assert pool_totals(r, "failed")["loss"] == pytest.approx((1 - rho) * D)


def test_counter_guarantee_in_the_layer_ledger(backend):
    """反担保: the guarantor recovers 30% of the 600,000 it paid and did not get back from the
    disposal (1,000,000 less 400,000) from the borrower, 2 months after the disposal:
    180,000, of which the re-guarantor receives 80% (144,000). Not the trust's cash."""
    stack = [{"kind": "guarantee", "name": "guarantor", "share": 1.0,
              "counter_guarantee": {"recovery_rate": 0.3, "lag_months": 2},
              "reguarantee": {"name": "municipal", "share": 0.8}}]
    r = ae.run(pledge_deal(stack), named_default("L001"), backend=backend)
    plain = ae.run(pledge_deal([{k: v for k, v in stack[0].items() if k != "counter_guarantee"}]), named_default("L001"),
                   backend=backend)
    r.check_conservation()
    led = r.layers.groupby("party")[["paid", "refunded", "recoveries_kept", "counter_recovered", "net_cost"]].sum()
    assert led.loc["guarantor", "counter_recovered"] == pytest.approx(36_000.00, abs=0.005)
    assert led.loc["municipal", "counter_recovered"] == pytest.approx(144_000.00, abs=0.005)
    assert led.loc["guarantor", "net_cost"] == pytest.approx(0.2 * 600_000 - 36_000.00, abs=0.005)
    assert led.loc["municipal", "net_cost"] == pytest.approx(0.8 * 600_000 - 144_000.00, abs=0.005)
    # it lands once, in the period of the month 2 months after the disposal
    row = r.layers[(r.layers.party == "guarantor") & (r.layers.counter_recovered > 0)]
    assert len(row) == 1
    assert list(plain.layers.columns) == list(r.layers.columns)
    assert pool_totals(r).to_dict() == pytest.approx(pool_totals(plain).to_dict())


def test_buy_back_at_75_percent_of_original_amount(backend):
    """CAPP: the buyer takes the defaulted loan 3 months after default at 75% of its
    original amount (1.2M, never more than the defaulted balance) and owns the disposal."""
    stack = [{"kind": "buy_back", "name": "capp", "price": 0.75, "price_basis": "original_amount", "delay_months": 3}]
    loans = [loan(1, amortization="bullet", original_balance=1_200_000.0, collateral_value=0.0)]
    r = ae.run(pledge_deal(stack, loans), named_default("L001", rate=0.3, lag=6), backend=backend)
    r.check_conservation()
    tot = pool_totals(r)
    assert tot["support_paid"] == pytest.approx(0.75 * 1_200_000)
    assert tot["recovery"] == pytest.approx(0.0)  # the buyer owns the proceeds
    assert tot["loss"] == pytest.approx(1_000_000 - 900_000)
    assert r.pool.set_index("period").loc[4, "support_paid"] == pytest.approx(900_000)  # month 4 -> period 4


def test_interest_subsidy_to_the_pool_pays_part_of_the_contractual_interest(backend):
    """贴息: 50% of the interest paid, at most 500k per borrower per calendar year. Paid to the
    pool (`to: pool`), it pays part of the contractual interest on the borrower's behalf: the
    pool collects the contractual interest, no more (the borrower pays the rest)."""
    loans = [loan(1, amortization="bullet", balance=1_000_000.0, rate=0.06),
             loan(2, amortization="bullet", balance=300_000_000.0, rate=0.06)]
    stack = [{"kind": "interest_subsidy", "name": "tiexi", "share": 0.5, "per_borrower_annual_cap": 500_000, "to": "pool"}]
    tranches = [{"name": "A", "rank": 1, "balance": 270_000_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 31_000_000.0}]
    plain = ae.run(deal(loans, tranches), backend=backend)
    r = ae.run(pledge_deal(stack, loans, tranches=tranches), backend=backend)
    r.check_conservation()
    interest = pool_totals(plain)["interest_collected"]
    # loan 1: 60,000 a year of interest, half subsidised; loan 2: 18M a year, capped at 500k
    # per calendar year (2026: Feb-Dec, 2027: Jan); interest is 0.5% a month of the balance
    months_2026, months_2027 = 11, 1
    want = 0.5 * 0.005 * 1_000_000 * 12 + min(500_000, 0.5 * 0.005 * 300e6 * months_2026) + min(500_000, 0.5 * 0.005 * 300e6 * months_2027)
    assert pool_totals(r)["subsidy"] == pytest.approx(want)
    # the borrowers pay the rest of the contractual interest
    assert pool_totals(r)["interest_collected"] == pytest.approx(interest - want)
    # the deposits are those without a subsidy: 12 months of interest (0.5% a month of
    # 301M = 18,060,000) and the 301M of principal; the subsidy is part of that interest
    deposits = r.accounts.groupby("account")["deposits"].sum()["collection"]
    assert deposits == pytest.approx(plain.accounts.groupby("account")["deposits"].sum()["collection"])
    assert deposits == pytest.approx(12 * 0.005 * 301e6 + 301e6)
    # and if the paying body fails, the borrowers pay it all: the deposits do not change
    failed = ae.run(pledge_deal(stack, loans, tranches=tranches), Scenario(name="f", support_failures={"tiexi": dt.date(2026, 2, 1)}),
                    backend=backend)
    failed.check_conservation()
    assert pool_totals(failed)["subsidy"] == 0
    assert pool_totals(failed)["interest_collected"] == pytest.approx(interest)
    assert failed.accounts.groupby("account")["deposits"].sum()["collection"] == pytest.approx(deposits)


def test_interest_subsidy_goes_to_the_borrower_by_default(backend):
    """Without `to:` the subsidy lowers the borrower's cost, not the lender's cash: the pool
    collects the contractual interest (5,000.00 a month on 1,000,000 at 6%) and the 50%
    subsidy (2,500.00 a month, 30,000.00 over the 12 months) is reported as paid to the borrower."""
    loans = [loan(1, amortization="bullet", balance=1_000_000.0, rate=0.06)]
    stack = [{"kind": "interest_subsidy", "name": "tiexi", "share": 0.5}]
    plain = ae.run(deal(loans), backend=backend)
    r = ae.run(pledge_deal(stack, loans), backend=backend)
    r.check_conservation()
    assert pool_totals(r)["interest_collected"] == pytest.approx(60_000.00)
    assert pool_totals(r)["subsidy"] == 0
    deposits = r.accounts.groupby("account")["deposits"].sum()["collection"]
    assert deposits == pytest.approx(plain.accounts.groupby("account")["deposits"].sum()["collection"])
    assert deposits == pytest.approx(60_000.00 + 1_000_000.00)
    res = r.pools[0].layer_result
    assert res.subsidy_to_borrowers.sum() == pytest.approx(30_000.00)
    assert res.subsidy_to_pool.sum() == 0


HALF = 1 - 0.5 ** 12  # the CDR of a 50% monthly default rate


def test_buy_back_of_expected_value_defaults_at_75_percent_of_the_loan_amount(backend):
    """CAPP at 75% of the original amount on a 1,000,000 bullet loan defaulting 50% a month
    in expectation: each month's default is the chance that the whole loan (1,000,000 if it
    still performs) defaults, and the buyer pays 75% of that share of the loan amount:
    375,000.00 on 500,000 in month 1, 187,500.00 on 250,000 in month 2 (was 250,000: the
    expected balance, 500,000, made it 100%), 93,750.00 on 125,000: 75% of every default."""
    stack = [{"kind": "buy_back", "name": "capp", "price": 0.75, "price_basis": "original_amount", "delay_months": 0}]
    sc = Scenario(name="cdr", defaults={"cdr": HALF}, recovery={"rate": 0.0, "lag_months": 0})
    r = ae.run(pledge_deal(stack), sc, backend=backend)
    r.check_conservation()
    lr = r.pools[0].layer_result
    assert lr.paid_to_pool[0, 1:4] == pytest.approx([375_000.00, 187_500.00, 93_750.00], abs=0.005)
    assert lr.paid_to_pool.sum() == pytest.approx(0.75 * lr.loan_default.sum(), abs=0.005)


def test_licence_credit_insurance_cap_per_licence_on_expected_value_defaults(backend):
    """信用保险 80%, at most 300,000 per licence, on one licence of eight quarterly fees of
    500,000 (Mar 2026 - Dec 2027, grid months 2 to 23) under a 20% CDR, nothing recovered.
    Each month's default is the chance mdr x S[m-1] that the licensee defaults with all its
    remaining fees (at least 500,000, so 80% of them is more than the cap): the insurer pays
    300,000 x mdr x S[m-1], in all 300,000 x (1 - 0.8^(23/12)) = 104,396.30 (the cap on
    the expected claims let it pay 80% of every expected default, 300,000 in all)."""
    from test_receivables import lic, licence_deal, pat

    base = licence_deal([lic(1, fee=500_000.0)], [pat("P1")], [{"licence_id": "LIC1", "patent_id": "P1", "share": 1.0}])
    data = base.model_dump(by_alias=True)
    data["pools"][0]["support"] = [{"kind": "sharing", "name": "cover", "parties": [
        {"name": "credit_insurer", "kind": "credit_insurance", "timing": "after_disposal", "per_asset_cap": 300_000.0}],
        "regimes": [{"credit_insurer": 0.8}]}]
    sc = Scenario(name="cdr", defaults={"cdr": 0.2}, receivables={"recovery_rate": 0.0, "recovery_lag_months": 0})
    r = ae.run(ae.Deal.model_validate(data), sc, backend=backend)
    r.check_conservation()
    paid = r.layers.groupby("party")["paid"].sum()["credit_insurer"]
    assert paid == pytest.approx(300_000 * (1 - 0.8 ** (23 / 12)), abs=0.005)
    assert paid == pytest.approx(104_396.30, abs=0.005)


def test_interest_subsidy_cap_per_borrower_on_expected_value_interest(backend):
    """贴息 50%, at most 500,000 per borrower and calendar year, on a 240,000,000 bullet loan
    at 6% (1,200,000 of interest a month while it performs) defaulting 50% a month in
    expectation. A performing borrower reaches the 2026 cap in its first month (600,000 of
    subsidy due); it still performs then with chance 0.5, so the district pays 250,000.00
    for 2026 (the cap on the expected interest paid 500,000). In January 2027 (grid month
    12) the cap is 500,000 again, paid with chance 0.5^12: 122.07."""
    loans = [loan(1, amortization="bullet", balance=240_000_000.0, rate=0.06, collateral_value=0.0)]
    stack = [{"kind": "interest_subsidy", "name": "tiexi", "share": 0.5, "per_borrower_annual_cap": 500_000}]
    tranches = [{"name": "A", "rank": 1, "balance": 216_000_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 24_000_000.0}]
    sc = Scenario(name="cdr", defaults={"cdr": HALF}, recovery={"rate": 0.0, "lag_months": 0})
    r = ae.run(pledge_deal(stack, loans, tranches=tranches), sc, backend=backend)
    r.check_conservation()
    lr = r.pools[0].layer_result
    sub = lr.subsidy_to_pool + lr.subsidy_to_borrowers
    assert sub[0, 1:12].sum() == pytest.approx(250_000.00, abs=0.005)
    assert sub[0, 1] == pytest.approx(250_000.00, abs=0.005)
    assert sub[0, 12] == pytest.approx(500_000 * 0.5 ** 12, abs=0.005)


def test_annual_fees_unpaid_let_the_patents_lapse(backend):
    """年费: 4,000 per loan per year in advance (grid months 1, 13, 25); the loan defaults in
    month 14 (2027-03-20) and its disposal completes in month 17. When the scenario stops
    the fees from month 5, month 13's fee is the first unpaid one, the pledged rights
    lapse from month 13 + 3 = 16, and the disposal recovers nothing."""
    stack = [{"kind": "annual_fee_upkeep", "name": "annual_fees", "cost_per_year": 4000, "grace_months": 3}]
    loans = [loan(1, amortization="bullet", maturity_date=dt.date(2028, 1, 15))]
    kept = Scenario(name="kept", defaults={"loans": {"L001": dt.date(2027, 3, 20)}}, recovery={"rate": 0.5, "lag_months": 3})
    stopped = kept.model_copy(update={"name": "stopped", "support_failures": {"annual_fees": dt.date(2026, 6, 1)}})
    d = pledge_deal(stack, loans, header={"expected_maturity": dt.date(2028, 3, 10), "legal_maturity": dt.date(2029, 3, 10)})
    r = ae.run(d, [kept, stopped], backend=backend)
    r.check_conservation()
    k, s = pool_totals(r, "kept"), pool_totals(r, "stopped")
    # fees in grid months 1 and 13 while the loan performs (it defaults in month 14)
    assert k["upkeep_cost"] == pytest.approx(2 * 4000)
    assert s["upkeep_cost"] == pytest.approx(4000)
    assert k["recovery"] == pytest.approx(500_000)
    assert s["recovery"] == 0
    assert s["loss"] == pytest.approx(1_000_000)
    assert s["loss_before_support"] == pytest.approx(1_000_000)
    # the fees come out of the interest collections
    dep = r.accounts.groupby(["scenario", "account"])["deposits"].sum()
    assert dep[("kept", "collection")] - dep[("stopped", "collection")] == pytest.approx(500_000 - 4000)


def test_licence_credit_insurance_pays_on_licensee_default(backend):
    """信用保险 on a licence pool: 80% of a defaulted licence's remaining fees, paid when the
    (nil) recovery completes; terminations are not claims."""
    from test_receivables import two_licences  # the receivable tests' small licence deal

    base = two_licences()
    data = base.model_dump(by_alias=True)
    data["pools"][0]["support"] = [{"kind": "sharing", "name": "cover", "parties": [
        {"name": "credit_insurer", "kind": "credit_insurance", "timing": "after_disposal"}],
        "regimes": [{"credit_insurer": 0.8}]}]
    covered = ae.Deal.model_validate(data)
    lid = base.pools[0].licences[0].licence_id
    sc = Scenario(name="d", defaults={"loans": {lid: dt.date(2026, 8, 15)}}, receivables={"recovery_rate": 0.0, "recovery_lag_months": 2})
    plain_r = ae.run(base, sc, backend=backend)
    r = ae.run(covered, sc, backend=backend)
    r.check_conservation()
    lost = pool_totals(plain_r)["loss"]
    assert lost > 0
    assert pool_totals(r)["support_paid"] == pytest.approx(0.8 * lost)
    assert pool_totals(r)["loss"] == pytest.approx(0.2 * lost)
    assert pool_totals(r)["loss_before_support"] == pytest.approx(lost)


def test_a_guarantee_of_a_licence_pays_its_remaining_fees_at_once(backend):
    """A guarantee of a receivable pays all its remaining fees, undiscounted, `delay_months`
    after the default (docs/risk-sharing.md, "A guarantee of receivables accelerates them"):
    eight quarterly fees of 100,000 from 2026-03-15; the licensee defaults on 2026-08-15 (grid
    month 7) after two fees; the guarantor pays the other six, 600,000.00, in grid month 10
    (November 2026) instead of 100,000 a quarter until December 2027."""
    from test_receivables import lic, licence_deal, pat

    base = licence_deal([lic(1)], [pat("P1")], [{"licence_id": "LIC1", "patent_id": "P1", "share": 1.0}])
    data = base.model_dump(by_alias=True)
    data["pools"][0]["support"] = [{"kind": "guarantee", "name": "guarantor", "share": 1.0, "delay_months": 3}]
    sc = Scenario(name="d", defaults={"loans": {"LIC1": dt.date(2026, 8, 15)}},
                  receivables={"recovery_rate": 0.0, "recovery_lag_months": 0})
    r = ae.run(ae.Deal.model_validate(data), sc, backend=backend)
    r.check_conservation()
    lr = r.pools[0].layer_result
    assert lr.loan_default.sum() == pytest.approx(600_000.00, abs=0.005)
    assert lr.paid_to_pool[0, 10] == pytest.approx(600_000.00, abs=0.005)
    assert lr.paid_to_pool.sum() == pytest.approx(600_000.00, abs=0.005)
    assert pool_totals(r)["scheduled_principal"] == pytest.approx(200_000.00, abs=0.005)  # the two fees paid


def test_support_names_and_failures_are_validated():
    with pytest.raises(ae.InputError, match="not a support provider of the deal"):
        ae.run(pledge_deal(INSURANCE), named_default("L001", support_failures={"insurerr": dt.date(2026, 5, 1)}))
    bad = pledge_deal(INSURANCE).model_dump(by_alias=True)
    bad["accounts"] = [{"name": "collection"}, {"name": "insurer", "kind": "undertaking"}]
    with pytest.raises(ae.InputError, match="name 'insurer' is already used by accounts"):
        ae.run(ae.Deal.model_validate(bad))
    with pytest.raises(ValueError, match="interest_subsidy needs interest-bearing assets"):
        from test_receivables import two_licences

        data = two_licences().model_dump(by_alias=True)
        data["pools"][0]["support"] = [{"kind": "interest_subsidy", "name": "x", "share": 0.5}]
        ae.Deal.model_validate(data)


@given(st.floats(0, 3_000_000), st.floats(0, 3_000_000), st.floats(0.1, 1.0), st.sampled_from(["on_default", "after_disposal"]),
       st.floats(0.0, 0.5))
def test_more_capacity_never_increases_the_pool_loss_and_failure_never_reduces_it(c1, c2, share, timing, cdr):
    lo, hi = sorted([c1, c2])
    loans = [loan(i, amortization="annuity", balance=700_000.0 + 100_000 * i, collateral_value=600_000.0) for i in range(1, 5)]
    sc = Scenario(name="s", defaults={"cdr": cdr}, recovery={"haircut": 0.5, "lag_months": 4})
    fail = sc.model_copy(update={"name": "f", "support_failures": {"fund": dt.date(2026, 6, 1)}})
    losses = {}
    for c in (lo, hi):
        stack = [{"kind": "sharing", "name": "s", "parties": [
            {"name": "fund", "kind": "compensation_fund", "capacity": c, "timing": timing}], "regimes": [{"fund": share}]}]
        r = ae.run(pledge_deal(stack, loans), [sc, fail])
        r.check_conservation()
        losses[c] = r.pool.groupby("scenario")["loss"].sum()
    assert losses[hi]["s"] <= losses[lo]["s"] + 1e-6
    assert losses[lo]["f"] >= losses[lo]["s"] - 1e-6


def test_example_deal_double_support_and_guarantor_failure():
    """The Shenzhen model: the guarantor guarantees every loan (担保, re-guaranteed by the
    municipal fund) and gives the senior tranche a shortfall undertaking; when it fails,
    the pool bears its loans' losses and the senior is written down."""
    d = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    scs = [ae.load_scenario(SCENARIOS / f"{n}.yaml") for n in ("base", "stress", "stress_guarantor_fails")]
    r = ae.run(d, scs)
    r.check_conservation()
    tot = r.pool.groupby("scenario")[["loss", "loss_before_support", "support_paid"]].sum()
    assert tot.loc["stress", "support_paid"] > 0
    assert tot.loc["stress", "loss"] < tot.loc["stress", "loss_before_support"]
    assert tot.loc["stress_guarantor_fails", "loss"] > tot.loc["stress", "loss"]
    s = r.summary().set_index(["scenario", "tranche"])
    assert s.loc[("stress", "A"), "writedown"] == 0
    assert s.loc[("stress_guarantor_fails", "A"), "writedown"] > 0
    assert (r.layers["capacity_remaining"] >= -1e-6).all()
    assert np.isfinite(tot.to_numpy()).all()



def test_licence_pool_annual_fees_keep_its_patents_alive(backend):
    """A licence pool's upkeep: 1,000 per patent per year in advance (grid months 1, 13) for
    the 3 patents while fees rest on them; stopped from month 5, month 13's fee is unpaid,
    every patent lapses from month 13 + 3 = 16, and the fees of Jun, Sep and Dec 2027
    (3 x 150,000) are lost to the lapse."""
    from test_receivables import two_licences

    data = two_licences().model_dump(by_alias=True)
    data["pools"][0]["support"] = [{"kind": "annual_fee_upkeep", "name": "annual_fees", "cost_per_year": 1000,
                                    "grace_months": 3}]
    d = ae.Deal.model_validate(data)
    kept = Scenario(name="kept")
    stopped = Scenario(name="stopped", support_failures={"annual_fees": dt.date(2026, 6, 1)})
    r = ae.run(d, [kept, stopped], backend=backend)
    r.check_conservation()
    k, s = pool_totals(r, "kept"), pool_totals(r, "stopped")
    assert k["upkeep_cost"] == pytest.approx(2 * 3 * 1000)
    assert s["upkeep_cost"] == pytest.approx(3 * 1000)
    assert k["scheduled_principal"] - s["scheduled_principal"] == pytest.approx(3 * 150_000)
    lost = r.pool.groupby("scenario")["fees_lost_invalidation"].sum()
    assert lost["stopped"] == pytest.approx(3 * 150_000) and lost["kept"] == pytest.approx(0.0)
