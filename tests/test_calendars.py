"""Tests of abs_engine.calendars: official and projected Chinese holidays, IB make-up days."""

from __future__ import annotations

import datetime as dt

import pytest
import QuantLib as ql

from abs_engine import calendars as cal

D = dt.date
ONE = dt.timedelta(days=1)


def q(d: dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + k * ONE for k in range((last - first).days + 1)]


@pytest.fixture(autouse=True)
def _restore_holiday_file():
    yield
    cal.use_holiday_file(None)


# Lunar New Year's Eve, Qingming, Dragon Boat and Mid-Autumn (Gregorian, Beijing time),
# computed from new-moon and solar-term instants (PyEphem, UTC+8) and cross-checked against
# the lunisolar tables of the `holidays` package; docs/calendars.md.
FESTIVALS = {
    2025: ("2025-01-28", "2025-04-04", "2025-05-31", "2025-10-06"),
    2026: ("2026-02-16", "2026-04-05", "2026-06-19", "2026-09-25"),
    2027: ("2027-02-05", "2027-04-05", "2027-06-09", "2027-09-15"),
    2028: ("2028-01-25", "2028-04-04", "2028-05-28", "2028-10-03"),
    2029: ("2029-02-12", "2029-04-04", "2029-06-16", "2029-09-22"),
    2030: ("2030-02-02", "2030-04-05", "2030-06-05", "2030-09-12"),
    2031: ("2031-01-22", "2031-04-05", "2031-06-24", "2031-10-01"),
    2032: ("2032-02-10", "2032-04-04", "2032-06-12", "2032-09-19"),
    2033: ("2033-01-30", "2033-04-04", "2033-06-01", "2033-09-08"),
    2034: ("2034-02-18", "2034-04-05", "2034-06-20", "2034-09-27"),
    2035: ("2035-02-07", "2035-04-05", "2035-06-10", "2035-09-16"),
    2036: ("2036-01-27", "2036-04-04", "2036-05-30", "2036-10-04"),
    2037: ("2037-02-14", "2037-04-04", "2037-06-18", "2037-09-24"),
    2038: ("2038-02-03", "2038-04-05", "2038-06-07", "2038-09-13"),
    2039: ("2039-01-23", "2039-04-05", "2039-05-27", "2039-10-02"),
    2040: ("2040-02-11", "2040-04-04", "2040-06-14", "2040-09-20"),
}


# --- official years ---------------------------------------------------------------------------


def test_2025_national_day_closed_on_sse():
    sse = cal.get_calendar("SSE")
    for d in days(D(2025, 10, 1), D(2025, 10, 8)):
        assert not sse.isBusinessDay(q(d)), d
    assert sse.isBusinessDay(q(D(2025, 10, 9)))
    assert not sse.isBusinessDay(q(D(2025, 10, 11)))  # make-up Saturday: exchange closed


@pytest.mark.parametrize(
    "first,last",
    [(D(2025, 1, 28), D(2025, 2, 4)), (D(2026, 2, 15), D(2026, 2, 23)),
     (D(2026, 5, 1), D(2026, 5, 5)), (D(2026, 10, 1), D(2026, 10, 7))],
)
def test_official_breaks_closed(first, last):
    for name in ("SSE", "IB", "IB_PAYMENT", "SZSE"):
        c = cal.get_calendar(name)
        assert all(not c.isBusinessDay(q(d)) for d in days(first, last)), name


def test_agrees_with_quantlib_where_quantlib_has_data():
    """Every day 1990-2026: SSE and IB equal QuantLib's own China calendars."""
    pairs = [(cal.get_calendar("SSE"), ql.China(ql.China.SSE)),
             (cal.get_calendar("IB"), ql.China(ql.China.IB))]
    d, end = ql.Date(1, 1, 1990), ql.Date(31, 12, 2026)
    while d <= end:
        for ours, theirs in pairs:
            assert ours.isBusinessDay(d) == theirs.isBusinessDay(d), d.ISO()
        d += 1


# --- projected years --------------------------------------------------------------------------


def test_2027_spring_festival_closed():
    for name in ("SSE", "IB", "IB_PAYMENT"):
        c = cal.get_calendar(name)
        assert not c.isBusinessDay(q(D(2027, 2, 5))), name  # Lunar New Year's Eve (Friday)
        assert not c.isBusinessDay(q(D(2027, 2, 8))), name  # 3rd day (Monday)
        assert not c.isBusinessDay(q(D(2027, 2, 12))), name  # 8th day of the break
        assert c.isBusinessDay(q(D(2027, 2, 15))), name
    # QuantLib alone would keep the exchange open
    assert ql.China(ql.China.SSE).isBusinessDay(q(D(2027, 2, 8)))


def test_projected_statutory_days_match_lunar_dates():
    rows = [r for r in cal.holiday_rows() if r.status == "projected"]
    assert {r.year for r in rows} == set(range(2027, 2041))
    for year, (eve, qingming, dragon, autumn) in FESTIVALS.items():
        statutory = {r.date for r in cal.holiday_rows() if r.year == year and r.kind == "statutory"}
        e = D.fromisoformat(eve)
        expected = {D(year, 1, 1), e, e + ONE, e + 2 * ONE, e + 3 * ONE,
                    D.fromisoformat(qingming), D(year, 5, 1), D(year, 5, 2),
                    D.fromisoformat(dragon), D.fromisoformat(autumn),
                    D(year, 10, 1), D(year, 10, 2), D(year, 10, 3)}
        assert statutory == expected, year


def _one_day(d: dt.date) -> set[dt.date]:
    """Weekdays off for a one-day festival under the 2025 rules."""
    wd = d.weekday()
    return {0: {d}, 1: {d - ONE, d}, 2: {d}, 3: {d, d + ONE}, 4: {d},
            5: {d + 2 * ONE}, 6: {d + ONE}}[wd]


def _window(start: dt.date, n: int) -> set[dt.date]:
    return {start + k * ONE for k in range(n)}


def _labour(year: int) -> set[dt.date]:
    options = []
    for start in (D(year, 4, 28), D(year, 4, 29), D(year, 4, 30), D(year, 5, 1)):
        weekdays = sum(x.weekday() < 5 for x in _window(start, 5))
        rank = 0 if start == D(year, 5, 1) else 1 if start.weekday() == 5 else 2
        options.append((weekdays, rank, start))
    return _window(min(options)[2], 5)


def expected_closed_weekdays(year: int) -> set[dt.date]:
    """The arrangement principles announced with the 2024 amendment (docs/calendars.md)."""
    eve, qingming, dragon, autumn = (D.fromisoformat(x) for x in FESTIVALS[year])
    off = _one_day(D(year, 1, 1)) | _window(eve, 8) | _one_day(qingming) | _labour(year)
    off |= _one_day(dragon)
    if D(year, 9, 29) <= autumn <= D(year, 10, 8):
        off |= _window(min(autumn, D(year, 10, 1)), 8)
    else:
        off |= _one_day(autumn) | _window(D(year, 10, 1), 7)
    statutory = {D(year, 1, 1), eve, eve + ONE, eve + 2 * ONE, eve + 3 * ONE, qingming,
                 D(year, 5, 1), D(year, 5, 2), dragon, autumn, D(year, 10, 1), D(year, 10, 2),
                 D(year, 10, 3)}
    return {d for d in off | statutory if d.weekday() < 5}


@pytest.mark.parametrize("year", [2025, 2026])
def test_projection_rules_reproduce_the_official_years(year):
    sse = ql.China(ql.China.SSE)
    official = {D(d.year(), d.month(), d.dayOfMonth())
                for d in sse.holidayList(ql.Date(1, 1, year), ql.Date(31, 12, year))}
    assert expected_closed_weekdays(year) == official


@pytest.mark.parametrize("year", range(2027, 2041))
def test_projected_years_follow_the_rules(year):
    in_file = {r.date for r in cal.holiday_rows()
               if r.year == year and r.closed and r.date.weekday() < 5}
    assert in_file == expected_closed_weekdays(year)
    sse = cal.get_calendar("SSE")
    for d in in_file:
        assert not sse.isBusinessDay(q(d))


def test_coverage():
    cov = cal.coverage()
    assert cov[2024] == "quantlib" and cov[2025] == cov[2026] == "official"
    assert all(cov[y] == "projected" for y in range(2027, 2041))
    assert 2041 not in cov
    assert cal.get_calendar("SSE").isBusinessDay(q(D(2041, 2, 1)))  # weekends only after 2040


# --- weekends and the interbank make-up days --------------------------------------------------


def test_weekends():
    sat, sun = q(D(2027, 3, 6)), q(D(2027, 3, 7))
    for name in ("SSE", "IB", "IB_PAYMENT", "WEEKENDS", "SZSE"):
        c = cal.get_calendar(name)
        assert not c.isBusinessDay(sat) and not c.isBusinessDay(sun), name
    assert cal.get_calendar("NONE").isBusinessDay(sat)


@pytest.mark.parametrize(
    "makeup", [D(2025, 1, 26), D(2025, 2, 8), D(2025, 9, 28), D(2025, 10, 11), D(2026, 2, 14),
               D(2026, 2, 28), D(2026, 10, 10)],
)
def test_interbank_make_up_days(makeup):
    assert cal.get_calendar("IB").isBusinessDay(q(makeup))
    assert not cal.get_calendar("IB_PAYMENT").isBusinessDay(q(makeup))
    assert not cal.get_calendar("SSE").isBusinessDay(q(makeup))


def test_payment_dates_never_land_on_a_make_up_saturday():
    d = q(D(2025, 10, 11))
    assert cal.get_calendar("IB").adjust(d, ql.Following) == d
    assert cal.payment_calendar("IB").adjust(d, ql.Following) == q(D(2025, 10, 13))
    assert cal.payment_calendar("SSE").name() == cal.get_calendar("SSE").name()
    assert cal.payment_calendar("weekends").name() == ql.WeekendsOnly().name()


# --- caching and isolation --------------------------------------------------------------------


def test_cached_and_case_insensitive():
    assert cal.get_calendar("SSE") is cal.get_calendar("sse")
    assert cal.get_calendar(" ib ") is cal.get_calendar("IB")
    with pytest.raises(KeyError, match="unknown calendar 'LSE'"):
        cal.get_calendar("LSE")


def test_no_global_mutation_leak():
    before = [ql.China(ql.China.SSE).isBusinessDay(q(D(2027, 2, 9))),
              ql.China(ql.China.IB).isBusinessDay(q(D(2027, 2, 9)))]
    custom = cal.build_calendar("SSE", extra_holidays=[D(2027, 3, 1)],
                                extra_business_days=[D(2027, 2, 9)])
    assert not custom.isBusinessDay(q(D(2027, 3, 1)))
    assert custom.isBusinessDay(q(D(2027, 2, 9)))
    for name in ("SSE", "IB", "IB_PAYMENT", "SZSE"):
        c = cal.get_calendar(name)
        assert c.isBusinessDay(q(D(2027, 3, 1))), name
        assert not c.isBusinessDay(q(D(2027, 2, 9))), name
    # QuantLib's shared China implementations are untouched
    assert before == [True, True]
    assert ql.China(ql.China.SSE).isBusinessDay(q(D(2027, 2, 9)))
    assert list(ql.China(ql.China.SSE).addedHolidays()) == []
    other = cal.build_calendar("IB")
    assert other.name() != custom.name()


# --- holiday files ----------------------------------------------------------------------------

HEADER = "year,date,weekday,kind,status,holiday,source\n"


def test_official_2027_notice_can_replace_the_projection(tmp_path):
    rows = [r for r in cal.holiday_rows() if r.year != 2027]
    path = tmp_path / "holidays.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for r in rows:
            fh.write(f"{r.year},{r.date},,{r.kind},{r.status},{r.holiday},\"{r.source}\"\n")
        fh.write("2027,2027-02-05,Fri,statutory,official,spring_festival,notice\n")
        fh.write("2027,2027-02-15,Mon,bridge,official,spring_festival,notice\n")
        fh.write("2027,2027-02-20,Sat,makeup,official,spring_festival,notice\n")
    old_sse = cal.get_calendar("SSE")
    cal.use_holiday_file(path)
    assert cal.coverage()[2027] == "official"
    sse, ib = cal.get_calendar("SSE"), cal.get_calendar("IB")
    assert sse is not old_sse
    assert not sse.isBusinessDay(q(D(2027, 2, 15)))
    assert sse.isBusinessDay(q(D(2027, 2, 9)))  # the projection is gone
    assert ib.isBusinessDay(q(D(2027, 2, 20))) and not sse.isBusinessDay(q(D(2027, 2, 20)))
    cal.use_holiday_file(None)
    assert not cal.get_calendar("SSE").isBusinessDay(q(D(2027, 2, 9)))


@pytest.mark.parametrize(
    "line,message",
    [
        ("2027,2027-02-05,Mon,statutory,official,x,y", "2027-02-05 is a Fri, not Mon"),
        ("2027,2027-02-05,Fri,makeup,official,x,y", "make-up day 2027-02-05 is not a Saturday"),
        ("2027,2027-02-05,Fri,holiday,official,x,y", "kind 'holiday' not one of"),
        ("2027,2027-02-05,Fri,statutory,guess,x,y", "status 'guess' not one of"),
        ("2027,2027-02-30,,statutory,official,x,y", "bad year or date"),
    ],
)
def test_bad_holiday_file(tmp_path, line, message):
    path = tmp_path / "bad.csv"
    path.write_text("# comment\n" + HEADER + line + "\n", encoding="utf-8")
    with pytest.raises(cal.CalendarDataError) as e:
        cal.use_holiday_file(path)
    assert message in str(e.value) and "bad.csv:3" in str(e.value)
    assert cal.holiday_file() == cal.DEFAULT_HOLIDAY_FILE  # unchanged on error


def test_closed_and_make_up_on_same_day_is_an_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2027,2027-02-06,Sat,statutory,official,x,y\n"
                    "2027,2027-02-06,Sat,makeup,official,x,y\n", encoding="utf-8")
    with pytest.raises(cal.CalendarDataError, match="both as closed and as a make-up"):
        cal.read_holiday_file(path)


# --- the US calendar (deals outside China) ------------------------------------------------------


def test_us_settlement_calendar_matches_quantlib_without_sharing_it():
    us, ql_us = cal.get_calendar("US"), ql.UnitedStates(ql.UnitedStates.Settlement)
    d, end = q(D(1999, 1, 1)), q(D(2030, 12, 31))
    while d <= end:
        assert us.isBusinessDay(d) == ql_us.isBusinessDay(d), d.ISO()
        d += 1
    assert not us.isBusinessDay(q(D(2001, 7, 4)))  # Independence Day
    assert not us.isBusinessDay(q(D(2003, 11, 27)))  # Thanksgiving
    assert us.isBusinessDay(q(D(2003, 10, 1)))  # China's National Day is not a US holiday
    assert cal.payment_calendar("us").name() == us.name()
    custom = cal.build_calendar("US", extra_holidays=[D(2001, 7, 5)])
    assert not custom.isBusinessDay(q(D(2001, 7, 5))) and us.isBusinessDay(q(D(2001, 7, 5)))
    assert list(ql_us.addedHolidays()) == []
