"""The realistic WW stage: PYTHIA signal and backgrounds through detector and selection."""

from __future__ import annotations

import json

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.parallel import Execution
from obsforge.ww_realistic import WWRealisticStudy, run_ww_realistic


def test_bad_inputs_are_refused():
    with pytest.raises(ConfigError, match=r"events: unknown \[.wz.\]; allowed are"):
        validate_config(WWRealisticStudy, {"events": {"ww": 10_000, "wz": 10_000}})
    with pytest.raises(ConfigError, match="needs 'ww', which carries the signal"):
        validate_config(WWRealisticStudy, {"events": {"zz": 10_000}})
    with pytest.raises(ConfigError, match=r"events.zz = 10: allowed 1000 <= n"):
        validate_config(WWRealisticStudy, {"events": {"ww": 10_000, "zz": 10}})
    with pytest.raises(ConfigError, match=r"more than 100 chunks; raise chunk_size to at least"):
        validate_config(WWRealisticStudy, {"events": {"ww": 10_000_000}})


@pytest.mark.integration
def test_realistic_stage_end_to_end(tmp_path):
    study = validate_config(
        WWRealisticStudy,
        {
            "runs_dir": str(tmp_path),
            "events": {"ww": 20_000, "zz": 2000, "ffbar": 4000},
            "chunk_size": 10_000,
            "purity": {"epochs": 2},
            "sally": {"epochs": 2},
        },
    )
    result = run_ww_realistic(study, Execution(workers=0))
    numbers = result.numbers
    selected = numbers["selected_pb"]
    # sigma(WW) x BR(l nu q q') x efficiency: 16.3 pb x 0.293 x about 0.6
    assert selected["signal_pb"] == pytest.approx(16.3 * 0.293 * 0.6, rel=0.15)
    assert 0.9 < selected["purity"] < 1 and 0.9 < numbers["purity_mean"] < 1
    sigma = numbers["sigma"]
    for name in ("dg1z", "dkappa_gamma", "lambda"):
        # fewer events, then backgrounds: each step can only lose information
        assert sigma["parton"][name] < sigma["selected"][name]
        assert sigma["selected"][name] <= sigma["selected_backgrounds"][name]
        assert sigma["selected"][name] < sigma["selected_folded"][name]  # q / qbar unknown
        assert sigma["detector"][name] <= sigma["detector_backgrounds"][name]
    assert (result.path / "report" / "bounds_columns.png").exists()
    output = json.loads((result.path / "ww_realistic.json").read_text())
    efficiencies = np.array(output["cut_flow"]["efficiency"])
    assert (np.diff(efficiencies) <= 0).all() and 0 < efficiencies[-1] < 1
    assert run_ww_realistic(study, Execution(workers=0)).manifest == result.manifest
    # an interrupted run: no manifest, one chunk lost; the rerun redoes that chunk only
    (result.path / "manifest.json").unlink()
    lost = sorted(result.path.glob("events-zz-*.npz"))[0]
    lost.unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in result.path.glob("events-*.npz")}
    rerun = run_ww_realistic(study, Execution(workers=0))
    assert rerun.numbers == numbers and lost.exists()
    assert all(p.stat().st_mtime_ns == kept[p.name] for p in result.path.glob("events-*.npz")
               if p.name in kept)  # fmt: skip
