"""The search: observables of shapes, the Gaussian pseudo-experiment model, NRE posteriors
against analytic ones, expected coverage, config checks and the scan stage end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.observables.shapes import TriangleShape
from obsforge.parallel import Execution
from obsforge.shape_scan import ScanStudy, run_scan

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
    from obsforge.search.scan import checked_covariance

    cov = np.zeros((1, 3, 3))
    cov[0, 2, 2] = 0.1
    with pytest.raises(ValueError, match=r"shape \(1, 2\) at m_top = 175: .*bins \[0, 1\]"):
        checked_covariance(cov, [TriangleShape(n1=1.0, n2=2.0, delta=0.01)], 175.0, 60)
    cov[0] = np.diag([0.1, 0.2, 0.3])
    assert checked_covariance(cov, [TriangleShape(n1=1.0, n2=2.0, delta=0.01)], 175.0, 60) is cov


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

    monkeypatch.setattr(module, "simulate_and_train", fail)
    assert run_scan(study, Execution(workers=0)).manifest == result.manifest
    # An interrupted scan (no manifest) reuses its trained estimators.
    (result.path / "manifest.json").unlink()
    again = run_scan(study, Execution(workers=0))
    assert again.numbers["best"] == result.numbers["best"]

    # One estimator per shape (the Dask-parallel mode), reusing the cached upstream stages.
    monkeypatch.undo()
    data["search"]["mode"] = "per_shape"
    per_shape = run_scan(validate_config(ScanStudy, data), Execution(workers=0))
    scan = json.loads((per_shape.path / "scan.json").read_text())
    assert len(scan["trainings"]) == 3 and "nre-amortised.pt" not in str(scan["trainings"])
    assert np.all(np.asarray(scan["hpd95_width"]["nre"]) > 0)
    assert len(list(tmp_path.glob("tiny/search-data-*"))) == 1
