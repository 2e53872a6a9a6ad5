"""Semileptonic WW reconstruction: isolated lepton, Durham jets, smearing, selection, purity."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.observables.ww_reco import (
    SelectionConfig,
    cut_flow,
    hadron_objects,
    invariant_mass,
    object_features,
    parton_objects,
    selected,
    smear,
)


def _particles(events: list[list[tuple[float, float, float, int]]]) -> ak.Array:
    """Massless particles from (E, cos theta, phi, pid) tuples."""
    rows = []
    for event in events:
        row = []
        for e, c, phi, pid in event:
            s = np.sqrt(1 - c**2)
            row.append({"px": e * s * np.cos(phi), "py": e * s * np.sin(phi), "pz": e * c,
                        "E": e, "pid": pid})  # fmt: skip
        rows.append(row)
    return ak.Array(rows)


def test_isolated_lepton_and_two_durham_jets_of_a_built_event():
    """A muon at 90 degrees, two sprays of pions well apart, a photon down the beam pipe: one
    isolated muon, two jets that are exactly the two sprays (E-scheme), the photon unseen. The
    same event with a pion next to the muon: no isolated lepton."""
    spray_a = [(20.0, 0.5, 1.0 + d, 211) for d in (0.0, 0.02, 0.04)]
    spray_b = [(15.0, -0.6, 3.5 + d, -211) for d in (0.0, 0.03)]
    muon = (40.0, 0.0, 5.5, 13)
    beam_photon = (30.0, 0.9999, 0.0, 22)
    near = (10.0, 0.0, 5.55, 211)
    events = _particles([[muon, *spray_a, *spray_b, beam_photon], [muon, near, *spray_a, *spray_b]])
    objects = hadron_objects(events, SelectionConfig())
    assert objects["n_isolated"].tolist() == [1, 0]
    assert objects["ok"].tolist() == [True, False]
    assert objects["charge"][0] == -1.0  # pid 13 is mu-
    np.testing.assert_allclose(objects["lepton"][0], _four(events[0][0]), atol=1e-12)
    jets = sorted(objects["jets"][0].tolist(), key=lambda p: -p[0])
    np.testing.assert_allclose(jets[0], sum(_four(p) for p in events[0][1:4]), atol=1e-9)
    np.testing.assert_allclose(jets[1], sum(_four(p) for p in events[0][4:6]), atol=1e-9)


def _four(p) -> np.ndarray:
    return np.array([p["E"], p["px"], p["py"], p["pz"]])


def test_on_shell_events_at_perfect_resolution_pass_the_mass_windows(ww_events):
    """Ideal events: the jets are the quarks, the missing momentum is the neutrino, so m_jj and
    m_l nu are M_W exactly and only the angular cuts remove events."""
    objects = parton_objects({k: v[:5000] for k, v in ww_events.items()})
    jets = objects["jets"].sum(1)
    np.testing.assert_allclose(invariant_mass(jets), 80.379, rtol=1e-9)
    flow = cut_flow(objects, SelectionConfig())
    masks = list(flow.values())
    for before, after in zip(masks, masks[1:], strict=False):
        assert not (after & ~before).any()  # each cut only removes events
    assert (flow["m_lnu"] == flow["missing momentum"]).all()
    assert 0.6 < selected(objects, SelectionConfig()).mean() < 1


def test_smearing_keeps_the_mass_to_energy_ratio_and_is_exact_at_zero_width():
    rng = np.random.default_rng(3)
    p = np.array([[50.0, 10.0, 20.0, 30.0]] * 1000)  # m = sqrt(1100)
    out = smear(p, np.full(1000, 0.1), 0.01, rng)
    np.testing.assert_allclose(invariant_mass(out) / out[:, 0], invariant_mass(p) / 50, rtol=1e-9)
    assert np.std(out[:, 0] / 50) == pytest.approx(0.1, rel=0.1)
    np.testing.assert_allclose(smear(p, np.zeros(1000), 0.0, rng), p, atol=1e-12)


def test_features_are_those_of_the_parton_level_reco(ww_events):
    from obsforge.observables.sally import DetectorConfig, reco_features
    from obsforge.observables.ww_reco import smear_objects

    events = {k: v[:1000] for k, v in ww_events.items()}
    detector = DetectorConfig(seed=5)
    np.testing.assert_array_equal(
        reco_features(events, detector),
        object_features(smear_objects(parton_objects(events), detector)),
    )


def test_bad_windows_are_refused():
    with pytest.raises(ConfigError, match=r"m_jj = \[100.0, 60.0\]: need 0 <= low < high"):
        validate_config(SelectionConfig, {"m_jj": [100, 60]})


def test_purity_classifier_learns_s_over_s_plus_b():
    """Signal N(1, 1) with sigma_S = 3, background N(-1, 1) with sigma_B = 1: the purity is
    3 phi(x - 1) / (3 phi(x - 1) + phi(x + 1)) = 1 / (1 + exp(-2x) / 3)."""
    from obsforge.observables.sally import train_purity
    from obsforge.training import TrainingConfig

    rng = np.random.default_rng(11)
    n = 20_000
    signal = np.arange(2 * n) < n
    x = np.where(signal, 1.0, -1.0)[:, None] + rng.standard_normal((2 * n, 1))
    weight = np.where(signal, 3.0 / n, 1.0 / n)
    model, _ = train_purity(x, signal, weight, TrainingConfig(epochs=15, batch_size=1024), 16, 2)
    grid = np.linspace(-2, 2, 41)[:, None]
    truth = 1 / (1 + np.exp(-2 * grid[:, 0]) / 3)
    np.testing.assert_allclose(model.purity(grid), truth, atol=0.03)
