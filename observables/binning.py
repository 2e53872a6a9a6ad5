"""Binnings of the optimal observables alpha that keep as much Fisher information as possible.

The information lost by binning is N <(alpha - alpha_bar_k)^T F^-1 (alpha - alpha_bar_k)> in
the trace metric (see :mod:`obsforge.observables.fisher`): a weighted k-means objective in
alpha-space with the metric F^-1. So

(a) ``uniform``:  a regular grid, equal-width bins in each alpha_i (the baseline);
(b) ``voronoi``:  Lloyd's algorithm (weighted k-means, k-means++ start) in the whitened space
                  z = alpha L with F^-1 = L L^T -- the bins are Voronoi cells;
(c) ``transport``: equal-population cells: the semi-discrete optimal-transport map of the event
                  distribution onto K centroids of mass 1/K each (POT's exact solver on a
                  subsample), whose cells are Laguerre (power) cells |z - c_k|^2 - g_k, then the
                  centroids moved to the cell means and the transport solved again.

Every binning returns labels for the events it was built on and an ``assign`` function for new
events (bins are fixed once built).

**How many cells a retention costs.** For K cells in d dimensions the k-means distortion falls
like C K^(-2/d) as K grows (Zador's theorem; Gersho, IEEE Trans. Inf. Theory 25 (1979) 373), so
the information lost by the best Voronoi binning is 1 - retained ~ A K^(-2/d).
:func:`quantisation_law` measures A (and, as a check of the law, the exponent fitted freely)
from a retention curve, and :func:`cells_for` turns a target retention into K.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from obsforge.config import MAX_COUNT, Config

__all__ = [
    "Binning",
    "BinningSettings",
    "QuantisationLaw",
    "cells_for",
    "quantisation_law",
    "retention_curves",
    "transport_binning",
    "uniform_binning",
    "voronoi_binning",
    "whitening",
]


class BinningSettings(Config):
    """Which binnings of the optimal observables are compared, and on how many events."""

    bins: list[int] = Field([8, 16, 27, 50, 100, 200], min_length=1)
    per_axis: list[int] = Field([2, 3, 4, 5, 6], min_length=1, description="uniform grids")
    fit_events: int = Field(200_000, ge=1000, description="events the bins are built on")
    test_events: int = Field(
        400_000, ge=1000, le=MAX_COUNT, description="independent events they are scored on"
    )
    transport_events: int = Field(
        4000, ge=100, le=MAX_COUNT, description="subsample for the exact OT solver"
    )
    restarts: int = Field(3, ge=1)
    law_min_cells: int = Field(
        16, ge=1, description="Voronoi points with at least this many cells fit the K^(-2/d) law"
    )


@dataclass(frozen=True)
class Binning:
    """Bin labels of the training events, the number of bins, and a rule for new events."""

    labels: np.ndarray
    n_bins: int
    assign: Callable[[np.ndarray], np.ndarray]
    centres: np.ndarray | None = None


def whitening(fisher: np.ndarray) -> np.ndarray:
    """L with F^-1 = L L^T, so that |(a - b) L|^2 = (a - b)^T F^-1 (a - b)."""
    return np.linalg.cholesky(np.linalg.inv(fisher))


def uniform_binning(
    alpha: np.ndarray, weight: np.ndarray, per_axis: int, coverage: float = 0.99
) -> Binning:
    """per_axis^n equal-width bins spanning the central ``coverage`` of each alpha_i (weighted);
    events outside fall into the edge bins."""
    tail = (1 - coverage) / 2
    edges = []
    for i in range(alpha.shape[1]):
        order = np.argsort(alpha[:, i])
        cdf = np.cumsum(weight[order]) / weight.sum()
        low, high = np.interp([tail, 1 - tail], cdf, alpha[order, i])
        edges.append(np.linspace(low, high, per_axis + 1))

    def assign(a: np.ndarray) -> np.ndarray:
        index = np.zeros(len(a), dtype=np.int64)
        for i, e in enumerate(edges):
            k = np.clip(np.searchsorted(e, a[:, i], side="right") - 1, 0, per_axis - 1)
            index = index * per_axis + k
        return index

    return Binning(assign(alpha), per_axis ** alpha.shape[1], assign)


def _nearest(z: np.ndarray, centres: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """argmin_k |z - c_k|^2 - g_k, in blocks (bounded memory)."""
    out = np.empty(len(z), dtype=np.int64)
    for start in range(0, len(z), 65536):
        block = z[start : start + 65536]
        d = (block**2).sum(1)[:, None] - 2 * block @ centres.T + (centres**2).sum(1)[None]
        if offsets is not None:
            d = d - offsets[None]
        out[start : start + 65536] = np.argmin(d, axis=1)
    return out


def _cell_means(z, weight, labels, k, previous) -> np.ndarray:
    sums = np.zeros((k, z.shape[1]))
    np.add.at(sums, labels, weight[:, None] * z)
    totals = np.bincount(labels, weight, minlength=k)
    return np.where(totals[:, None] > 0, sums / np.maximum(totals, 1e-300)[:, None], previous)


def _kmeans_pp(z, weight, k, rng) -> np.ndarray:
    """k-means++ seeding with probabilities proportional to weight x squared distance."""
    centres = [z[rng.choice(len(z), p=weight / weight.sum())]]
    d2 = ((z - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = weight * d2
        centres.append(z[rng.choice(len(z), p=p / p.sum())])
        d2 = np.minimum(d2, ((z - centres[-1]) ** 2).sum(1))
    return np.array(centres)


def voronoi_binning(
    alpha: np.ndarray,
    weight: np.ndarray,
    fisher: np.ndarray,
    k: int,
    iterations: int = 100,
    restarts: int = 3,
    seed: int = 0,
) -> Binning:
    """k Voronoi cells in alpha-space with the F^-1 metric: weighted Lloyd iterations from
    ``restarts`` k-means++ starts, keeping the lowest within-cell spread (information loss)."""
    if k < 1:
        raise ValueError(f"k = {k}: need at least one bin")
    rng = np.random.default_rng(seed)
    whiten = whitening(fisher)
    z = alpha @ whiten
    best = None
    for _ in range(restarts):
        centres = _kmeans_pp(z, weight, k, rng)
        labels = _nearest(z, centres)
        for _ in range(iterations):
            centres = _cell_means(z, weight, labels, k, centres)
            new = _nearest(z, centres)
            if np.array_equal(new, labels):
                break
            labels = new
        loss = float(np.sum(weight * ((z - centres[labels]) ** 2).sum(1)))
        if best is None or loss < best[0]:
            best = (loss, centres, labels)
    _, centres, labels = best
    return Binning(labels, k, lambda a: _nearest(a @ whiten, centres), centres)


def transport_binning(
    alpha: np.ndarray,
    weight: np.ndarray,
    fisher: np.ndarray,
    k: int,
    iterations: int = 10,
    n_transport: int = 4000,
    seed: int = 0,
) -> Binning:
    """k equal-population cells from semi-discrete optimal transport (POT) in the F^-1 metric."""
    import ot

    rng = np.random.default_rng(seed)
    whiten = whitening(fisher)
    z = alpha @ whiten
    centres = _kmeans_pp(z, weight, k, rng)
    sub = rng.choice(len(z), size=min(n_transport, len(z)), replace=False, p=weight / weight.sum())
    source = np.full(len(sub), 1.0 / len(sub))  # the subsample is already weight-distributed
    target = np.full(k, 1.0 / k)
    offsets = np.zeros(k)
    for _ in range(iterations):
        cost = ot.dist(z[sub], centres)  # squared Euclidean
        _, log = ot.emd(source, target, cost, log=True)
        # Dual potential of the target: Laguerre cells argmin |z - c|^2 - g_k.
        offsets = log["v"] - log["v"].mean()
        labels = _nearest(z, centres, offsets)
        centres = _cell_means(z, weight, labels, k, centres)
    labels = _nearest(z, centres, offsets)
    return Binning(labels, k, lambda a: _nearest(a @ whiten, centres, offsets), centres)


def retention_curves(
    alpha: np.ndarray,
    weight: np.ndarray,
    alpha_test: np.ndarray,
    weight_test: np.ndarray,
    fisher: np.ndarray,
    per_axis: list[int],
    bins: list[int],
    restarts: int,
    n_transport: int,
    luminosity: float,
) -> dict[str, dict[str, list]]:
    """Retained information det(F_binned / F)^(1/d) of uniform, Voronoi and transport binnings
    built on (alpha, weight) and scored on an independent test sample against its own unbinned
    F: {method: {"bins": [...], "retained": [...]}} (uniform: ``per_axis`` bins per axis;
    Voronoi and transport: ``bins`` cells, the Voronoi metric F^-1 from ``fisher``)."""
    from obsforge.observables.fisher import fisher_binned, fisher_unbinned, retained_fraction

    reference = fisher_unbinned(alpha_test, weight_test, luminosity)

    def score(binning: Binning) -> float:
        labels = binning.assign(alpha_test)
        binned = fisher_binned(alpha_test, weight_test, labels, binning.n_bins, luminosity)
        return retained_fraction(binned, reference)

    uniform = [uniform_binning(alpha, weight, n) for n in per_axis]
    out = {
        "uniform": {"bins": [b.n_bins for b in uniform], "retained": [score(b) for b in uniform]}
    }
    builders = {
        "voronoi": lambda k: voronoi_binning(alpha, weight, fisher, k, restarts=restarts),
        "transport": lambda k: transport_binning(alpha, weight, fisher, k, n_transport=n_transport),
    }
    for method, build in builders.items():
        out[method] = {"bins": list(bins), "retained": [score(build(k)) for k in bins]}
    return out


@dataclass(frozen=True)
class QuantisationLaw:
    """1 - retained = constant K^(-exponent) for K cells in ``dimension`` dimensions:
    ``exponent`` = 2 / d (Zador), ``constant`` fitted with it; ``free_exponent`` (and its
    constant) fitted with the exponent free, the check of the law."""

    dimension: int
    exponent: float
    constant: float
    free_exponent: float
    free_constant: float

    def loss(self, cells) -> np.ndarray:
        return self.constant * np.asarray(cells, dtype=np.float64) ** -self.exponent

    def as_dict(self) -> dict[str, float]:
        return {**self.__dict__, **{f"cells_for_{t:g}": cells_for(self, t) for t in (0.95, 0.99)}}


def quantisation_law(cells, retained, dimension: int, min_cells: int = 16) -> QuantisationLaw:
    """Fit 1 - retained = A K^(-2/d) (and A K^(-p) with p free) in log space to the points with
    K >= ``min_cells`` (the asymptotic regime).

    >>> law = quantisation_law([16, 64, 256], [1 - 0.2 * 16**(-2/3), 1 - 0.2 * 64**(-2/3),
    ...                         1 - 0.2 * 256**(-2/3)], dimension=3)
    >>> round(law.constant, 6), round(law.free_exponent, 6)
    (0.2, 0.666667)
    """
    cells, retained = np.asarray(cells, dtype=np.float64), np.asarray(retained, dtype=np.float64)
    use = (cells >= min_cells) & (retained < 1)
    if use.sum() < 2:
        raise ValueError(
            f"cells = {cells.tolist()}: need at least two retention points with K >= "
            f"{min_cells} and retained < 1 to fit the quantisation law"
        )
    log_k, log_loss = np.log(cells[use]), np.log(1 - retained[use])
    exponent = 2.0 / dimension
    constant = float(np.exp(np.mean(log_loss + exponent * log_k)))
    slope, intercept = np.polyfit(log_k, log_loss, 1)
    return QuantisationLaw(dimension, exponent, constant, float(-slope), float(np.exp(intercept)))


def cells_for(law: QuantisationLaw, retention: float) -> float:
    """The number of cells K at which the law reaches ``retention`` (0 < retention < 1).

    >>> cells_for(QuantisationLaw(3, 2 / 3, 0.2, 2 / 3, 0.2), 0.99)  # (0.2 / 0.01)^(3/2)
    89.44271909999...
    """
    if not 0 < retention < 1:
        raise ValueError(f"retention = {retention}: allowed is 0 < retention < 1")
    return float((law.constant / (1 - retention)) ** (1 / law.exponent))
