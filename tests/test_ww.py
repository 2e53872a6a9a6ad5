"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.events.ww import (
    WWConfig,
    amplitudes,
    born_cross_section,
    generate_ww,
    pythia_ww_settings,
    squared_amplitude_terms,
    ww_kinematics,
)
from obsforge.events.ww_amplitude import COUPLINGS
from obsforge.observables.binning import transport_binning, uniform_binning, voronoi_binning
from obsforge.observables.fisher import (
    FisherAccumulator,
    bounds,
    fisher_binned,
    fisher_unbinned,
    optimal_observables,
    retained_fraction,
)
from obsforge.parallel import Execution
from obsforge.ww_binning import WWStudy, run_ww_fisher


@pytest.fixture(scope="module")
def events():
    return generate_ww(100_000, WWConfig(), seed=3)


def test_kinematics_conserve_momentum_and_put_ws_on_shell(events):
    final = events["f1"] + events["fbar2"] + events["f3"] + events["fbar4"]
    np.testing.assert_allclose(final, np.tile([240.0, 0, 0, 0], (len(final), 1)), atol=1e-9)

    def mass2(p):
        return p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(1)

    np.testing.assert_allclose(mass2(events["f1"] + events["fbar2"]), 80.379**2, rtol=1e-12)
    np.testing.assert_allclose(mass2(events["f3"] + events["fbar4"]), 80.379**2, rtol=1e-12)
    assert np.abs(mass2(events["f1"])).max() < 1e-8


def test_squared_amplitude_is_exactly_quadratic_in_the_couplings(events):
    """|A(theta)|^2 computed directly from the form factors at theta equals the quadratic form
    c0 + c1 theta + theta c2 theta of the linear basis, to machine precision."""
    config = WWConfig()
    angles = events["angles"][:500]
    momenta = ww_kinematics(angles, config.sqrt_s, config.inputs.m_w)
    c0, c1, c2 = squared_amplitude_terms(amplitudes(momenta, config.inputs), config)
    rng = np.random.default_rng(0)
    for theta in rng.normal(0, 0.3, (4, 3)):
        direct = amplitudes(momenta, config.inputs, theta)
        spin = {-1: 0.25, 1: 0.25}
        value = sum(w * np.abs(direct[h][0]) ** 2 for h, w in spin.items())
        quadratic = c0 + c1 @ theta + np.einsum("bij,i,j->b", c2, theta, theta)
        np.testing.assert_allclose(value, quadratic, rtol=1e-11)


@pytest.mark.integration
def test_born_cross_section_and_gauge_cancellation():
    """SM on-shell sigma(e+e- -> WW) at 240 GeV: the 4-fermion sample reproduces it through the
    decay currents; at high energy the gauge cancellation between the t-channel and the s-channel
    gamma/Z makes sigma fall (~ log s / s); right-handed electrons do not see the neutrino."""
    config = WWConfig()
    sigma, error = born_cross_section(config, n=100_000)
    assert sigma == pytest.approx(17.13, rel=0.01)  # G_mu scheme, see docs/ww_binning.md
    four_fermion = generate_ww(100_000, config, seed=5)["weight"].sum() / config.branching
    assert four_fermion == pytest.approx(sigma, rel=0.01)
    high = born_cross_section(WWConfig(sqrt_s=3000.0), n=50_000)[0]
    medium = born_cross_section(WWConfig(sqrt_s=500.0), n=50_000)[0]
    assert high * 3000.0**2 < 5 * medium * 500.0**2  # without cancellation: x 36
    right = born_cross_section(WWConfig(pol_electron=1.0), n=50_000)[0]
    left = born_cross_section(WWConfig(pol_electron=-1.0), n=50_000)[0]
    assert right < 0.02 * left


def test_born_cross_section_agrees_with_pythia():
    """PYTHIA 8 ffbar2WW with the same alpha, sin^2 theta_W and M_W (lepton PDFs off) includes
    Breit-Wigner W line shapes, which lower sigma by about 1% at 240 GeV."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in pythia_ww_settings(240.0, resonance_decays=False):
        pythia.readString(line)
    pythia.init()
    for _ in range(4000):
        pythia.next()
    reference = pythia.infoPython().sigmaGen() * 1e9
    inputs = {"m_w": 80.385, "alpha": 7.830e-3, "sin2w": 0.2312}
    ours = born_cross_section(WWConfig(inputs=inputs), n=50_000)[0]
    assert ours == pytest.approx(reference, rel=0.03)
    assert ours > reference  # the on-shell limit lies above the Breit-Wigner-smeared one


def test_w_decay_angles_are_those_of_a_spin_one_particle(events):
    """Integrated over the rest, the W- decay polar distribution is a polynomial of degree 2 in
    cos theta1 and the azimuth has harmonics up to 2 phi1: higher moments vanish."""
    w = events["weight"] / events["weight"].sum()
    c, phi = events["angles"][:, 2], events["angles"][:, 3]
    p3 = 0.5 * (5 * c**3 - 3 * c)
    p4 = (35 * c**4 - 30 * c**2 + 3) / 8

    def moment(f):
        mean = np.sum(w * f)
        error = np.sqrt(np.sum(w**2 * (f - mean) ** 2))
        return mean, error

    for f in (p3, p4, np.cos(3 * phi), np.cos(4 * phi)):
        mean, error = moment(f)
        assert abs(mean) < 4 * error
    mean, error = moment(c)  # the V-A forward-backward asymmetry is there
    assert abs(mean) > 10 * error


def test_optimal_observables_match_finite_differences(events):
    """alpha_i = d ln|A|^2 / d theta_i at 0; |A|^2 is quadratic, so a central difference is
    exact up to rounding."""
    c0, c1, c2 = events["c0"][:1000], events["c1"][:1000], events["c2"][:1000]
    alpha = optimal_observables(c0, c1)
    h = 1e-4
    for i in range(len(COUPLINGS)):
        e = np.zeros(len(COUPLINGS))
        e[i] = h

        def value(theta):
            return c0 + c1 @ theta + np.einsum("bij,i,j->b", c2, theta, theta)

        numeric = (value(e) - value(-e)) / (2 * h) / c0
        np.testing.assert_allclose(alpha[:, i], numeric, rtol=1e-7, atol=1e-9)


def test_fisher_information_of_the_linear_toy_matches_the_closed_form():
    """p(x | theta) = (1 + theta x) / 2 on [-1, 1]: alpha = x at theta = 0, F = 1/3 per event;
    K equal bins keep F_K = 1/3 - 1/(3 K^2)."""
    x = np.linspace(-1, 1, 200_001)
    x = 0.5 * (x[1:] + x[:-1])  # midpoint rule: weights are the exact probabilities
    weight = np.full(len(x), 1.0 / len(x))
    alpha = x[:, None]
    assert fisher_unbinned(alpha, weight, 1.0)[0, 0] == pytest.approx(1 / 3, rel=1e-8)
    for k in (2, 5, 10):
        labels = np.minimum(((x + 1) / 2 * k).astype(int), k - 1)
        binned = fisher_binned(alpha, weight, labels, k, 1.0)[0, 0]
        assert binned == pytest.approx(1 / 3 - 1 / (3 * k**2), rel=1e-6)
        # Voronoi cells of a uniform 1-D density are the equal bins: the optimum.
        a, w = alpha[::20], weight[::20] * 20
        cells = voronoi_binning(a, w, np.array([[1 / 3]]), k, restarts=2)
        kept = fisher_binned(a, w, cells.labels, k, 1.0)[0, 0]
        assert kept == pytest.approx(1 / 3 - 1 / (3 * k**2), rel=1e-3)


def test_streaming_accumulation_equals_in_memory(events):
    alpha = optimal_observables(events["c0"], events["c1"])
    weight = events["weight"]
    whole = fisher_unbinned(alpha, weight, 5.6e6)
    parts = [FisherAccumulator(3).add(alpha[i::7], weight[i::7]) for i in range(7)]
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    np.testing.assert_allclose(total.fisher(5.6e6), whole, rtol=1e-12)


def test_voronoi_binning_beats_uniform_and_transport_is_equal_population(events):
    alpha = optimal_observables(events["c0"], events["c1"])
    weight = events["weight"]
    fisher = fisher_unbinned(alpha, weight, 1.0)
    uniform = uniform_binning(alpha, weight, 3)  # 27 bins
    voronoi = voronoi_binning(alpha, weight, fisher, 27, restarts=1)
    kept_uniform = retained_fraction(fisher_binned(alpha, weight, uniform.labels, 27, 1.0), fisher)
    kept_voronoi = retained_fraction(fisher_binned(alpha, weight, voronoi.labels, 27, 1.0), fisher)
    assert 0 < kept_uniform < kept_voronoi < 1
    transport = transport_binning(alpha, weight, fisher, 10, n_transport=2000, iterations=5)
    population = np.bincount(transport.labels, weight, minlength=10) / weight.sum()
    np.testing.assert_allclose(population, 0.1, atol=0.03)
    np.testing.assert_array_equal(voronoi.assign(alpha[:100]), voronoi.labels[:100])


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="below the W\\+W- threshold"):
        validate_config(WWConfig, {"sqrt_s": 150.0})
    with pytest.raises(ConfigError, match=r"couplings: unknown \[.kappa_z.\]; allowed are"):
        validate_config(WWStudy, {"couplings": ["dg1z", "kappa_z"]})
    with pytest.raises(ValueError, match="singular"):
        bounds(np.array([[1.0, 1.0], [1.0, 1.0]]))


@pytest.mark.integration
def test_ww_stage_end_to_end(tmp_path):
    study = validate_config(
        WWStudy,
        {
            "runs_dir": str(tmp_path),
            "events": 30_000,
            "chunk_size": 10_000,
            "binning": {
                "bins": [8],
                "per_axis": [2],
                "fit_events": 5000,
                "test_events": 5000,
                "transport_events": 500,
                "restarts": 1,
            },
            "reco": {"train_events": 5000, "test_events": 5000, "training": {"epochs": 2}},
        },
    )
    result = run_ww_fisher(study, Execution(workers=0))
    summary = result.summary
    assert summary["sigma_pb"] == pytest.approx(17.13 * WWConfig().branching, rel=0.03)
    sigma = summary["bounds"]["sigma"]
    assert set(sigma) == set(COUPLINGS) and all(0 < v < 1e-2 for v in sigma.values())
    assert 0 < summary["retained"]["voronoi"]["8"] < 1
    assert (result.path / "report" / "retained.png").exists()
    reco = summary["reco"]
    assert 0 < reco["retained"] < 1 and 0 < reco["retained_perfect_detector_folded"] < 1
    assert run_ww_fisher(study, Execution(workers=0)).manifest == result.manifest


def test_reco_features_at_perfect_resolution_reproduce_the_generated_angles(events):
    from obsforge.observables.sally import DetectorConfig, reco_features

    perfect = DetectorConfig(
        jet_stochastic=0, jet_constant=0, jet_angle=0, lepton_resolution=0, lepton_angle=0
    )
    x = reco_features({k: v[:2000] for k, v in events.items()}, perfect)
    angles = events["angles"][:2000]
    negative = np.arange(2000) % 2 == 0  # W- -> l- nubar: the lepton is f1
    np.testing.assert_allclose(x[:, 16], angles[:, 0], atol=1e-12)  # cos Theta of the W-
    np.testing.assert_allclose(x[negative, 17], angles[negative, 2], atol=1e-12)
    np.testing.assert_allclose(x[~negative, 17], angles[~negative, 4], atol=1e-12)
    np.testing.assert_allclose(x[negative, 18], np.cos(angles[negative, 3]), atol=1e-12)
    # the missing momentum is the neutrino's
    np.testing.assert_allclose(x[negative, 13:16], events["fbar2"][:2000][negative, 1:], atol=1e-9)


def test_score_regression_recovers_the_information_of_a_noisy_observable():
    """z ~ N(0, 1) with score alpha = z, observed through x = z + N(0, s^2): the best reco
    observable E[z | x] = x / (1 + s^2) keeps exactly 1 / (1 + s^2) of the information."""
    import torch

    from obsforge.density.training import TrainingConfig, train
    from obsforge.observables.sally import ScoreRegressor

    rng = np.random.default_rng(7)
    s = 0.8
    z = rng.standard_normal(40_000)
    x = (z + s * rng.standard_normal(len(z)))[:, None]
    alpha, weight = z[:, None], np.ones(len(z))
    torch.manual_seed(0)
    model = ScoreRegressor(1, 1, np.eye(1), np.zeros(1), np.ones(1), hidden=16, layers=2)

    def tensors(sl):
        return tuple(torch.as_tensor(a[sl], dtype=torch.float32) for a in (x, alpha, weight))

    config = TrainingConfig(epochs=15, batch_size=512, learning_rate=3e-3, device="cpu")
    train(model, tensors(slice(0, 30_000)), tensors(slice(30_000, None)), config)
    test = np.linspace(-2.5, 2.5, 51)[:, None]  # where the 30,000 training events lie
    np.testing.assert_allclose(model.predict(test)[:, 0], test[:, 0] / (1 + s**2), atol=0.05)
    kept = np.mean(model.predict(x[30_000:]) ** 2)
    assert kept == pytest.approx(1 / (1 + s**2), rel=0.05)


def test_folded_scores_are_symmetric_and_lose_information(events):
    """E[alpha | q <-> qbar unknown] is the same for an event and its swapped partner, and
    its Fisher information is smaller than the parton-level one in every direction."""
    from obsforge.observables.sally import folded_scores, swap_quarks

    config = WWConfig()
    part = {k: v[:20_000] for k, v in events.items()}
    folded = folded_scores(part, config)
    swapped = swap_quarks(part)
    for name in ("f1", "fbar2", "f3", "fbar4"):
        np.testing.assert_array_equal(swap_quarks(swapped)[name], part[name])
    # Exactly one of the two W's has its decay products exchanged in every event.
    assert np.all((swapped["f1"] == part["f1"]).all(1) != (swapped["f3"] == part["f3"]).all(1))
    c0, c1, _ = squared_amplitude_terms(amplitudes(swapped, config.inputs), config)
    np.testing.assert_allclose(folded_scores({**swapped, "c0": c0, "c1": c1}, config), folded)
    alpha = optimal_observables(part["c0"], part["c1"])
    parton = fisher_unbinned(alpha, part["weight"], 1.0)
    lost = parton - fisher_unbinned(folded, part["weight"], 1.0)
    assert np.linalg.eigvalsh(lost).min() > 0
