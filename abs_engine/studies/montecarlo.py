"""Monte Carlo: correlated defaults of obligors and patents, N seeded paths, loss
distributions per tranche (docs/scenarios.md, "Monte Carlo").

The model (one-factor Gaussian copula, :class:`abs_engine.model.scenario.MonteCarlo`):
on path ``k`` a systematic factor ``Z`` and idiosyncratic ``e_i`` (independent standard
normals) give obligor ``i`` the latent ``X_i = sqrt(rho_i) Z + sqrt(1 - rho_i) e_i``; the
obligor defaults in the first grid month ``m`` with ``X_i <= Phi^-1(F_i(m))``, where
``F_i(m) = 1 - prod_{j<=m} (1 - mdr_i(j))`` is its cumulative default probability under
the scenario (the CDR, constant, vector or curve, or the tape PD of a receivable obligor
with ``receivables.use_tape_pd``). So each obligor's default time has exactly the
scenario's marginal distribution, and the expected pool flows equal the scenario's
expected-value projection. All assets of an obligor default together. Patents of licence
pools are invalidated the same way (``F_p(m) = 1 - (1 - h_p)^(m/12)`` with ``h_p`` the
scenario's ``patents.invalidation_hazard``), with loadings on the same factor ``Z``.

A path is projected with the scenario's other assumptions (prepayment, recovery and lag,
terminations, named events) and its drawn default and invalidation months, through the
engine's hooks, then run through the waterfall. Path ``k`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(k,))`` (the ``k``-th child of
``SeedSequence(seed).spawn``), in a fixed order (``Z``, the obligors' ``e``, each licence
pool's patents), and paths are computed in fixed blocks of :data:`BLOCK`, so the results
are identical whatever the executor, the number of workers or the chunk size.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..checks import (
    check_run,
    check_scenarios,
    deal_problems,
    require,
    settings_problems,
    simulation_problems,
)
from ..curves import monthly_rates
from ..engine import Backend, Projector
from ..limits import check_run_size
from ..model.deal import Deal, obligor
from ..model.scenario import BASE, MonteCarlo, Scenario
from ..periods import aggregate
from ..pools.base import Events, PoolFlows, Sparse
from ..pools.kinds import kind_of
from ..results import WHOLE_TOLERANCE, Criterion, pool_measures
from .executors import Context, Executor, OnDone, release, run_tasks, worker_cache
from .ratings import RatingTable, load_rating_table, upper_bound

#: Paths per engine call. Fixed, so that a path's figures never depend on how paths are
#: split between tasks (chunks are whole blocks).
BLOCK = 32
#: Loss-rate percentiles reported per tranche.
PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9)


def path_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of path ``k``: ``SeedSequence(seed, spawn_key=(k,))``, which is
    ``SeedSequence(seed).spawn(n)[k]`` for any ``n > k``.

    >>> a = path_rng(7, 3).standard_normal()
    >>> b = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7).spawn(5)[3])).standard_normal()
    >>> a == b
    True
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


def mc_scenario(scenario: Scenario) -> Scenario:
    """The scenario a path is projected under: the draws replace the CDR, the tape PDs and
    the patent invalidation hazard; everything else stays."""
    return scenario.model_copy(update={
        "name": "mc",
        "defaults": scenario.defaults.model_copy(update={"cdr": 0.0}),
        "segments": [seg.model_copy(update={"defaults": None}) for seg in scenario.segments],
        "receivables": scenario.receivables.model_copy(update={"use_tape_pd": False}),
        "patents": scenario.patents.model_copy(update={"invalidation_hazard": 0.0}),
    })


def _cumulative(mdr: np.ndarray) -> np.ndarray:
    """``F(m) = 1 - prod_{j<=m} (1 - mdr_j)`` for months 1..M (``mdr[0]`` unused)."""
    return 1.0 - np.cumprod(1.0 - mdr[1:])


class SimulationContext(Context):
    """What every task of a simulation reads."""

    def __init__(self, deal: Deal, scenario: Scenario, settings: MonteCarlo, backend: Backend,
                 fast: bool) -> None:
        super().__init__()
        self.deal = deal
        self.scenario = scenario
        self.settings = settings
        self.backend = backend
        self.fast = fast


@dataclass
class _Model:
    """The copula and the pools' projections of a simulation, built once per worker."""

    M: int
    projector: Projector
    scenario: Scenario
    a: np.ndarray  # (n_obligors,) loading sqrt(rho)
    b: np.ndarray  # sqrt(1 - rho)
    thresholds: list[np.ndarray]  # per default curve: Phi^-1(F(m)), months 1..M
    members: list[np.ndarray]  # obligors of each curve
    asset_obligor: list[np.ndarray]  # per pool: obligor index of each asset
    patents: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]] | None]
    #: per pool: its sparse projection of the paths (None: projected densely)
    sparse: list[Sparse | None]
    n_obligors: int = 0
    n_patents: list[int] = field(default_factory=list)
    #: support parties that may fail: name, loading sqrt(rho), sqrt(1 - rho), thresholds (months 1..M)
    support: list[tuple[str, float, float, np.ndarray]] = field(default_factory=list)


def _rho(settings: MonteCarlo, asset: Any) -> float:
    if settings.correlation_by == "none":
        return settings.correlation
    group = getattr(asset, settings.correlation_by, None)
    return settings.correlations.get(str(group), settings.correlation) if group is not None else settings.correlation


def build_model(ctx: SimulationContext, fast: bool | None = None) -> _Model:
    """The per-worker state of a simulation (see the module docstring)."""
    deal, settings = ctx.deal, ctx.settings
    sc = mc_scenario(ctx.scenario)
    proj = Projector(deal, [sc])
    M = proj.grid_months
    # obligors across all pools, in order of first appearance
    index: dict[str, int] = {}
    rho: list[float] = []
    curve_key: list[tuple[Any, ...]] = []
    asset_obligor = []
    use_pd = ctx.scenario.receivables.use_tape_pd
    # a pledge loan's default rates may be its own (by loan age, by segment): an obligor
    # takes those of its first asset, keyed by what makes them differ
    shared_cdr = monthly_rates(ctx.scenario.defaults.cdr, M)
    own: dict[tuple[Any, ...], np.ndarray] = {}
    for pool, prepared in zip(deal.pools, proj.prepared, strict=True):
        ids = []
        rates = kind_of(pool).default_rates(pool, prepared, ctx.scenario, proj.grid)
        for li, a in enumerate(pool.assets):
            name = obligor(a)
            if name not in index:
                index[name] = len(index)
                rho.append(_rho(settings, a))
                if "receivables" in type(pool).SECTIONS and use_pd:  # a receivable's obligor: its tape PD
                    curve_key.append(("pd", float(getattr(a, "pd", None) or 0.0)))
                elif rates is not None and not rates.shared:
                    key = ("loan", *rates.key(0, li))
                    if key not in own:
                        own[key] = rates.loan_vector(0, li, M)
                    curve_key.append(key)
                else:
                    curve_key.append(("cdr", 0.0))
            ids.append(index[name])
        asset_obligor.append(np.asarray(ids, dtype=np.int64))
    keys = sorted(set(curve_key), key=repr)
    thresholds, members = [], []
    for key in keys:
        if key[0] == "cdr":
            mdr = shared_cdr
        elif key[0] == "loan":
            mdr = own[key]
        else:
            mdr = np.full(M + 1, 1.0 - (1.0 - key[1]) ** (1.0 / 12.0))
        thresholds.append(ndtri(np.clip(_cumulative(mdr), 0.0, 1.0)))
        members.append(np.asarray([i for i, k in enumerate(curve_key) if k == key], dtype=np.int64))
    r = np.asarray(rho, dtype=np.float64)
    patents: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]] | None] = []
    n_patents = []
    hz = ctx.scenario.patents.invalidation_hazard
    for pool in deal.pools:
        types = kind_of(pool).patent_types(pool)
        if not types:
            patents.append(None)
            n_patents.append(0)
            continue
        hs = np.array([(hz.get(t, 0.0) if isinstance(hz, dict) else float(hz)) for t in types])
        pr = np.array([settings.patent_correlations.get(t, settings.patent_correlation) for t in types])
        thr, mem = [], []
        months = np.arange(1, M + 1)
        for hv in sorted(set(hs.tolist())):
            F = 1.0 - (1.0 - hv) ** (months / 12.0)
            thr.append(ndtri(np.clip(F, 0.0, 1.0)))
            mem.append(np.flatnonzero(hs == hv))
        patents.append((np.sqrt(pr), np.sqrt(1.0 - pr), thr, mem))
        n_patents.append(len(types))
    use_fast = ctx.fast if fast is None else fast
    sparse: list[Sparse | None] = proj.sparse(sc) if use_fast else [None] * len(deal.pools)
    months = np.arange(1, M + 1)
    rs = settings.support_correlation
    support = [(name, math.sqrt(rs), math.sqrt(1.0 - rs), ndtri(np.clip(1.0 - (1.0 - pd_) ** (months / 12.0), 0.0, 1.0)))
               for name, pd_ in settings.support_default_probability.items()]
    return _Model(M, proj, sc, np.sqrt(r), np.sqrt(1.0 - r), thresholds, members, asset_obligor, patents, sparse,
                  len(index), n_patents, support)


def draw(model: _Model, seed: int, k: int) -> tuple[np.ndarray, list[np.ndarray | None], dict[str, int]]:
    """Path ``k``: each obligor's default month (0: none), per licence pool each patent's
    invalidation month (0: never), and the month each support party fails (only those that
    do). The support parties draw last, so adding them changes no other draw."""
    rng = path_rng(seed, k)
    z = rng.standard_normal()
    x = model.a * z + model.b * rng.standard_normal(model.n_obligors)
    tau = np.zeros(model.n_obligors, dtype=np.int64)
    for thr, idx in zip(model.thresholds, model.members, strict=True):
        t = np.searchsorted(thr, x[idx], side="left") + 1
        tau[idx] = np.where(t > model.M, 0, t)
    inval: list[np.ndarray | None] = []
    for spec, n in zip(model.patents, model.n_patents, strict=True):
        if spec is None:
            inval.append(None)
            continue
        a, b, thrs, mems = spec
        y = a * z + b * rng.standard_normal(n)
        im = np.zeros(n, dtype=np.int64)
        for thr, idx in zip(thrs, mems, strict=True):
            t = np.searchsorted(thr, y[idx], side="left") + 1
            im[idx] = np.where(t > model.M, 0, t)
        inval.append(im)
    fails: dict[str, int] = {}
    for name, la, lb, sthr in model.support:
        m = int(np.searchsorted(sthr, la * z + lb * rng.standard_normal(), side="left")) + 1
        if m <= model.M:
            fails[name] = m
    return tau, inval, fails


def _events(dms: list[np.ndarray], ims: list[np.ndarray | None]) -> list[Events]:
    """The drawn default and invalidation months of each pool, as the projection takes them."""
    return [Events(default_month=dm, invalidation_month=im) for dm, im in zip(dms, ims, strict=True)]


def _paths(ctx: SimulationContext, model: _Model, k0: int, k1: int) -> tuple[list[Scenario], list[np.ndarray], list[np.ndarray | None], np.ndarray, np.ndarray, np.ndarray]:
    ks = range(k0, k1)
    draws = [draw(model, ctx.settings.seed, k) for k in ks]
    tau = np.stack([d[0] for d in draws])  # (B, n_obligors)
    dms = [tau[:, ao] for ao in model.asset_obligor]
    ims: list[np.ndarray | None] = []
    for i, n in enumerate(model.n_patents):
        rows = [d[1][i] for d in draws]
        ims.append(np.stack([r for r in rows if r is not None]) if model.patents[i] is not None and n else None)
    scenarios = [_path_scenario(model, k, d[2]) for k, d in zip(ks, draws, strict=True)]
    n_def = (tau > 0).sum(axis=1)
    n_inv = sum(((x > 0).sum(axis=1) for x in ims if x is not None), np.zeros(len(scenarios), dtype=np.int64))
    n_sup = np.array([len(d[2]) for d in draws], dtype=np.int64)
    return scenarios, dms, ims, n_def, np.asarray(n_inv), n_sup


def _path_scenario(model: _Model, k: int, fails: dict[str, int]) -> Scenario:
    """Path ``k``'s scenario: the drawn support failures (from the end of their month's grid
    date, so a pool payer fails in that month), the earlier of a scenario's own and a draw."""
    if not fails:
        return model.scenario.model_copy(update={"name": f"path{k}"})
    grid = model.projector.grid
    sf = dict(model.scenario.support_failures)
    for name, m in fails.items():
        d = grid[m]
        sf[name] = min(sf[name], d) if name in sf else d
    return model.scenario.model_copy(update={"name": f"path{k}", "support_failures": sf})


def _block(ctx: SimulationContext, model: _Model, b0: int, b1: int) -> tuple[list[Scenario], list[PoolFlows], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paths ``b0..b1-1``: their scenarios, the pools' monthly flows (the projection API's
    :meth:`~abs_engine.engine.Projector.flows`: sparse where the model has it, projected again
    with the clean-up call's sale where it is exercised), the sale months (0: none) and
    the per-path counts of defaults, invalidations and support failures."""
    scenarios, dms, ims, n_def, n_inv, n_sup = _paths(ctx, model, b0, b1)
    flows, sale = model.projector.flows(scenarios, _events(dms, ims), sparse=model.sparse)
    return scenarios, flows, sale, n_def, n_inv, n_sup


def run_paths(ctx: SimulationContext, task: tuple[int, int]) -> dict[str, np.ndarray]:
    """Simulate paths ``task[0]..task[1]-1`` (a whole number of blocks) and reduce each
    to its per-tranche and pool figures. A task function of :func:`run_tasks`."""
    model: _Model = worker_cache(ctx, "model", lambda: build_model(ctx))
    k0, k1 = task
    parts: list[dict[str, np.ndarray]] = []
    for b0 in range(k0, k1, BLOCK):
        b1 = min(k1, b0 + BLOCK)
        scenarios, flows, sale, n_def, n_inv, n_sup = _block(ctx, model, b0, b1)
        res = model.projector.result(scenarios, flows, sale, ctx.backend)
        tm = res.measures()
        pm = pool_measures(res.pools)
        parts.append({
            "path": np.arange(b0, b1), "loss": tm.loss, "loss_rate": tm.loss_rate, "writedown": tm.writedown,
            "interest_lost": tm.interest_lost, "max_shortfall": tm.max_shortfall,
            "behind_schedule": tm.behind_schedule, "late": tm.late, "wal_years": tm.wal_years,
            "yield": tm.yield_, "obligor_defaults": n_def, "patents_invalidated": n_inv,
            "support_failures": n_sup, **pm,
        })
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _defaults_model(ctx: SimulationContext) -> _Model:
    """The model of :func:`run_default_paths`: every pledge pool projected sparsely, with
    or without a support stack (support pays for defaults, it does not change them)."""
    model = build_model(ctx, fast=True)
    model.sparse = model.projector.sparse(model.scenario, exact=False)
    return model


def run_default_paths(ctx: SimulationContext, task: tuple[int, int]) -> dict[str, np.ndarray]:
    """The pool figures of paths ``task[0]..task[1]-1`` without the waterfall: the same
    draws as :func:`run_paths`, so path ``k``'s ``pool_defaults`` and
    ``pool_default_rate`` are those :func:`simulate` reports for path ``k`` (to rounding:
    pledge pools are projected sparsely). A task function of :func:`run_tasks`."""
    model: _Model = worker_cache(ctx, "defaults_model", lambda: _defaults_model(ctx))
    k0, k1 = task
    parts: list[dict[str, np.ndarray]] = []
    for b0 in range(k0, k1, BLOCK):
        b1 = min(k1, b0 + BLOCK)
        _, flows, _, n_def, _, _ = _block(ctx, model, b0, b1)  # (a call's sale ends the defaults of what it buys)
        pm = pool_measures([aggregate(f, model.projector.schedule) for f in flows])
        parts.append({"path": np.arange(b0, b1), "obligor_defaults": n_def, "pool_defaults": pm["pool_defaults"],
                      "pool_default_rate": pm["pool_default_rate"]})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def simulate_defaults(
    deal: Deal,
    scenario: Scenario | None = None,
    settings: MonteCarlo | None = None,
    *,
    executor: Executor | None = None,
    chunk: int | None = None,
) -> pd.DataFrame:
    """The pool's cumulative default amount and rate on each of :func:`simulate`'s paths
    (the same seeds and draws, path by path), without running the waterfall: what the
    target default rates of :mod:`abs_engine.studies.agency` need, at a fraction of the
    cost. One row per path: ``path``, ``obligor_defaults``, ``pool_defaults`` (currency
    units), ``pool_default_rate`` (share of the original pool balance).

    Examples
    --------
    >>> import abs_engine as ae
    >>> from abs_engine.model.scenario import MonteCarlo
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> sc = ae.load_scenario("scenarios/stress.yaml")
    >>> fast = simulate_defaults(deal, sc, MonteCarlo(paths=64, seed=1), executor=Executor("serial"))
    >>> full = simulate(deal, sc, MonteCarlo(paths=64, seed=1), executor=Executor("serial"))
    >>> bool(np.allclose(fast["pool_default_rate"], full.pool["pool_default_rate"], rtol=1e-12, atol=1e-15))
    True
    """
    settings = settings or MonteCarlo()
    scenario = scenario or BASE
    require(deal_problems(deal, "<deal>") + settings_problems(deal, settings))
    check_scenarios(deal, [scenario])
    ex = executor or Executor()
    ctx = SimulationContext(deal, scenario, settings, "cython", fast=True)
    n = settings.paths
    size = _default_chunk(n, ex.n_workers) if chunk is None else max(math.ceil(chunk / BLOCK), 1) * BLOCK
    tasks = [(k0, min(n, k0 + size)) for k0 in range(0, n, size)]
    try:
        parts = run_tasks(run_default_paths, ctx, tasks, executor=ex, units=[b - a for a, b in tasks])
    finally:
        release(ctx)
    return pd.DataFrame({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


def _has_sparse(deal: Deal) -> bool:
    """Whether some pool of the deal has a sparse projection of the paths."""
    return any(kind_of(p).has_sparse(p, exact=True) for p in deal.pools)


def check_sparse(ctx: SimulationContext, n: int = 8, rtol: float = 1e-9) -> tuple[bool, float]:
    """Compare the sparse projection with the dense one on the first ``n`` paths; returns
    (agree, largest difference relative to each series' scale)."""
    if not _has_sparse(ctx.deal):
        return True, 0.0
    # the model the tasks of this process use (threads share it)
    model: _Model = worker_cache(ctx, "model", lambda: build_model(ctx, fast=True))
    n = min(n, ctx.settings.paths)
    scenarios, dms, ims, _, _, _ = _paths(ctx, model, 0, n)
    events = _events(dms, ims)
    sparse = model.projector.monthly(scenarios, events, sparse=model.sparse)
    dense = model.projector.monthly(scenarios, events)
    worst = 0.0
    for sp, a, b in zip(model.sparse, sparse, dense, strict=True):
        if sp is None:
            continue
        for key, x in b.series().items():
            y = a.series()[key]
            scale = max(float(np.abs(x).max(initial=0.0)), 1.0)
            worst = max(worst, float(np.abs(x - y).max(initial=0.0)) / scale)
    return worst <= rtol, worst


# --------------------------------------------------------------------------- results


@dataclass
class Simulation:
    """The outcome of :func:`simulate`."""

    deal: Deal
    scenario: Scenario
    settings: MonteCarlo
    paths: pd.DataFrame  # one row per path and tranche
    #: one row per path: ``obligor_defaults`` (obligors whose drawn default time falls within the
    #: projection grid, whether or not they still owe anything then), ``patents_invalidated``
    #: (likewise), ``support_failures`` (support parties whose drawn failure falls within the
    #: grid), ``pool_defaults`` / ``pool_loss`` (defaulted balance and loss, currency
    #: units) and their shares of the original pool balance
    pool: pd.DataFrame
    criterion: str
    executor: str
    elapsed_s: float
    sparse: bool
    sparse_check: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_paths(self) -> int:
        return int(self.pool.shape[0])

    def summary(self, table: RatingTable | None = None) -> pd.DataFrame:
        """One row per tranche: expected loss (mean loss rate) and its standard error,
        probability of any loss (and its 95% upper bound), probability of not being whole,
        loss-rate percentiles, WAL and yield distributions, and the ratings the table gives
        for the point estimate and for the upper bound."""
        table = table or load_rating_table()
        n = self.n_paths
        rows = []
        for tr in self.deal.tranches:
            g = self.paths[self.paths["tranche"] == tr.name]
            lr = g["loss_rate"].to_numpy()
            any_loss = int((g["loss"] > WHOLE_TOLERANCE).sum())
            el = float(lr.mean()) if n else math.nan
            wal = g["wal_years"].to_numpy()
            yl = g["yield"].to_numpy()
            horizon = float(np.nanmean(wal)) if np.isfinite(wal).any() else math.nan
            p_loss = any_loss / n if n else math.nan
            p_up = float(upper_bound(any_loss, n)) if n else math.nan
            figure, figure_up = (p_loss, p_up) if table.measure == "default_probability" else (el, el)
            row: dict[str, Any] = {
                "tranche": tr.name, "kind": tr.kind, "balance": tr.balance, "paths": n,
                "expected_loss": el, "expected_loss_se": float(lr.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
                "loss_probability": p_loss, "loss_probability_upper95": p_up,
                "not_whole_probability": float((~g["whole"].to_numpy()).mean()) if n else math.nan,
            }
            for q, v in zip(PERCENTILES, np.percentile(lr, PERCENTILES) if n else [math.nan] * len(PERCENTILES),
                            strict=True):
                row[f"loss_p{q:g}".replace(".", "_")] = float(v)
            row["loss_max"] = float(lr.max()) if n else math.nan
            for name, x in (("wal", wal), ("yield", yl)):
                x = x[np.isfinite(x)]
                row[f"{name}_mean"] = float(x.mean()) if len(x) else math.nan
                for q in (5, 50, 95):
                    row[f"{name}_p{q}"] = float(np.percentile(x, q)) if len(x) else math.nan
            row["rating_horizon_years"] = horizon
            row["rating"] = table.rating(figure, horizon)
            row["rating_upper95"] = table.rating(figure_up, horizon)
            rows.append(row)
        return pd.DataFrame(rows)

    def pool_summary(self) -> pd.DataFrame:
        """Pool default and loss rates over the paths: mean and percentiles."""
        rows = []
        for col in ("pool_default_rate", "pool_loss_rate"):
            x = self.pool[col].to_numpy()
            row = {"measure": col, "mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else math.nan}
            for q in PERCENTILES:
                row[f"p{q:g}".replace(".", "_")] = float(np.percentile(x, q))
            row["max"] = float(x.max())
            rows.append(row)
        return pd.DataFrame(rows)

    def loss_distribution(self, bins: int = 20, common: bool = True) -> pd.DataFrame:
        """Histogram of the loss rates: one row per (series, bin) for the pool and every
        tranche: ``lower``, ``upper`` (loss rate), ``paths`` and ``share`` of the paths. By
        default (``common``) every series has the same ``bins`` equal bins from 0 to the
        largest loss of any series, so the columns compare (``mc_loss_distribution.csv`` and
        the term sheets' histogram are this); ``common=False`` bins each series from 0 to
        its own largest loss."""
        rows = []
        series = [("pool", self.pool["pool_loss_rate"].to_numpy())]
        series += [(t.name, self.paths.loc[self.paths["tranche"] == t.name, "loss_rate"].to_numpy())
                   for t in self.deal.tranches]
        top_all = max(max(float(x.max(initial=0.0)) for _, x in series), 1e-9)
        for name, x in series:
            top = top_all if common else max(float(x.max(initial=0.0)), 1e-9)
            edges = np.linspace(0.0, top, bins + 1)
            counts, _ = np.histogram(x, bins=edges)
            for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
                rows.append({"series": name, "lower": lo, "upper": hi, "paths": int(c), "share": c / max(len(x), 1)})
        return pd.DataFrame(rows)

    def settings_frame(self) -> pd.DataFrame:
        """The run's settings as (setting, value) rows, for outputs and term sheets."""
        s = self.settings
        items = [("deal", self.deal.name), ("scenario", self.scenario.name), ("paths", s.paths), ("seed", s.seed),
                 ("correlation", s.correlation), ("correlation_by", s.correlation_by),
                 ("correlations", ", ".join(f"{k}: {v:g}" for k, v in s.correlations.items()) or "—"),
                 ("patent_correlation", s.patent_correlation),
                 ("patent_correlations", ", ".join(f"{k}: {v:g}" for k, v in s.patent_correlations.items()) or "—"),
                 ("criterion", self.criterion), ("executor", self.executor),
                 ("sparse_projection", self.sparse), ("elapsed_s", round(self.elapsed_s, 3))]
        return pd.DataFrame(items, columns=["setting", "value"]).astype({"value": str})


def _default_chunk(n: int, workers: int) -> int:
    """Paths per task: about four tasks per worker, whole blocks, 1..16 blocks."""
    per = math.ceil(n / max(4 * workers, 1))
    return min(max(math.ceil(per / BLOCK), 1), 16) * BLOCK


def simulate(
    deal: Deal,
    scenario: Scenario | None = None,
    settings: MonteCarlo | None = None,
    *,
    executor: Executor | None = None,
    chunk: int | None = None,
    backend: Backend = "cython",
    criterion: Criterion = "timely",
    on_done: OnDone | None = None,
    sparse: bool = True,
) -> Simulation:
    """Simulate ``settings.paths`` paths of correlated defaults (module docstring).

    Parameters
    ----------
    deal : Deal
    scenario : Scenario, optional
        The assumptions: its CDR (or tape PDs) is each obligor's marginal default rate, its
        invalidation hazard each patent's; prepayment, recovery, terminations, support
        failures and reference rates apply on every path. Default: no defaults.
    settings : MonteCarlo, optional
        Paths, seed and correlations.
    executor : Executor, optional
        Where the paths run (default: threads on every core).
    chunk : int, optional
        Paths per task, rounded up to whole blocks of :data:`BLOCK`; it changes how work
        is split, never the results.
    sparse : bool
        Use the sparse projection of pledge pools (checked against the dense one on the
        first paths; on a disagreement the dense projection is used and a note says so).

    Examples
    --------
    >>> import abs_engine as ae
    >>> from abs_engine.model.scenario import MonteCarlo
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> sim = simulate(deal, ae.load_scenario("scenarios/stress.yaml"), MonteCarlo(paths=64, seed=1),
    ...                executor=Executor("serial"))
    >>> sim.summary()[["tranche", "paths"]].values.tolist()
    [['A', 64], ['SUB', 64]]
    """
    settings = settings or MonteCarlo()
    scenario = scenario or BASE
    check_run(deal, [scenario])
    require(simulation_problems(scenario) + settings_problems(deal, settings))
    check_run_size(deal, [mc_scenario(scenario)] * min(BLOCK, max(settings.paths, 1)))  # (a block's engine call)
    ex = executor or Executor()
    t0 = time.perf_counter()
    ctx = SimulationContext(deal, scenario, settings, backend, fast=sparse)
    notes: list[str] = []
    check: float | None = None
    if sparse and _has_sparse(deal):
        ok, check = check_sparse(ctx)
        if not ok:
            ctx.fast = False
            release(ctx)  # the model built for the check has sparse pools
            notes.append(f"the sparse projection differed from the dense one by {check:.3g} (relative) on the "
                         "first paths; the dense projection was used")
    n = settings.paths
    size = _default_chunk(n, ex.n_workers) if chunk is None else max(math.ceil(chunk / BLOCK), 1) * BLOCK
    tasks = [(k0, min(n, k0 + size)) for k0 in range(0, n, size)]
    try:
        parts = run_tasks(run_paths, ctx, tasks, executor=ex, units=[b - a for a, b in tasks], on_done=on_done)
    finally:
        release(ctx)
    got = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    K = len(deal.tranches)
    path = got["path"]
    names = [t.name for t in deal.tranches]
    whole_ok = _whole(got, criterion)
    frame = pd.DataFrame({
        "path": np.repeat(path, K),
        "tranche": np.tile(np.asarray(names, dtype=object), n),
        "loss": got["loss"].ravel(),
        "loss_rate": got["loss_rate"].ravel(),
        "writedown": got["writedown"].ravel(),
        "interest_lost": got["interest_lost"].ravel(),
        "whole": whole_ok.ravel(),
        "wal_years": got["wal_years"].ravel(),
        "yield": got["yield"].ravel(),
    })
    pool = pd.DataFrame({
        "path": path, "obligor_defaults": got["obligor_defaults"], "patents_invalidated": got["patents_invalidated"],
        "support_failures": got["support_failures"],
        "pool_defaults": got["pool_defaults"], "pool_loss": got["pool_loss"],
        "pool_default_rate": got["pool_default_rate"], "pool_loss_rate": got["pool_loss_rate"],
    })
    return Simulation(deal, scenario, settings, frame, pool, criterion, ex.describe(), time.perf_counter() - t0,
                      sparse=ctx.fast and _has_sparse(deal), sparse_check=check, notes=notes)


def _whole(got: dict[str, np.ndarray], criterion: str) -> np.ndarray:
    tol = WHOLE_TOLERANCE
    if criterion == "ultimate":
        return (got["writedown"] <= tol) & (got["interest_lost"] <= tol)
    ok = (got["writedown"] <= tol) & (got["max_shortfall"] <= tol) & (got["behind_schedule"] <= tol)
    if criterion == "expected":
        ok &= got["late"] <= tol
    return ok
