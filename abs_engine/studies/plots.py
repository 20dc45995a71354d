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
    # names from inputs go into titles and legends: "$" must not start mathtext (a name
    # such as "$\\frac" would fail at drawing time)
    matplotlib.rcParams["text.parse_math"] = False
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


def agency_png(ag: Any, target: Path, title: str) -> Path:
    """The agency stress table as bars: per tranche, its BDR (or break-even multiple) under
    each stress (hatched where the tranche is whole across the stress's whole range, so the
    bar is a lower bound), with the TDR (or multiple) of every rating as a labelled line."""
    plt = _pyplot()
    names = list(dict.fromkeys(ag.bdr["tranche"]))
    value = "bdr" if ag.test == "tdr" else "level"
    fig, panels = plt.subplots(1, len(names), figsize=(max(5.0, 4.6 * len(names)), 4.8), squeeze=False)
    for ax, name in zip(panels[0], names, strict=True):
        g = ag.bdr[ag.bdr["tranche"] == name]
        y = np.where(g["bound"] == "never whole", 0.0, g[value].fillna(0.0).to_numpy())
        scale = 100.0 if ag.test == "tdr" else 1.0
        bars = ax.bar(range(len(g)), y * scale, color="#4472c4")
        for b, bound in zip(bars, g["bound"], strict=True):
            if bound == "range":
                b.set_hatch("//")
                b.set_facecolor("#9dc3e6")
        t = ag.targets[ag.targets["tranche"] == name]
        cmap = plt.get_cmap("RdYlGn_r")
        for i, (rating, v) in enumerate(zip(t["rating"], t["target"], strict=True)):
            ax.axhline(float(v) * scale, color=cmap(i / max(len(t) - 1, 1)), lw=0.9, ls="--")
            ax.annotate(str(rating), (len(g) - 0.5, float(v) * scale), fontsize=6, va="center", ha="left",
                        annotation_clip=False)
        ax.set_xticks(range(len(g)))
        ax.set_xticklabels([str(s).replace("_", "\n") for s in g["stress"]], fontsize=7)
        ax.set_title(f"{name}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    panels[0, 0].set_ylabel("BDR: cumulative pool default rate (%)" if ag.test == "tdr"
                            else "break-even multiple of the stress's default curve")
    fig.suptitle(title + ("\n(dashed: TDR of each rating; hatched: whole across the stress's range)" if ag.test == "tdr"
                          else "\n(dashed: each rating's multiple; hatched: whole across the stress's range)"), fontsize=9)
    fig.tight_layout()
    return _save(fig, target)


def heatmap_png(hm: Any, target: Path, title: str) -> Path:
    """A tranche's loss rate (or yield, or whole) over the grid of CDR (across) and the
    second assumption (down), with the break-even frontier and the base and stress points."""
    plt = _pyplot()
    y = hm.y
    tab = hm.grid.pivot_table(index=y, columns="cdr", values=hm.value, aggfunc="first").sort_index()
    data = tab.to_numpy(dtype=float)
    xs, ys = tab.columns.to_numpy(dtype=float), tab.index.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(8, 5))
    scale = 100.0 if hm.value in ("loss_rate", "yield") else 1.0

    def edges(v: np.ndarray) -> np.ndarray:
        if len(v) == 1:
            return np.array([v[0] - 0.5, v[0] + 0.5])
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])

    mesh = ax.pcolormesh(edges(xs) * 100.0, edges(ys), data * scale, cmap="Reds" if hm.value == "loss_rate" else "viridis",
                         shading="flat")
    label = {"loss_rate": "tranche loss (% of original balance)", "yield": "tranche yield (%)",
             "whole": "whole (1) or not (0)"}[hm.value]
    fig.colorbar(mesh, ax=ax, label=label)
    f = hm.frontier.dropna(subset=["breakeven_cdr"])
    if len(f):
        ax.plot(f["breakeven_cdr"] * 100.0, f[y], color="black", lw=1.5, marker=".", label="break-even (grid)")
    for role, marker in (("base", "o"), ("stress", "X")):
        p = hm.points[hm.points["role"] == role]
        if len(p):
            ax.scatter(p["cdr"] * 100.0, p[y], marker=marker, s=70, edgecolor="white", color="#1f4e79", label=role, zorder=3)
            for r in p.itertuples(index=False):
                ax.annotate(str(r.scenario), (r.cdr * 100.0, getattr(r, y)), fontsize=7, xytext=(4, 4),
                            textcoords="offset points")
    ax.set_xlabel("constant CDR (% p.a.)")
    ax.set_ylabel({"haircut": "recovery haircut", "lag": "disposal lag (months)"}[y])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return _save(fig, target)
