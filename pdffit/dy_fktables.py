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
"""

from __future__ import annotations

import numpy as np

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

__all__ = ["DYOperators", "dy_fk_table", "dy_predict"]

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
) -> tuple[np.ndarray, np.ndarray]:
    """The FK table (N, 8, n_z, 8, n_z) in pb of N bins (m_lo, m_hi, y_lo, y_hi) and its input
    knots z (n_z,), so that :func:`dy_predict` gives the LO cross section of each bin."""
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
        scaled = weight / (x1 * x2) * GEV2_TO_PB
        for i, q in enumerate(sorted(QUARKS)):
            w = scaled * partonic_cross_section(np.array([m]), *QUARKS[q], inputs)[0]
            fk[b] += np.einsum("n,nkj,nlm->kjlm", w, a1[:, 2 * i], a2[:, 2 * i + 1], optimize=True)
            fk[b] += np.einsum("n,nkj,nlm->kjlm", w, a1[:, 2 * i + 1], a2[:, 2 * i], optimize=True)
    return fk, operators.z


def dy_predict(fk: np.ndarray, f: np.ndarray) -> np.ndarray:
    """T (..., N) from an FK table (N, 8, n_z, 8, n_z) and f_k(z_j, Q0) (..., 8, n_z)."""
    return np.einsum("nkjlm,...kj,...lm->...n", fk, f, f, optimize=True)
