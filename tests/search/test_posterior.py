"""HPD regions: analytic Gaussian answers, a bimodal density, coverage, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from obsforge.search import GridPosterior, hpd_region


@pytest.mark.parametrize("level", [0.68, 0.95])
def test_gaussian_posterior_hpd_matches_the_analytic_interval(level):
    # Gaussian simulator x ~ N(theta, sigma^2), flat prior: posterior N(x, sigma^2).
    x, sigma = 172.4, 0.31
    theta = np.linspace(168.0, 177.0, 1801)
    posterior = GridPosterior.from_log_density(theta, stats.norm.logpdf(x, loc=theta, scale=sigma))
    region = posterior.hpd(level)
    half = stats.norm.ppf(0.5 + level / 2) * sigma
    assert len(region.intervals) == 1
    assert region.lower == pytest.approx(x - half, abs=1e-3 * sigma)
    assert region.upper == pytest.approx(x + half, abs=1e-3 * sigma)
    assert posterior.mode == pytest.approx(x, abs=theta[1] - theta[0])


def test_bimodal_density_gives_two_intervals():
    theta = np.linspace(-10, 10, 8001)
    density = 0.5 * stats.norm.pdf(theta, -3, 0.5) + 0.5 * stats.norm.pdf(theta, 3, 0.5)
    region = hpd_region(theta, density, 0.95)
    assert len(region.intervals) == 2
    # Well separated equal modes: each interval is the 95% HPD interval of its own Gaussian.
    half = stats.norm.ppf(0.975) * 0.5
    for (lo, hi), centre in zip(region.intervals, (-3, 3), strict=True):
        assert lo == pytest.approx(centre - half, abs=2e-3)
        assert hi == pytest.approx(centre + half, abs=2e-3)
    assert 0.0 not in region and 3.0 in region


def test_hpd_of_skewed_density_is_shorter_than_the_central_interval():
    theta = np.linspace(0, 30, 6001)
    density = stats.gamma.pdf(theta, a=2.0)
    region = hpd_region(theta, density, 0.9)
    central = stats.gamma.ppf(0.95, 2.0) - stats.gamma.ppf(0.05, 2.0)
    assert region.width < central
    assert stats.gamma.cdf(region.upper, 2.0) - stats.gamma.cdf(region.lower, 2.0) == (
        pytest.approx(0.9, abs=1e-4)
    )
    # Equal density at both edges: the defining property of an HPD interval.
    assert stats.gamma.pdf(region.lower, 2.0) == pytest.approx(
        stats.gamma.pdf(region.upper, 2.0), rel=1e-3
    )


@pytest.mark.integration
def test_gaussian_hpd_intervals_have_nominal_coverage():
    rng = np.random.default_rng(0)
    theta = np.linspace(-6, 6, 1201)
    truths = rng.uniform(-2, 2, 2000)
    x = truths + rng.normal(size=truths.size)
    covered = [
        truth in GridPosterior.from_log_density(theta, stats.norm.logpdf(xi, theta)).hpd(0.68)
        for truth, xi in zip(truths, x, strict=True)
    ]
    # Binomial error of the coverage with 2000 trials: 1%.
    assert np.mean(covered) == pytest.approx(0.68, abs=0.035)


@pytest.mark.parametrize(
    ("theta", "density", "level", "message"),
    [
        (np.linspace(0, 1, 10), np.ones(10), 1.2, "level = 1.2"),
        (np.linspace(1, 0, 10), np.ones(10), 0.9, "strictly increasing"),
        (np.linspace(0, 1, 10), -np.ones(10), 0.9, "finite and >= 0"),
        (np.linspace(0, 1, 10), np.ones(9), 0.9, "equal 1-D grids"),
        (np.linspace(0, 1, 10), np.zeros(10), 0.9, "integrates to zero"),
    ],
)
def test_bad_input_is_refused(theta, density, level, message):
    with pytest.raises(ValueError, match=message):
        hpd_region(theta, density, level)
