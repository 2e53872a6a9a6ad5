"""Calibrating a template fit of m_top: the response m_hat(m) measured on independent jets.

A fit whose model (a surrogate's expectation) has a slightly wrong m_t dependence returns
estimates m_hat that are biased in a way that varies slowly with the true mass. Fitted on test
jets of many known masses, the straight line

    m_hat = a + b (m - m0)

(weighted least squares with the fits' errors) is the fit's response. An estimate on new jets
is then calibrated by inverting it, m = m0 + (m_hat - a) / b, with the error of the estimate
and of the line divided by b. This is the calibration curve of template measurements of the top
mass; here it is measured on the test jets of the trained masses and applied at held-out ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["apply_calibration", "linear_calibration"]


def linear_calibration(
    truth: np.ndarray, estimate: np.ndarray, sigma: np.ndarray, m0: float | None = None
) -> dict[str, Any]:
    """The response line m_hat = a + b (m - m0) through estimates (N,) +- sigma (N,) at true
    masses truth (N,): a, b, their covariance, m0 (default the weighted mean of truth) and the
    line's chi2 / ndf (about 1 when the errors describe the scatter).

    >>> m = np.array([170.0, 172.0, 174.0, 176.0])
    >>> c = linear_calibration(m, 0.5 + 1.1 * m - 0.1 * 173.0, np.ones(4), m0=173.0)
    >>> round(c["a"], 6), round(c["b"], 6), round(c["chi2"], 6)
    (173.5, 1.1, 0.0)
    """
    truth, estimate, sigma = (np.asarray(v, dtype=np.float64) for v in (truth, estimate, sigma))
    if len(truth) < 3 or not np.all(np.isfinite(sigma) & (sigma > 0)):
        raise ValueError(f"{len(truth)} fits: need at least 3 with finite, positive errors")
    w = 1 / sigma**2
    m0 = float(np.sum(w * truth) / np.sum(w)) if m0 is None else float(m0)
    design = np.stack([np.ones_like(truth), truth - m0], axis=1)
    cov = np.linalg.inv(design.T @ (w[:, None] * design))
    a, b = cov @ design.T @ (w * estimate)
    chi2 = float(np.sum(w * (estimate - a - b * (truth - m0)) ** 2))
    return {
        "a": float(a),
        "b": float(b),
        "cov": cov.tolist(),
        "m0": m0,
        "chi2": chi2,
        "ndf": len(truth) - 2,
    }


def apply_calibration(
    estimate: np.ndarray, sigma: np.ndarray, calibration: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated masses and errors: m = m0 + (m_hat - a) / b, with sigma^2 / b^2 plus the
    line's own variance propagated (gradient (-1 / b, -(m - m0) / b) in (a, b)).

    >>> cal = {"a": 173.5, "b": 1.1, "m0": 173.0, "cov": [[0.0, 0.0], [0.0, 0.0]]}
    >>> m, s = apply_calibration(np.array([175.7]), np.array([1.1]), cal)
    >>> m.round(6).tolist(), s.round(6).tolist()
    ([175.0], [1.0])
    """
    a, b, m0 = calibration["a"], calibration["b"], calibration["m0"]
    if not b > 0:
        raise ValueError(f"calibration slope b = {b}: the fit does not respond to m_top")
    m = m0 + (np.asarray(estimate, dtype=np.float64) - a) / b
    gradient = np.stack([np.full_like(m, -1 / b), -(m - m0) / b], axis=-1)
    line = np.einsum("...i,ij,...j->...", gradient, np.asarray(calibration["cov"]), gradient)
    return m, np.sqrt(np.asarray(sigma) ** 2 / b**2 + line)
