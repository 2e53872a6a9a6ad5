"""VBF Higgs events from PYTHIA 8 and the cp-observable stage end to end (small samples)."""

import numpy as np
import pytest

from obsforge.events.vbf import VBFConfig, generate_vbf


@pytest.fixture(scope="module")
def vbf_events():
    return generate_vbf(VBFConfig(), 600, seed=21)


@pytest.mark.integration
def test_vbf_selection_and_cross_section(vbf_events):
    ev = vbf_events
    jets = ev["jets"]  # (B, 2, 4): pT, eta, phi, mass
    assert 0.1 < len(jets) / ev["n_generated"] < 0.5
    assert (jets[:, :, 0] > 30).all() and (np.abs(jets[:, :, 1]) < 4.5).all()
    assert (np.abs(jets[:, 0, 1] - jets[:, 1, 1]) > 3.6).all()
    assert (jets[:, 0, 1] * jets[:, 1, 1] < 0).all()
    assert (jets[:, 0, 0] >= jets[:, 1, 0]).all()
    # PYTHIA's LO VBF cross section at 13 TeV (the LHC Higgs WG quotes 3.78 pb at NNLO QCD).
    assert 2.5 < ev["sigma_pb"] < 4.5
    sigma = ev["sigma_by_code_pb"]
    assert 0.25 < sigma[906] / sigma[907] < 0.5  # ZZ / WW fusion


@pytest.mark.integration
def test_vbf_weights(vbf_events):
    ev = vbf_events
    # Quark-quark events: the exact SM |A|^2 equals PYTHIA's ME (correction 1, up to the
    # s and c masses PYTHIA gives outgoing quarks); antiquark lines are corrected.
    exact = np.abs(ev["sm_correction"] - 1) < 1e-3
    assert 0.5 < exact.mean() < 1.0
    assert np.abs(ev["sm_correction"] - 1).max() > 1e-2
    w_plus = 1 + ev["r1"] + ev["r2"]
    w_minus = 1 - ev["r1"] + ev["r2"]
    assert (w_plus >= 0).all() and (w_minus >= 0).all()
    assert np.std(ev["r1"]) > 0.05  # c = 1 at Lambda = 1 TeV is a visible effect
    assert (ev["r2"] >= 0).all()


@pytest.mark.integration
def test_vbf_generation_is_reproducible(vbf_events):
    again = generate_vbf(VBFConfig(), 600, seed=21)
    np.testing.assert_array_equal(again["jets"], vbf_events["jets"])
    np.testing.assert_array_equal(again["r1"], vbf_events["r1"])
