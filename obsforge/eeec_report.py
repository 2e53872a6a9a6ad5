"""Plots of the top-jet EEEC study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_eeec", "plot_longest_side", "report_eeec", "report_events"]


def plot_longest_side(
    summary: dict[str, Any], masses: list[float], stem: str | Path, title: str = ""
) -> list[Path]:
    """Energy-weighted distribution of the longest side zeta3 per jet, d Sigma / d ln zeta3.

    Error bars are statistical: jets are independent, so the variance of a bin is the sum over
    jets of the squared per-jet bin content.
    """
    from obsforge.plotting import new_figure, save_figure

    edges = np.asarray(summary["zeta3_edges"])
    width = np.diff(np.log(edges))
    centres = np.sqrt(edges[:-1] * edges[1:])
    fig, (ax, ratio) = new_figure(
        nrows=2,
        sharex=True,
        figsize=(8, 7.5),
        gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05},
    )
    curves = []
    for m_top in masses:
        row = next(r for r in summary["masses"] if r["m_top"] == m_top)
        n_jets = max(row["n_jets"], 1)
        density = np.asarray(row["zeta3_hist"]) / n_jets / width
        error = np.sqrt(np.asarray(row["zeta3_hist_sumw2"])) / n_jets / width
        line = ax.stairs(density, edges, label=rf"$m_t$ = {m_top:g} GeV ({row['n_jets']} jets)")
        ax.errorbar(centres, density, yerr=error, fmt="none", color=line.get_edgecolor())
        curves.append((density, error, line.get_edgecolor()))
    (d0, e0, _), (d1, e1, colour) = curves[0], curves[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = d1 / d0
        r_err = r * np.sqrt((e1 / d1) ** 2 + (e0 / d0) ** 2)
    ratio.errorbar(centres, r, yerr=r_err, fmt="o", ms=3, color=colour)
    ratio.axhline(1.0, color="grey", lw=1)
    ratio.set_ylim(0.55, 1.45)
    ratio.set_yticks([0.75, 1.0, 1.25])
    ax.set_ylim(bottom=0)
    ratio.set_ylabel(rf"{masses[-1]:g} / {masses[0]:g}", fontsize=14)
    ratio.set_xscale("log")
    ratio.set_xlabel(r"longest side $\zeta_3 = (1-\cos\theta)/2$")
    ax.set_ylabel(r"$\frac{1}{N_\mathrm{jet}}\, d\Sigma_\mathrm{EEEC} / d\ln\zeta_3$")
    ax.set_title(title, fontsize=12)
    ax.legend(fontsize=12)
    return save_figure(fig, stem)


def plot_eeec(result, masses: list[float] | None = None) -> list[Path]:
    """The longest-side figure of a finished ``eeec`` stage, from its numbers (default: the
    lightest and the heaviest mass)."""
    config = json.loads((result.path / "config.json").read_text())["config"]
    events = json.loads((result.upstream("top-jets").path / "config.json").read_text())["config"]
    if masses is None:
        generated = sorted(row["m_top"] for row in result.numbers["masses"])
        masses = [generated[0], generated[-1]]
    title = (
        rf"$e^+e^- \to t\bar t$, $Q$ = {events['ecm'] / 1000:g} TeV, "
        rf"anti-$k_t$ $R$ = {config['jet_r']:g}, C/A subjets $r$ = {config['subjet_r']:g}"
    )
    return plot_longest_side(
        result.numbers, masses, result.path / "report" / "zeta3_longest_side", title
    )


def report_events(result) -> list[str]:
    return [json.dumps(result.numbers, indent=2), f"events: {result.path}"]


def report_eeec(result) -> list[str]:
    lines = [
        f"m_top = {row['m_top']:>6g} GeV: {row['n_jets']} jets, {row['n_triplets']} triplets, "
        f"<jet mass> = {row['mean_jet_mass']:.1f} GeV, <ln zeta3>_peak = "
        f"{row['peak_mean_log_zeta3']:.4f} +- {row['peak_mean_log_zeta3_error']:.4f}"
        for row in result.numbers["masses"]
    ]
    n_jets = sum(row["n_jets"] for row in result.numbers["masses"])
    n_triplets = sum(row["n_triplets"] for row in result.numbers["masses"])
    size = sum(p.stat().st_size for p in result.path.glob("triplets-*.parquet"))
    lines.append(
        f"total: {n_jets} jets, {n_triplets} triplets, {size / 1e6:.0f} MB of triplet files "
        f"({size / max(n_triplets, 1):.1f} bytes per triplet)"
    )
    return lines + [
        f"EEEC triplets: {result.path}",
        f"report: {result.path / 'report' / 'zeta3_longest_side.png'} (and .pdf)",
    ]
