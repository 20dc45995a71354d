"""Sizing tranches to a rating (docs/structuring.md, "Sizing"): the largest balance of each
class above the subordinate that passes its target rating.

A class **passes** its target at a size when, with the subordinate taking the rest of the
notes (``deal.total_notes``, else the notes' current total),

* it is whole (criterion ``timely`` by default) in every scenario given (the deal's stress
  scenarios), and
* it passes the agency test (:mod:`abs_engine.studies.agency`) under every stress of the
  stress set: ``BDR >= TDR`` of the target rating at the class's term (test ``tdr``), or a
  break-even multiple of each stress's default curve at least the rating's multiple (test
  ``multiple``).

**Search.** The TDR and the stresses do not depend on the structure, so they are computed
once: the Monte Carlo's pool default rates, and per stress the multiple ``x_s`` of its
default curve at which the pool defaults the TDR (or the rating's multiple). At a candidate
size the class is then checked in one engine call: whole in the given scenarios and at
``x_s * j / G`` (``j = 1..G``) under every stress. Sizes are whole steps (10,000 currency
units by default); a bisection over steps finds the largest that passes. The solution and
one step more are then checked with :func:`abs_engine.studies.agency.agency_table` (the
break-even search itself): the solved size passes, one step more fails (the search steps
down if the break-even's 1 bp precision or a non-monotone structure disagrees with the
grid). Classes are sized in rank order, each holding the classes above at their solved
sizes, until a round changes nothing (at most :data:`MAX_ROUNDS`).

The **binding scenario** is what fails one step above the solution: a given scenario, or
the stress at which the class fails at the lowest default level.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..engine import Backend
from ..errors import InputError, Problem
from ..model.deal import Deal
from ..model.scenario import MonteCarlo, Scenario
from ..results import Criterion
from .agency import (
    AGENCY_PATHS,
    Agency,
    StressSet,
    Test,
    agency_table,
    check_multiples,
    levels_for_default_rate,
    load_agency_table,
    stress_scenarios,
    target_default_rates,
    tranche_term,
)
from .breakeven import stressed
from .executors import Executor
from .ratings import RatingTable
from .sweep import SweepContext, run_chunk

#: Default size step: 10,000 currency units (万元).
STEP = 10_000.0
#: Levels checked below each stress's target level.
GRID = 8
#: Rounds of sizing every class in rank order.
MAX_ROUNDS = 4
#: Steps the break-even check may move the grid's solution.
MAX_WALK = 20


@dataclass
class Sizing:
    """What :func:`size` returns."""

    deal: Deal  # the solved structure
    original: Deal
    #: one row per sized class (docs/outputs.md, ``size.csv``)
    table: pd.DataFrame
    #: the agency test of the solved structure (None without targets checked by it)
    agency: Agency | None
    #: what was checked at each candidate size: class, balance, passes, binding
    trials: pd.DataFrame
    engine_calls: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def parse_targets(targets: Sequence[str], deal: Deal, table: RatingTable | None = None,
                  multiples: dict[str, float] | None = None) -> dict[str, str]:
    """``RATING`` (the most senior class) or ``CLASS=RATING`` -> {class: rating}, checked:
    known classes above the subordinate, known ratings, one target per class."""
    import difflib

    ratings = list(multiples) if multiples else (table or load_agency_table()).ratings
    sized = [t.name for t in sorted(deal.tranches, key=lambda t: t.rank) if t.kind != "subordinate"]
    names = [t.name for t in deal.tranches]
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for i, spec in enumerate(targets):
        where = f"--target[{i}]"
        name, _, rating = spec.partition("=") if "=" in spec else ("", "", spec)
        name, rating = name.strip(), rating.strip()
        if not name:
            if not sized:
                problems.append(Problem("", where, "the deal has no class above the subordinate to size"))
                continue
            name = sized[0]
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            problems.append(Problem("", where, f"unknown tranche '{name}'" + (f"; did you mean '{close[0]}'?" if close else "")
                                    + f" (known: {', '.join(names)})"))
            continue
        if name not in sized:
            problems.append(Problem("", where, f"tranche '{name}' is the subordinate: it takes what the sized classes "
                                               "leave, it is not sized (size the classes above it)"))
            continue
        if rating not in ratings:
            close = difflib.get_close_matches(rating.upper(), ratings, n=1)
            problems.append(Problem("", where, f"unknown rating '{rating}'" + (f"; did you mean '{close[0]}'?" if close else "")
                                    + f" (known: {', '.join(ratings)})"))
            continue
        if name in out:
            problems.append(Problem("", where, f"a second target for tranche '{name}'"))
            continue
        if deal.tranche(name).principal.style == "scheduled":
            problems.append(Problem("", where, f"tranche '{name}' repays to a schedule of amounts, which a new size "
                                               "would leave as written: size it with a pass_through or bullet "
                                               "principal style, then write its schedule"))
            continue
        out[name] = rating
    if not targets:
        problems.append(Problem("", "--target", "give at least one target (RATING for the most senior class, or CLASS=RATING)"))
    if problems:
        raise InputError(problems)
    return out


def with_balances(deal: Deal, balances: dict[str, float]) -> Deal:
    """The deal with the given tranche balances and the subordinate taking the rest of the
    notes' total (``deal.total_notes``, else the current total)."""
    total = deal.deal.total_notes if deal.deal.total_notes is not None else sum(t.balance for t in deal.tranches)
    subs = [t for t in deal.tranches if t.kind == "subordinate"]
    if not subs:
        raise InputError.single("", "tranches", "sizing needs a subordinate tranche to take the rest of the notes")
    sub = max(subs, key=lambda t: t.rank)
    new = {t.name: balances.get(t.name, t.balance) for t in deal.tranches}
    new[sub.name] = 0.0
    new[sub.name] = round(total - sum(new.values()), 2)
    trs = [t.model_copy(update={"balance": new[t.name]}) for t in deal.tranches]
    return deal.model_copy(update={"tranches": trs})


class _Checker:
    """One engine call per candidate size: is the class whole in the given scenarios and
    on each stress's grid of levels up to its target level?"""

    def __init__(self, deal: Deal, name: str, plain: list[Scenario], grid: list[tuple[str, int, Scenario]],
                 criterion: Criterion, backend: Backend) -> None:
        self.deal, self.name, self.criterion, self.backend = deal, name, criterion, backend
        self.scenarios = plain + [sc for _, _, sc in grid]
        self.labels = [(sc.name, 0) for sc in plain] + [(s, j) for s, j, _ in grid]
        self.calls = 0

    def __call__(self, balances: dict[str, float]) -> tuple[bool, list[str], str]:
        d = with_balances(self.deal, balances)
        if min(t.balance for t in d.tranches) <= 0:
            return False, ["no room"], "no room"
        rows, _ = run_chunk(SweepContext(d, self.backend, self.criterion), self.scenarios)
        self.calls += 1
        whole = rows.loc[rows["tranche"] == self.name, "whole"].to_numpy()
        bad = [i for i in np.flatnonzero(~whole)]
        if not bad:
            return True, [], ""
        failing = list(dict.fromkeys(self.labels[i][0] for i in bad))
        plain = [self.labels[i][0] for i in bad if self.labels[i][1] == 0]
        binding = plain[0] if plain else self.labels[min(bad, key=lambda i: self.labels[i][1])][0]
        return False, failing, binding


def size(
    deal: Deal,
    targets: dict[str, str],
    base: Scenario,
    scenarios: Sequence[Scenario] = (),
    settings: MonteCarlo | None = None,
    *,
    stresses: StressSet | None = None,
    test: Test = "tdr",
    multiples: dict[str, float] | None = None,
    table: RatingTable | None = None,
    step: float = STEP,
    criterion: Criterion = "timely",
    backend: Backend = "cython",
    executor: Executor | None = None,
    grid: int = GRID,
) -> Sizing:
    """Size each class of ``targets`` (class -> rating; :func:`parse_targets`) to the
    largest balance, in whole ``step``s, that passes (module docstring).

    ``base`` gives the Monte Carlo's marginal default rates and the stresses' base;
    ``scenarios`` are the stress scenarios the class must be whole in as written.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> s = size(deal, {"A": "AAA"}, ae.load_scenario("scenarios/base.yaml"),
    ...          [ae.load_scenario("scenarios/stress_guarantor_fails.yaml")], MonteCarlo(paths=2000, seed=7),
    ...          executor=Executor("serial"))
    >>> row = s.table.iloc[0]
    >>> row["tranche"], bool(row["solved_balance"] % 10_000 == 0), bool(row["passes"]), bool(row["next_fails"])
    ('A', True, True, True)
    """
    from ..checks import check_scenarios

    t0 = time.perf_counter()
    if not (isinstance(step, int | float) and math.isfinite(step) and step > 0):
        raise InputError.single("", "--step", f"must be a positive amount (got {step!r})")
    scenarios = list(scenarios)
    check_scenarios(deal, [base, *scenarios])
    if test == "multiple":
        multiples = check_multiples(multiples)
    ratings = table or load_agency_table()
    order = [t.name for t in sorted(deal.tranches, key=lambda t: t.rank) if t.name in targets]
    scs = stress_scenarios(deal, base, stresses)
    notes: list[str] = []
    rates: np.ndarray | None = None
    if test == "tdr":
        from .montecarlo import simulate_defaults

        settings = settings or MonteCarlo(paths=AGENCY_PATHS)
        rates = simulate_defaults(deal, base, settings, executor=executor)["pool_default_rate"].to_numpy()
    # the target level of every stress, per class (the structure plays no part)
    target_value: dict[str, float] = {}
    levels: dict[str, list[tuple[float, bool]]] = {}
    for name in order:
        if test == "tdr":
            assert rates is not None
            tdr = target_default_rates(rates, ratings, tranche_term(deal, deal.tranche(name)))
            target_value[name] = float(tdr.set_index("rating").loc[targets[name], "tdr"])
            levels[name] = levels_for_default_rate(deal, [sc for _, _, sc in scs], [target_value[name]] * len(scs),
                                                   backend=backend)
        else:
            assert multiples is not None
            target_value[name] = float(multiples[targets[name]])
            from .breakeven import stress_range

            levels[name] = [(min(target_value[name], stress_range(sc, "cdr_multiple")[1]),
                             target_value[name] <= stress_range(sc, "cdr_multiple")[1]) for _, _, sc in scs]
        for (s, _, _), (_, reach) in zip(scs, levels[name], strict=True):
            if not reach:
                notes.append(f"{name}: the {s} stress cannot reach the target ({targets[name]}) even at its range's end; "
                             "the class must be whole across that stress's whole range")
    total = deal.deal.total_notes if deal.deal.total_notes is not None else sum(t.balance for t in deal.tranches)
    balances = {t.name: t.balance for t in deal.tranches if t.kind != "subordinate"}
    trials: list[dict[str, Any]] = []
    calls = 0
    results: dict[str, dict[str, Any]] = {}
    for rnd in range(MAX_ROUNDS):
        changed = False
        for name in order:
            grid_scs = [(s, j, stressed(sc, "cdr_multiple", x * j / grid, f"{s}@{j}/{grid}"))
                        for (s, _, sc), (x, _) in zip(scs, levels[name], strict=True) for j in range(1, grid + 1)]
            check = _Checker(deal, name, scenarios, grid_scs, criterion, backend)
            room = total - sum(v for k, v in balances.items() if k != name)
            n_max = math.ceil(room / step - 1e-9) - 1  # the subordinate keeps something
            if n_max < 1:
                raise InputError.single("", f"--target {name}", f"no room to size '{name}': the other classes take "
                                        f"{total - room:,.2f} of the notes' {total:,.2f}")

            def test_n(n: int, name: str = name, check: _Checker = check, rnd: int = rnd) -> tuple[bool, list[str], str]:
                ok, failing, binding = check({**balances, name: n * step})
                trials.append({"round": rnd + 1, "tranche": name, "balance": n * step, "passes": ok,
                               "failing": ", ".join(failing), "binding": binding})
                return ok, failing, binding

            ok1, failing1, _ = test_n(1)
            if not ok1:
                raise InputError.single("", f"--target {name}={targets[name]}",
                                        f"impossible: tranche '{name}' fails {targets[name]} even at {step:,.0f} "
                                        f"(not whole in: {', '.join(failing1)})")
            lo, hi = 1, n_max
            ok_hi, _, _ = test_n(hi)
            if ok_hi:
                lo = hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if test_n(mid)[0]:
                    lo = mid
                else:
                    hi = mid
            calls += check.calls
            if balances[name] != lo * step:
                changed = True
            balances[name] = lo * step
            results[name] = {"n": lo, "n_max": n_max}
        if not changed or len(order) == 1:
            break
    # the solution and one step more, with the break-even search itself: step down while the
    # solution fails it, up while one step more passes it (the grid and the search's 1 bp
    # precision can disagree by a step or two near the boundary)
    verify_table: Agency | None = None
    rows = []
    for name in order:
        n, n_max = results[name]["n"], results[name]["n_max"]
        cache: dict[int, tuple[bool, list[str], Agency]] = {}

        def full(k: int, name: str = name, cache: dict[int, tuple[bool, list[str], Agency]] = cache
                 ) -> tuple[bool, list[str], Agency]:
            if k not in cache:
                cache[k] = _verify(with_balances(deal, {**balances, name: k * step}), name, targets[name], base,
                                   scenarios, stresses, test, multiples, ratings, rates, criterion, backend)
            return cache[k]

        start_n = n
        while not full(n)[0] and n > 1 and start_n - n < MAX_WALK:
            n -= 1
        if not full(n)[0]:
            raise InputError.single("", f"--target {name}={targets[name]}",
                                    f"impossible: tranche '{name}' fails {targets[name]} at {n * step:,.0f} and the "
                                    f"break-even search finds no passing size near the grid's {start_n * step:,.0f}")
        while n < n_max and n - start_n < MAX_WALK and full(n + 1)[0]:
            n += 1
        if n != start_n:
            notes.append(f"{name}: the break-even search moved the solution from the grid's {start_n * step:,.0f} to "
                         f"{n * step:,.0f} (its 1 bp precision near the boundary)")
        balances[name] = n * step
        ok, _, ag = full(n)
        verify_table = ag
        capped = n >= n_max
        nxt_fails, nxt_failing, nxt_binding = True, ["no room: the subordinate would be nothing"], "no room"
        if not capped:
            ok2, fail2, ag2 = full(n + 1)
            nxt_fails = not ok2
            nxt_failing = fail2 + [f"agency:{s}" for s in _failing_stresses(ag2, name, targets[name])]
            nxt_binding = fail2[0] if fail2 else _binding_stress(ag2, name, targets[name])
            if not nxt_fails:
                notes.append(f"{name}: one step above the solution passes too (a non-monotone structure, or more "
                             f"than {MAX_WALK} steps from the grid's solution)")
        s_row = ag.summary.set_index("tranche").loc[name]
        low = "min_bdr" if test == "tdr" else "min_multiple"
        rows.append({
            "tranche": name, "target": targets[name], "test": test,
            "horizon_years": tranche_term(deal, deal.tranche(name)), "target_value": target_value[name],
            "original_balance": deal.tranche(name).balance, "solved_balance": n * step, "step": step,
            "subordinate_balance": with_balances(deal, balances).tranches[_sub_index(deal)].balance,
            "passes": ok, "next_balance": (n + 1) * step if not capped else math.nan, "next_fails": nxt_fails,
            "binding": nxt_binding, "failing": ", ".join(nxt_failing), low: float(s_row[low]),
            "bdr_stress": str(s_row["binding_stress"]), "cushion": _cushion(ag, name, targets[name]), "capped": capped,
        })
    solved = with_balances(deal, balances)
    return Sizing(solved, deal, pd.DataFrame(rows), verify_table, pd.DataFrame(trials), calls,
                  time.perf_counter() - t0, notes)


def _sub_index(deal: Deal) -> int:
    subs = [i for i, t in enumerate(deal.tranches) if t.kind == "subordinate"]
    return max(subs, key=lambda i: deal.tranches[i].rank)


def _verify(deal: Deal, name: str, rating: str, base: Scenario, scenarios: list[Scenario], stresses: StressSet | None,
            test: Test, multiples: dict[str, float] | None, table: RatingTable, rates: np.ndarray | None,
            criterion: Criterion, backend: Backend) -> tuple[bool, list[str], Agency]:
    """Plain runs of the given scenarios and the agency table of ``name`` at this structure."""
    failing: list[str] = []
    if scenarios:
        rows, _ = run_chunk(SweepContext(deal, backend, criterion), scenarios)
        g = rows[rows["tranche"] == name]
        failing = [str(s) for s, w in zip(g["scenario"], g["whole"], strict=True) if not w]
    ag = agency_table(deal, base, stresses=stresses, tranches=[name], test=test, multiples=multiples, table=table,
                      criterion=criterion, backend=backend, default_rates=rates)
    c = ag.table[(ag.table["tranche"] == name) & (ag.table["rating"] == rating)]
    return (not failing) and bool(c["passes"].all()), failing, ag


def _failing_stresses(ag: Agency, name: str, rating: str) -> list[str]:
    c = ag.table[(ag.table["tranche"] == name) & (ag.table["rating"] == rating)]
    return [str(s) for s in c.loc[~c["passes"], "stress"]]


def _binding_stress(ag: Agency, name: str, rating: str) -> str:
    c = ag.table[(ag.table["tranche"] == name) & (ag.table["rating"] == rating) & ~ag.table["passes"]]
    return f"agency:{c.loc[c['cushion'].idxmin(), 'stress']}" if len(c) else ""


def _cushion(ag: Agency | None, name: str, rating: str) -> float:
    if ag is None:
        return math.nan
    c = ag.table[(ag.table["tranche"] == name) & (ag.table["rating"] == rating) & (ag.table["bound"] != "range")]
    return float(c["cushion"].min()) if len(c) else math.nan
