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

from ..compile import aggregate, cleanup_months
from ..curves import monthly_rates, varies_by_loan
from ..engine import Backend, projection_grid
from ..engine import run as run_engine
from ..errors import InputError, Problem
from ..model.deal import Deal, LicencePool, PledgeLoanPool, TransferPool, obligor
from ..model.scenario import BASE, MonteCarlo, Scenario
from ..pools.base import PoolFlows
from ..pools.pledge import loan_arrays, pledge_rates, project_pledge_pool
from ..pools.receivables import project_receivable_pool, receivable_arrays
from ._sparse import SparsePledge, supports
from .executors import Context, Executor, OnDone, release, run_tasks, worker_cache
from .measures import WHOLE_TOLERANCE, Criterion, pool_measures, tranche_measures
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
    sched: Any
    scenario: Scenario
    a: np.ndarray  # (n_obligors,) loading sqrt(rho)
    b: np.ndarray  # sqrt(1 - rho)
    thresholds: list[np.ndarray]  # per default curve: Phi^-1(F(m)), months 1..M
    members: list[np.ndarray]  # obligors of each curve
    asset_obligor: list[np.ndarray]  # per pool: obligor index of each asset
    patents: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]] | None]
    pools: list[tuple[str, Any]]  # ("sparse", (SparsePledge, LoanArrays)) | ("pledge", LoanArrays) | ("receivable", arrays)
    refs: np.ndarray  # (1, n_refs, M+1) reference rates per grid month
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
    M, sched = projection_grid(deal, [sc])
    h = deal.deal
    from ..compile import reference_paths

    ref_names, refs_period = reference_paths(deal, [sc], sched.n_periods)
    mp = np.minimum(sched.month_period, sched.n_periods - 1)
    refs = refs_period[:, :, mp]
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
    for pool in deal.pools:
        ids = []
        rates = None
        if isinstance(pool, PledgeLoanPool) and varies_by_loan(ctx.scenario):
            rates = pledge_rates(pool, loan_arrays(pool, h.cutoff_date, M, ref_names), [ctx.scenario], sched.grid)[0]
        for li, a in enumerate(pool.assets):
            name = obligor(a)
            if name not in index:
                index[name] = len(index)
                rho.append(_rho(settings, a))
                pd_ = getattr(a, "pd", None) if not isinstance(pool, PledgeLoanPool) and use_pd else None
                if not isinstance(pool, PledgeLoanPool) and use_pd:
                    curve_key.append(("pd", float(pd_ or 0.0)))
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
        if not isinstance(pool, LicencePool):
            patents.append(None)
            n_patents.append(0)
            continue
        hs = np.array([(hz.get(p.type, 0.0) if isinstance(hz, dict) else float(hz)) for p in pool.patents])
        pr = np.array([settings.patent_correlations.get(p.type, settings.patent_correlation) for p in pool.patents])
        thr, mem = [], []
        months = np.arange(1, M + 1)
        for hv in sorted(set(hs.tolist())):
            F = 1.0 - (1.0 - hv) ** (months / 12.0)
            thr.append(ndtri(np.clip(F, 0.0, 1.0)))
            mem.append(np.flatnonzero(hs == hv))
        patents.append((np.sqrt(pr), np.sqrt(1.0 - pr), thr, mem))
        n_patents.append(len(pool.patents))
    use_fast = ctx.fast if fast is None else fast
    pools: list[tuple[str, Any]] = []
    for pool in deal.pools:
        if isinstance(pool, PledgeLoanPool):
            loans = loan_arrays(pool, h.cutoff_date, M, ref_names)
            if use_fast and supports(pool) and sc.recovery.advancing == "none":
                pools.append(("sparse", (SparsePledge(pool, loans, sc, sched.grid, refs[0]), loans)))
            else:
                pools.append(("pledge", loans))
        else:
            assert isinstance(pool, LicencePool | TransferPool)
            pools.append(("receivable", receivable_arrays(pool, h.cutoff_date, M)))
    months = np.arange(1, M + 1)
    rs = settings.support_correlation
    support = [(name, math.sqrt(rs), math.sqrt(1.0 - rs), ndtri(np.clip(1.0 - (1.0 - pd_) ** (months / 12.0), 0.0, 1.0)))
               for name, pd_ in settings.support_default_probability.items()]
    return _Model(M, sched, sc, np.sqrt(r), np.sqrt(1.0 - r), thresholds, members, asset_obligor, patents, pools,
                  refs, len(index), n_patents, support)


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


def _block_flows(ctx: SimulationContext, model: _Model, scenarios: list[Scenario], dms: list[np.ndarray],
                 ims: list[np.ndarray | None], dense: bool = False,
                 sale_months: np.ndarray | None = None) -> list[PoolFlows]:
    """Monthly flows of each pool on a block of paths; ``sale_months`` (the clean-up call's
    sale month per path) projects every pool densely with that sale."""
    out = []
    B = len(scenarios)
    dense = dense or sale_months is not None
    price = ctx.deal.cleanup_call.price if ctx.deal.cleanup_call is not None else 1.0
    for i, (pool, (kind, obj)) in enumerate(zip(ctx.deal.pools, model.pools, strict=True)):
        dm = dms[i]
        if kind == "sparse" and not dense:
            out.append(obj[0].flows(dms[i]))
        elif kind in ("sparse", "pledge"):
            loans = obj if kind == "pledge" else obj[1]
            refs = np.broadcast_to(model.refs, (B, *model.refs.shape[1:])).copy()
            assert isinstance(pool, PledgeLoanPool)
            out.append(project_pledge_pool(pool, loans, scenarios, model.sched.grid, refs, default_month=dm,
                                           sale_month=sale_months, sale_price=price))
        else:
            assert isinstance(pool, LicencePool | TransferPool)
            out.append(project_receivable_pool(pool, obj, scenarios, model.sched.grid, default_month=dm,
                                               invalidation_month=ims[i], sale_month=sale_months,
                                               sale_price=price))
    return out


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
    grid = model.sched.grid
    sf = dict(model.scenario.support_failures)
    for name, m in fails.items():
        d = grid[m]
        sf[name] = min(sf[name], d) if name in sf else d
    return model.scenario.model_copy(update={"name": f"path{k}", "support_failures": sf})


def _block(ctx: SimulationContext, model: _Model, b0: int, b1: int) -> tuple[list[Scenario], list[PoolFlows], np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """Paths ``b0..b1-1``: their scenarios, the pools' monthly flows (projected again with the
    clean-up call's sale where it is exercised), the sale months (None without a call) and
    the per-path counts of defaults, invalidations and support failures."""
    scenarios, dms, ims, n_def, n_inv, n_sup = _paths(ctx, model, b0, b1)
    flows = _block_flows(ctx, model, scenarios, dms, ims)
    sale = None
    if ctx.deal.cleanup_call is not None:
        sale = cleanup_months(ctx.deal, model.sched, [aggregate(f, model.sched) for f in flows])
        if sale.any():
            flows = _block_flows(ctx, model, scenarios, dms, ims, sale_months=sale)
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
        res = run_engine(ctx.deal, scenarios, backend=ctx.backend, pool_flows=flows, sale_months=sale)
        tm = tranche_measures(ctx.deal, res.schedule, res.args)
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
    pools: list[tuple[str, Any]] = []
    for pool, (kind, obj) in zip(ctx.deal.pools, model.pools, strict=True):
        if kind == "pledge":
            assert isinstance(pool, PledgeLoanPool)
            obj = (SparsePledge(pool, obj, model.scenario, model.sched.grid, model.refs[0]), obj)
            kind = "sparse"
        pools.append((kind, obj))
    model.pools = pools
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
        pm = pool_measures([aggregate(f, model.sched) for f in flows])
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
    target default rates of :mod:`abs_engine.scenarios.agency` need, at a fraction of the
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
    from ..engine import _check_scenarios
    from ..io.deal_file import check_assets, check_references

    settings = settings or MonteCarlo()
    scenario = scenario or BASE
    problems = check_assets(deal, "<deal>") + check_references(deal, "<deal>") + check_settings(deal, settings)
    if problems:
        raise InputError(problems)
    _check_scenarios(deal, [scenario])
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


def check_sparse(ctx: SimulationContext, n: int = 8, rtol: float = 1e-9) -> tuple[bool, float]:
    """Compare the sparse projection with the dense one on the first ``n`` paths; returns
    (agree, largest difference relative to each series' scale)."""
    if not any(supports(p) for p in ctx.deal.pools):
        return True, 0.0
    # the model the tasks of this process use (threads share it)
    model: _Model = worker_cache(ctx, "model", lambda: build_model(ctx, fast=True))
    n = min(n, ctx.settings.paths)
    scenarios, dms, ims, _, _, _ = _paths(ctx, model, 0, n)
    sparse = _block_flows(ctx, model, scenarios, dms, ims)
    dense = _block_flows(ctx, model, scenarios, dms, ims, dense=True)
    worst = 0.0
    for (kind, _), a, b in zip(model.pools, sparse, dense, strict=True):
        if kind != "sparse":
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
    from ..engine import _check_scenarios
    from ..io.deal_file import check_assets, check_references

    settings = settings or MonteCarlo()
    scenario = scenario or BASE
    problems = check_assets(deal, "<deal>") + check_references(deal, "<deal>")
    if problems:
        raise InputError(problems)
    _check_scenarios(deal, [scenario])
    if scenario.delinquency is not None:
        raise InputError([Problem(f"scenario '{scenario.name}'", "delinquency", (
            "a delinquency pipeline is an expected-value model (shares of each loan roll from bucket to "
            "bucket); Monte Carlo paths draw whole defaults from defaults.cdr: simulate without it"))])
    problems = check_settings(deal, settings)
    if problems:
        raise InputError(problems)
    ex = executor or Executor()
    t0 = time.perf_counter()
    ctx = SimulationContext(deal, scenario, settings, backend, fast=sparse)
    notes: list[str] = []
    check: float | None = None
    if sparse and any(supports(p) for p in deal.pools):
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
                      sparse=ctx.fast and any(supports(p) for p in deal.pools), sparse_check=check, notes=notes)


def check_settings(deal: Deal, settings: MonteCarlo, file: str = "monte carlo") -> list[Problem]:
    """Every name in ``settings`` the deal does not have: a key of ``correlations`` that is no
    industry (or IP type, after ``correlation_by``) of the deal's assets, a key of
    ``patent_correlations`` that is no patent type of its licence pools, a
    ``support_default_probability`` that is no support party; ``correlations`` given with
    ``correlation_by: none``. One problem each (file, field path, reason, the known names)."""
    import difflib

    from ..model.support import failure_names

    problems: list[Problem] = []

    def unknown(path: str, names: list[str], known: list[str], what: str) -> None:
        for n in names:
            if n in known:
                continue
            close = difflib.get_close_matches(n, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(file, f"{path}.{n}", f"not {what} of the deal{hint} (known: {', '.join(known) or 'none'})"))

    by = settings.correlation_by
    if by == "none" and settings.correlations:
        problems.append(Problem(file, "correlations", "given, but correlation_by is 'none' (every obligor has "
                                "`correlation`); set correlation_by: industry or ip_type, or remove correlations"))
    elif by != "none":
        groups = sorted({str(g) for p in deal.pools for a in p.assets if (g := getattr(a, by, None)) is not None})
        unknown("correlations", list(settings.correlations), groups,
                "an industry" if by == "industry" else "an IP type")
    types = sorted({str(pt.type) for p in deal.pools for pt in getattr(p, "patents", None) or []})
    unknown("patent_correlations", list(settings.patent_correlations), types, "a patent type")
    known = [a.name for a in deal.accounts if a.external] + [n for p in deal.pools for n in failure_names(p.support)]
    unknown("support_default_probability", list(settings.support_default_probability), known, "a support party")
    return problems


def _whole(got: dict[str, np.ndarray], criterion: str) -> np.ndarray:
    tol = WHOLE_TOLERANCE
    if criterion == "ultimate":
        return (got["writedown"] <= tol) & (got["interest_lost"] <= tol)
    ok = (got["writedown"] <= tol) & (got["max_shortfall"] <= tol) & (got["behind_schedule"] <= tol)
    if criterion == "expected":
        ok &= got["late"] <= tol
    return ok
