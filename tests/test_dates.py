"""The payment schedule: regular dates, the legal maturity, business-day adjustment."""

from __future__ import annotations

import datetime as dt

from builders import deal, loan

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
