"""Result.check_conservation() is not vacuous: each way a run can lose or invent cash is
caught (the run's arrays are altered after the fact, as a bug would leave them)."""

from __future__ import annotations

import pytest
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.results import ConservationError


@pytest.fixture(scope="module")
def runs():
    deal = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    scenarios = [ae.load_scenario(SCENARIOS / "base.yaml"), ae.load_scenario(SCENARIOS / "stress.yaml")]
    return lambda: ae.run(deal, scenarios)


def _shift(arr, t0, k, amount):
    arr[:, t0:, k] += amount


def test_a_clean_run_passes(runs):
    runs().check_conservation()


@pytest.mark.parametrize("case,message", [
    ("account jumps between periods", "account balances: a period does not open"),
    ("note jumps between periods", "note balances: a period does not open"),
    ("account opens off its initial balance", "account balances: the first period"),
    ("note opens off its original balance", "note balances: the first period"),
    ("a pool's recovery never reaches the waterfall", "did not reach the waterfall"),
    ("the waterfall gets cash no pool collected", "more than the pools collected"),
    ("a payment without cash", "cash not conserved"),
    ("a note balance that does not roll forward", "do not roll forward"),
    ("a balance below zero", "a balance went negative"),
    ("a provider beyond its capacity", "paid beyond its capacity"),
    ("a default the support layers do not account for", "support layers"),
])
def test_each_break_is_caught(runs, case, message):
    r = runs()
    a = r.args
    if case == "account jumps between periods":  # both ends moved: the period itself balances
        _shift(a.a_start, 5, 0, 1e6)
        _shift(a.a_end, 5, 0, 1e6)
    elif case == "note jumps between periods":
        _shift(a.t_bal_start, 2, 0, 500.0)
        _shift(a.t_bal_end, 2, 0, 500.0)
    elif case == "account opens off its initial balance":
        _shift(a.a_start, 0, 0, 1e6)
        _shift(a.a_end, 0, 0, 1e6)
    elif case == "note opens off its original balance":
        _shift(a.t_bal_start, 0, 0, 500.0)
        _shift(a.t_bal_end, 0, 0, 500.0)
    elif case == "a pool's recovery never reaches the waterfall":
        r.pools[0].series["recovery"][1, 3] += 459_466.79
    elif case == "the waterfall gets cash no pool collected":
        r.pools[0].series["scheduled_principal"][1, 3] -= 1000.0
    elif case == "a payment without cash":
        a.t_int_paid[0, 1, 0] += 1.0
    elif case == "a note balance that does not roll forward":
        a.t_bal_end[0, 1, 0] -= 1.0
        a.t_bal_start[0, 2, 0] -= 1.0
    elif case == "a balance below zero":  # the last period pays A 1.0 more than it owes, from an empty account
        a.t_prin[0, -1, 0] += 1.0
        a.t_bal_end[0, -1, 0] -= 1.0
        a.a_end[0, -1, 0] -= 1.0  # (every identity still holds)
    elif case == "a provider beyond its capacity":  # the undertaking (capacity 0 here) pays 1.0 of interest
        und = [x.name for x in r.deal.accounts].index("undertaking")
        a.acct0[und] = 0.0
        a.a_start[0, :, und] = 0.0
        a.a_end[0, :, und] = 0.0
        a.a_drawn[0, 2, und] += 1.0
        a.t_int_paid[0, 2, 0] += 1.0
    else:  # a defaulted loan's loss booked twice in the layers' per-loan ledger
        r.pools[0].layer_result.loan_loss[0, 0] += 1000.0
    with pytest.raises(ConservationError, match=message):
        r.check_conservation()
