"""Waterfall semantics at their boundaries, hand-computed on hand-built programs, on both
backends: the semantics that survived mutation (issue #21) and every trigger metric exactly
at its threshold.

- A trigger's metric is compared strictly (docs/deal-language.md, "Triggers and deal
  states"): ``above: x`` breaches when the metric is > x, ``below: x`` when it is < x; a
  metric exactly at its threshold is no breach. (The domain's reading: an OC or coverage
  test "is met if the ratio is at least" its level, a cumulative-default trigger fires when
  defaults "exceed" theirs.)
- The OC ratio divides the pool's balance at the **end** of the period's collections (the
  balance on the determination date) by the listed tranches' balance before the period's
  payments.
- Pro-rata principal is weighted by what each tranche may receive this period (its balance
  above its schedule when the step follows it), not by balance.
- A reserve's target is the largest of its parts, then floored, then capped, and falls to
  zero once the notes are repaid and in the last period.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import INF, deal, loan, make

import abs_engine as ae
from abs_engine.engine import run_kernel
from abs_engine.model.scenario import Scenario
from abs_engine.waterfall import program as P

# --- triggers: the OC ratio on the closing balance ----------------------------------------------


def test_oc_ratio_uses_the_pools_closing_balance(backend):
    """Notes 100; the pool opens period 1 at 130 and closes it at 110, opens period 2 at 110
    and closes at 125. OC below 1.2, curable: closing ratios 1.10 (breach) then 1.25 (cured);
    on the opening balances it would be 1.30 (no breach) then 1.10 (breach)."""
    a = make([], T=2, bal0=(100.0,), pool_start=[130.0, 110.0], pool_end=[110.0, 125.0],
             triggers=[(P.M_OC, [0], 0, 1.2, 1, 1, 1)])
    run_kernel(a, backend)
    assert list(a.fired[0, :, 0]) == [1, 0]
    assert list(a.state[0]) == [1, 0]


def test_oc_ratio_counts_only_the_listed_tranches_before_this_periods_payments(backend):
    """Senior 60 and junior 40; pool 90 at the end of period 1. OC of the senior: 90 / 60 =
    1.5 (below 1.4: no breach); of both: 0.9 (breach). Period 1 pays the senior 30 of
    principal, so period 2's ratio is 90 / 30 = 3 for the senior, as the metric is taken on
    the balance before each period's payments (period 1: 60, not 30)."""
    steps = [("pay_principal", dict(a=[0]))]
    senior = make(steps, T=2, bal0=(60.0, 40.0), coll=[30.0, 0.0], pool_end=[90.0, 90.0],
                  triggers=[(P.M_OC, [0], 0, 1.6, 1, 1, 1), (P.M_OC, [0, 1], 0, 1.0, 1, 1, 1)])
    run_kernel(senior, backend)
    assert list(senior.fired[0, :, 0]) == [1, 0]  # 1.5 < 1.6, then 3.0
    assert list(senior.fired[0, :, 1]) == [1, 0]  # 0.9 < 1.0, then 90 / 70 = 1.29


# --- triggers: every metric exactly at its threshold -------------------------------------------


def _metric_case(metric: str, value: float):
    """A one-trigger program whose metric in its last period is exactly ``value`` (each
    value chosen exactly representable), with the kwargs of :func:`make`."""
    if metric == "external":  # e.g. the cumulative default ratio
        return dict(T=1, triggers=[(P.M_EXTERNAL, [], None, None, 1, 1, 1)], ext=[[value]])
    if metric == "oc":  # pool at period end / notes: value x 100 / 100
        return dict(T=1, bal0=(100.0,), pool_end=[value * 100.0], triggers=[(P.M_OC, [0], None, None, 1, 1, 1)])
    if metric == "coverage":  # deposits / interest due (1000 x 4% x 1 = 40)
        return dict(T=1, bal0=(1000.0,), rate=0.04, coll=[value * 40.0],
                    triggers=[(P.M_COVERAGE, [0], None, None, 1, 1, 1)])
    if metric == "dscr":  # deposits / (interest 40 + principal due 1000 - 980 = 20)
        return dict(T=1, bal0=(1000.0,), rate=0.04, coll=[value * 60.0], due=[[980.0]],
                    triggers=[(P.M_DSCR, [0], None, None, 1, 1, 1)])
    # interest shortfall carried from period 1: 40 due, 40 - value collected and paid
    return dict(T=2, bal0=(1000.0,), rate=0.04, coll=[40.0 - value, 0.0],
                triggers=[(P.M_SHORTFALL, [0], None, None, 1, 1, 1)], steps=[("pay_interest", dict(a=[0]))])


def _fired_at(metric: str, value: float, side: str, threshold: float, backend: str) -> int:
    kw = _metric_case(metric, value)
    steps = kw.pop("steps", [])
    m, tr, _, _, consec, curable, effect = kw["triggers"][0]
    kw["triggers"] = [(m, tr, 1 if side == "above" else 0, threshold, consec, curable, effect)]
    a = make(steps, **kw)
    run_kernel(a, backend)
    return int(a.fired[0, -1, 0])


@pytest.mark.parametrize("metric,at", [("external", 0.125), ("oc", 1.25), ("coverage", 1.5), ("dscr", 1.5),
                                       ("shortfall", 10.0)])
def test_every_metric_exactly_at_its_threshold_does_not_breach(metric, at, backend):
    # exactly at the threshold: neither side breaches
    assert _fired_at(metric, at, "above", at, backend) == 0
    assert _fired_at(metric, at, "below", at, backend) == 0
    # a hair beyond it on the breaching side, each way
    hair = at / 64.0
    assert _fired_at(metric, at + hair, "above", at, backend) == 1
    assert _fired_at(metric, at - hair, "above", at, backend) == 0
    assert _fired_at(metric, at - hair, "below", at, backend) == 1
    assert _fired_at(metric, at + hair, "below", at, backend) == 0


def test_coverage_counts_the_periods_deposits_not_the_cash_held(backend):
    """Interest coverage divides this period's deposits into the account (60), not what it
    holds (100 kept from before + 60): 60 / 40 = 1.5 is below 1.6 (160 / 40 = 4 would not be)."""
    a = make([], T=1, bal0=(1000.0,), rate=0.04, coll=[60.0], acct0=(100.0,),
             triggers=[(P.M_COVERAGE, [0], 0, 1.6, 1, 1, 1)])
    run_kernel(a, backend)
    assert a.fired[0, 0, 0] == 1


def test_the_most_severe_fired_effect_sets_the_state(backend):
    """An accelerating trigger and an event of default both fired: the deal is in event of
    default (2), whichever trigger comes first; with only the first, accelerated (1)."""
    both = make([], T=2, ext=[[1.0, 0.0], [1.0, 1.0]],
                triggers=[(P.M_EXTERNAL, [], 1, 0.5, 1, 0, 1), (P.M_EXTERNAL, [], 1, 0.5, 1, 0, 2)])
    run_kernel(both, backend)
    assert list(both.state[0]) == [1, 2]
    reverse = make([], T=1, ext=[[1.0, 1.0]],
                   triggers=[(P.M_EXTERNAL, [], 1, 0.5, 1, 0, 2), (P.M_EXTERNAL, [], 1, 0.5, 1, 0, 1)])
    run_kernel(reverse, backend)
    assert list(reverse.state[0]) == [2]


def test_consecutive_breaches_exactly_at_the_count(backend):
    """consecutive: 3 fires on the third breach in a row, not the second; a period exactly
    at the threshold (no breach) resets the count."""
    ext = [[0.2], [0.2], [0.1], [0.2], [0.2], [0.2]]
    a = make([], T=6, triggers=[(P.M_EXTERNAL, [], 1, 0.1, 3, 0, 1)], ext=ext)
    run_kernel(a, backend)
    assert list(a.fired[0, :, 0]) == [0, 0, 0, 0, 0, 1]


# --- pay_principal: pro rata by the amount payable ---------------------------------------------


@pytest.mark.parametrize("cash,want", [(60.0, [20.0, 40.0]), (30.0, [10.0, 20.0]), (90.0, [20.0, 40.0])])
def test_pro_rata_principal_is_weighted_by_the_amount_payable(cash, want, backend):
    """Two scheduled tranches of 100 each, scheduled down to 80 and 60 this period: payable
    20 and 40. Pro rata by payable: 60 pays 20/40 (by balance it would pay 30/30 and take
    the first below its schedule); 30 pays 10/20; 90 pays 20/40 and keeps 30."""
    a = make([("pay_principal", dict(a=[0, 1], mode=1))], coll=[cash], bal0=(100.0, 100.0),
             sched=[[80.0, 60.0]])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], want, rtol=0, atol=1e-12)
    assert a.a_end[0, 0, 0] == pytest.approx(cash - sum(want), abs=1e-12)


def test_pro_rata_without_the_schedule_is_by_balance(backend):
    """follow_schedule: false (acceleration): what each may receive is its whole balance,
    so 60 pays 100 : 50 as 40 / 20."""
    a = make([("pay_principal", dict(a=[0, 1], mode=1, follow=0))], coll=[60.0], bal0=(100.0, 50.0),
             sched=[[80.0, 50.0]])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], [40.0, 20.0], rtol=0, atol=1e-12)


def test_sequential_principal_respects_each_schedule(backend):
    """Sequential with schedules: 100 of cash pays the first down to its schedule (20), the
    second down to its own (40), and keeps 40: a schedule is a floor, not a target to skip."""
    a = make([("pay_principal", dict(a=[0, 1]))], coll=[100.0], bal0=(100.0, 100.0), sched=[[80.0, 60.0]])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], [20.0, 40.0])
    assert a.a_end[0, 0, 0] == pytest.approx(40.0)


def test_pool_target_exactly_met_pays_nothing(backend):
    """target_percent_of_pool 0.5 of a closing pool of 200: the group may be paid down to
    100; at exactly 100 the step pays nothing, at 130 it pays 30."""
    for bal, want in ((100.0, 0.0), (130.0, 30.0)):
        a = make([("pay_principal", dict(a=[0], target=0.5))], coll=[500.0], bal0=(bal,), pool_end=[200.0])
        run_kernel(a, backend)
        assert a.t_prin[0, 0, 0] == pytest.approx(want, abs=1e-12)


# --- reserves: targets with floors and caps across periods -------------------------------------

RELEASE_FUND_PAY = [
    ("release_reserve", dict(src=1, dst=0)),
    ("fund_reserve", dict(src=0, dst=1)),
    ("pay_principal", dict(src=0, a=[0])),
]


def test_reserve_target_percent_of_notes_capped_then_floored(backend):
    """Target 10% of the notes, floor 50, cap 80; notes 1000; collections 400, 300, 200, 100.

    ====== ===== ======================== ============ ========= ===========
    period notes target                   release/fund principal reserve end
    ====== ===== ======================== ============ ========= ===========
    1      1000  min(100, cap 80) = 80    fund 80      320       80
    2      680   68 (inside floor / cap)  release 12   312       68
    3      368   max(36.8, floor 50) = 50 release 18   218       50
    4      150   0 (last period)          release 50   150       0
    ====== ===== ======================== ============ ========= ===========
    """
    res = {1: [1, 0, 0, 0.10, 50.0, 80.0]}
    a = make(RELEASE_FUND_PAY, T=4, coll=[400.0, 300.0, 200.0, 100.0], bal0=(1000.0,), acct0=(0.0, 0.0), res=res)
    run_kernel(a, backend)
    np.testing.assert_allclose(a.a_end[0, :, 1], [80.0, 68.0, 50.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(a.t_prin[0, :, 0], [320.0, 312.0, 218.0, 150.0], rtol=1e-14)
    np.testing.assert_allclose(a.t_bal_end[0, :, 0], [680.0, 368.0, 150.0, 0.0], rtol=1e-14, atol=1e-12)


def test_reserve_target_is_the_largest_part(backend):
    """Target max(amount 60, 5% of the closing pool): pools 2000, 1000, 400 -> targets 100,
    60 (amount), 60; a funded reserve of 0 reaches 100 then releases 40."""
    res = {1: [1, 60.0, 0.05, 0.0, 0.0, INF]}
    a = make(RELEASE_FUND_PAY, T=4, coll=[400.0, 300.0, 200.0, 100.0], bal0=(10_000.0,), acct0=(0.0, 0.0),
             res=res, pool_end=[2000.0, 1000.0, 400.0, 0.0])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.a_end[0, :, 1], [100.0, 60.0, 60.0, 0.0], rtol=1e-14)


def test_reserve_floor_holds_until_the_notes_are_repaid(backend):
    """A floor of 500 above a 1% target holds while notes are outstanding; once they are
    repaid (period 2) the target is zero and the whole reserve is released (the example
    deal's reserve: 500,000 in period 5, nothing once the notes are gone)."""
    res = {1: [1, 0, 0, 0.01, 500.0, INF]}
    steps = [*RELEASE_FUND_PAY, ("pay_residual", dict(src=0, dst=0, mode=1))]
    a = make(steps, T=4, coll=[900.0, 600.0, 10.0, 10.0], bal0=(1000.0,), acct0=(0.0, 0.0), res=res)
    run_kernel(a, backend)
    # period 1: target max(10, floor 500) = 500 funded, 400 of principal; period 2: notes 600,
    # target 500: pays the 600 off; period 3: notes 0 -> target 0, 500 released to the party
    np.testing.assert_allclose(a.a_end[0, :, 1], [500.0, 500.0, 0.0, 0.0])
    np.testing.assert_allclose(a.t_prin[0, :, 0], [400.0, 600.0, 0.0, 0.0])
    np.testing.assert_allclose(a.party[0, :, 0], [0.0, 0.0, 510.0, 10.0])


def test_release_exactly_at_target_and_draw_exactly_covering(backend):
    """A reserve exactly at its target releases nothing; a draw when the paying account
    holds exactly what is needed takes nothing (period 1 of 2: not the last, whose target
    is zero)."""
    res = {1: [1, 70.0, 0.0, 0.0, 0.0, INF]}
    a = make([("release_reserve", dict(src=1, dst=0)), ("draw_reserve", dict(src=1, dst=0, b=[0])),
              ("pay_interest", dict(a=[0]))], T=2, coll=[50.0, 0.0], bal0=(1000.0,), rate=0.05, acct0=(0.0, 70.0),
             res=res)
    run_kernel(a, backend)
    assert a.a_end[0, 0, 1] == 70.0
    assert a.t_int_paid[0, 0, 0] == pytest.approx(50.0)
    b = make([("draw_reserve", dict(src=1, dst=0, b=[0])), ("pay_interest", dict(a=[0]))], coll=[49.0],
             bal0=(1000.0,), rate=0.05, acct0=(0.0, 70.0))
    run_kernel(b, backend)
    assert b.a_end[0, 0, 1] == pytest.approx(69.0)


# --- dues: exactly enough, one short, caps ----------------------------------------------------


def test_fees_exactly_covered_and_one_short(backend):
    """Fees 100 and 300 with exactly 400: all paid, nothing carried; with 399: pro rata by
    due, 99.75 / 299.25, and 0.25 / 0.75 carried."""
    a = make([("pay_fee", dict(a=[0, 1]))], coll=[400.0], fees=[(100.0, 0.0), (300.0, 0.0)])
    run_kernel(a, backend)
    np.testing.assert_array_equal(a.f_unpaid[0, 0], [0.0, 0.0])
    b = make([("pay_fee", dict(a=[0, 1]))], coll=[399.0], fees=[(100.0, 0.0), (300.0, 0.0)])
    run_kernel(b, backend)
    np.testing.assert_allclose(b.f_paid[0, 0], [99.75, 299.25])
    np.testing.assert_allclose(b.f_unpaid[0, 0], [0.25, 0.75])


@pytest.mark.parametrize("base,want", [(P.BASE_POOL, 0.01 * 5000 * 0.25), (P.BASE_NOTES, 0.01 * 800 * 0.25),
                                       (P.BASE_ORIGINAL_NOTES, 0.01 * 1000 * 0.25)])
def test_fee_bases(base, want, backend):
    """A 1% fee over a quarter (yf 0.25) on the pool at the period's start (5000), the
    notes at the period's start (800 after period 1 repaid 200) or the original notes (1000)."""
    a = make([("pay_fee", dict(a=[0])), ("pay_principal", dict(a=[0], limit=200.0))], T=2, coll=[500.0, 0.0],
             bal0=(1000.0,), accr=0.25, fees=[(0.0, 0.01, INF, base)], pool_start=[5000.0, 5000.0])
    run_kernel(a, backend)
    assert a.f_due[0, 1, 0] == pytest.approx(want, rel=1e-14)


def test_fee_cap_binds_only_above_it(backend):
    """min(cap, fixed + rate x base x yf): 10 + 1% x 4000 x 1 = 50 under a cap of 50 is 50,
    under 49.5 is 49.5; the cap applies before what is carried from earlier periods."""
    for cap, want in ((50.0, 50.0), (49.5, 49.5), (60.0, 50.0)):
        a = make([("pay_fee", dict(a=[0]))], T=2, coll=[0.0, 0.0], fees=[(10.0, 0.01, cap)],
                 pool_start=[4000.0, 4000.0])
        run_kernel(a, backend)
        np.testing.assert_allclose(a.f_due[0, :, 0], [want, 2 * want], rtol=1e-14)


def test_interest_is_on_the_opening_balance(backend):
    """Interest due is balance x rate x accrual on the balance before this period's
    principal: 1000 at 8% for 0.25 = 20 in period 1 even though period 1 repays 600 (and
    400 x 8% x 0.25 = 8 in period 2)."""
    a = make([("pay_interest", dict(a=[0])), ("pay_principal", dict(a=[0]))], T=2, coll=[620.0, 408.0],
             bal0=(1000.0,), rate=0.08, accr=0.25)
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_int_due[0, :, 0], [20.0, 8.0], rtol=1e-14)
    np.testing.assert_allclose(a.t_prin[0, :, 0], [600.0, 400.0], rtol=1e-14)


def test_support_accounts_are_drawn_in_order(backend):
    """A step short of 50 draws its support accounts in their order: the first (30) empty,
    then 20 of the second."""
    a = make([("pay_interest", dict(a=[0], b=[1, 2]))], coll=[0.0], bal0=(1000.0,), rate=0.05,
             acct0=(0.0, 30.0, 100.0))
    run_kernel(a, backend)
    np.testing.assert_allclose(a.a_end[0, 0], [0.0, 0.0, 80.0])


@pytest.mark.parametrize("metric", [P.M_COVERAGE, P.M_DSCR, P.M_OC])
def test_a_ratio_too_large_for_a_float_is_infinite_without_a_warning(metric, backend):
    """A coverage, DSCR or OC ratio whose denominator is nearly nothing (interest due of
    1e-303 from a coupon of 1e-306, a note balance of 1e-305) is +inf on both backends, with
    no overflow warning (found by the property generator: the reference twin divided numpy
    scalars and warned, an error under the suite's warnings-as-errors)."""
    bal = 1e-305 if metric == P.M_OC else 1000.0
    a = make([], T=1, bal0=(bal,), rate=1e-306, coll=[1e6], pool_end=[1e6], due=[[bal]],
             triggers=[(metric, [0], 1, 1e300, 1, 0, 1)])
    run_kernel(a, backend)
    assert a.fired[0, 0, 0] == 1


# --- floating coupons: floor and cap ------------------------------------------------------------


def test_floating_coupon_floor_and_cap(backend):
    """Index + spread 0.01, floored at 2.5% and capped at 5%: on index paths 1%, 3%, 6% and
    -2% the coupon is 2.5% (floor), 4%, 5% (cap) and 2.5% (the floor holds below zero);
    interest due is balance x coupon x ACT/365F days."""
    tranches = [
        {"name": "A", "rank": 1, "balance": 900_000.0,
         "coupon": {"kind": "floating", "index": "LPR1Y", "spread": 0.01, "floor": 0.025, "cap": 0.05}},
        {"name": "B", "rank": 2, "balance": 50_000.0, "coupon": {"kind": "floating", "index": "LPR1Y", "spread": 0.01}},
        {"name": "SUB", "rank": 3, "kind": "subordinate", "balance": 50_000.0},
    ]
    d = deal([loan(1, amortization="bullet")], tranches=tranches, header={"reference_rates": {"LPR1Y": 0.03}})
    sc = Scenario(name="path", reference_rates={"LPR1Y": [0.01, 0.03, 0.06, -0.02]})
    r = ae.run(d, sc, backend=backend)
    t = r.tranches
    a = t[t["tranche"] == "A"].reset_index(drop=True)
    b = t[t["tranche"] == "B"].reset_index(drop=True)
    np.testing.assert_allclose(a["coupon_rate"].iloc[:5], [0.025, 0.04, 0.05, 0.025, 0.025], rtol=1e-14)
    # without a floor or a cap: index + spread, and nothing below zero
    np.testing.assert_allclose(b["coupon_rate"].iloc[:5], [0.02, 0.04, 0.07, 0.0, 0.0], rtol=1e-14, atol=1e-17)
    starts = [d.deal.closing_date, *r.schedule.payment_dates[:-1]]
    for k in range(4):
        yf = (r.schedule.payment_dates[k] - starts[k]).days / 365
        assert a.loc[k, "interest_due"] == pytest.approx(a.loc[k, "balance_start"] * a.loc[k, "coupon_rate"] * yf, rel=1e-13)


# --- the same semantics through a deal file's compiled program ------------------------------------


def _oc_deal(below: float):
    """A 1,000,000 bullet loan (no scheduled principal before maturity) paying 6% monthly,
    notes A 900,000 at 3% and SUB; an OC trigger on A (below ``below``) that moves the deal
    to an accelerated waterfall paying A all the cash."""
    tranches = [{"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 100_000.0}]
    normal = [{"action": "pay_interest", "from": "collection", "to": ["A"]},
              {"action": "pay_residual", "from": "collection", "to": "SUB"}]
    accelerated = [{"action": "pay_interest", "from": "collection", "to": ["A"]},
                   {"action": "pay_principal", "from": "collection", "to": ["A"]},
                   {"action": "pay_residual", "from": "collection", "to": "SUB"}]
    return deal([loan(1, amortization="bullet")], tranches, normal,
                triggers=[{"name": "oc", "metric": "oc_ratio", "tranches": ["A"], "below": below, "effect": "accelerate",
                           "curable": True}],
                waterfalls={"accelerated": accelerated})


def test_oc_trigger_of_a_deal_on_the_closing_pool_balance(backend):
    """The pool opens at 1,000,000; 5% CDR defaults part of it in month 1 (no recovery
    before the lag), so it closes period 1 at 1,000,000 x (1 - mdr), mdr = 1 - 0.95^(1/12).
    With OC below 1,000,000 / 900,000 (the opening ratio, 1.1111...) the closing ratio is
    under it: the trigger fires in period 1; on the opening balance it would not."""
    mdr = 1 - 0.95 ** (1 / 12)
    closing = 1_000_000.0 * (1 - mdr)
    r = ae.run(_oc_deal(1_000_000.0 / 900_000.0), Scenario(name="cdr", defaults={"cdr": 0.05},
                                                             recovery={"lag_months": 6}), backend=backend)
    assert r.pool.loc[0, "balance_end"] == pytest.approx(closing, rel=1e-13)
    assert r.states.loc[0, "trigger:oc"]
    assert r.states.loc[0, "state"] == "accelerated"
    # with no defaults the ratio stays exactly at 1.1111... (no breach: below is strict)
    flat = ae.run(_oc_deal(1_000_000.0 / 900_000.0), Scenario(name="none"), backend=backend)
    assert not flat.states["trigger:oc"].iloc[:11].any()


def test_a_bullet_tranche_is_repaid_on_its_expected_maturity(backend):
    """A bullet class with an expected maturity on the 6th payment date (10 Aug 2026, an
    unadjusted payment date) receives nothing before it (the excess interest pays the
    pass-through class behind it down) and its whole balance on it, from the bullet loan
    that repays 1,000,000 in July (paid on 10 Aug)."""
    tranches = [{"name": "A", "rank": 1, "balance": 500_000.0, "coupon": {"kind": "fixed", "rate": 0.03},
                 "principal": {"style": "bullet"}, "expected_maturity": "2026-08-10"},
                {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 500_000.0}]
    r = ae.run(deal([loan(1, amortization="bullet", maturity_date=dt.date(2026, 7, 15))], tranches), backend=backend)
    a = r.tranches[r.tranches["tranche"] == "A"].reset_index(drop=True)
    sub = r.tranches[r.tranches["tranche"] == "SUB"].reset_index(drop=True)
    assert (sub["principal_paid"].iloc[:5] > 0).all()
    assert r.schedule.payment_dates[5] == dt.date(2026, 8, 10)
    np.testing.assert_array_equal(a["principal_paid"].iloc[:5], 0.0)
    assert a.loc[5, "principal_paid"] == pytest.approx(500_000.0)
