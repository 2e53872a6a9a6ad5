"""The longest side zeta3 of the EEEC triangle: per-jet histograms and the peak estimator.

Jets are the independent units of a sample, so the statistical error of any sum over jets
comes from per-jet sums. For the energy-weighted histogram of zeta3 (bins k, jets j)

    H_k = sum_j h_jk,   var H_k = sum_j h_jk^2,

and the energy-weighted mean of ln zeta3 in the peak window W (where it tracks m_top^2 / E^2)
is the ratio estimator mu = S / W with S = sum_j s_j, W = sum_j w_j (s_j = sum w ln zeta3,
w_j = sum w over the jet's triplets in the window), whose variance is

    var mu = sum_j (s_j - mu w_j)^2 / W^2.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PEAK_WINDOW",
    "ZETA3_EDGES",
    "chunk_statistics",
    "combine_chunks",
    "peak_mean",
    "peak_sums",
    "per_jet_histogram",
]

# Energy-weighted histogram of the longest side, log-spaced in zeta3.
ZETA3_EDGES = np.geomspace(2e-3, 1.0, 65)
# Window around the three-prong peak of the longest side, where <ln zeta3> tracks m_top^2 / E^2.
PEAK_WINDOW = (0.02, 0.12)


def per_jet_histogram(
    zeta3: np.ndarray, weight: np.ndarray, jet: np.ndarray, n_jets: int, edges: np.ndarray
) -> np.ndarray:
    """Energy-weighted histogram of zeta3 per jet: triplets (T,) with jet index in [0, n_jets)
    -> (n_jets, len(edges) - 1); triplets outside the edges are dropped.

    >>> per_jet_histogram(np.array([0.1, 0.5, 0.5]), np.ones(3), np.array([0, 0, 1]), 2,
    ...                   np.array([0.0, 0.2, 1.0]))
    array([[1., 1.],
           [0., 1.]])
    """
    n_bins = len(edges) - 1
    bins = np.digitize(zeta3, edges) - 1
    inside = (bins >= 0) & (bins < n_bins)
    return np.bincount(
        jet[inside] * n_bins + bins[inside], weights=weight[inside], minlength=n_jets * n_bins
    ).reshape(n_jets, n_bins)


def peak_sums(
    zeta3: np.ndarray,
    weight: np.ndarray,
    jet: np.ndarray,
    n_jets: int,
    window: tuple[float, float] = PEAK_WINDOW,
) -> np.ndarray:
    """The five sums (W, S, sum w_j^2, sum s_j^2, sum w_j s_j) over jets from which
    :func:`peak_mean` follows; sums of several chunks add."""
    in_peak = (zeta3 >= window[0]) & (zeta3 < window[1])
    w_jet = np.bincount(jet[in_peak], weight[in_peak], minlength=n_jets)
    s_jet = np.bincount(jet[in_peak], weight[in_peak] * np.log(zeta3[in_peak]), minlength=n_jets)
    return np.array(
        [w_jet.sum(), s_jet.sum(), (w_jet**2).sum(), (s_jet**2).sum(), (w_jet * s_jet).sum()]
    )


def peak_mean(sums: np.ndarray) -> tuple[float, float]:
    """The energy-weighted mean of ln zeta3 in the peak window and its statistical error.

    >>> peak_mean(np.array([2.0, -4.0, 2.0, 8.0, -4.0]))  # two jets with ln zeta3 = -2 each
    (-2.0, 0.0)
    """
    sw, ss, sww, sss, sws = np.asarray(sums, dtype=np.float64)
    mean = ss / sw
    error = np.sqrt(max(sss - 2 * mean * sws + mean**2 * sww, 0.0)) / sw
    return float(mean), float(error)


def chunk_statistics(
    zeta3: np.ndarray, weight: np.ndarray, jet: np.ndarray, jet_mass: np.ndarray
) -> dict:
    """The longest-side statistics of a chunk of jets (triplets (T,) with their jet index into
    ``jet_mass`` (J,)), in the form :func:`combine_chunks` adds up: per-jet sums, since jets are
    the independent units of the statistical errors."""
    n_jets = len(jet_mass)
    per_jet = per_jet_histogram(zeta3, weight, jet, n_jets, ZETA3_EDGES)
    return {
        "n_jets": n_jets,
        "peak_sums": peak_sums(zeta3, weight, jet, n_jets, PEAK_WINDOW).tolist(),
        "n_triplets": len(jet),
        "weight_sum": float(weight.sum()),
        "mean_jet_mass": float(np.mean(jet_mass)) if n_jets else float("nan"),
        "zeta3_hist": per_jet.sum(axis=0).tolist(),
        "zeta3_hist_sumw2": (per_jet**2).sum(axis=0).tolist(),
    }


def combine_chunks(rows: list[dict]) -> dict:
    """The longest-side statistics of one mass from those of its chunks (rows with n_jets,
    peak_sums, n_triplets, weight_sum, mean_jet_mass, zeta3_hist, zeta3_hist_sumw2): sums add,
    the peak estimator and its error follow from the summed sums."""
    n_jets = sum(r["n_jets"] for r in rows)
    mean, error = peak_mean(np.sum([r["peak_sums"] for r in rows], axis=0))
    return {
        "n_jets": n_jets,
        "peak_mean_log_zeta3": mean,
        "peak_mean_log_zeta3_error": error,
        "n_triplets": sum(r["n_triplets"] for r in rows),
        "mean_weight_sum_per_jet": sum(r["weight_sum"] for r in rows) / max(n_jets, 1),
        "mean_jet_mass": sum(r["mean_jet_mass"] * r["n_jets"] for r in rows) / max(n_jets, 1),
        "zeta3_hist": np.sum([r["zeta3_hist"] for r in rows], axis=0).tolist(),
        "zeta3_hist_sumw2": np.sum([r["zeta3_hist_sumw2"] for r in rows], axis=0).tolist(),
    }
