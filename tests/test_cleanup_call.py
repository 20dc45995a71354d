"""The clean-up call (清仓回购): the originator buys the performing assets when the pool has
amortised to its threshold; loans that defaulted before keep bringing in their recoveries.

Every case runs on both backends with the conservation check."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import deal, loan
from conftest import DEALS

import abs_engine as ae
from abs_engine.model.scenario import MonteCarlo, Scenario

#: L002 defaults in March 2026; its disposal proceeds come six months later.
DEFAULTED = Scenario.model_validate({
    "name": "d", "defaults": {"loans": {"L002": dt.date(2026, 3, 20)}},
    "recovery": {"rate": 0.5, "lag_months": 6},
})


def _run(call, scenario, backend, loans=None):
    d = deal(loans=loans or [loan(1), loan(2)], **({"cleanup_call": call} if call else {}))
    result = ae.run(d, scenario, backend=backend)
    result.check_conservation()
    return result


def _pool(result, column):
    return result.pool[column].to_numpy()


@pytest.mark.parametrize("price", [1.0, 0.9])
def test_recoveries_of_earlier_defaults_survive_the_call(backend, price):
    plain = _run(None, DEFAULTED, backend)
    called = _run({"threshold": 0.3, "price": price}, DEFAULTED, backend)
    t = int(called.cleanup_period[0])
    assert t >= 0
    # the defaulted loan's proceeds (and its loss) arrive as without the call, after it
    np.testing.assert_allclose(_pool(called, "recovery"), _pool(plain, "recovery"), rtol=0, atol=1e-9)
    assert _pool(called, "recovery")[t + 1:].sum() > 0
    # the performing balance at the end of the call period is sold at the price ...
    sold = _pool(plain, "balance_end")[t]
    assert _pool(called, "prepayment")[t] == pytest.approx(_pool(plain, "prepayment")[t] + price * sold, abs=1e-6)
    assert _pool(called, "loss").sum() == pytest.approx(_pool(plain, "loss").sum() + (1 - price) * sold, abs=1e-6)
    # ... and nothing more is scheduled, prepaid, collected or defaults after it
    for col in ("scheduled_principal", "prepayment", "interest_collected", "default_amount", "balance_end"):
        assert not _pool(called, col)[t + 1:].any(), col
    assert _pool(called, "balance_end")[t] == 0.0
    # every cent the pool collects reaches the waterfall: total principal collected
    # = the original balance less the recognised losses
    collected = sum(_pool(called, c).sum() for c in ("scheduled_principal", "prepayment", "recovery"))
    assert collected == pytest.approx(called.pools[0].original_balance - _pool(called, "loss").sum(), abs=1e-6)


def test_a_call_never_exercised_changes_nothing(backend):
    plain = _run(None, DEFAULTED, backend)
    never = _run({"threshold": 0.0}, DEFAULTED, backend)
    assert never.cleanup_period.tolist() == [-1]
    for col in ("recovery", "prepayment", "balance_end", "interest_collected"):
        np.testing.assert_array_equal(_pool(never, col), _pool(plain, col))


def test_expected_value_defaults_before_the_call_keep_their_recoveries(backend):
    sc = Scenario(name="cdr", defaults={"cdr": 0.2}, recovery={"rate": 0.4, "lag_months": 9})
    plain = _run(None, sc, backend)
    called = _run({"threshold": 0.4}, sc, backend)
    t = int(called.cleanup_period[0])
    assert t >= 0
    sched = called.schedule
    # recoveries after the call are those of the defaults up to its last collection month
    rec_plain, rec_called = _pool(plain, "recovery"), _pool(called, "recovery")
    np.testing.assert_allclose(rec_called[: t + 1], rec_plain[: t + 1], rtol=0, atol=1e-9)
    assert rec_called[t + 1:].sum() > 0
    assert rec_called[t + 1:].sum() < rec_plain[t + 1:].sum()  # later defaults never happen
    assert 0.4 * _pool(called, "default_amount").sum() == pytest.approx(rec_called.sum(), abs=1e-6)
    assert sched.n_periods == plain.schedule.n_periods


def test_licence_pool_call_keeps_recoveries(backend):
    from abs_engine.model.deal import CleanUpCall

    licence_deal = ae.load_deal(DEALS / "pudong_licence_2020.yaml")
    sc = Scenario(name="cdr", defaults={"cdr": 0.3}, receivables={"recovery_rate": 0.3, "recovery_lag_months": 6})
    plain = ae.run(licence_deal, sc, backend=backend)
    called_deal = licence_deal.model_copy(update={"cleanup_call": CleanUpCall(threshold=0.5, price=0.95)})
    called = ae.run(called_deal, sc, backend=backend)
    called.check_conservation()
    t = int(called.cleanup_period[0])
    assert t >= 0
    sold = _pool(plain, "balance_end")[t]
    assert _pool(called, "prepayment")[t] == pytest.approx(0.95 * sold, abs=1e-6)
    # the deal's fee guarantee pays on the licences that defaulted before the call, after it
    after = _pool(called, "recovery")[t + 1:] + _pool(called, "support_paid")[t + 1:]
    assert after.sum() > 1000.0
    for col in ("scheduled_principal", "default_amount", "balance_end", "fees_due"):
        assert not _pool(called, col)[t + 1:].any(), col
    # and what defaulted by the call is claimed as without it
    m = slice(0, t + 1)
    assert _pool(called, "default_amount")[m].sum() == pytest.approx(_pool(plain, "default_amount")[m].sum(), rel=1e-12)
    support = _pool(called, "support_paid").sum() + _pool(called, "recovery").sum()
    assert 0 < support < _pool(plain, "support_paid").sum() + _pool(plain, "recovery").sum()


def test_monte_carlo_paths_with_the_call_equal_the_engine_on_the_same_draws(backend):

    from abs_engine.engine import Projector
    from abs_engine.pools.base import Events
    from abs_engine.studies.montecarlo import SimulationContext, _paths, build_model, run_paths

    loans = [loan(i, amortization="annuity", collateral_value=1_000_000.0) for i in range(1, 9)]
    d = deal(loans=loans, cleanup_call={"threshold": 0.45, "price": 0.98})
    sc = Scenario(name="mc", defaults={"cdr": 0.25}, recovery={"haircut": 0.3, "lag_months": 4})
    ctx = SimulationContext(d, sc, MonteCarlo(paths=64, seed=3, correlation=0.3), backend, fast=True)
    model = build_model(ctx)
    scenarios, dms, ims, _, _, _ = _paths(ctx, model, 0, 64)
    got = run_paths(ctx, (0, 64))
    proj = Projector(d, scenarios)  # the projection API the simulation goes through, on the same draws
    want = proj.result(scenarios, *proj.flows(scenarios, [Events(dm, im) for dm, im in zip(dms, ims, strict=True)]), backend)
    want.check_conservation()
    assert (want.cleanup_period >= 0).sum() > 10  # the call is exercised on most paths
    assert (np.asarray(dms[0]) > 0).any()
    tm = want.measures()
    np.testing.assert_allclose(got["loss"], tm.loss, rtol=0, atol=1e-6)
