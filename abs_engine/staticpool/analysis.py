"""Static-pool analysis (静态池分析): default, prepayment and recovery curves by vintage and
loan age from an originator's history, the fitted curves by loan age, and the scenario
files they make (docs/static-pool.md has the method).

* **By vintage and age** (origination quarter or year; age: the loan's month of life): the
  cumulative default and prepayment rates (amounts over the vintage's original balance),
  reported up to the age every loan of the vintage has reached by the as-of month.
* **By age, all vintages pooled** (a life table): the monthly default rate
  ``MDR(a) = defaults / balance outstanding at the month's start`` (delinquent loans
  included: they have not defaulted) and the monthly prepayment rate of current loans
  ``SMM(a) = prepaid / (prepaid + balance at the month's end)`` over loans current at the
  month's start. Each vintage counts at the ages it has reached, so immature vintages
  inform the early ages without biasing the late ones.
* **Fit**: a ramp-plateau-decline-tail curve (the SDA's shape) by weighted least squares on
  the pooled rates, weighted by the balance at risk: the knots (months of age) by exhaustive
  search, the peak and tail levels by :func:`scipy.optimize.lsq_linear` (non-negative)
  at the best knots. The fitted curve is written as ``{mdr|smm: {points: ...}, by: loan_age}``
  (linear between the knots, the tail after the last), which reproduces it exactly.
* **Immature vintages**, as agencies extrapolate them: by the curve's shape. The pooled
  incremental default rates (defaults at each age over the original balance of the vintages
  observed at that age; additive chain ladder) give the timing curve ``T(a)``, the share of
  a vintage's lifetime defaults expected by age ``a``; a vintage observed to age ``a`` has
  the projected lifetime rate ``observed(a) / T(a)`` (shown when ``T(a) >= 5%``, at most
  100% of its balance). Each vintage is flagged ``seasoned`` (``T >= 95%``), ``seasoning``
  (extrapolated) or ``immature`` (``T < 5%``, no projection), with a note.
* **Recovery**: rate = recoveries / defaults over the defaults old enough for their
  recoveries to be complete (at least the longest observed lag before the as-of month);
  timing, over the same defaults = the recovery-weighted mean months from default to
  recovery (the scenario's ``lag_months``) and the distribution by month.
* **Delinquency roll rates** (balance-weighted, month to month): current -> 1-30 (entry),
  each bucket -> the next (roll; 61-90 -> default), each bucket -> current (cure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear

from .history import CENT, History

#: Buckets by days past due (at a month's end) and the default state.
STATES = ("current", "1_30", "31_60", "61_90", "default", "repaid")
#: Ages with less than this share of the largest balance at risk get no weight in the fit.
MIN_EXPOSURE_SHARE = 0.02
#: Fit the cumulative rate rather than the monthly rates (less drawn to single noisy months).
FIT_CUMULATIVE = True
#: A vintage is projected (observed / timing share) when at least this share of its lifetime
#: defaults is expected by its age; below it is immature (no projection).
MIN_TIMING_SHARE = 0.05
#: From this share of its lifetime defaults on a vintage counts as seasoned (its observed rate
#: is, within 5%, its lifetime rate); between the two it is seasoning (extrapolated).
SEASONED_TIMING_SHARE = 0.95
#: Indicative agency stress multiples of the base-case default rate by rating (docs/static-pool.md).
STRESS_MULTIPLES = {"BB": 1.5, "BBB": 2.0, "A": 3.0, "AA": 4.0, "AAA": 5.0}


@dataclass
class RampCurve:
    """``h(a)``: linear from 0 at age 0 to ``peak`` at ``ramp``, ``peak`` to ``plateau``,
    linear to ``tail`` at ``decline``, ``tail`` after (months of age)."""

    peak: float
    ramp: int
    plateau: int
    decline: int
    tail: float

    def __call__(self, age: np.ndarray | int) -> np.ndarray:
        a = np.asarray(age, dtype=np.float64)
        u, v = _basis(a, self.ramp, self.plateau, self.decline)
        return self.peak * u + self.tail * v

    def points(self) -> dict[int, float]:
        """The knots as a curve's points (month of age -> monthly rate)."""
        # (a decline of no width is a step: the tail from the month after the plateau)
        decline = self.decline if self.decline > self.plateau else self.plateau + 1
        pts = {1: float(self(1)), self.ramp: self.peak, self.plateau: self.peak, decline: self.tail}
        return {k: round(float(v), 10) for k, v in sorted(pts.items())}


def _basis(a: np.ndarray, t1: Any, t2: Any, t3: Any) -> tuple[np.ndarray, np.ndarray]:
    """The curve ``peak u + tail v`` for knots ``t1 <= t2 <= t3`` (arrays broadcast)."""
    t1, t2, t3 = (np.asarray(t, dtype=np.float64) for t in (t1, t2, t3))
    width = np.maximum(t3 - t2, 1e-12)
    down = np.clip((a - t2) / width, 0.0, 1.0)
    down = np.where(t3 > t2, down, (a > t2).astype(np.float64))
    u = np.where(a <= t1, a / t1, 1.0) * (1.0 - down)
    return u, down


def fit_ramp(ages: np.ndarray, rate: np.ndarray, weight: np.ndarray, cumulative: bool = FIT_CUMULATIVE) -> RampCurve:
    """The :class:`RampCurve` closest to ``rate`` by age in weighted least squares (on the
    cumulative rate, ``sum_{t <= a} rate(t)``, with ``cumulative``)."""
    ages = np.asarray(ages, dtype=np.float64)
    w = np.where(np.isfinite(rate), weight, 0.0)
    r = np.where(np.isfinite(rate), rate, 0.0)
    acc = (lambda x: np.cumsum(np.where(w > 0, x, 0.0), axis=-1)) if cumulative else (lambda x: x)
    target = acc(r)
    if not (w > 0).any() or not (r * w).any():
        return RampCurve(0.0, 1, 1, 1, 0.0)
    top = int(ages[w > 0].max())
    best: tuple[float, int, int, int] | None = None
    for t1 in range(1, top + 1):
        t2s = np.arange(t1, top + 1)[:, None]
        t3s = np.arange(t1, top + 1)[None, :]
        ok = t3s >= t2s
        t2b, t3b = np.broadcast_to(t2s, ok.shape)[ok], np.broadcast_to(t3s, ok.shape)[ok]
        u, v = _basis(ages[None, :], t1, t2b[:, None], t3b[:, None])
        u, v = acc(u), acc(v)
        # weighted normal equations of the two levels for every (t2, t3), solved at once
        a11, a12, a22 = (w * u * u).sum(1), (w * u * v).sum(1), (w * v * v).sum(1)
        b1, b2 = (w * u * target).sum(1), (w * v * target).sum(1)
        det = a11 * a22 - a12 * a12
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(np.abs(det) > 1e-300, (b1 * a22 - b2 * a12) / det, b1 / np.maximum(a11, 1e-300))
            tail = np.where(np.abs(det) > 1e-300, (a11 * b2 - a12 * b1) / det, 0.0)
        peak, tail = np.maximum(peak, 0.0), np.maximum(tail, 0.0)
        sse = (w * (target - peak[:, None] * u - tail[:, None] * v) ** 2).sum(1)
        k = int(np.argmin(sse))
        if best is None or sse[k] < best[0] - 1e-18:
            best = (float(sse[k]), t1, int(t2b[k]), int(t3b[k]))
    assert best is not None
    k1, k2, k3 = best[1], best[2], best[3]
    u, v = _basis(ages, k1, k2, k3)
    sw = np.sqrt(w)
    sol = lsq_linear(np.column_stack([acc(u) * sw, acc(v) * sw]), target * sw, bounds=(0.0, 1.0))
    return RampCurve(float(sol.x[0]), k1, k2, k3, float(sol.x[1]))


@dataclass
class StaticPool:
    """What :func:`analyse` returns (every frame is written by ``abs-engine static-pool``)."""

    vintage_curves: pd.DataFrame  # vintage x age
    vintages: pd.DataFrame  # one row per vintage
    by_age: pd.DataFrame  # all vintages pooled, with the fitted rates
    recovery_timing: pd.DataFrame  # months since default
    roll_rates: pd.DataFrame  # from state x to state
    default_curve: RampCurve
    prepayment_curve: RampCurve
    recovery_rate: float
    recovery_lag: int
    pipeline: dict[str, Any]
    as_of: str
    info: dict[str, Any] = field(default_factory=dict)

    def scenario(self, name: str) -> dict[str, Any]:
        """The base scenario of the fitted curves (by loan age), ready for every command."""
        return {
            "name": name,
            "description": (f"Fitted by abs-engine static-pool from {self.info.get('source', 'a history')} "
                            f"({self.info.get('loans', 0):,} loans, vintages {self.info.get('vintages', '')}, "
                            f"as of {self.as_of}): default and prepayment curves by loan age, recovery rate and lag"),
            "defaults": {"cdr": {"mdr": {"points": self.default_curve.points()}, "by": "loan_age"}},
            "prepayment": {"cpr": {"smm": {"points": self.prepayment_curve.points()}, "by": "loan_age"}},
            "recovery": {"rate": round(self.recovery_rate, 6), "lag_months": self.recovery_lag},
        }

    def stress_grid(self, name: str, multiples: dict[str, float] | None = None) -> dict[str, Any]:
        """A grid over the agency stress multiples of the fitted default curve (base = 1x)."""
        m = multiples or STRESS_MULTIPLES
        return {
            "name": f"{name}_stresses",
            "base": name,
            "description": f"The fitted curves of '{name}' with the default curve at indicative rating stress multiples",
            "grid": [{"field": "multiply.defaults.cdr", "label": "rating", "names": ["base", *m],
                      "values": [1.0, *m.values()]}],
        }

    def pipeline_scenario(self, name: str) -> dict[str, Any]:
        """The fitted prepayment and recovery with the observed delinquency pipeline instead of
        the default curve (defaults come out of 61-90 days past due)."""
        base = self.scenario(name)
        return {**base, "name": f"{name}_delinquency",
                "description": f"{base['description']}; defaults through the observed delinquency roll rates",
                "defaults": {"cdr": 0.0}, "delinquency": self.pipeline}


def _state(dpd: pd.Series, defaulted: pd.Series, balance: pd.Series) -> pd.Series:
    s = np.select([defaulted > CENT, balance <= CENT, dpd <= 0, dpd <= 30, dpd <= 60, dpd <= 90],
                  ["default", "repaid", "current", "1_30", "31_60", "61_90"], default="default")
    return pd.Series(s, index=dpd.index)


def _vintage(d: pd.Series, how: str) -> pd.Series:
    if how == "year":
        return d.dt.year.astype(str)
    if how == "quarter":
        return d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str)
    raise ValueError(f"vintage must be quarter or year (got {how!r})")


def analyse(history: History, vintage: str = "quarter") -> StaticPool:
    """The static-pool analysis of ``history`` (module docstring); ``vintage``: quarter or year."""
    rows, loans = history.rows, history.loans
    as_of = history.as_of
    loans = loans.assign(vintage=_vintage(loans["origination_date"], vintage),
                         observable=(as_of.ordinal - loans["origination_date"].dt.to_period("M").astype("int64")))
    rows = rows.merge(loans[["loan_id", "vintage"]], on="loan_id", how="left")
    live = ~rows["defaulted_before"]

    # ---- pooled by age (life table)
    perf = rows[live]
    g = perf.groupby("age")
    by_age = pd.DataFrame({
        "loans": g["loan_id"].nunique(),
        "balance_at_risk": g["start"].sum(),
        "defaults": g["defaulted"].sum(),
        "scheduled": g["scheduled"].sum(),
        "prepayments": g["prepaid"].sum(),
    })
    current = perf[(perf["prev_dpd"] <= 0) & (perf["defaulted"] <= CENT)]
    cg = current.groupby("age")
    by_age["prepayment_base"] = (cg["prepaid"].sum() + cg["balance"].sum()).reindex(by_age.index).fillna(0.0)
    by_age["prepaid_current"] = cg["prepaid"].sum().reindex(by_age.index).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_age["mdr"] = by_age["defaults"] / by_age["balance_at_risk"]
        by_age["smm"] = by_age["prepaid_current"] / by_age["prepayment_base"]
    ages = by_age.index.to_numpy()
    risk = by_age["balance_at_risk"].to_numpy()
    w_d = np.where(risk >= MIN_EXPOSURE_SHARE * risk.max(initial=0.0), risk, 0.0)
    base = by_age["prepayment_base"].to_numpy()
    w_p = np.where(base >= MIN_EXPOSURE_SHARE * base.max(initial=0.0), base, 0.0)
    dcurve = fit_ramp(ages, by_age["mdr"].to_numpy(), w_d)
    pcurve = fit_ramp(ages, by_age["smm"].to_numpy(), w_p)
    by_age["fitted_mdr"] = dcurve(ages)
    by_age["fitted_smm"] = pcurve(ages)

    # ---- by vintage and age: cumulative rates over the vintage's original balance, up to
    # the age every loan of the vintage has reached
    orig = loans.groupby("vintage")["original_balance"].sum()
    reached = loans.groupby("vintage")["observable"].min()
    vg = rows.groupby(["vintage", "age"])
    curves = pd.DataFrame({"defaults": vg["defaulted"].sum(), "prepayments": vg["prepaid"].sum(),
                           "balance_at_risk": rows[live].groupby(["vintage", "age"])["start"].sum()}).fillna(0.0)
    late = rows[live & (rows["days_past_due"] > 30)].groupby(["vintage", "age"])["balance"].sum()
    curves["delinquent_30_plus"] = late.reindex(curves.index).fillna(0.0)
    curves = curves.reset_index()
    full = []
    for v, grp in curves.groupby("vintage", sort=True):
        top = int(reached[v])
        grp = grp.drop(columns="vintage").set_index("age").reindex(range(1, max(top, 0) + 1), fill_value=0.0)
        grp = grp.rename_axis("age").reset_index()
        grp["vintage"] = v
        full.append(grp)
    curves = pd.concat(full, ignore_index=True) if full else curves
    curves["original_balance"] = curves["vintage"].map(orig)
    curves["cumulative_default_rate"] = curves.groupby("vintage")["defaults"].cumsum() / curves["original_balance"]
    curves["cumulative_prepayment_rate"] = curves.groupby("vintage")["prepayments"].cumsum() / curves["original_balance"]
    curves["delinquency_30_plus_rate"] = curves["delinquent_30_plus"] / curves["original_balance"]
    curves = curves[["vintage", "age", "original_balance", "balance_at_risk", "defaults", "prepayments",
                     "delinquent_30_plus", "cumulative_default_rate", "cumulative_prepayment_rate",
                     "delinquency_30_plus_rate"]]

    # ---- timing curve (additive chain ladder) and each vintage's projected lifetime rate
    incr = curves.assign(rate=curves["defaults"] / curves["original_balance"])
    d_bar = incr.groupby("age").apply(lambda x: x["defaults"].sum() / x["original_balance"].sum(), include_groups=False)
    lifetime_mean = float(d_bar.sum())
    timing = d_bar.cumsum() / lifetime_mean if lifetime_mean > 0 else d_bar * 0.0
    by_age["timing"] = timing.reindex(by_age.index).ffill().fillna(0.0)

    # ---- recoveries: rate over defaults old enough, timing from default
    default_month = rows[rows["defaulted"] > CENT].set_index("loan_id")["month"]
    rec = rows[rows["recovered"] > CENT]
    lags = (rec["month"].astype("int64") - rec["loan_id"].map(default_month).astype("int64")).to_numpy()
    rec = rec.assign(months_since_default=lags)
    longest = int(lags.max(initial=0))
    mature = default_month[(as_of.ordinal - default_month.astype("int64")) >= longest]
    defaults_mature = rows[rows["loan_id"].isin(mature.index)]["defaulted"].sum()
    recovered_mature = rec[rec["loan_id"].isin(mature.index)]["recovered"].sum()
    recovery_rate = float(recovered_mature / defaults_mature) if defaults_mature > 0 else 0.0
    # (the timing too over the defaults whose recoveries are complete: recent ones have only
    # their early recoveries yet)
    timed = rec[rec["loan_id"].isin(mature.index)] if len(mature) else rec
    timing_rec = timed.groupby("months_since_default")["recovered"].sum()
    timing_frame = pd.DataFrame({"months_since_default": timing_rec.index, "recovered": timing_rec.to_numpy()})
    total_rec = float(timing_rec.sum())
    timing_frame["share"] = timing_frame["recovered"] / total_rec if total_rec > 0 else 0.0
    timing_frame["cumulative_share"] = timing_frame["share"].cumsum()
    lag = int(round(float((timing_rec.index * timing_rec).sum() / total_rec))) if total_rec > 0 else 0

    # ---- delinquency roll rates (balance-weighted transitions month to month)
    perf_rows = rows[live].copy()
    perf_rows["state"] = _state(perf_rows["days_past_due"], perf_rows["defaulted"], perf_rows["balance"])
    prev = perf_rows.groupby("loan_id")["state"].shift(1)
    perf_rows["from"] = prev.where(prev.notna(), "current")
    moves = perf_rows[perf_rows["from"].isin(STATES[:4])].groupby(["from", "state"])["start"].sum()
    roll = moves.rename("balance").reset_index().rename(columns={"state": "to"})
    totals = roll.groupby("from")["balance"].transform("sum")
    roll["rate"] = roll["balance"] / totals
    order = {s: i for i, s in enumerate(STATES)}
    roll = roll.sort_values(["from", "to"], key=lambda s: s.map(order)).reset_index(drop=True)

    def rate(a: str, b: str) -> float:
        x = roll[(roll["from"] == a) & (roll["to"] == b)]["rate"]
        return float(x.iloc[0]) if len(x) else 0.0

    buckets = ("1_30", "31_60", "61_90")
    nxt = {"1_30": "31_60", "31_60": "61_90", "61_90": "default"}
    rolls = [rate(b, nxt[b]) for b in buckets]
    cures = [rate(b, "current") for b in buckets]
    # (a bucket's moves elsewhere, e.g. 1-30 straight to 61-90 or to repaid, are not in the pipeline)
    scale = [max(r + c, 1.0) for r, c in zip(rolls, cures, strict=True)]
    pipeline: dict[str, Any] = {
        "entry": round(rate("current", "1_30"), 8),
        "roll": [round(r / k, 8) for r, k in zip(rolls, scale, strict=True)],
        "cure": [round(c / k, 8) for c, k in zip(cures, scale, strict=True)],
    }

    # ---- vintages
    vint = loans.groupby("vintage").agg(loans=("loan_id", "count"), original_balance=("original_balance", "sum"),
                                        first_origination=("origination_date", "min"),
                                        last_origination=("origination_date", "max"), observed_age=("observable", "min"))
    last = curves.groupby("vintage").tail(1).set_index("vintage")
    vint["cumulative_default_rate"] = last["cumulative_default_rate"].reindex(vint.index).fillna(0.0)
    vint["cumulative_prepayment_rate"] = last["cumulative_prepayment_rate"].reindex(vint.index).fillna(0.0)
    share = vint["observed_age"].map(lambda a: float(timing.get(min(int(a), int(timing.index.max())), 0.0))
                                     if len(timing) and a >= 1 else 0.0)
    vint["timing_share"] = share
    raw = np.where(share >= MIN_TIMING_SHARE, vint["cumulative_default_rate"] / share.where(share > 0, 1.0), np.nan)
    # a vintage defaulting faster than the pooled timing can project more than its whole
    # balance: no vintage loses more than it lent, so the projection stops at 100% and says so
    vint["projected_lifetime_default_rate"] = np.minimum(raw, 1.0)
    vint["maturity"] = np.where(share >= SEASONED_TIMING_SHARE, "seasoned",
                                np.where(share >= MIN_TIMING_SHARE, "seasoning", "immature"))
    vint["note"] = [
        (f"projection {r:.0%} of the original balance (observed {c:.2%} / timing share {t:.1%}) capped at 100%"
         if r == r and r > 1.0 else
         f"immature: {t:.1%} of lifetime defaults expected by its age; no projection" if t < MIN_TIMING_SHARE else
         f"seasoning: projected by the pooled timing ({t:.1%} of lifetime defaults expected by its age)"
         if t < SEASONED_TIMING_SHARE else "")
        for r, c, t in zip(raw, vint["cumulative_default_rate"], share, strict=True)]
    d_v = rows.groupby("vintage")["defaulted"].sum()
    r_v = rows.groupby("vintage")["recovered"].sum()
    vint["defaults"] = d_v.reindex(vint.index).fillna(0.0)
    vint["recovered"] = r_v.reindex(vint.index).fillna(0.0)
    vint = vint.reset_index()
    info = {"loans": len(loans), "vintages": f"{vint['vintage'].min()}-{vint['vintage'].max()}" if len(vint) else "",
            "source": ", ".join(p.name for p in history.files), "lifetime_default_rate": lifetime_mean,
            "defaults": int((rows["defaulted"] > CENT).sum())}
    by_age = by_age.reset_index()
    return StaticPool(curves, vint, by_age, timing_frame, roll, dcurve, pcurve, recovery_rate, lag, pipeline,
                      str(as_of), info)


def cumulative(monthly: np.ndarray) -> np.ndarray:
    """``1 - prod (1 - m)``: the cumulative probability of monthly rates."""
    return 1.0 - np.cumprod(1.0 - np.asarray(monthly, dtype=np.float64))


__all__ = ["STRESS_MULTIPLES", "RampCurve", "StaticPool", "analyse", "cumulative", "fit_ramp"]
