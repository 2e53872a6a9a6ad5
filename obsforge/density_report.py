"""Plots of the EEEC density study: the closure of the surrogate against held-out jets."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from obsforge.density.calibration import calibrated_closure, closure_cells
from obsforge.density.closure import mass_fit_pulls

__all__ = ["plot_closure", "report_density", "report_stream_density"]


def plot_closure(closure: list[dict[str, Any]], stem, settings) -> None:
    """Per mass, one column per shape: marginal (held-out data vs model) over model/data."""
    from matplotlib.ticker import NullFormatter

    from obsforge.plotting import new_figure, save_figure

    label = f"{settings.model}{'' if settings.energy_weighted else ' (unweighted loss)'}"
    for m_top in sorted({c["m_top"] for c in closure}):
        rows = [c for c in closure if c["m_top"] == m_top]
        fig, axes = new_figure(
            nrows=2,
            ncols=len(rows),
            squeeze=False,
            figsize=(3.8 * len(rows), 4.6),
            gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06},
        )
        for col, c in enumerate(rows):
            ax, ratio = axes[0, col], axes[1, col]
            edges = np.asarray(c["edges"])
            width, centres = np.diff(edges), np.sqrt(edges[1:] * edges[:-1])
            data, error = np.asarray(c["data"]), np.asarray(c["data_error"])
            model = np.asarray(c["model"])
            ax.errorbar(
                centres,
                data / width,
                yerr=error / width,
                fmt="o",
                ms=3,
                color="black",
                label="PYTHIA, held-out jets",
            )
            ax.stairs(model / width, edges, color="tab:red", label=label)
            ax.set_title(
                f"({c['shape'][0]:g}, {c['shape'][1]:g}): "
                f"$\\chi^2$/ndf = {c['chi2']:.1f}/{c['ndf']}",
                fontsize=11,
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio.errorbar(
                    centres, model / data, yerr=error / data, fmt="o", ms=2, color="tab:red"
                )
            ratio.axhline(1.0, color="grey", lw=1)
            finite = (model / data)[np.isfinite(model / data)]
            low = min(0.7, finite.min() - 0.05) if finite.size else 0.7
            high = max(1.3, finite.max() + 0.05) if finite.size else 1.3
            ratio.set_ylim(max(low, 0.0), min(high, 3.0))
            ratio.set_xlabel(r"$\zeta_1$", fontsize=12)
            for axis in (ax, ratio):
                axis.set_xscale("log")
                axis.xaxis.set_minor_formatter(NullFormatter())
                axis.tick_params(labelsize=8)
            ax.tick_params(labelbottom=False)
        axes[0, 0].set_ylabel(r"$d\Sigma / d\zeta_1$", fontsize=11)
        axes[1, 0].set_ylabel("model / data", fontsize=9)
        axes[0, 0].legend(fontsize=8)
        fig.suptitle(f"closure at $m_t$ = {m_top:g} GeV ({rows[0]['role']})", fontsize=13)
        save_figure(fig, f"{stem}_m{m_top:g}")


def report_density(result) -> list[str]:
    summary = result.numbers
    lines = [
        f"{summary['model']} (energy-weighted: {summary['energy_weighted']}), "
        f"{summary['epochs']} epochs, best validation loss {summary['best_val_loss']:.4f}"
    ]
    for row in summary["closure"]:
        n1, n2, _ = row["shape"]
        lines.append(
            f"  shape ({n1:g}, {n2:g}) at m_top = {row['m_top']:g} ({row['role']}): "
            f"chi2/ndf = {row['chi2']:.1f}/{row['ndf']} = {row['chi2_ndf']:.2f}"
        )
    return lines + [
        f"surrogate: {result.path / 'model.pt'}",
        f"report: {result.path / 'report'} (closure_m<mass>.png and .pdf)",
    ]


def report_stream_density(result) -> list[str]:
    """The closure lines, then per role the pulls over all its cells and the total chi2."""
    lines = report_density(result)
    for role, c in result.numbers["calibration"].items():
        lines.insert(
            -2,
            f"  {role}: {c['cells']} cells, {c['bins']} bins, pulls mean {c['pull_mean']:+.3f} "
            f"width {c['pull_width']:.3f}, chi2/ndf = {c['chi2']:.1f}/{c['ndf']}",
        )
    rows = json.loads((result.path / "closure.json").read_text())  # with each cell's bins, jets
    for role, c in closure_cells(rows).items():
        lines.insert(
            -2,
            f"  {role}: {c['above']} of {c['cells']} cells above chi2/ndf {c['threshold']:g} "
            f"(a perfect surrogate: {c['expected']:.1f} expected, 95% in {c['range'][0]}-"
            f"{c['range'][1]}, none with probability {c['all_below']:.1g}); total p = "
            f"{c['p_total']:.2g}; cell p-values against uniform: KS p = {c['ks_p']:.2g}"
            + (
                f"; excess chi2 per 1000 jets {c['excess']:.2f} +- {c['excess_error']:.2f}"
                if "excess" in c
                else ""
            ),
        )
    if {"trained", "held out"} <= {row["role"] for row in rows}:
        c = calibrated_closure(rows)
        lines.insert(
            -2,
            f"  relative model-error floor from the trained masses' test jets: "
            f"{100 * c['floor']:.2f}% ({100 * c['low']:.2f}-{100 * c['high']:.2f}%); with it the "
            f"held-out cells give chi2/ndf = {c['chi2']:.1f}/{c['ndf']} (p = {c['p']:.2g}), pulls "
            f"mean {c['pull_mean']:+.3f} width {c['pull_width']:.3f}; alone they ask for "
            f"{100 * c['test_floor']['floor']:.2f}%",
        )
    fits = result.numbers.get("mass_fit", [])
    for f in fits:
        lines.insert(
            -2,
            f"  mass fit, shape ({f['shape'][0]:g}, {f['shape'][1]:g}) at {f['m_top']:g} GeV: "
            f"{f['m_hat']:.2f} +- {f['sigma']:.2f} GeV{' (at the grid edge)' * f['at_edge']}",
        )
    if fits:
        fit = mass_fit_pulls(fits)
        lines.insert(
            -2,
            f"  mass fits at the held-out masses: {fit['fits']} (mass, shape) with a minimum, "
            f"{fit['failed']} without; pulls mean {fit['mean']:+.2f} width {fit['width']:.2f}, "
            f"largest |pull| {fit['max_abs']:.2f}",
        )
    return lines
