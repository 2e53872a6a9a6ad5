"""The search: observables of shapes, the Gaussian pseudo-experiment model, NRE posteriors
against analytic ones, expected coverage, config checks and the scan stage end to end."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.posterior import batch_hpd_credibility, batch_hpd_width, hpd_region
from obsforge.search.simulator import ShapeSimulator, jet_covariance


def _triplets(n, seed=0):
    rng = np.random.default_rng(seed)
    zeta = np.sort(rng.uniform(0.001, 0.3, (n, 3)), axis=1)
    return zeta, rng.exponential(1.0, n)


def _simulator(n_jets=100):
    masses = np.linspace(170.0, 180.0, 11)
    # Two bins whose expectations move linearly with m in opposite directions.
    means = np.stack([0.01 * (masses - 175.0) + 0.5, -0.005 * (masses - 175.0) + 0.3], 1)
    cov = np.array([[[[0.04, 0.01], [0.01, 0.02]]]])
    return ShapeSimulator(masses, means[:, None, :], np.array([175.0]), cov, n_jets)


def test_shape_grid_holds_the_ordered_shapes():
    shapes = ShapeGrid(steps=21).shapes()
    assert len(shapes) == 21 * 22 // 2  # n1 <= n2 of the 21 x 21 grid
    assert all(s.n1 <= s.n2 for s in shapes)
    assert (shapes[0].n1, shapes[0].n2) == (1.0, 1.0) and (shapes[-1].n1, shapes[-1].n2) == (3, 3)


def test_shape_histograms_match_the_per_shape_masks():
    zeta, weight = _triplets(200_000)
    shapes = [TriangleShape(n1=n1, n2=n2, delta=0.05) for n1, n2 in [(1, 1), (1, 2), (1.5, 2)]]
    edges = shape_edges(zeta, weight, shapes, n_bins=6, coverage=0.9)
    table = shape_histograms(zeta, weight, shapes, edges)
    for s, shape in enumerate(shapes):
        mask = in_shape(zeta, shape)
        expected, _ = weighted_histogram(zeta[mask, 0], weight[mask], edges[s])
        np.testing.assert_allclose(table[s], expected, rtol=1e-12)
        # Equal-weight bins covering 90% of the shape's weight.
        np.testing.assert_allclose(table[s] / weight[mask].sum(), 0.15, atol=0.01)
    jets = np.random.default_rng(1).integers(0, 50, len(weight))
    per_jet = shape_histograms(zeta, weight, shapes, edges, jets, 50)
    np.testing.assert_allclose(per_jet.sum(axis=0), table, rtol=1e-10)


def test_jet_covariance_predicts_the_spread_of_pseudo_experiments():
    """Ratio of sums over N iid jets: the delta-method covariance C / N is the true one."""
    rng = np.random.default_rng(2)
    n_jets, n_experiments = 400, 4000

    def jets(n):
        w = rng.gamma(4.0, 0.25, n)
        # Both bins grow with w**2: their ratios to sum(w) are positively correlated.
        h = np.stack([0.2 * w + 0.05 * w**2 + 0.05 * rng.normal(size=n), 0.1 * w**2], 1)[:, None, :]
        return h, w

    h, w = jets(200_000)
    predicted = jet_covariance(h, w)[0] / n_jets
    xs = []
    for _ in range(n_experiments):
        hh, ww = jets(n_jets)
        xs.append(hh.sum(0)[0] / ww.sum())
    measured = np.cov(np.array(xs).T)
    np.testing.assert_allclose(np.diag(measured), np.diag(predicted), rtol=0.08)
    corr = measured[0, 1] / np.sqrt(measured[0, 0] * measured[1, 1])
    predicted_corr = predicted[0, 1] / np.sqrt(predicted[0, 0] * predicted[1, 1])
    assert predicted_corr > 0.3
    # The correlation estimated from 4000 experiments has a standard error ~ 1/sqrt(4000).
    assert corr == pytest.approx(predicted_corr, abs=0.05)


def test_simulator_likelihood_is_the_gaussian_density():
    sim = _simulator()
    rng = np.random.default_rng(3)
    x = sim.simulate(np.full(20_000, 173.0), np.zeros(20_000, int), rng)
    np.testing.assert_allclose(
        np.cov(x.T), sim.covariance(np.array([173.0]), np.array([0]))[0], rtol=0.05
    )
    np.testing.assert_allclose(x.mean(0), sim.mean(np.array([173.0]), np.array([0]))[0], atol=0.002)
    grid = np.array([171.0, 175.5])
    log_l = sim.log_likelihood(x[:5], np.zeros(5, int), grid)
    for g, m in enumerate(grid):
        reference = multivariate_normal(
            sim.mean(np.array([m]), np.array([0]))[0],
            sim.covariance(np.array([m]), np.array([0]))[0],
        ).logpdf(x[:5])
        # Up to the constant -K/2 log(2 pi), which cancels in posteriors.
        np.testing.assert_allclose(log_l[:, g] - np.log(2 * np.pi), reference, rtol=1e-10)


def test_batch_hpd_widths_and_coverage_on_gaussian_posteriors():
    theta = np.linspace(-10, 10, 1601)
    rng = np.random.default_rng(4)
    centre, sigma = rng.normal(0, 1, 4000), 1.3
    log_p = -0.5 * ((theta[None] - centre[:, None]) / sigma) ** 2
    widths = batch_hpd_width(log_p, theta[1] - theta[0], 0.95)
    np.testing.assert_allclose(widths, 2 * 1.959964 * sigma, rtol=2e-3)
    assert widths[0] == pytest.approx(hpd_region(theta, np.exp(log_p[0])).width, rel=2e-3)
    truth = centre + sigma * rng.normal(size=len(centre))  # calibrated by construction
    credibility = batch_hpd_credibility(log_p, theta, truth)
    assert np.mean(credibility <= 0.68) == pytest.approx(0.68, abs=0.025)
    assert np.mean(credibility <= 0.95) == pytest.approx(0.95, abs=0.012)


def test_surrogate_covariance_adds_to_the_jets_and_does_not_shrink_with_n():
    """x ~ N(mu, C / N + V): with the model covariance V the pseudo-experiments spread by
    C / N + V (interpolated in m like the means), and at large N only V is left."""
    base = _simulator(n_jets=100)
    v = np.array([[0.002, 0.0005], [0.0005, 0.001]])
    model_cov = np.broadcast_to(v * (1 + (base.mean_masses - 170) / 10)[:, None, None],
                                (11, 2, 2))[:, None]  # fmt: skip
    sim = ShapeSimulator(base.mean_masses, base.means, base.cov_masses, base.jet_cov, 100,
                         model_cov)  # fmt: skip
    at = np.array([172.5]), np.array([0])
    expected = base.jet_cov[0, 0] / 100 + v * 1.25
    np.testing.assert_allclose(sim.covariance(*at)[0], expected, rtol=1e-12)
    x = sim.simulate(np.full(40_000, 172.5), np.zeros(40_000, int), np.random.default_rng(7))
    # sample covariance of 40,000 draws: relative error ~ sqrt(2 / 40000) = 0.7% per variance
    np.testing.assert_allclose(np.cov(x.T), expected, rtol=0.04, atol=2e-5)
    huge = ShapeSimulator(base.mean_masses, base.means, base.cov_masses, base.jet_cov, 10**9,
                          model_cov)  # fmt: skip
    np.testing.assert_allclose(huge.covariance(*at)[0], v * 1.25, rtol=1e-6)
    with pytest.raises(ValueError, match="model_cov"):
        ShapeSimulator(base.mean_masses, base.means, base.cov_masses, base.jet_cov, 100, v)


def test_surrogate_curves_carry_the_ensemble_spread_and_the_mc_error():
    """Members that differ by known offsets: V = their covariance + the MC variance of one
    member (the members share the proposal points, so their MC errors do not average out)."""
    from obsforge.search.stream_data import surrogate_curves

    # fine-bin fractions of three members on two masses, one shape, 3 fine bins
    base = np.array([0.2, 0.3, 0.1])
    offsets = np.array([-0.01, 0.0, 0.01])[:, None] * np.array([1.0, 1.0, 0.0])
    fractions = np.stack([base + offsets] * 2)[:, :, None, :]
    variances = np.full(fractions.shape, 1e-6)
    merge = np.array([[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])  # 2 bins: fine bins {0, 1}, {2}
    means, model_cov = surrogate_curves(fractions, variances, merge)
    np.testing.assert_allclose(means[:, 0], [[0.5, 0.1]] * 2)
    # merged offsets: bin 0 moves by 2d with d = -0.01, 0, 0.01 (variance 4e-4), bin 1 not;
    # MC: 2e-6 and 1e-6
    np.testing.assert_allclose(model_cov[0, 0], np.diag([4e-4 + 2e-6, 1e-6]), rtol=1e-12)
    # a relative model error of 10% adds (0.1 mu)^2 = 2.5e-3 and 1e-4 to the diagonal
    _, floored = surrogate_curves(fractions, variances, merge, floor=0.1)
    for difference in (floored - model_cov).reshape(-1, 2, 2):
        np.testing.assert_allclose(difference, np.diag([2.5e-3, 1e-4]), atol=1e-15)


def test_mass_calibration_removes_a_linear_response_bias():
    """Estimates 0.9 GeV high with slope 1.08 and errors 1 GeV at 94 trained masses: the fitted
    line recovers the response within its errors, and 2000 calibrated held-out estimates have
    pulls of mean 0 and width 1 within 3 standard errors (uncalibrated: mean +0.9 or more)."""
    from obsforge.search.mass_calibration import apply_calibration, linear_calibration

    rng = np.random.default_rng(11)

    def response(m):
        return 172.5 + 0.9 + 1.08 * (m - 172.5)

    trained = np.linspace(170.1, 179.9, 94)
    cal = linear_calibration(trained, response(trained) + rng.normal(size=94), np.ones(94), 172.5)
    errors = np.sqrt(np.diag(cal["cov"]))
    assert abs(cal["a"] - 173.4) < 3 * errors[0] and abs(cal["b"] - 1.08) < 3 * errors[1]
    held_out = rng.uniform(171, 179, 2000)
    estimate = response(held_out) + rng.normal(size=2000)
    m, sigma = apply_calibration(estimate, np.ones(2000), cal)
    pulls = (m - held_out) / sigma
    assert abs(pulls.mean()) < 3 / np.sqrt(2000) + 3 * errors[0]
    assert abs(pulls.std() - 1) < 3 / np.sqrt(2 * 2000) + 0.05
    assert np.mean(estimate - held_out) > 0.8
    with pytest.raises(ValueError, match="at least 3"):
        linear_calibration(trained[:2], trained[:2], np.ones(2))
