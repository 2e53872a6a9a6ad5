"""Plots and printed lines of the Fisher ranking (``obsforge fisher``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from obsforge.search.fisher import FisherRanking, local_fit_weights
from obsforge.search.moments import merge_bins, ratio_means

__all__ = ["plot_fisher", "replot_fisher", "report_fisher"]


def _label(shape) -> str:
    return f"({shape[0]:g}, {shape[1]:g})"


def plot_fisher(
    result: dict[str, Any], ranking: FisherRanking, masses, moments, folder: Path
) -> None:
    """fisher_width (heat map), fisher_width_n1 (along n1 = 1) and fisher_mean (mu(m) and its
    local fit for the best and the published shape), .png and .pdf."""
    from obsforge.plotting import new_figure, save_figure

    shapes, width = np.asarray(result["shapes"]), np.asarray(result["half_width"])
    best, published = result["best"]["shape"], result["named"][2]["shape"]
    n = result["n_jets"]

    fig, ax = new_figure(figsize=(8.5, 7))
    finite = np.isfinite(width)
    fine = ~np.isclose(np.round(shapes * 10), shapes * 10).all(axis=1)
    vmax = np.percentile(width[finite], 90)
    for mask, size in ((~fine & finite, 150), (fine & finite, 14)):
        points = ax.scatter(
            shapes[mask, 0], shapes[mask, 1], c=width[mask], s=size, marker="s", cmap="viridis_r",
            vmin=width[finite].min(), vmax=vmax,
        )  # fmt: skip
    bar = fig.colorbar(points, ax=ax)
    bar.set_label(f"Fisher 95% half-width for {n} jets [GeV]", fontsize=13)
    ax.plot(*best, "r*", ms=16, label=f"best {_label(best)}")
    ax.plot(*published, "ko", mfc="none", mew=2, ms=13, label=f"published {_label(published)}")
    ax.set_xlabel("$n_1$")
    ax.set_ylabel("$n_2$")
    ax.set_title(rf"$m_t$ = {result['m0']:g} GeV, {len(shapes)} shapes", fontsize=12)
    ax.legend(fontsize=10, loc="lower right")
    save_figure(fig, folder / "fisher_width")

    fig, ax = new_figure(figsize=(8, 5.5))
    low, high = (np.asarray(v) for v in result["half_width_68"])
    along = np.flatnonzero(np.isclose(shapes[:, 0], 1.0))
    along = along[np.argsort(shapes[along, 1])]
    ax.fill_between(shapes[along, 1], low[along], high[along], alpha=0.3, label="bootstrap 68%")
    ax.plot(shapes[along, 1], width[along], "o-", ms=3, label="$n_1$ = 1")
    ax.set_xlabel("$n_2$")
    ax.set_ylabel(f"95% half-width, {n} jets [GeV]")
    ax.legend(fontsize=11)
    save_figure(fig, folder / "fisher_width_n1")

    fig, axes = new_figure(ncols=2, figsize=(14, 5.5), squeeze=False)
    x, _ = merge_bins(ranking.merge, np.stack([ratio_means(m) for m in moments]))
    n_jets = np.array([m.n_jets.sum() for m in moments])
    grid = np.linspace(masses.min(), masses.max(), 101)
    fits = np.stack([_fit_at(masses, g, result["bandwidth"], result["degree"]) for g in grid])
    for ax, shape in zip(axes[0], (best, published), strict=True):
        s = ranking.index(*shape)
        variance = np.diagonal(ranking.covariance[s])
        k = int(
            np.argmax(np.abs(ranking.slope[s]) / np.sqrt(np.where(variance > 0, variance, np.inf)))
        )
        sigma = np.sqrt(variance[k] / n_jets)  # the per-jet variance at m0, for every mass
        ax.errorbar(masses, x[:, s, k], yerr=sigma, fmt="o", ms=3, label="PYTHIA")
        degree = ("linear", "quadratic", "cubic", "quartic")[result["degree"] - 1]
        ax.plot(grid, fits @ x[:, s, k], "r-", label=f"local {degree} fit")
        ax.set_xlabel(r"$m_t$ [GeV]")
        ax.set_ylabel(f"fraction of weight in bin {k + 1}", fontsize=16)
        ax.set_title(f"shape {_label(shape)}", fontsize=12)
        ax.legend(fontsize=10)
    save_figure(fig, folder / "fisher_mean")


def replot_fisher(result: Any) -> list[Path]:
    """The figures of a finished ``fisher`` stage, drawn again from its upstream moments."""
    from obsforge.fisher_scan import FisherSettings
    from obsforge.search.fisher import fisher_ranking
    from obsforge.stream_files import load_moments

    settings = FisherSettings(**json.loads((result.path / "config.json").read_text())["config"])
    stream = result.upstream("eeec-stream")
    masses, moments = load_moments(stream)
    ranking = fisher_ranking(
        masses, moments, np.array(stream.numbers["shapes"]), settings.m0, settings.bandwidth,
        settings.degree, settings.n_bins, settings.coverage, n_bootstrap=0,
    )  # fmt: skip
    fisher = json.loads((result.path / "fisher.json").read_text())
    plot_fisher(fisher, ranking, masses, moments, result.path / "report")
    return sorted((result.path / "report").glob("fisher*.p[dn][gf]"))


def _fit_at(masses: np.ndarray, m: float, bandwidth: float, degree: int) -> np.ndarray:
    """Weights of the fitted mean at m (NaN where the window holds too few masses)."""
    try:
        return local_fit_weights(masses, m, bandwidth, degree)[0]
    except ValueError:
        return np.full(len(masses), np.nan)


def report_fisher(result: Any) -> list[str]:
    s = result.numbers
    n = s["n_jets"]

    def line(row: dict[str, Any], name: str) -> str:
        lo, hi = row["half_width_68"]
        return (
            f"{name:>10} {_label(row['shape']):>13}: +- {row['half_width']:.3f} GeV "
            f"(68%: {lo:.3f}-{hi:.3f}), rank {row['rank'] + 1}, "
            f"{row['ratio_to_best']:.3f} x best, +- {row['half_width_at_target_jets']:.3f} GeV at "
            "the target's jets"
        )

    boot = s["best_bootstrap"]
    lines = [
        f"Fisher 95% half-widths at m_t = {s['m0']:g} GeV for {n} jets (mean fit +-"
        f"{s.get('bandwidth', 0):g} GeV, degree {s.get('degree', 0)}):",
        line(s["best"], "best"),
        *(line(row, "") for row in s["named"]),
        "best in the bootstrap: "
        + ", ".join(
            f"{_label(shape)} {f:.0%}"
            for shape, f in zip(boot["shapes"], boot["fraction"], strict=True)
        )
        + f"; 95% of optima in n1 {boot['n1_95']}, n2 {boot['n2_95']}",
    ]
    for v in s.get("fit_variations", []):
        lines.append(
            f"  mean fit +-{v['bandwidth']:g} GeV, degree {v['degree']}: best {_label(v['best'])} "
            f"+- {v['best_half_width']:.3f} GeV; named: "
            + ", ".join(f"{w:.3f}" for w in v["named_half_width"])
        )
    if "robustness" in s:
        r = s["robustness"]
        lines.append(
            f"robustness ({'; '.join(r['pythia'])}, {r['n_jets']} jets): "
            + ", ".join(
                f"{_label(shape)} {d:+.3f} GeV ({z:+.1f} sigma)"
                for shape, d, z in zip(
                    r["shapes"], r["shift_gev"], r["shift_over_sigma"], strict=True
                )
            )
        )
    return lines + [f"fisher: {result.path}"]
