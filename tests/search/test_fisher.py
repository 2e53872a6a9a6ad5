"""Fisher ranking from moments: a Gaussian toy with a known slope, the ratio covariance of
moments against per-jet arrays, and the mass shift of a displaced sample."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.observables.eeec_stream import StreamMoments
from obsforge.search.fisher import fisher_ranking, local_fit_weights, mass_shift, mean_curves
from obsforge.search.moments import (
    equal_content_bins,
    group_histograms,
    merge_bins,
    ratio_covariance,
    ratio_means,
)
from obsforge.search.simulator import jet_covariance

K, GROUPS, M0 = 6, 10, 172.5
SLOPE = np.array([0.02, -0.01, 0.015, 0.0, -0.02, 0.01])  # d mu / d m per GeV
SIGMA = np.diag([0.5, 0.6, 0.4, 0.5, 0.7, 0.5]) + 0.1  # per-jet covariance of h


def moments_of(h: np.ndarray, w: np.ndarray, groups: np.ndarray) -> StreamMoments:
    """Moments of per-jet histograms h (J, S, K) and weights w (J,) -- what the kernel adds up."""
    m = StreamMoments.zeros(GROUPS, h.shape[1], h.shape[2])
    for g in range(GROUPS):
        sel = groups == g
        m.sum_h[g] = h[sel].sum(0)
        m.sum_hw[g] = np.einsum("jsk,j->sk", h[sel], w[sel])
        m.sum_w[g], m.sum_w2[g], m.n_jets[g] = w[sel].sum(), (w[sel] ** 2).sum(), sel.sum()
    m.sum_hh[:] = np.einsum("jsk,jsl->skl", h, h)
    return m


def toy(m_top: float, n_jets: int, rng) -> StreamMoments:
    """Jets with W = 1 and h ~ N(1 + SLOPE (m - M0), SIGMA): x = mean h, C = SIGMA."""
    h = rng.multivariate_normal(1.0 + SLOPE * (m_top - M0), SIGMA, size=n_jets)[:, None, :]
    return moments_of(h, np.ones(n_jets), rng.integers(0, GROUPS, n_jets))


def test_ratio_covariance_of_moments_equals_the_per_jet_estimate():
    rng = np.random.default_rng(1)
    h = rng.exponential(size=(500, 3, 4)) * rng.random((500, 1, 1))
    w = h.sum((1, 2)) + rng.exponential(size=500)
    m = moments_of(h, w, rng.integers(0, GROUPS, 500))
    np.testing.assert_allclose(ratio_covariance(m), jet_covariance(h, w), rtol=1e-10)
    np.testing.assert_allclose(ratio_means(m), h.sum(0) / w.sum(), rtol=1e-12)
    # A bootstrap weight of one for every group is the sample itself.
    np.testing.assert_allclose(ratio_means(m, np.ones(GROUPS)), ratio_means(m), rtol=1e-12)


def test_group_histograms_are_those_of_the_jets_of_the_groups():
    rng = np.random.default_rng(2)
    h = rng.exponential(size=(800, 2, 5)) * rng.random((800, 1, 1))
    w = h.sum((1, 2)) + rng.exponential(size=800)
    groups = rng.integers(0, GROUPS, 800)
    sel = groups < 3
    merge, x, cov = group_histograms(moments_of(h, w, groups), np.arange(3), 2, coverage=1.0)
    fine = h[sel].sum(0) / w[sel].sum()
    np.testing.assert_allclose(merge, equal_content_bins(fine, 2, coverage=1.0))
    expected, covariance = merge_bins(merge, fine, jet_covariance(h, w))
    np.testing.assert_allclose(x, expected, rtol=1e-12)
    np.testing.assert_allclose(cov, covariance / sel.sum(), rtol=1e-10)


def test_local_fit_reproduces_a_quadratic_exactly():
    masses = np.linspace(170, 180, 101)
    weights = local_fit_weights(masses, 172.5, 3.0, degree=2)
    y = 2.0 - 0.3 * (masses - 172.5) + 0.05 * (masses - 172.5) ** 2
    np.testing.assert_allclose(weights @ y, [2.0, -0.3, 0.05], atol=1e-10)
    with pytest.raises(ValueError, match="bandwidth"):
        local_fit_weights(masses, 172.5, 0.05)


def test_fisher_width_of_a_gaussian_toy_equals_the_analytic_one():
    rng = np.random.default_rng(2)
    masses = np.linspace(170, 180, 21)
    moments = [toy(m, 4000, rng) for m in masses]
    # Equal means at M0, so equal-content bins with coverage 1 are the fine bins themselves.
    np.testing.assert_array_equal(equal_content_bins(np.ones((1, K)), K, 1.0)[0], np.eye(K))
    ranking = fisher_ranking(
        masses, moments, np.array([[1.0, 1.0]]), M0, bandwidth=6.0, n_bins=K, coverage=1.0,
        n_bootstrap=100,
    )  # fmt: skip
    exact = SLOPE @ np.linalg.solve(SIGMA, SLOPE)
    spread = ranking.bootstrap[:, 0].std()
    assert spread > 0
    assert abs(ranking.info[0] - exact) < 4 * spread
    z95 = 1.959963984540054
    assert ranking.half_width(5000)[0] == pytest.approx(z95 / np.sqrt(5000 * ranking.info[0]))
    assert ranking.jets_for(0.31, 0) == pytest.approx((z95 / 0.31) ** 2 / ranking.info[0])
    # A sample generated 0.8 GeV above M0 is fitted there, within its statistical error.
    shift, error = mass_shift(ranking, toy(M0 + 0.8, 40_000, rng), [0])
    assert abs(shift[0] - 0.8) < 4 * error[0]
    # Its error: the sample's 1/N and the fitted mean curve's own, sum_m L0_m^2 / N_m.
    mean_factor = np.sum(local_fit_weights(masses, M0, 6.0, 2)[0] ** 2 / 4000)
    assert error[0] == pytest.approx(np.sqrt((1 / 40_000 + mean_factor) / exact), rel=0.2)


def test_a_shape_without_mass_dependence_has_no_information():
    rng = np.random.default_rng(3)
    masses = np.linspace(170, 180, 11)
    flat = []
    for _ in masses:
        h = rng.multivariate_normal(np.ones(K), SIGMA, size=2000)[:, None, :]
        flat.append(moments_of(h, np.ones(2000), rng.integers(0, GROUPS, 2000)))
    ranking = fisher_ranking(
        masses, flat, np.array([[1.0, 1.0]]), M0, bandwidth=6.0, n_bins=K, coverage=1.0,
        n_bootstrap=50,
    )  # fmt: skip
    # Bias-corrected: zero within its bootstrap spread (without correction it would be > 0).
    assert abs(ranking.info[0]) < 4 * ranking.bootstrap[:, 0].std()


def test_mean_curves_follow_a_linear_mass_dependence_and_average_the_covariance():
    """Toy jets whose mean is linear in m: the smoothed curve at any grid mass is the line
    within its statistical error, and the covariance is the common per-jet one."""
    rng = np.random.default_rng(5)
    masses = np.linspace(170, 180, 21)
    moments = [toy(m, 4000, rng) for m in masses]
    merge = np.eye(K)[None]  # one shape, the fine bins themselves
    grid = np.array([170.0, 172.5, 176.3, 180.0])
    means, covariances = mean_curves(masses, moments, merge, grid, bandwidth=6.0, degree=1)
    assert means.shape == (4, 1, K) and covariances.shape == (4, 1, K, K)
    truth = 1.0 + SLOPE * (grid[:, None] - M0)
    # the fitted value averages >= 5 masses of 4000 jets: its error is < sqrt(0.8 / 20000)
    error = np.sqrt(np.diag(SIGMA) / 20_000)
    assert np.all(np.abs(means[:, 0] - truth) < 4 * error)
    # ratio covariance of W = 1 jets: C = Cov(h); averaged over ~10^5 jets, ~1% per element
    np.testing.assert_allclose(covariances[:, 0], np.broadcast_to(SIGMA, (4, K, K)), atol=0.03)
