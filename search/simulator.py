"""Pseudo-experiments for the shape observables: surrogate mean + PYTHIA jet-to-jet fluctuations.

A pseudo-experiment of N jets measures x = sum_j h_j / sum_j w_j (see
:mod:`obsforge.search.observable`; h_j: the jet's weight per shape bin, w_j: its total EEEC
weight). Jets are independent, so by the central limit theorem

    x ~ Normal(mu_s(m), C_s(m) / N),

with mu_s(m) the expectation, taken from the EEEC surrogate on a fine mass grid (linear
interpolation in between), and C_s the per-jet covariance of the ratio (delta method:
the covariance of r_j = (h_j - x w_j) / <w>), estimated from PYTHIA jets at the generated
masses and interpolated linearly in m. The likelihood is then known in closed form, which
gives an exact reference posterior for the neural ratio estimator.

The surrogate's own statistical uncertainty -- the covariance V_s(m) of its expectation (the
spread of an ensemble's members and the Monte Carlo error of the expectation) -- enters as a
covariance of the mean, x ~ Normal(mu_s(m), C_s(m) / N + V_s(m)): every pseudo-experiment draws
its own mean, so a posterior (exact or NRE) is marginalised over the surrogate's uncertainty.
V does not shrink with N: it bounds the precision a surrogate can support.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ShapeSimulator",
    "jet_covariance",
]


def jet_covariance(h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-jet covariance of the ratio observable: h (J, S, K) per-jet bin weights and
    w (J,) per-jet total weights -> (S, K, K), such that Cov(x) = C / N for N jets."""
    if len(w) < 2:
        raise ValueError(f"{len(w)} jets: need at least two to estimate a covariance")
    mean_w = w.mean()
    x = h.sum(axis=0) / w.sum()
    r = (h - x[None] * w[:, None, None]) / mean_w
    return np.einsum("jsk,jsl->skl", r, r) / (len(w) - 1)


def _interpolate(grid: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower grid index i and weight t of linear interpolation at theta (clamped to the grid):
    f(theta) = (1 - t) f[i] + t f[i + 1]."""
    theta = np.clip(theta, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, theta, side="right") - 1, 0, len(grid) - 2)
    t = (theta - grid[i]) / (grid[i + 1] - grid[i])
    return i, t


class ShapeSimulator:
    """Gaussian pseudo-experiments of ``n_jets`` jets for a set of shapes.

    mean_masses (M,) increasing; means (M, S, K): surrogate expectation of x;
    cov_masses (D,) increasing; jet_cov (D, S, K, K): per-jet covariance (Cov(x) = C / N);
    model_cov (M, S, K, K) or None: the covariance of the expectation itself (surrogate
    uncertainty), on the masses of ``means``.
    """

    def __init__(
        self,
        mean_masses: np.ndarray,
        means: np.ndarray,
        cov_masses: np.ndarray,
        jet_cov: np.ndarray,
        n_jets: int,
        model_cov: np.ndarray | None = None,
    ) -> None:
        self.mean_masses = np.asarray(mean_masses, dtype=np.float64)
        self.means = np.asarray(means, dtype=np.float64)
        self.cov_masses = np.asarray(cov_masses, dtype=np.float64)
        self.jet_cov = np.asarray(jet_cov, dtype=np.float64)
        if n_jets < 1:
            raise ValueError(f"n_jets = {n_jets}: a pseudo-experiment needs at least one jet")
        self.n_jets = int(n_jets)
        if len(self.mean_masses) < 2 or np.any(np.diff(self.mean_masses) <= 0):
            raise ValueError("mean_masses: need at least two strictly increasing masses")
        if self.means.shape[0] != len(self.mean_masses):
            raise ValueError(f"means: shape {self.means.shape}, first axis must be masses")
        if self.jet_cov.shape[1:3] != self.means.shape[1:] or self.jet_cov.shape[0] != len(
            self.cov_masses
        ):
            raise ValueError(
                f"jet_cov: shape {self.jet_cov.shape} does not match means {self.means.shape} "
                f"and {len(self.cov_masses)} covariance masses"
            )
        self.model_cov = None if model_cov is None else np.asarray(model_cov, dtype=np.float64)
        if self.model_cov is not None and self.model_cov.shape != self.means.shape + (self.n_bins,):
            raise ValueError(
                f"model_cov: shape {self.model_cov.shape}, expected {self.means.shape} + "
                f"({self.n_bins},)"
            )

    @property
    def n_shapes(self) -> int:
        return self.means.shape[1]

    @property
    def n_bins(self) -> int:
        return self.means.shape[2]

    def mean(self, theta: np.ndarray, shape: np.ndarray) -> np.ndarray:
        """Expected x at masses theta (B,) for shape indices (B,) -> (B, K)."""
        i, t = _interpolate(self.mean_masses, theta)
        return (1 - t)[:, None] * self.means[i, shape] + t[:, None] * self.means[i + 1, shape]

    def covariance(self, theta: np.ndarray, shape: np.ndarray) -> np.ndarray:
        """Covariance of x for N jets at masses theta (B,), shape indices (B,) -> (B, K, K):
        C / N plus the model covariance V."""
        if len(self.cov_masses) == 1:
            c = self.jet_cov[0, shape] / self.n_jets
        else:
            i, t = _interpolate(self.cov_masses, theta)
            c = (1 - t)[:, None, None] * self.jet_cov[i, shape] + t[:, None, None] * self.jet_cov[
                i + 1, shape
            ]
            c = c / self.n_jets
        if self.model_cov is not None:
            i, t = _interpolate(self.mean_masses, theta)
            c = (
                c
                + (1 - t)[:, None, None] * self.model_cov[i, shape]
                + t[:, None, None] * self.model_cov[i + 1, shape]
            )
        return c

    def simulate(
        self, theta: np.ndarray, shape: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """One pseudo-experiment per (theta, shape) pair: (B,), (B,) -> x (B, K)."""
        theta, shape = np.asarray(theta, dtype=np.float64), np.asarray(shape)
        chol = np.linalg.cholesky(self.covariance(theta, shape))
        z = rng.standard_normal((len(theta), self.n_bins))
        return self.mean(theta, shape) + np.einsum("bkl,bl->bk", chol, z)

    def log_likelihood(self, x: np.ndarray, shape: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Exact Gaussian log-likelihood log N(x | mu_s(m), C_s(m)/N) of observations x (B, K)
        with shape indices (B,) at masses grid (G,) -> (B, G), up to the constant
        -K/2 log(2 pi). The covariance factors are computed once per (shape, mass)."""
        x, shape = np.asarray(x, dtype=np.float64), np.asarray(shape)
        unique, inverse = np.unique(shape, return_inverse=True)
        out = np.empty((len(x), len(grid)))
        for g, m in enumerate(grid):  # a loop over grid points; events are vectorised
            chol = np.linalg.cholesky(self.covariance(np.full(len(unique), m), unique))
            whiten = np.linalg.inv(chol)  # (U, K, K): z = L^-1 (x - mu)
            log_det = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            r = x - self.mean(np.full(len(x), m), shape)
            z = np.einsum("bkl,bl->bk", whiten[inverse], r)
            out[:, g] = -0.5 * (z**2).sum(axis=1) - 0.5 * log_det[inverse]
        return out
