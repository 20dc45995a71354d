"""Servicer advancing of defaulted pledge loans (abs_engine/pools/advancing.py; SIFMA SF-16 to
SF-19). The published case (Cash Flow A, to the dollar) is a golden test in
test_golden_published.py; here: hand-computed cases and the identities that hold for any pool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_curves import CUTOFF, add_months, asset, project

import abs_engine as ae
from abs_engine.model.scenario import Scenario


def _scenario(advancing: bool, **kw) -> Scenario:
    rec = {"rate": 0.6, "lag_months": 3, **kw.pop("recovery", {})}
    rec["advancing"] = "principal_and_interest" if advancing else "none"
    return Scenario(name="adv" if advancing else "none", recovery=rec, **kw)


def test_a_named_default_amortises_until_liquidation():
    """A 1,200,000 equal-principal loan (12 monthly payments of 100,000, 6% a year) named to
    default in month 3, liquidated 3 months later at 60% of its balance at default: the
    servicer advances principal of 100,000 in months 3, 4 and 5 and interest on the balance
    in foreclosure (including month 6's, the liquidation month's); at liquidation the loan
    owes 700,000, of which the loss is 40% x 1,000,000 = 400,000 and the recovery 300,000."""
    loan = asset(1, CUTOFF, 12, balance=1_200_000.0, amortization="equal_principal")
    when = add_months(CUTOFF, 3)
    sc = _scenario(True, defaults={"loans": {"L1": when}})
    f = project([loan], [sc], 16)
    adv = f.extra["advanced_principal"][0]
    assert adv[[3, 4, 5]].tolist() == pytest.approx([100_000.0] * 3) and adv[6:].sum() == 0.0
    interest = f.extra["advanced_interest"][0]
    assert interest[[3, 4, 5, 6]].tolist() == pytest.approx([b * 0.005 for b in (1e6, 9e5, 8e5, 7e5)])
    assert f.recovery[0, 6] == pytest.approx(300_000.0) and f.loss[0, 6] == pytest.approx(400_000.0)
    assert f.extra["foreclosure_balance"][0, [3, 4, 5, 6]].tolist() == pytest.approx([9e5, 8e5, 7e5, 0.0], abs=1e-6)
    # the trust's principal: the loan's two payments, three advances and the recovery
    assert f.scheduled_principal[0].sum() + f.recovery[0].sum() + f.loss[0].sum() == pytest.approx(1_200_000.0)


def test_the_loss_is_capped_at_the_amortized_balance():
    """A default two months before maturity, liquidated after it: the loan has amortised to
    nothing by then, so nothing is recovered and nothing is lost at liquidation (the servicer
    advanced all of it)."""
    loan = asset(1, CUTOFF, 6, balance=600_000.0, amortization="equal_principal")
    sc = _scenario(True, defaults={"loans": {"L1": add_months(CUTOFF, 5)}}, recovery={"lag_months": 4})
    f = project([loan], [sc], 12)
    assert f.default_amount[0, 5] == pytest.approx(200_000.0)
    assert f.extra["advanced_principal"][0, [5, 6]].tolist() == pytest.approx([100_000.0, 100_000.0])
    assert f.recovery[0].sum() == 0.0 and f.loss[0].sum() == 0.0


@given(ages=st.lists(st.integers(0, 12), min_size=1, max_size=4), mdr=st.floats(0, 0.1), smm=st.floats(0, 0.1),
       lag=st.integers(0, 8), by_value=st.booleans(), amort=st.sampled_from(["annuity", "equal_principal", "bullet"]),
       freq=st.sampled_from(["monthly", "quarterly"]))
def test_advancing_accounts_for_every_default(ages, mdr, smm, lag, by_value, amort, freq):
    """Whatever the pool: advancing leaves the performing loans' flows as they are, and every
    default is paid back in advances, recovered or lost (the defaults equal advanced principal
    plus recoveries plus losses); the recovery plus loss is never more than without advancing."""
    rec = {"haircut": 0.3, "lag_months": lag} if by_value else {"rate": 0.55, "lag_months": lag}
    kw = {"defaults": {"cdr": {"mdr": mdr}}, "prepayment": {"cpr": {"smm": smm}}, "recovery": rec}
    loans = [asset(i, add_months(CUTOFF, -a), 18, collateral_value=500_000.0, amortization=amort, payment_frequency=freq)
             for i, a in enumerate(ages)]
    M = 18 + lag + 1
    f = project(loans, [_scenario(True, **kw), _scenario(False, **kw)], M)
    for k in ("balance_end", "prepayment", "default_amount"):
        np.testing.assert_array_equal(getattr(f, k)[0], getattr(f, k)[1])
    D = f.default_amount[0].sum()
    back = f.extra["advanced_principal"][0].sum() + f.recovery[0].sum() + f.loss[0].sum()
    assert back == pytest.approx(D, rel=1e-10, abs=1e-6)
    assert f.recovery[0].sum() + f.loss[0].sum() <= f.recovery[1].sum() + f.loss[1].sum() + 1e-6
    assert f.extra["foreclosure_balance"][0, -1] == pytest.approx(0.0, abs=1e-6)


def test_advancing_is_refused_with_risk_sharing_layers(example_deal):
    sc = Scenario(name="a", defaults={"cdr": 0.02}, recovery={"advancing": "principal_and_interest"})
    with pytest.raises(ae.InputError, match="servicer advancing with the risk-sharing layers of pool"):
        ae.run(example_deal, sc)


def test_advancing_through_the_waterfall(backend):
    """With advancing the notes are paid the advances; cash is conserved and the pool frame
    gains the advancing columns (only in runs that advance)."""
    d = ae.load_deal("tests/golden/deals/sifma_sf22_mortgage.yaml")
    sc = Scenario(name="a", defaults={"cdr": {"mdr": 0.01}}, recovery={"rate": 0.8, "lag_months": 12,
                                                                        "advancing": "principal_and_interest"})
    r = ae.run(d, [sc], backend=backend)
    r.check_conservation()
    assert {"advanced_principal", "advanced_interest", "foreclosure_balance"} <= set(r.pool.columns)
    assert "advanced_principal" not in ae.run(d, Scenario(name="b"), backend=backend).pool.columns
    t = r.tranches
    assert t["principal_paid"].sum() + t["writedown"].sum() == pytest.approx(100e6, rel=1e-12)
