"""Risk-sharing layers (abs_engine.support.layers): hand-computed cases of each mechanism
in DOMAIN.md, written as formulas, the validation of the models, and properties
(conservation, capacities, monotonicity, agreement with the scalar reference)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from abs_engine.dates import add_months
from abs_engine.model.support import failure_names, parse_stack, stack_names
from abs_engine.support._layers_ref import apply_layers_ref
from abs_engine.support.layers import apply_layers, failure_months

CUTOFF = dt.date(2025, 12, 31)  # grid month m ends on the last day of month m of 2026, 2027, ...
approx = pytest.approx


def grid(M: int) -> list[dt.date]:
    return [add_months(CUTOFF, k, eom=True) for k in range(M + 1)]


def claims(S: int, L: int, M: int, events: list[tuple[int, int, int, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Default and recovery arrays from (scenario, loan, month, default, recovery) events."""
    d = np.zeros((S, L, M + 1))
    r = np.zeros((S, L, M + 1))
    for s, i, m, D, R in events:
        d[s, i, m] += D
        r[s, i, m] += R
    return d, r


def sharing(name: str, parties: list[dict], regimes: list[dict]) -> dict:
    return {"kind": "sharing", "name": name, "parties": parties, "regimes": regimes}


FUND_SCHEME = sharing(
    "district_scheme",
    [{"name": "fund", "kind": "compensation_fund", "provider": "district 4M fund", "capacity": 4_000_000.0, "timing": "after_disposal"},
     {"name": "insurer", "kind": "insurance", "timing": "on_default"}],
    [{"fund": 0.30, "insurer": 0.60}, {"insurer": 0.90}],
)


# --------------------------------------------------------------------------- mechanisms


def test_guarantee_insurance_90_10_insurer_pays_first_and_keeps_90pct_of_disposal():
    D, R, m, lag = 1_000_000.0, 400_000.0, 3, 12
    stack = parse_stack([sharing("guarantee_insurance", [{"name": "insurer", "kind": "insurance", "timing": "on_default"}], [{"insurer": 0.9}])])
    d, r = claims(1, 1, 24, [(0, 0, m, D, R)])
    res = apply_layers(stack, default=d, recovery=r, lag=[lag], month_dates=grid(24))
    res.check()
    i = res.party("insurer")
    assert res.paid_to_pool[0, m] == approx(0.9 * D)
    assert res.paid_to_pool.sum() == approx(0.9 * D)
    assert res.recovery[0, m + lag] == approx(R)
    assert res.recovery_passed[0, m + lag] == approx(0.9 * R)
    assert res.recovery_to_pool[0, m + lag] == approx(0.1 * R)
    assert res.loss_after_support[0, m + lag] == approx(0.1 * (D - R))
    assert res.loss_after_support.sum() == approx(0.1 * (D - R))
    assert res.claims[0, m, i] == approx(0.9 * D)
    assert res.recoveries_kept[0, m + lag, i] == approx(0.9 * R)
    assert res.net_cost[0, :, i].sum() == approx(0.9 * (D - R))


def test_fund_30_insurer_60_bank_10_then_9_to_1_split_exactly_at_the_4m_boundary():
    rate, lag = 0.2, 6  # 20% of each default recovered, six months later
    events = [(0, 0, 2, 5e6, rate * 5e6), (0, 1, 3, 5e6, rate * 5e6), (0, 2, 3, 10e6, rate * 10e6), (0, 3, 5, 1e6, rate * 1e6)]
    d, r = claims(1, 4, 12, events)
    res = apply_layers(parse_stack([FUND_SCHEME]), default=d, recovery=r, lag=[lag], month_dates=grid(12))
    res.check()
    f, i = res.party("fund"), res.party("insurer")
    # the fund bears 30% of each loss: 0.3 x 0.8 = 0.24 per unit of default, until its 4M are used
    assert res.paid[0, 2 + lag, f] == approx(0.3 * (1 - rate) * 5e6)
    left_before_loan2 = 4e6 - 2 * 0.3 * (1 - rate) * 5e6  # 1.6M
    x1 = left_before_loan2 / (0.3 * (1 - rate))  # the part of loan 2's default under regime 1
    x2 = 10e6 - x1  # the rest, under regime 2 (insurer 90%)
    assert x1 == approx(20e6 / 3)
    assert res.paid[0, 3 + lag, f] == approx(0.3 * (1 - rate) * 5e6 + 0.3 * (1 - rate) * x1)
    assert res.paid[0, :, f].sum() == approx(4e6)
    assert res.capacity_remaining[0, 3:, f] == approx(np.zeros(res.capacity_remaining.shape[1] - 3))
    assert res.capacity_remaining[0, 2, f] == approx(4e6 - 0.3 * (1 - rate) * 5e6)
    # the insurer pays its share of the defaulted balance at default, 60% or 90%
    assert res.paid[0, 2, i] == approx(0.6 * 5e6)
    assert res.paid[0, 3, i] == approx(0.6 * 5e6 + 0.6 * x1 + 0.9 * x2)
    assert res.paid[0, 5, i] == approx(0.9 * 1e6)
    assert res.claims[0, 3, f] == approx(0.3 * (5e6 + x1))
    # ... and keeps its share of the proceeds when they arrive
    assert res.recoveries_kept[0, 3 + lag, i] == approx(rate * (0.6 * 5e6 + 0.6 * x1 + 0.9 * x2))
    # the bank keeps 10% of every loss, in both regimes
    loss = (1 - rate) * np.array([5e6, 5e6, 10e6, 1e6])
    assert res.loan_loss[0] == approx(0.1 * loss)
    assert res.loss_after_support[0, 2 + lag] == approx(0.1 * loss[0])
    assert res.loss_after_support[0, 3 + lag] == approx(0.1 * (loss[1] + loss[2]))


def test_failed_fund_share_falls_to_the_next_regime():
    rate, lag = 0.2, 6
    events = [(0, 0, 2, 5e6, rate * 5e6), (0, 1, 3, 5e6, rate * 5e6)]
    d, r = claims(1, 2, 12, events)
    # the fund pays after disposal (months 8 and 9) and stops paying from month 9
    res = apply_layers(parse_stack([FUND_SCHEME]), default=d, recovery=r, lag=[lag], month_dates=grid(12), failures=[{"fund": 9}])
    res.check()
    f, i = res.party("fund"), res.party("insurer")
    assert res.paid[0, 8, f] == approx(0.3 * (1 - rate) * 5e6)
    assert res.paid[0, 9:, f].sum() == 0
    assert res.paid[0, 3, i] == approx(0.9 * 5e6)
    assert res.loan_loss[0] == approx(0.1 * (1 - rate) * np.array([5e6, 5e6]))


def both(stack, **kw):
    """apply_layers, checked (both identities) and equal to the scalar twin."""
    res = apply_layers(stack, **kw)
    res.check()
    ref = apply_layers_ref(stack, **{k: v for k, v in kw.items() if k not in ("interest", "borrower_index", "survival")})
    for key, want in ref.items():
        np.testing.assert_allclose(getattr(res, key), want, rtol=1e-12, atol=1e-6, err_msg=key)
    return res


def case9(insurer: dict) -> dict:
    """FUND_SCHEME (fund 30% after disposal, 4M; insurer 60% at default; then insurer 90%)
    with limits on the insurer."""
    return {**FUND_SCHEME, "parties": [FUND_SCHEME["parties"][0], {**FUND_SCHEME["parties"][1], **insurer}]}


def test_failed_insurer_does_not_take_the_fund_down():
    """Case 9, one 1,000,000 default with 20% recovered six months later, the insurer failed
    before it: the fund still bears 30% of the loss, 0.3 x 800,000 = 240,000.00; the
    insurer's 60% falls to the next regime (the insurer again) and so on the pool, which
    loses 800,000 - 240,000 = 560,000.00 (it lost all 800,000 when a failed payer made the
    whole regime unusable)."""
    d, r = claims(1, 1, 12, [(0, 0, 2, 1_000_000.0, 200_000.0)])
    res = both(parse_stack([FUND_SCHEME]), default=d, recovery=r, lag=[6], month_dates=grid(12), failures=[{"insurer": 0}])
    f, i = res.party("fund"), res.party("insurer")
    assert res.paid[0, 8, f] == approx(240_000.00, abs=0.005)
    assert res.paid[0, :, i].sum() == 0
    assert res.paid_to_pool.sum() == approx(240_000.00, abs=0.005)
    assert res.recovery_to_pool.sum() == approx(200_000.00, abs=0.005)  # nobody paid at default: the pool keeps the proceeds
    assert res.loan_loss[0, 0] == approx(560_000.00, abs=0.005)
    assert res.claims[0, 2, f] == approx(300_000.00, abs=0.005)  # 30% of the default


def test_exhausted_insurer_leaves_the_fund_its_share():
    """Insurer capacity 600,000: the first 1,000,000 default (month 2) uses it all (60% at
    default); its proceeds come back only in month 8, so on the second default (month 3)
    the fund, with 4,000,000 - 240,000 = 3,760,000 left, still pays 240,000.00 and the pool
    loses 560,000.00 (it lost 800,000 with the fund paying nothing)."""
    d, r = claims(1, 2, 12, [(0, 0, 2, 1_000_000.0, 200_000.0), (0, 1, 3, 1_000_000.0, 200_000.0)])
    res = both(parse_stack([case9({"capacity": 600_000.0})]), default=d, recovery=r, lag=[6], month_dates=grid(12))
    f, i = res.party("fund"), res.party("insurer")
    assert res.paid[0, 2, i] == approx(600_000.00, abs=0.005)
    assert res.paid[0, 3, i] == 0
    assert res.paid[0, 8, f] == approx(240_000.00, abs=0.005)
    assert res.paid[0, 9, f] == approx(240_000.00, abs=0.005)
    assert res.loan_loss[0] == approx([80_000.00, 560_000.00], abs=0.005)
    assert res.capacity_remaining[0, 9, f] == approx(3_520_000.00, abs=0.005)


def test_insurer_per_asset_cap_leaves_the_fund_its_whole_share():
    """Insurer capped at 300,000 per loan: of each 1,000,000 default it takes 500,000 at 60%
    (300,000.00, 60,000.00 of proceeds back); the fund bears 30% of the whole loss,
    240,000.00 per loan (was 120,000, as if it were capped with the insurer); the pool
    loses 1,000,000 - 200,000 + 60,000 - 540,000 = 320,000.00 per loan."""
    d, r = claims(1, 2, 12, [(0, 0, 2, 1_000_000.0, 200_000.0), (0, 1, 3, 1_000_000.0, 200_000.0)])
    res = both(parse_stack([case9({"per_asset_cap": 300_000.0})]), default=d, recovery=r, lag=[6], month_dates=grid(12))
    f, i = res.party("fund"), res.party("insurer")
    assert res.loan_paid_to_pool[0] == approx([540_000.00, 540_000.00], abs=0.005)
    assert res.paid[0, [8, 9], f] == approx([240_000.00, 240_000.00], abs=0.005)
    assert res.paid[0, [2, 3], i] == approx([300_000.00, 300_000.00], abs=0.005)
    assert res.recoveries_kept[0, [8, 9], i] == approx([60_000.00, 60_000.00], abs=0.005)
    assert res.loan_loss[0] == approx([320_000.00, 320_000.00], abs=0.005)


def test_a_claim_moves_only_to_a_regime_that_keeps_those_who_can_pay():
    """Three regimes: A 10% / B 20% / C 10%; without C (B 20%, A 10%); without B as well (A
    30%). B exhausted (capacity 0) while A and C can pay: no regime does without B and
    keeps both, so A and C pay their own 10% each and B's 20% stays with the pool (A does
    not inherit it while C is still there). With C failed too, the claim reaches the last
    regime: A pays 30%. Default 1,000,000, nothing recovered."""
    parties = [{"name": n, "kind": "insurance", "timing": "on_default", **kw}
               for n, kw in (("A", {}), ("B", {"capacity": 0.0}), ("C", {}))]
    stack = parse_stack([sharing("chain", parties, [{"A": 0.1, "B": 0.2, "C": 0.1}, {"A": 0.1, "B": 0.2}, {"A": 0.3}])])
    d, r = claims(2, 1, 6, [(0, 0, 1, 1_000_000.0, 0.0), (1, 0, 1, 1_000_000.0, 0.0)])
    res = both(stack, default=d, recovery=r, lag=[0, 0], month_dates=grid(6), failures=[{}, {"C": 0}])
    a, c = res.party("A"), res.party("C")
    assert res.paid[0, 1, [a, c]] == approx([100_000.00, 100_000.00], abs=0.005)
    assert res.loan_loss[0, 0] == approx(800_000.00, abs=0.005)
    assert res.paid[1, 1, [a, c]] == approx([300_000.00, 0.0], abs=0.005)
    assert res.loan_loss[1, 0] == approx(700_000.00, abs=0.005)


def test_per_asset_cap_binds_on_the_whole_asset_claim_of_an_expected_value_default():
    """Credit insurance 80%, at most 300,000 per licence; a 1,000,000 licence (its fees if
    the licensee still performs) defaults 10% in expectation, 10,000 a month for ten
    months, nothing recovered. Each claim is a 1% chance that the whole licence defaults,
    when the insurer would pay min(0.8 x 1,000,000, 300,000): it pays 1% of 300,000 =
    3,000.00 a month, 30,000.00 in all (0.1 x min(800,000, 300,000)); the cap applied to the
    expected claims paid 80,000. Without the balance each claim is a whole licence and the
    cap counts across them (80,000.00, under the cap)."""
    stack = parse_stack([sharing("licence_cover", [
        {"name": "credit_insurer", "kind": "credit_insurance", "timing": "after_disposal", "per_asset_cap": 300_000.0}],
        [{"credit_insurer": 0.8}])])
    d = np.zeros((1, 1, 13))
    d[0, 0, 1:11] = 10_000.0
    bal = np.zeros_like(d)
    bal[0, 0, 1:] = 1_000_000.0
    res = both(stack, default=d, recovery=0 * d, lag=[0], month_dates=grid(12), balance=bal)
    assert res.paid_to_pool[0, 1:11] == approx(np.full(10, 3_000.00), abs=0.005)
    assert res.paid_to_pool.sum() == approx(30_000.00, abs=0.005)
    assert res.loan_loss[0, 0] == approx(70_000.00, abs=0.005)
    whole = both(stack, default=d, recovery=0 * d, lag=[0], month_dates=grid(12))
    assert whole.paid_to_pool.sum() == approx(80_000.00, abs=0.005)
    # a whole-loan claim (the balance defaults) uses the cap up: two of 250,000 pay 200,000 + 100,000
    d2, _ = claims(1, 1, 12, [(0, 0, 1, 250_000.0, 0.0), (0, 0, 2, 250_000.0, 0.0)])
    res2 = both(stack, default=d2, recovery=0 * d2, lag=[0], month_dates=grid(12), balance=d2.copy())
    assert res2.paid_to_pool[0, 1:3] == approx([200_000.00, 100_000.00], abs=0.005)


def test_capp_price_of_an_expected_value_default_on_the_loans_share_of_its_original_amount():
    """A buy-back at 75% of the original amount (1,000,000) of a bullet loan defaulting 50% a
    month in expectation (expected balances 1,000,000, 500,000, 250,000): ``balance`` is the
    loan if it still performs, 1,000,000 each month (what the projections now capture; the
    expected balance made the second default 100% of its balance). Each default is the
    share D / 1,000,000 of the loan: 0.75 x 500,000 = 375,000.00, 187,500.00, 93,750.00, 75%
    of every default, as DOMAIN's "up to 75% of the loan amount"."""
    d = np.zeros((1, 1, 5))
    d[0, 0, 1:4] = [500_000.0, 250_000.0, 125_000.0]
    bal = np.zeros_like(d)
    bal[0, 0, 1:4] = 1_000_000.0  # the loan if it still performs (expected balance / 0.5^(m-1))
    res = both(parse_stack([capp(delay_months=0)]), default=d, recovery=0 * d, lag=[0], month_dates=grid(4),
               balance=bal, loan_original=np.array([1_000_000.0]))
    assert res.paid_to_pool[0, 1:4] == approx([375_000.00, 187_500.00, 93_750.00], abs=0.005)


def test_interest_subsidy_cap_per_borrower_binds_on_a_surviving_borrowers_interest():
    """贴息 50%, at most 500,000 per borrower a year, on a borrower who pays 200,000 a month if
    its loan still performs, with a 50% chance that it does (expected interest 100,000 a
    month). A performing borrower reaches the cap after 5 months (5 x 100,000); the
    expected subsidy is 0.5 x 100,000 = 50,000.00 a month for 5 months, 250,000.00 a year
    (the cap on the expected interest paid 50,000 for 10 months: 500,000). Without
    ``survival`` the interest is that of a performing loan, as before."""
    M = 12
    interest = np.zeros((1, 1, M + 1))
    interest[0, 0, 1:] = 100_000.0
    surv = np.full_like(interest, 0.5)
    d = np.zeros_like(interest)
    sub = {"kind": "interest_subsidy", "name": "district_tiexi", "share": 0.5, "per_borrower_annual_cap": 500_000.0, "to": "pool"}
    kw = {"default": d, "recovery": d, "lag": [0], "month_dates": grid(M), "interest": interest, "borrower_index": np.array([0])}
    res = apply_layers(parse_stack([sub]), **kw, survival=surv)
    assert res.subsidy_to_pool[0, 1:] == approx([50_000.00] * 5 + [0.0] * 7, abs=0.005)
    assert res.subsidy_to_pool.sum() == approx(250_000.00, abs=0.005)
    plain = apply_layers(parse_stack([sub]), **kw)
    assert plain.subsidy_to_pool.sum() == approx(500_000.00, abs=0.005)


def test_failure_months_from_scenario_dates():
    g = grid(12)
    assert failure_months({"fund": dt.date(2026, 9, 30), "insurer": dt.date(2026, 10, 1)}, g) == {"fund": 9, "insurer": 10}
    assert failure_months({"x": dt.date(2025, 6, 1)}, g) == {"x": 0}
    assert failure_months({"x": dt.date(2027, 3, 15)}, g) == {"x": 15}


@pytest.mark.parametrize("rate", [0.2, 0.7])
def test_front_loaded_compensation_settled_after_disposal(rate):
    """风险补偿前置: the fund pays 30% of the non-performing balance at once and is repaid
    30% of the disposal proceeds: its net cost is 30% of the actual loss, whatever the
    recovery (a larger recovery means a larger claw-back)."""
    D, m, lag, cap = 1_000_000.0, 1, 12, 1_000_000.0
    stack = parse_stack([sharing("compensation", [
        {"name": "fund", "kind": "compensation_fund", "capacity": cap, "timing": "on_default"}], [{"fund": 0.3}])])
    d, r = claims(1, 1, 24, [(0, 0, m, D, rate * D)])
    res = apply_layers(stack, default=d, recovery=r, lag=[lag], month_dates=grid(24))
    res.check()
    f = res.party("fund")
    assert res.paid[0, m, f] == approx(0.3 * D)
    assert res.recoveries_kept[0, m + lag, f] == approx(0.3 * rate * D)  # the claw-back
    assert res.net_cost[0, :, f].sum() == approx(0.3 * (D - rate * D))
    # capacity: used at default, restored by the claw-back
    assert res.capacity_remaining[0, m:m + lag, f] == approx(np.full(lag, cap - 0.3 * D))
    assert res.capacity_remaining[0, m + lag, f] == approx(cap - 0.3 * (1 - rate) * D)
    assert res.loan_loss[0, 0] == approx(0.7 * (1 - rate) * D)
    assert res.recovery_to_pool[0, m + lag] == approx(0.7 * rate * D)


@pytest.mark.parametrize("rate", [0.2, 0.7])
def test_front_loaded_compensation_on_an_estimated_loss_tops_up_or_claws_back(rate):
    """风险补偿前置 on an estimate: the fund advances 30% of the loss estimated at a 50%
    recovery at once, and settles after disposal: it tops up 30% x (0.5 - rate) x D when the
    proceeds fall short (rate 0.2), and is paid back 30% x (rate - 0.5) x D out of them when
    they exceed the estimate (rate 0.7). Either way its net cost is 30% of the actual loss."""
    D, m, lag, cap, est = 1_000_000.0, 1, 12, 1_000_000.0, 0.5
    stack = parse_stack([sharing("compensation", [
        {"name": "fund", "kind": "compensation_fund", "capacity": cap, "timing": "advance", "advance_recovery": est}],
        [{"fund": 0.3}])])
    d, r = claims(1, 1, 24, [(0, 0, m, D, rate * D)])
    res = apply_layers(stack, default=d, recovery=r, lag=[lag], month_dates=grid(24))
    res.check()
    f = res.party("fund")
    assert res.paid[0, m, f] == approx(0.3 * (1 - est) * D)  # the advance
    assert res.paid[0, m + lag, f] == approx(0.3 * max(est - rate, 0.0) * D)  # the top-up
    assert res.recoveries_kept[0, m + lag, f] == approx(0.3 * max(rate - est, 0.0) * D)  # the claw-back
    assert res.net_cost[0, :, f].sum() == approx(0.3 * (1 - rate) * D)
    assert res.loan_loss[0, 0] == approx(0.7 * (1 - rate) * D)
    assert res.capacity_remaining[0, -1, f] == approx(cap - 0.3 * (1 - rate) * D)
    ref = apply_layers_ref(stack, default=d, recovery=r, lag=[lag], month_dates=grid(24))
    for k in ("paid", "recoveries_kept", "paid_to_pool", "recovery_passed", "loss_after_support", "capacity_remaining"):
        np.testing.assert_allclose(getattr(res, k), ref[k], atol=1e-6)
    with pytest.raises(ValueError, match="advance_recovery applies only to timing: advance"):
        parse_stack([sharing("c", [{"name": "fund", "kind": "compensation_fund", "timing": "on_default",
                                    "advance_recovery": 0.5}], [{"fund": 0.3}])])


def capp(**kw):
    return {"kind": "buy_back", "name": "mcam", "provider": "M-CAM", "price": 0.75, "price_basis": "original_amount",
            "delay_months": 6, **kw}


def test_capp_buy_back_at_75pct_of_the_loan_amount_after_a_delay():
    orig, B, R, m, lag, delay = 2_000_000.0, 1_600_000.0, 500_000.0, 4, 12, 6
    d, r = claims(1, 1, 24, [(0, 0, m, B, R)])  # the whole balance defaults
    bal = np.zeros_like(d)
    bal[0, 0, m] = B
    res = apply_layers(parse_stack([capp()]), default=d, recovery=r, lag=[lag], month_dates=grid(24),
                       balance=bal, loan_original=np.array([orig]))
    res.check()
    b = res.party("mcam")
    price = 0.75 * orig
    assert res.paid_to_pool[0, m + delay] == approx(price)
    assert res.paid_to_pool.sum() == approx(price)
    # the buyer owns the disposal: all proceeds go to it
    assert res.recovery_passed[0, m + lag] == approx(R)
    assert res.recovery_to_pool.sum() == approx(0)
    assert res.recoveries_kept[0, m + lag, b] == approx(R)
    # the pool's loss is the default less the price, recognised when it is paid
    assert res.loss_after_support[0, m + delay] == approx(B - price)
    assert res.net_cost[0, :, b].sum() == approx(price - R)


def test_capp_partial_default_is_priced_on_its_share_of_the_original_amount():
    orig, B, m = 2_000_000.0, 1_600_000.0, 4
    D = 0.25 * B
    d, r = claims(1, 1, 24, [(0, 0, m, D, 0.1 * D)])
    bal = np.zeros_like(d)
    bal[0, 0, m] = B
    res = apply_layers(parse_stack([capp()]), default=d, recovery=r, lag=[12], month_dates=grid(24),
                       balance=bal, loan_original=np.array([orig]))
    assert res.paid_to_pool[0, m + 6] == approx(0.75 * orig * D / B)


def test_capp_never_pays_more_than_the_defaulted_balance_and_splits_at_its_capacity():
    orig, B, R, m = 2_000_000.0, 1_000_000.0, 300_000.0, 2
    d, r = claims(1, 2, 24, [(0, 0, m, B, R), (0, 1, m, B, R)])
    bal = np.zeros_like(d)
    bal[0, :, m] = B
    res = apply_layers(parse_stack([capp(capacity=1_500_000.0)]), default=d, recovery=r, lag=[12], month_dates=grid(24),
                       balance=bal, loan_original=np.array([orig, orig]))
    res.check()
    # price 0.75 x 2M = 1.5M exceeds the 1M balance: the unit price is capped at 1
    assert res.loan_paid_to_pool[0, 0] == approx(B)
    # loan 1: the remaining 0.5M of capacity buys half the claim; the pool keeps the rest
    assert res.loan_paid_to_pool[0, 1] == approx(0.5e6)
    assert res.loan_passed[0, 1] == approx(0.5 * R)
    assert res.loan_loss[0, 1] == approx(B - 0.5e6 - 0.5 * R)


def test_capp_not_exercised_once_the_disposal_is_done_or_when_the_price_is_worse():
    B, R, m = 1_000_000.0, 900_000.0, 2
    d, r = claims(2, 1, 24, [(0, 0, m, B, R), (1, 0, m, B, R)])
    bal = np.where(d > 0, B, 0.0)
    late = apply_layers(parse_stack([capp()]), default=d, recovery=r, lag=[3, 12], month_dates=grid(24),
                        balance=bal, loan_original=np.array([B]))
    assert late.paid_to_pool[0].sum() == 0  # lag 3 < delay 6: disposed before the purchase date
    assert late.paid_to_pool[1].sum() == approx(0.75 * B)  # always exercised, although 0.9 would be recovered
    better = apply_layers(parse_stack([capp(exercise="when_better")]), default=d, recovery=r, lag=[3, 12], month_dates=grid(24),
                          balance=bal, loan_original=np.array([B]))
    assert better.paid_to_pool.sum() == 0
    assert better.loan_loss == approx(np.full((2, 1), B - R))


def guarantee(cap: float, rg_cap: float = 10e6, **kw) -> dict:
    return {"kind": "guarantee", "name": "tech_guarantee", "provider": "technology guarantee company", "capacity": cap,
            "reguarantee": {"name": "municipal_fund", "share": 0.8, "capacity": rg_cap}, **kw}


def test_guarantee_with_80pct_reguarantee_capacity_binds_on_the_guarantors_net_cost():
    d, r = claims(1, 2, 12, [(0, 0, 1, 3e6, 0.0), (0, 1, 2, 4e6, 0.0)])
    res = apply_layers(parse_stack([guarantee(1e6)]), default=d, recovery=r, lag=[6], month_dates=grid(12))
    res.check()
    g, rg = res.party("tech_guarantee"), res.party("municipal_fund")
    # loan 0: pays 3M, refunded 80% -> net 0.6M of its 1M
    assert res.paid[0, 1, g] == approx(3e6)
    assert res.refunded[0, 1, g] == approx(0.8 * 3e6)
    assert res.capacity_remaining[0, 1, g] == approx(1e6 - 0.2 * 3e6)
    # loan 1: 0.4M of net capacity covers 0.4M / 0.2 = 2M of the 4M default; with nothing
    # left the guarantor cannot take the rest even without the re-guarantee
    x1 = (1e6 - 0.2 * 3e6) / 0.2
    assert res.paid[0, 2, g] == approx(x1)
    assert res.paid[0, 2, rg] == approx(0.8 * x1)
    assert res.net_cost[0, :, g].sum() == approx(1e6)
    assert res.net_cost[0, :, rg].sum() == approx(0.8 * (3e6 + x1))
    assert res.loan_loss[0] == approx([0.0, 4e6 - x1])


def test_failed_reguarantor_leaves_the_guarantor_alone():
    d, r = claims(1, 2, 12, [(0, 0, 1, 3e6, 0.0), (0, 1, 2, 4e6, 0.0)])
    res = apply_layers(parse_stack([guarantee(1e6)]), default=d, recovery=r, lag=[6], month_dates=grid(12),
                       failures=[{"municipal_fund": 2}])
    res.check()
    g = res.party("tech_guarantee")
    assert res.refunded[0, 2, g] == 0
    assert res.paid[0, 2, g] == approx(1e6 - 0.2 * 3e6)  # its remaining capacity, unrefunded
    assert res.loan_loss[0, 1] == approx(4e6 - 0.4e6)


def test_reguarantor_shares_the_guarantors_subrogated_proceeds():
    D, R, lag = 1e6, 0.3e6, 6
    d, r = claims(1, 1, 12, [(0, 0, 1, D, R)])
    res = apply_layers(parse_stack([guarantee(5e6)]), default=d, recovery=r, lag=[lag], month_dates=grid(12))
    g, rg = res.party("tech_guarantee"), res.party("municipal_fund")
    assert res.recovery_passed[0, 1 + lag] == approx(R)
    assert res.recoveries_kept[0, 1 + lag, g] == approx(0.2 * R)
    assert res.recoveries_kept[0, 1 + lag, rg] == approx(0.8 * R)
    assert res.net_cost[0, :, g].sum() == approx(0.2 * (D - R))
    assert res.net_cost[0, :, rg].sum() == approx(0.8 * (D - R))
    assert res.loan_loss[0, 0] == approx(0)


def test_more_reguarantee_capacity_across_the_regime_switch_with_net_restoration():
    """Net capacities, 80% re-guarantee, guarantor capacity 150, recovery lag 3. Loan 0:
    100 in month 1, all recovered in month 4; loans 1 and 2: 300 in months 2 and 5,
    nothing recovered.

    Re-guarantor 40: loan 0 is paid 50 with the refund (guarantor 150 - 10, re-guarantor 0)
    and 50 alone (guarantor 90); loan 1 alone, 90 (guarantor 0), the pool keeps 210; month 4
    restores 10 + 50 = 60 and 40; loan 2: 50 refunded (guarantor 50), 50 alone, the pool
    keeps 200. Re-guarantor 170: loan 0 all refunded (130 / 90); loan 1: 112.5 refunded
    (107.5 / 0), 107.5 alone, the pool keeps 80; month 4 restores 20 and 80: loan 2 is paid
    100, the pool keeps 200. More capacity: 280 lost instead of 410."""
    d, r = claims(1, 3, 8, [(0, 0, 1, 100.0, 100.0), (0, 1, 2, 300.0, 0.0), (0, 2, 5, 300.0, 0.0)])
    loss = {}
    for rg_cap in (40.0, 170.0):
        stack = parse_stack([guarantee(150.0, rg_cap, share=1.0)])
        res = apply_layers(stack, default=d, recovery=r, lag=[3], month_dates=grid(8))
        res.check()
        ref = apply_layers_ref(stack, default=d, recovery=r, lag=[3], month_dates=grid(8))
        np.testing.assert_allclose(res.loan_loss, ref["loan_loss"], atol=1e-9)
        loss[rg_cap] = res.loan_loss[0]
    assert loss[40.0] == approx([0.0, 210.00, 200.00], abs=0.005)
    assert loss[170.0] == approx([0.0, 80.00, 200.00], abs=0.005)


def test_counter_guarantee_restores_net_capacity_and_pays_a_later_claim():
    """反担保 (DOMAIN case 1): the guarantor recovers 30% of what it paid and did not get
    back from the disposal, 2 months after the disposal; its re-guarantor gets 80% of that,
    as of the proceeds. Not the trust's cash, but with net capacities it pays a later claim.

    Loan 0: 1,000,000 in month 1, 200,000 recovered in month 4. The guarantor pays
    1,000,000 (refunded 800,000): capacities 500,000 - 200,000 = 300,000 and 2,000,000 -
    800,000 = 1,200,000; the proceeds restore 40,000 and 160,000 in month 4 (340,000 /
    1,360,000); the counter-guarantee 0.3 x 800,000 = 240,000 in month 6: 48,000 and
    192,000 (388,000 / 1,552,000). Loan 1: 3,000,000 in month 6, nothing recovered: both
    limits allow 388,000 / 0.2 = 1,552,000 / 0.8 = 1,940,000; the pool keeps 1,060,000
    (1,300,000 = 3,000,000 - 340,000 / 0.2 without the counter-guarantee). On it the
    guarantor recovers 0.3 x 1,940,000 = 582,000 in month 9 + 2 = 11: 116,400 and 465,600.
    """
    stack = guarantee(500_000.0, 2_000_000.0, share=1.0, timing="on_default")
    d, r = claims(1, 2, 10, [(0, 0, 1, 1_000_000.0, 200_000.0), (0, 1, 6, 3_000_000.0, 0.0)])
    plain = apply_layers(parse_stack([stack]), default=d, recovery=r, lag=[3], month_dates=grid(10))
    stack["counter_guarantee"] = {"recovery_rate": 0.3, "lag_months": 2}
    res = apply_layers(parse_stack([stack]), default=d, recovery=r, lag=[3], month_dates=grid(10))
    res.check()
    g, rg = res.party("tech_guarantee"), res.party("municipal_fund")
    assert res.counter_recovered.shape[1] == plain.counter_recovered.shape[1] + 2  # the horizon runs 2 months longer
    assert res.counter_recovered[0, 6, [g, rg]] == approx([48_000.00, 192_000.00], abs=0.005)
    assert res.counter_recovered[0, 11, [g, rg]] == approx([116_400.00, 465_600.00], abs=0.005)
    assert res.counter_recovered[0].sum() == approx(240_000.00 + 582_000.00, abs=0.005)
    assert res.capacity_remaining[0, [4, 5], g] == approx([340_000.00, 340_000.00], abs=0.005)
    assert res.capacity_remaining[0, 6, [g, rg]] == approx([0.0, 0.0], abs=0.005)  # both used up by loan 1
    assert res.capacity_remaining[0, 11, [g, rg]] == approx([116_400.00, 465_600.00], abs=0.005)
    assert res.paid_to_pool[0, 6] == approx(1_940_000.00, abs=0.005)
    assert plain.paid_to_pool[0, 6] == approx(1_700_000.00, abs=0.005)
    assert res.loan_loss[0] == approx([0.0, 1_060_000.00], abs=0.005)
    assert plain.loan_loss[0] == approx([0.0, 1_300_000.00], abs=0.005)
    # the trust's cash on loan 0 is unchanged; the parties' net costs fall by what they recover
    assert res.paid_to_pool[0, 1] == plain.paid_to_pool[0, 1] == approx(1_000_000.00)
    assert res.net_cost[0, :, g].sum() == approx(0.2 * (800_000 + 1_940_000) - 48_000 - 116_400, abs=0.005)
    assert res.net_cost[0, :, rg].sum() == approx(0.8 * (800_000 + 1_940_000) - 192_000 - 465_600, abs=0.005)
    ref = apply_layers_ref(parse_stack([stack]), default=d, recovery=r, lag=[3], month_dates=grid(10))
    for key, want in ref.items():
        np.testing.assert_allclose(getattr(res, key), want, rtol=1e-12, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("timing", ["after_disposal", "advance"])
def test_counter_guarantee_of_a_sharing_party_on_its_actual_loss(timing):
    """An insurer's (or fund's) counter-guarantee recovers 50% of its loss on the claim,
    60% of 1,000,000 less 60% of the 250,000 proceeds = 450,000, 12 months after the
    disposal (month 2 + 4 = 6): 225,000 in month 18; gross capacity is not restored."""
    party = {"name": "insurer", "kind": "insurance", "timing": timing, "capacity": 1_000_000.0,
             "counter_guarantee": {"recovery_rate": 0.5, "lag_months": 12}}
    if timing == "advance":
        party["advance_recovery"] = 0.4
    d, r = claims(1, 1, 6, [(0, 0, 2, 1_000_000.0, 250_000.0)])
    for basis, cap in (("net", 1_000_000.0 - 450_000.0 + 225_000.0), ("gross", 1_000_000.0 - 0.6 * max(0.6, 0.75) * 1e6)):
        stack = parse_stack([sharing("cover", [{**party, "capacity_basis": basis}], [{"insurer": 0.6}])])
        res = apply_layers(stack, default=d, recovery=r, lag=[4], month_dates=grid(6))
        res.check()
        assert res.counter_recovered[0, 18, 0] == approx(225_000.00, abs=0.005)
        assert res.counter_recovered[0].sum() == approx(225_000.00, abs=0.005)
        assert res.net_cost[0, :, 0].sum() == approx(450_000.00 - 225_000.00, abs=0.005)
        assert res.loan_loss[0, 0] == approx(0.4 * 750_000.00, abs=0.005)
        assert res.capacity_remaining[0, -1, 0] == approx(cap, abs=0.005)


def test_licence_credit_insurance_on_a_defaulted_receivable_with_a_per_asset_cap():
    """信用保险 on licensee credit risk: 80% of the loss on a defaulted receivable (its
    remaining fees), at most 300k per receivable, paid once the recovery is known."""
    fees, rate, m, lag = 500_000.0, 0.1, 4, 6
    stack = parse_stack([sharing("licence_cover", [
        {"name": "credit_insurer", "kind": "credit_insurance", "timing": "after_disposal", "per_asset_cap": 300_000.0}],
        [{"credit_insurer": 0.8}])])
    d, r = claims(1, 2, 24, [(0, 0, m, fees, rate * fees), (0, 0, m + 2, 50_000.0, 0.0), (0, 1, m, 100_000.0, rate * 100_000.0)])
    res = apply_layers(stack, default=d, recovery=r, lag=[lag], month_dates=grid(24))
    res.check()
    c = res.party("credit_insurer")
    # receivable 0: 0.8 x 450k = 360k is more than the cap: the claim is split at 300k / 0.72
    x1 = 300_000.0 / (0.8 * (1 - rate))
    assert res.claims[0, m, c] == approx(0.8 * (x1 + 100_000.0))
    assert res.paid[0, m + lag, c] == approx(300_000.0 + 0.8 * (1 - rate) * 100_000.0)
    assert res.loan_loss[0, 0] == approx((1 - rate) * fees - 300_000.0 + 50_000.0)  # the later default finds the cap used
    assert res.loan_loss[0, 1] == approx(0.2 * (1 - rate) * 100_000.0)


def test_interest_subsidy_50pct_capped_at_500k_per_borrower_per_year():
    M = 24
    interest = np.zeros((1, 3, M + 1))
    interest[0, :2, 1:] = 60_000.0  # borrower 0 has two loans: 0.5 x 120k = 60k a month
    interest[0, 2, 1:] = 10_000.0  # borrower 1: 5k a month
    d = np.zeros_like(interest)
    sub = {"kind": "interest_subsidy", "name": "district_tiexi", "share": 0.5, "per_borrower_annual_cap": 500_000.0, "to": "pool"}
    res = apply_layers(parse_stack([sub]), default=d, recovery=d, lag=[0], month_dates=grid(M),
                       interest=interest, borrower_index=np.array([0, 0, 1]))
    per_year = np.r_[[60_000.0] * 8, 500_000.0 - 8 * 60_000.0, [0.0] * 3]  # the cap binds in September
    want = np.r_[0.0, per_year, per_year] + np.r_[0.0, [5_000.0] * M]
    assert res.subsidy_to_pool[0, :M + 1] == approx(want)
    assert res.subsidy_to_borrowers.sum() == 0
    p = res.party("district_tiexi")
    assert res.claims[0, 1:M + 1, p] == approx(np.full(M, 65_000.0))
    # to the borrowers, and the paying body failing from month 18
    res2 = apply_layers(parse_stack([{**sub, "to": "borrower"}]), default=d, recovery=d, lag=[0], month_dates=grid(M),
                        interest=interest, borrower_index=np.array([0, 0, 1]), failures=[{"district_tiexi": 18}])
    assert res2.subsidy_to_pool.sum() == 0
    assert res2.subsidy_to_borrowers[0, :18] == approx(want[:18])
    assert res2.subsidy_to_borrowers[0, 18:].sum() == 0


def test_interest_subsidy_budget_and_end_date():
    M = 6
    interest = np.zeros((1, 1, M + 1))
    interest[0, 0, 1:] = 10_000.0
    d = np.zeros_like(interest)
    sub = {"kind": "interest_subsidy", "name": "city", "share": 0.5, "capacity": 12_000.0, "until": dt.date(2026, 5, 31), "to": "pool"}
    res = apply_layers(parse_stack([sub]), default=d, recovery=d, lag=[0], month_dates=grid(M),
                       interest=interest, borrower_index=np.array([0]))
    assert res.subsidy_to_pool[0, :M + 1] == approx([0, 5_000, 5_000, 2_000, 0, 0, 0])
    assert res.capacity_remaining[0, 3, res.party("city")] == approx(0)


def test_unpaid_annual_fees_lapse_the_patents_and_later_disposals_recover_nothing():
    M, lag = 36, 12
    up = {"kind": "annual_fee_upkeep", "cost_per_year": 4_000.0, "grace_months": 6}
    ins = sharing("ins", [{"name": "insurer", "kind": "insurance", "timing": "on_default"}], [{"insurer": 0.9}])
    D, R = 1e6, 0.5e6
    # loan 0 defaults in month 3 (disposal in 15), loan 1 in month 8 (disposal in 20)
    d, r = claims(2, 2, M, [(s, 0, 3, D, R) for s in (0, 1)] + [(s, 1, 8, D, R) for s in (0, 1)])
    bal = np.zeros_like(d)
    bal[:, :, 1:25] = 1.0  # both loans pledged for two years
    res = apply_layers(parse_stack([up, ins]), default=d, recovery=r, lag=[lag, lag], month_dates=grid(M),
                       balance=bal, failures=[{}, {"annual_fees": 5}])
    res.check()
    # fees in advance: grid months 1 and 13 for both loans; unpaid from month 5 in scenario 1
    assert res.upkeep_cost[0, :M + 1] == approx(np.r_[0, 8_000.0, [0] * 11, 8_000.0, [0] * 23])
    assert res.upkeep_cost[1].sum() == approx(8_000.0)
    # scenario 1: the fee due in month 13 is unpaid, the patents lapse 6 months later (month 19)
    assert res.lapse_month.tolist() == [-1, 13 + 6]
    assert res.recovery[1, 3 + lag] == approx(R)
    assert res.recovery[1, 8 + lag] == 0
    assert res.recovery_lost[1, 8 + lag] == approx(R)
    i = res.party("insurer")
    assert res.net_cost[1, :, i].sum() == approx(0.9 * (D - R) + 0.9 * D)  # nothing back on loan 1
    assert res.loan_loss[1] == approx([0.1 * (D - R), 0.1 * D])
    assert res.loan_loss[0] == approx([0.1 * (D - R), 0.1 * (D - R)])


def test_upkeep_on_a_share_of_collateral_value_paid_quarterly():
    M = 6
    up = {"kind": "annual_fee_upkeep", "collateral_share": 0.01, "frequency": "quarterly"}
    bal = np.ones((1, 1, M + 1))
    d = np.zeros_like(bal)
    res = apply_layers(parse_stack([up]), default=d, recovery=d, lag=[0], month_dates=grid(M),
                       balance=bal, collateral_value=np.array([2e6]))
    assert res.upkeep_cost[0, :M + 1] == approx([0, 0.01 * 2e6 * 3 / 12, 0, 0, 0.01 * 2e6 * 3 / 12, 0, 0])


def test_layers_in_order_each_works_on_what_the_layer_above_left():
    """An 80% guarantee after a 90% insurance covers 80% of the bank's remaining 10%."""
    D, R = 1e6, 0.0
    stack = parse_stack([sharing("ins", [{"name": "insurer", "kind": "insurance", "timing": "on_default"}], [{"insurer": 0.9}]),
                         {"kind": "guarantee", "name": "g", "share": 0.8}])
    d, r = claims(1, 1, 6, [(0, 0, 1, D, R)])
    res = apply_layers(stack, default=d, recovery=r, lag=[2], month_dates=grid(6))
    assert res.paid[0, 1, res.party("g")] == approx(0.8 * 0.1 * D)
    assert res.loan_loss[0, 0] == approx(0.2 * 0.1 * D)


def test_annual_cap_per_calendar_year_of_the_payment():
    stack = parse_stack([sharing("ins", [{"name": "insurer", "kind": "insurance", "timing": "on_default", "annual_cap": 1e6}],
                                 [{"insurer": 1.0}])])
    # 0.8M in November 2026, 0.8M in December 2026, 0.8M in January 2027
    d, r = claims(1, 3, 14, [(0, 0, 11, 0.8e6, 0.0), (0, 1, 12, 0.8e6, 0.0), (0, 2, 13, 0.8e6, 0.0)])
    res = apply_layers(stack, default=d, recovery=r, lag=[1], month_dates=grid(14))
    assert res.paid[0, 11:14, 0] == approx([0.8e6, 0.2e6, 0.8e6])


def test_ledger_frame():
    d, r = claims(2, 1, 4, [(0, 0, 1, 100.0, 0.0)])
    res = apply_layers(parse_stack([FUND_SCHEME]), default=d, recovery=r, lag=[1, 1], month_dates=grid(4))
    frame = res.ledger(["base", "stress"], months=5)
    assert len(frame) == 2 * 5 * 2
    assert list(frame.columns) == ["scenario", "month", "party", "claims", "paid", "refunded", "recoveries_kept",
                                   "counter_recovered", "net_cost", "capacity_remaining"]
    row = frame[(frame.scenario == "base") & (frame.month == 1) & (frame.party == "insurer")]
    assert float(row["paid"].iloc[0]) == approx(60.0)


def test_the_yaml_examples_in_docs_validate():
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "risk-sharing.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]
    assert len(blocks) >= 4
    full = parse_stack(blocks[0]["pools"][0]["support"])
    assert [layer.kind for layer in full] == ["buy_back", "sharing", "guarantee", "interest_subsidy", "annual_fee_upkeep"]
    for b in blocks[1:]:
        if isinstance(b, list):
            parse_stack(b)
        else:
            assert set(b["support_failures"]) <= set(failure_names(full))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (sharing("s", [{"name": "fund", "kind": "compensation_fund", "timing": "on_default"}], [{"fund": 0.7, "fnd": 0.4}]),
         r"regimes\[0\]: unknown party 'fnd' \(known: fund\).*regimes\[0\]: shares sum to 1.1, more than 1"),
        (sharing("s", [{"name": "a", "kind": "insurance", "timing": "on_default"},
                       {"name": "a", "kind": "insurance", "timing": "on_default"}], [{"a": 0.5}]),
         r"parties: duplicate party name\(s\) a"),
        (sharing("s", [{"name": "a", "kind": "insurance", "timing": "on_default"},
                       {"name": "b", "kind": "insurance", "timing": "on_default"}], [{"a": 0.5}]),
         r"parties: 'b' in no regime"),
        (sharing("s", [{"name": "a", "kind": "insurance", "timing": "on_default"}], [{}]),
         r"regimes\[0\]: a regime needs at least one party"),
        (sharing("s", [{"name": "a", "kind": "insurance", "timing": "on_default"}], [{"a": 30}]),
         r"looks like a percentage"),
        (sharing("s", [{"name": "a", "kind": "insurance", "timing": "on_default", "capacity": -1.0}], [{"a": 0.3}]),
         r"must not be negative"),
        (sharing("s", [{"name": "a", "kind": "bank", "timing": "on_default"}], [{"a": 0.3}]),
         r"kind"),
        (sharing("s", [{"name": "a", "kind": "insurance"}], [{"a": 0.3}]),
         r"timing"),
        ({"kind": "buy_back", "name": "b", "price": 0.75, "price_basis": "face"}, r"price_basis"),
        ({"kind": "guarantee", "name": "g", "reguarantee": {"name": "r", "share": 1.5}}, r"share"),
        ({"kind": "cat_bond", "name": "x"}, r"cat_bond"),
    ],
)
def test_layer_validation_messages(layer, message):
    with pytest.raises(ValidationError, match=message):
        parse_stack([layer])


def test_names_unique_across_the_stack_and_one_upkeep():
    with pytest.raises(ValidationError, match=r"names must be unique.*'fund'"):
        parse_stack([FUND_SCHEME, {"kind": "guarantee", "name": "fund"}])
    with pytest.raises(ValidationError, match=r"at most one annual_fee_upkeep layer \(found at \[0\], \[1\]\)"):
        parse_stack([{"kind": "annual_fee_upkeep"}, {"kind": "annual_fee_upkeep", "name": "fees2"}])
    stack = parse_stack([FUND_SCHEME, guarantee(1.0), {"kind": "annual_fee_upkeep"}])
    assert stack_names(stack) == ["district_scheme", "fund", "insurer", "tech_guarantee", "municipal_fund", "annual_fees"]
    assert failure_names(stack) == ["fund", "insurer", "tech_guarantee", "municipal_fund", "annual_fees"]


def test_array_input_errors():
    stack = parse_stack([FUND_SCHEME])
    d, r = claims(1, 1, 3, [(0, 0, 1, 100.0, 150.0)])
    with pytest.raises(ValueError, match="recovery: proceeds must lie between 0 and the defaulted amount"):
        apply_layers(stack, default=d, recovery=r, lag=[1], month_dates=grid(3))
    with pytest.raises(ValueError, match=r"failures\[0\]: unknown party 'fnd' \(known: fund, insurer\)"):
        apply_layers(stack, default=d, recovery=0 * r, lag=[1], month_dates=grid(3), failures=[{"fnd": 2}])
    with pytest.raises(ValueError, match="balance: needed by a buy-back"):
        apply_layers(parse_stack([capp()]), default=d, recovery=0 * r, lag=[1], month_dates=grid(3))
    with pytest.raises(ValueError, match=r"month_dates: expected 4 dates"):
        apply_layers(stack, default=d, recovery=0 * r, lag=[1], month_dates=grid(2))


def test_dense_expected_value_defaults_agree_with_the_scalar_reference():
    """Every loan defaulting a little every month (a CDR projection), every limit binding
    somewhere, failures and a lapse: the vectorised rounds equal the claim-by-claim twin."""
    S, L, M = 3, 30, 24
    rng = np.random.default_rng(7)
    B = rng.uniform(1e6, 5e6, L)
    mdr = np.array([0.005, 0.01, 0.03])[:, None]
    bal = np.zeros((S, L, M + 1))
    d = np.zeros_like(bal)
    b = np.broadcast_to(B, (S, L)).copy()
    for m in range(1, M + 1):
        bal[:, :, m] = b
        d[:, :, m] = b * mdr
        b = (b - d[:, :, m]) * 0.97
    r = d * rng.choice([0.0, 0.3, 0.6, 0.95], d.shape)
    layers = [
        capp(capacity=3e6),
        {**FUND_SCHEME, "parties": [{**FUND_SCHEME["parties"][0], "capacity": 2e6, "timing": "on_default"},
                                    {**FUND_SCHEME["parties"][1], "annual_cap": 4e6, "per_asset_cap": 5e5, "delay_months": 1}]},
        guarantee(1e6, rg_cap=2e6, per_asset_cap=2e5, timing="after_disposal"),
        {"kind": "annual_fee_upkeep", "cost_per_year": 4000.0},
    ]
    stack = parse_stack(layers)
    fails = [{}, {"fund": 9, "annual_fees": 4}, {"municipal_fund": 12, "mcam": 15}]
    kw = {"default": d, "recovery": r, "lag": [3, 6, 12], "month_dates": grid(M), "failures": fails,
          "balance": bal, "loan_original": B * 1.2}
    res = apply_layers(stack, **kw)
    res.check()
    assert res.lapse_month.tolist() == [-1, 13 + 6, -1]
    ref = apply_layers_ref(stack, **kw, lapse=res.lapse_month.tolist())
    for key, want in ref.items():
        np.testing.assert_allclose(getattr(res, key), want, rtol=1e-9, atol=1e-6, err_msg=key)
    assert res.capacity_remaining[:, :, res.party("fund")].min() == 0  # the limits did bind


# --------------------------------------------------------------------------- properties

S_, L_, M_ = 2, 4, 10
CAPS = [None, 0.0, 40.0, 150.0, 600.0]


@st.composite
def limits(draw, allow_annual=True, allow_per_asset=True):
    out = {}
    cap = draw(st.sampled_from(CAPS))
    if cap is not None:
        out["capacity"] = cap
    if allow_per_asset and draw(st.booleans()):
        out["per_asset_cap"] = draw(st.sampled_from([20.0, 60.0]))
    if allow_annual and draw(st.booleans()):
        out["annual_cap"] = draw(st.sampled_from([50.0, 200.0]))
    out["capacity_basis"] = draw(st.sampled_from(["net", "gross"]))
    return out


@st.composite
def counter_guarantees(draw):
    """No counter-guarantee, or one recovering a share of the payer's unrecovered payments."""
    if not draw(st.booleans()):
        return {}
    return {"counter_guarantee": {"recovery_rate": draw(st.sampled_from([0.3, 0.5, 1.0])), "lag_months": draw(st.integers(0, 3))}}


@st.composite
def stacks(draw, ordered=False):
    """1-3 claim layers. ``ordered``: the stacks for which monotonicity holds (see
    docs/risk-sharing.md, "What more capacity does") — one claim layer; at most one fallback
    regime, which only drops a party and gives its share, or part of it, to those left
    (with two, a party exhausted before the one listed to go first gives its share back to
    the pool, and the failure of that one then hands it to its heir: see
    test_a_claim_moves_only_to_a_regime_that_keeps_those_who_can_pay); a buy-back is
    exercised only when better than the disposal; caps per year or per asset only on
    payers paying after disposal without a counter-guarantee (one restores a net capacity,
    as a share of proceeds does)."""
    layers = []
    kinds = draw(st.lists(st.sampled_from(["buy_back", "sharing", "guarantee"]), min_size=1, max_size=1 if ordered else 3))
    for n, k in enumerate(kinds, start=1):
        if k == "buy_back":
            layers.append({"kind": "buy_back", "name": f"b{n}", "price": draw(st.sampled_from([0.5, 0.75, 0.9])),
                           "price_basis": draw(st.sampled_from(["original_amount", "defaulted_balance"])),
                           "delay_months": draw(st.integers(0, 3)),
                           "exercise": "when_better" if ordered else draw(st.sampled_from(["always", "when_better"])),
                           **draw(limits(allow_annual=not ordered, allow_per_asset=not ordered))})
        elif k == "guarantee":
            timing = draw(st.sampled_from(["on_default", "after_disposal"]))
            cg = draw(counter_guarantees())  # restores a net capacity, as proceeds do on default
            free = (timing == "after_disposal" and not cg) or not ordered
            g = {"kind": "guarantee", "name": f"g{n}", "share": draw(st.sampled_from([1.0, 0.8])), "timing": timing,
                 "delay_months": draw(st.integers(0, 2)), **draw(limits(free, free)), **cg}
            if draw(st.booleans()):
                g["reguarantee"] = {"name": f"rg{n}", "share": draw(st.sampled_from([0.5, 0.8])), **draw(limits(free, free))}
            layers.append(g)
        else:
            k_parties = draw(st.integers(1, 3))
            parties = []
            for j in range(k_parties):
                timing = draw(st.sampled_from(["on_default", "after_disposal", "advance"]))
                cg = draw(counter_guarantees())
                free = (timing == "after_disposal" and not cg) or not ordered
                extra = {"advance_recovery": draw(st.sampled_from([0.0, 0.3, 0.6]))} if timing == "advance" else {}
                parties.append({"name": f"p{n}_{j}", "kind": draw(st.sampled_from(["insurance", "compensation_fund", "guarantee", "credit_insurance"])),
                                "timing": timing, "delay_months": draw(st.integers(0, 2)), **extra, **draw(limits(free, free)), **cg})
            names = [p["name"] for p in parties]
            shares = [draw(st.sampled_from([0.1, 0.2, 0.3])) for _ in names]
            regimes = [dict(zip(names, shares, strict=True))]
            if ordered:
                live = dict(regimes[0])
                for gone in draw(st.permutations(names))[: min(k_parties - 1, 1)]:
                    freed = live.pop(gone)
                    heir = draw(st.sampled_from(sorted(live)))
                    live[heir] = round(live[heir] + freed * draw(st.sampled_from([0.0, 0.5, 1.0])), 10)
                    regimes.append(dict(live))
            else:
                for _ in range(draw(st.integers(0, 2))):
                    sub = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
                    regimes.append({x: draw(st.sampled_from([0.1, 0.2, 0.3])) for x in sub})
            layers.append(sharing(f"s{n}", parties, regimes))
    return layers


@st.composite
def pools(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    d = np.where(rng.random((S_, L_, M_ + 1)) < 0.3, rng.integers(1, 11, (S_, L_, M_ + 1)) * 10.0, 0.0)
    d[:, :, 0] = 0.0
    rho = rng.choice([0.0, 0.25, 0.5, 1.0], (S_, L_, M_ + 1))
    bal = d * rng.choice([1.0, 2.0, 4.0], (S_, L_, M_ + 1))
    orig = rng.integers(5, 30, L_) * 10.0
    lag = [draw(st.integers(0, 4)) for _ in range(S_)]
    return {"default": d, "recovery": d * rho, "lag": lag, "month_dates": grid(M_), "balance": bal, "loan_original": orig}


def payer_names(layers):
    return failure_names(parse_stack(layers))


@st.composite
def failure_sets(draw, names):
    out = []
    for _ in range(S_):
        failing = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        out.append({n: draw(st.integers(0, M_ + 4)) for n in failing})
    return out


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_vectorised_layers_agree_with_the_scalar_reference(data):
    layers = data.draw(stacks())
    pool = data.draw(pools())
    fails = data.draw(failure_sets(payer_names(layers)))
    stack = parse_stack(layers)
    res = apply_layers(stack, **pool, failures=fails)
    ref = apply_layers_ref(stack, **pool, failures=fails)
    for key, want in ref.items():
        got = getattr(res, key)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7, err_msg=key)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_default_is_accounted_for_and_no_party_exceeds_its_limits(data):
    layers = data.draw(stacks())
    pool = data.draw(pools())
    fails = data.draw(failure_sets(payer_names(layers)))
    stack = parse_stack(layers)
    res = apply_layers(stack, **pool, failures=fails)
    res.check()  # per loan: default = kept proceeds + paid + loss; the parties bear what the pool does not
    tol = 1e-7
    S, T, P = res.paid.shape
    years = np.array([d.year for d in grid(M_)] + [grid(M_)[-1].year + (k + 1 + grid(M_)[-1].month - 1) // 12 for k in range(T - M_ - 1)])
    limits_by_name = {}
    for layer in layers:
        if layer["kind"] == "sharing":
            limits_by_name.update({p["name"]: (p, p["timing"]) for p in layer["parties"]})
        else:
            limits_by_name[layer["name"]] = (layer, "buy" if layer["kind"] == "buy_back" else layer["timing"])
            if "reguarantee" in layer:
                limits_by_name[layer["reguarantee"]["name"]] = (layer["reguarantee"], layer["timing"])
    for p, name in enumerate(res.names):
        lim, timing = limits_by_name[name]
        cost = res.paid[:, :, p] - res.refunded[:, :, p]
        assert (cost >= -tol).all()
        if "capacity" in lim:
            back = (res.recoveries_kept[:, :, p] + res.counter_recovered[:, :, p]) if (lim["capacity_basis"] == "net" and timing != "buy") else 0.0
            if lim["capacity_basis"] == "gross" or timing != "buy":
                assert (np.cumsum(cost - back, axis=1) <= lim["capacity"] + tol).all(), name
            assert (res.capacity_remaining[:, :, p] >= -tol).all()
        if "annual_cap" in lim:
            for y in np.unique(years):
                assert (cost[:, years == y].sum(axis=1) <= lim["annual_cap"] + tol).all(), (name, y)
        if (fail := {s: f[name] for s, f in enumerate(fails) if name in f}):
            for s, month in fail.items():
                assert res.paid[s, month:, p].sum() == 0, (name, s, month)


def _scaled(layers: list[dict], name: str, factor: float) -> list[dict]:
    import copy

    out = copy.deepcopy(layers)
    for layer in out:
        holders = [layer] + layer.get("parties", []) + ([layer["reguarantee"]] if "reguarantee" in layer else [])
        for h in holders:
            if h["name"] == name and "capacity" in h:
                h["capacity"] = h["capacity"] * factor + 50.0
    return out


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_more_capacity_never_increases_the_pools_loss(data):
    layers = data.draw(stacks(ordered=True))
    pool = data.draw(pools())
    name = data.draw(st.sampled_from(payer_names(layers)))
    small = apply_layers(parse_stack(layers), **pool)
    big = apply_layers(parse_stack(_scaled(layers, name, 3.0)), **pool)
    assert (big.loan_loss.sum(axis=1) <= small.loan_loss.sum(axis=1) + 1e-7).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_failing_party_never_reduces_the_pools_loss(data):
    layers = data.draw(stacks(ordered=True))
    pool = data.draw(pools())
    name = data.draw(st.sampled_from(payer_names(layers)))
    month = data.draw(st.integers(0, M_))
    alive = apply_layers(parse_stack(layers), **pool)
    failed = apply_layers(parse_stack(layers), **pool, failures=[{name: month}] * S_)
    assert (failed.loan_loss.sum(axis=1) >= alive.loan_loss.sum(axis=1) - 1e-7).all()
