"""Robustness at the edges: each case runs on both kernel backends, checks cash conservation
and the figure the edge is about (expected values written as formulas)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from builders import deal, loan

import abs_engine as ae
from abs_engine.model.scenario import Scenario

P = 1_000_000.0


def run(d, scenarios, backend):
    result = ae.run(d, scenarios, backend=backend)
    result.check_conservation()
    return result


def tranche(result, name, scenario=None):
    t = result.tranches
    sel = t[t["tranche"] == name]
    if scenario is not None:
        sel = sel[sel["scenario"] == scenario]
    return sel.reset_index(drop=True)


def pool(result, scenario=None):
    p = result.pool
    return (p if scenario is None else p[p["scenario"] == scenario]).reset_index(drop=True)


def test_tranche_of_zero_balance(backend):
    """A class issued with a zero balance receives nothing and owes nothing, wherever it
    ranks; the others are paid as if it were not there."""
    tranches = [
        {"name": "A", "rank": 1, "balance": 0.0, "coupon": {"kind": "fixed", "rate": 0.03}},
        {"name": "B", "rank": 2, "balance": 900_000.0, "coupon": {"kind": "fixed", "rate": 0.04}},
        {"name": "Z", "rank": 3, "balance": 0.0, "coupon": {"kind": "fixed", "rate": 0.05}},
        {"name": "SUB", "rank": 4, "kind": "subordinate", "balance": 100_000.0},
    ]
    d = deal([loan(1)], tranches=tranches)
    sc = Scenario(name="stress", defaults={"cdr": 0.2}, recovery={"rate": 0.3, "lag_months": 2})
    result = run(d, [Scenario(name="base"), sc], backend)
    for name in ("A", "Z"):
        t = tranche(result, name)
        assert (t[["interest_due", "interest_paid", "principal_paid", "residual_paid", "writedown"]].to_numpy() == 0).all()
    b = tranche(result, "B", "base")
    assert b["principal_paid"].sum() == pytest.approx(900_000.0, abs=1e-6)


def test_pool_paid_off_before_the_first_payment_date(backend):
    """Loans that mature before the first payment date: everything collected is distributed
    on the first payment date, the notes are repaid then, and later periods are empty."""
    loans = [loan(1, amortization="bullet", maturity_date=dt.date(2026, 2, 15)),
             loan(2, amortization="annuity", origination_date=dt.date(2025, 12, 20), maturity_date=dt.date(2026, 2, 20))]
    d = deal(loans, header={"first_payment_date": dt.date(2026, 4, 10), "collection_to_payment_days": 0})
    result = run(d, [Scenario(name="base")], backend)
    p = pool(result)
    assert p["balance_end"].iloc[0] == 0
    assert p["scheduled_principal"].iloc[0] == pytest.approx(2 * P, abs=1e-6)
    assert (p[["scheduled_principal", "interest_collected"]].iloc[1:].to_numpy() == 0).all()
    a = tranche(result, "A")
    assert a["principal_paid"].iloc[0] == pytest.approx(1_800_000.0, abs=1e-6) and a["balance_end"].iloc[0] == 0
    assert (a["interest_paid"].iloc[1:] == 0).all()
    sub = tranche(result, "SUB")
    assert sub["balance_end"].iloc[0] == 0 and sub["residual_paid"].iloc[1:].sum() == 0


@pytest.mark.parametrize("how", ["cdr", "named"])
def test_every_loan_defaults_in_the_first_period(how, backend):
    """CDR 100% (every balance defaults in month 1) or every loan named as defaulting in the
    first month: no scheduled principal or interest, the recoveries arrive after the lag, and
    what the recoveries do not cover is written off."""
    loans = [loan(i, amortization=a) for i, a in enumerate(["annuity", "equal_principal", "bullet"], 1)]
    d = deal(loans)
    defaults = {"cdr": 1.0} if how == "cdr" else {"loans": {f"L{i:03d}": dt.date(2026, 2, 10) for i in (1, 2, 3)}}
    sc = Scenario(name="all", defaults=defaults, recovery={"rate": 0.4, "lag_months": 3})
    result = run(d, [sc], backend)
    p = pool(result)
    assert p["default_amount"].iloc[0] == pytest.approx(3 * P)
    assert p["balance_end"].iloc[0] == 0
    assert p["interest_collected"].sum() == 0 and p["scheduled_principal"].sum() == 0 and p["prepayment"].sum() == 0
    assert p["recovery"].sum() == pytest.approx(0.4 * 3 * P) and p["recovery"].iloc[3] == pytest.approx(0.4 * 3 * P)
    assert p["loss"].sum() == pytest.approx(0.6 * 3 * P)
    a, sub = tranche(result, "A"), tranche(result, "SUB")
    assert a["principal_paid"].sum() + a["writedown"].sum() == pytest.approx(2_700_000.0)
    assert sub["writedown"].sum() == pytest.approx(300_000.0)


@pytest.mark.parametrize("applies_to", ["after_defaults", "before_defaults"])
def test_full_prepayment_in_the_first_month(applies_to, backend):
    """CPR 100%: the whole pool prepays in month 1 (after its scheduled payment), also with
    defaults in the month: prepayments never exceed what is left."""
    d = deal([loan(1), loan(2, amortization="bullet")])
    sc = Scenario(name="cpr100", prepayment={"cpr": 1.0, "applies_to": applies_to})
    sc_d = Scenario(name="cpr100_cdr50", defaults={"cdr": 0.5}, prepayment={"cpr": 1.0, "applies_to": applies_to},
                    recovery={"rate": 0.5, "lag_months": 0})
    result = run(d, [sc, sc_d], backend)
    for name in ("cpr100", "cpr100_cdr50"):
        p = pool(result, name)
        assert p["balance_end"].iloc[0] == pytest.approx(0.0, abs=1e-6)
        out = p[["scheduled_principal", "prepayment", "default_amount"]].iloc[0].sum()
        assert out == pytest.approx(2 * P)
        assert (p[["scheduled_principal", "prepayment", "default_amount", "interest_collected"]].iloc[1:].to_numpy() == 0).all()
    a = tranche(result, "A", "cpr100")
    assert a["principal_paid"].iloc[0] == pytest.approx(1_800_000.0) and a["balance_end"].iloc[0] == 0


@pytest.mark.parametrize("ref", [0.0, -0.005])
def test_zero_and_negative_reference_rate(ref, backend):
    """Floating loans and a floating class on a reference rate of 0 or below: a loan pays
    reference + spread, floored at zero (a borrower is never paid interest), and the class
    coupon is index + spread, floored at zero unless the deal sets its own floor."""
    loans = [loan(1, amortization="bullet", reference="LPR1Y", rate=0.0, spread=0.002)]
    tranches = [
        {"name": "A", "rank": 1, "balance": 900_000.0, "coupon": {"kind": "floating", "index": "LPR1Y", "spread": 0.001}},
        {"name": "SUB", "rank": 2, "kind": "subordinate", "balance": 100_000.0},
    ]
    d = deal(loans, tranches=tranches, header={"reference_rates": {"LPR1Y": ref}})
    result = run(d, [Scenario(name="base")], backend)
    p, a = pool(result), tranche(result, "A")
    loan_rate = max(ref + 0.002, 0.0)
    np.testing.assert_allclose(p["interest_collected"].iloc[:12], P * loan_rate / 12, rtol=1e-12, atol=1e-9)
    assert (p["interest_collected"] >= 0).all()
    assert (a["coupon_rate"] >= 0).all() and (a["interest_due"] >= 0).all() and (a["interest_paid"] >= 0).all()
    assert a["coupon_rate"].iloc[0] == pytest.approx(max(ref + 0.001, 0.0))
    assert a["principal_paid"].sum() == pytest.approx(900_000.0)


@pytest.mark.parametrize("cutoff", [dt.date(2028, 2, 29), dt.date(2028, 1, 31)])
def test_leap_days(cutoff, backend):
    """A cut-off, loan payment dates and note payment dates on 29 February (2028, 2032): the
    grid keeps month ends, every loan payment falls in its month, interest accrues the actual
    days (ACT/365F: 29 February counts)."""
    loans = [loan(1, origination_date=dt.date(2028, 2, 29), maturity_date=dt.date(2032, 2, 29)),
             loan(2, amortization="bullet", payment_frequency="quarterly", origination_date=dt.date(2027, 11, 29),
                  maturity_date=dt.date(2029, 2, 28))]
    header = {"cutoff_date": cutoff, "closing_date": dt.date(2028, 2, 29), "first_payment_date": dt.date(2028, 3, 31),
              "expected_maturity": dt.date(2032, 3, 31), "legal_maturity": dt.date(2033, 2, 28)}
    d = deal(loans, header=header)
    result = run(d, [Scenario(name="base")], backend)
    p = pool(result)
    r = 0.06 / 12
    # the annuity's 48 level payments and the bullet's 4 quarterly interest payments, all collected
    assert p["scheduled_principal"].sum() == pytest.approx(2 * P, abs=1e-6)
    level = P * r / (1 - (1 + r) ** -48)
    bullet_payments = 4 if cutoff.month == 2 else 5  # 2028-02-29 is on, or after, the cut-off
    assert p["interest_collected"].sum() == pytest.approx(48 * level - P + bullet_payments * P * 0.06 * 3 / 12, rel=1e-12)
    dates = result.schedule.payment_dates
    assert dates[0] == dt.date(2028, 3, 31) and dt.date(2029, 2, 28) in dates and dt.date(2032, 2, 29) in dates
    a = tranche(result, "A")
    # period 1 accrues 29 Feb -> 31 Mar 2028: 31 days
    assert a["interest_due"].iloc[0] == pytest.approx(1_800_000.0 * 0.03 * 31 / 365, rel=1e-12)
    assert result.schedule.grid[12] == (dt.date(2029, 2, 28) if cutoff.month == 2 else dt.date(2029, 1, 31))


def test_payment_dates_on_holidays_sse(backend):
    """Payment dates falling on the 2026 National Day holiday and on weekends move to the next
    SSE business day (following); note interest accrues to the adjusted date."""
    header = {"calendar": "SSE", "payment_frequency": "quarterly", "cutoff_date": dt.date(2026, 6, 30),
              "closing_date": dt.date(2026, 7, 1), "first_payment_date": dt.date(2026, 10, 1),
              "expected_maturity": dt.date(2027, 10, 1), "legal_maturity": dt.date(2028, 1, 1)}
    loans = [loan(1, origination_date=dt.date(2026, 6, 15), maturity_date=dt.date(2027, 6, 15))]
    d = deal(loans, header=header)
    result = run(d, [Scenario(name="base")], backend)
    dates = result.schedule.payment_dates
    # 2026-10-01..07 National Day, 2027-01-01 New Year (Fri), 2027-05-01 Labour Day (Sat):
    # 2027-04-01 and 2027-07-01 are ordinary Thursdays
    assert dates[0] == dt.date(2026, 10, 8)
    assert dates[1] == dt.date(2027, 1, 4)
    assert dates[2] == dt.date(2027, 4, 1)
    a = tranche(result, "A")
    assert a["interest_due"].iloc[0] == pytest.approx(900_000.0 * 0.03 * (dt.date(2026, 10, 8) - dt.date(2026, 7, 1)).days / 365)
    assert a["interest_due"].iloc[1] == pytest.approx(a["balance_start"].iloc[1] * 0.03 * (dt.date(2027, 1, 4) - dt.date(2026, 10, 8)).days / 365)


def test_trigger_fires_and_cures(backend):
    """A curable interest-coverage trigger on a pool that pays interest quarterly: it fires in
    the months without loan interest (the accelerated waterfall runs) and cures in the months
    with it; a non-curable copy stays fired."""
    loans = [loan(1, amortization="bullet", payment_frequency="quarterly")]
    triggers = [
        {"name": "cover", "metric": "interest_coverage", "tranches": ["A"], "account": "collection", "below": 1.0, "curable": True},
        {"name": "sticky", "metric": "interest_coverage", "tranches": ["A"], "account": "collection", "below": 1.0,
         "curable": False, "consecutive": 3},
    ]
    steps = [
        {"action": "pay_interest", "from": "collection", "to": ["A"]},
        {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
        {"action": "pay_residual", "from": "collection", "to": "SUB"},
    ]
    d = deal(loans, waterfall=steps, triggers=triggers, waterfalls={"accelerated": steps})
    result = run(d, [Scenario(name="base")], backend)
    st = result.states
    cover = st["trigger:cover"].to_numpy()[:12]
    # loan interest is collected in months 3, 6, 9, 12 (periods 3, 6, 9, 12 of a monthly deal)
    assert cover.tolist() == [True, True, False] * 4
    assert st["state"].iloc[:3].tolist() == ["accelerated", "accelerated", "normal"]
    sticky = st["trigger:sticky"].to_numpy()
    assert not sticky[:12].any()  # never three breaches in a row
    assert cover.any() and not cover.all()


def test_reserve_never_funded(backend):
    """A reserve with a target that no cash ever reaches (the waterfall funds it last, after
    the residual has taken everything): it stays at zero, draws from it pay nothing, and
    releasing it moves nothing."""
    accounts = [{"name": "collection"}, {"name": "reserve", "kind": "reserve", "target": {"amount": 50_000.0}}]
    steps = [
        {"action": "release_reserve", "from": "reserve", "to": "collection"},
        {"action": "pay_interest", "from": "collection", "to": ["A"], "support": ["reserve"]},
        {"action": "draw_reserve", "from": "reserve", "to": "collection", "cover": {"interest": ["A"]}},
        {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"]},
        {"action": "pay_residual", "from": "collection", "to": "SUB"},
        {"action": "fund_reserve", "from": "collection", "to": "reserve"},
    ]
    sc = Scenario(name="stress", defaults={"cdr": 0.5}, recovery={"rate": 0.1, "lag_months": 6})
    d = deal([loan(1)], waterfall=steps, accounts=accounts)
    result = run(d, [Scenario(name="base"), sc], backend)
    acc = result.accounts
    res = acc[acc["account"] == "reserve"]
    assert (res[["balance_start", "deposits", "drawn", "balance_end"]].to_numpy() == 0).all()
    a = tranche(result, "A", "stress")
    assert (a["interest_shortfall"] >= 0).all()


@pytest.mark.parametrize("state, effect", [("accelerated", "accelerate"), ("event_of_default", "event_of_default")])
def test_an_empty_state_waterfall_pays_nothing(state, effect, backend):
    """An empty waterfall (`accelerated: []`) pays nothing: the cash stays in the accounts.
    (Only a waterfall that is absent falls back to the normal one.)"""
    loans = [loan(1, amortization="bullet")]
    # pool 1,000,000 / A 900,000 = 1.11 < 2: fires in period 1 and stays fired
    triggers = [{"name": "oc", "metric": "oc_ratio", "tranches": ["A"], "below": 2.0, "effect": effect}]
    d = deal(loans, triggers=triggers, waterfalls={state: []})
    result = run(d, [Scenario(name="base")], backend)
    assert (result.states["state"] == state).all()
    t = result.tranches
    assert (t[["interest_paid", "principal_paid", "residual_paid"]].to_numpy() == 0).all()
    # the loan's interest (1,000,000 * 6% / 12 = 5,000.00 a month) piles up in the collection account
    col = result.accounts[result.accounts["account"] == "collection"].reset_index(drop=True)
    assert col.loc[0, "balance_end"] == pytest.approx(5_000.00, abs=1e-6)
    assert col.loc[1, "balance_end"] == pytest.approx(10_000.00, abs=1e-6)


WHEN_HEADER = {"calendar": "SSE", "payment_frequency": "quarterly", "cutoff_date": dt.date(2026, 6, 30),
               "closing_date": dt.date(2026, 7, 1), "first_payment_date": dt.date(2026, 10, 1),
               "expected_maturity": dt.date(2027, 10, 1), "legal_maturity": dt.date(2028, 1, 1)}


def _when_deal(before: dt.date, on_or_after: dt.date):
    loans = [loan(1, origination_date=dt.date(2026, 6, 15), maturity_date=dt.date(2027, 6, 15))]
    steps = [
        {"action": "pay_interest", "from": "collection", "to": ["A"], "when": {"before": before}},
        {"action": "pay_principal", "from": "collection", "to": ["A", "SUB"], "when": {"on_or_after": on_or_after}},
    ]
    return deal(loans, waterfall=steps, header=WHEN_HEADER)


@pytest.mark.parametrize("second", [dt.date(2027, 1, 1), dt.date(2027, 1, 4)], ids=["scheduled", "adjusted"])
def test_when_dates_name_a_payment_date_as_scheduled_or_as_adjusted(backend, second):
    """The first payment date 2026-10-01 moves to 2026-10-08 (National Day), the second,
    2027-01-01, to 2027-01-04. `before: <second>` runs a step in the first period only and
    `on_or_after: <second>` from the second on, whether the second date is written as
    scheduled or as paid: the two deals give identical results."""
    result = run(_when_deal(second, second), [Scenario(name="base")], backend)
    assert result.schedule.payment_dates[:2] == [dt.date(2026, 10, 8), dt.date(2027, 1, 4)]
    a = tranche(result, "A")
    assert a.loc[0, "interest_paid"] == pytest.approx(900_000.0 * 0.03 * 99 / 365)  # 2026-07-01 -> 10-08
    assert a.loc[0, "principal_paid"] == 0
    assert a.loc[1, "interest_paid"] == 0 and a.loc[1, "principal_paid"] > 0
    other = run(_when_deal(dt.date(2027, 1, 1), dt.date(2027, 1, 1)), [Scenario(name="base")], backend)
    assert result.tranches.equals(other.tranches)


def test_when_on_or_after_an_adjusted_payment_date_includes_that_payment(backend):
    """`on_or_after: 2026-10-08`, the first payment date as paid, runs the step on that
    payment (compared with the scheduled date 2026-10-01 alone, it used to start a quarter
    late)."""
    result = run(_when_deal(dt.date(2028, 1, 1), dt.date(2026, 10, 8)), [Scenario(name="base")], backend)
    assert tranche(result, "A").loc[0, "principal_paid"] > 0


def test_a_when_date_between_payment_dates_is_an_input_error():
    """A date that is neither a scheduled nor an adjusted payment date is refused, with the
    nearest payment dates, rather than rounded to the next period."""
    with pytest.raises(ae.InputError) as e:
        ae.run(_when_deal(dt.date(2026, 10, 5), dt.date(2026, 10, 5)))
    msg = str(e.value)
    for field in ("waterfalls.normal[0].when.before", "waterfalls.normal[1].when.on_or_after"):
        assert (f"{field}: 2026-10-05 is not a payment date (nearest: 2026-10-01 (adjusted 2026-10-08), "
                "2027-01-01 (adjusted 2027-01-04))") in msg
    assert len(e.value.problems) == 2
