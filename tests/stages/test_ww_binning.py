"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.events.ww import (
    WWConfig,
)
from obsforge.events.ww_amplitude import COUPLINGS
from obsforge.observables.fisher import (
    bounds,
)
from obsforge.parallel import Execution
from obsforge.ww_binning import WWStudy, run_ww_fisher


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
                "bins": [8, 16, 32],
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
    summary = result.numbers
    assert summary["sigma_pb"] == pytest.approx(17.13 * WWConfig().branching, rel=0.03)
    sigma = summary["bounds"]["sigma"]
    assert set(sigma) == set(COUPLINGS) and all(0 < v < 1e-2 for v in sigma.values())
    assert 0 < summary["retained"]["voronoi"]["8"] < summary["retained"]["voronoi"]["32"] < 1
    law = summary["quantisation_law"]  # fitted on 16 and 32 cells, d = 3
    assert law["dimension"] == 3 and law["exponent"] == pytest.approx(2 / 3)
    assert law["cells_for_0.95"] < law["cells_for_0.99"]
    assert (result.path / "report" / "retained.png").exists()
    reco = summary["reco"]
    assert 0 < reco["retained"] < 1 and 0 < reco["retained_perfect_detector_folded"] < 1
    assert run_ww_fisher(study, Execution(workers=0)).manifest == result.manifest
