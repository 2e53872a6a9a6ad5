"""Is a surrogate's uncertainty calibrated? Tests of closure rows (of
:func:`~obsforge.density.closure.compare_histograms`) against what a perfect surrogate gives,
and the relative model error that makes them consistent.

A surrogate whose expectation S_b equals the truth gives, cell by cell (a shape at a mass),
chi2 ~ chi2(ndf) and pulls (H - S) / sigma ~ N(0, 1). A surrogate with a shape error that is
the same at every mass adds chi2 in proportion to the number of data jets. The simplest
heteroscedastic term for such an error is a floor proportional to the expectation,

    sigma_total,b^2 = sigma_H,b^2 + sigma_S,b^2 + sigma_model,b^2 + (f S_b)^2,

with f fitted on one set of cells (the trained masses' test jets) and tested on another (the
held-out masses): :func:`calibrated_closure`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, stats

__all__ = ["calibrated_closure", "closure_cells", "floor_pulls", "model_error_floor"]


def closure_cells(closure: list[dict[str, Any]], threshold: float = 1.3) -> dict[str, Any]:
    """How the closure cells of each role compare with what a perfect surrogate gives.

    For a surrogate equal to the truth each cell's chi2 follows chi2(ndf) (the bins' errors
    are nearly uncorrelated: tr(R^2) / ndf = 1.002 for the streamed sample's 12 bins). The
    cell count above ``threshold`` in chi2/ndf is then Poisson-binomial with
    p_c = P(chi2(ndf_c) > threshold ndf_c): its mean ``expected``, 95% range ``range`` and the
    probability ``all_below`` that no cell exceeds it. ``above`` is the count seen, ``p_total``
    the p-value of the summed chi2 and ``ks_p`` that of a Kolmogorov-Smirnov test of the cells'
    p-values against the uniform distribution of a perfect surrogate. Where the rows carry
    ``n_jets``, ``excess`` = mean over cells of 1000 (chi2 - ndf) / n_jets with its error
    ``excess_error`` (chi2 - ndf has variance 2 ndf for a perfect surrogate): a model error the
    same at every mass adds chi2 in proportion to the number of data jets, so the excess per
    jet compares roles whose cells hold different numbers of jets.

    With ndf = 11 a perfect surrogate exceeds chi2/ndf = 1.3 in one cell of five:

    >>> rows = [{"role": "held out", "chi2": 11.0, "ndf": 11}] * 30
    >>> r = closure_cells(rows)["held out"]
    >>> round(r["expected"], 1), r["range"], f"{r['all_below']:.1e}", r["above"]
    (6.5, [2, 11], '6.5e-04', 0)
    """
    out = {}
    for role in sorted({c["role"] for c in closure}):
        chi2 = np.array([c["chi2"] for c in closure if c["role"] == role])
        ndf = np.array([c["ndf"] for c in closure if c["role"] == role])
        p_above = stats.chi2.sf(threshold * ndf, ndf)
        count = np.array([1.0])  # Poisson-binomial distribution of the count, cell by cell
        for p in p_above:
            count = np.append(count * (1 - p), 0) + np.append(0, count * p)
        cumulative = np.cumsum(count)
        out[role] = {
            "cells": len(chi2),
            "threshold": threshold,
            "above": int((chi2 > threshold * ndf).sum()),
            "expected": float(p_above.sum()),
            "range": [
                int(np.searchsorted(cumulative, 0.025)),
                int(np.searchsorted(cumulative, 0.975)),
            ],
            "all_below": float(count[0]),
            "p_total": float(stats.chi2.sf(chi2.sum(), ndf.sum())),
            "ks_p": float(stats.kstest(stats.chi2.sf(chi2, ndf), "uniform").pvalue),
        }
        n_jets = np.array([c.get("n_jets", 0) for c in closure if c["role"] == role])
        if (n_jets > 0).all():
            out[role]["excess"] = float(np.mean(1000 * (chi2 - ndf) / n_jets))
            out[role]["excess_error"] = float(
                1000 * np.sqrt(np.sum(2 * ndf / n_jets**2)) / len(ndf)
            )
    return out


def floor_pulls(rows: list[dict[str, Any]], floor: float) -> np.ndarray:
    """The pulls (H - S) / sigma_total of all bins of ``rows`` with a relative model error
    ``floor`` added in quadrature to each bin's errors (the rows' data, data_error, model,
    model_error and model_spread).

    >>> row = {"data": [1.0], "data_error": [0.03], "model": [1.05], "model_error": [0.0],
    ...        "model_spread": [0.0]}
    >>> floor_pulls([row], 0.04 / 1.05).round(6).tolist()
    [-1.0]
    """
    pulls = []
    for r in rows:
        data, model = np.asarray(r["data"]), np.asarray(r["model"])
        variance = (
            np.asarray(r["data_error"]) ** 2
            + np.asarray(r["model_error"]) ** 2
            + np.asarray(r["model_spread"]) ** 2
            + (floor * model) ** 2
        )
        pulls.append((data - model) / np.sqrt(variance))
    return np.concatenate(pulls) if pulls else np.zeros(0)


def model_error_floor(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The relative model error f at which the summed chi2 of ``rows`` equals its ndf (0 when
    it is already below), with the interval ``low``-``high`` where the chi2 lies within
    ndf +- sqrt(2 ndf) (``high`` infinite where ndf - sqrt(2 ndf) <= 0).

    >>> rows = [{"data": [1.0, 1.0], "data_error": [0.03, 0.03], "model": [1.05, 1.05],
    ...          "model_error": [0.0, 0.0], "model_spread": [0.0, 0.0], "ndf": 2}]
    >>> r = model_error_floor(rows)
    >>> round(r["floor"], 4)  # each bin: 0.05^2 = 0.03^2 + (f 1.05)^2
    0.0381
    """
    ndf = sum(r["ndf"] for r in rows)

    def excess(f: float, shift: float = 0.0) -> float:
        return float((floor_pulls(rows, f) ** 2).sum() - ndf - shift)

    def solve(shift: float) -> float:
        if excess(0.0, shift) <= 0:
            return 0.0
        if excess(10.0, shift) > 0:  # a target chi2 <= 0: no floor is large enough
            return float("inf")
        return float(optimize.brentq(excess, 0.0, 10.0, args=(shift,), xtol=1e-6))

    spread = np.sqrt(2 * ndf)
    return {"floor": solve(0.0), "low": solve(spread), "high": solve(-spread)}


def calibrated_closure(
    closure: list[dict[str, Any]], fit: str = "trained", test: str = "held out"
) -> dict[str, Any]:
    """The model-error floor fitted on the ``fit`` rows and applied to the ``test`` rows:
    their summed chi2 with its p-value and the mean and width of their pulls; also the floor
    that the ``test`` rows alone would ask for (consistent with the fitted one if the model
    error is the same at the test masses)."""
    fitted = model_error_floor([r for r in closure if r["role"] == fit])
    rows = [r for r in closure if r["role"] == test]
    pulls = floor_pulls(rows, fitted["floor"])
    ndf = sum(r["ndf"] for r in rows)
    chi2 = float((pulls**2).sum())
    return {
        **fitted,
        "fit": fit,
        "test": test,
        "chi2": chi2,
        "ndf": ndf,
        "p": float(stats.chi2.sf(chi2, ndf)),
        "pull_mean": float(pulls.mean()),
        "pull_width": float(pulls.std(ddof=1)),
        "test_floor": model_error_floor(rows),
    }
