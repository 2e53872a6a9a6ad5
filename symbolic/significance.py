"""Expected significance of a coupling from the distribution of one observable.

The same definition for every observable: the observable is histogrammed in ``bins`` bins
with equal expected population under the null hypothesis, and the expected (Asimov)
significance of the alternative against the null is the Poisson likelihood ratio

    Z = sqrt( 2 sum_b [ n1_b ln(n1_b / n0_b) - (n1_b - n0_b) ] )

(Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, eq. (97) per bin), with
n_c = N0 * (sum of w(c) in the bin) / (sum of w(null)): the alternative's rate change counts.
"""

from __future__ import annotations

import numpy as np

__all__ = ["asimov_significance", "weighted_quantile_edges"]


def weighted_quantile_edges(values: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges (bins - 1) with equal weighted population below and between them."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    cumulative /= cumulative[-1]
    targets = np.arange(1, bins) / bins
    return values[order][np.searchsorted(cumulative, targets).clip(0, len(values) - 1)]


def asimov_significance(
    values: np.ndarray,
    w_null: np.ndarray,
    w_alt: np.ndarray,
    n_null: float,
    bins: int = 20,
) -> float:
    """Expected significance of ``w_alt`` against ``w_null`` from the histogram of ``values``.

    values, w_null, w_alt: per event (same events, two weightings); n_null: expected event count
    under the null hypothesis (cross section x efficiency x luminosity).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values: expected a non-empty 1-d array, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("values: the observable is not finite for every event")
    if not n_null > 0 or bins < 1:
        raise ValueError(f"n_null = {n_null}, bins = {bins}: both must be positive")
    edges = weighted_quantile_edges(values, w_null, bins)
    index = np.searchsorted(edges, values, side="right")
    norm = n_null / w_null.sum()
    n0 = np.bincount(index, weights=w_null, minlength=bins) * norm
    n1 = np.bincount(index, weights=w_alt, minlength=bins) * norm
    keep = n0 > 0
    n0, n1 = n0[keep], n1[keep]
    terms = np.where(n1 > 0, n1 * np.log(np.where(n1 > 0, n1, 1.0) / n0), 0.0) - (n1 - n0)
    return float(np.sqrt(max(2.0 * terms.sum(), 0.0)))
