"""The top-jet EEEC study end to end: caching, corruption recovery, Dask, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from obsforge.parallel import Execution
from obsforge.top_eeec import load_triplets, run_eeec, run_top_jets

INLINE = Execution(workers=0)


def test_study_runs_end_to_end_and_is_reused(tiny_study, monkeypatch):
    result = run_eeec(tiny_study, INLINE)
    summary = result.numbers
    assert [row["m_top"] for row in summary["masses"]] == [170.0, 180.0]
    for row in summary["masses"]:
        assert row["n_jets"] == 2 * 60
    report = result.path / "report"
    assert (report / "zeta3_longest_side.png").exists() and (
        report / "zeta3_longest_side.pdf"
    ).exists()
    (report / "zeta3_longest_side.png").unlink()
    assert report / "zeta3_longest_side.png" in result.plot()  # drawn again from the numbers
    assert any("total:" in line for line in result.summary())

    triplets = load_triplets(result)
    assert set(triplets) == {"zeta1", "zeta2", "zeta3", "weight", "m_top", "jet_id"}
    assert len(triplets["weight"]) == sum(r["n_triplets"] for r in summary["masses"])
    assert set(np.unique(triplets["m_top"])) == {170.0, 180.0}
    assert len(np.unique(triplets["jet_id"])) <= 4 * 60
    config = json.loads((result.path / "config.json").read_text())
    assert config["config"]["subjet_r"] == 0.1

    import obsforge.top_eeec as module
    import obsforge.top_events as events_module

    def fail(*args, **kwargs):
        raise AssertionError("a cached stage was recomputed")

    monkeypatch.setattr(events_module, "_generate_chunk", fail)
    monkeypatch.setattr(module, "_eeec_chunk", fail)
    assert run_eeec(tiny_study, INLINE).manifest == result.manifest


def test_corrupted_chunk_is_regenerated_identically(tiny_study):
    result = run_eeec(tiny_study, INLINE)
    name = next(n for n in result.manifest["outputs"] if n.startswith("triplets-m180"))
    path = result.path / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    again = run_eeec(tiny_study, INLINE)
    # Seeds are fixed per (mass, chunk), so the regenerated chunk is bit-identical.
    assert again.manifest["outputs"] == result.manifest["outputs"]


@pytest.mark.integration
def test_dask_workers_give_the_same_events_as_inline(tiny_study, tmp_path):
    inline = run_top_jets(tiny_study, INLINE)
    parallel_study = tiny_study.model_copy(update={"runs_dir": str(tmp_path / "dask-runs")})
    parallel = run_top_jets(parallel_study, Execution(workers=2))
    assert parallel.manifest["outputs"] == inline.manifest["outputs"]


@pytest.mark.integration
def test_peak_of_longest_side_moves_with_top_mass(tiny_study):
    masses = run_eeec(tiny_study, INLINE).numbers["masses"]
    low, high = masses[0], masses[-1]  # 170 and 180 GeV
    # Tiny sample: only require the right sign within 3 sigma of the expected shift.
    shift = high["peak_mean_log_zeta3"] - low["peak_mean_log_zeta3"]
    sigma = np.hypot(high["peak_mean_log_zeta3_error"], low["peak_mean_log_zeta3_error"])
    assert shift > -3 * sigma


@pytest.mark.slow
def test_peak_shift_is_significant_with_real_statistics(tmp_path):
    """2000 events per mass: <ln zeta3> in the peak window rises with m_top by > 3 sigma."""
    from obsforge.config import validate_config
    from obsforge.top_eeec import TopEEECStudy

    study = validate_config(
        TopEEECStudy,
        {
            "name": "slow",
            "runs_dir": str(tmp_path),
            "top_jets": {"masses": [170.0, 180.0], "events_per_mass": 2000, "chunk_size": 1000},
        },
    )
    masses = run_eeec(study, Execution(workers=2)).numbers["masses"]
    low, high = masses[0], masses[-1]  # 170 and 180 GeV
    shift = high["peak_mean_log_zeta3"] - low["peak_mean_log_zeta3"]
    sigma = np.hypot(high["peak_mean_log_zeta3_error"], low["peak_mean_log_zeta3_error"])
    assert shift > 3 * sigma
    # A pure rescaling zeta -> zeta (m'/m)^2 would give 2 ln(180/170) = 0.114; the fixed window
    # and the non-scaling background (QCD radiation) dilute it, but it cannot exceed it by much.
    assert shift < 2 * np.log(180 / 170) + 3 * sigma
