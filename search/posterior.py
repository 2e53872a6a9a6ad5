"""Posteriors on a grid of the parameter and their highest-posterior-density (HPD) regions.

For a one-dimensional posterior p(theta | x) tabulated on a grid, the HPD region at credibility
level alpha is the set {theta : p(theta | x) >= t_alpha} whose probability is alpha; it is the
shortest region with that probability and may consist of several disjoint intervals (a bimodal
posterior gives two). The width of the 95% HPD region is the figure of merit of an observable in
the shape scan (arXiv:2508.10988).

The grid density is treated as piecewise linear; the region's edges are placed by linear
interpolation where the density crosses t_alpha, and t_alpha is found by bisection so that the
enclosed probability (trapezoidal) equals alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GridPosterior",
    "HPDRegion",
    "batch_hpd_credibility",
    "batch_hpd_width",
    "hpd_region",
]


@dataclass(frozen=True)
class HPDRegion:
    """A union of disjoint intervals holding probability ``level``."""

    intervals: tuple[tuple[float, float], ...]
    level: float

    @property
    def width(self) -> float:
        """Total length of the region (for one interval: upper - lower)."""
        return float(sum(hi - lo for lo, hi in self.intervals))

    @property
    def lower(self) -> float:
        return self.intervals[0][0]

    @property
    def upper(self) -> float:
        return self.intervals[-1][1]

    def __contains__(self, theta: float) -> bool:
        return any(lo <= theta <= hi for lo, hi in self.intervals)


def _mass_above(theta: np.ndarray, density: np.ndarray, threshold: float):
    """Probability in {density >= threshold} of the piecewise-linear density, and the intervals."""
    above = density - threshold
    x0, x1, d0, d1 = theta[:-1], theta[1:], above[:-1], above[1:]
    # In each cell the part where the linear density exceeds the threshold: [a, b].
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = x0 + (x1 - x0) * d0 / (d0 - d1)
    a = np.where(d0 >= 0, x0, np.where(d1 >= 0, crossing, x1))
    b = np.where(d1 >= 0, x1, np.where(d0 >= 0, crossing, x0))
    slope = (density[1:] - density[:-1]) / (x1 - x0)
    pa = density[:-1] + slope * (a - x0)
    pb = density[:-1] + slope * (b - x0)
    # Cells wholly below the threshold have b < a: they hold no mass.
    mass = float(np.sum(0.5 * (pa + pb) * np.clip(b - a, 0.0, None)))
    return mass, a, b


def hpd_region(theta: np.ndarray, density: np.ndarray, level: float = 0.95) -> HPDRegion:
    """HPD region of a density tabulated on an increasing grid (normalised internally).

    theta: (G,) strictly increasing; density: (G,) >= 0. Returns an :class:`HPDRegion`.

    >>> theta = np.linspace(-8, 8, 4001)
    >>> region = hpd_region(theta, np.exp(-theta**2 / 2), 0.95)
    >>> [round(v, 3) for v in region.intervals[0]]
    [-1.96, 1.96]
    """
    theta = np.asarray(theta, dtype=np.float64)
    density = np.asarray(density, dtype=np.float64)
    if theta.ndim != 1 or theta.shape != density.shape or len(theta) < 3:
        raise ValueError(
            f"theta and density: need equal 1-D grids of >= 3 points, got "
            f"{theta.shape} and {density.shape}"
        )
    if not np.all(np.diff(theta) > 0):
        raise ValueError("theta: the grid must be strictly increasing")
    if not np.all(np.isfinite(density)) or np.any(density < 0):
        raise ValueError("density: must be finite and >= 0 on the whole grid")
    if not 0 < level < 1:
        raise ValueError(f"level = {level}: allowed 0 < level < 1")
    total = float(np.trapezoid(density, theta))
    if total <= 0:
        raise ValueError("density: integrates to zero on the grid")
    density = density / total
    low, high = 0.0, float(density.max())
    for _ in range(50):  # bisection on the threshold (2^-50 of the peak); mass decreases
        middle = 0.5 * (low + high)
        if _mass_above(theta, density, middle)[0] > level:
            low = middle
        else:
            high = middle
    _, a, b = _mass_above(theta, density, low)
    cells = np.flatnonzero(b > a)
    intervals, start, end = [], a[cells[0]], b[cells[0]]
    for cell in cells[1:]:
        if np.isclose(a[cell], end, rtol=0, atol=1e-12 * (theta[-1] - theta[0])):
            end = b[cell]
        else:
            intervals.append((float(start), float(end)))
            start, end = a[cell], b[cell]
    intervals.append((float(start), float(end)))
    return HPDRegion(tuple(intervals), level)


@dataclass(frozen=True)
class GridPosterior:
    """p(theta | x) on a grid: ``density`` normalised to 1 by the trapezoidal rule."""

    theta: np.ndarray
    density: np.ndarray

    @classmethod
    def from_log_density(cls, theta: np.ndarray, log_density: np.ndarray) -> GridPosterior:
        """From an unnormalised log density (e.g. log prior + log ratio) on the grid."""
        log_density = np.asarray(log_density, dtype=np.float64)
        density = np.exp(log_density - np.max(log_density))
        return cls(np.asarray(theta, dtype=np.float64), density / np.trapezoid(density, theta))

    @property
    def mode(self) -> float:
        return float(self.theta[np.argmax(self.density)])

    @property
    def mean(self) -> float:
        return float(np.trapezoid(self.theta * self.density, self.theta))

    def hpd(self, level: float = 0.95) -> HPDRegion:
        return hpd_region(self.theta, self.density, level)


def _cell_masses(log_density: np.ndarray) -> np.ndarray:
    """Normalised probabilities of the points of a uniform grid: (B, G) -> (B, G)."""
    log_density = np.asarray(log_density, dtype=np.float64)
    p = np.exp(log_density - log_density.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def batch_hpd_width(log_density: np.ndarray, step: float, level: float = 0.95) -> np.ndarray:
    """Widths of the HPD regions of many posteriors on one uniform grid, vectorised.

    log_density: (B, G) unnormalised log posteriors at grid spacing ``step``. Each grid point
    stands for a cell of width ``step``; the region takes the most probable cells until their
    mass reaches ``level`` (the last one fractionally), so the width is exact up to O(step)
    effects at the region's edges. Returns (B,).
    """
    if not 0 < level < 1:
        raise ValueError(f"level = {level}: must be in (0, 1)")
    p = -np.sort(-_cell_masses(log_density), axis=1)
    cumulative = np.cumsum(p, axis=1)
    full = (cumulative < level).sum(axis=1)  # cells wholly inside
    before = np.where(full > 0, cumulative[np.arange(len(p)), np.maximum(full - 1, 0)], 0.0)
    last = p[np.arange(len(p)), np.minimum(full, p.shape[1] - 1)]
    return (full + np.clip((level - before) / last, 0.0, 1.0)) * step


def batch_hpd_credibility(log_density: np.ndarray, theta: np.ndarray, truth: np.ndarray):
    """The credibility level of the smallest HPD region that contains the true value: the
    posterior mass of the points more probable than theta_true (linear interpolation).

    log_density: (B, G) on grid theta (G,); truth: (B,). Expected coverage of the level-alpha
    HPD region is the fraction of pseudo-experiments with credibility <= alpha. Returns (B,).
    """
    p = _cell_masses(log_density)
    theta, truth = np.asarray(theta, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    i = np.clip(np.searchsorted(theta, truth, side="right") - 1, 0, len(theta) - 2)
    t = np.clip((truth - theta[i]) / (theta[i + 1] - theta[i]), 0.0, 1.0)
    rows = np.arange(len(p))
    at_truth = (1 - t) * p[rows, i] + t * p[rows, i + 1]
    return np.where(p > at_truth[:, None], p, 0.0).sum(axis=1)
