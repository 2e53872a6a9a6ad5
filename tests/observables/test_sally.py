"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np
import pytest


def test_reco_features_at_perfect_resolution_reproduce_the_generated_angles(ww_events):
    from obsforge.observables.sally import DetectorConfig, reco_features

    perfect = DetectorConfig(
        jet_stochastic=0, jet_constant=0, jet_angle=0, lepton_resolution=0, lepton_angle=0
    )
    x = reco_features({k: v[:2000] for k, v in ww_events.items()}, perfect)
    angles = ww_events["angles"][:2000]
    negative = np.arange(2000) % 2 == 0  # W- -> l- nubar: the lepton is f1
    np.testing.assert_allclose(x[:, 16], angles[:, 0], atol=1e-12)  # cos Theta of the W-
    np.testing.assert_allclose(x[negative, 17], angles[negative, 2], atol=1e-12)
    np.testing.assert_allclose(x[~negative, 17], angles[~negative, 4], atol=1e-12)
    np.testing.assert_allclose(x[negative, 18], np.cos(angles[negative, 3]), atol=1e-12)
    # the missing momentum is the neutrino's
    np.testing.assert_allclose(
        x[negative, 13:16], ww_events["fbar2"][:2000][negative, 1:], atol=1e-9
    )


def test_score_regression_recovers_the_information_of_a_noisy_observable():
    """z ~ N(0, 1) with score alpha = z, observed through x = z + N(0, s^2): the best reco
    observable E[z | x] = x / (1 + s^2) keeps exactly 1 / (1 + s^2) of the information."""
    import torch

    from obsforge.observables.sally import ScoreRegressor
    from obsforge.training import TrainingConfig, train

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
