"""Triangle shapes of the EEEC and their one-dimensional marginals.

A shape (n1, n2, delta) selects the triplets whose two longer sides are fixed multiples of the
shortest one, within a band of width delta (arXiv:2508.10988):

    n1 zeta1 <= zeta2 <= n1 zeta1 + delta,    n2 zeta1 <= zeta3 <= n2 zeta1 + delta,

and the observable is the energy-weighted distribution of zeta1 of the selected triplets.
(1, 1) is the equilateral triangle and (1, 2) the right isosceles triangle 1 : 1 : sqrt 2 in
chord length sqrt(zeta).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import Config

__all__ = ["TriangleShape", "in_shape", "shape_members", "weighted_histogram"]


class TriangleShape(Config):
    """A triangle shape: side multiples n1 <= n2 and band width delta (in zeta)."""

    n1: float = Field(..., ge=1.0, description="zeta2 / zeta1 (>= 1 by the ordering)")
    n2: float = Field(..., ge=1.0, description="zeta3 / zeta1 (>= n1 by the ordering)")
    delta: float = Field(0.01, gt=0.0, le=1.0, description="band width in zeta")

    @model_validator(mode="after")
    def _ordered(self) -> TriangleShape:
        if self.n2 < self.n1:
            raise ValueError(f"n2 = {self.n2} < n1 = {self.n1}; sides are ordered, need n2 >= n1")
        return self

    def label(self) -> str:
        return f"({self.n1:g}, {self.n2:g})"


def in_shape(zeta: np.ndarray, shape: TriangleShape) -> np.ndarray:
    """Boolean mask of the triplets of shape ``shape``. zeta: (T, 3) sorted sides -> (T,)."""
    zeta1, zeta2, zeta3 = zeta[..., 0], zeta[..., 1], zeta[..., 2]
    low2, low3 = shape.n1 * zeta1, shape.n2 * zeta1
    return (
        (zeta2 >= low2)
        & (zeta2 <= low2 + shape.delta)
        & (zeta3 >= low3)
        & (zeta3 <= low3 + shape.delta)
    )


def shape_members(zeta: np.ndarray, shapes: list[TriangleShape]) -> list[np.ndarray]:
    """For each shape the indices of the triplets (T, 3) inside it (the triplets of
    :func:`in_shape`), grouped by n1 so that the n1 band (the test on all triplets) is evaluated
    once per distinct (n1, delta): a grid of shapes costs one pass per n1, not per shape.

    >>> zeta = np.array([[0.1, 0.1, 0.2], [0.1, 0.1, 0.1], [0.1, 0.3, 0.3]])
    >>> shapes = [TriangleShape(n1=1, n2=2, delta=0.01), TriangleShape(n1=1, n2=1, delta=0.01)]
    >>> [i.tolist() for i in shape_members(zeta, shapes)]
    [[0], [1]]
    """
    zeta1, zeta2, zeta3 = zeta[:, 0], zeta[:, 1], zeta[:, 2]
    out: list[np.ndarray | None] = [None] * len(shapes)
    by_band: dict[tuple[float, float], list[int]] = {}
    for i, shape in enumerate(shapes):
        by_band.setdefault((shape.n1, shape.delta), []).append(i)
    for (n1, delta), members in by_band.items():
        band = np.flatnonzero((zeta2 >= n1 * zeta1) & (zeta2 <= n1 * zeta1 + delta))
        z1, z3 = zeta1[band], zeta3[band]
        for i in members:
            n2 = shapes[i].n2
            out[i] = band[(z3 >= n2 * z1) & (z3 <= n2 * z1 + delta)]
    return out  # type: ignore[return-value]


def weighted_histogram(
    values: np.ndarray, weights: np.ndarray, edges: np.ndarray, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted histogram and its statistical error.

    values, weights: (T,). groups: (T,) ids of independent units (jets); the triplets of one
    jet are correlated, so the variance of a bin is sum over jets of (jet's content)^2.
    Without groups every entry is independent (variance sum w^2). Returns (content, error),
    both (len(edges) - 1,).
    """
    n_bins = len(edges) - 1
    index = np.digitize(values, edges) - 1
    inside = (index >= 0) & (index < n_bins)
    content = np.bincount(index[inside], weights[inside], minlength=n_bins)
    if groups is None:
        variance = np.bincount(index[inside], weights[inside] ** 2, minlength=n_bins)
    else:
        _, unit = np.unique(groups[inside], return_inverse=True)
        per_unit = np.bincount(
            unit * n_bins + index[inside],
            weights[inside],
            minlength=(unit.max() + 1 if len(unit) else 0) * n_bins,
        )
        variance = (per_unit.reshape(-1, n_bins) ** 2).sum(axis=0)
    return content, np.sqrt(variance)
