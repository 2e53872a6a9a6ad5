"""The shape scan's tables from a streamed sample: every shape's binned observable with its
expectation from the surrogate and from PYTHIA itself, on a fine grid of masses.

The streamed moments (:mod:`~obsforge.search.moments`) hold every triplet of every jet, so the
scan at the reference's scale (101 masses x 10,000 jets) needs no per-jet histograms:

- the observable of a shape is the fraction of the total EEEC weight in each of ``n_bins``
  zeta1 bins of about equal content of the pooled sample (merged fine bins; the observable of
  the Fisher ranking, :func:`~obsforge.search.fisher.fisher_ranking`);
- its **surrogate** expectation mu_s(m) comes from the fine-bin fractions of
  :meth:`~obsforge.density.surrogate.EEECSurrogate.shape_fractions` on the grid (one proposal
  for all masses, so mu is smooth in m; a grid evaluated in parts with the same seed gives the
  same numbers, so a long table can be built in resumable chunks), with the covariance V_s(m)
  of that expectation: the spread of an ensemble's members plus the Monte Carlo error of the
  expectation;
- its **PYTHIA** expectation and the per-jet covariance C_s(m) come from the moments, smoothed
  in m by the local fit of :func:`~obsforge.search.fisher.mean_curves`: a simulator without a
  surrogate, whose exact likelihood is the yardstick of the surrogate-based one;
- the held-out masses' data (all their jets) are kept for the PYTHIA mass fit.

Bins that no fine bin falls into (a shape whose marginal is narrower than n_bins fine bins)
are padded: mean 0 and a unit-scale variance, a coordinate without information.
"""

from __future__ import annotations

import numpy as np

from obsforge.observables.eeec_stream import StreamMoments
from obsforge.observables.shapes import TriangleShape
from obsforge.search.fisher import mean_curves
from obsforge.search.moments import equal_content_bins, merge_bins, ratio_means

__all__ = ["floor_covariance", "stream_search_data", "surrogate_curves"]


def surrogate_curves(
    fractions: np.ndarray, variances: np.ndarray, merge: np.ndarray, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The surrogate's expectation of the binned observable (merge P (S, n, K)) from the
    fine-bin ``fractions`` and their MC ``variances`` (G, M, S, K) of
    :meth:`~obsforge.density.surrogate.EEECSurrogate.shape_fractions` on G masses and M
    members, and its covariance: means (G, S, n) and V (G, S, n, n) = the covariance of the
    ensemble's members (zero for one model) plus the Monte Carlo variance of one member
    (diagonal; the members share their proposal points) plus (floor mu)^2 on the diagonal,
    the relative model error of :func:`~obsforge.density.calibration.model_error_floor`
    (0: none)."""
    contents = np.einsum("snk,gisk->gisn", merge, fractions)  # (G, M, S, n)
    # the members share the proposal points, so their MC errors are nearly the same: the error
    # of their mean is that of one member (not 1 / M of it), and the spread holds none of it
    mc = np.einsum("snk,gisk->gsn", merge, variances) / contents.shape[1]
    means = contents.mean(axis=1)
    model_cov = np.zeros(means.shape + means.shape[-1:])
    if contents.shape[1] > 1:
        r = contents - means[:, None]
        model_cov += np.einsum("gisn,gism->gsnm", r, r) / (contents.shape[1] - 1)
    model_cov += np.einsum("gsn,nm->gsnm", mc, np.eye(means.shape[-1]))
    return means, model_cov + floor_covariance(means, floor)


def floor_covariance(means: np.ndarray, floor: float) -> np.ndarray:
    """The covariance (..., n, n) of a relative model error ``floor`` of the expectations
    means (..., n): diag((floor mu)^2), independent from bin to bin.

    >>> floor_covariance(np.array([0.5, 0.1]), 0.1).round(6).tolist()
    [[0.0025, 0.0], [0.0, 0.0001]]
    """
    return np.einsum("...n,nm->...nm", (floor * means) ** 2, np.eye(means.shape[-1]))


def stream_search_data(
    fractions: tuple[np.ndarray, np.ndarray],
    shapes: list[TriangleShape],
    masses: np.ndarray,
    moments: list[StreamMoments],
    grid: np.ndarray,
    fit_masses: list[float],
    references: list[int],
    n_bins: int = 12,
    coverage: float = 0.98,
    bandwidth: float = 6.0,
    degree: int = 1,
    floor: float = 0.0,
) -> dict[str, np.ndarray]:
    """The arrays of a scan (see :func:`~obsforge.search.scan.scan_simulator`) from the moments
    of ``masses`` (M,) and the surrogate's fine-bin ``fractions`` = (fractions, variances),
    each (G, members, S, K), at the masses ``grid`` (G,) (:func:`surrogate_curves`): shapes
    (S, 3), merge (S, n, K), mean_masses = grid, means and model_cov (surrogate), cov_masses =
    grid and jet_cov (PYTHIA, smoothed), pythia_means (PYTHIA, smoothed), fit_masses /
    fit_means / fit_counts (all jets of each mass in ``fit_masses``, for the mass fit) and
    reference (indices of the reference shapes). ``floor``: the surrogate's relative model
    error, added to model_cov.
    """
    masses = np.asarray(masses, dtype=np.float64)
    pooled = sum(m.sum_h.sum(axis=0) for m in moments)
    merge = equal_content_bins(pooled, n_bins, coverage)
    means, model_cov = surrogate_curves(*fractions, merge, floor=floor)
    pythia_means, jet_cov = mean_curves(masses, moments, merge, grid, bandwidth, degree)
    rows = [int(np.flatnonzero(np.isclose(masses, m))[0]) for m in fit_masses]
    fit_means = merge_bins(merge, np.stack([ratio_means(moments[i]) for i in rows]))[0]
    fit_counts = np.array([moments[i].n_jets.sum() for i in rows])
    # pad the empty bins: mean 0, per-jet variance the shape's typical one, no model variance
    s, b = np.nonzero(merge.sum(axis=2) == 0)
    if len(s):
        diagonal = np.diagonal(jet_cov, axis1=2, axis2=3)  # (G, S, n)
        scale = np.where(diagonal > 0, diagonal, np.nan)
        typical = np.nan_to_num(np.nanmean(scale, axis=(0, 2)), nan=1.0)  # (S,)
        jet_cov[:, s, b, b] = typical[s]
        model_cov[:, s, b, :] = model_cov[:, s, :, b] = 0.0
        for a in (means, pythia_means):
            a[:, s, b] = 0.0
        fit_means[:, s, b] = 0.0
    return {
        "shapes": np.array([(t.n1, t.n2, t.delta) for t in shapes]),
        "merge": merge,
        "mean_masses": np.asarray(grid, dtype=np.float64),
        "means": means,
        "model_cov": model_cov,
        "cov_masses": np.asarray(grid, dtype=np.float64),
        "jet_cov": jet_cov,
        "pythia_means": pythia_means,
        "fit_masses": np.asarray(fit_masses, dtype=np.float64),
        "fit_means": fit_means,
        "fit_counts": fit_counts,
        "reference": np.array(references),
    }
