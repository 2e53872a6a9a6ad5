"""Flow coordinates for sorted EEEC triplets: a bijection of {0 < z1 <= z2 <= z3 <= 1} onto R^3.

    y1 = ln z3,    y2 = ln(ln z3 - ln z2),    y3 = ln(ln z2 - ln z1).

y1 is the (log) size of the triangle and y2, y3 measure how far the ratios z2/z3 and z1/z2 are
from 1 (isosceles edges sit at y -> -inf, so the flow never meets a hard boundary). With
a_i = ln z_i the Jacobian is triangular:

    |d y / d zeta| = 1 / ((a3 - a2)(a2 - a1) z1 z2 z3),

so log p(zeta) = log p(y) + log|dy/dzeta|.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_flow_coordinates", "log_jacobian", "to_flow_coordinates", "validate_zeta"]

# Ties z1 = z2 (float32 storage) would map to -inf; keep a minimal log-gap.
MIN_LOG_GAP = 1e-6


def validate_zeta(zeta: np.ndarray, name: str = "zeta") -> np.ndarray:
    """Check an array of sorted triplet sides: shape (T, 3), finite, in (0, 1], ordered."""
    zeta = np.asarray(zeta, dtype=np.float64)
    if zeta.ndim != 2 or zeta.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (T, 3) of sorted sides, got {zeta.shape}")
    if not np.all(np.isfinite(zeta)):
        bad = int(np.flatnonzero(~np.isfinite(zeta).all(axis=1))[0])
        raise ValueError(
            f"{name}[{bad}] = {zeta[bad].tolist()}: not finite; allowed: 0 < zeta <= 1"
        )
    if np.any(zeta <= 0) or np.any(zeta > 1):
        bad = int(np.flatnonzero(((zeta <= 0) | (zeta > 1)).any(axis=1))[0])
        raise ValueError(f"{name}[{bad}] = {zeta[bad].tolist()}: allowed 0 < zeta <= 1")
    if np.any(np.diff(zeta, axis=1) < 0):
        bad = int(np.flatnonzero((np.diff(zeta, axis=1) < 0).any(axis=1))[0])
        raise ValueError(
            f"{name}[{bad}] = {zeta[bad].tolist()}: sides must be sorted z1 <= z2 <= z3"
        )
    return zeta


def to_flow_coordinates(zeta: np.ndarray) -> np.ndarray:
    """(T, 3) sorted sides -> (T, 3) flow coordinates y."""
    a = np.log(zeta)
    gap32 = np.maximum(a[:, 2] - a[:, 1], MIN_LOG_GAP)
    gap21 = np.maximum(a[:, 1] - a[:, 0], MIN_LOG_GAP)
    return np.stack([a[:, 2], np.log(gap32), np.log(gap21)], axis=1)


def from_flow_coordinates(y: np.ndarray) -> np.ndarray:
    """(T, 3) flow coordinates -> (T, 3) sorted sides."""
    a3 = y[:, 0]
    a2 = a3 - np.exp(y[:, 1])
    a1 = a2 - np.exp(y[:, 2])
    return np.exp(np.stack([a1, a2, a3], 1))


def log_jacobian(zeta: np.ndarray) -> np.ndarray:
    """log |dy/dzeta| for (T, 3) sorted sides -> (T,)."""
    a = np.log(zeta)
    gap32 = np.maximum(a[:, 2] - a[:, 1], MIN_LOG_GAP)
    gap21 = np.maximum(a[:, 1] - a[:, 0], MIN_LOG_GAP)
    return -np.log(gap32) - np.log(gap21) - a.sum(axis=1)
