"""PNG plots of scenario runs (matplotlib, headless): the loss distribution of a Monte
Carlo run, tranche loss against the default multiple (break-even), and tranche loss across
a sweep's first grid axis. Each is written atomically; layout only, no figures computed
beyond the histogram bins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io.outputs import atomic_path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, target: Path) -> Path:
    plt = _pyplot()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return target


def loss_distribution_png(sim: Any, target: Path) -> Path:
    """Histograms of the pool loss rate and of every tranche's loss rate over the paths, in
    the common bins of ``sim.loss_distribution()`` (those of ``mc_loss_distribution.csv``
    and the term sheets), with the mean (expected loss) and the 99th percentile marked."""
    plt = _pyplot()
    dist = sim.loss_distribution()
    series = [("pool", sim.pool["pool_loss_rate"].to_numpy())]
    series += [(t.name, sim.paths.loc[sim.paths["tranche"] == t.name, "loss_rate"].to_numpy()) for t in sim.deal.tranches]
    fig, axes = plt.subplots(len(series), 1, figsize=(8, 2.2 * len(series)), squeeze=False, sharex=True)
    for ax, (name, x) in zip(axes[:, 0], series, strict=True):
        d = dist[dist["series"] == name]
        ax.bar(d["lower"] * 100.0, d["share"] * 100.0, width=(d["upper"] - d["lower"]) * 100.0, align="edge",
               color="#4472c4")
        ax.axvline(x.mean() * 100.0, color="#c00000", lw=1, label=f"mean {x.mean():.3%}")
        ax.axvline(np.percentile(x, 99) * 100.0, color="#7f7f7f", lw=1, ls="--", label=f"99th pct {np.percentile(x, 99):.3%}")
        ax.set_title(f"{name}: loss rate over {len(x):,} paths", fontsize=9)
        ax.set_ylabel("% of paths", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("loss rate (% of original balance; tranches: write-down + interest never paid)")
    fig.suptitle(f"{sim.deal.name} — Monte Carlo loss distribution (seed {sim.settings.seed})", fontsize=10)
    fig.tight_layout()
    return _save(fig, target)


def loss_vs_multiple_png(curve: pd.DataFrame, table: pd.DataFrame, target: Path, title: str) -> Path:
    """Each tranche's loss rate against the default level of the curve (multiples of the
    base default curve, or a constant CDR), with its break-even level as a dashed line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    stress = str(curve["stress"].iloc[0]) if len(curve) else "cdr_multiple"
    for name, g in curve.groupby("tranche", sort=False):
        line = ax.plot(g["level"], g["loss_rate"] * 100.0, marker=".", label=str(name))
        be = table[(table["stress"] == stress) & (table["tranche"] == name) & (table["bound"] == "found")]
        if len(be):
            ax.axvline(float(be["breakeven"].iloc[0]), color=line[0].get_color(), ls="--", lw=1)
    ax.set_xlabel("multiple of the base default curve" if stress == "cdr_multiple" else "constant CDR")
    ax.set_ylabel("tranche loss: write-down + interest never paid\n(% of original balance)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(title="tranche (dashed: break-even)", fontsize=8)
    fig.tight_layout()
    return _save(fig, target)


def sweep_png(tranches: pd.DataFrame, axes: list[str], target: Path, title: str, max_lines: int = 8) -> Path | None:
    """Tranche loss rate against the sweep's first numeric axis, one panel per tranche and
    one line per combination of the other axes (at most ``max_lines``); None if the grid
    has no numeric axis."""
    numeric = [a for a in axes if pd.api.types.is_numeric_dtype(tranches[a])]
    if not numeric:
        return None
    x, others = numeric[0], [a for a in axes if a != numeric[0]]
    plt = _pyplot()
    names = list(dict.fromkeys(tranches["tranche"]))
    fig, panels = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False, sharey=True)
    for ax, name in zip(panels[0], names, strict=True):
        g = tranches[tranches["tranche"] == name]
        groups = list(g.groupby(others, sort=False)) if others else [("", g)]
        for key, part in groups[:max_lines]:
            part = part.sort_values(x)
            label = ", ".join(f"{a}={v}" for a, v in zip(others, key if isinstance(key, tuple) else (key,), strict=False)) or name
            ax.plot(part[x], part["loss_rate"] * 100.0, marker=".", label=label)
        ax.set_title(str(name), fontsize=9)
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    panels[0, 0].set_ylabel("loss (% of original balance)")
    if others:
        panels[0, -1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, target)
