"""The search: observables of shapes, the Gaussian pseudo-experiment model, NRE posteriors
against analytic ones, expected coverage, config checks and the scan stage end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from obsforge.config import ConfigError, validate_config
from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram
from obsforge.parallel import Execution
from obsforge.search.nre import NREConfig, grid_log_ratio, train_nre
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.posterior import batch_hpd_credibility, batch_hpd_width, hpd_region
from obsforge.search.simulator import ShapeSimulator, jet_covariance
from obsforge.shape_scan import ScanStudy, run_scan


def _triplets(n, seed=0):
    rng = np.random.default_rng(seed)
    zeta = np.sort(rng.uniform(0.001, 0.3, (n, 3)), axis=1)
    return zeta, rng.exponential(1.0, n)


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


def _simulator(n_jets=100):
    masses = np.linspace(170.0, 180.0, 11)
    # Two bins whose expectations move linearly with m in opposite directions.
    means = np.stack([0.01 * (masses - 175.0) + 0.5, -0.005 * (masses - 175.0) + 0.3], 1)
    cov = np.array([[[[0.04, 0.01], [0.01, 0.02]]]])
    return ShapeSimulator(masses, means[:, None, :], np.array([175.0]), cov, n_jets)


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


TINY = {
    "name": "tiny",
    "top_jets": {"masses": [170.0, 175.0, 180.0], "events_per_mass": 120, "chunk_size": 120},
    "density": {
        "model": "mlp",
        "holdout_masses": [175.0],
        "sample": {"triplets_per_mass": 20000, "test_fraction": 0.5},
        "mlp": {"layers": 2, "hidden": 32},
        # Enough epochs for bin edges that PYTHIA jets fill (the scan needs a usable surrogate).
        "training": {"epochs": 20, "batch_size": 512},
        "closure": {"shapes": [[1.0, 2.0]], "delta": 0.05, "n_bins": 4, "n_samples": 20000},
    },
    "search": {
        "shapes": {"low": 1.0, "high": 2.0, "steps": 2, "delta": 0.05},
        "reference_shapes": [[1.0, 1.0]],
        "n_bins": 4,
        "surrogate_samples": 50_000,
        "mean_step": 1.0,
        "n_jets": 50,
        "experiments": 10,
        "coverage_experiments": 50,
        "grid_points": 51,
        "amortised_simulations": 2000,
        "nre": {"simulations": 1000, "max_epochs": 3, "hidden_features": 16},
    },
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"shapes": {"low": 2.0, "high": 1.0}}, "the grid is empty"),
        ({"shapes": {"delta": 0.0}}, "search.shapes.delta"),
        ({"prior": [165.0, 180.0]}, "inside the trained masses"),
        ({"true_mass": 185.0}, "search.true_mass"),
        ({"reference_shapes": [[2.0, 1.0]]}, "n2 = 1.0 < n1 = 2.0"),
    ],
)
def test_bad_search_configs_are_refused(tmp_path, change, message):
    data = json.loads(json.dumps(TINY))
    data["runs_dir"] = str(tmp_path)
    data["search"].update(change)
    with pytest.raises(ConfigError, match=message):
        validate_config(ScanStudy, data)


def test_singular_jet_covariance_is_refused_naming_shape_and_bins():
    from obsforge.shape_scan import _checked_covariance

    cov = np.zeros((1, 3, 3))
    cov[0, 2, 2] = 0.1
    with pytest.raises(ValueError, match=r"shape \(1, 2\) at m_top = 175: .*bins \[0, 1\]"):
        _checked_covariance(cov, [TriangleShape(n1=1.0, n2=2.0, delta=0.01)], 175.0, 60)
    cov[0] = np.diag([0.1, 0.2, 0.3])
    assert _checked_covariance(cov, [TriangleShape(n1=1.0, n2=2.0, delta=0.01)], 175.0, 60) is cov


@pytest.mark.integration
def test_scan_stage_end_to_end_is_cached_and_resumes(tmp_path, monkeypatch):
    data = json.loads(json.dumps(TINY))
    data["runs_dir"] = str(tmp_path)
    study = validate_config(ScanStudy, data)
    result = run_scan(study, Execution(workers=0))
    scan = json.loads((result.path / "scan.json").read_text())
    assert len(scan["shapes"]) == 3  # (1, 1), (1, 2), (2, 2)
    for method in ("nre", "exact"):
        widths = np.asarray(scan["hpd95_width"][method])
        assert np.all((widths > 0) & (widths <= 10.0 + 1e-9))
    assert scan["best"]["shape"] in {"(1, 1)", "(1, 2)", "(2, 2)"}
    assert set(scan["coverage"]) >= {"(1, 1)"}
    assert (result.path / "report" / "hpd_width.png").exists()
    assert (result.path / "report" / "coverage.png").exists()
    assert {row["m_top"] for row in scan["pythia_mass_fit"]} == {175.0}

    import obsforge.shape_scan as module

    def fail(*args, **kwargs):
        raise AssertionError("retrained")

    monkeypatch.setattr(module, "train_nre", fail)
    assert run_scan(study, Execution(workers=0)).manifest == result.manifest
    # An interrupted scan (no manifest) reuses its trained estimators.
    (result.path / "manifest.json").unlink()
    again = run_scan(study, Execution(workers=0))
    assert again.summary["best"] == result.summary["best"]

    # One estimator per shape (the Dask-parallel mode), reusing the cached upstream stages.
    monkeypatch.undo()
    data["search"]["mode"] = "per_shape"
    per_shape = run_scan(validate_config(ScanStudy, data), Execution(workers=0))
    scan = json.loads((per_shape.path / "scan.json").read_text())
    assert len(scan["trainings"]) == 3 and "nre-amortised.pt" not in str(scan["trainings"])
    assert np.all(np.asarray(scan["hpd95_width"]["nre"]) > 0)
    assert len(list(tmp_path.glob("tiny/search-data-*"))) == 1
