"""Monthly default and prepayment rates from the conventions a scenario names, by loan.

What a convention means (SIFMA/BMA *Uniform Practices / Standard Formulas*, chapter SF,
02/01/99; docs/scenarios.md, "Conventions and curves by loan age"), for month ``t``
(``t = 1`` is the first month of the axis: a loan's first month of life by loan age, the
first month after the cut-off date by projection month):

* CDR / CPR (annual): ``monthly = 1 - (1 - annual)^(1/12)`` (SF-6, SF-20);
* MDR / SMM (monthly): as written;
* PSA at ``s`` % (SF-6): ``CPR_t = min(s/100 x 0.2% x max(1, min(t, 30)), 100%)``;
* SDA at ``s`` % (SF-20/21): ``CDR_t = s/100 x`` (0.02% ``t`` up to 0.60% at ``t = 30``;
  0.60% to ``t = 60``; ``0.60% - 0.0095% (t - 60)`` to 0.03% at ``t = 120``; 0.03% after),
  and 0 in the last ``n`` months before each loan's final payment, ``n`` the scenario's
  ``recovery.lag_months`` (time to liquidation, SF-20 d, SF-19 j);
* ABS at ``x`` (SF-13): ``SMM_t = x / (1 - x (t - 1))``, and 1 once that reaches 1 (every
  original loan has then prepaid).

A vector's last value holds after its end. The rates of a loan in grid month ``m`` are
those of curve month ``age + m`` by loan age (``age``: whole months from origination to
the cut-off grid date, so that the loan's month of life containing grid month ``m`` is
``age + m``), and of month ``m`` by projection month. :class:`LoanRates` holds them for
every scenario and loan and hands the projection one month at a time.

>>> from abs_engine.model.curves import PrepaymentCurve
>>> [round(float(x), 6) for x in monthly_rates(PrepaymentCurve(psa=100), 3)[1:]]
[0.000167, 0.000334, 0.000501]
>>> round(float(monthly_rates(PrepaymentCurve(abs=0.02), 11)[11]), 6)   # SF-13: 2% ABS, month 11
0.025
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model.curves import SPEEDS, DefaultCurve, PrepaymentCurve, _Curve

#: Months over which a curve's peak is looked for (50 years).
PEAK_MONTHS = 600

Spec = float | list[float] | _Curve


def to_monthly(annual: np.ndarray) -> np.ndarray:
    """Annual rate -> monthly: ``1 - (1 - annual)^(1/12)``."""
    return 1.0 - (1.0 - annual) ** (1.0 / 12.0)


def _values(v: float | list[float], n: int) -> np.ndarray:
    """A constant or vector over months 1..n (a vector's last value holds)."""
    if isinstance(v, list):
        arr = np.asarray(v, dtype=np.float64)
        return arr[np.minimum(np.arange(n), len(arr) - 1)]
    return np.full(n, float(v))


def psa_cpr(speed: float, months: np.ndarray) -> np.ndarray:
    """Annual CPR in month of age ``months`` at ``speed`` % PSA (SF-6).

    >>> psa_cpr(150, np.array([1, 17, 30, 31])).round(4).tolist()
    [0.003, 0.051, 0.09, 0.09]
    """
    return np.minimum(speed / 100.0 * 0.002 * np.maximum(1, np.minimum(months, 30)), 1.0)


def sda_cdr(speed: float, months: np.ndarray) -> np.ndarray:
    """Annual CDR in month of age ``months`` at ``speed`` % SDA (SF-20), before the zero
    months at the end of each loan's life.

    >>> sda_cdr(100, np.array([1, 30, 60, 61, 120, 121])).round(6).tolist()
    [0.0002, 0.006, 0.006, 0.005905, 0.0003, 0.0003]
    """
    t = months.astype(np.float64)
    c = np.where(t <= 30, 0.0002 * t, np.where(t <= 60, 0.006, np.where(t <= 120, 0.006 - 0.000095 * (t - 60), 0.0003)))
    return np.minimum(speed / 100.0 * c, 1.0)


def abs_smm(speed: np.ndarray, months: np.ndarray) -> np.ndarray:
    """SMM in month of age ``months`` at ABS ``speed`` (SF-13): ``x / (1 - x (t - 1))``,
    1 from the month that reaches 1 on.

    >>> abs_smm(np.full(3, 0.02), np.array([1, 11, 50])).round(4).tolist()
    [0.02, 0.025, 1.0]
    """
    den = 1.0 - speed * (months - 1)
    # (the month where den = speed is the last: its SMM is 1 up to rounding, made exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        smm = np.where(den > speed * (1.0 + 1e-9), speed / np.where(den > 0, den, 1.0), 1.0)
    return np.where(speed > 0, smm, 0.0)


def monthly_rates(spec: Spec, n: int) -> np.ndarray:
    """Monthly rates of ``spec`` over months 1..n of its own axis (index 0 unused, 0.0).

    A number or a vector is an annual rate (CDR, CPR, termination), as it always was.
    """
    out = np.zeros(n + 1)
    if not isinstance(spec, _Curve):
        out[1:] = to_monthly(_values(spec, n))
        return out
    t = np.arange(1, n + 1)
    unit, v = spec.unit, spec.value
    if unit in ("cdr", "cpr"):
        out[1:] = to_monthly(_values(v, n))
    elif unit in ("mdr", "smm"):
        out[1:] = _values(v, n)
    elif unit == "psa":
        out[1:] = to_monthly(psa_cpr(float(v), t))  # type: ignore[arg-type]
    elif unit == "sda":
        out[1:] = to_monthly(sda_cdr(float(v), t))  # type: ignore[arg-type]
    elif unit == "abs":
        out[1:] = abs_smm(_values(v, n), t)
    else:  # pragma: no cover - the models admit no other
        raise ValueError(f"unknown convention {unit!r}")
    return out


def by_age(spec: Any) -> bool:
    """Whether ``spec`` runs on loan age."""
    return isinstance(spec, _Curve) and spec.by_age


def is_sda(spec: Any) -> bool:
    """Whether ``spec`` is the Standard Default Assumption (zero in each loan's last months)."""
    return isinstance(spec, DefaultCurve) and spec.unit == "sda"


def varies_by_loan(scenario: Any) -> bool:
    """Whether a scenario's default or prepayment rates differ between loans (segments,
    curves by loan age, the SDA's zero months before each maturity)."""
    specs = [scenario.defaults.cdr, scenario.prepayment.cpr]
    specs += [x for seg in scenario.segments for x in (seg.cdr, seg.cpr) if x is not None]
    return bool(scenario.segments) or any(by_age(x) or is_sda(x) for x in specs)


def peak_annual(spec: Spec) -> float:
    """The highest annual rate ``spec`` reaches (for a break-even's range of multiples)."""
    if isinstance(spec, list):
        return max(spec) if spec else 0.0
    if not isinstance(spec, _Curve):
        return float(spec)
    m = monthly_rates(spec, PEAK_MONTHS)[1:]
    return float(np.max(1.0 - (1.0 - m) ** 12))


def mean_annual(spec: Spec, months: int = 60) -> float:
    """One annual figure for a table: a constant as it is, a vector's mean, a convention's
    mean annual rate over the first ``months`` months of its own axis."""
    if isinstance(spec, list):
        return float(np.mean(spec))
    if not isinstance(spec, _Curve):
        return float(spec)
    m = monthly_rates(spec, months)[1:]
    return float(np.mean(1.0 - (1.0 - m) ** 12))


def base_level(spec: Spec) -> float | None:
    """The single annual level of ``spec`` (a constant, the mean of a vector by projection
    month), or None when it has none (a convention by loan age)."""
    if isinstance(spec, list):
        return float(np.mean(spec))
    if not isinstance(spec, _Curve):
        return float(spec)
    if spec.by_age or spec.unit in SPEEDS or spec.unit == "abs":
        return None
    v = spec.value
    level = float(np.mean(v)) if isinstance(v, list) else float(v)
    return level if spec.unit in ("cdr", "cpr") else float(1.0 - (1.0 - level) ** 12)


def scale(spec: Spec, x: float) -> Spec:
    """``spec`` at ``x`` times its rates (speeds: ``x`` times the speed); rates capped at 1."""
    if isinstance(spec, list):
        return [min(v * x, 1.0) for v in spec]
    if not isinstance(spec, _Curve):
        return min(float(spec) * x, 1.0)
    v = spec.value
    if spec.unit in SPEEDS:
        return spec.with_value(float(v) * x)  # type: ignore[arg-type]
    if isinstance(v, list):
        return spec.with_value([min(r * x, 1.0) for r in v])
    return spec.with_value(min(float(v) * x, 1.0))


def is_zero(spec: Spec) -> bool:
    """Whether ``spec`` never has a rate above zero."""
    return peak_annual(spec) <= 0.0


def label(spec: Spec) -> str:
    """How ``spec`` reads in a table: ``150% PSA``, ``1.00% MDR``, ``CDR curve by loan age``.

    >>> label(PrepaymentCurve(psa=150)), label(DefaultCurve(mdr=0.01)), label(DefaultCurve(cdr=[0.01, 0.02]))
    ('150% PSA', '1.00% MDR', 'CDR vector')
    """
    if not isinstance(spec, _Curve):
        return "vector" if isinstance(spec, list) else f"{float(spec):.2%} p.a."
    unit, v = spec.unit.upper(), spec.value
    if spec.unit in SPEEDS:
        text = f"{float(v):g}% {unit}"  # type: ignore[arg-type]
    elif isinstance(v, list):
        text = f"{unit} vector"
    else:
        text = f"{float(v):.2%} {unit}"
    if spec.by_age and spec.unit not in ("psa", "sda", "abs"):
        text += " by loan age"
    elif not spec.by_age and spec.unit in ("psa", "sda", "abs"):
        text += " by projection month"
    return text


# --------------------------------------------------------------------------- by loan


def whole_months(a: dt.date, b: dt.date) -> int:
    """Whole calendar months from ``a`` to ``b`` (``a + n`` months on or before ``b``,
    the day clamped to the month's length; 0 if ``b`` is before ``a``).

    >>> whole_months(dt.date(2025, 1, 15), dt.date(2026, 2, 1)), whole_months(dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    (12, 1)
    """
    import calendar

    n = (b.year - a.year) * 12 + (b.month - a.month)
    if n > 0:
        day = min(a.day, calendar.monthrange(b.year, b.month)[1])
        if b.day < day:
            n -= 1
    return max(n, 0)


def age_offsets(origination: Sequence[dt.date], grid: Sequence[dt.date]) -> np.ndarray:
    """Per loan, its month of life in grid month ``m`` less ``m``: whole months from
    origination to the end of grid month 1, less 1 (at least 0)."""
    end1 = grid[1] if len(grid) > 1 else grid[0]
    return np.array([max(whole_months(o, end1) - 1, 0) for o in origination], dtype=np.int64)


@dataclass
class LoanRates:
    """Monthly rates of every scenario and loan: ``table[s, g, k]`` is the rate of curve
    ``g`` of scenario ``s`` in month ``k`` of its axis; loan ``l`` follows curve
    ``group[s, l]`` from month ``offset[s, l] + m`` in grid month ``m`` (the last month of
    the table holds after it), and has rate 0 after grid month ``end[s, l]``.

    Without groups, offsets or ends (every scenario one curve by projection month) the rates
    are one column per scenario, ``table[:, 0, m]``, exactly the vectors a scenario always
    gave, and :meth:`at` returns that column.
    """

    table: np.ndarray  # (S, G, N + 1)
    group: np.ndarray | None = None  # (S, L)
    offset: np.ndarray | None = None  # (S, L)
    end: np.ndarray | None = None  # (S, L)

    @property
    def shared(self) -> bool:
        """One rate per scenario and month, the same for every loan."""
        return self.group is None and self.offset is None and self.end is None

    def at(self, m: int, cols: np.ndarray | None = None) -> np.ndarray:
        """The rates of grid month ``m``: ``(S, 1)`` when :attr:`shared`, else
        ``(S, len(cols))`` for the loans ``cols`` (all loans if None)."""
        if self.shared:
            return self.table[:, 0, m, None]
        S, _, N1 = self.table.shape
        L = (self.group if self.group is not None else self.offset if self.offset is not None else self.end).shape[1]  # type: ignore[union-attr]
        cols = np.arange(L) if cols is None else cols
        g = self.group[:, cols] if self.group is not None else np.zeros((S, len(cols)), dtype=np.int64)
        k = np.full((S, len(cols)), m, dtype=np.int64)
        if self.offset is not None:
            k = np.minimum(self.offset[:, cols] + m, N1 - 1)
        out = self.table[np.arange(S)[:, None], g, k]
        if self.end is not None:
            out = np.where(m > self.end[:, cols], 0.0, out)
        return out

    def loan_vector(self, s: int, loan: int, n_months: int) -> np.ndarray:
        """The rates of one loan in one scenario over grid months 0..n_months (0 unused)."""
        out = np.zeros(n_months + 1)
        if self.shared:
            out[1:] = self.table[s, 0, 1 : n_months + 1]
            return out
        g = int(self.group[s, loan]) if self.group is not None else 0
        off = int(self.offset[s, loan]) if self.offset is not None else 0
        k = np.minimum(off + np.arange(1, n_months + 1), self.table.shape[2] - 1)
        out[1:] = self.table[s, g, k]
        if self.end is not None:
            out[np.arange(n_months + 1) > self.end[s, loan]] = 0.0
        return out

    def key(self, s: int, loan: int) -> tuple[int, int, int]:
        """What makes a loan's rates differ from another's: its curve, offset and end."""
        g = int(self.group[s, loan]) if self.group is not None else 0
        off = int(self.offset[s, loan]) if self.offset is not None else 0
        end = int(self.end[s, loan]) if self.end is not None else -1
        return g, off, end


# --------------------------------------------------------------------------- segments


def _norm(x: Any) -> Any:
    """A selector or loan value in comparable form: enums by value, numbers as floats."""
    x = getattr(x, "value", x)
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int | float):
        return float(x)
    return str(x)


def vintages(d: dt.date) -> tuple[str, str]:
    """The origination year and quarter a ``vintage`` selector names.

    >>> vintages(dt.date(2024, 8, 31))
    ('2024', '2024Q3')
    """
    return str(d.year), f"{d.year}Q{(d.month - 1) // 3 + 1}"


def segment_keys(asset_type: type) -> list[str]:
    """What a segment's ``where`` may name for assets of ``asset_type``."""
    from .model.curves import SEGMENT_KEYS

    return list(SEGMENT_KEYS) + [k for k in asset_type.model_fields if k != "origination_date"]  # type: ignore[attr-defined]


class SegmentIndex:
    """Which loans of a pool each segment selects (masks cached by selector)."""

    def __init__(self, pool_name: str, assets: Sequence[Any]) -> None:
        self.pool = pool_name
        self.assets = assets
        self._cols: dict[str, list[Any]] = {}
        self._masks: dict[str, np.ndarray] = {}

    def _column(self, key: str) -> list[Any]:
        if key not in self._cols:
            if key == "pool":
                self._cols[key] = [self.pool] * len(self.assets)
            elif key == "vintage":
                self._cols[key] = [vintages(a.origination_date) for a in self.assets]
            else:
                self._cols[key] = [_norm(getattr(a, key, None)) for a in self.assets]
        return self._cols[key]

    def mask(self, where: dict[str, Any]) -> np.ndarray:
        """The loans matching every key of ``where`` (a value or any of a list)."""
        tag = repr(sorted(where.items()))
        if tag not in self._masks:
            m = np.ones(len(self.assets), dtype=bool)
            for key, want in where.items():
                wanted = {_norm(w) for w in (want if isinstance(want, list) else [want])}
                if key == "vintage":
                    wanted = {str(w).upper().removesuffix(".0") for w in wanted}
                    hit = [bool(wanted & set(v)) for v in self._column(key)]
                else:
                    hit = [v in wanted for v in self._column(key)]
                m &= np.asarray(hit, dtype=bool)
            self._masks[tag] = m
        return self._masks[tag]


def segment_problems(scenario: Any, pools: Sequence[SegmentIndex]) -> list[Any]:
    """What is wrong with a scenario's segments on a deal's pledge pools: a key that is no
    loan field, a selector that picks no loan."""
    from .errors import Problem
    from .model.deal import PledgeLoanAsset

    known = segment_keys(PledgeLoanAsset)
    out = []
    for i, seg in enumerate(scenario.segments):
        where = f"segments[{i}]"
        bad = [k for k in seg.where if k not in known]
        for k in bad:
            import difflib

            close = difflib.get_close_matches(k, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            out.append(Problem(f"scenario '{scenario.name}'", f"{where}.where.{k}", f"not a loan field{hint}"))
        if bad:
            continue
        if seg.cdr is None and seg.cpr is None:
            out.append(Problem(f"scenario '{scenario.name}'", where, "sets no rate (defaults.cdr or prepayment.cpr)"))
        if not any(ix.mask(seg.where).any() for ix in pools):
            out.append(Problem(f"scenario '{scenario.name}'", f"{where}.where",
                               f"selects no pledge loan of the deal ({seg.label})"))
    return out


def segment_groups(scenarios: Sequence[Any], index: SegmentIndex, field: str) -> tuple[list[list[Spec]], np.ndarray | None]:
    """Per scenario the rates of ``field`` (``cdr`` or ``cpr``): the scenario's own first,
    then each segment's that sets it; and per scenario and loan the rate it takes (the first
    segment that selects it and sets the rate, else the scenario's: 0), None without segments."""
    own = [sc.defaults.cdr if field == "cdr" else sc.prepayment.cpr for sc in scenarios]
    specs: list[list[Spec]] = [[x] for x in own]
    if not any(getattr(seg, field) is not None for sc in scenarios for seg in sc.segments):
        return specs, None
    L = len(index.assets)
    group = np.zeros((len(scenarios), L), dtype=np.int64)
    for s, sc in enumerate(scenarios):
        taken = np.zeros(L, dtype=bool)
        for seg in sc.segments:
            rate = getattr(seg, field)
            if rate is None:
                continue
            sel = index.mask(seg.where) & ~taken
            specs[s].append(rate)
            group[s, sel] = len(specs[s]) - 1
            taken |= sel
    return specs, group


def loan_rates(
    specs: Sequence[Sequence[Spec]],
    n_months: int,
    *,
    group: np.ndarray | None = None,
    ages: np.ndarray | None = None,
    last_month: np.ndarray | None = None,
    lag: np.ndarray | None = None,
) -> LoanRates:
    """The :class:`LoanRates` of scenarios ``specs[s]`` (curve ``g`` of scenario ``s`` is
    ``specs[s][g]``; ``group[s, l]`` the curve of loan ``l``, 0 when None).

    ``ages``: each loan's :func:`age_offsets` (needed by curves by loan age);
    ``last_month``: each loan's last payment month on the grid and ``lag`` each scenario's
    months to liquidation (needed by SDA, zero in each loan's last ``lag`` months).
    """
    S = len(specs)
    G = max(len(x) for x in specs)
    aged = any(by_age(sp) for x in specs for sp in x)
    sda = any(is_sda(sp) for x in specs for sp in x)
    if group is None and not aged and not sda and G == 1:
        return LoanRates(np.stack([monthly_rates(x[0], n_months) for x in specs])[:, None, :])
    if aged and ages is None:
        raise ValueError("curves by loan age need the loans' ages")
    L = len(ages) if ages is not None else (group.shape[1] if group is not None else len(last_month))  # type: ignore[arg-type]
    N = n_months + (int(ages.max(initial=0)) if aged and ages is not None else 0)
    table = np.zeros((S, G, N + 1))
    age_axis = np.zeros((S, G), dtype=bool)
    sda_at = np.zeros((S, G), dtype=bool)
    for s, row in enumerate(specs):
        for g, sp in enumerate(row):
            table[s, g] = monthly_rates(sp, N)
            age_axis[s, g] = by_age(sp)
            sda_at[s, g] = is_sda(sp)
    grp = np.zeros((S, L), dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    sidx = np.arange(S)[:, None]
    offset = None
    if aged:
        assert ages is not None
        offset = np.where(age_axis[sidx, grp], np.asarray(ages, dtype=np.int64)[None, :], 0)
    end = None
    if sda:
        if last_month is None or lag is None:
            raise ValueError("SDA needs each loan's last payment month and the scenarios' recovery lags")
        big = np.iinfo(np.int64).max // 2
        end = np.where(sda_at[sidx, grp], np.asarray(last_month, dtype=np.int64)[None, :] - np.asarray(lag)[:, None], big)
    return LoanRates(table, grp if (group is not None and G > 1) else None, offset, end)


__all__ = [
    "DefaultCurve",
    "LoanRates",
    "PrepaymentCurve",
    "abs_smm",
    "age_offsets",
    "base_level",
    "by_age",
    "is_sda",
    "label",
    "loan_rates",
    "mean_annual",
    "monthly_rates",
    "peak_annual",
    "psa_cpr",
    "scale",
    "sda_cdr",
    "to_monthly",
    "varies_by_loan",
    "segment_groups",
    "segment_keys",
    "segment_problems",
    "vintages",
    "whole_months",
    "SegmentIndex",
]
