"""Pledge-loan projection against closed forms (等额本息, 等额本金, bullet, IO-balloon),
defaults, prepayments and recoveries. Expected values are written as formulas."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import deal, loan

import abs_engine as ae
from abs_engine.engine import project
from abs_engine.model.scenario import Scenario
from abs_engine.pools.pledge import monthly_rate

P, R = 1_000_000.0, 0.06


def pool_of(d, scenarios=None):
    sched, pools = project(d, scenarios or [Scenario(name="zero")])
    return sched, pools[0].series


def monthly(d, scenarios=None):
    """Unaggregated monthly flows (monthly deals map month m to period m-1)."""
    return pool_of(d, scenarios)[1]


def test_annuity_level_payment_matches_closed_form():
    s = monthly(deal([loan(1, amortization="annuity")]))
    r = R / 12
    payment = P * r / (1 - (1 + r) ** -12)
    paid = s["interest_collected"][0] + s["scheduled_principal"][0]
    # 12 level payments, the first on 2026-02-15 (period 1), the last on 2027-01-15
    np.testing.assert_allclose(paid[:12], payment, rtol=1e-12)
    assert s["scheduled_principal"][0].sum() == pytest.approx(P, abs=1e-6)
    assert s["interest_collected"][0].sum() == pytest.approx(12 * payment - P, abs=1e-6)
    assert payment == pytest.approx(86_066.43, abs=0.005)  # the familiar 等额本息 figure


def test_equal_principal():
    s = monthly(deal([loan(1, amortization="equal_principal")]))
    np.testing.assert_allclose(s["scheduled_principal"][0][:12], P / 12, rtol=1e-12)
    expected_interest = [(P - k * P / 12) * R / 12 for k in range(12)]
    np.testing.assert_allclose(s["interest_collected"][0][:12], expected_interest, rtol=1e-12)
    assert s["interest_collected"][0].sum() == pytest.approx(P * R / 12 * 13 / 2, abs=1e-6)


def test_bullet_quarterly_interest():
    s = monthly(deal([loan(1, amortization="bullet", payment_frequency="quarterly")]))
    interest = s["interest_collected"][0]
    # payments on 2026-04-15, 07-15, 10-15 and 2027-01-15: periods 3, 6, 9, 12
    assert list(np.nonzero(interest)[0]) == [2, 5, 8, 11]
    np.testing.assert_allclose(interest[[2, 5, 8, 11]], P * R * 3 / 12)
    assert s["scheduled_principal"][0][11] == pytest.approx(P)
    assert s["scheduled_principal"][0][:11].sum() == 0


def test_interest_only_then_balloon():
    d = deal([loan(1, amortization="interest_only_balloon", io_periods=6, amortization_term_months=24)])
    s = monthly(d)
    r = R / 12
    np.testing.assert_allclose(s["interest_collected"][0][:6], P * r)
    assert s["scheduled_principal"][0][:6].sum() == 0
    # the 7th payment amortises on a 24-payment basis: principal = B r / ((1+r)^24 - 1)
    assert s["scheduled_principal"][0][6] == pytest.approx(P * r / ((1 + r) ** 24 - 1), rel=1e-12)
    # the 12th payment repays the balloon
    assert s["balance_end"][0][11] == 0
    assert s["scheduled_principal"][0][:12].sum() == pytest.approx(P)


def test_zero_rate_annuity_is_straight_line():
    s = monthly(deal([loan(1, rate=0.0)], tranches=[{"name": "A", "rank": 1, "balance": P}]))
    np.testing.assert_allclose(s["scheduled_principal"][0][:12], P / 12, rtol=1e-12)


def test_monthly_rate_conversion():
    m = monthly_rate(0.2, 12)
    assert (1 - m[1]) ** 12 == pytest.approx(0.8)
    v = monthly_rate([0.1, 0.2], 4)
    assert v[1] == pytest.approx(1 - 0.9 ** (1 / 12)) and v[4] == pytest.approx(1 - 0.8 ** (1 / 12))


def test_defaults_and_prepayments_first_month():
    sc = Scenario(name="x", defaults={"cdr": 0.12}, prepayment={"cpr": 0.06}, recovery={"rate": 0.4, "lag_months": 0})
    s = monthly(deal([loan(1, amortization="bullet")]), [sc])
    mdr, smm = 1 - 0.88 ** (1 / 12), 1 - 0.94 ** (1 / 12)
    d1 = P * mdr
    assert s["default_amount"][0][0] == pytest.approx(d1, rel=1e-12)
    assert s["interest_collected"][0][0] == pytest.approx((P - d1) * R / 12, rel=1e-12)
    assert s["prepayment"][0][0] == pytest.approx((P - d1) * smm, rel=1e-12)
    assert s["recovery"][0][0] == pytest.approx(0.4 * d1, rel=1e-12)
    assert s["loss"][0][0] == pytest.approx(0.6 * d1, rel=1e-12)


def test_recovery_from_collateral_after_lag_with_decay_and_cap():
    sc = Scenario(name="x", defaults={"loans": {"L001": dt.date(2026, 3, 31)}},
                  recovery={"haircut": 0.5, "lag_months": 6, "value_decay": 0.2})
    # collateral 1.2M -> value at disposal (month 2 + 6 = 8) 1.2M * 0.8^(8/12) * 0.5 < balance
    d = deal([loan(1, amortization="bullet", collateral_value=1_200_000.0)])
    s = monthly(d, [sc])
    assert s["default_amount"][0][1] == pytest.approx(P)
    expected = 1_200_000 * 0.8 ** (8 / 12) * 0.5
    assert s["recovery"][0][7] == pytest.approx(expected, rel=1e-12)
    assert s["loss"][0][7] == pytest.approx(P - expected, rel=1e-12)
    # rich collateral: recovery capped at the defaulted balance
    s2 = monthly(deal([loan(1, amortization="bullet", collateral_value=10_000_000.0)]), [sc])
    assert s2["recovery"][0][7] == pytest.approx(P) and s2["loss"][0].sum() == pytest.approx(0, abs=1e-9)


HALF = 1 - 0.5 ** 12  # the CDR of a 50% monthly default rate


@pytest.mark.parametrize("cpr", [0.0, 1 - 0.8 ** 12])
def test_recovery_on_expected_value_defaults_sets_the_collateral_against_the_surviving_loan(cpr):
    """A 1,000,000 bullet loan with 600,000 of collateral (no haircut, decay or lag) defaults
    50% a month in expectation. Each month's default is the chance that the whole loan,
    still owing 1,000,000 if it performs, defaults; its collateral covers 60% of that loan,
    so every default recovers 60%: 300,000.00, 150,000.00, 75,000.00, 37,500.00 (the
    expected balance, 500,000 in month 2, made it 250,000 then: 80% overall). With 20% of
    what is left prepaid every month (smm 0.2) the loan still owes 1,000,000 when it
    performs: month 2's default of 200,000 recovers 120,000.00 (was 200,000)."""
    sc = Scenario(name="x", defaults={"cdr": HALF}, prepayment={"cpr": cpr},
                  recovery={"haircut": 0.0, "lag_months": 0, "value_decay": 0.0})
    s = monthly(deal([loan(1, amortization="bullet", collateral_value=600_000.0)]), [sc])
    smm = 1 - (1 - cpr) ** (1 / 12)
    want_d = [1_000_000.0 * 0.5 * (0.5 * (1 - smm)) ** k for k in range(4)]
    assert s["default_amount"][0][:4] == pytest.approx(want_d, abs=0.005)
    assert s["recovery"][0][:4] == pytest.approx([0.6 * x for x in want_d], abs=0.005)
    assert s["recovery"][0].sum() == pytest.approx(0.6 * s["default_amount"][0].sum(), abs=0.005)
    if cpr:
        assert s["recovery"][0][1] == pytest.approx(120_000.00, abs=0.005)
    else:
        assert s["recovery"][0][:4] == pytest.approx([300_000.00, 150_000.00, 75_000.00, 37_500.00], abs=0.005)


def test_recovery_of_a_named_default_sets_the_collateral_against_the_performing_balance():
    """A loan the scenario names defaults wholly with its projected balance, here after four
    months of 20% of it prepaid each month: 1,000,000 x 0.8^4 = 409,600.00. Where it has not
    prepaid, its balance is the whole 1,000,000, of which 600,000 of collateral recovers 60%:
    245,760.00 (set against the expected 409,600 the collateral would seem to cover it all)."""
    sc = Scenario(name="x", defaults={"loans": {"L001": dt.date(2026, 6, 30)}}, prepayment={"cpr": 1 - 0.8 ** 12},
                  recovery={"haircut": 0.0, "lag_months": 0, "value_decay": 0.0})
    s = monthly(deal([loan(1, amortization="bullet", collateral_value=600_000.0)]), [sc])
    assert s["default_amount"][0][4] == pytest.approx(409_600.00, abs=0.005)
    assert s["recovery"][0][4] == pytest.approx(245_760.00, abs=0.005)


def test_pool_balance_rolls_forward():
    sc = Scenario(name="x", defaults={"cdr": 0.1}, prepayment={"cpr": 0.1}, recovery={"lag_months": 3})
    loans = [loan(i, amortization=a, payment_frequency=f) for i, (a, f) in enumerate(
        [("annuity", "monthly"), ("equal_principal", "quarterly"), ("bullet", "monthly"), ("bullet", "semiannual")], 1)]
    s = monthly(deal(loans), [sc])
    out = s["scheduled_principal"] + s["prepayment"] + s["default_amount"]
    np.testing.assert_allclose(s["balance_start"] - out, s["balance_end"], atol=1e-6)
    assert (s["recovery"] + s["loss"]).sum() == pytest.approx(s["default_amount"].sum(), rel=1e-12)


def test_collection_lag_moves_cash_to_next_payment_date():
    d = deal([loan(1)], header={"collection_to_payment_days": 15})
    sched, s = pool_of(d)
    # the collection period ending 2026-02-28 is paid on 2026-04-10 (03-10 is too early)
    assert s["interest_collected"][0][0] == 0
    assert s["interest_collected"][0][1] == pytest.approx(P * R / 12)


def test_floating_loan_uses_reference_path():
    d = deal([loan(1, amortization="bullet", reference="LPR1Y", rate=0.0, spread=0.01)],
             header={"reference_rates": {"LPR1Y": 0.03}})
    base = monthly(d)
    assert base["interest_collected"][0][0] == pytest.approx(P * 0.04 / 12)
    up = monthly(d, [Scenario(name="up", reference_rates={"LPR1Y": [0.05]})])
    assert up["interest_collected"][0][0] == pytest.approx(P * 0.06 / 12)


def test_run_rejects_unknown_loan_in_scenario():
    with pytest.raises(ae.InputError, match="unknown loan id 'NOPE'"):
        ae.run(deal(), Scenario(name="x", defaults={"loans": {"NOPE": dt.date(2026, 5, 1)}}))


def with_basis(loans, basis):
    data = deal(loans).model_dump(by_alias=True)
    data["pools"][0]["interest_basis"] = basis
    return ae.Deal.model_validate(data)


@pytest.mark.parametrize("basis, year", [("act365", 365), ("act360", 360)])
def test_actual_days_interest_basis(basis, year, backend):
    """interest_basis act365 / act360: balance x rate x actual days of the loan's period / 365
    (or 360, 日利率 = 年利率/360); the principal schedule is the periodic one."""
    loans = [loan(1, amortization="bullet"), loan(2, amortization="annuity", payment_frequency="quarterly")]
    r = ae.run(with_basis(loans, basis), backend=backend)
    r.check_conservation()
    pool = r.pool.set_index("period")
    # the bullet loan pays on the 15th: 2026-01-15 -> 02-15 is 31 days, -> 03-15 28 days
    want = {365: (5_095.89, 4_602.74), 360: (5_166.67, 4_666.67)}[year]
    assert pool.loc[1, "interest_collected"] == pytest.approx(want[0], abs=0.005)
    assert pool.loc[2, "interest_collected"] == pytest.approx(want[1], abs=0.005)
    # period 3: the bullet's 31 days (03-15 -> 04-15) and the quarterly loan's first
    # quarter, 2026-01-15 -> 04-15 = 90 days: 60,000 x (31 + 90) / year
    assert pool.loc[3, "interest_collected"] == pytest.approx(P * R * 121 / year, abs=1e-6)
    assert pool.loc[3, "interest_collected"] == pytest.approx({365: 19_890.41, 360: 20_166.67}[year], abs=0.005)
    # the quarterly annuity's principal is the one of the periodic basis
    periodic = ae.run(with_basis(loans, "periodic"), backend=backend).pool
    np.testing.assert_allclose(r.pool["scheduled_principal"], periodic["scheduled_principal"], rtol=0, atol=1e-9)
    # the deposits are what the pool collected
    col = r.accounts[r.accounts.account == "collection"].set_index("period")
    assert col.loc[1, "deposits"] == pytest.approx(want[0], abs=0.005)


def test_periodic_interest_basis_is_months_over_twelve():
    s = monthly(with_basis([loan(1, amortization="bullet")], "periodic"))
    np.testing.assert_allclose(s["interest_collected"][0][:3], P * R / 12, rtol=1e-12)


def test_actual_days_basis_in_the_sparse_monte_carlo_projection():
    """The Monte Carlo's sparse projection charges the same actual-days interest as the
    dense one (loans defaulting on some paths)."""
    from abs_engine.pools.pledge import SparsePledge, loan_arrays, project_pledge_pool

    loans = [loan(i, amortization=a, payment_frequency=f)
             for i, (a, f) in enumerate([("bullet", "monthly"), ("annuity", "quarterly"), ("equal_principal", "monthly")], 1)]
    d = with_basis(loans, "act360")
    pool = d.pools[0]
    sched, _ = project(d, [Scenario(name="zero")])
    M = len(sched.grid) - 1
    arrays = loan_arrays(pool, d.deal.cutoff_date, M, [])
    assert arrays.accrual is not None
    sc = Scenario(name="mc", recovery={"rate": 0.3, "lag_months": 2})
    dm = np.array([[0, 0, 0], [3, 0, 5], [0, 7, 1]])
    refs = np.zeros((0, M + 1))
    sparse = SparsePledge(pool, arrays, sc, sched.grid, refs).flows(dm)
    dense = project_pledge_pool(pool, arrays, [sc.model_copy(update={"name": f"p{i}"}) for i in range(3)], sched.grid,
                                np.zeros((3, 0, M + 1)), default_month=dm)
    np.testing.assert_allclose(sparse.interest_collected, dense.interest_collected, rtol=0, atol=1e-9)
    # month 1 of path 0: the monthly loans pay 1,000,000 x 6% x 31/360 = 5,166.67 each
    assert dense.interest_collected[0, 1] == pytest.approx(2 * 5_166.67, abs=0.01)


def test_periodic_basis_stub_period_accrues_by_days():
    """A 3-day semi-annual bullet (originated 2026-01-29, matures 2026-02-01, after the
    cut-off 2026-01-31): on the periodic basis its only period is a stub, 3 days at ACT/365,
    not half a year (P x R x 6 / 12 = 30,000 was charged before)."""
    s = monthly(deal([loan(1, amortization="bullet", payment_frequency="semiannual",
                           origination_date=dt.date(2026, 1, 29), maturity_date=dt.date(2026, 2, 1))]))
    assert s["interest_collected"][0].sum() == pytest.approx(P * R * 3 / 365, abs=1e-9)


def test_periodic_basis_final_stub_and_whole_periods(backend):
    """A quarterly bullet originated 2026-01-15 maturing 2026-08-01: whole quarters on
    04-15 and 07-15 earn P x R x 3 / 12 each; the final stub 07-15 -> 08-01 (17 days) earns
    P x R x 17 / 365; a loan maturing on its schedule has no stub."""
    d = deal([loan(1, amortization="bullet", payment_frequency="quarterly", maturity_date=dt.date(2026, 8, 1)),
              loan(2, amortization="bullet", payment_frequency="quarterly", maturity_date=dt.date(2026, 7, 15))])
    pool = ae.run(d, backend=backend).pool
    total = pool["interest_collected"].sum()
    assert total == pytest.approx(P * R * (2 * 3 / 12 + 17 / 365) + P * R * (2 * 3 / 12), abs=1e-6)
    s = monthly(d)
    interest = s["interest_collected"][0]
    # the stub is paid in the grid month of 2026-08-01 (month 7 after the 01-31 cut-off)
    assert interest[6] == pytest.approx(P * R * 17 / 365, abs=1e-9)
