"""Two-x FK tables for Drell-Yan: the LO prediction as a bilinear form of the PDF at Q0.

    T_n = sum_{k j l m} FK[n, k, j, l, m] f_k(z_j, Q0) f_l(z_m, Q0),

    FK[n] = sum_nodes w sum_q sigma_hat_q(M) [A_q(x1) (x) A_qbar(x2) + A_qbar(x1) (x) A_q(x2)]
            / (x1 x2),

with the quadrature nodes and weights of :func:`obsforge.pdffit.drell_yan.bin_nodes` and
A_pid(x, M)[k, j] the linear map x f_pid(x, M) = sum_kj A[k, j] f_k(z_j, Q0): the shipped
evolution operators of the LHAPDF export (``pdffit/fktables/export.npz``, eko from Q0 to the
grid's knots) interpolated to (x, M) exactly as LHAPDF interpolates the exported set
(:func:`obsforge.pdffit.lhapdf.interpolate_knots`). A fitted PDF's DY prediction through these
tables is therefore what its own LHAPDF set gives at LO. f_k(z_j, Q0) is the fitting basis
(:data:`obsforge.pdffit.model.BASIS`) on the export grid's x knots z_j, kept from the smallest
knot that any output x of the data reaches through the operators.

For the fit, :class:`DYFKTable` carries a table onto the fit's own x grid (the DIS tables'):
f at the knots z is a cubic spline in ln x through f on the grid (NNPDF3.1 through the
projected tables: within 0.1% of the full ones), and it adds the NLO K-factor of each point
(:func:`obsforge.pdffit.dy_nlo.nlo_k_factors`) and a fixed term (gamma gamma -> l+ l- from the
reference photon, where the measurement includes it):

    T_n = K_n f^T FK_n f + c_n.

The tables take minutes to build (:func:`load_dy_fk_table` builds a missing one into the cache,
``python scripts/build_dy_fk_tables.py`` builds them all) and are not shipped: 10-50 MB each.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import CubicSpline

from obsforge.pdffit.drell_yan import (
    GEV2_TO_PB,
    QUARKS,
    DYInputs,
    LeptonCuts,
    bin_nodes,
    partonic_cross_section,
)
from obsforge.pdffit.export import GridEvolution
from obsforge.pdffit.lhapdf import _slopes, interpolate_knots

__all__ = [
    "DYFKTable",
    "DYOperators",
    "build_dy_fk_table",
    "dy_fk_table",
    "dy_predict",
    "load_dy_fk_table",
    "project_fk_table",
]

PIDS = tuple(p for q in sorted(QUARKS) for p in (q, -q))  # 1, -1, 2, -2, ..., 5, -5


class DYOperators:
    """A_pid(x, Q) for the quarks and antiquarks of :data:`PIDS` at x >= ``x_min``: the export
    operators of the subgrids, interpolated in (ln x, ln Q^2) as LHAPDF does; float32."""

    def __init__(self, evolution: GridEvolution, x_min: float) -> None:
        x = evolution.x
        first = max(int(np.searchsorted(x, x_min, side="right")) - 3, 0)  # the cubic stencil
        self.blocks = []
        used = np.zeros(len(x), dtype=bool)
        for scales in evolution.subgrids:
            ops = np.stack([evolution.flavour_operator(s, PIDS)[:, first:] for s in scales])
            ops = ops.transpose(2, 0, 1, 3, 4)  # (n_x, n_q, P, 8, n_z)
            used |= np.abs(ops).max(axis=(0, 1, 2, 3)) > 0
            self.blocks.append((np.log(x[first:]), np.log(evolution.q[scales] ** 2), ops))
        self.inputs = np.flatnonzero(used)  # input knots z_j that reach x >= x_min
        self.blocks = [
            (log_x, log_q2, ops[..., self.inputs].astype(np.float32),
             _slopes(ops[..., self.inputs], log_x).astype(np.float32))
            for log_x, log_q2, ops in self.blocks
        ]  # fmt: skip
        self.starts = [np.exp(0.5 * block[1][0]) for block in self.blocks]
        self.z = x[self.inputs]

    def at(self, x: np.ndarray, q: float) -> np.ndarray:
        """A (len(x), len(PIDS), 8, n_z) at one scale ``q`` (GeV)."""
        b = max(int(np.searchsorted(self.starts, q, side="right")) - 1, 0)
        log_x, log_q2, ops, slopes = self.blocks[b]
        if np.log(np.min(x)) < log_x[0] or q > np.exp(0.5 * log_q2[-1]):
            raise ValueError(f"x >= {np.min(x):.3g}, Q = {q:.4g} GeV: outside the operators")
        return interpolate_knots(ops, slopes, log_x, log_q2, np.asarray(x, np.float64), q)


def dy_fk_table(
    bins: np.ndarray,
    sqrt_s: float,
    cuts: LeptonCuts,
    evolution: GridEvolution,
    inputs: DYInputs | None = None,
    nodes: int = 8,
    neutron_target: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The FK table (N, 8, n_z, 8, n_z) in pb of N bins (m_lo, m_hi, y_lo, y_hi) and its input
    knots z (n_z,), so that :func:`dy_predict` gives the LO cross section of each bin; with
    ``neutron_target`` the second hadron (at rapidity -y) is a neutron (isospin symmetry)."""
    inputs = inputs or DYInputs()
    m_lo = float(bins[:, 0].min())
    y_max = float(np.abs(bins[:, 2:]).max())
    x_min = max(m_lo / sqrt_s * np.exp(-min(y_max, np.log(sqrt_s / m_lo))), evolution.x[0])
    operators = DYOperators(evolution, x_min)
    n_z = len(operators.z)
    fk = np.zeros((len(bins), 8, n_z, 8, n_z))
    for b, m, ys, weight in bin_nodes(bins[:, :2], bins[:, 2:], sqrt_s, cuts, inputs, nodes):
        x1, x2 = m / sqrt_s * np.exp(ys), m / sqrt_s * np.exp(-ys)
        a1, a2 = operators.at(x1, m), operators.at(x2, m)
        if neutron_target:  # u <-> d and ubar <-> dbar: the pairs (1, -1) and (2, -2) of PIDS
            a2 = a2[:, [2, 3, 0, 1, *range(4, len(PIDS))]]
        scaled = weight / (x1 * x2) * GEV2_TO_PB
        for i, q in enumerate(sorted(QUARKS)):
            w = scaled * partonic_cross_section(np.array([m]), *QUARKS[q], inputs)[0]
            fk[b] += np.einsum("n,nkj,nlm->kjlm", w, a1[:, 2 * i], a2[:, 2 * i + 1], optimize=True)
            fk[b] += np.einsum("n,nkj,nlm->kjlm", w, a1[:, 2 * i + 1], a2[:, 2 * i], optimize=True)
    return fk, operators.z


def dy_predict(fk: np.ndarray, f: np.ndarray) -> np.ndarray:
    """T (..., N) from an FK table (N, 8, n_z, 8, n_z) and f_k(z_j, Q0) (..., 8, n_z)."""
    return np.einsum("nkjlm,...kj,...lm->...n", fk, f, f, optimize=True)


def project_fk_table(fk: np.ndarray, z: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, int]:
    """An FK table (N, 8, n_z, 8, n_z) on knots z carried onto the grid ``x``: f(z) = P f(x) with
    P the cubic spline in ln x through x[first:] (first: the last point of ``x`` at or below
    z[0]). Returns the table (N, 8, n_u, 8, n_u) on x[first:] and ``first``."""
    first = int(np.searchsorted(x, z[0], side="right")) - 1
    if first < 0 or z[-1] > x[-1]:
        raise ValueError(f"knots {z[0]:.3g}-{z[-1]:.3g} outside the grid {x[0]:.3g}-{x[-1]:.3g}")
    u = x[first:]
    p = CubicSpline(np.log(u), np.eye(len(u)), axis=0)(np.log(z))  # (n_z, n_u)
    table = np.einsum("nkjlm,ja,mb->nkalb", fk, p, p, optimize=True)
    return 0.5 * (table + table.transpose(0, 3, 4, 1, 2)), first


@dataclass
class DYFKTable:
    """The theory of a Drell-Yan set on the fit's grid: T = K f^T FK f + c (module docstring),
    or, for a ratio of cross sections, T = K (f^T FK f) / (f^T FK' f) + c with FK' the
    ``denominator``. ``table`` (N, 8, n_u, 8, n_u) acts on f_k(x[first:], Q0)."""

    name: str
    table: np.ndarray
    x: np.ndarray
    first: int
    k_factor: np.ndarray  # (N,)
    offset: np.ndarray  # (N,) pb in the set's normalisation
    denominator: np.ndarray | None = None  # like ``table``
    floor: np.ndarray | None = None  # (N,): the denominator is max(f^T FK' f, floor)

    def take(self, rows: np.ndarray) -> DYFKTable:
        below = None if self.denominator is None else self.denominator[rows]
        floor = None if self.floor is None else self.floor[rows]
        return DYFKTable(self.name, self.table[rows], self.x, self.first, self.k_factor[rows],
                         self.offset[rows], below, floor)  # fmt: skip

    def predict(self, f_evol: np.ndarray) -> np.ndarray:
        """Predictions (R, N) from f_k(x, Q0) (R, 8, n_x) on the fit's grid."""
        f = f_evol[:, :, self.first :]
        bilinear = dy_predict(self.table, f)
        if self.denominator is not None:
            below = dy_predict(self.denominator, f)
            bilinear = bilinear / (below if self.floor is None else np.maximum(below, self.floor))
        return self.k_factor * bilinear + self.offset

    def kernel(self) -> BilinearKernel:
        return BilinearKernel(self)


class BilinearKernel:
    """:meth:`DYFKTable.predict` in torch, for f (R, n_x, 8): one matmul with the table as a
    matrix (A, N A), A = 8 n_u."""

    def __init__(self, table: DYFKTable) -> None:
        n, k, u = table.table.shape[:3]
        self.first, self.size = table.first, k * u

        def matrix(fk: np.ndarray) -> torch.Tensor:
            flat = fk.reshape(n, k * u, k * u).transpose(1, 0, 2).reshape(k * u, -1)
            return torch.as_tensor(np.ascontiguousarray(flat))

        self.matrix = matrix(table.table)
        self.denominator = None if table.denominator is None else matrix(table.denominator)
        self.floor = None if table.floor is None else torch.as_tensor(table.floor)
        self.k_factor = torch.as_tensor(table.k_factor)
        self.offset = torch.as_tensor(table.offset)

    def _form(self, matrix: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        left = (flat @ matrix).view(len(flat), -1, self.size)  # (R, N, A)
        return (left * flat[:, None, :]).sum(-1)

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        flat = f[:, self.first :, :].transpose(1, 2).reshape(len(f), self.size)  # (R, A)
        value = self._form(self.matrix, flat)
        if self.denominator is not None:
            below = self._form(self.denominator, flat)
            value = value / (below if self.floor is None else torch.maximum(below, self.floor))
        return self.k_factor * value + self.offset


CACHE_VERSION = 1  # bump when the theory of the tables changes


def _cache_dir() -> Path:
    root = os.environ.get("OBSFORGE_CACHE") or Path.home() / ".cache" / "obsforge"
    return Path(root) / "fktables-dy"


def build_dy_fk_table(name: str, x: np.ndarray) -> DYFKTable:
    """The table of Drell-Yan set ``name`` (all its points) on the grid ``x``: LO FK table from
    the shipped operators, projected; K-factors and the photon term from the reference PDF."""
    from obsforge.pdffit.dy_data import (
        DY_DATASETS,
        dy_dataset_fk_table,
        dy_lo_predictions,
        load_dy_dataset,
    )
    from obsforge.pdffit.dy_nlo import nlo_k_factors
    from obsforge.pdffit.export import load_grid_evolution
    from obsforge.pdffit.reference import reference_grid

    dataset = load_dy_dataset(name)
    spec = DY_DATASETS[name]
    fk, z, below = dy_dataset_fk_table(dataset, load_grid_evolution())
    table, first = project_fk_table(fk, z, x)
    grid = reference_grid()
    offset = np.zeros(len(dataset))
    if below is not None:  # a ratio at one order: the K-factors cancel
        denominator, _ = project_fk_table(below, z, x)
        return DYFKTable(name, table, np.asarray(x, np.float64), first, np.ones(len(dataset)),
                         offset, denominator)  # fmt: skip
    masses, index = np.unique(dataset.bins[:, :2], axis=0, return_inverse=True)
    k_factor = nlo_k_factors(grid.xfxq, masses, spec.sqrt_s)[index.ravel()]
    if spec.photon_induced:
        offset = dy_lo_predictions(dataset, grid.xfxq) - dy_lo_predictions(
            dataset, grid.xfxq, photon=False
        )
    return DYFKTable(name, table, np.asarray(x, np.float64), first, k_factor, offset)


def load_dy_fk_table(name: str, x: np.ndarray, progress=print) -> DYFKTable:
    """The table of ``name`` on grid ``x`` from the cache ($OBSFORGE_CACHE or ~/.cache/obsforge),
    built and stored first if missing (a minute or two per set)."""
    x = np.asarray(x, dtype=np.float64)
    key = hashlib.sha256(json.dumps([name, CACHE_VERSION, x.tolist()]).encode()).hexdigest()
    path = _cache_dir() / f"{name}-{key[:12]}.npz"
    if not path.exists():
        from obsforge.atomic import atomic_path

        if progress:
            progress(f"building the Drell-Yan FK table of {name} (cached in {path.parent})")
        built = build_dy_fk_table(name, x)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"table": built.table, "first": built.first, "k_factor": built.k_factor,
                  "offset": built.offset}  # fmt: skip
        if built.denominator is not None:
            arrays["denominator"] = built.denominator
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return _floored(built)
    with np.load(path, allow_pickle=False) as data:
        below = data["denominator"] if "denominator" in data else None
        return _floored(DYFKTable(name, data["table"], x, int(data["first"]), data["k_factor"],
                                  data["offset"], below))  # fmt: skip


FLOOR = 0.1  # of the reference PDF's denominator


def _floored(table: DYFKTable) -> DYFKTable:
    """A ratio's denominator floored at 10% of its value with the reference PDF (NNPDF3.1 at
    Q0): a replica's PDF far from any physical one early in training (a sea crossing zero)
    can make it vanish, and the ratio with it; near a fit it is inactive."""
    if table.denominator is None:
        return table
    from obsforge.pdffit.export import load_grid_evolution
    from obsforge.pdffit.model import flavour_to_evolution
    from obsforge.pdffit.reference import reference_pdf_at

    x = table.x
    f0 = flavour_to_evolution(reference_pdf_at(x, load_grid_evolution().q[0]).T).T / x
    table.floor = FLOOR * dy_predict(table.denominator, f0[None, :, table.first :])[0]
    return table
