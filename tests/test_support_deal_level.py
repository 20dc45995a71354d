"""Deal-level support providers: shortfall payment undertakings (差额支付承诺) and
guarantees of named tranches; their capacity, failure and effect on conservation."""

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

WIPEOUT = Scenario(name="wipeout", defaults={"loans": {"L001": dt.date(2026, 2, 20)}}, recovery={"rate": 0.0})


def backed_deal(capacity=None, cover_principal=True, second=False):
    """One bullet loan, senior A + SUB; an undertaker covers A's interest (and principal at
    expected maturity); optionally a second undertaker backs only SUB's interest."""
    accounts = [{"name": "collection"}, {"name": "und", "kind": "undertaking", **({"capacity": capacity} if capacity is not None else {})}]
    # the undertaking backs A's interest at its step, and A's principal (due from the
    # expected maturity) through a draw placed right before the principal step
    wf = [{"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["und"]}]
    tranches = [{"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "B", "rank": 2, "balance": 100_000.0, "kind": "mezzanine", "coupon": {"kind": "fixed", "rate": 0.05}}]
    if second:
        accounts.append({"name": "und2", "kind": "undertaking"})
        wf.append({"action": "pay_interest", "from": "collection", "to": ["B"], "support": ["und2"]})
    else:
        wf.append({"action": "pay_interest", "from": "collection", "to": ["B"]})
    if cover_principal:
        wf.append({"action": "draw_reserve", "from": "und", "to": "collection", "cover": {"principal": ["A"]}})
    wf += [{"action": "pay_principal", "from": "collection", "to": ["A", "B"]},
           {"action": "pay_residual", "from": "collection", "to": "B"}]
    return deal([loan(1, amortization="bullet")], tranches, wf, accounts=accounts)


def test_undertaking_pays_senior_interest_and_principal_at_expected_maturity(backend):
    r = ae.run(backed_deal(), WIPEOUT, backend=backend)
    r.check_conservation()
    tr = r.tranches.set_index(["tranche", "period"])
    # the loan defaults in the first month with nothing recovered: all of A is paid by the undertaking
    assert tr.loc[("A", 1), "interest_shortfall"] == 0
    s = r.summary().set_index("tranche")
    assert s.loc["A", "principal"] == pytest.approx(900_000)
    assert s.loc["A", "writedown"] == 0
    assert s.loc["B", "writedown"] == pytest.approx(100_000)
    paid = r.support.groupby("provider")["paid"].sum()
    assert paid["und"] == pytest.approx(900_000 + s.loc["A", "interest"])
    # principal only became due on the expected maturity date (2027-03-10, period 13)
    und = r.support.set_index("period")["paid"]
    assert und.loc[:12].sum() == pytest.approx(tr.xs("A", level="tranche").loc[:12, "interest_paid"].sum())
    # ... and is paid on it, not a period later
    assert tr.loc[("A", 13), "principal_paid"] == pytest.approx(900_000)


def test_capacity_limits_what_the_undertaker_pays(backend):
    r = ae.run(backed_deal(capacity=50_000.0), WIPEOUT, backend=backend)
    r.check_conservation()
    assert r.support["paid"].sum() == pytest.approx(50_000)
    assert r.support["capacity_remaining"].iloc[-1] == pytest.approx(0)
    s = r.summary().set_index("tranche")
    # 50,000 paid A's interest first, the rest of it A's principal at expected maturity
    assert s.loc["A", "writedown"] == pytest.approx(900_000 - (50_000 - s.loc["A", "interest"]))


def test_failed_undertaker_stops_paying(backend):
    fail = WIPEOUT.model_copy(update={"name": "fail", "support_failures": {"und": dt.date(2026, 6, 1)}})
    r = ae.run(backed_deal(), [WIPEOUT, fail], backend=backend)
    r.check_conservation()
    sp = r.support.set_index(["scenario", "period"])["paid"]
    assert sp.loc["fail"].loc[4:].sum() == 0  # 2026-06-10 is period 4
    assert sp.loc["fail"].loc[:3].sum() > 0
    s = r.summary().set_index(["scenario", "tranche"])
    assert s.loc[("fail", "A"), "writedown"] == pytest.approx(900_000)


def test_second_undertaking_backs_only_its_tranche(backend):
    r = ae.run(backed_deal(second=True, cover_principal=False), WIPEOUT, backend=backend)
    r.check_conservation()
    tr = r.tranches
    assert tr[tr.tranche == "B"]["interest_shortfall"].max() == pytest.approx(0)
    paid = r.support.groupby("provider")["paid"].sum()
    assert paid["und2"] == pytest.approx(tr[tr.tranche == "B"]["interest_paid"].sum())
    # without principal cover the senior still loses its principal
    assert r.summary().set_index("tranche").loc["A", "writedown"] == pytest.approx(900_000)


def test_provider_misuse_is_an_input_error():
    bad = backed_deal().model_dump(by_alias=True)
    bad["waterfalls"]["normal"].append({"action": "pay_fee", "from": "und", "to": []})
    bad["waterfalls"]["normal"].append({"action": "pay_principal", "from": "collection", "to": ["A"], "support": ["und"]})
    with pytest.raises(ae.InputError) as exc:
        ae.run(ae.Deal.model_validate(bad))
    text = str(exc.value)
    assert "unknown trust account 'und'" in text
    assert "support provider 'und' cannot back a pay_principal step" in text
    with pytest.raises(ae.InputError, match="not a support provider of the deal"):
        ae.run(backed_deal(), Scenario(name="x", support_failures={"collection": dt.date(2026, 5, 1)}))
    with pytest.raises(ValueError, match="capacity, not an initial_balance"):
        ae.Deal.model_validate({**backed_deal().model_dump(by_alias=True),
                                "accounts": [{"name": "collection"}, {"name": "und", "kind": "undertaking", "initial_balance": 5}]})


@given(st.floats(0, 2_000_000), st.floats(0, 2_000_000), st.floats(0, 0.6))
def test_more_capacity_never_hurts_the_senior(c1, c2, cdr):
    lo, hi = sorted([c1, c2])
    sc = Scenario(name="s", defaults={"cdr": cdr}, recovery={"rate": 0.2})
    principal, loss = [], []
    for c in (lo, hi):
        a = ae.run(backed_deal(capacity=c), sc).args
        principal.append(a.t_prin[0, :, 0].sum())
        # what the senior finally lacks: principal written off and interest still unpaid
        loss.append(a.t_wd[0, -1, 0] + a.t_int_short[0, -1, 0])
    # (total cash received is not monotone: interest paid earlier by the undertaker
    # stops accruing interest on the shortfall, so the senior may receive a few cents less)
    assert principal[1] >= principal[0] - 1e-6
    assert loss[1] <= loss[0] + 1e-6


def test_example_deal_double_support():
    d = ae.load_deal(DEALS / "sz_pledge_2026_1.yaml")
    scs = [ae.load_scenario(SCENARIOS / f"{n}.yaml") for n in ("base", "stress", "stress_guarantor_fails")]
    r = ae.run(d, scs)
    r.check_conservation()
    s = r.summary().set_index(["scenario", "tranche"])
    assert s.loc[("stress", "A"), "writedown"] == 0
    assert s.loc[("stress_guarantor_fails", "A"), "writedown"] > 1_000_000
    assert np.isinf(r.support["capacity_remaining"]).any()


def reimbursed_deal(capacity=None):
    """backed_deal with the undertaker repaid out of later collections (its recourse),
    after the senior principal and before the subordinate."""
    data = backed_deal(capacity=capacity).model_dump(by_alias=True)
    data["waterfalls"]["normal"] = [
        {"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["und"]},
        {"action": "draw_reserve", "from": "und", "to": "collection", "cover": {"principal": ["A"]}},
        {"action": "pay_principal", "from": "collection", "to": ["A"]},
        {"action": "reimburse_support", "from": "collection", "to": "und"},
        {"action": "pay_interest", "from": "collection", "to": ["B"]},
        {"action": "pay_principal", "from": "collection", "to": ["B"]},
        {"action": "pay_residual", "from": "collection", "to": "B"},
    ]
    return ae.Deal.model_validate(data)


def test_undertaker_repaid_before_the_subordinate(backend):
    sc = Scenario(name="late", defaults={"loans": {"L001": dt.date(2026, 2, 20)}}, recovery={"rate": 0.8, "lag_months": 15})
    plain = ae.run(backed_deal(), sc, backend=backend)
    r = ae.run(reimbursed_deal(), sc, backend=backend)
    r.check_conservation()
    sup = r.support.set_index("period")
    paid, repaid = sup["paid"].sum(), sup["reimbursed"].sum()
    # it paid A's interest and, at the expected maturity, A's principal; the recovery of
    # 800,000 (month 16) goes to it first, which leaves it owed the rest
    assert paid > 900_000 and repaid == pytest.approx(800_000)
    assert sup["owed"].iloc[-1] == pytest.approx(paid - 800_000)
    # A is whole either way; what the undertaker got back the junior class no longer receives
    s0, s1 = plain.summary().set_index("tranche"), r.summary().set_index("tranche")
    assert s0.loc["A", "writedown"] == s1.loc["A", "writedown"] == 0
    junior = lambda x: x.loc["B", ["interest", "principal", "residual"]].sum()  # noqa: E731
    assert junior(s0) - junior(s1) == pytest.approx(repaid, rel=1e-9)
    assert (r.support["owed"] >= -1e-9).all()


@given(st.floats(0, 0.5), st.floats(0, 0.5))
def test_with_recourse_higher_defaults_never_pay_the_subordinate_more(cdr1, cdr2):
    lo, hi = sorted([cdr1, cdr2])
    got = []
    for cdr in (lo, hi):
        r = ae.run(reimbursed_deal(), Scenario(name="s", defaults={"cdr": cdr}, recovery={"rate": 0.3, "lag_months": 3}))
        r.check_conservation()
        a = r.args
        got.append((a.t_int_paid + a.t_prin + a.t_resid)[0, :, 1].sum())
    assert got[1] <= got[0] + 1e-6


def test_reimburse_support_needs_a_provider():
    bad = reimbursed_deal().model_dump(by_alias=True)
    bad["waterfalls"]["normal"][3]["to"] = "collection"
    with pytest.raises(ae.InputError, match="unknown support provider 'collection'"):
        ae.run(ae.Deal.model_validate(bad))


def test_failed_revolving_undertaker_is_repaid_but_pays_nothing_more(backend):
    """A revolving undertaking (restore_capacity) that has failed is still repaid what it
    is owed, but the repayment does not restore its capacity: a later draw in the same
    period must not take the trust's own repayment back as the provider's payment."""
    accounts = [{"name": "collection"}, {"name": "und", "kind": "undertaking"}]
    tranches = [{"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.03}},
                {"name": "B", "rank": 2, "balance": 100_000.0, "kind": "mezzanine", "coupon": {"kind": "fixed", "rate": 0.10}}]
    wf = [{"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["und"]},
          {"action": "reimburse_support", "from": "collection", "to": "und", "restore_capacity": True},
          {"action": "pay_interest", "from": "collection", "to": ["B"], "support": ["und"]}]
    d = deal([loan(1, amortization="bullet", rate=0.03)], tranches, wf, accounts=accounts)
    sc = Scenario(name="fail", support_failures={"und": dt.date(2026, 4, 10)})  # fails in period 2
    r = ae.run(d, sc, backend=backend)
    r.check_conservation()
    sup = r.support.set_index("period")
    b = r.tranches[r.tranches.tranche == "B"].set_index("period")
    # the loan pays 1,000,000 * 3% / 12 = 2,500.00 interest a month
    # period 1 (28 days): A 900,000 * 3% * 28/365 = 2,071.23; B 100,000 * 10% * 28/365 =
    # 767.12, of which 2,500 - 2,071.23 = 428.77 from collections, 338.36 from the undertaker
    assert sup.loc[1, "paid"] == pytest.approx(338.36, abs=0.005)
    # period 2 (31 days, failed): A 2,293.15; what is left (206.85) repays the undertaker,
    # which pays B nothing (it was paying the 206.85 straight back)
    assert sup.loc[2, "paid"] == 0
    assert sup.loc[2, "reimbursed"] == pytest.approx(206.85, abs=0.005)
    assert sup.loc[2, "owed"] == pytest.approx(131.51, abs=0.005)
    assert b.loc[2, "interest_paid"] == 0
    # period 3 (30 days): A 2,219.18; the rest of what it is owed (131.51) repays it, B gets
    # 2,500 - 2,219.18 - 131.51 = 149.32 (149.315068)
    assert sup.loc[3, "paid"] == 0
    assert sup.loc[3, "reimbursed"] == pytest.approx(131.51, abs=0.005)
    assert sup.loc[3, "owed"] == pytest.approx(0, abs=1e-9)
    assert b.loc[3, "interest_paid"] == pytest.approx(149.32, abs=0.005)
    assert sup.loc[2:, "paid"].sum() == 0
