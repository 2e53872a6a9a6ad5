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

from obsforge.config import MAX_COUNT, Config
from obsforge.density.surrogate import EEECSurrogate
from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram

__all__ = [
    "ClosureConfig",
    "closure_at_mass",
    "closure_edges",
    "closure_table",
    "member_samples",
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
    model = contents.mean(axis=0)
    model_error = np.sqrt((errors**2).sum(axis=0)) / len(members)
    spread = np.zeros_like(model)
    if len(members) > 1:
        spread = np.sqrt(np.clip(contents.var(axis=0, ddof=1) - (errors**2).mean(axis=0), 0, None))
    stat = data_error**2 + model_error**2
    chi2 = float(np.sum((data - model) ** 2 / (stat + spread**2)))
    return {
        "shape": [shape.n1, shape.n2, shape.delta],
        "m_top": m_top,
        "chi2": chi2,
        "ndf": n_bins,
        "chi2_ndf": chi2 / n_bins,
        "chi2_stat": float(np.sum((data - model) ** 2 / stat)),
        "edges": edges.tolist(),
        "data": data.tolist(),
        "data_error": data_error.tolist(),
        "model": model.tolist(),
        "model_error": model_error.tolist(),
        "model_spread": spread.tolist(),
        "data_fraction": float(data.sum()),
        "model_fraction": float(model.sum()),
    }


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
