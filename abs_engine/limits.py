"""Size limits of a run: inputs beyond sane sizes are refused with a clear message before
anything large is allocated, rather than exhausting memory (docs/errors.md, "Size limits").

The file-level limits (YAML bytes, nesting, tape rows, amounts) are checked by the loaders;
this module checks what only a whole run knows: the projection horizon and the working memory
that scenarios x assets x months need.

>>> MAX_HORIZON_MONTHS
1200
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from .checks import MAX_HORIZON_MONTHS, horizon_problems, require
from .errors import InputError, Problem
from .model.deal import Deal
from .model.scenario import Scenario
from .pools.kinds import horizon_months

__all__ = ["MAX_HORIZON_MONTHS", "MAX_MEMORY_GB", "MEMORY_ENV", "check_run_size", "horizon_months", "memory_budget", "working_bytes"]

#: Working-memory budget of one run in GiB; the environment variable overrides it.
MAX_MEMORY_GB = 8.0
MEMORY_ENV = "ABS_ENGINE_MAX_MEMORY_GB"


def _size(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 0.1 * 2**30 else f"{n / 2**20:,.2f} MiB"


def memory_budget() -> float:
    """The working-memory budget in bytes (``ABS_ENGINE_MAX_MEMORY_GB``, default 8); a value
    that is not a positive finite number of GiB is an :class:`InputError` (``nan`` would
    switch the limit off: every comparison with it is false).

    >>> os.environ[MEMORY_ENV] = "nan"
    >>> memory_budget()
    Traceback (most recent call last):
    ...
    abs_engine.errors.InputError: ABS_ENGINE_MAX_MEMORY_GB: 'nan' is not a usable memory limit: give a positive number of GiB (e.g. 8)
    >>> del os.environ[MEMORY_ENV]
    """
    raw = os.environ.get(MEMORY_ENV)
    if raw is None or not raw.strip():
        return MAX_MEMORY_GB * 2**30
    try:
        gb = float(raw)
    except ValueError:
        gb = math.nan
    if not math.isfinite(gb) or gb <= 0 or gb > 1e6:
        raise InputError.single("", MEMORY_ENV, f"{raw!r} is not a usable memory limit: give a positive number of GiB (e.g. 8)")
    return gb * 2**30


#: Memory one loaded asset row takes (a validated model with its values; measured at about
#: 790 bytes for a pledge loan from a CSV tape, docs/performance.md "Large tapes").
LOADED_BYTES_PER_ASSET = 1000.0


def working_bytes(deal: Deal, n_scenarios: int, months: int) -> float:
    """A generous estimate of the peak memory of a run, in bytes: the loaded assets, the monthly pool series,
    each asset's calendar, the per-month working arrays of scenarios x assets, the per-asset
    ledgers of pools with risk-sharing layers (scenarios x assets x months) and the kernel's
    inputs and outputs (scenarios x periods x classes, accounts, fees, triggers)."""
    S, M1 = n_scenarios, months + 1
    periods = months // deal.deal.payment_frequency.months + 2
    total = 0.0
    for pool in deal.pools:
        n = len(pool.assets) + len(getattr(pool, "patents", []) or [])
        # the loaded rows themselves (one validated model each), the monthly series, each
        # asset's calendar and accrual, the per-scenario working arrays
        total += LOADED_BYTES_PER_ASSET * n + 8.0 * S * M1 * 16 + 18.0 * n * M1 + 8.0 * S * n * 12
        if getattr(pool, "support", None):
            total += 8.0 * 4 * S * n * M1
    K, A, F, J = len(deal.tranches), len(deal.accounts), len(deal.fees), len(deal.triggers)
    total += 8.0 * S * periods * (12 * K + 4 * A + 3 * F + J + 2 * len(deal.pools) + 8)
    return total


def _model_bytes(deal: Deal, scenarios: Sequence[Scenario]) -> float:
    """What servicer advancing and delinquency pipelines add: per scenario and pledge loan,
    the defaults of each month until liquidation (advancing) and the pipeline's bucket
    states with their month's working copies (abs_engine/pools/advancing.py, delinquency.py)."""
    S = len(scenarios)
    n = sum(len(p.assets) for p in deal.pools if p.kind == "pledge_loan")
    lag = max((s.recovery.lag_months for s in scenarios if s.recovery.advancing != "none"), default=-1)
    total = 8.0 * S * n * (2 * (lag + 1) + 2) if lag >= 0 else 0.0
    if any(s.delinquency is not None for s in scenarios):
        total += 8.0 * S * n * 36
    return total


def check_run_size(deal: Deal, scenarios: Sequence[Scenario]) -> None:
    """Raise :class:`InputError` if the run is beyond the limits: the horizon
    (:func:`~abs_engine.checks.horizon_problems`) and the working memory."""
    require(horizon_problems(deal, scenarios))  # (abs_engine/checks.py: validate checks it too)
    months = horizon_months(deal, scenarios)
    need, budget = working_bytes(deal, len(scenarios), months) + _model_bytes(deal, scenarios), memory_budget()
    if need > budget:
        n_assets = sum(len(p.assets) for p in deal.pools)
        raise InputError([Problem("<run>", "scenarios", (
            f"{len(scenarios):,} scenarios x {n_assets:,} assets x {months:,} months need about "
            f"{_size(need)} of working memory (limit {_size(budget)}); run the "
            f"scenarios in smaller batches, or raise the limit with {MEMORY_ENV}"))])
