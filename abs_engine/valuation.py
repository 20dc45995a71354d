"""Valuation on a date (估值): each class of a run priced on a valuation date from a
discount curve (a 中债-style yield curve by tenor) plus a spread, or at a flat yield, with
accrued interest from the last payment date, clean and dirty price, the yield in the
deal's convention, WAL, durations and convexity from that date (docs/seasoned.md,
"Valuation on a date").

Pricing is :mod:`abs_engine.analytics` (the only QuantLib importer): the dirty price of a
class on the curve is ``sum CF_i D_z(t_i) / D_z(date)`` (:func:`~abs_engine.analytics.
price_from_z_spread`, ``z`` the class's spread in the curve's convention), the clean price
that less the accrued interest, and every other measure is
:func:`~abs_engine.analytics.tranche_analytics` at that clean price; a class given a yield
is priced at it in the deal's yield convention (``chinabond`` for a CNY deal).

A valuation file (YAML)::

    date: 2027-02-15                # the valuation (settlement) date
    curve: cgb_2027-01-26.csv       # a curve file (CSV tenor,rate; YAML with `curve:`), or a curve mapping
    curve_kind: par                 # a CSV curve's kind: par (a yield-to-maturity curve, the default) or zero
    curve_frequency: annual         # par curves: coupon frequency of the par bonds
    spreads: {A: 0.0060}            # over the curve, per class (default 0)
    yields: {SUB: 0.08}             # or a flat yield for a class (instead of the curve)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError, Problem

#: Columns of :func:`value`'s frame (docs/outputs.md, valuation.csv).
VALUATION_COLUMNS = (
    "scenario", "tranche", "valuation_date", "basis", "spread", "original_balance", "face", "factor", "accrued",
    "price", "dirty_price", "value", "yield", "compounding", "wal_years", "macaulay_duration", "modified_duration",
    "convexity", "z_spread", "effective_duration", "last_payment_date", "next_payment_date", "note",
)


def value(result: Any, date: dt.date, *, curve: Any = None, spreads: Mapping[str, float] | None = None,
          yields: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Every class of ``result`` (a run, from closing or from a status) valued on ``date``.

    Parameters
    ----------
    result : Result
        The run whose cash flows are priced (those paid after ``date``).
    date : datetime.date
        Valuation date: on or after the run's start (closing, or its status date) and
        before the legal maturity; a payment on it belongs to the seller.
    curve : Curve or mapping, optional
        Discount curve (:class:`abs_engine.analytics.Curve`, or a curve mapping whose
        reference date defaults to ``date``); needed by every class without a yield.
    spreads : mapping, optional
        Class -> spread over the curve (z-spread, decimal, in the curve's convention); 0 if
        not given.
    yields : mapping, optional
        Class -> flat yield (decimal) in the deal's yield convention, instead of the curve.

    Returns
    -------
    pandas.DataFrame
        One row per scenario and class, :data:`VALUATION_COLUMNS`: ``price``/``dirty_price``
        per 100 of the face outstanding on ``date``, ``value`` the dirty value in currency
        (``dirty_price x face / 100``), ``factor`` face over the original balance, the
        yield in ``compounding`` (the subordinate's: its IRR), WAL and durations in years
        from ``date``, ``z_spread`` over the curve (the spread given, recomputed), and
        ``note`` when a class cannot be valued (nothing left to receive).
    """
    from .analytics import (
        AnalyticsError,
        Curve,
        accrued_interest,
        price_from_z_spread,
        tranche_analytics,
        tranche_cashflows,
    )
    from .checks import valuation_problems

    spreads = dict(spreads or {})
    yields = dict(yields or {})
    names = [t.name for t in result.deal.tranches]
    problems = [Problem("", f"spreads.{n}", f"unknown class '{n}' (known: {', '.join(names)})") for n in spreads if n not in names]
    problems += [Problem("", f"yields.{n}", f"unknown class '{n}' (known: {', '.join(names)})") for n in yields if n not in names]
    problems += [Problem("", f"yields.{n}", "give a spread or a yield for a class, not both") for n in yields if n in spreads]
    problems += valuation_problems(result.deal, date, "")
    start = result.start_date
    if date < start:
        problems.append(Problem("", "date", f"{date} is before the run's start {start} "
                                            f"({'the status date' if result.start_period else 'the closing date'})"))
    if curve is None and any(n not in yields for n in names):
        problems.append(Problem("", "curve", "a discount curve is needed for the classes without a yield: "
                                             + ", ".join(n for n in names if n not in yields)))
    if isinstance(curve, Mapping):
        try:
            curve = Curve.from_dict(curve, reference_date=date)
        except AnalyticsError as exc:
            problems.append(Problem("", "curve", str(exc)))
    if curve is not None and not isinstance(curve, Mapping) and curve.reference_date > date:
        problems.append(Problem("", "curve", f"the curve's reference date {curve.reference_date} is after the valuation date {date}"))
    if problems:
        raise InputError(problems)

    info = result.tranche_info()
    frame = result.tranches
    sched = result.schedule
    before = [d for d in sched.payment_dates if d <= date]
    after = [d for d in sched.payment_dates if d > date]
    rows = []
    for sc in result.scenario_names:
        pricing: dict[str, dict[str, Any]] = {}
        basis: dict[str, str] = {}
        for t in result.deal.tranches:
            quote = result.deal.pricing.tranches.get(t.name)
            comp = {"compounding": quote.compounding} if quote is not None else {}
            if t.name in yields:
                pricing[t.name] = {"yield": float(yields[t.name]), **comp}
                basis[t.name] = "yield"
                continue
            basis[t.name] = "curve"
            try:
                cf = tranche_cashflows(frame, info, scenario=sc, tranche=t.name, settlement=date)
                dirty = price_from_z_spread(cf, float(spreads.get(t.name, 0.0)), curve, date, clean=False)
                pricing[t.name] = {"price": dirty - accrued_interest(cf, date), **comp}
            except AnalyticsError:
                pricing[t.name] = {"price": 100.0, **comp}  # (no cash after the date: the row says so)
        own = frame[frame["scenario"] == sc]
        out = tranche_analytics(own, info, settlement=date, pricing=pricing, curve=curve)
        for row in out.to_dict("records"):
            t = result.deal.tranche(row["tranche"])
            face = float(row["face"]) if row["face"] == row["face"] else 0.0
            rows.append({
                **{k: row[k] for k in ("tranche", "accrued", "price", "dirty_price", "yield", "compounding", "wal_years",
                                       "macaulay_duration", "modified_duration", "convexity", "z_spread",
                                       "effective_duration", "note")},
                "scenario": sc, "valuation_date": date, "basis": basis[t.name],
                "spread": float(spreads.get(t.name, 0.0)) if basis[t.name] == "curve" else math.nan,
                "original_balance": t.balance, "face": face, "factor": face / t.balance if t.balance else math.nan,
                "value": row["dirty_price"] * face / 100.0,
                "last_payment_date": before[-1] if before else None, "next_payment_date": after[0] if after else None,
            })
    return pd.DataFrame(rows, columns=list(VALUATION_COLUMNS))


# --------------------------------------------------------------------------- files


def _tenor(years: float) -> str:
    """A tenor in years (中债's 标准期限, 0.25, 1, 3, ...) as a curve tenor: whole months, else days."""
    months = years * 12.0
    if abs(months - round(months)) < 1e-6 and round(months) > 0:
        return f"{round(months)}M"
    return f"{max(round(years * 365.0), 1)}D"


def _tenor_years(text: str) -> float | None:
    """A curve CSV's tenor in years: a number of years (中债's 标准期限) or a period such as
    ``3M``, ``1Y``, ``2W``, ``7D``; None if it is neither.

    >>> _tenor_years("0.25"), _tenor_years("6m"), _tenor_years("-1"), _tenor_years("soon")
    (0.25, 0.5, -1.0, None)
    """
    import re

    try:
        years = float(text)
        return years if math.isfinite(years) else None
    except ValueError:
        pass
    m = re.fullmatch(r"\s*(-?\d+)\s*([DdWwMmYy])\s*", text)
    if m is None:
        return None
    return int(m.group(1)) / {"D": 365.0, "W": 365.0 / 7.0, "M": 12.0, "Y": 1.0}[m.group(2).upper()]


#: Column names of a 中债 (ChinaBond) curve export, read as the CSV's own.
CSV_ALIASES = {"标准期限(年)": "tenor", "标准期限（年）": "tenor", "期限": "tenor",
               "收益率(%)": "rate_pct", "收益率（%）": "rate_pct"}


def curve_from_csv(path: Path, kind: str = "par", frequency: str = "annual", compounding: str = "annual") -> dict[str, Any]:
    """A curve mapping from a CSV of ``tenor`` (``3M``, ``1Y``, or years as 中债 lists them:
    ``0.25``, ``1``) and ``rate`` (decimal; or ``rate_pct`` in percent, as 中债 exports
    yields), one row per point, sorted by tenor; a 中债 export's headers ``标准期限(年)``
    and ``收益率(%)`` are read as ``tenor`` and ``rate_pct``."""
    from .io.tape import read_table

    df = read_table(path).rename(columns=CSV_ALIASES)
    problems: list[Problem] = []
    file = str(path)
    if "tenor" not in df.columns or not ({"rate", "rate_pct"} & set(df.columns)):
        raise InputError.single(file, "header", "a curve CSV has the columns tenor and rate (decimal) or rate_pct (percent)")
    points = []
    last: tuple[float, int, str] | None = None  # (years, row, as written) of the previous tenor
    for i, rec in enumerate(df.to_dict(orient="records")):
        row = i + 2
        written = str(rec["tenor"]).strip()
        years = _tenor_years(written)
        if years is None or not years > 0:
            problems.append(Problem(file, f"row {row}: tenor", (
                f"{written!r} is not a tenor: give years (0.25, 1, 10) or a period (3M, 1Y)" if years is None
                else f"must be positive (got {written})")))
            continue
        if last is not None and years <= last[0]:
            problems.append(Problem(file, f"row {row}: tenor", (
                f"{written} repeats the tenor of row {last[1]}" if abs(years - last[0]) < 1e-9 else
                f"{written} comes after {last[2]} (row {last[1]}): list the tenors in increasing order")))
            continue
        last = (years, row, written)
        try:
            tenor = _tenor(float(written))
        except ValueError:
            tenor = written.upper()
        key = "rate" if "rate" in rec else "rate_pct"
        try:
            rate = float(rec[key])
        except (TypeError, ValueError):
            problems.append(Problem(file, f"row {row}: {key}", f"'{rec[key]}' is not a number"))
            continue
        if not math.isfinite(rate):
            problems.append(Problem(file, f"row {row}: {key}", "must be a finite number"))
            continue
        points.append({"tenor": tenor, "rate": rate / 100.0 if key == "rate_pct" else rate})
    if problems:
        raise InputError(problems)
    spec: dict[str, Any] = {"kind": kind, "points": points}
    if kind == "par":
        spec["frequency"] = frequency
    elif kind == "zero":
        spec["compounding"] = compounding
    return spec


def load_valuation(path: str | Path) -> dict[str, Any]:
    """Read a valuation file (module doc): ``{"date", "curve" (a mapping or None),
    "spreads", "yields"}``, every problem at once."""
    from .analytics import AnalyticsError, Curve
    from .io.yamlio import load_yaml

    p = Path(path)
    file = str(p)
    raw = load_yaml(p, "valuation")
    problems: list[Problem] = []
    known = {"date", "curve", "curve_kind", "curve_frequency", "curve_compounding", "spreads", "yields"}
    problems += [Problem(file, str(k), f"unknown key (known: {', '.join(sorted(known))})") for k in raw if k not in known]
    date = raw.get("date")
    if not isinstance(date, dt.date):
        problems.append(Problem(file, "date", "give the valuation date as YYYY-MM-DD"))
    out: dict[str, Any] = {"date": date, "curve": None, "spreads": {}, "yields": {}}
    for key in ("spreads", "yields"):
        given = raw.get(key) or {}
        if not isinstance(given, dict):
            problems.append(Problem(file, key, "a mapping of class -> decimal"))
            continue
        for name, v in given.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                problems.append(Problem(file, f"{key}.{name}", f"{v!r} is not a number"))
            elif abs(v) >= (0.5 if key == "spreads" else 1.0):  # (analytics' limits: a curve rate, a yield)
                problems.append(Problem(file, f"{key}.{name}", f"{v} looks like a percentage; write decimals ({v / 100:g} for {v:g}%)"))
            else:
                out[key][str(name)] = float(v)
    spec = raw.get("curve")
    if isinstance(spec, str):
        cp = p.parent / spec
        try:
            if cp.suffix.lower() in (".csv", ".xlsx", ".txt"):
                spec = curve_from_csv(cp, str(raw.get("curve_kind", "par")), str(raw.get("curve_frequency", "annual")),
                                      str(raw.get("curve_compounding", "annual")))
            else:
                doc = load_yaml(cp, "curve")
                if "curve" not in doc:
                    raise InputError.single(str(cp), "curve", "a curve file holds its curve under the key 'curve'")
                spec = doc["curve"]
        except InputError as exc:
            problems += exc.problems
            spec = None
    if spec is not None:
        if not isinstance(spec, dict):
            problems.append(Problem(file, "curve", "a curve mapping (kind, points, ...) or a file name"))
        elif isinstance(date, dt.date):
            try:
                Curve.from_dict(spec, reference_date=date)
                out["curve"] = spec
            except AnalyticsError as exc:
                problems.append(Problem(file, "curve", str(exc)))
    if problems:
        raise InputError(problems)
    return out

