"""The agency test (评级机构压力测试): each tranche's break-even default rate (BDR, 临界违约率)
under stresses of default timing, recovery and rates against the target default rate (TDR,
目标违约率) its rating asks for (docs/structuring.md, "The agency test").

* **TDR** of rating ``R`` for a tranche of term ``T`` years (closing to its expected
  maturity): the pool's cumulative default rate that a share ``p`` of the Monte Carlo paths
  exceed, where ``p`` is the rating's idealised default probability at ``max(T, 1)`` years
  (:func:`load_agency_table`; linear between tabulated years). With ``N`` paths it is the
  ``k``-th largest simulated default rate, ``k = max(floor(N p), 1)`` (the rule of the
  table's source); ``resolved`` is false when ``N p < 1`` (the largest rate stands in for a
  quantile the paths cannot show). The paths are :func:`abs_engine.studies.simulate`'s,
  path by path (:func:`abs_engine.studies.montecarlo.simulate_defaults`).
* **BDR** under a stress: the pool's cumulative default rate at the break-even multiple of
  that stress's default curve (:func:`abs_engine.studies.breakeven`, stress
  ``cdr_multiple``): the default rate the tranche survives. A tranche whole across the whole
  range has the range end's rate (``bound = range``); one never whole has 0.
* The tranche **passes** rating ``R`` under a stress when ``BDR >= TDR(R)``; its **cushion**
  is ``BDR - TDR``; its **implied rating** is the best rating it passes under every stress.
  The ``multiple`` test compares the break-even multiple of each stress's default curve with
  a multiple per rating instead (``break-even >= multiple x base``).

Stresses (:class:`StressSet`), each a scenario derived from the base whose default curve
the break-even search multiplies: ``base`` (the base's own curve), ``front_loaded`` and
``back_loaded`` (the base's mean CDR redistributed over the months to the deal's expected
maturity, falling or rising linearly), ``recovery_haircut`` (recoveries down by
``haircut_add``), ``recovery_lag`` (disposal ``lag_add_months`` later), ``rate_up`` and
``rate_down`` (every reference rate moved by ``rate_shift``; deals with reference rates).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..dates import calendar_months
from ..engine import Backend, effective_cdr
from ..errors import InputError, Problem
from ..model.deal import Deal, Tranche, sections
from ..model.scenario import MonteCarlo, Scenario
from ..model.support import failure_names
from ..results import Criterion
from .breakeven import breakeven, stress_range, stressed
from .executors import Executor
from .ratings import RatingTable, _read, load_rating_table

Test = Literal["tdr", "multiple"]
TESTS: tuple[str, ...] = ("tdr", "multiple")
#: Monte Carlo paths of the agency test unless told otherwise: enough to resolve every rating
#: of the table at every term (AAA at one year: p = 0.015%, N p = 1.5).
AGENCY_PATHS = 10_000
#: Stress names, in table order.
STRESS_NAMES: tuple[str, ...] = ("base", "front_loaded", "back_loaded", "recovery_haircut", "recovery_lag",
                                 "rate_up", "rate_down")
AGENCY_TABLE_FILE = "rating_idealized_default_cn.csv"
#: What the default table is, in words (outputs and term sheets).
AGENCY_TABLE_SOURCE = ("ideal default-rate table (理想违约率, version 1, 2017) of the portfolio credit-risk model in "
                       "United Ratings' (联合资信) package namespace, public at github.com/LH-PROJECT/lh-data "
                       "(script/sql/ideal_default_item.sql); not a published rating methodology "
                       f"(abs_engine/data/{AGENCY_TABLE_FILE})")


def load_agency_table(path: str | Path | None = None) -> RatingTable:
    """The idealised default probabilities by rating and horizon of the agency test: the
    table in data (``abs_engine/data/rating_idealized_default_cn.csv``, its source in the
    file and in docs/structuring.md), or one in the same CSV layout at ``path``.

    >>> t = load_agency_table()
    >>> t.ratings[:4], float(t.thresholds(1.0)[0])
    (['AAA', 'AA+', 'AA', 'AA-'], 0.00015)
    """
    if path is not None:
        return load_rating_table(path)
    ref = resources.files("abs_engine") / "data" / AGENCY_TABLE_FILE
    return _read(ref.read_text(encoding="utf-8"), AGENCY_TABLE_SOURCE)


def tranche_term(deal: Deal, tranche: Tranche) -> float:
    """Years (ACT/365F) from the closing date to the tranche's expected maturity (the
    deal's when the tranche states none): the horizon of its target default probability."""
    em = tranche.expected_maturity or deal.deal.expected_maturity
    return (em - deal.deal.closing_date).days / 365.0


def target_default_rates(rates: np.ndarray, table: RatingTable, years: float) -> pd.DataFrame:
    """The TDR of every rating of ``table`` for a horizon of ``years`` from simulated pool
    default rates (module docstring): one row per rating with ``horizon_years``,
    ``default_probability`` (p), ``quantile`` (1 - p), ``paths``, ``order`` (k),
    ``tdr`` and ``resolved``.

    >>> t = load_agency_table()
    >>> df = target_default_rates(np.linspace(0.0, 0.999, 1000), t, 0.5)
    >>> row = df.set_index("rating").loc["BBB-"]
    >>> int(row["order"]), round(float(row["tdr"]), 3), bool(row["resolved"])
    (10, 0.99, True)
    """
    x = np.sort(np.asarray(rates, dtype=np.float64))[::-1]
    n = len(x)
    if n == 0:
        raise ValueError("no simulated paths")
    h = max(float(years), 1.0)
    p = table.thresholds(h)
    rows = []
    for rating, pr in zip(table.ratings, p, strict=True):
        k = max(math.floor(n * pr + 1e-9), 1)
        rows.append({"rating": rating, "horizon_years": h, "default_probability": float(pr), "quantile": 1.0 - float(pr),
                     "paths": n, "order": k, "tdr": float(x[k - 1]), "resolved": bool(n * pr >= 1.0 - 1e-9)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- stresses


@dataclass(frozen=True)
class StressSet:
    """The stresses of the agency test (module docstring). Amounts are decimals (0.20 is 20
    percentage points), lags in months; ``no_support`` fails every support party (pool
    payers and deal-level providers) from the cut-off date in every stress."""

    timing: bool = True
    haircut_add: float = 0.20
    lag_add_months: int = 6
    rate_shift: float = 0.01
    no_support: bool = False

    def __post_init__(self) -> None:
        bad = []
        if not 0.0 <= self.haircut_add <= 1.0:
            bad.append(f"haircut_add must be in [0, 1] (got {self.haircut_add})")
        if not 0 <= self.lag_add_months <= 120:
            bad.append(f"lag_add_months must be in [0, 120] (got {self.lag_add_months})")
        if not 0.0 <= self.rate_shift <= 0.2:
            bad.append(f"rate_shift must be in [0, 0.2] (got {self.rate_shift})")
        if bad:
            raise ValueError("; ".join(bad))


def _annual_curve(cdr: float | list[float], months: int) -> np.ndarray:
    """The annual CDR of each month 1..months (a vector's last value holds)."""
    if isinstance(cdr, list):
        v = np.asarray(cdr, dtype=np.float64)
        return v[np.minimum(np.arange(months), len(v) - 1)]
    return np.full(months, float(cdr))


def timing_months(deal: Deal) -> int:
    """Months from the cut-off date to the deal's expected maturity (at least 1): the span
    over which the timing stresses redistribute defaults."""
    a, b = deal.deal.cutoff_date, deal.deal.expected_maturity
    return max(calendar_months(a, b), 1)


def _support_failures(deal: Deal) -> dict[str, dt.date]:
    names = [a.name for a in deal.accounts if a.external] + [n for p in deal.pools for n in failure_names(p.support)]
    return dict.fromkeys(names, deal.deal.cutoff_date)


def stress_scenarios(deal: Deal, base: Scenario, stresses: StressSet | None = None) -> list[tuple[str, str, Scenario]]:
    """``(name, description, scenario)`` of every stress (module docstring), in table
    order. A base without defaults gets a flat 1% CDR as the curve the search multiplies
    (only its shape matters: the search scales it); a base that defaults each obligor at its
    tape PD (``receivables.use_tape_pd``) a flat CDR at the tape's mean PD, the tape PDs off."""
    st = stresses or StressSet()
    L = timing_months(deal)
    cdr = base.defaults.cdr
    common: dict[str, Any] = {}
    if not isinstance(cdr, list | float | int) or base.segments:
        # a curve by loan age or by segment: the stresses redistribute the pool's effective
        # default rate by projection month (and the segments' rates make way for it)
        cdr = effective_cdr(deal, base)
        common["segments"] = [seg.model_copy(update={"defaults": None}) for seg in base.segments]
    peak = max(cdr) if isinstance(cdr, list) else float(cdr)
    unit: float | list[float] = cdr if peak > 0 else 0.01
    tape_pd = base.receivables.use_tape_pd
    if tape_pd:  # the search multiplies a CDR: the tape's mean PD stands for the obligors' own
        pds = [float(x) for p in deal.pools for a in p.assets if (x := getattr(a, "pd", None)) is not None]
        unit = float(np.mean(pds)) if pds and np.mean(pds) > 0 else 0.01
        peak = unit
        common["receivables"] = base.receivables.model_copy(update={"use_tape_pd": False})
    mean = float(_annual_curve(unit, L).mean())
    if st.no_support:
        common["support_failures"] = {**base.support_failures, **_support_failures(deal)}

    def make(name: str, **update: Any) -> Scenario:
        upd = {**common, **update}
        upd.setdefault("defaults", base.defaults.model_copy(update={"cdr": unit}))
        return base.model_copy(update={"name": f"agency:{name}", **upd})

    out: list[tuple[str, str, Scenario]] = []
    desc_curve = ("the base scenario's default curve" if not tape_pd else
                  f"a flat CDR at the tape's mean PD ({unit:.4%}; the base uses each obligor's tape PD)")
    if peak <= 0:
        desc_curve = "a flat 1% CDR (the base has no defaults)"
    out.append(("base", f"{desc_curve}", make("base")))
    if st.timing:
        m = np.arange(1, L + 1, dtype=np.float64)
        front = (2.0 * (L + 1 - m) / (L + 1) * mean).tolist()
        back = (2.0 * m / (L + 1) * mean).tolist()
        for name, vec, word in (("front_loaded", front, "falling"), ("back_loaded", back, "rising")):
            vec = [min(v, 1.0) for v in vec]
            out.append((name, f"mean CDR {mean:.4%} over the {L} months to the expected maturity, {word} linearly",
                        make(name, defaults=base.defaults.model_copy(update={"cdr": vec}))))
    rc, rv = base.recovery, common.get("receivables", base.receivables)
    hc = min(rc.haircut + st.haircut_add, 1.0)
    rate = None if rc.rate is None else max(rc.rate - st.haircut_add, 0.0)
    rr = max(rv.recovery_rate - st.haircut_add, 0.0)
    receivables = "receivables" in sections(deal.pools)
    out.append(("recovery_haircut", f"recoveries {st.haircut_add:.0%} lower (haircut {rc.haircut:.0%} -> {hc:.0%}"
                + (f", recovery rate -> {rate:.0%}" if rate is not None else "")
                + (f"; receivables' recovery rate {rv.recovery_rate:.0%} -> {rr:.0%}" if receivables else "") + ")",
                make("recovery_haircut", recovery=rc.model_copy(update={"haircut": hc, "rate": rate}),
                     receivables=rv.model_copy(update={"recovery_rate": rr}))))
    lag = min(rc.lag_months + st.lag_add_months, 240)
    out.append(("recovery_lag", f"disposal {st.lag_add_months} months later ({rc.lag_months} -> {lag} months)",
                make("recovery_lag", recovery=rc.model_copy(update={"lag_months": lag}),
                     receivables=rv.model_copy(update={"recovery_lag_months": min(rv.recovery_lag_months + st.lag_add_months, 240)}))))
    names = sorted(set(deal.deal.reference_rates) | set(base.reference_rates))
    if names and st.rate_shift > 0:
        for name, sign in (("rate_up", 1.0), ("rate_down", -1.0)):
            refs: dict[str, float | list[float]] = {}
            for n in names:
                v = base.reference_rates.get(n, deal.deal.reference_rates.get(n, 0.0))
                refs[n] = [max(x + sign * st.rate_shift, 0.0) for x in v] if isinstance(v, list) else max(float(v) + sign * st.rate_shift, 0.0)
            out.append((name, f"reference rates {'+' if sign > 0 else '-'}{st.rate_shift * 1e4:.0f} bp ({', '.join(names)}; "
                        "floored at 0)", make(name, reference_rates=refs)))
    if st.no_support:
        out = [(n, d + "; every support party fails from the cut-off date", s) for n, d, s in out]
    return out


# --------------------------------------------------------------------------- pool default rates by level


def pool_default_rates(deal: Deal, scenarios: Sequence[Scenario], backend: Backend = "cython") -> np.ndarray:
    """The pool's cumulative default rate under each scenario (one engine call per 2,048;
    the tranches play no part)."""
    from .sweep import SweepContext, run_chunk

    ctx = SweepContext(deal, backend, "timely")
    out = []
    scs = list(scenarios)
    for i in range(0, len(scs), 2048):
        _, pool = run_chunk(ctx, scs[i:i + 2048])
        out.append(pool["pool_default_rate"].to_numpy())
    return np.concatenate(out) if out else np.zeros(0)


def levels_for_default_rate(deal: Deal, scenarios: Sequence[Scenario], targets: Sequence[float], *,
                            points: int = 33, rounds: int = 4, backend: Backend = "cython") -> list[tuple[float, bool]]:
    """For each stress scenario and target default rate: the smallest multiple ``x`` of the
    scenario's default curve (found to ``span / (points-1)^rounds``) whose pool default rate
    is at least the target, and whether it is reachable (``False``: even the range's end,
    where the peak rate is 100%, defaults less; ``x`` is then the range's end). All scenarios
    share each round's engine call."""
    n = len(scenarios)
    his = [stress_range(sc, "cdr_multiple")[1] for sc in scenarios]
    lo = np.zeros(n)
    hi = np.asarray(his, dtype=np.float64)
    tg = np.asarray(targets, dtype=np.float64)
    reach = np.ones(n, dtype=bool)
    for r in range(rounds):
        grids = [np.linspace(lo[i], hi[i], points) for i in range(n)]
        scs = [stressed(sc, "cdr_multiple", float(x), f"{sc.name}[{j}]={float(x)!r}")
               for sc, g in zip(scenarios, grids, strict=True) for j, x in enumerate(g)]
        rates = pool_default_rates(deal, scs, backend).reshape(n, points)
        for i in range(n):
            above = np.flatnonzero(rates[i] >= tg[i] - 1e-15)
            if not len(above):
                if r == 0:
                    reach[i] = False
                lo[i] = hi[i]
                continue
            j = int(above[0])
            hi[i] = grids[i][j]
            lo[i] = grids[i][j - 1] if j > 0 else grids[i][0]
    return [(float(hi[i]), bool(reach[i])) for i in range(n)]


# --------------------------------------------------------------------------- the table


@dataclass
class Agency:
    """What :func:`agency_table` returns (docs/outputs.md has every column)."""

    deal: Deal
    base: Scenario
    test: str
    #: tranche x rating: the target (TDR, or the multiple) per rating
    targets: pd.DataFrame
    #: tranche x stress: break-even multiple, bound and BDR
    bdr: pd.DataFrame
    #: tranche x rating x stress: target, BDR (or multiple), cushion, passes
    table: pd.DataFrame
    #: per tranche: stated rating, lowest BDR and its stress, implied rating and its cushion
    summary: pd.DataFrame
    #: the stresses: name, description
    stresses: pd.DataFrame
    settings: MonteCarlo | None = None
    rating_source: str = ""
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _multiples_frame(multiples: dict[str, float], deal: Deal, names: list[str]) -> pd.DataFrame:
    rows = []
    for t in names:
        for rating, m in multiples.items():
            rows.append({"tranche": t, "rating": rating, "horizon_years": tranche_term(deal, deal.tranche(t)),
                         "target": float(m)})
    return pd.DataFrame(rows)


def check_multiples(multiples: dict[str, float] | None, where: str = "--multiple") -> dict[str, float]:
    """Ratings (best first) and their break-even multiples: positive, not falling from a
    worse to a better rating."""
    if not multiples:
        raise InputError.single("", where, "the multiple test needs a multiple per rating (e.g. AAA=5 AA=4 A=3 BBB=2)")
    problems = [Problem("", f"{where} {r}", f"multiple must be a positive number (got {m!r})")
                for r, m in multiples.items() if not (isinstance(m, int | float) and math.isfinite(m) and m > 0)]
    vals = list(multiples.values())
    if not problems and any(b > a for a, b in zip(vals, vals[1:], strict=False)):
        problems.append(Problem("", where, "multiples must not rise from a better to a worse rating (give the best "
                                           "rating first)"))
    if problems:
        raise InputError(problems)
    return dict(multiples)


def agency_table(
    deal: Deal,
    base: Scenario,
    settings: MonteCarlo | None = None,
    *,
    stresses: StressSet | None = None,
    tranches: Sequence[str] | None = None,
    test: Test = "tdr",
    multiples: dict[str, float] | None = None,
    table: RatingTable | None = None,
    criterion: Criterion = "timely",
    backend: Backend = "cython",
    executor: Executor | None = None,
    default_rates: np.ndarray | None = None,
) -> Agency:
    """The agency stress table of every tranche (or of ``tranches``; module docstring).

    ``settings`` are the Monte Carlo's (default: :data:`AGENCY_PATHS` paths, the default
    seed and correlation); ``default_rates`` (the simulated pool default rates) skips the
    simulation. ``test="multiple"`` compares break-even multiples with ``multiples``
    (rating -> multiple, best rating first) instead of BDR with TDR.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> ag = agency_table(deal, ae.load_scenario("scenarios/base.yaml"), MonteCarlo(paths=2000, seed=7),
    ...                   stresses=StressSet(no_support=True), executor=Executor("serial"))
    >>> list(ag.stresses["stress"])
    ['base', 'front_loaded', 'back_loaded', 'recovery_haircut', 'recovery_lag', 'rate_up', 'rate_down']
    >>> s = ag.summary.set_index("tranche")
    >>> bool(s.loc["A", "min_bdr"] > s.loc["SUB", "min_bdr"])
    True
    """
    from ..checks import check_scenarios
    from .montecarlo import simulate_defaults

    t0 = time.perf_counter()
    if test not in TESTS:
        raise InputError.single("", "--test", f"unknown test '{test}' ({', '.join(TESTS)})")
    names = [t.name for t in deal.tranches]
    chosen = _check_tranches(tranches, names)
    check_scenarios(deal, [base])
    notes: list[str] = []
    scs = stress_scenarios(deal, base, stresses)
    ratings_table = table or load_agency_table()
    if test == "multiple":
        multiples = check_multiples(multiples)
        targets = _multiples_frame(multiples, deal, chosen)
        source = "break-even multiples given with the run"
    else:
        if default_rates is None:
            settings = settings or MonteCarlo(paths=AGENCY_PATHS)
            default_rates = simulate_defaults(deal, base, settings, executor=executor)["pool_default_rate"].to_numpy()
        parts = []
        for t in chosen:
            df = target_default_rates(default_rates, ratings_table, tranche_term(deal, deal.tranche(t)))
            parts.append(df.assign(tranche=t, target=df["tdr"]))
        targets = pd.concat(parts, ignore_index=True)
        targets = targets[["tranche", "rating", "horizon_years", "default_probability", "quantile", "paths", "order",
                           "tdr", "resolved", "target"]]
        source = ratings_table.source
        unresolved = sorted(set(targets.loc[~targets["resolved"], "rating"]), key=ratings_table.ratings.index)
        if unresolved:
            notes.append(f"{len(default_rates):,} paths do not resolve the TDR of {', '.join(unresolved)} (N x p < 1): "
                         "the largest simulated default rate stands in for it; run more paths")
    # break-even multiples under every stress, then the pool default rate at each
    rows = []
    for name, desc, sc in scs:
        be = breakeven(deal, sc, stresses=["cdr_multiple"], tranches=chosen, criterion=criterion, curve_points=0,
                       backend=backend)
        for r in be.table.itertuples(index=False):
            rows.append({"tranche": r.tranche, "stress": name, "description": desc, "level": r.breakeven,
                         "first_break": r.first_break, "bound": r.bound, "monotone": r.monotone})
        notes += [f"{name}: {n}" for n in be.notes]
    bdr = pd.DataFrame(rows)
    by_name = {n: sc for n, _, sc in scs}
    at = [stressed(by_name[s], "cdr_multiple", float(x), f"{s}:{t}") for s, t, x in
          zip(bdr["stress"], bdr["tranche"], bdr["level"], strict=True) if x == x]
    rates = iter(pool_default_rates(deal, at, backend)) if at else iter(())
    bdr["bdr"] = [float(next(rates)) if x == x else 0.0 for x in bdr["level"]]
    value = "bdr" if test == "tdr" else "level"
    cross = bdr.merge(targets[["tranche", "rating", "target"]], on="tranche")
    cross["achieved"] = np.where(cross["bound"] == "never whole", 0.0, cross[value].fillna(0.0))
    cross["cushion"] = cross["achieved"] - cross["target"]
    # whole across the stress's whole range: it survives the worst the stress can do
    cross["passes"] = (cross["cushion"] >= -1e-12) | (cross["bound"] == "range")
    order = {r: i for i, r in enumerate(list(dict.fromkeys(targets["rating"])))}
    cross = cross.sort_values(["tranche", "rating", "stress"], key=lambda s: s.map(order) if s.name == "rating" else (
        s.map({n: i for i, n in enumerate(STRESS_NAMES)}) if s.name == "stress" else s.map({n: i for i, n in enumerate(names)})))
    cross = cross[["tranche", "rating", "stress", "target", "achieved", "bound", "cushion", "passes"]].reset_index(drop=True)
    summary = _summary(deal, chosen, bdr, targets, cross, value)
    stresses_frame = pd.DataFrame([(n, d) for n, d, _ in scs], columns=["stress", "description"])
    return Agency(deal, base, test, targets.reset_index(drop=True), bdr, cross, summary, stresses_frame,
                  settings if test == "tdr" else None, source, time.perf_counter() - t0, notes)


def _check_tranches(tranches: Sequence[str] | None, names: list[str], where: str = "--tranche") -> list[str]:
    chosen = list(tranches) if tranches else names
    problems = []
    for t in chosen:
        if t not in names:
            import difflib

            close = difflib.get_close_matches(t, names, n=1)
            problems.append(Problem("", where, f"unknown tranche '{t}'" + (f"; did you mean '{close[0]}'?" if close else "")
                                    + f" (known: {', '.join(names)})"))
    if problems:
        raise InputError(problems)
    return chosen


def _summary(deal: Deal, chosen: list[str], bdr: pd.DataFrame, targets: pd.DataFrame, cross: pd.DataFrame,
             value: str) -> pd.DataFrame:
    """Per tranche: the lowest BDR (or multiple) over the stresses the search bounded (a
    stress it survives across its range binds only when every stress is such) and the best
    rating passed under every stress."""
    rows = []
    for t in chosen:
        g = bdr[bdr["tranche"] == t]
        ach = np.where(g["bound"] == "never whole", 0.0, g[value].fillna(0.0).to_numpy())
        bounded = (g["bound"] != "range").to_numpy()
        pick = np.where(bounded, ach, np.inf) if bounded.any() else ach
        i = int(np.argmin(pick))
        low = float(ach[i])
        c = cross[cross["tranche"] == t]
        ok = [r for r in dict.fromkeys(c["rating"]) if bool(c.loc[c["rating"] == r, "passes"].all())]
        worst = str(targets.loc[targets["tranche"] == t, "rating"].iloc[-1])
        implied = ok[0] if ok else f"below {worst}"
        rated = c[c["rating"] == (ok[0] if ok else worst)]
        cushion = float(rated.loc[rated["bound"] != "range", "cushion"].min()) if (rated["bound"] != "range").any() else math.nan
        tr = deal.tranche(t)
        rows.append({"tranche": t, "kind": tr.kind, "balance": tr.balance, "stated_rating": tr.rating or "",
                     "horizon_years": tranche_term(deal, tr), "min_achieved": low,
                     "binding_stress": str(g["stress"].iloc[i]), "implied_rating": implied, "implied_cushion": cushion})
    out = pd.DataFrame(rows)
    return out.rename(columns={"min_achieved": "min_bdr" if value == "bdr" else "min_multiple"})
