"""The delinquency pipeline (abs_engine/pools/delinquency.py) and the delinquency-ratio
trigger (严重拖欠率): hand-computed cases, the identities that hold for any pool, and the
trigger through the waterfall on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from builders import deal, loan
from hypothesis import given
from hypothesis import strategies as st
from test_curves import CUTOFF, add_months, asset, project

import abs_engine as ae
from abs_engine.model.scenario import MonteCarlo, Scenario

P0 = 1_200_000.0


def _loan(**kw):
    return asset(1, CUTOFF, 12, balance=P0, amortization="equal_principal", **kw)


def test_a_missed_payment_rolls_to_default_after_three_months():
    """10% of a 1,200,000 equal-principal loan (100,000 a month, 0.5% a month) misses its
    first payment and never pays again: it is 1-30 days past due in month 1, 31-60 in month 2,
    61-90 in month 3 and defaults (90+ days) in month 4 owing all its 120,000; the interest it
    missed (on its schedule's balance: 600, 550, 500) is lost."""
    sc = Scenario(name="d", delinquency={"entry": [0.1, 0.0], "roll": [1, 1, 1]}, recovery={"rate": 0.5, "lag_months": 2})
    f = project([_loan()], [sc], 16)
    x = f.extra
    assert [x["delinquent_1_30"][0, 1], x["delinquent_31_60"][0, 2], x["delinquent_61_90"][0, 3]] == [120_000.0] * 3
    assert x["delinquent_interest_missed"][0, 1:5].tolist() == pytest.approx([600.0, 550.0, 500.0, 0.0])
    assert f.default_amount[0, 4] == pytest.approx(120_000.0) and f.default_amount[0].sum() == pytest.approx(120_000.0)
    assert f.recovery[0, 6] == pytest.approx(60_000.0) and f.loss[0, 6] == pytest.approx(60_000.0)
    assert f.scheduled_principal[0, 1:5].tolist() == pytest.approx([90_000.0] * 4)
    # the pool balance counts the delinquent loans until they default
    assert f.balance_end[0, 3] == pytest.approx(P0 - 3 * 90_000.0)


def test_a_cure_pays_the_arrears_and_puts_the_loan_back_on_its_schedule():
    """The same 10% misses month 1 and cures in month 2, paying the missed 10,000 of
    principal and 600 of interest with its month-2 instalment: from month 2 on the pool is as
    if nothing had been missed, and no interest is lost."""
    sc = Scenario(name="d", delinquency={"entry": [0.1, 0.0], "roll": [0, 0, 0], "cure": [1, 0, 0]})
    f, base = project([_loan()], [sc], 14), project([_loan()], [Scenario(name="b")], 14)
    assert f.extra["cured"][0, 2] == pytest.approx(110_000.0)
    assert f.scheduled_principal[0, 2] == pytest.approx(100_000.0 + 10_000.0)
    assert f.interest_collected[0, 2] == pytest.approx(base.interest_collected[0, 2] + 600.0)
    np.testing.assert_allclose(f.balance_end[0, 2:], base.balance_end[0, 2:], atol=1e-6)
    assert f.interest_collected[0].sum() == pytest.approx(base.interest_collected[0].sum())
    assert f.default_amount[0].sum() == 0.0


def test_a_quarterly_loan_cannot_stay_behind_between_payments():
    """A quarterly loan that misses a payment is 31-60 days past due a month later and 61-90
    the month after, whatever the 'stay' share: no instalment falls due in between."""
    sc = Scenario(name="d", delinquency={"entry": [0.0, 0.0, 0.2, 0.0], "roll": [0.1, 0.1, 0.1]})
    f = project([asset(1, CUTOFF, 12, balance=P0, amortization="bullet", payment_frequency="quarterly")], [sc], 16)
    x = f.extra
    assert x["delinquent_1_30"][0, 3] == pytest.approx(0.2 * P0)
    assert x["delinquent_31_60"][0, 4] == pytest.approx(0.2 * P0) and x["delinquent_61_90"][0, 5] == pytest.approx(0.2 * P0)
    # in month 6 (a payment month) 10% defaults and 90% stays, paying that quarter's interest
    assert f.default_amount[0, 6] == pytest.approx(0.02 * P0)
    assert x["delinquent_61_90"][0, 6] == pytest.approx(0.18 * P0)


@given(entry=st.floats(0, 0.2), roll=st.lists(st.floats(0, 1), min_size=3, max_size=3),
       cure=st.lists(st.floats(0, 1), min_size=3, max_size=3), cdr=st.floats(0, 0.3), cpr=st.floats(0, 0.3),
       ages=st.lists(st.integers(0, 6), min_size=1, max_size=3),
       amort=st.sampled_from(["annuity", "equal_principal", "bullet"]), freq=st.sampled_from(["monthly", "quarterly"]),
       by_value=st.booleans())
def test_the_pipeline_accounts_for_every_unit_of_principal(entry, roll, cure, cdr, cpr, ages, amort, freq, by_value):
    """Whatever the rates: each month the pool balance rolls forward (start - principal paid
    - prepayment - defaults = end), the buckets are inside it, and over the life every unit of
    principal is paid, prepaid or defaulted; recoveries never exceed defaults."""
    cure = [min(c, 1 - r) for r, c in zip(roll, cure, strict=True)]
    rec = {"haircut": 0.4, "lag_months": 2} if by_value else {"rate": 0.4, "lag_months": 2}
    sc = Scenario(name="d", defaults={"cdr": cdr}, prepayment={"cpr": cpr}, recovery=rec,
                  delinquency={"entry": entry, "roll": roll, "cure": cure})
    loans = [asset(i, add_months(CUTOFF, -a), 12, collateral_value=600_000.0, amortization=amort, payment_frequency=freq)
             for i, a in enumerate(ages)]
    M = 60
    f = project(loans, [sc], M)
    roll_fwd = f.balance_start[0, 1:] - f.scheduled_principal[0, 1:] - f.prepayment[0, 1:] - f.default_amount[0, 1:]
    np.testing.assert_allclose(roll_fwd, f.balance_end[0, 1:], atol=1e-6)
    late = sum(f.extra[k][0] for k in ("delinquent_1_30", "delinquent_31_60", "delinquent_61_90"))
    assert (late <= f.balance_end[0] + 1e-6).all()
    total = f.scheduled_principal[0].sum() + f.prepayment[0].sum() + f.default_amount[0].sum() + f.balance_end[0, -1]
    assert total == pytest.approx(len(loans) * 1e6, rel=1e-10)
    assert f.recovery[0].sum() <= f.default_amount[0].sum() + 1e-6


def test_no_entry_is_no_pipeline():
    sc = Scenario(name="d", defaults={"cdr": 0.05}, prepayment={"cpr": 0.1},
                  delinquency={"entry": 0.0, "roll": [0.5, 0.5, 0.5], "cure": [0.2, 0.2, 0.2]})
    f, base = project([_loan()], [sc], 14), project([_loan()], [sc.model_copy(update={"delinquency": None})], 14)
    for k in ("balance_end", "scheduled_principal", "prepayment", "default_amount", "interest_collected", "recovery"):
        np.testing.assert_allclose(getattr(f, k), getattr(base, k), rtol=1e-14, atol=1e-9, err_msg=k)


def _trigger_deal(**trigger):
    return deal([loan(1, balance=1_200_000.0, amortization="equal_principal", maturity_date=add_months(
        loan(1)["origination_date"], 12))],
        triggers=[{"name": "dq", "metric": "delinquency_ratio", "above": 0.05, "effect": "accelerate", **trigger}],
        waterfalls={"accelerated": [{"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
                                    {"action": "pay_residual", "from": "collection", "to": "SUB"}]})


def test_delinquency_ratio_trigger(backend):
    """严重拖欠率: the unpaid principal more than 30 days past due over the pool balance, at each
    period's end; it fires the trigger in the first period it exceeds 5%, as computed from the
    pool frame, on both backends."""
    d = _trigger_deal()
    sc = Scenario(name="d", delinquency={"entry": [0.0, 0.08, 0.0], "roll": [1, 0.5, 0.0], "cure": [0, 0.5, 1]})
    r = ae.run(d, [sc, Scenario(name="none")], backend=backend)
    r.check_conservation()
    pool = r.pool[r.pool["scenario"] == "d"].reset_index(drop=True)
    ratio = (pool["delinquent_31_60"] + pool["delinquent_61_90"]) / pool["balance_end"]
    first = int(np.argmax(ratio.to_numpy() > 0.05))
    assert ratio.max() > 0.05 and ratio.iloc[first - 1] <= 0.05
    states = r.states[r.states["scenario"] == "d"].reset_index(drop=True)
    assert states["trigger:dq"].tolist() == [False] * first + [True] * (len(states) - first)
    assert not r.states[r.states["scenario"] == "none"]["trigger:dq"].any()
    # counting every delinquent loan (1 day) fires a period earlier
    r1 = ae.run(_trigger_deal(past_due_days=1), [sc], backend=backend)
    assert int(np.argmax(r1.states["trigger:dq"].to_numpy())) == first - 1


def test_pipelines_are_refused_where_not_modelled(example_deal):
    sc = Scenario(name="d", delinquency={"entry": 0.01, "roll": [0.5, 0.5, 0.5]})
    with pytest.raises(ae.InputError, match="a delinquency pipeline with the risk-sharing layers"):
        ae.run(example_deal, sc)
    from abs_engine.studies import simulate

    plain = ae.load_deal("tests/golden/deals/sifma_sf22_mortgage.yaml")
    with pytest.raises(ae.InputError, match="expected-value model"):
        simulate(plain, sc, MonteCarlo(paths=2))
    with pytest.raises(ValueError, match="roll \\+ cure of a bucket is at most 1"):
        Scenario(name="x", delinquency={"entry": 0.01, "roll": [0.5, 0.5, 0.5], "cure": [0.6, 0, 0]})
