"""The payment schedule: regular dates, the legal maturity, business-day adjustment."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from builders import deal, loan
from conftest import DEALS, SCENARIOS

import abs_engine as ae
from abs_engine.dates import build_schedule


def test_a_regular_date_rolling_onto_the_legal_maturity_is_one_payment(backend):
    """Quarterly dates on the 19th; 2026-12-19 is a Saturday and rolls (following) to Monday
    2026-12-21, the legal maturity: one period on that date, not two."""
    d = deal([loan(1, maturity_date=dt.date(2026, 11, 15))], header={
        "calendar": "SSE", "payment_frequency": "quarterly", "first_payment_date": dt.date(2026, 3, 19),
        "expected_maturity": dt.date(2026, 12, 21), "legal_maturity": dt.date(2026, 12, 21)})
    s = build_schedule(d.deal, 12)
    # (2026-06-19 is the Dragon Boat Festival: 06-22)
    assert s.payment_dates == [dt.date(2026, 3, 19), dt.date(2026, 6, 22), dt.date(2026, 9, 21), dt.date(2026, 12, 21)]
    assert len(set(s.payment_dates)) == len(s.payment_dates)
    assert s.unadjusted_dates[-1] == dt.date(2026, 12, 21)
    r = ae.run(d, backend=backend)
    r.check_conservation()
    assert r.tranches.groupby("tranche")["payment_date"].apply(lambda x: x.is_unique).all()
    assert r.summary().set_index("tranche").loc["A", "principal"] > 0


def test_payment_dates_strictly_increase_whatever_the_legal_maturity():
    for legal in (dt.date(2026, 12, 19), dt.date(2026, 12, 20), dt.date(2026, 12, 21), dt.date(2026, 12, 22)):
        d = deal([loan(1, maturity_date=dt.date(2026, 11, 15))], header={
            "calendar": "SSE", "payment_frequency": "quarterly", "first_payment_date": dt.date(2026, 3, 19),
            "expected_maturity": dt.date(2026, 12, 19), "legal_maturity": legal})
        s = build_schedule(d.deal, 12)
        assert all(a < b for a, b in zip(s.payment_dates, s.payment_dates[1:], strict=False)), (legal, s.payment_dates)


# --------------------------------------------------------------------------- dates that name a period


def test_a_regular_date_merged_into_the_legal_maturity_still_names_the_last_period():
    """2026-12-19 (a Saturday) rolls to 2026-12-21, the adjusted legal maturity 2026-12-20:
    one period, which 12-19, 12-20 and 12-21 all name."""
    d = deal([loan(1, maturity_date=dt.date(2026, 11, 15))], header={
        "calendar": "SSE", "payment_frequency": "quarterly", "first_payment_date": dt.date(2026, 3, 19),
        "expected_maturity": dt.date(2026, 12, 19), "legal_maturity": dt.date(2026, 12, 20)})
    s = build_schedule(d.deal, 0)
    last = s.n_periods - 1
    assert [s.period_of(x) for x in (dt.date(2026, 12, 19), dt.date(2026, 12, 20), dt.date(2026, 12, 21))] == [last] * 3
    ae.run(d)  # the expected maturity 12-19 is accepted


WENKE_EM_SCHEDULED, WENKE_EM_PAID = dt.date(2022, 3, 26), dt.date(2022, 3, 28)


@pytest.fixture(scope="module")
def wenke():
    return (ae.load_deal(DEALS / "wenke_lease_2019_1.yaml"),
            ae.load_scenario(SCENARIOS / "wenke_2019_1_stress.yaml"))


def _with_expected_maturity(d: ae.Deal, em: dt.date) -> ae.Deal:
    return d.model_copy(update={"deal": d.deal.model_copy(update={"expected_maturity": em})})


def test_wenke_stress_undertaking_pays_class_a_on_its_expected_maturity(wenke, backend):
    """文科一期 states its expected maturity as paid, 2022-03-28 (scheduled 2022-03-26): the
    parent's undertaking pays class A out on that date, not a quarter later, and nothing of
    class A is outstanding or paid after it."""
    d, stress = wenke
    assert d.deal.expected_maturity == WENKE_EM_PAID
    r = ae.run(d, [stress], backend=backend)
    r.check_conservation()
    a = r.tranches[r.tranches["tranche"] == "A"].set_index("payment_date")
    em = pd.Timestamp(WENKE_EM_PAID)
    assert a.loc[em, "balance_end"] == 0 and a.loc[em, "principal_paid"] > 0
    assert (a.loc[a.index > em, ["principal_paid", "interest_paid"]].to_numpy() == 0).all()
    paid = r.support.set_index("payment_date")["paid"]
    assert paid.loc[em] > 0
    # it pays what class A lacked on its expected maturity: all of A's principal beyond the
    # collections of that period; nothing in the quarter after
    assert paid.loc[pd.Timestamp(2022, 6, 27)] == 0
    assert (r.states["state"] == "normal").all()


def test_expected_maturity_as_scheduled_or_as_paid_gives_identical_results(wenke, backend):
    d, stress = wenke
    paid = ae.run(_with_expected_maturity(d, WENKE_EM_PAID), [stress], backend=backend)
    scheduled = ae.run(_with_expected_maturity(d, WENKE_EM_SCHEDULED), [stress], backend=backend)
    for frame in ("tranches", "support", "accounts", "states"):
        pd.testing.assert_frame_equal(getattr(paid, frame), getattr(scheduled, frame))


def _dated_deal(adjusted: bool, **tranche_em: dt.date) -> ae.Deal:
    """Quarterly on the SSE calendar: 2026-10-01 is paid on 10-08 (National Day), 2027-01-01
    on 01-04, 2027-10-01 on 10-08. Class A follows a schedule, B is a bullet."""
    def on(scheduled: dt.date, paid: dt.date) -> dt.date:
        return paid if adjusted else scheduled

    tranches = [
        {"name": "A", "rank": 1, "balance": 500_000.0, "coupon": {"kind": "fixed", "rate": 0.03},
         "principal": {"style": "scheduled", "schedule": [
             {"date": on(dt.date(2026, 10, 1), dt.date(2026, 10, 8)), "balance": 450_000.0},
             {"date": on(dt.date(2027, 1, 1), dt.date(2027, 1, 4)), "balance": 200_000.0},
             {"date": on(dt.date(2027, 10, 1), dt.date(2027, 10, 8)), "balance": 0.0}]}},
        {"name": "B", "rank": 2, "balance": 400_000.0, "coupon": {"kind": "fixed", "rate": 0.04},
         "principal": {"style": "bullet"}, "expected_maturity": on(dt.date(2027, 10, 1), dt.date(2027, 10, 8)),
         **tranche_em},
        {"name": "SUB", "rank": 3, "kind": "subordinate", "balance": 100_000.0},
    ]
    steps = [
        {"action": "pay_interest", "from": "collection", "to": ["A", "B"]},
        {"action": "pay_principal", "from": "collection", "to": ["B", "A", "SUB"]},
        {"action": "pay_residual", "from": "collection", "to": "SUB"},
    ]
    return deal([loan(1, origination_date=dt.date(2026, 6, 15), maturity_date=dt.date(2028, 6, 15))],
                tranches=tranches, waterfall=steps, header={**WHEN_HEADER, "expected_maturity": on(dt.date(2027, 10, 1), dt.date(2027, 10, 8))})


WHEN_HEADER = {"calendar": "SSE", "payment_frequency": "quarterly", "cutoff_date": dt.date(2026, 6, 30),
               "closing_date": dt.date(2026, 7, 1), "first_payment_date": dt.date(2026, 10, 1),
               "legal_maturity": dt.date(2029, 1, 1)}


def test_schedule_rows_and_a_bullet_name_payment_dates_as_scheduled_or_as_paid(backend):
    """A principal schedule and a bullet's expected maturity written with the adjusted
    payment dates give what the scheduled dates give: A is held at 450,000 from the first
    payment (2026-10-08) and B receives no principal before 2027-10-08."""
    paid = ae.run(_dated_deal(adjusted=True), backend=backend)
    scheduled = ae.run(_dated_deal(adjusted=False), backend=backend)
    paid.check_conservation()
    pd.testing.assert_frame_equal(paid.tranches, scheduled.tranches)
    t = paid.tranches.set_index(["tranche", "payment_date"])
    assert t.loc[("A", pd.Timestamp(2026, 10, 8)), "balance_end"] == pytest.approx(450_000.0)
    b = t.loc["B"]
    assert (b.loc[b.index < pd.Timestamp(2027, 10, 8), "principal_paid"] == 0).all()
    assert b.loc[pd.Timestamp(2027, 10, 8), "principal_paid"] > 0


def test_dates_between_payment_dates_are_reported_with_every_other_problem():
    """Off-schedule dates in a deal are input errors, listed with the nearest payment dates
    (both forms) and with the deal's other problems, never rounded to the next period."""
    d = _dated_deal(adjusted=False, expected_maturity=dt.date(2027, 10, 5))
    rows = d.tranches[0].principal.schedule
    bad = d.model_copy(update={"tranches": [
        d.tranches[0].model_copy(update={"principal": d.tranches[0].principal.model_copy(update={"schedule": [
            rows[0], rows[1].model_copy(update={"date": dt.date(2026, 10, 8)}), rows[2]]})}),
        *d.tranches[1:]],
        "waterfalls": d.waterfalls.model_copy(update={"normal": [
            *d.waterfalls.normal[:2], d.waterfalls.normal[2].model_copy(update={"to": "C"})]})})
    with pytest.raises(ae.InputError) as e:
        ae.run(bad)
    got = {(p.path, p.message) for p in e.value.problems}
    assert ("tranches[1].expected_maturity", "2027-10-05 is not a payment date (nearest: 2027-10-01 (adjusted "
            "2027-10-08), 2028-01-01 (adjusted 2028-01-04)); give a payment date as scheduled or as adjusted") in got
    assert ("tranches[0].principal.schedule[1].date",
            "2026-10-08 names the same payment date as schedule[0] (2026-10-01)") in got
    assert any(p == "waterfalls.normal[2].to" for p, _ in got)
    assert len(got) == 3


def test_a_support_failure_between_the_scheduled_and_the_paid_date_stops_that_payment(wenke, backend):
    """An event date falls in the first period paid on or after it: the parent failing on
    2022-03-27, after the scheduled 03-26 but before the payment on 03-28, pays nothing on
    03-28; failing on 03-29 it still pays then."""
    d, stress = wenke
    runs = {day: ae.run(d, [stress.model_copy(update={"support_failures": {"parent_undertaking": dt.date(2022, 3, day)}})],
                        backend=backend) for day in (27, 29)}
    for r in runs.values():
        r.check_conservation()
    em = pd.Timestamp(WENKE_EM_PAID)
    assert runs[27].support.set_index("payment_date").loc[em, "paid"] == 0
    assert runs[29].support.set_index("payment_date").loc[em, "paid"] > 0
    assert (runs[27].support.set_index("payment_date").loc[em:, "capacity_remaining"] == 0).all()
