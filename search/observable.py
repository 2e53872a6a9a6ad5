"""The observable of a triangle shape: the binned, energy-weighted zeta1 marginal.

For a shape s = (n1, n2, delta) the observable of a set of jets is the vector

    x_k = sum_{jets} sum_{triplets in s, zeta1 in bin k} w  /  sum_{jets} sum_{all triplets} w,

the fraction of the jets' total EEEC weight that falls into zeta1 bin k of the shape (the
quantity of the density closure test). The bins of a shape have equal expected content at a
reference mass and cover its central ``coverage`` of the marginal, so every shape is described
by the same number of equally informative bins.

Shapes (n1, n2) with n2 < n1 name the same triangle as (n2, n1) with its sides relabelled; with
sorted sides their window is empty, so grids hold n1 <= n2 only.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config, Count
from obsforge.observables.shapes import TriangleShape, shape_members

__all__ = [
    "ShapeGrid",
    "ShapePatch",
    "StreamSettings",
    "scan_shapes",
    "shape_edges",
    "shape_histograms",
]


class ShapeGrid(Config):
    """A grid of triangle shapes n1, n2 in [low, high] (n1 <= n2) with a common band delta."""

    low: float = Field(1.0, ge=1.0, description="smallest n1, n2")
    high: float = Field(3.0, ge=1.0, description="largest n1, n2")
    steps: int = Field(21, ge=1, description="grid points per axis (21: steps of 0.1 on [1, 3])")
    delta: float = Field(0.01, gt=0.0, le=1.0, description="band width in zeta")

    @model_validator(mode="after")
    def _range(self) -> ShapeGrid:
        if self.high < self.low:
            raise ValueError(f"high = {self.high} < low = {self.low}: the grid is empty")
        if self.steps > 1 and self.high == self.low:
            raise ValueError(f"steps = {self.steps} on the empty range [{self.low}, {self.high}]")
        return self

    def axis(self) -> np.ndarray:
        return np.round(np.linspace(self.low, self.high, self.steps), 10)

    def shapes(self) -> list[TriangleShape]:
        """All grid shapes with n1 <= n2, row by row in n1."""
        axis = self.axis()
        return [
            TriangleShape(n1=float(n1), n2=float(n2), delta=self.delta)
            for n1 in axis
            for n2 in axis
            if n2 >= n1
        ]


class ShapePatch(Config):
    """A fine square of shapes around a centre: n1, n2 = centre +- half_width in steps of step
    (points with n1 < 1 or n2 < n1 dropped)."""

    centre: tuple[float, float] = Field(..., description="(n1, n2) at the middle of the patch")
    half_width: float = Field(0.1, gt=0.0, le=2.0)
    step: float = Field(0.02, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _whole(self) -> ShapePatch:
        ratio = self.half_width / self.step
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) > 100:
            raise ValueError(
                f"half_width / step = {ratio:g}: must be a whole number of at most 100 steps"
            )
        return self

    def shapes(self, delta: float) -> list[TriangleShape]:
        k = int(round(self.half_width / self.step))
        offsets = np.arange(-k, k + 1) * self.step
        return [
            TriangleShape(n1=n1, n2=n2, delta=delta)
            for n1 in np.round(self.centre[0] + offsets, 10).tolist()
            for n2 in np.round(self.centre[1] + offsets, 10).tolist()
            if 1.0 <= n1 <= n2
        ]


def scan_shapes(grid: ShapeGrid, patches: list[ShapePatch] = ()) -> list[TriangleShape]:
    """The grid's shapes followed by those of the patches not already in it (rounded to 1e-9).

    >>> len(scan_shapes(ShapeGrid(steps=21), [ShapePatch(centre=(1.0, 2.0))]))  # 231 + 66 - 6
    291
    """
    shapes, known = [], set()
    for shape in grid.shapes() + [s for p in patches for s in p.shapes(grid.delta)]:
        key = (round(shape.n1, 9), round(shape.n2, 9))
        if key not in known:
            known.add(key)
            shapes.append(shape)
    return shapes


class StreamSettings(Config):
    """What a streamed EEEC sample keeps (the ``stream`` section of ``obsforge eeec-stream``):
    which shapes get moments, the jet groups of the bootstrap, the training subsample."""

    shapes: ShapeGrid = ShapeGrid()
    patches: list[ShapePatch] = Field(
        [ShapePatch(centre=(1.02, 1.99)), ShapePatch(centre=(1.1, 1.3))],
        description="fine patches (step 0.02): the published optimum and our earlier best",
    )
    groups: int = Field(20, ge=2, le=1000, description="jet groups for the bootstrap")
    group_seed: int = Field(
        0, ge=0, description="jet hash seed (the density split's seed: groups align with it)"
    )
    triplets_per_mass: Count = Field(300_000, description="expected subsample size per mass")
    batch_events: int = Field(250, ge=1, le=MAX_COUNT, description="events held at once")

    def shape_list(self) -> list[TriangleShape]:
        return scan_shapes(self.shapes, self.patches)


def shape_edges(
    zeta: np.ndarray,
    weight: np.ndarray,
    shapes: list[TriangleShape],
    n_bins: int = 12,
    coverage: float = 0.98,
) -> np.ndarray:
    """Bin edges (S, n_bins + 1) in zeta1: equal weight per bin over the central ``coverage`` of
    each shape's weighted zeta1 marginal, from weighted triplets (T, 3) and (T,)."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage = {coverage}: must be in (0, 1]")
    if n_bins < 1:
        raise ValueError(f"n_bins = {n_bins}: need at least one bin")
    tail = (1 - coverage) / 2
    levels = np.linspace(tail, 1 - tail, n_bins + 1)
    edges = np.empty((len(shapes), n_bins + 1))
    for s, index in enumerate(shape_members(zeta, shapes)):
        if len(index) < 10 * n_bins:
            raise ValueError(
                f"shape {shapes[s].label()}: only {len(index)} triplets inside, too few for "
                f"{n_bins} bins; use more samples or a wider delta"
            )
        order = np.argsort(zeta[index, 0])
        values, w = zeta[index, 0][order], weight[index][order]
        cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
        edges[s] = np.interp(levels, cdf, values)
        if np.any(np.diff(edges[s]) <= 0):
            raise ValueError(f"shape {shapes[s].label()}: degenerate bin edges {edges[s]}")
    return edges


def shape_histograms(
    zeta: np.ndarray,
    weight: np.ndarray,
    shapes: list[TriangleShape],
    edges: np.ndarray,
    groups: np.ndarray | None = None,
    n_groups: int | None = None,
) -> np.ndarray:
    """Summed triplet weights per (shape, zeta1 bin): (S, K); with integer ``groups`` in
    [0, n_groups) (the jet of each triplet) the sums per group, (n_groups, S, K)."""
    n_bins = edges.shape[1] - 1
    if groups is None:
        out = np.zeros((len(shapes), n_bins))
    else:
        out = np.zeros((n_groups, len(shapes), n_bins))
    for s, index in enumerate(shape_members(zeta, shapes)):
        k = np.searchsorted(edges[s], zeta[index, 0], side="right") - 1
        inside = (k >= 0) & (k < n_bins)
        k, w = k[inside], weight[index][inside]
        if groups is None:
            out[s] = np.bincount(k, w, minlength=n_bins)
        else:
            g = groups[index][inside]
            out[:, s] = np.bincount(g * n_bins + k, w, minlength=n_groups * n_bins).reshape(
                n_groups, n_bins
            )
    return out
