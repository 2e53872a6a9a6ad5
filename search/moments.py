"""Means and jet-to-jet covariances of shape observables from streamed moments.

For the jets of one mass the kernel of :mod:`~obsforge.observables.eeec_stream` keeps, per shape
s and fine zeta1 bin b, the sums over jets of h_jsb, h_jsb W_j and h_jsb h_jsb' (W_j the jet's
total EEEC weight). The observable of a shape is the fraction of the jets' weight in each bin,

    x_b = sum_j h_jb / sum_j W_j,

and, jets being independent, its per-jet covariance (Cov x = C / N for N jets) is that of the
ratio estimator, with r_j = (h_j - x W_j) / <W>:

    C = [sum h h^T - x (sum h W)^T - (sum h W) x^T + x x^T sum W^2] / ((N - 1) <W>^2),

which is exactly :func:`~obsforge.search.simulator.jet_covariance` of the per-jet histograms.
A coarser observable is a merge of fine bins, x' = P x, with C' = P C P^T:
:func:`equal_content_bins` merges the fine bins of each shape into bins of about equal content
over its central part.
"""

from __future__ import annotations

import numpy as np

from obsforge.observables.eeec_stream import StreamMoments

__all__ = [
    "equal_content_bins",
    "group_histograms",
    "merge_bins",
    "ratio_covariance",
    "ratio_means",
]


def ratio_means(moments: StreamMoments, counts: np.ndarray | None = None) -> np.ndarray:
    """x = sum h / sum W per shape and fine bin, (S, K). counts: (G,) multiplicities of the
    groups (a bootstrap resample of the jets); default every group once."""
    if counts is None:
        return moments.sum_h.sum(axis=0) / moments.sum_w.sum()
    return np.einsum("g,gsk->sk", counts, moments.sum_h) / (counts @ moments.sum_w)


def ratio_covariance(moments: StreamMoments) -> np.ndarray:
    """The per-jet covariance C (S, K, K) of the ratio observable (Cov x = C / N)."""
    n = moments.n_jets.sum()
    if n < 2:
        raise ValueError(f"{n} jets: need at least two to estimate a covariance")
    sum_w = moments.sum_w.sum()
    x = moments.sum_h.sum(axis=0) / sum_w
    hw = moments.sum_hw.sum(axis=0)
    cross = x[:, :, None] * hw[:, None, :]
    c = (
        moments.sum_hh
        - cross
        - np.swapaxes(cross, 1, 2)
        + x[:, :, None] * x[:, None, :] * moments.sum_w2.sum()
    )
    return c / ((n - 1) * (sum_w / n) ** 2)


def equal_content_bins(x: np.ndarray, n_bins: int, coverage: float = 0.98) -> np.ndarray:
    """Merge matrices P (S, n_bins, K): for each shape, fine bins grouped into n_bins bins of
    about equal content of x (S, K) over its central ``coverage``; fine bins in the tails are
    dropped. A fine bin goes to the coarse bin that holds its midpoint in the cumulative
    distribution; coarse bins that receive no fine bin stay empty (rows of zeros).

    >>> P = equal_content_bins(np.array([[0.0, 1, 1, 1, 1, 0]]), 2, coverage=1.0)
    >>> P[0].astype(int).tolist()
    [[0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 0]]
    """
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage = {coverage}: must be in (0, 1]")
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
    total = x.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (np.cumsum(x, axis=1) - 0.5 * x) / total
    tail = (1 - coverage) / 2
    index = np.floor((mid - tail) / (1 - 2 * tail) * n_bins)
    index = np.where((x > 0) & (index >= 0) & (index < n_bins), index, -1).astype(np.int64)
    merge = np.zeros((x.shape[0], n_bins, x.shape[1]))
    s, k = np.nonzero(index >= 0)
    merge[s, index[s, k], k] = 1.0
    return merge


def merge_bins(
    merge: np.ndarray, x: np.ndarray, covariance: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """x' = P x (..., S, n) and C' = P C P^T (S, n, n) for merge matrices P (S, n, K)."""
    merged = np.einsum("snk,...sk->...sn", merge, x)
    if covariance is None:
        return merged, None
    return merged, np.einsum("snk,skl,sml->snm", merge, covariance, merge)


def group_histograms(
    moments: StreamMoments, groups: np.ndarray, n_bins: int, coverage: float = 0.98
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The observable of the jets in ``groups`` (indices of jet groups, e.g. the test jets of
    a split that the groups align with) in n_bins equal-content bins per shape: (merge P
    (S, n_bins, K), x (S, n_bins), its covariance (S, n_bins, n_bins)). The per-jet covariance
    comes from all jets of the moments (the same distribution; only sums over all jets are kept
    for it), divided by the number of jets in ``groups``."""
    groups = np.asarray(groups)
    n = moments.n_jets[groups].sum()
    if n < 2:
        raise ValueError(f"groups {groups.tolist()}: {n} jets; need at least two")
    x = moments.sum_h[groups].sum(axis=0) / moments.sum_w[groups].sum()
    merge = equal_content_bins(x, n_bins, coverage)
    merged, covariance = merge_bins(merge, x, ratio_covariance(moments))
    return merge, merged, covariance / n
