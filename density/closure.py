"""Closure of a surrogate against held-out PYTHIA jets, shape by shape.

For a triangle shape the held-out histogram of zeta1 is the fraction of the total EEEC weight
of the held-out jets that falls in each bin and in the shape; its error treats jets as the
independent units. The surrogate's histogram comes from model samples (with its MC error).

    chi2 = sum_b (H_b - S_b)^2 / (sigma_H,b^2 + sigma_S,b^2 + sigma_model,b^2),  ndf = bins,

no parameter being fitted (the surrogate is normalised to the whole EEEC, not to the shape).
sigma_model is the statistical uncertainty of the surrogate itself: the spread of the members
of a bootstrap ensemble (their MC noise subtracted); it is zero for a single model, and
``chi2_stat`` always leaves it out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field
from scipy.interpolate import CubicSpline

from obsforge.config import MAX_COUNT, Config
from obsforge.density.surrogate import EEECSurrogate
from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram

__all__ = [
    "ClosureConfig",
    "binned_closure",
    "compare_histograms",
    "closure_at_mass",
    "closure_edges",
    "closure_table",
    "mass_fit",
    "mass_fit_pulls",
    "member_samples",
    "pull_summary",
    "shape_closure",
]


class ClosureConfig(Config):
    """Which triangle shapes are compared with held-out jets, and how finely."""

    shapes: list[tuple[float, float]] = Field(
        [(1.0, 1.0), (1.0, 2.0), (1.5, 2.0), (2.0, 2.0), (1.0, 3.0), (2.0, 3.0)], min_length=1
    )
    delta: float = Field(0.01, gt=0, le=1)
    n_bins: int = Field(12, ge=2)
    n_samples: int = Field(
        2_000_000, ge=10_000, le=MAX_COUNT, description="model samples per (shape, mass)"
    )

    def triangle_shapes(self) -> list[TriangleShape]:
        return [TriangleShape(n1=n1, n2=n2, delta=self.delta) for n1, n2 in self.shapes]


def closure_edges(
    zeta1: np.ndarray, weights: np.ndarray, n_bins: int, coverage: float = 0.98
) -> np.ndarray:
    """Bin edges holding equal held-out weight over the central ``coverage`` of the marginal."""
    order = np.argsort(zeta1)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    tail = (1 - coverage) / 2
    targets = np.linspace(tail, 1 - tail, n_bins + 1)
    return zeta1[order][np.searchsorted(cumulative, targets).clip(0, len(zeta1) - 1)]


def member_samples(
    surrogate: EEECSurrogate, m_top: float, n_samples: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """n_samples / M weighted samples of each of the M members (seed + i), weights summing to
    1 per member; for a single model the same samples as ``surrogate.weighted_samples``."""
    size = max(1, n_samples // surrogate.n_members)
    return [
        surrogate.member(i).weighted_samples(size, m_top, seed + i)
        for i in range(surrogate.n_members)
    ]


def shape_closure(
    surrogate: EEECSurrogate,
    shape: TriangleShape,
    m_top: float,
    zeta: np.ndarray,
    weights: np.ndarray,
    jet_id: np.ndarray,
    total_weight: float,
    n_bins: int = 16,
    n_samples: int = 2_000_000,
    seed: int = 0,
    samples: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """chi2 of the surrogate's shape marginal against held-out triplets at one mass.

    zeta (T, 3), weights (T,), jet_id (T,): held-out triplets (at least all those in the
    shape); total_weight: the EEEC weight of all triplets of the held-out jets. samples: per
    ensemble member, (zeta, weights) of :meth:`EEECSurrogate.weighted_samples` at this mass
    (to reuse them for many shapes); by default :func:`member_samples`.
    """
    mask = in_shape(zeta, shape)
    if mask.sum() < 10 * n_bins:
        raise ValueError(
            f"shape {shape.label()}: only {int(mask.sum())} held-out triplets; "
            "need more jets or a wider delta"
        )
    edges = closure_edges(zeta[mask, 0], weights[mask], n_bins)
    data, data_error = weighted_histogram(zeta[mask, 0], weights[mask], edges, jet_id[mask])
    data, data_error = data / total_weight, data_error / total_weight
    members = samples or member_samples(surrogate, m_top, n_samples, seed)
    histograms = []
    for z, w in members:
        inside = in_shape(z, shape)
        histograms.append(weighted_histogram(z[inside, 0], w[inside], edges))
    contents, errors = (np.array(a) for a in zip(*histograms, strict=True))
    return {
        "shape": [shape.n1, shape.n2, shape.delta],
        "m_top": m_top,
        **compare_histograms(data, data_error, contents, errors),
        "edges": edges.tolist(),
    }


def compare_histograms(
    data: np.ndarray, data_error: np.ndarray, contents: np.ndarray, errors: np.ndarray
) -> dict[str, Any]:
    """chi2 of data (B,) +- data_error against the M member histograms contents (M, B) with
    their MC errors (M, B): the model is the members' mean, and for M > 1 their spread (sample
    variance minus the mean MC variance) is the model's statistical uncertainty. Also the pulls
    (data - model) / sigma_total per bin.

    >>> r = compare_histograms(np.ones(4), np.full(4, 0.1), np.full((1, 4), 1.1), np.zeros((1, 4)))
    >>> round(r["chi2"], 6), r["ndf"], [round(p, 6) for p in r["pulls"]]
    (4.0, 4, [-1.0, -1.0, -1.0, -1.0])
    """
    model = contents.mean(axis=0)
    model_error = np.sqrt((errors**2).sum(axis=0)) / len(contents)
    spread = np.zeros_like(model)
    if len(contents) > 1:
        spread = np.sqrt(np.clip(contents.var(axis=0, ddof=1) - (errors**2).mean(axis=0), 0, None))
    stat = data_error**2 + model_error**2
    chi2 = float(np.sum((data - model) ** 2 / (stat + spread**2)))
    return {
        "chi2": chi2,
        "ndf": len(data),
        "chi2_ndf": chi2 / len(data),
        "chi2_stat": float(np.sum((data - model) ** 2 / stat)),
        "pulls": ((data - model) / np.sqrt(stat + spread**2)).tolist(),
        "data": data.tolist(),
        "data_error": data_error.tolist(),
        "model": model.tolist(),
        "model_error": model_error.tolist(),
        "model_spread": spread.tolist(),
        "data_fraction": float(data.sum()),
        "model_fraction": float(model.sum()),
    }


def binned_closure(
    surrogate: EEECSurrogate,
    shapes: list[TriangleShape],
    m_top: float,
    fine_edges: np.ndarray,
    merge: np.ndarray,
    data: np.ndarray,
    data_error: np.ndarray,
    n_samples: int = 2_000_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Closure rows (see :func:`compare_histograms`) of ``shapes`` at one mass against data
    given as merged fine zeta1 bins, e.g. from streamed moments that hold every triplet of the
    test jets: the model's fraction of the total EEEC weight in each fine bin (``fine_edges``,
    K + 1) of a shape is merged with the same matrices ``merge`` (S, B, K) as the data (S, B)
    +- data_error (S, B). Bins that receive no fine bin (rows of zeros) are left out. The model
    fractions come from :meth:`EEECSurrogate.shape_fractions` with ``n_samples`` proposal points.
    """
    fractions, variances = surrogate.shape_fractions(shapes, m_top, fine_edges, n_samples, seed)
    rows = []
    for s, shape in enumerate(shapes):
        used = merge[s].sum(axis=1) > 0
        contents = fractions[:, s] @ merge[s][used].T
        errors = np.sqrt(variances[:, s] @ merge[s][used].T)
        row = compare_histograms(data[s][used], data_error[s][used], contents, errors)
        centres = np.where(merge[s][used] > 0, np.arange(merge.shape[2]), np.nan)
        first, last = np.nanmin(centres, axis=1).astype(int), np.nanmax(centres, axis=1).astype(int)
        row["edges"] = np.append(fine_edges[first], fine_edges[last[-1] + 1]).tolist()
        rows.append({"shape": [shape.n1, shape.n2, shape.delta], "m_top": m_top, **row})
    return rows


def closure_at_mass(
    surrogate: EEECSurrogate, data, total_weight: float, settings: ClosureConfig, m_top: float
) -> list[dict[str, Any]]:
    """Closure rows (see :func:`shape_closure`) of every configured shape at one mass.

    data: the arrays of a ``density-data`` stage (``test_zeta``, ``test_weight``,
    ``test_jet_id``, ``test_m_top``); total_weight: EEEC weight of that mass's test jets.
    One set of model samples serves all shapes.
    """
    at_mass = data["test_m_top"] == m_top
    samples = member_samples(surrogate, m_top, settings.n_samples, seed=round(m_top * 1000))
    held_out = (
        data["test_zeta"][at_mass],
        data["test_weight"][at_mass],
        data["test_jet_id"][at_mass],
    )
    return [
        shape_closure(
            surrogate, shape, m_top, *held_out, total_weight, settings.n_bins, samples=samples
        )
        for shape in settings.triangle_shapes()
    ]


def closure_table(
    surrogate: EEECSurrogate,
    data,
    totals: dict[float, float],
    settings: ClosureConfig,
    masses: list[tuple[float, str]],
) -> list[dict[str, Any]]:
    """Closure rows of every shape at every (mass, role) of ``masses`` (role: "trained" or
    "held out", recorded in each row); totals: the test jets' EEEC weight per mass."""
    rows = []
    for m_top, role in masses:
        for row in closure_at_mass(surrogate, data, totals[m_top], settings, m_top):
            row["role"] = role
            rows.append(row)
    return rows


def pull_summary(closure: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per role ("trained", "held out") over all its closure rows: the number of cells and
    bins, the mean and width of the pulls (N(0, 1) for a surrogate whose uncertainty is
    calibrated), and the summed chi2 and ndf.

    >>> rows = [{"role": "held out", "pulls": [1.0, -1.0], "chi2": 2.0, "ndf": 2}] * 2
    >>> pull_summary(rows)["held out"]["pull_width"], pull_summary(rows)["held out"]["ndf"]
    (1.1547005383792515, 4)
    """
    out = {}
    for role in sorted({c["role"] for c in closure}):
        rows = [c for c in closure if c["role"] == role]
        pulls = np.concatenate([c["pulls"] for c in rows])
        out[role] = {
            "cells": len(rows),
            "bins": len(pulls),
            "pull_mean": float(pulls.mean()),
            "pull_width": float(pulls.std(ddof=1)),
            "chi2": float(sum(c["chi2"] for c in rows)),
            "ndf": int(sum(c["ndf"] for c in rows)),
        }
    return out


def mass_fit(
    surrogate: EEECSurrogate,
    shapes: list[TriangleShape],
    fine_edges: np.ndarray,
    merge: np.ndarray,
    data: np.ndarray,
    covariance: np.ndarray,
    grid: np.ndarray,
    n_samples: int = 20_000_000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Fit m_top to the data of each shape with the surrogate as the model: the Gaussian
    likelihood of the binned observable (exact for many jets),

        chi2(m) = r^T (V_data + V_model)^-1 r,   r = x - s(m),

    with the model at a grid of masses (``shape_fractions`` with one proposal for all of them,
    so s(m) is smooth) and between them by a cubic spline; a parabola through chi2 within 4 of
    its minimum gives m_hat and its error sigma (Delta chi2 = 1). data (S, B), covariance
    (S, B, B) and merge (S, B, K) as in :func:`binned_closure`; V_model holds the MC variance
    and, for an ensemble, the members' spread. ``at_edge`` flags a minimum on the grid's ends.
    """
    grid = np.asarray(grid, dtype=np.float64)
    fractions, variances = surrogate.shape_fractions(shapes, grid, fine_edges, n_samples, seed)
    rows = []
    for s, shape in enumerate(shapes):
        used = merge[s].sum(axis=1) > 0
        contents = fractions[:, :, s] @ merge[s][used].T  # (G, M, B)
        mc = variances[:, :, s] @ merge[s][used].T
        n_members = contents.shape[1]
        model_var = mc.sum(axis=1) / n_members**2
        if n_members > 1:
            model_var += np.clip(contents.var(axis=1, ddof=1) - mc.mean(axis=1), 0, None)
        # The model between grid masses: a cubic spline in m (smooth on the grid's scale), so
        # that the minimum is found even when sigma is below the grid step.
        fine = np.linspace(grid[0], grid[-1], 20 * (len(grid) - 1) + 1)
        model = CubicSpline(grid, contents.mean(axis=1))(fine)
        variance = np.interp(fine, grid, np.arange(len(grid)))  # fractional grid index
        variance = CubicSpline(np.arange(len(grid)), model_var)(variance).clip(0, None)
        v_data = covariance[s][np.ix_(used, used)]
        residual = data[s][used] - model
        chi2 = np.array(
            [
                r @ np.linalg.solve(v_data + np.diag(v), r)
                for r, v in zip(residual, variance, strict=True)
            ]
        )
        near = chi2 <= chi2.min() + 4
        if near.sum() < 3:
            near = np.argsort(np.abs(fine - fine[np.argmin(chi2)]))[:3]
        a, b, _ = np.polyfit(fine[near] - fine[near].mean(), chi2[near], 2)
        m_hat = fine[near].mean() - b / (2 * a) if a > 0 else float(fine[np.argmin(chi2)])
        rows.append(
            {
                "shape": [shape.n1, shape.n2, shape.delta],
                "m_hat": float(m_hat),
                "sigma": float(1 / np.sqrt(a)) if a > 0 else float("inf"),
                "chi2_min": float(chi2.min()),
                "ndf": int(used.sum()) - 1,
                "at_edge": bool(
                    np.argmin(chi2) in (0, len(fine) - 1) or not grid[0] <= m_hat <= grid[-1]
                ),
                "grid": grid.tolist(),
                "chi2": chi2[::20].tolist(),
            }
        )
    return rows


def mass_fit_pulls(fits: list[dict[str, Any]]) -> dict[str, Any]:
    """(m_hat - m_top) / sigma over the mass fits that found a minimum inside their grid with
    a convex chi2 (``failed``: the others, counted), with mean, width and largest |pull|.

    >>> row = {"m_top": 175.0, "sigma": 0.2, "at_edge": False, "grid": [173.0, 177.0]}
    >>> fits = [{**row, "m_hat": 175.2}, {**row, "m_hat": 174.8}, {**row, "m_hat": 178.0}]
    >>> r = mass_fit_pulls(fits)
    >>> r["fits"], r["failed"], round(r["mean"], 9), round(r["max_abs"], 9)
    (2, 1, 0.0, 1.0)
    """
    good = [
        f
        for f in fits
        if np.isfinite(f["sigma"])
        and not f["at_edge"]
        and f["grid"][0] <= f["m_hat"] <= f["grid"][-1]
    ]
    pulls = np.array([(f["m_hat"] - f["m_top"]) / f["sigma"] for f in good])
    return {
        "fits": len(good),
        "failed": len(fits) - len(good),
        "mean": float(pulls.mean()) if len(pulls) else float("nan"),
        "width": float(pulls.std(ddof=1)) if len(pulls) > 1 else float("nan"),
        "max_abs": float(np.abs(pulls).max()) if len(pulls) else float("nan"),
    }
