"""Properties of the engine on generated deals and scenarios (hypothesis).

Profiles (tests/conftest.py): bounded and derandomized in CI, thorough with
HYPOTHESIS_PROFILE=thorough.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from builders import deal, loan
from hypothesis import assume, given
from hypothesis import strategies as st

import abs_engine as ae
from abs_engine._program import KernelArgs
from abs_engine.model.scenario import Scenario

AMORT = ["annuity", "equal_principal", "bullet", "interest_only_balloon"]
FREQ = ["monthly", "quarterly", "semiannual"]


@st.composite
def loans(draw, min_rate=0.0):
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        term = draw(st.integers(3, 36))
        orig = dt.date(2026, 1, draw(st.integers(1, 28)))
        mat_year, mat_month = divmod(orig.month - 1 + term, 12)
        amort = draw(st.sampled_from(AMORT))
        out.append(loan(
            i + 1,
            balance=float(draw(st.integers(100_000, 30_000_000))),
            rate=draw(st.floats(min_rate, 0.12)),
            origination_date=orig,
            maturity_date=dt.date(orig.year + mat_year, mat_month + 1, orig.day),
            amortization=amort,
            payment_frequency=draw(st.sampled_from(FREQ)),
            io_periods=draw(st.integers(0, 3)) if amort == "interest_only_balloon" else 0,
            amortization_term_months=draw(st.integers(term, 60)) if amort == "interest_only_balloon" else None,
            collateral_value=float(draw(st.integers(0, 40_000_000))),
        ))
    return out


@st.composite
def structures(draw, max_coupon=0.1, small_fees=False):
    """A deal: 1-4 tranches, optional fees, reserve and triggers, a sequential waterfall."""
    ls = draw(loans(min_rate=max_coupon + 0.01 if small_fees else 0.0))
    total = sum(x["balance"] for x in ls)
    k = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=k - 1, max_size=k - 1)))
    shares = np.diff([0.0, *cuts, 1.0])
    sizes = [round(total * s, 2) for s in shares]
    sizes[-1] = round(total - sum(sizes[:-1]), 2)
    tranches = []
    for i, size in enumerate(sizes):
        last = i == k - 1 and k > 1
        coupon = {"kind": "none"} if last else {"kind": "fixed", "rate": draw(st.floats(0.0, max_coupon))}
        tranches.append({"name": f"T{i}", "rank": i + 1, "balance": max(size, 0.0),
                         "kind": "subordinate" if last else "senior", "coupon": coupon})
    names = [t["name"] for t in tranches]
    fees = []
    if draw(st.booleans()):
        if small_fees:  # income always covers expenses
            fees.append({"name": "trustee", "rate": draw(st.floats(0, 0.002)),
                         "base": draw(st.sampled_from(["pool_balance", "note_balance"]))})
        else:
            fees.append({"name": "trustee", "fixed": float(draw(st.integers(0, 5000))), "rate": draw(st.floats(0, 0.002)),
                         "base": draw(st.sampled_from(["pool_balance", "note_balance", "original_notes"]))})
    accounts = [{"name": "collection"}]
    with_reserve = draw(st.booleans())
    if with_reserve:
        accounts.append({"name": "reserve", "kind": "reserve", "initial_balance": float(draw(st.integers(0, 200_000))),
                         "target": {"percent_of_notes": draw(st.floats(0, 0.05)), "floor": float(draw(st.integers(0, 50_000)))}})
    support = ["reserve"] if with_reserve else []
    wf = []
    if with_reserve:
        wf.append({"action": "release_reserve", "from": "reserve", "to": "collection"})
    if fees:
        wf.append({"action": "pay_fee", "from": "collection", "to": ["trustee"], "support": support})
    for t in tranches:
        if t["coupon"]["kind"] != "none":
            wf.append({"action": "pay_interest", "from": "collection", "to": [t["name"]], "support": support})
    if with_reserve:
        wf.append({"action": "fund_reserve", "from": "collection", "to": "reserve"})
    mode = draw(st.sampled_from(["sequential", "pro_rata"]))
    wf.append({"action": "pay_principal", "from": "collection", "to": names, "mode": mode})
    wf.append({"action": "pay_residual", "from": "collection", "to": names[-1]})
    triggers, extra = [], {}
    if draw(st.booleans()):
        triggers.append({"name": "cdr", "metric": "cumulative_default_ratio", "above": draw(st.floats(0.0, 0.3)),
                         "effect": "accelerate"})
        extra["accelerated"] = [s for s in wf if s["action"] != "pay_principal"][:-1] + [
            {"action": "pay_principal", "from": "collection", "to": names, "follow_schedule": False},
            {"action": "pay_residual", "from": "collection", "to": names[-1]}]
    if draw(st.booleans()) and k > 1:
        triggers.append({"name": "oc", "metric": "oc_ratio", "tranches": [names[0]], "below": draw(st.floats(0.8, 1.5)),
                         "consecutive": draw(st.integers(1, 3)), "curable": draw(st.booleans()), "effect": "accelerate"})
        extra.setdefault("accelerated", wf)
    return deal(ls, tranches, wf, fees=fees, accounts=accounts, triggers=triggers, waterfalls=extra), mode


@st.composite
def scenarios(draw, recovery=True):
    return Scenario(
        name=f"s{draw(st.integers(0, 10**6))}",
        defaults={"cdr": draw(st.floats(0.0, 0.5))},
        prepayment={"cpr": draw(st.floats(0.0, 0.5))},
        recovery={"haircut": draw(st.floats(0, 1)) if recovery else 1.0, "lag_months": draw(st.integers(0, 24)),
                  "value_decay": draw(st.floats(0, 0.5))},
    )


@given(structures(), st.lists(scenarios(), min_size=1, max_size=3, unique_by=lambda s: s.name))
def test_kernel_equals_reference_and_conserves_cash(dm, scs):
    d, _ = dm
    ref = ae.run(d, scs, backend="reference")
    cy = ae.run(d, scs, backend="cython")
    for name in KernelArgs.OUTPUTS:
        np.testing.assert_allclose(getattr(cy.args, name), getattr(ref.args, name), rtol=0, atol=1e-9, err_msg=name)
    ref.check_conservation()
    cy.check_conservation()


@given(structures(), scenarios())
def test_sequential_seniority(dm, sc):
    """In a sequential step, no tranche gets principal while one before it still has a balance
    (all tranches are pass-through), and no junior interest is paid while a senior one is short."""
    d, mode = dm
    r = ae.run(d, sc)
    a = r.args
    K = len(d.tranches)
    for t in range(a.shape[1]):
        if mode == "sequential" and a.state[0, t] == 0:
            for j in range(1, K):
                if a.t_prin[0, t, j] > 1e-9:
                    assert np.all(a.t_bal_end[0, t, :j] <= 1e-9)
        shorts = a.t_int_short[0, t]
        for i in range(K):
            if shorts[i] > 1e-9:
                assert np.all(a.t_int_paid[0, t, i + 1:] <= 1e-9)


@given(structures(max_coupon=0.04, small_fees=True), st.floats(0.0, 0.5))
def test_zero_loss_repays_par(dm, cpr):
    """Without losses, and with loan rates above coupons plus expenses, every tranche is
    repaid at par."""
    d, _ = dm
    r = ae.run(d, Scenario(name="noloss", prepayment={"cpr": cpr}))
    s = r.summary()
    np.testing.assert_allclose(s["principal"], s["balance"], rtol=1e-9, atol=1e-6)
    assert (s["writedown"].abs() < 1e-6).all()


@given(structures(), st.floats(0.0, 0.4), st.floats(0.0, 0.4), st.floats(0.0, 0.3))
def test_higher_defaults_never_pay_the_subordinate_more(dm, c1, c2, cpr):
    """With no recovery (a recovery can bring cash forward and so help the junior class).

    Not for a pro-rata deal whose trigger switches it to sequential pay: the senior is then
    repaid sooner and costs less interest, so a default that fires the trigger can leave the
    subordinate more cash in nominal terms — what such a structure does, not a defect."""
    d, mode = dm
    assume(not (mode == "pro_rata" and d.waterfalls.accelerated is not None and d.triggers))
    lo, hi = sorted([c1, c2])
    mk = lambda n, c: Scenario(name=n, defaults={"cdr": c}, prepayment={"cpr": cpr}, recovery={"rate": 0.0})  # noqa: E731
    r = ae.run(d, [mk("lo", lo), mk("hi", hi)])
    last = len(d.tranches) - 1
    paid = (r.args.t_prin + r.args.t_resid + r.args.t_int_paid)[:, :, last].sum(axis=1)
    assert paid[1] <= paid[0] + 1e-6
