"""PNG plots of a static-pool analysis: the vintage curves and the fitted curves (layout
only; the figures are those of :func:`abs_engine.staticpool.analyse`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..studies.plots import _pyplot, _save
from .analysis import StaticPool


def vintage_curves_png(sp: StaticPool, target: Path, title: str) -> Path:
    """Cumulative default and prepayment rate by age, one line per vintage."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, col, name in ((axes[0], "cumulative_default_rate", "cumulative default rate"),
                          (axes[1], "cumulative_prepayment_rate", "cumulative prepayment rate")):
        for v, grp in sp.vintage_curves.groupby("vintage", sort=True):
            ax.plot(grp["age"], grp[col] * 100, lw=1, label=str(v))
        ax.set_xlabel("month of age")
        ax.set_ylabel(f"{name} (% of original balance)")
        ax.grid(alpha=0.3)
    n = sp.vintage_curves["vintage"].nunique()
    axes[1].legend(fontsize=6, ncol=2 if n > 10 else 1, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, target)


def fitted_curves_png(sp: StaticPool, target: Path, title: str) -> Path:
    """The pooled monthly default and prepayment rates by age (dots sized by the balance at
    risk) and the fitted curves, with the timing curve of defaults."""
    plt = _pyplot()
    b = sp.by_age
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    ages = b["age"].to_numpy()
    risk = b["balance_at_risk"].to_numpy()
    size = 4 + 36 * risk / max(float(risk.max(initial=0.0)), 1.0)
    grid = np.arange(1, int(ages.max(initial=1)) + 1)
    for ax, rate, curve, name in ((axes[0], "mdr", sp.default_curve, "monthly default rate (MDR)"),
                                  (axes[1], "smm", sp.prepayment_curve, "monthly prepayment rate (SMM)")):
        ax.scatter(ages, b[rate] * 100, s=size, alpha=0.6, label="observed (all vintages)")
        ax.plot(grid, curve(grid) * 100, color="black", lw=1.5, label="fitted (by loan age)")
        ax.set_xlabel("month of age")
        ax.set_ylabel(f"{name}, %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[2].plot(ages, b["timing"] * 100, color="tab:red")
    axes[2].set_xlabel("month of age")
    axes[2].set_ylabel("share of lifetime defaults by age, %")
    axes[2].set_title("timing curve", fontsize=9)
    axes[2].grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, target)
