"""VBF Higgs events from PYTHIA 8 and the cp-observable stage end to end (small samples)."""

import json

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.cp_observable import CPStudy, report_lines, run_cp_observable
from obsforge.events.vbf import VBFConfig, generate_vbf
from obsforge.parallel import Execution


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


def test_bad_study_configs():
    with pytest.raises(ConfigError, match="features.*allowed"):
        validate_config(CPStudy, {"features": ["pt1", "dphi", "thrust"]})
    with pytest.raises(ConfigError, match="no CP-odd feature"):
        validate_config(CPStudy, {"features": ["pt1", "pt2"]})
    with pytest.raises(ConfigError, match="channels"):
        validate_config(CPStudy, {"process": {"channels": ["WW", "gg"]}})
    with pytest.raises(ConfigError, match="luminosity_fb"):
        validate_config(CPStudy, {"luminosity_fb": -1})


@pytest.mark.integration
def test_cp_observable_stage_end_to_end(tmp_path):
    study = validate_config(
        CPStudy,
        {
            "name": "tiny",
            "runs_dir": str(tmp_path),
            "sample": {"events": 1600, "chunk_size": 800},
            "classifier": {"hidden": 16, "layers": 2, "training": {"epochs": 3}},
            "bdt": {"max_iter": 20},
            "symbolic": {"samples": 200, "generations": 10, "population_size": 100},
        },
    )
    result = run_cp_observable(study, Execution(workers=0))
    data = json.loads((result.path / "cp_observable.json").read_text())
    assert data["formula"]["cp_odd_verified"]
    rows = {row["observable"]: row for row in data["significance"]}
    assert {"rate only", "sin(dphi_jj)", "classifier", "BDT", "formula"} <= set(rows)
    # The parton-level log-likelihood ratio bounds every reco-level observable (up to noise).
    truth = rows["parton truth ln w(+1)/w(-1)"]["z_plus_vs_minus"]
    assert all(row["z_plus_vs_minus"] <= 1.15 * truth for row in rows.values())
    assert (result.path / "report" / "distributions.png").exists()
    assert any("formula" in line for line in report_lines(result))
    again = run_cp_observable(study, Execution(workers=0))  # cached: same stage, no rerun
    assert again.path == result.path and again.manifest == result.manifest
