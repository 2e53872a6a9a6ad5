"""The WW binning study's report: plots and the lines the CLI prints."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from obsforge.observables.binning import voronoi_binning

# The realistic study's columns, each losing information to the one before (JSON sorts keys).
REALISTIC_COLUMNS = (
    "parton",
    "selected",
    "selected_backgrounds",
    "selected_folded",
    "detector",
    "detector_backgrounds",
)

__all__ = [
    "cut_flow_table",
    "plot_binning",
    "plot_realistic",
    "report_binning",
    "report_realistic",
]


def plot_binning(
    study, fisher: np.ndarray, result: dict[str, Any], alpha: np.ndarray, weight: np.ndarray, folder
) -> None:
    """For a WW ``study``: retained (vs bins), alpha_voronoi (the fit sample's alpha (B, n)
    with weights (B,), in 27 Voronoi cells) and bounds (1-sigma ellipses) in ``folder``."""
    from obsforge.plotting import new_figure, save_figure

    # Retained information vs number of bins.
    fig, ax = new_figure(figsize=(7, 5))
    for method, rows in result["binning"].items():
        ax.plot(rows["bins"], rows["retained"], "o-", label=method)
    if (law := result.get("quantisation_law")) is not None:
        k = np.geomspace(min(result["binning"]["voronoi"]["bins"]), 2 * law["cells_for_0.99"])
        label = f"1 - {law['constant']:.2f} K$^{{-2/{law['dimension']}}}$ (Voronoi fit)"
        ax.plot(k, 1 - law["constant"] * k ** -law["exponent"], "k--", lw=1, label=label)
    ax.axhline(0.99, color="grey", lw=1, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("number of bins")
    ax.set_ylabel(r"retained $[\det F_{binned} / \det F]^{1/3}$")
    ax.legend()
    save_figure(fig, folder / "retained")

    if len(fisher) < 2:
        return
    # alpha scatter (first two couplings) coloured by 27 Voronoi cells.
    cells = voronoi_binning(alpha, weight, fisher, 27, restarts=1)
    rng = np.random.default_rng(0)
    p = weight / weight.sum()
    show = rng.choice(len(alpha), size=min(20_000, len(alpha)), replace=False, p=p)
    fig, ax = new_figure(figsize=(7, 6))
    ax.scatter(alpha[show, 0], alpha[show, 1], c=cells.labels[show] % 10, cmap="tab10", s=2)
    ax.set_xlabel(f"alpha({study.couplings[0]})")
    ax.set_ylabel(f"alpha({study.couplings[1]})")
    ax.set_title("optimal observables, 27 Voronoi cells (unweighted events)", fontsize=11)
    save_figure(fig, folder / "alpha_voronoi")

    # 1-sigma ellipses of each pair of couplings (others profiled).
    covariance = np.linalg.inv(fisher)
    pairs = list(itertools.combinations(range(len(fisher)), 2))
    if not pairs:
        return
    fig, axes = new_figure(ncols=len(pairs), figsize=(5 * len(pairs), 4.8), squeeze=False)
    angle = np.linspace(0, 2 * np.pi, 200)
    for ax, (i, j) in zip(axes[0], pairs, strict=True):
        block = covariance[np.ix_([i, j], [i, j])]
        chol = np.linalg.cholesky(block)
        ellipse = chol @ np.stack([np.cos(angle), np.sin(angle)])
        ax.plot(ellipse[0], ellipse[1], color="tab:blue", label="unbinned optimal observables")
        ax.set_xlabel(study.couplings[i])
        ax.set_ylabel(study.couplings[j])
        ax.ticklabel_format(style="sci", scilimits=(0, 0))
    axes[0, 0].legend(fontsize=9)
    energy, lumi = study.process.sqrt_s, study.luminosity_ab
    fig.suptitle(f"1$\\sigma$ at {lumi:g} ab$^{{-1}}$, sqrt(s) = {energy:g} GeV")
    save_figure(fig, folder / "bounds")


def report_binning(result) -> list[str]:
    summary = result.numbers
    lines = [
        f"sigma(WW -> l nu q q') = {summary['sigma_pb']:.4f} pb, "
        f"{summary['expected_events']:.3g} expected events"
    ]
    for name, sigma in summary["bounds"]["sigma"].items():
        lines.append(f"  {name}: 1 sigma = {sigma:.3g}")
    for method, rows in summary["retained"].items():
        text = ", ".join(f"{k} bins {v:.3f}" for k, v in rows.items())
        lines.append(f"  retained ({method}): {text}")
    if (law := summary.get("quantisation_law")) is not None:
        lines.append(
            f"  Voronoi loss 1 - retained = {law['constant']:.3f} K^(-2/{law['dimension']}) "
            f"(free fit: K^-{law['free_exponent']:.2f}); 95% takes K = "
            f"{law['cells_for_0.95']:.0f}, 99% K = {law['cells_for_0.99']:.0f}"
        )
    if "reco" in summary:
        reco = summary["reco"]
        lines.append(
            f"  reco level (SALLY): retained {reco['retained']:.3f} "
            f"(perfect detector, q/qbar unknown: {reco['retained_perfect_detector_folded']:.3f})"
        )
    lines.append(f"report: {result.path / 'report'} (retained, alpha_voronoi, bounds .png/.pdf)")
    return lines


def cut_flow_table(parts: list[dict[str, Any]], sigma: dict[str, float], events: dict) -> dict:
    """The cut flow in pb from the chunks of the realistic stage: ``signal`` (the l nu q q' of
    ``ww``) and ``background`` per process after each cut, the signal efficiency, and the
    ``total`` signal and background after the last cut with the purity S / (S + B)."""
    cuts = list(parts[0]["flow"])
    scale = {p: sigma[p] / n for p, n in events.items()}
    signal_before = sum(c["n_signal"] * scale[c["process"]] for c in parts)
    signal = [sum(c["flow"][k][0] * scale[c["process"]] for c in parts) for k in cuts]
    background = {
        p: [sum(c["flow"][k][1] * scale[p] for c in parts if c["process"] == p) for k in cuts]
        for p in sorted(events)
    }
    s, b = signal[-1], sum(rows[-1] for rows in background.values())
    return {
        "cuts": cuts,
        "signal_before_pb": signal_before,
        "signal_pb": signal,
        "efficiency": [v / signal_before for v in signal],
        "background_pb": background,
        "total": {"signal_pb": s, "background_pb": b, "purity": s / (s + b)},
    }


def plot_realistic(result: dict[str, Any], purity: np.ndarray, weight: np.ndarray, folder) -> None:
    """bounds_columns: the 1-sigma bounds of each coupling from parton level to detector +
    backgrounds; purity: the estimated S / (S + B) of the selected signal test events."""
    from obsforge.plotting import new_figure, save_figure

    fig, ax = new_figure(figsize=(10, 7))
    columns = [c for c in REALISTIC_COLUMNS if c in result["bounds"]]
    for name in result["couplings"]:
        values = [1e4 * result["bounds"][c]["sigma"][name] for c in columns]
        ax.plot(range(len(columns)), values, "o-", label=name)
    labels = [c.replace("_", " + ").replace("+ folded", "(q/qbar unknown)") for c in columns]
    ax.set_xticks(range(len(columns)), labels, rotation=30, ha="right")
    ax.set_ylabel(f"1 sigma / $10^{{-4}}$ at {result['luminosity_ab']} ab$^{{-1}}$")
    ax.legend()
    save_figure(fig, folder / "bounds_columns")
    fig, ax = new_figure(figsize=(7, 5))
    ax.hist(purity, bins=np.linspace(0, 1, 51), weights=weight, histtype="step")
    ax.set_xlabel("estimated purity S / (S + B) of selected signal events")
    ax.set_ylabel("pb per bin")
    ax.set_yscale("log")
    save_figure(fig, folder / "purity")


def report_realistic(result) -> list[str]:
    summary = result.numbers
    total = summary["selected_pb"]
    lines = [
        f"selected: signal {total['signal_pb']:.3f} pb, background {total['background_pb']:.4f} "
        f"pb, purity {total['purity']:.4f} (mean estimated per event {summary['purity_mean']:.4f})"
    ]
    for column in REALISTIC_COLUMNS:
        sigmas = summary["sigma"][column]
        text = ", ".join(f"{k} {v:.3g}" for k, v in sigmas.items())
        lines.append(f"  {column}: 1 sigma {text}; retained {summary['retained'][column]:.3f}")
    lines.append(f"report: {result.path / 'report'} (bounds_columns, purity .png/.pdf)")
    return lines
