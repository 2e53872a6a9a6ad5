"""Optimal observables and Fisher information, unbinned and binned, streamed over chunks.

Near the SM the differential cross section is dsigma(x | theta) ∝ |A(x; theta)|^2; the optimal
observables of event x are the scores at theta = 0,

    alpha_i(x) = d|A|^2 / dtheta_i / |A|^2,

and for an extended (rate + shape) likelihood with N = L sigma expected events the Fisher
information is F_ij = L int dsigma alpha_i alpha_j = N <alpha_i alpha_j>, the inverse of the
smallest covariance any unbiased estimator can reach (Cramer-Rao). Binning replaces alpha by its
bin average; with p_k the bin fractions,

    F_binned = N sum_k p_k alpha_bar_k alpha_bar_k^T,
    F - F_binned = N <(alpha - alpha_bar_k)(alpha - alpha_bar_k)^T>,

so the information lost is the within-bin spread of alpha (arXiv:2401.02474).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FisherAccumulator",
    "bounds",
    "fisher_binned",
    "fisher_unbinned",
    "optimal_observables",
    "retained_fraction",
]


def optimal_observables(c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """alpha (B, n) from |A|^2 = c0 + c1 . theta + ... at theta = 0: alpha = c1 / c0."""
    c0 = np.asarray(c0, dtype=np.float64)
    if np.any(c0 <= 0) or not np.all(np.isfinite(c0)):
        raise ValueError("c0: |A|^2 at the SM point must be positive and finite for every event")
    return np.asarray(c1, dtype=np.float64) / c0[:, None]


def _check(alpha: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    alpha, weight = np.asarray(alpha, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    if alpha.ndim != 2 or weight.shape != (len(alpha),):
        raise ValueError(f"alpha {alpha.shape}, weight {weight.shape}: need (B, n) and (B,)")
    if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(weight))):
        raise ValueError("alpha, weight: non-finite values")
    if np.any(weight < 0):
        raise ValueError("weight: event weights must be >= 0")
    return alpha, weight


def fisher_unbinned(alpha: np.ndarray, weight: np.ndarray, luminosity: float) -> np.ndarray:
    """F = L sum_e w_e alpha_e alpha_e^T for weighted events (sum w = sigma): (n, n)."""
    alpha, weight = _check(alpha, weight)
    return luminosity * np.einsum("b,bi,bj->ij", weight, alpha, alpha)


def fisher_binned(
    alpha: np.ndarray, weight: np.ndarray, labels: np.ndarray, n_bins: int, luminosity: float
) -> np.ndarray:
    """F = L sum_k (sum_k w alpha)(sum_k w alpha)^T / sum_k w for bin labels in [0, n_bins)."""
    alpha, weight = _check(alpha, weight)
    sums = np.zeros((n_bins, alpha.shape[1]))
    np.add.at(sums, labels, weight[:, None] * alpha)
    totals = np.bincount(labels, weight, minlength=n_bins)
    filled = totals > 0
    return luminosity * np.einsum("ki,kj->ij", sums[filled] / totals[filled, None], sums[filled])


@dataclass
class FisherAccumulator:
    """Streaming sums for the unbinned Fisher information: add chunks, merge partial results
    from Dask workers; memory independent of the number of events."""

    n: int
    sum_weight: float = 0.0
    sum_weight_sq: float = 0.0
    events: int = 0
    sum_waa: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.sum_waa is None:
            self.sum_waa = np.zeros((self.n, self.n))

    def add(self, alpha: np.ndarray, weight: np.ndarray) -> FisherAccumulator:
        alpha, weight = _check(alpha, weight)
        self.sum_waa += np.einsum("b,bi,bj->ij", weight, alpha, alpha)
        self.sum_weight += float(weight.sum())
        self.sum_weight_sq += float((weight**2).sum())
        self.events += len(weight)
        return self

    def merge(self, other: FisherAccumulator) -> FisherAccumulator:
        return FisherAccumulator(
            self.n,
            self.sum_weight + other.sum_weight,
            self.sum_weight_sq + other.sum_weight_sq,
            self.events + other.events,
            self.sum_waa + other.sum_waa,
        )

    def fisher(self, luminosity: float) -> np.ndarray:
        return luminosity * self.sum_waa


def bounds(fisher: np.ndarray, names: tuple[str, ...] | None = None) -> dict:
    """Expected 1-sigma bounds sqrt((F^-1)_ii) and the correlation matrix of the estimates."""
    fisher = np.asarray(fisher, dtype=np.float64)
    eigenvalues = np.linalg.eigvalsh(fisher)
    if eigenvalues.min() <= eigenvalues.max() * 1e-12:
        raise ValueError(
            f"Fisher matrix is singular (eigenvalues {eigenvalues.tolist()}): the observables "
            "do not constrain every direction; drop a coupling or add information"
        )
    covariance = np.linalg.inv(fisher)
    sigma = np.sqrt(np.diag(covariance))
    names = names or tuple(f"theta{i}" for i in range(len(sigma)))
    return {
        "sigma": dict(zip(names, sigma.tolist(), strict=True)),
        "correlation": (covariance / np.outer(sigma, sigma)).tolist(),
        "volume": float(np.linalg.det(fisher) ** -0.5),
    }


def retained_fraction(binned: np.ndarray, unbinned: np.ndarray) -> float:
    """(det F_binned / det F)^(1/n): the geometric-mean fraction of information kept."""
    n = len(unbinned)
    sign_b, log_b = np.linalg.slogdet(binned)
    sign_u, log_u = np.linalg.slogdet(unbinned)
    if sign_u <= 0:
        raise ValueError("unbinned Fisher matrix is not positive definite")
    if sign_b <= 0:
        return 0.0
    return float(np.exp((log_b - log_u) / n))
