"""The streamed EEEC stage against the stored-triplet stage on the same events; resumption;
the Fisher stage end to end on a tiny sample."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from obsforge.config import validate_config
from obsforge.fisher_scan import FisherStudy, run_fisher
from obsforge.observables.eeec_stream import FINE_EDGES
from obsforge.parallel import Execution
from obsforge.results import StageResult
from obsforge.search.observable import shape_histograms
from obsforge.stream_files import load_moments, load_sample
from obsforge.top_eeec import load_triplets, run_eeec
from obsforge.top_stream import StreamStudy, run_stream

INLINE = Execution(workers=0)
pytestmark = pytest.mark.integration


def stream_of(tiny_study, **stream) -> StreamStudy:
    """The stream study of the same events as ``tiny_study`` (same masses, chunks, seeds)."""
    return validate_config(
        StreamStudy,
        {
            "name": tiny_study.name,
            "runs_dir": tiny_study.runs_dir,
            "top_jets": tiny_study.top_jets.model_dump(),
            "jets": tiny_study.jets.model_dump(),
            "stream": {"shapes": {"steps": 6}, "batch_events": 7, **stream},
        },
    )


def test_stream_keeps_what_the_stored_triplets_hold(tiny_study):
    stored = run_eeec(tiny_study, INLINE)
    # A subsample target far above the number of triplets keeps every triplet with weight w.
    streamed = run_stream(stream_of(tiny_study, triplets_per_mass=10**9), INLINE)
    triplets, sample = load_triplets(stored), load_sample(streamed)
    order = np.lexsort((triplets["weight"], triplets["zeta3"], triplets["jet_id"]))
    again = np.lexsort((sample["weight"], sample["zeta3"], sample["jet_id"]))
    for name in ("zeta1", "zeta2", "zeta3", "weight", "m_top"):
        np.testing.assert_allclose(sample[name][again], triplets[name][order], rtol=2e-7)
    # The same jets, in the per-jet tables of both stages.
    jets = [ak.concatenate([ak.from_parquet(p) for p in sorted(r.path.glob("jets-*.parquet"))])
            for r in (stored, streamed)]  # fmt: skip
    np.testing.assert_array_equal(jets[0].E, jets[1].E)
    # Moments of every shape = histograms of the stored triplets of that mass (float32 storage
    # moves a triplet across a window edge now and then: 1e-4 of the weight at most).
    masses, moments = load_moments(streamed)
    shapes = stream_of(tiny_study).stream.shape_list()
    edges = np.tile(FINE_EDGES, (len(shapes), 1))
    for m_top, m in zip(masses, moments, strict=True):
        sel = triplets["m_top"] == m_top
        zeta = np.stack([triplets[f"zeta{i}"][sel] for i in (1, 2, 3)], 1).astype(np.float64)
        h = shape_histograms(zeta, triplets["weight"][sel].astype(np.float64), shapes, edges)
        assert m.n_jets.sum() == len(np.unique(triplets["jet_id"][sel]))
        np.testing.assert_allclose(m.sum_h.sum(0).sum(1), h.sum(1), rtol=1e-4, atol=1e-9)
        assert m.sum_w.sum() == pytest.approx(
            triplets["weight"][sel].sum(dtype=np.float64), rel=1e-6
        )


def test_stream_resumes_a_lost_chunk_bit_for_bit(tiny_study):
    study = stream_of(tiny_study)
    first = run_stream(study, INLINE)
    lost = sorted(first.path.glob("moments-*.npz"))[1]
    before = lost.read_bytes()
    lost.unlink()
    (first.path / "manifest.json").unlink()
    again = run_stream(study, INLINE)
    assert lost.read_bytes() == before
    assert again.numbers == first.numbers


def test_fisher_stage_ranks_every_shape(tiny_study):
    config = stream_of(tiny_study).model_dump()
    config["top_jets"]["masses"] = [170.0, 172.5, 175.0, 177.5, 180.0]
    config["fisher"] = {"bandwidth": 6.0, "bootstrap": 20, "m0": 175.0,
                        "named": [[1.0, 1.0], [1.0, 1.8], [1.02, 1.99], [1.4, 1.8]]}  # fmt: skip
    result = run_fisher(validate_config(FisherStudy, config), INLINE)
    s = result.numbers
    assert s["best"]["rank"] == 0 and s["best"]["ratio_to_best"] == 1.0
    assert all(row["ratio_to_best"] >= 1.0 for row in s["named"])
    assert (
        abs(sum(s["best_bootstrap"]["fraction"]) - 1) < 1e-9
        or sum(s["best_bootstrap"]["fraction"]) < 1
    )
    for stem in ("fisher_width", "fisher_width_n1", "fisher_mean"):
        (result.path / "report" / f"{stem}.png").unlink()
    # The study protocol: the figures are drawn again from the upstream moments.
    drawn = result.plot()
    for stem in ("fisher_width", "fisher_width_n1", "fisher_mean"):
        assert result.path / "report" / f"{stem}.png" in drawn
    assert result.summary()[0].startswith("Fisher 95% half-widths")
    assert result.upstream("eeec-stream").numbers["masses"] == config["top_jets"]["masses"]


def test_density_stream_trains_on_the_sample_and_tests_on_the_moments(tiny_study):
    from obsforge.stream_density import StreamDensityStudy, run_stream_density

    config = stream_of(tiny_study).model_dump()
    config["top_jets"]["masses"] = [170.0, 175.0, 180.0]
    config["density"] = {
        "model": "mlp",
        "holdout_masses": [175.0],
        "closure_masses": [170.0],
        "mlp": {"layers": 2, "hidden": 16},
        "training": {"epochs": 2, "batch_size": 512, "samples_per_epoch": 2000},
        "fit_samples": 100_000,
        "closure": {"shapes": [[1.0, 1.0], [1.0, 1.8]], "n_bins": 4, "n_samples": 20_000},
    }
    study = validate_config(StreamDensityStudy, config)
    result = run_stream_density(study, INLINE)
    s = result.numbers
    assert s["epochs"] == 2 and s["n_training_triplets"] > 0
    closure = json.loads((result.path / "closure.json").read_text())
    assert [(c["m_top"], c["role"]) for c in closure] == [
        (170.0, "trained"), (170.0, "trained"), (175.0, "held out"), (175.0, "held out")
    ]  # fmt: skip
    # The held-out mass is tested on all its jets, the trained one on its test jets only
    # (the groups g < test_fraction x groups, i.e. the jets jet_split calls test).
    jets = {m: ak.concatenate([ak.from_parquet(p) for p in result.upstream("eeec-stream")
            .path.glob(f"jets-m{m:.3f}-*.parquet")]) for m in (170.0, 175.0)}  # fmt: skip
    assert closure[2]["n_jets"] == len(jets[175.0])
    assert 0 < closure[0]["n_jets"] < len(jets[170.0])
    for row in closure:
        assert len(row["pulls"]) == row["ndf"] == len(row["data"]) == len(row["edges"]) - 1
        assert 0 < row["data_fraction"] < 1 and 0 < row["model_fraction"] < 1
    held = s["calibration"]["held out"]
    assert held["cells"] == 2 and held["ndf"] == closure[2]["ndf"] + closure[3]["ndf"]
    assert (result.path / "report" / "closure_m175.png").exists()
    assert any("pulls mean" in line for line in result.summary())
    # the per-jet excess of each role, from the closure rows' jet counts
    assert sum("excess chi2 per 1000 jets" in line for line in result.summary()) == 2
    assert [f["m_top"] for f in s["mass_fit"]] == [175.0, 175.0]
    assert all(f["sigma"] > 0 for f in s["mass_fit"])
    assert s["mass_fit_pulls"]["fits"] + s["mass_fit_pulls"]["failed"] == 2
    with pytest.raises(ValueError, match="closure_masses"):
        validate_config(StreamDensityStudy, {**config, "density": {
            **config["density"], "closure_masses": [175.0]}})  # fmt: skip


def test_scan_stream_scores_every_streamed_shape(tiny_study, monkeypatch):
    import obsforge.stream_scan
    from obsforge.stream_scan import StreamScanStudy, run_stream_scan

    monkeypatch.setattr(obsforge.stream_scan, "MASSES_PER_CHUNK", 2)  # 5 masses: 3 chunks

    config = stream_of(tiny_study).model_dump()
    config["top_jets"]["masses"] = [170.0, 175.0, 180.0]
    config["density"] = {
        "model": "mlp",
        "ensemble": 2,
        "holdout_masses": [175.0],
        "mlp": {"layers": 2, "hidden": 16},
        "training": {"epochs": 1, "batch_size": 512, "samples_per_epoch": 2000},
        "fit_samples": 20_000,
        "closure": {"shapes": [[1.0, 1.0]], "n_bins": 4, "n_samples": 20_000},
    }
    config["search"] = {
        "reference_shapes": [[1.0, 1.0], [1.0, 1.4]],
        "n_bins": 4,
        "mean_step": 2.5,
        "surrogate_samples": 50_000,
        "mean_bandwidth": 10.01,
        "n_jets": 200,
        "experiments": 20,
        "coverage_experiments": 50,
        "grid_points": 51,
        "amortised_simulations": 2000,
        "nre": {"simulations": 1000, "max_epochs": 3},
    }
    study = validate_config(StreamScanStudy, config)
    result = run_stream_scan(study, INLINE)
    scan = json.loads((result.path / "scan.json").read_text())
    n_shapes = len(study.stream.shape_list())
    assert set(scan["hpd95_width"]) == {"nre", "exact", "moments"}
    assert all(len(w) == n_shapes for w in scan["hpd95_width"].values())
    assert set(scan["rank_correlation"]) == {"exact_vs_nre", "exact_vs_moments", "nre_vs_moments"}
    for boot in scan["bootstrap_best"].values():
        assert 0 < sum(boot["fraction"]) <= 1 + 1e-9
    assert "moments_hpd95_half_width" in scan["reference"]["(1, 1)"]
    assert {row["m_top"] for row in scan["pythia_mass_fit"]} == {175.0}
    assert any("no surrogate" in line for line in result.summary())
    figures = StageResult.open(result.path).plot()  # drawn again from scan.json
    assert result.path / "report" / "hpd_width.png" in figures
    data = np.load(result.upstream("search-data-stream").path / "search_data.npz")
    # the ensemble of two gives the expectation a covariance; the PYTHIA means are fractions
    assert data["model_cov"].shape == data["means"].shape + (4,)
    assert np.all(np.diagonal(data["model_cov"], axis1=2, axis2=3) >= 0)
    assert 0 < data["pythia_means"].sum(axis=2).min() and data["pythia_means"].max() < 1
    # the surrogate's table, built in chunks of the mass grid, is that of one call
    from obsforge.density.surrogate import EEECSurrogate
    from obsforge.observables.eeec_stream import FINE_EDGES
    from obsforge.search.stream_data import surrogate_curves

    tables = result.upstream("search-data-stream")
    assert len(list(tables.path.glob("fractions-*.npz"))) == 3
    surrogate = EEECSurrogate.load(tables.upstream("density-stream").path / "model.pt")
    whole = surrogate.shape_fractions(
        study.stream.shape_list(), data["mean_masses"], FINE_EDGES, 50_000, 0
    )
    means, _ = surrogate_curves(*whole, data["merge"])
    padded = data["merge"].sum(axis=2) == 0  # padded bins are set to 0 in the table
    np.testing.assert_array_equal(data["means"], np.where(padded, 0.0, means))
    with pytest.raises(ValueError, match="reference_shapes"):
        validate_config(StreamScanStudy, {**config, "search": {
            **config["search"], "reference_shapes": [[1.05, 1.05]]}})  # fmt: skip
