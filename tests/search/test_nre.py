"""The search: observables of shapes, the Gaussian pseudo-experiment model, NRE posteriors
against analytic ones, expected coverage, config checks and the scan stage end to end."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.search.nre import NREConfig, grid_log_ratio, train_nre
from obsforge.search.posterior import batch_hpd_credibility, batch_hpd_width


@pytest.mark.integration
def test_nre_posterior_matches_the_analytic_gaussian_posterior():
    """x ~ N(theta, diag(s^2)), flat prior: p(theta | x) is Gaussian with 1/s_post^2 = sum 1/s^2.
    The NRE's 95% HPD widths agree within a few percent and its intervals cover."""
    rng = np.random.default_rng(5)
    sig = np.array([0.5, 1.0, 2.0])
    theta = rng.uniform(-5, 5, 12_000)
    x = theta[:, None] + sig * rng.standard_normal((len(theta), 3))
    config = NREConfig(
        method="NRE_C", hidden_features=32, max_epochs=60, patience=8, batch_size=256
    )
    estimator = train_nre(theta, x, -5.0, 5.0, config)
    truth = rng.uniform(-3, 3, 1000)
    x_obs = truth[:, None] + sig * rng.standard_normal((len(truth), 3))
    grid = np.linspace(-5, 5, 401)
    log_post = grid_log_ratio(estimator, x_obs, grid)
    width = np.median(batch_hpd_width(log_post, grid[1] - grid[0], 0.95))
    exact = 2 * 1.959964 / np.sqrt((1 / sig**2).sum())
    assert width == pytest.approx(exact, rel=0.08)
    credibility = batch_hpd_credibility(log_post, grid, truth)
    assert np.mean(credibility <= 0.95) == pytest.approx(0.95, abs=0.04)
    assert np.mean(credibility <= 0.68) == pytest.approx(0.68, abs=0.06)


def test_nre_refuses_bad_simulations():
    with pytest.raises(ValueError, match="NaN"):
        train_nre(np.zeros(200), np.full((200, 2), np.nan), -1, 1, NREConfig(simulations=200))
    with pytest.raises(ValueError, match="prior range"):
        train_nre(np.full(200, 3.0), np.zeros((200, 2)), -1, 1, NREConfig(simulations=200))
