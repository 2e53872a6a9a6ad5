"""VBF Higgs events from PYTHIA 8 and the cp-observable stage end to end (small samples)."""

import json
import shutil

import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.cp_observable import CPStudy, report_lines, run_cp_observable
from obsforge.parallel import Execution


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
    # Retrained from scratch (the events now read back from their manifest): the same bytes.
    first = {name: (result.path / name).read_bytes() for name in result.manifest["outputs"]}
    shutil.rmtree(result.path)
    retrained = run_cp_observable(study, Execution(workers=0))
    assert {name: (retrained.path / name).read_bytes() for name in first} == first
