"""Plots and printed lines of the CP-observable study (``obsforge cp-observable``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from obsforge.events.vbf import event_weights

__all__ = ["plot_cp", "report_lines"]


def plot_cp(observables, events, rows, formula, folder) -> None:
    from obsforge.plotting import new_figure, save_figure

    names = [n for n in observables if n != "rate only"]
    fig, axes = new_figure(ncols=len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = observables[name][rows]
        lo, hi = np.percentile(values, [0.5, 99.5])
        edges = np.linspace(lo, hi, 31)
        for c, style in ((1.0, "tab:red"), (0.0, "black"), (-1.0, "tab:blue")):
            ax.hist(
                values,
                edges,
                weights=event_weights(events, c)[rows],
                histtype="step",
                color=style,
                label=f"c = {c:+g}",
                density=False,
            )
        ax.set_xlabel(name, fontsize=9)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"formula: ${formula.latex}$", fontsize=11)
    save_figure(fig, folder / "distributions")

    fig, ax = new_figure(figsize=(6, 4.5))
    complexity = [p["complexity"] for p in formula.pareto]
    ax.plot(complexity, [p["r2"] for p in formula.pareto], "o-")
    chosen = next(p for p in formula.pareto if p["expression"] == str(formula.expression))
    ax.plot([chosen["complexity"]], [chosen["r2"]], "r*", ms=14, label="chosen")
    ax.set_xlabel("complexity")
    ax.set_ylabel(r"$R^2$ with the antisymmetrised classifier")
    ax.legend()
    save_figure(fig, folder / "pareto")


def report_lines(result: Any) -> list[str]:
    """A printable summary: the formula, the significance table, where the report is."""
    data = json.loads((result.path / "cp_observable.json").read_text())
    lines = [
        f"formula (CP-odd proven by sympy: {data['formula']['cp_odd_verified']}): "
        f"{data['formula']['expression']}",
        f"{data['test_events']} test events; {data['expected_sm_events']:.0f} expected SM events "
        f"at {data['luminosity_fb']:g} fb^-1 x BR {data['branching_ratio']:g}",
        f"{'observable':<30} {'Z(c=1 vs SM)':>13} {'Z(+1 vs -1)':>12}",
    ]
    for row in data["significance"]:
        lines.append(
            f"{row['observable']:<30} {row['z_vs_sm']:>13.2f} {row['z_plus_vs_minus']:>12.2f}"
        )
    lines.append(f"report: {result.path / 'report'} (distributions, pareto .png/.pdf)")
    return lines
