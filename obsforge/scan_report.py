"""The shape scan's report: the width map, posteriors and coverage plots, printed lines."""

from __future__ import annotations

from typing import Any

import numpy as np

from obsforge.rundir import StageResult
from obsforge.search.posterior import GridPosterior
from obsforge.search.scan import log_posterior, shape_label

__all__ = ["plot_scan", "replot_scan", "report_lines"]


def plot_scan(result, stage, simulator, settings, indices, grid, x, index) -> None:
    """hpd_width, posterior and coverage (.png and .pdf) in the stage's report folder."""
    report = stage.path / "report"
    _plot_heatmap(result, report / "hpd_width")
    shapes = np.asarray(result["shapes"])
    _plot_posteriors(stage, simulator, settings, shapes, indices, grid, x, index)
    _plot_coverage(result, report / "coverage")


def replot_scan(result: StageResult) -> list:
    """The width maps and coverage curves of a finished ``scan`` stage, drawn again from its
    scan.json (the posterior plot needs the estimators and stays as the run drew it)."""
    import json

    scan = json.loads((result.path / "scan.json").read_text())
    report = result.path / "report"
    _plot_heatmap(scan, report / "hpd_width")
    _plot_coverage(scan, report / "coverage")
    return sorted(report.glob("*.p[dn][gf]"))


def _plot_heatmap(result: dict[str, Any], stem) -> None:
    """Median 95% HPD half-width over the (n1, n2) grid (n2 >= n1): NRE, the exact likelihood
    and, for a streamed sample, the exact likelihood of PYTHIA's own expectation. Shapes off
    the main grid (the fine patches of a stream) are drawn as small squares on top."""
    from matplotlib.colors import Normalize

    from obsforge.plotting import new_figure, save_figure

    shapes = np.asarray(result["shapes"])
    methods = [m for m in ("nre", "exact", "moments") if m in result["hpd95_width"]]
    values = np.concatenate([result["hpd95_width"][m] for m in methods]) / 2
    norm = Normalize(*np.nanpercentile(values[np.isfinite(values)], [0, 98]))
    # the main grid's values: the n1 of the shapes with the largest n2 (all n1 <= n2 of the
    # grid reach it; the fine patches lie inside); both axes share them
    n1s = n2s = np.unique(shapes[np.isclose(shapes[:, 1], shapes[:, 1].max()), 0])
    on_grid = np.isin(shapes[:, 0], n1s) & np.isin(shapes[:, 1], n2s)
    fig, axes = new_figure(ncols=len(methods), figsize=(7.5 * len(methods), 6), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        half = np.asarray(result["hpd95_width"][method]) / 2
        table = np.full((len(n2s), len(n1s)), np.nan)
        for (n1, n2, _), width in zip(shapes[on_grid], half[on_grid], strict=True):
            table[np.searchsorted(n2s, n2), np.searchsorted(n1s, n1)] = width
        mesh = ax.pcolormesh(_cell_edges(n1s), _cell_edges(n2s), table, cmap="viridis_r", norm=norm)
        if not on_grid.all():
            ax.scatter(*shapes[~on_grid, :2].T, c=half[~on_grid], s=9, marker="s",
                       cmap="viridis_r", norm=norm, edgecolors="none")  # fmt: skip
        colorbar = fig.colorbar(mesh, ax=ax)
        colorbar.set_label("95% HPD half-width [GeV]", fontsize=13)
        colorbar.ax.tick_params(labelsize=11)
        best = result[{"nre": "best", "exact": "best_exact", "moments": "best_moments"}[method]]
        n1, n2 = (float(v) for v in best["shape"].strip("()").split(","))
        ax.plot(n1, n2, "r*", ms=14, label=f"best {best['shape']}")
        ax.plot(1.02, 1.99, "wo", mfc="none", ms=12, label="published (1.02, 1.99)")
        ax.set_xlabel("$n_1$")
        ax.set_ylabel("$n_2$")
        title = {
            "nre": f"{result['nre_method']} ({result['mode']})",
            "exact": "exact likelihood (surrogate)",
            "moments": "exact likelihood (PYTHIA moments)",
        }[method]
        ax.set_title(f"{title}, {result['n_jets']} jets", fontsize=12)
        ax.legend(fontsize=9, loc="lower right")
    save_figure(fig, stem)


def _cell_edges(axis: np.ndarray) -> np.ndarray:
    if len(axis) == 1:
        return np.array([axis[0] - 0.05, axis[0] + 0.05])
    mid = 0.5 * (axis[1:] + axis[:-1])
    return np.r_[2 * axis[0] - mid[0], mid, 2 * axis[-1] - mid[-1]]


def _plot_posteriors(stage, simulator, settings, shapes, indices, grid, x, index) -> None:
    """The posterior of the first scoring pseudo-experiment for the best and reference shapes."""
    from obsforge.plotting import new_figure, save_figure

    fig, ax = new_figure(figsize=(7, 5))
    amortised = settings.mode == "amortised"
    for i, color in zip(dict.fromkeys(indices), ("tab:red", "tab:blue"), strict=False):
        row = np.flatnonzero(index == i)[:1]
        name = "nre-amortised.pt" if amortised else f"nre-shape{i}.pt"
        nre = log_posterior(stage.output_path(name), x[row], shapes, index[row], grid, amortised)
        exact = simulator.log_likelihood(x[row], index[row], grid)
        for log_p, style, what in ((nre[0], "-", "NRE"), (exact[0], ":", "exact")):
            posterior = GridPosterior.from_log_density(grid, log_p)
            region = posterior.hpd(0.95)
            ax.plot(
                grid,
                posterior.density,
                style,
                color=color,
                label=f"{shape_label(shapes[i])} {what}: 95% HPD width {region.width:.2f} GeV",
            )
    ax.axvline(settings.true_mass, color="grey", lw=1)
    ax.set_xlabel("$m_t$ [GeV]")
    ax.set_ylabel("posterior density [1/GeV]")
    ax.legend(fontsize=8)
    save_figure(fig, stage.path / "report" / "posterior")


def _plot_coverage(result: dict[str, Any], stem) -> None:
    """Expected coverage of HPD regions vs their credibility level (diagonal = calibrated)."""
    from obsforge.plotting import new_figure, save_figure

    fig, ax = new_figure(figsize=(6, 6))
    levels = np.asarray(result["coverage_levels"])
    ax.plot([0, 1], [0, 1], color="grey", lw=1)
    for shape, rows in result["coverage"].items():
        for method, style in (("nre", "o-"), ("exact", "s:")):
            ax.plot(levels, rows[method], style, ms=3, label=f"{shape} {method}")
    ax.set_xlabel("credibility level of the HPD region")
    ax.set_ylabel("expected coverage")
    ax.legend(fontsize=9)
    save_figure(fig, stem)


def report_lines(result: StageResult) -> list[str]:
    """The scan's headline numbers as printable lines (CLI and script)."""
    summary = result.numbers
    best, exact = summary["best"], summary["best_exact"]
    lines = [
        f"best shape {best['shape']}: 95% HPD half-width {best['hpd95_half_width']:.3f} GeV "
        f"({summary['mode']} NRE, {summary['n_jets']} jets per pseudo-experiment)",
        f"exact likelihood: best shape {exact['shape']}, half-width "
        f"{exact['hpd95_half_width']:.3f} GeV",
    ]
    for shape, row in summary["reference"].items():
        lines.append(
            f"shape {shape}: half-width {row['nre_hpd95_half_width']:.3f} GeV (NRE), "
            f"{row['exact_hpd95_half_width']:.3f} GeV (exact)"
        )
    for shape, methods in summary["coverage"].items():
        nre = methods["nre"]
        lines.append(f"coverage {shape} (NRE): 68% -> {nre['0.68']:.3f}, 95% -> {nre['0.95']:.3f}")
    if "best_moments" in summary:
        row = summary["best_moments"]
        lines.append(
            f"PYTHIA's own expectation (no surrogate), exact likelihood: best shape "
            f"{row['shape']}, half-width {row['hpd95_half_width']:.3f} GeV"
        )
    for method, boot in summary.get("bootstrap_best", {}).items():
        pairs = zip(boot["shapes"], boot["fraction"], strict=True)
        top = ", ".join(f"{shape} {fraction:.0%}" for shape, fraction in pairs)
        lines.append(f"bootstrap of the best shape ({method}): {top}")
    for pair, rho in summary.get("rank_correlation", {}).items():
        lines.append(f"rank correlation {pair.replace('_vs_', ' vs ')}: {rho:.2f}")
    lines.append(f"report: {result.path / 'report'} (hpd_width, posterior, coverage .png/.pdf)")
    lines.append(f"numbers: {result.path / 'scan.json'}")
    return lines
