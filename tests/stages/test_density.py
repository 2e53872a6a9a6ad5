"""The density stages end to end on a tiny study: data split, training, closure, caching."""

from __future__ import annotations

import json

import numpy as np
import pytest

from obsforge.config import validate_config
from obsforge.density import EEECSurrogate
from obsforge.eeec_density import DensityStudy, run_density
from obsforge.parallel import Execution


@pytest.mark.integration
def test_density_stage_trains_tests_closure_and_is_reused(tmp_path, monkeypatch):
    study = validate_config(
        DensityStudy,
        {
            "name": "tiny",
            "runs_dir": str(tmp_path),
            "top_jets": {"masses": [170.0, 175.0, 180.0], "events_per_mass": 40, "chunk_size": 40},
            "density": {
                "holdout_masses": [175.0],
                "sample": {"triplets_per_mass": 4000, "test_fraction": 0.3},
                "flow": {"layers": 1, "hidden": 16, "blocks": 1},
                "training": {"epochs": 2, "batch_size": 512, "device": "cpu"},
                "closure": {
                    "shapes": [[1.0, 1.0], [1.0, 2.0]],
                    "delta": 0.05,
                    "n_bins": 4,
                    "n_samples": 20000,
                },
            },
        },
    )
    result = run_density(study, Execution(workers=0))
    summary = result.numbers
    assert summary["epochs"] == 2
    roles = {(row["m_top"], row["role"]) for row in summary["closure"]}
    assert roles == {(175.0, "held out"), (170.0, "trained")} or roles == {
        (175.0, "held out"),
        (180.0, "trained"),
    }
    assert all(np.isfinite(row["chi2"]) and row["ndf"] == 4 for row in summary["closure"])
    assert not list(result.path.glob("checkpoint*.pt"))
    assert (result.path / "report" / "closure_m175.png").exists()

    data_dir = next(tmp_path.glob("tiny/density-data-*"))
    data = np.load(data_dir / "data.npz")
    assert 175.0 not in set(data["weighted_m_top"])  # the held-out mass never trains
    assert set(np.unique(data["test_m_top"])) == {170.0, 175.0, 180.0}
    # Importance subsampling keeps the weighted total (statistically) of the fit jets.
    assert data["weighted_weight"].min() > 0

    surrogate = EEECSurrogate.load(result.path / "model.pt")
    assert surrogate.masses == [170.0, 180.0] and surrogate.kind == "flow"
    closure = json.loads((result.path / "closure.json").read_text())
    assert len(closure) == 4

    # A bootstrap ensemble: same data stage, two members, a model spread in the closure.
    density = {**study.density.model_dump(), "ensemble": 2}
    ensemble = validate_config(DensityStudy, {**study.model_dump(), "density": density})
    two = run_density(ensemble, Execution(workers=0))
    assert two.path != result.path and two.numbers["member_epochs"] == [2, 2]
    assert EEECSurrogate.load(two.path / "model.pt").n_members == 2
    rows = json.loads((two.path / "closure.json").read_text())
    assert any(max(row["model_spread"]) > 0 for row in rows)
    assert all(row["chi2"] <= row["chi2_stat"] + 1e-12 for row in rows)

    import shutil

    import obsforge.eeec_density as module

    reused = run_density(study, Execution(workers=0))
    assert reused.manifest == result.manifest

    # Bit-reproducible: retrained from scratch, the checksummed outputs are the same bytes
    # (timings live in timing.json, outside the manifest).
    assert (result.path / "timing.json").exists()
    first = {name: (result.path / name).read_bytes() for name in ("model.pt", "closure.json")}
    shutil.rmtree(result.path)
    again = run_density(study, Execution(workers=0))
    assert {name: (again.path / name).read_bytes() for name in first} == first
    assert again.manifest["outputs"] == result.manifest["outputs"]
    assert again.numbers == result.numbers

    monkeypatch.setattr(
        module, "train_surrogate", lambda *a, **k: (_ for _ in ()).throw(AssertionError)
    )
    assert run_density(study, Execution(workers=0)).manifest == again.manifest
