"""Each waterfall action on hand-built programs, hand-computed, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from builders import INF, make

from abs_engine.engine import run_kernel
from abs_engine.waterfall import program as P


def test_fees_pro_rata_when_short_and_carried(backend):
    a = make([("pay_fee", dict(a=[0, 1]))], T=2, coll=[200.0, 1000.0], fees=[(100.0, 0.0), (300.0, 0.0)])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.f_paid[0, 0], [50.0, 150.0])
    np.testing.assert_allclose(a.f_unpaid[0, 0], [50.0, 150.0])
    # period 2: current 100/300 plus carried 50/150
    np.testing.assert_allclose(a.f_due[0, 1], [150.0, 450.0])
    np.testing.assert_allclose(a.f_paid[0, 1], [150.0, 450.0])
    assert a.a_end[0, 1, 0] == pytest.approx(1200 - 800)


def test_fee_cap_and_forfeit(backend):
    a = make([("pay_fee", dict(a=[0]))], T=2, coll=[0.0, 1000.0], fees=[(0.0, 0.01, 40.0, 0, 0)],
             pool_start=[5000.0, 5000.0])
    run_kernel(a, backend)
    assert a.f_due[0, 0, 0] == pytest.approx(40.0)  # min(cap 40, 1% x 5000 = 50)
    assert a.f_due[0, 1, 0] == pytest.approx(40.0)  # not carried: forfeited
    assert a.f_paid[0, 1, 0] == pytest.approx(40.0)


def test_fees_stop_once_notes_are_repaid(backend):
    a = make([("pay_fee", dict(a=[0])), ("pay_principal", dict(a=[0]))], T=3, coll=[150.0, 80.0, 80.0],
             bal0=(100.0,), fees=[(10.0, 0.0)])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.f_due[0, :, 0], [10.0, 0.0, 0.0])
    assert a.a_end[0, 2, 0] == pytest.approx(40.0 + 80.0 + 80.0)


def test_interest_shortfall_carried_with_interest(backend):
    # balance 1000 at 10% with accrual 0.5 -> 50 due; only 20 collected in period 1
    a = make([("pay_interest", dict(a=[0]))], T=2, coll=[20.0, 500.0], bal0=(1000.0,), rate=0.10, accr=0.5,
             sfint=[1])
    run_kernel(a, backend)
    assert a.t_int_short[0, 0, 0] == pytest.approx(30.0)
    assert a.t_int_due[0, 1, 0] == pytest.approx(50.0 + 30.0 + 30.0 * 0.05)
    assert a.t_int_paid[0, 1, 0] == pytest.approx(81.5)


def test_interest_shortfall_not_carried(backend):
    a = make([("pay_interest", dict(a=[0]))], T=2, coll=[20.0, 500.0], bal0=(1000.0,), rate=0.10, accr=0.5,
             carry=[0])
    run_kernel(a, backend)
    assert a.t_int_due[0, 1, 0] == pytest.approx(50.0)


def test_interest_pro_rata_within_group(backend):
    a = make([("pay_interest", dict(a=[0, 1]))], coll=[30.0], bal0=(1000.0, 500.0), rate=0.04, accr=1.0)
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_int_paid[0, 0], [20.0, 10.0])  # 40:20 due, 30 available


def test_sequential_principal_and_writedown_at_end(backend):
    a = make([("pay_principal", dict(a=[0, 1]))], T=2, coll=[120.0, 30.0], bal0=(100.0, 100.0))
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], [100.0, 20.0])
    np.testing.assert_allclose(a.t_prin[0, 1], [0.0, 30.0])
    np.testing.assert_allclose(a.t_wd[0, 1], [0.0, 50.0])
    np.testing.assert_allclose(a.t_bal_end[0, 1], [0.0, 0.0])


def test_pro_rata_principal(backend):
    a = make([("pay_principal", dict(a=[0, 1], mode=1))], coll=[60.0], bal0=(100.0, 50.0))
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], [40.0, 20.0])


def test_principal_follows_schedule_and_target(backend):
    # bullet-style floor on tranche 0 in period 1; OC target keeps the group at 50% of pool
    a = make([("pay_principal", dict(a=[0, 1]))], T=2, coll=[500.0, 500.0], bal0=(100.0, 100.0),
             sched=[[100.0, 0.0], [0.0, 0.0]])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_prin[0, 0], [0.0, 100.0])
    np.testing.assert_allclose(a.t_prin[0, 1], [100.0, 0.0])
    b = make([("pay_principal", dict(a=[0], target=0.5))], coll=[500.0], bal0=(100.0,), pool_end=[120.0])
    run_kernel(b, backend)
    assert b.t_prin[0, 0, 0] == pytest.approx(100.0 - 60.0)


@pytest.mark.parametrize("first,second,want", [
    (dict(src=0, dst=1, limit=30.0), dict(src=0, dst=2, fraction=0.25), [52.5, 30.0, 17.5]),
    # at the boundary: a limit equal to what is available, a fraction of 1, move all of it
    (dict(src=0, dst=1, limit=100.0), dict(src=1, dst=2, fraction=1.0), [0.0, 0.0, 100.0]),
])
def test_limits(first, second, want, backend):
    a = make([("transfer", first), ("transfer", second)], coll=[100.0], acct0=(0.0, 0.0, 0.0))
    run_kernel(a, backend)
    np.testing.assert_allclose(a.a_end[0, 0], want, rtol=1e-15)


def test_reserve_fund_draw_release(backend):
    # reserve target 10% of notes (floor 0); notes 1000 -> target 100
    res = {1: [1, 0, 0, 0.10, 0, INF]}
    steps = [
        ("draw_reserve", dict(src=1, dst=0, b=[0])),
        ("pay_interest", dict(a=[0])),
        ("fund_reserve", dict(src=0, dst=1)),
        ("release_reserve", dict(src=1, dst=0)),
        ("pay_residual", dict(src=0, dst=0, mode=1)),
    ]
    a = make(steps, T=3, coll=[200.0, 0.0, 0.0], bal0=(1000.0,), rate=0.05, accr=1.0, acct0=(0.0, 0.0), res=res)
    run_kernel(a, backend)
    # t1: 50 interest paid from collections, reserve funded to 100, 50 residual
    assert a.t_int_paid[0, 0, 0] == pytest.approx(50.0)
    assert a.a_end[0, 0, 1] == pytest.approx(100.0)
    assert a.party[0, 0, 0] == pytest.approx(50.0)
    # t2: no collections -> reserve draws 50 for interest, then refunded? no cash: stays 50
    assert a.t_int_paid[0, 1, 0] == pytest.approx(50.0)
    assert a.a_end[0, 1, 1] == pytest.approx(50.0)
    # t3 (last): the target is zero, so the draw covers interest and the rest is released
    assert a.t_int_paid[0, 2, 0] == pytest.approx(50.0)
    assert a.a_end[0, 2, 1] == pytest.approx(0.0)
    assert a.party[0, 2, 0] == pytest.approx(0.0)


def test_support_accounts_pay_shortfall(backend):
    a = make([("pay_interest", dict(a=[0], b=[1]))], coll=[10.0], bal0=(1000.0,), rate=0.05, accr=1.0,
             acct0=(0.0, 100.0))
    run_kernel(a, backend)
    assert a.t_int_paid[0, 0, 0] == pytest.approx(50.0)
    np.testing.assert_allclose(a.a_end[0, 0], [0.0, 60.0])


def test_residual_share_and_party(backend):
    a = make([("pay_residual", dict(dst=0, share=0.8)), ("pay_residual", dict(dst=0, mode=1))], coll=[100.0])
    run_kernel(a, backend)
    assert a.t_resid[0, 0, 0] == pytest.approx(80.0)
    assert a.party[0, 0, 0] == pytest.approx(20.0)


def test_when_conditions(backend):
    a = make([("pay_residual", dict(dst=0, when=(-1, -1, 1, 2)))], T=3, coll=[10.0, 10.0, 10.0])
    run_kernel(a, backend)
    np.testing.assert_allclose(a.t_resid[0, :, 0], [0.0, 20.0, 0.0])


def test_trigger_consecutive_sticky_and_curable(backend):
    # external metric breaches in periods 2, 3, 5; needs 2 consecutive
    ext = [[0.0], [1.0], [1.0], [0.0], [1.0]]
    sticky = make([], T=5, triggers=[(P.M_EXTERNAL, [], 1, 0.5, 2, 0, 1)], ext=ext)
    run_kernel(sticky, backend)
    assert list(sticky.fired[0, :, 0]) == [0, 0, 1, 1, 1]
    assert list(sticky.state[0]) == [0, 0, 1, 1, 1]
    curable = make([], T=5, triggers=[(P.M_EXTERNAL, [], 1, 0.5, 2, 1, 2)], ext=ext)
    run_kernel(curable, backend)
    assert list(curable.fired[0, :, 0]) == [0, 0, 1, 0, 0]
    assert list(curable.state[0]) == [0, 0, 2, 0, 0]


def test_state_selects_waterfall(backend):
    normal = [("pay_residual", dict(dst=0))]
    accel = [("pay_principal", dict(a=[0]))]
    a = make(normal, T=2, coll=[10.0, 10.0], triggers=[(P.M_EXTERNAL, [], 1, 0.5, 1, 0, 1)],
             ext=[[0.0], [1.0]], states=[accel, accel])
    run_kernel(a, backend)
    assert a.t_resid[0, 0, 0] == pytest.approx(10.0) and a.t_prin[0, 0, 0] == 0
    assert a.t_prin[0, 1, 0] == pytest.approx(10.0) and a.t_resid[0, 1, 0] == 0


def test_oc_and_shortfall_metrics(backend):
    oc = make([("pay_principal", dict(a=[0]))], T=2, coll=[0.0, 0.0], bal0=(100.0,), pool_end=[90.0, 90.0],
              triggers=[(P.M_OC, [0], 0, 1.0, 1, 0, 1)])
    run_kernel(oc, backend)
    assert list(oc.fired[0, :, 0]) == [1, 1]
    sf = make([("pay_interest", dict(a=[0]))], T=3, coll=[0.0, 0.0, 0.0], bal0=(100.0,), rate=0.1,
              triggers=[(P.M_SHORTFALL, [0], 1, 0.0, 1, 0, 2)])
    run_kernel(sf, backend)
    assert list(sf.fired[0, :, 0]) == [0, 1, 1]


def test_reimburse_support_repays_what_the_provider_paid_in(backend):
    """Period 1: collections of 10 leave 40 of the 50 interest to the undertaker (account 1,
    capacity 100). Period 2: collections of 500 pay the interest, then repay the
    undertaker its 40; it is owed nothing more, and (restoring) its capacity is 100 again."""
    for restore, cap_after in ((0, 60.0), (1, 100.0)):
        a = make([("pay_interest", dict(a=[0], b=[1])), ("reimburse_support", dict(src=0, dst=1, mode=restore))],
                 T=2, coll=[10.0, 500.0], bal0=(1000.0,), rate=0.05, accr=1.0, acct0=(0.0, 100.0), external=(0, 1))
        run_kernel(a, backend)
        np.testing.assert_allclose(a.a_drawn[0, :, 1], [40.0, 0.0])
        np.testing.assert_allclose(a.a_repaid[0, :, 1], [0.0, 40.0])
        assert a.a_end[0, 1, 1] == pytest.approx(cap_after)
        assert a.a_end[0, 1, 0] == pytest.approx(500.0 - 50.0 - 40.0)
    # at most what the step's account holds, and within its limit
    a = make([("pay_interest", dict(a=[0], b=[1])), ("reimburse_support", dict(src=0, dst=1, limit=15.0))],
             T=2, coll=[10.0, 70.0], bal0=(1000.0,), rate=0.05, accr=1.0, acct0=(0.0, 100.0), external=(0, 1))
    run_kernel(a, backend)
    assert a.a_repaid[0, 1, 1] == pytest.approx(15.0)


def test_debt_service_coverage_metric(backend):
    """DSCR: deposits / (interest due + principal due). A scheduled tranche of 100 due down to
    60 then 20, 10% interest a period: period 1 due 10 + 40 = 50 against 45 deposited
    (0.9 < 1: breach; 35 of principal paid); period 2 due 6.5 + 45 = 51.5 against 60 (cured)."""
    sched = [[60.0], [20.0]]
    a = make([("pay_interest", dict(a=[0])), ("pay_principal", dict(a=[0]))], T=2, coll=[45.0, 60.0], bal0=(100.0,),
             rate=0.1, accr=1.0, sched=sched, triggers=[(P.M_DSCR, [0], 0, 1.0, 1, 1, 1)])
    run_kernel(a, backend)
    assert list(a.fired[0, :, 0]) == [1, 0]
    assert a.t_int_due[0, 1, 0] == pytest.approx(0.1 * (100.0 - 35.0))


def test_chunked_run_equals_single_call(backend, monkeypatch):
    import abs_engine.engine as eng

    S, T = 7, 4
    base = make([("pay_interest", dict(a=[0])), ("pay_principal", dict(a=[0, 1]))], T=T, bal0=(100.0, 50.0),
                rate=0.05)
    rng = np.random.default_rng(1)
    base.coll = rng.uniform(0, 80, size=(S, T, 1))
    base.rate = np.full((S, T, 2), 0.05)
    base.pool_start, base.pool_end, base.ext = np.zeros((S, T)), np.zeros((S, T)), np.zeros((S, T, 0))
    base.acct_fail = np.full((S, 1), T, dtype=np.int32)
    base.inc = np.zeros((S, T, P.N_INC))
    one = base.copy_inputs()
    run_kernel(one, backend)
    monkeypatch.setattr(eng, "CHUNK", 3)
    chunked = base.copy_inputs()
    run_kernel(chunked, backend)
    for name in P.KernelArgs.OUTPUTS:
        np.testing.assert_array_equal(getattr(one, name), getattr(chunked, name))


def test_kernel_refuses_a_recipient_listed_twice():
    """A pro-rata step weighs each recipient once; a repeated one (which the deal loader
    refuses) is refused by the kernel's index check instead of being paid twice."""
    a = make([("pay_principal", dict(a=[0, 0], mode=1))], coll=[50.0], bal0=(100.0,))
    with pytest.raises(ValueError, match="index 0 listed twice"):
        run_kernel(a, "cython")


def test_repay_liquidity_interest_then_principal(backend):
    """Account 1 is a liquidity facility (limit 100, 10% p.a. on draws, 2% on the undrawn
    limit, year fraction 0.5). Period 1: nothing collected; a fee of 30 is drawn from it;
    commitment fee 100 x 2% x 0.5 = 1. Period 2: 50 collected; interest 30 x 10% x 0.5 = 1.5
    and commitment fee 70 x 2% x 0.5 = 0.7 accrue; the fee (30) takes 30, then repay_liquidity
    pays 1 + 1.5 + 0.7 = 3.2 of interest and fees and 16.8 of the 30 drawn, which it may lend
    again (available 86.8)."""
    a = make([("pay_fee", dict(a=[0], b=[1])), ("repay_liquidity", dict(src=0, dst=1))], T=2, coll=[0.0, 50.0],
             fees=[(30.0, 0.0, INF, 0, 0)], acct0=(0.0, 100.0), external=[0, 1], accr=0.5)
    a.liq_par = np.array([[0.0, 0.0, 0.0], [1.0, 0.10, 0.02]])
    run_kernel(a, backend)
    assert a.a_drawn[0, 0, 1] == pytest.approx(30.0)
    np.testing.assert_allclose([a.l_int[0, 0, 1], a.l_fee[0, 0, 1]], [0.0, 1.0])
    np.testing.assert_allclose([a.l_int[0, 1, 1], a.l_fee[0, 1, 1]], [1.5, 0.7])
    assert a.l_paid[0, 1, 1] == pytest.approx(3.2)
    assert a.a_repaid[0, 1, 1] == pytest.approx(16.8)
    assert a.a_end[0, 1, 1] == pytest.approx(100.0 - 30.0 + 16.8)
    assert a.a_end[0, 1, 0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("code", "want"), [(P.BASE_COLL_INTEREST, 4.0), (P.BASE_COLL_PRINCIPAL, 6.0),
                                            (P.BASE_COLL_ALL, 10.0), (P.BASE_TAXABLE, 2.5)])
def test_fee_bases_on_the_periods_income(backend, code, want):
    """A fee of 10% of the period's income (not times the year fraction 0.25): interest 40,
    principal 60, taxable income 25 (inc columns)."""
    a = make([("pay_fee", dict(a=[0]))], coll=[100.0], fees=[(0.0, 0.10, INF, code, 1)], accr=0.25)
    a.inc = np.array([[[40.0, 60.0, 25.0]]])
    run_kernel(a, backend)
    assert a.f_due[0, 0, 0] == pytest.approx(want)
