"""Business-day calendars of the Chinese exchange and interbank markets.

The names a deal file may use are the keys of :data:`CALENDARS`. Every calendar is a
QuantLib calendar; callers ask for one by name and never build their own.

Where the holidays come from
----------------------------
QuantLib's ``ql.China`` calendars know Chinese holidays only through 2026. This module
therefore builds its own calendars (``ql.BespokeCalendar``, one private implementation per
calendar, so nothing global is ever mutated) from two sources:

* the holiday file ``abs_engine/data/holidays_cn.csv`` (see :func:`read_holiday_file`); every
  calendar year that appears in its ``year`` column is taken from the file alone. The shipped
  file holds the official notices for 2025 and 2026 and *projected* holidays for 2027-2040,
  derived from the holiday rules in force since 2025 (docs/calendars.md explains the rules
  and how to replace a projected year with the official notice);
* QuantLib's ``ql.China`` data for the years 1990-2026 that the file does not cover.

Years after the last year of the file have weekends only.

The three Chinese calendars
---------------------------
``SSE``
    Exchange trading days: closed on every Saturday and Sunday and on every holiday and
    bridge day (调休) of the official arrangement.
``IB``
    Interbank trading days: the same holidays, but open on the official make-up weekend days
    (调休上班). This is QuantLib's ``ql.China(ql.China.IB)`` behaviour.
``IB_PAYMENT``
    Interbank *payment* days: ``IB`` without the make-up weekend days, i.e. every weekend is
    closed. Use it to adjust ABS payment dates of interbank deals (see
    :func:`payment_calendar`). From 2025 on its closed days equal those of ``SSE``; before,
    they can differ (the exchanges closed on Lunar New Year's Eve 2024, the interbank market
    did not).

The ``US`` calendar
-------------------
United States settlement days (federal bank holidays), for deals outside China: QuantLib's
``ql.UnitedStates(ql.UnitedStates.Settlement)`` rules copied into a private calendar for the
years in :data:`US_YEARS` (weekends only outside them).

Calendars are built once per name and cached. Do not call ``addHoliday`` or
``removeHoliday`` on a calendar returned by :func:`get_calendar`; the change would be seen by
every user of that name. Use :func:`build_calendar` for a private, modified copy.
"""

from __future__ import annotations

import csv
import datetime as _dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import QuantLib as ql

#: Calendar names accepted in deal files, with what they mean.
CALENDARS: dict[str, str] = {
    "SSE": "Shanghai Stock Exchange (also used for SZSE listed ABS)",
    "IB": "China interbank bond market (trading days: open on make-up weekend days)",
    "WEEKENDS": "Saturdays and Sundays only",
    "NONE": "every day is a business day",
    "SZSE": "Shenzhen Stock Exchange (same holidays as SSE)",
    "IB_PAYMENT": "China interbank market payment days (IB holidays, every weekend closed)",
    "US": "United States settlement days (federal bank holidays; QuantLib UnitedStates.Settlement)",
}

#: The holiday file shipped with the package.
DEFAULT_HOLIDAY_FILE: Path = Path(__file__).resolve().parent / "data" / "holidays_cn.csv"

#: First and last year for which QuantLib's own ``ql.China`` data is used (outside the file).
QUANTLIB_YEARS: tuple[int, int] = (1990, 2026)

#: Years copied from QuantLib's ``ql.UnitedStates(ql.UnitedStates.Settlement)`` rules into
#: the ``US`` calendar (weekends only outside them).
US_YEARS: tuple[int, int] = (1990, 2100)

#: Allowed values of the ``kind`` column of the holiday file.
KINDS: tuple[str, ...] = ("statutory", "bridge", "makeup")
#: Allowed values of the ``status`` column of the holiday file.
STATUSES: tuple[str, ...] = ("official", "projected")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_COLUMNS = ("year", "date", "weekday", "kind", "status", "holiday", "source")
_active_file: Path = DEFAULT_HOLIDAY_FILE
_custom_counter = itertools.count(1)


class CalendarDataError(ValueError):
    """A holiday file is malformed; the message lists every problem with its line."""


@dataclass(frozen=True)
class HolidayRow:
    """One row of the holiday file.

    Attributes
    ----------
    year : int
        Year of the official notice (or projection) the row belongs to. A bridge day of the
        New Year holiday may fall in December of the year before.
    date : datetime.date
        The day.
    kind : str
        ``statutory`` (a statutory holiday day), ``bridge`` (a weekday off under the official
        arrangement, 调休/补休) or ``makeup`` (a weekend day declared a working day, 调休上班).
    status : str
        ``official`` or ``projected``.
    holiday : str
        Which festival the row belongs to, e.g. ``spring_festival``.
    source : str
        Where the row comes from.
    """

    year: int
    date: _dt.date
    kind: str
    status: str
    holiday: str
    source: str

    @property
    def closed(self) -> bool:
        """True if markets are closed on this day (statutory or bridge)."""
        return self.kind != "makeup"


def read_holiday_file(path: str | Path) -> tuple[HolidayRow, ...]:
    """Read and validate a holiday file.

    The file is CSV with the header ``year,date,weekday,kind,status,holiday,source``; lines
    starting with ``#`` are comments. ``date`` is ISO ``YYYY-MM-DD``; ``weekday`` (``Mon`` ..
    ``Sun``) is checked against the date; ``makeup`` rows must fall on a weekend; a date may
    not be both closed and a make-up day.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    tuple of HolidayRow
        Rows sorted by date.

    Raises
    ------
    CalendarDataError
        Listing every problem found, each with its line number.

    Examples
    --------
    >>> rows = read_holiday_file(DEFAULT_HOLIDAY_FILE)
    >>> [r.date.isoformat() for r in rows if r.year == 2027 and r.holiday == "spring_festival"][:2]
    ['2027-02-05', '2027-02-06']
    """
    path = Path(path)
    errors: list[str] = []
    rows: list[HolidayRow] = []
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [(n, line) for n, line in enumerate(fh, start=1) if not line.startswith("#")]
    reader = csv.reader(line for _, line in lines)
    numbers = [n for n, _ in lines]
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != _COLUMNS:
        raise CalendarDataError(f"{path}: header must be {','.join(_COLUMNS)}, got {header}")
    for lineno, rec in zip(numbers[1:], reader, strict=True):
        where = f"{path}:{lineno}"
        if not any(field.strip() for field in rec):
            continue
        if len(rec) != len(_COLUMNS):
            errors.append(f"{where}: expected {len(_COLUMNS)} fields, got {len(rec)}")
            continue
        year_s, date_s, weekday, kind, status, holiday, source = (f.strip() for f in rec)
        try:
            day = _dt.date.fromisoformat(date_s)
            year = int(year_s)
        except ValueError as exc:
            errors.append(f"{where}: bad year or date ({exc})")
            continue
        if weekday and weekday != _WEEKDAYS[day.weekday()]:
            errors.append(f"{where}: {date_s} is a {_WEEKDAYS[day.weekday()]}, not {weekday}")
        if kind not in KINDS:
            errors.append(f"{where}: kind {kind!r} not one of {', '.join(KINDS)}")
        if status not in STATUSES:
            errors.append(f"{where}: status {status!r} not one of {', '.join(STATUSES)}")
        if kind == "makeup" and day.weekday() < 5:
            errors.append(f"{where}: make-up day {date_s} is not a Saturday or Sunday")
        if abs(day.year - year) > 1:
            errors.append(f"{where}: date {date_s} is far from its year {year}")
        rows.append(HolidayRow(year, day, kind, status, holiday, source))
    by_date: dict[_dt.date, set[bool]] = {}
    for r in rows:
        by_date.setdefault(r.date, set()).add(r.closed)
    errors += [
        f"{path}: {d.isoformat()} is listed both as closed and as a make-up working day"
        for d, flags in sorted(by_date.items())
        if len(flags) > 1
    ]
    if errors:
        raise CalendarDataError("invalid holiday file:\n  " + "\n  ".join(errors))
    return tuple(sorted(rows, key=lambda r: (r.date, r.kind)))


def use_holiday_file(path: str | Path | None) -> None:
    """Make every calendar use another holiday file (``None`` restores the shipped one).

    The file is validated first; on success the calendar cache is cleared, so the next
    :func:`get_calendar` call builds calendars from the new file. Calendars obtained before
    the call keep the old holidays.

    Parameters
    ----------
    path : str, pathlib.Path or None
        A file in the format of :func:`read_holiday_file`, or ``None``.

    Examples
    --------
    >>> use_holiday_file(None)
    >>> holiday_file() == DEFAULT_HOLIDAY_FILE
    True
    """
    global _active_file
    new = DEFAULT_HOLIDAY_FILE if path is None else Path(path).resolve()
    _file_rows(new)  # validate before switching
    _active_file = new
    _build.cache_clear()


def holiday_file() -> Path:
    """Return the holiday file the calendars are built from."""
    return _active_file


def holiday_rows() -> tuple[HolidayRow, ...]:
    """Return the validated rows of the active holiday file.

    Examples
    --------
    >>> sorted({r.status for r in holiday_rows() if r.year == 2027})
    ['projected']
    """
    return _file_rows(_active_file)


def coverage() -> dict[int, str]:
    """Say where each year's holidays come from.

    Returns
    -------
    dict
        ``{year: source}`` with source ``"official"`` or ``"projected"`` (from the holiday
        file; a year with any projected row is ``"projected"``) or ``"quantlib"``. Years not
        in the dict have weekends only.

    Examples
    --------
    >>> cov = coverage()
    >>> cov[2024], cov[2025], cov[2027], max(cov)
    ('quantlib', 'official', 'projected', 2040)
    """
    out: dict[int, str] = {y: "quantlib" for y in range(QUANTLIB_YEARS[0], QUANTLIB_YEARS[1] + 1)}
    file_years: dict[int, str] = {}
    for r in holiday_rows():
        if file_years.get(r.year) != "projected":
            file_years[r.year] = r.status
    out.update(file_years)
    return dict(sorted(out.items()))


def _normalise(name: str) -> str:
    key = name.strip().upper()
    if key not in CALENDARS:
        raise KeyError(f"unknown calendar {name!r} (known: {', '.join(CALENDARS)})")
    return key


def get_calendar(name: str) -> ql.Calendar:
    """Return the QuantLib calendar called ``name`` (see :data:`CALENDARS`).

    Names are case-insensitive. The same object is returned for the same name until
    :func:`use_holiday_file` is called; treat it as read-only.

    Raises
    ------
    KeyError
        For an unknown name.

    Examples
    --------
    >>> get_calendar("SSE").isBusinessDay(ql.Date(1, 10, 2025))
    False
    >>> get_calendar("SSE").isBusinessDay(ql.Date(9, 2, 2027))   # projected Spring Festival
    False
    >>> get_calendar("IB").isBusinessDay(ql.Date(28, 9, 2025))   # make-up Sunday
    True
    >>> get_calendar("IB_PAYMENT").isBusinessDay(ql.Date(28, 9, 2025))
    False
    >>> get_calendar("US").isBusinessDay(ql.Date(4, 7, 2001))    # Independence Day
    False
    """
    return _build(_normalise(name))


def payment_calendar(name: str) -> ql.Calendar:
    """Return the calendar that payment dates of a deal on market ``name`` are adjusted on.

    ABS payment dates never fall on a Saturday or Sunday, even on an official make-up
    working day when the interbank market trades: paying agents and the investors' banks
    do not settle coupon payments then, and deal documents define a business day as an
    exchange trading day or a bank working day. ``IB`` therefore maps to ``IB_PAYMENT``;
    every other name maps to itself.

    Examples
    --------
    >>> payment_calendar("IB").name() == get_calendar("IB_PAYMENT").name()
    True
    >>> d = ql.Date(8, 2, 2025)                       # make-up Saturday
    >>> payment_calendar("IB").adjust(d, ql.Following).ISO()
    '2025-02-10'
    """
    key = _normalise(name)
    return get_calendar("IB_PAYMENT" if key == "IB" else key)


def build_calendar(
    base: str,
    *,
    extra_holidays: Iterable[_dt.date] = (),
    extra_business_days: Iterable[_dt.date] = (),
    name: str | None = None,
) -> ql.Calendar:
    """Build a new, uncached calendar: ``base`` plus extra closed or open days.

    Use it for a deal-specific calendar (e.g. a local bank holiday) without touching the
    shared calendars.

    Parameters
    ----------
    base : str
        A name from :data:`CALENDARS`.
    extra_holidays, extra_business_days : iterable of datetime.date
        Days to close, days to open.
    name : str, optional
        The new calendar's name; QuantLib compares calendars by name, so it must be unique.
        Default ``"<base>+custom<n>"``.

    Examples
    --------
    >>> import datetime as dt
    >>> cal = build_calendar("SSE", extra_holidays=[dt.date(2027, 3, 1)])
    >>> cal.isBusinessDay(ql.Date(1, 3, 2027)), get_calendar("SSE").isBusinessDay(ql.Date(1, 3, 2027))
    (False, True)
    """
    key = _normalise(base)
    label = name or f"{key}+custom{next(_custom_counter)}"
    cal = _make(key, label)
    for d in extra_holidays:
        cal.addHoliday(_to_ql(d))
    for d in extra_business_days:
        cal.removeHoliday(_to_ql(d))
    return cal


# --- construction ---------------------------------------------------------------------------


def _to_ql(d: _dt.date) -> ql.Date:
    return ql.Date(d.day, d.month, d.year)


@cache
def _file_rows(path: Path) -> tuple[HolidayRow, ...]:
    return read_holiday_file(path)


@cache
def _quantlib_days(
    first: int, last: int
) -> tuple[tuple[ql.Date, ...], tuple[ql.Date, ...], tuple[ql.Date, ...]]:
    """QuantLib's SSE closed weekdays, IB closed weekdays and IB make-up weekend days.

    Read-only use of ``ql.China``: its shared implementation is never modified.
    """
    sse = ql.China(ql.China.SSE)
    ib = ql.China(ql.China.IB)
    start, end = ql.Date(1, 1, first), ql.Date(31, 12, last)
    sse_closed = tuple(sse.holidayList(start, end))
    ib_closed = tuple(ib.holidayList(start, end))
    makeup: list[ql.Date] = []
    d = start
    while d <= end:
        if d.weekday() in (ql.Saturday, ql.Sunday) and ib.isBusinessDay(d):
            makeup.append(d)
        d += 1
    return sse_closed, ib_closed, tuple(makeup)


@cache
def _us_days(first: int, last: int) -> tuple[ql.Date, ...]:
    """QuantLib's US settlement holidays (weekdays) in the years ``first``..``last``.

    Read-only use of ``ql.UnitedStates``: its shared implementation is never modified.
    """
    us = ql.UnitedStates(ql.UnitedStates.Settlement)
    return tuple(us.holidayList(ql.Date(1, 1, first), ql.Date(31, 12, last)))


def _make(key: str, label: str) -> ql.Calendar:
    cal = ql.BespokeCalendar(label)
    if key == "NONE":
        return cal
    cal.addWeekend(ql.Saturday)
    cal.addWeekend(ql.Sunday)
    if key == "WEEKENDS":
        return cal
    if key == "US":
        for d in _us_days(*US_YEARS):
            cal.addHoliday(d)
        return cal
    rows = holiday_rows()
    file_years = {r.year for r in rows}
    ql_years = [
        y for y in range(QUANTLIB_YEARS[0], QUANTLIB_YEARS[1] + 1) if y not in file_years
    ]
    for first, last in _runs(ql_years):
        sse_closed, ib_closed, makeup = _quantlib_days(first, last)
        for d in ib_closed if key in ("IB", "IB_PAYMENT") else sse_closed:
            cal.addHoliday(d)
        if key == "IB":
            for d in makeup:
                cal.removeHoliday(d)
    for r in rows:
        if r.closed and r.date.weekday() < 5:
            cal.addHoliday(_to_ql(r.date))
        elif r.kind == "makeup" and key == "IB":
            cal.removeHoliday(_to_ql(r.date))
    return cal


def _runs(years: list[int]) -> list[tuple[int, int]]:
    """Group sorted years into consecutive (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for y in years:
        if runs and runs[-1][1] == y - 1:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return runs


_LABELS = {
    "SSE": "China.SSE (abs_engine)",
    "SZSE": "China.SZSE (abs_engine)",
    "IB": "China.IB (abs_engine)",
    "IB_PAYMENT": "China.IB payment (abs_engine)",
    "US": "UnitedStates.Settlement (abs_engine)",
}


@cache
def _build(key: str) -> ql.Calendar:
    # WEEKENDS and NONE stay QuantLib's own stateless calendars, as they always were.
    if key == "WEEKENDS":
        return ql.WeekendsOnly()
    if key == "NONE":
        return ql.NullCalendar()
    return _make(key, _LABELS[key])
