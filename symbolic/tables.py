"""The tables of the CP-observable study: the distillation target, the observables compared
and their significances.

The classifier's log-odds s(x) of c = +1 against c = -1 contains a CP-even part that carries no
information on the sign of c; the distillation target is its CP-odd part

    t(x) = [s(x) - s(CP x)] / 2,

and every observable O is scored by the binned Asimov significance (bins of equal SM
population) of c = 1 against the SM and of c = +1 against c = -1, from the event weights
w(c) = w_SM (1 + c R1 + c^2 R2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obsforge.events.vbf import event_weights
from obsforge.symbolic.features import cp_transform
from obsforge.symbolic.regression import DistilledObservable
from obsforge.symbolic.significance import asimov_significance

__all__ = [
    "antisymmetric_log_odds",
    "observables_table",
    "pareto_significance",
    "significance_ratio",
    "significance_table",
]


def antisymmetric_log_odds(model, x: np.ndarray, names: list[str]) -> np.ndarray:
    """The distillation target [s(x) - s(CP x)] / 2 of a classifier with log-odds s."""
    return 0.5 * (model.log_odds(x) - model.log_odds(cp_transform(x, names)))


def observables_table(x, names, model, bdt, formula, events) -> dict[str, np.ndarray]:
    """Every observable of the table, per event."""
    column = {n: x[:, i] for i, n in enumerate(names)}
    out: dict[str, np.ndarray] = {"rate only": np.zeros(len(x))}
    if "dphi" in column:
        out["sin(dphi_jj)"] = np.sin(column["dphi"])
        if "pt1" in column and "pt2" in column:
            out["pT1 pT2 sin(dphi_jj)"] = column["pt1"] * column["pt2"] * np.sin(column["dphi"])
    out["classifier"] = model.log_odds(x)
    out["BDT"] = bdt.decision_function(x)
    out["formula"] = formula(x)
    r1, r2 = events["r1"], events["r2"]
    out["parton truth ln w(+1)/w(-1)"] = np.log((1 + r1 + r2) / (1 - r1 + r2))
    return out


def significance_table(observables, events, rows, n_sm, bins) -> list[dict[str, Any]]:
    """Z(c = 1 vs SM) and Z(c = +1 vs c = -1) of every observable on the events ``rows``."""
    w = {c: event_weights(events, c)[rows] for c in (1.0, 0.0, -1.0)}
    table = []
    for name, values in observables.items():
        n_bins = 1 if name == "rate only" else bins
        table.append(
            {
                "observable": name,
                "z_vs_sm": asimov_significance(values[rows], w[0.0], w[1.0], n_sm, n_bins),
                "z_plus_vs_minus": asimov_significance(
                    values[rows], w[-1.0], w[1.0], n_sm * w[-1.0].sum() / w[0.0].sum(), n_bins
                ),
            }
        )
    return table


def pareto_significance(formula, x, events, rows, n_sm, bins) -> None:
    """Add Z(c = 1 vs SM) on the test events to every Pareto entry (for the report only: the
    choice of the formula uses the fidelity on training events)."""
    w_sm, w_one = event_weights(events, 0.0)[rows], event_weights(events, 1.0)[rows]
    for entry, expression in zip(formula.pareto, formula.candidates, strict=True):
        values = DistilledObservable(expression, formula.names)(x[rows])
        entry["z_vs_sm"] = asimov_significance(values, w_sm, w_one, n_sm, bins)


def significance_ratio(table, numerator: str, denominator: str) -> float:
    """Z(c = 1 vs SM) of ``numerator`` over that of ``denominator`` in a significance table."""
    z = {row["observable"]: row["z_vs_sm"] for row in table}
    return z[numerator] / z[denominator]
