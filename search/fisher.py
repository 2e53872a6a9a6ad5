"""Fisher ranking of EEEC shapes from streamed moments: no surrogate, no neural network.

For a shape s with binned observable x_s (the fractions of :mod:`~obsforge.search.moments`), jets
independent, the mean mu_s(m) and per-jet covariance C_s(m) give the per-jet Fisher information
on the top mass

    I_s(m) = mu_s'(m)^T C_s(m)^-1 mu_s'(m),

and for N jets the expected 95 % interval half-width 1.96 / sqrt(N I_s) (the Cramer-Rao bound,
reached by the Gaussian likelihood of x at large N). mu_s' comes from a local polynomial
regression of the per-mass means around m0 (tricube kernel of half-width ``bandwidth``): its
estimate b = sum_m l_m x_m is linear in the data, with covariance V = sum_m l_m^2 C_m / N_m, so
the noise of b adds tr(C^-1 V) to E[b^T C^-1 b]; that bias is subtracted. The statistical
uncertainty of every width and of the rank of the optimum comes from a bootstrap over jets:
the groups of jets that the moments are kept in are resampled within each mass (the per-jet
covariance, an average over the many masses near m0, is held fixed; with G groups the spread
is that of a G-block bootstrap).

This is the optimal-observable view of :mod:`~obsforge.observables.fisher` applied to the EEEC;
it is the yardstick for the surrogate and NRE widths of :mod:`~obsforge.search.scan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from obsforge.observables.eeec_stream import StreamMoments
from obsforge.search.moments import (
    equal_content_bins,
    merge_bins,
    ratio_covariance,
    ratio_means,
)

__all__ = [
    "FisherRanking",
    "fisher_information",
    "fisher_ranking",
    "local_fit_weights",
    "mass_shift",
    "mean_curves",
]

Z95 = 1.959963984540054


def local_fit_weights(
    masses: np.ndarray, m0: float, bandwidth: float, degree: int = 2
) -> np.ndarray:
    """Weights L (degree + 1, M) of a tricube-weighted local polynomial fit at m0: the fitted
    value at m0 is L[0] @ y and the fitted slope L[1] @ y for data y (M, ...).

    >>> m = np.linspace(170, 180, 11)
    >>> L = local_fit_weights(m, 172.5, 4.0)
    >>> [round(float(v), 12) for v in (L[0] @ (3 + 2 * m), L[1] @ (3 + 2 * m))]
    [348.0, 2.0]
    """
    u = (np.asarray(masses, dtype=np.float64) - m0) / bandwidth
    kernel = np.where(np.abs(u) < 1, (1 - np.abs(u) ** 3) ** 3, 0.0)
    if np.count_nonzero(kernel) <= degree:
        raise ValueError(
            f"bandwidth = {bandwidth} GeV around {m0} GeV holds {np.count_nonzero(kernel)} "
            f"masses; a degree-{degree} fit needs at least {degree + 1}"
        )
    design = np.vander(np.asarray(masses) - m0, degree + 1, increasing=True)
    normal = design.T @ (kernel[:, None] * design)
    return np.linalg.solve(normal, design.T * kernel)


def fisher_information(
    slope: np.ndarray, covariance: np.ndarray, slope_covariance: np.ndarray | None = None
) -> np.ndarray:
    """b^T C^-1 b - tr(C^-1 V) for slopes b (..., n), per-jet covariances C (..., n, n) and the
    covariance V (..., n, n) of the slope estimate (None: no bias correction). Bins with zero
    variance (empty) are left out.

    >>> float(fisher_information(np.array([2.0, 0.0]), np.diag([4.0, 1.0]))[()])
    1.0
    """
    variance = np.diagonal(covariance, axis1=-2, axis2=-1)
    empty = ~(variance > 0)
    c = np.where(empty[..., :, None] | empty[..., None, :], 0.0, covariance)
    c = c + np.apply_along_axis(np.diag, -1, empty.astype(np.float64))
    b = np.where(empty, 0.0, slope)
    info = np.einsum("...k,...k->...", b, np.linalg.solve(c, b[..., None])[..., 0])
    if slope_covariance is not None:
        v = np.where(empty[..., :, None] | empty[..., None, :], 0.0, slope_covariance)
        info = info - np.trace(np.linalg.solve(c, v), axis1=-2, axis2=-1)
    return info


@dataclass
class FisherRanking:
    """Fisher information of every shape at m0, with its bootstrap.

    shapes (S, 2); info (S,) per-jet Fisher information in GeV^-2 (bias-corrected); bootstrap
    (B, S) the same for resampled jets; merge (S, n, K) the bins; slope (S, n) and covariance
    (S, n, n) of the binned observable at m0; mean (S, n) its fitted value at m0, whose
    covariance is ``mean_factor`` C (mean_factor = sum_m L0_m^2 / N_m of the local fit).
    """

    shapes: np.ndarray
    m0: float
    info: np.ndarray
    bootstrap: np.ndarray
    merge: np.ndarray
    slope: np.ndarray
    covariance: np.ndarray
    mean: np.ndarray
    mean_factor: float = 0.0

    def half_width(self, n_jets: float, info: np.ndarray | None = None) -> np.ndarray:
        """Expected 95 % half-width in GeV for n_jets jets (inf where I <= 0)."""
        info = self.info if info is None else info
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(info > 0, Z95 / np.sqrt(n_jets * np.clip(info, 1e-300, None)), np.inf)

    def jets_for(self, half_width: float, index: int) -> float:
        """Jets needed for a 95 % half-width of ``half_width`` GeV with shape ``index`` (inf
        for a shape without information)."""
        info = self.info[index]
        return (Z95 / half_width) ** 2 / info if info > 0 else float("inf")

    def best(self) -> int:
        return int(np.argmax(self.info))

    def best_in_bootstrap(self) -> np.ndarray:
        """(B,) index of the best shape of every bootstrap replica."""
        return np.argmax(self.bootstrap, axis=1)

    def half_width_interval(self, n_jets: float) -> tuple[np.ndarray, np.ndarray]:
        """The bootstrap's central 68 % of every shape's half-width, (S,) each."""
        boot = self.half_width(n_jets, self.bootstrap)
        low, high = np.percentile(boot, [16, 84], axis=0, method="nearest")
        return low, high

    def shape_row(self, index: int, n_jets: float, n_target: float) -> dict[str, Any]:
        """One shape's numbers: information, half-width for ``n_jets`` (with its bootstrap 68 %)
        and for ``n_target`` jets, rank (0 = best) and its bootstrap 68 %, how often it is the
        bootstrap optimum, and its width relative to the best (with the bootstrap 68 %)."""
        widths, boot = self.half_width(n_jets), self.half_width(n_jets, self.bootstrap)
        picks = self.best_in_bootstrap()
        ranks = np.argsort(np.argsort(-self.bootstrap, axis=1), axis=1)[:, index]
        low, high = np.percentile(boot[:, index], [16, 84], method="nearest")
        ratio = boot[:, index] / boot[np.arange(len(picks)), picks]
        return {
            "shape": self.shapes[index].tolist(),
            "info_per_jet": float(self.info[index]),
            "half_width": float(widths[index]),
            "half_width_68": [float(low), float(high)],
            "half_width_at_target_jets": float(self.half_width(n_target)[index]),
            "rank": int(np.sum(self.info > self.info[index])),
            "rank_68": np.percentile(ranks, [16, 84]).tolist(),
            "best_fraction": float(np.mean(picks == index)),
            "ratio_to_best": float(widths[index] / widths[self.best()]),
            "ratio_to_best_68": np.percentile(ratio, [16, 84], method="nearest").tolist(),
        }

    def bootstrap_optimum(self, top: int = 5) -> dict[str, Any]:
        """Where the optimum lands in the bootstrap: the ``top`` most frequent best shapes with
        their frequencies, and the central 95 % of its n1 and n2."""
        picks = self.best_in_bootstrap()
        frequency = np.bincount(picks, minlength=len(self.shapes)) / len(picks)
        order = np.argsort(frequency)[::-1][:top]
        return {
            "shapes": [self.shapes[i].tolist() for i in order],
            "fraction": [float(frequency[i]) for i in order],
            "n1_95": np.percentile(self.shapes[picks, 0], [2.5, 97.5]).tolist(),
            "n2_95": np.percentile(self.shapes[picks, 1], [2.5, 97.5]).tolist(),
        }

    def index(self, n1: float, n2: float) -> int:
        hit = np.flatnonzero(np.all(np.isclose(self.shapes, [n1, n2], atol=1e-9), axis=1))
        if not len(hit):
            raise KeyError(f"shape ({n1:g}, {n2:g}) is not in the ranking")
        return int(hit[0])


def fisher_ranking(
    masses: np.ndarray,
    moments: list[StreamMoments],
    shapes: np.ndarray,
    m0: float,
    bandwidth: float = 3.0,
    degree: int = 2,
    n_bins: int = 12,
    coverage: float = 0.98,
    n_bootstrap: int = 200,  # 0: no bootstrap
    seed: int = 0,
) -> FisherRanking:
    """Rank ``shapes`` (S, 2) by their per-jet Fisher information on m_top at m0.

    masses (M,) with the moments of each mass (all with the same shapes, bins and groups).
    The bins of each shape: ``n_bins`` of about equal content of the pooled sample over its
    central ``coverage``. The per-jet covariance at m0 is the kernel-weighted average of the
    per-mass covariances.
    """
    masses = np.asarray(masses, dtype=np.float64)
    weights = local_fit_weights(masses, m0, bandwidth, degree)
    pooled_h = sum(m.sum_h.sum(axis=0) for m in moments)
    merge = equal_content_bins(pooled_h, n_bins, coverage)
    n_jets = np.array([m.n_jets.sum() for m in moments], dtype=np.float64)
    x, _ = merge_bins(merge, np.stack([ratio_means(m) for m in moments]))  # (M, S, n)
    u = np.abs(masses - m0) / bandwidth
    kernel = np.where(u < 1, (1 - u**3) ** 3, 0.0) * n_jets
    near = np.flatnonzero(kernel > 0)
    fine_cov = sum(kernel[i] * ratio_covariance(moments[i]) for i in near) / kernel[near].sum()
    _, covariance = merge_bins(merge, np.zeros(merge.shape[::2]), fine_cov)
    slope = np.einsum("m,msn->sn", weights[1], x)
    slope_cov = covariance * np.sum(weights[1] ** 2 / n_jets)
    info = fisher_information(slope, covariance, slope_cov)

    rng = np.random.default_rng(seed)
    n_groups = moments[0].sum_w.shape[0]
    boot = np.empty((n_bootstrap, len(shapes)))
    for b in range(n_bootstrap):
        draws = rng.integers(0, n_groups, size=(len(masses), n_groups))
        counts = np.stack([np.bincount(d, minlength=n_groups) for d in draws]).astype(float)
        xb = np.stack([ratio_means(m, c) for m, c in zip(moments, counts, strict=True)])
        slope_b = np.einsum("m,msn->sn", weights[1], merge_bins(merge, xb)[0])
        boot[b] = fisher_information(slope_b, covariance, slope_cov)
    return FisherRanking(
        shapes=np.asarray(shapes, dtype=np.float64),
        m0=float(m0),
        info=info,
        bootstrap=boot,
        merge=merge,
        slope=slope,
        covariance=covariance,
        mean=np.einsum("m,msn->sn", weights[0], x),
        mean_factor=float(np.sum(weights[0] ** 2 / n_jets)),
    )


def mass_shift(
    ranking: FisherRanking, moments: StreamMoments, indices: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Fitted m_top - m0 (GeV) of another sample of jets at m0 (e.g. another tune) with the
    ranking's mean curve, for the shapes ``indices``, and its statistical error: the linearised
    Gaussian-likelihood fit (the optimal observable) dm = b^T C^-1 (x - mu) / (b^T C^-1 b),
    whose variance (1/N + mean_factor) / (b^T C^-1 b) includes the error of the fitted mean."""
    x, _ = merge_bins(ranking.merge, ratio_means(moments))
    n = moments.n_jets.sum()
    shifts, errors = [], []
    for s in indices:
        keep = np.diagonal(ranking.covariance[s]) > 0
        c = ranking.covariance[s][np.ix_(keep, keep)]
        b = ranking.slope[s][keep]
        cinv_b = np.linalg.solve(c, b)
        info = b @ cinv_b
        shifts.append(cinv_b @ (x[s][keep] - ranking.mean[s][keep]) / info)
        errors.append(np.sqrt((1.0 / n + ranking.mean_factor) / info))
    return np.array(shifts), np.array(errors)


def mean_curves(
    masses: np.ndarray,
    moments: list[StreamMoments],
    merge: np.ndarray,
    grid: np.ndarray,
    bandwidth: float = 6.0,
    degree: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The PYTHIA mean and per-jet covariance of the binned observable (merge P (S, n, K)) as
    smooth functions of m_top, evaluated on ``grid`` (G,): at every grid mass the local
    polynomial fit of the per-mass means (tricube kernel of half-width ``bandwidth``, the fit of
    :func:`fisher_ranking`; one-sided at the ends of the mass range) and the kernel- and
    jet-weighted average of the per-mass covariances. Returns means (G, S, n) and
    covariances (G, S, n, n) -- a simulator of the binned observable without a surrogate.
    """
    masses = np.asarray(masses, dtype=np.float64)
    x, _ = merge_bins(merge, np.stack([ratio_means(m) for m in moments]))  # (M, S, n)
    fine = np.stack([ratio_covariance(m) for m in moments])  # (M, S, K, K)
    n_jets = np.array([m.n_jets.sum() for m in moments], dtype=np.float64)
    means, covariances = [], []
    for m0 in np.asarray(grid, dtype=np.float64):
        means.append(np.einsum("m,msn->sn", local_fit_weights(masses, m0, bandwidth, degree)[0], x))
        u = np.abs(masses - m0) / bandwidth
        kernel = np.where(u < 1, (1 - u**3) ** 3, 0.0) * n_jets
        average = np.einsum("m,mskl->skl", kernel / kernel.sum(), fine)
        covariances.append(merge_bins(merge, np.zeros(merge.shape[::2]), average)[1])
    return np.stack(means), np.stack(covariances)
