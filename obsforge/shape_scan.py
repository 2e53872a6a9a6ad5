"""The shape scan: which triangle shape (n1, n2) of the EEEC measures the top mass best?

Stages (after ``density`` of :mod:`obsforge.eeec_density`):

``search-data``  the observable of every shape (zeta1 bins of equal weight at the prior
                 centre), its expectation from the surrogate on a fine mass grid, and the mean
                 and jet-to-jet covariance from held-out PYTHIA jets at each generated mass.
``scan``         neural ratio estimation (sbi) of p(m_top | x) -- one estimator amortised over
                 all shapes, or one per shape (Dask) -- scored by the median 95% HPD width of
                 pseudo-experiments at the true mass; the exact Gaussian-likelihood posterior
                 of the same pseudo-experiments as a reference; expected coverage; report.

Reference: arXiv:2508.10988 (best shape (1.02, 1.99), m_top = 172.4 +- 0.31 GeV).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from pydantic import model_validator

from obsforge.config import Config
from obsforge.density.data import SampleConfig
from obsforge.density.surrogate import EEECSurrogate
from obsforge.eeec_density import DensityStudy, run_density
from obsforge.observables.shapes import TriangleShape
from obsforge.parallel import Execution, dask_client, map_tasks
from obsforge.rundir import StageDir, StageResult
from obsforge.scan_report import plot_scan, report_lines
from obsforge.search.nre import NREConfig, save_estimator
from obsforge.search.scan import (
    AMORTISED,
    LEVELS,
    SearchSettings,
    checked_covariance,
    jet_histograms,
    pythia_mass_fit,
    scan_record,
    scan_simulator,
    score_shapes,
    search_data,
    shape_position,
    simulate_and_train,
    surrogate_pulls,
    training_plan,
)
from obsforge.search.simulator import jet_covariance
from obsforge.top_eeec import run_eeec, triplet_chunks

__all__ = ["ScanStudy", "SearchSettings", "report_lines", "run_scan", "run_search_data"]

log = logging.getLogger(__name__)

SEARCH_DATA_VERSION = 2  # 2: the summary's masses are a list of rows with their m_top
SCAN_VERSION = 1


class ScanStudy(DensityStudy):
    """A density study with a ``search`` section."""

    search: SearchSettings = SearchSettings()

    @model_validator(mode="after")
    def _prior(self) -> ScanStudy:
        trained = self.training_masses()
        low, high = self.prior()
        if not min(trained) <= low < high <= max(trained):
            raise ValueError(
                f"search.prior = [{low}, {high}]: must be an increasing range inside the "
                f"trained masses [{min(trained)}, {max(trained)}] (the surrogate does not "
                "extrapolate)"
            )
        if not low < self.search.true_mass < high:
            raise ValueError(
                f"search.true_mass = {self.search.true_mass}: must lie inside the prior "
                f"({low}, {high})"
            )
        for n1, n2 in self.search.reference_shapes:
            TriangleShape(n1=n1, n2=n2, delta=self.search.shapes.delta)
        return self

    def prior(self) -> tuple[float, float]:
        if self.search.prior is not None:
            return tuple(self.search.prior)
        trained = self.training_masses()
        return min(trained), max(trained)


# -- search-data ---------------------------------------------------------------------------------
class _SearchDataConfig(Config):
    shapes: list[tuple[float, float, float]]
    n_bins: int
    bin_coverage: float
    prior: tuple[float, float]
    mean_step: float
    surrogate_samples: int
    jets_per_mass: int
    sample: SampleConfig
    train_masses: list[float]


def run_search_data(study: ScanStudy, execution: Execution | None = None) -> StageResult:
    """Observable definitions, surrogate expectations and PYTHIA covariances of all shapes."""
    density = run_density(study, execution)
    eeec = run_eeec(study, execution)
    settings = study.search
    shapes = settings.all_shapes()
    low, high = study.prior()
    config = _SearchDataConfig(
        shapes=[(s.n1, s.n2, s.delta) for s in shapes],
        n_bins=settings.n_bins,
        bin_coverage=settings.bin_coverage,
        prior=(low, high),
        mean_step=settings.mean_step,
        surrogate_samples=settings.surrogate_samples,
        jets_per_mass=settings.jets_per_mass,
        sample=study.density.sample,
        train_masses=study.training_masses(),
    )
    stage = StageDir(
        study.runs_dir,
        study.name,
        "search-data",
        config,
        [density.stage.hash, eeec.stage.hash],
        SEARCH_DATA_VERSION,
    )
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"surrogate_samples": 0})
    surrogate = EEECSurrogate.load(density.path / "model.pt")
    references = [shape_position(shapes, n1, n2) for n1, n2 in settings.reference_shapes]
    arrays = search_data(surrogate, shapes, settings, (low, high), references)
    cov_masses, covariances, data_means, jet_counts = [], [], [], []
    for m_top in study.top_jets.masses:
        split = study.density.sample if m_top in study.training_masses() else None
        chunks = triplet_chunks(eeec, {m_top})
        h, w = jet_histograms(chunks, shapes, arrays["edges"], settings.jets_per_mass, split)
        if len(w) < 2:
            raise ValueError(
                f"m_top = {m_top:g}: only {len(w)} PYTHIA test jets; generate more events"
            )
        cov_masses.append(m_top)
        covariances.append(checked_covariance(jet_covariance(h, w), shapes, m_top, len(w)))
        data_means.append(h.sum(0) / w.sum())
        jet_counts.append(len(w))
    arrays.update(
        cov_masses=np.array(cov_masses),
        jet_cov=np.stack(covariances),
        data_means=np.stack(data_means),
        jet_counts=np.array(jet_counts),
    )
    stage.write("search_data.npz", lambda tmp: np.savez(tmp, **arrays))
    pulls = surrogate_pulls(arrays, (low, high))
    summary = {
        "n_shapes": len(shapes),
        "masses": [
            {"m_top": m, "n_jets": n, "rms_pull_surrogate_vs_pythia": pulls.get(m)}
            for m, n in zip(cov_masses, jet_counts, strict=True)
        ],
    }
    return stage.complete(["search_data.npz"], summary)


# -- scan ----------------------------------------------------------------------------------------
class _ScanConfig(Config):
    n_jets: int
    true_mass: float
    experiments: int
    coverage_experiments: int
    grid_points: int
    mode: str
    amortised_simulations: int
    nre: NREConfig
    seed: int


def _train_task(
    stage: StageDir, name: str, threads: int | None = None, **training: Any
) -> dict[str, Any]:
    """Simulate and train one ratio estimator (``training``: the arguments of
    :func:`~obsforge.search.scan.simulate_and_train`), unless a valid one is already on disk (an
    interrupted scan resumes here). ``threads``: torch threads (1 on Dask workers, which each
    own one core)."""
    if stage.is_valid(name):
        return {"name": name, "reused": True}
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    estimator = simulate_and_train(**training)
    stage.write(name, lambda tmp: save_estimator(estimator, tmp))
    return {"name": name, "reused": False, **estimator.info}


def run_scan(study: ScanStudy, execution: Execution | None = None) -> StageResult:
    """Score every shape by the 95% HPD width of its m_top posterior; write the report."""
    execution = execution or Execution()
    data = run_search_data(study, execution)
    settings = study.search
    config = _ScanConfig(**settings.model_dump(include=set(_ScanConfig.model_fields)))
    stage = StageDir(study.runs_dir, study.name, "scan", config, [data.stage.hash], SCAN_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"scan": settings.seed, "nre": settings.nre.seed})
    arrays = dict(np.load(data.stage.output_path("search_data.npz")))
    shapes, reference = arrays["shapes"], [int(i) for i in arrays["reference"]]
    n_shapes = len(shapes)
    prior = study.prior()
    grid = np.linspace(*prior, settings.grid_points)
    simulator = scan_simulator(arrays, settings.n_jets)
    rng = np.random.default_rng(settings.seed)

    tasks = training_plan(n_shapes, reference, settings)
    common = dict(stage=stage, arrays=arrays, n_jets=settings.n_jets, prior=prior, nre=settings.nre)
    for j, task in enumerate(tasks):
        task.update(common, seed=settings.nre.seed + 1000 * j)
    with dask_client(execution if settings.mode == "per_shape" else Execution(workers=0)) as client:
        for task in tasks:
            task["threads"] = None if client is None else 1
        trainings = map_tasks(client, _train_task, tasks, "ratio estimators")

    amortised = settings.mode == "amortised"
    scores = score_shapes(
        simulator,
        shapes,
        grid,
        prior,
        reference,
        {
            t["shape_indices"][0]: stage.output_path(t["name"])
            for t in tasks
            if t["name"] != AMORTISED
        },
        stage.output_path(AMORTISED) if amortised else None,
        settings.true_mass,
        settings.experiments,
        settings.coverage_experiments,
        rng,
    )
    best, levels, x, index = scores["best"], scores["levels"], scores["x"], scores["index"]
    pythia = pythia_mass_fit(arrays, [best] + reference, grid)
    result = scan_record(scores, shapes, reference, pythia, prior, settings)
    result["trainings"] = trainings
    stage.write("scan.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    plot_scan(result, stage, simulator, settings, [best, reference[0]], grid, x, index)
    summary = {k: result[k] for k in ("best", "best_exact", "reference", "n_jets", "mode")}
    position = {level: int(np.flatnonzero(np.isclose(levels, level))[0]) for level in LEVELS}
    summary["coverage"] = {
        shape: {
            method: {f"{level:g}": row[position[level]] for level in LEVELS}
            for method, row in c.items()
        }
        for shape, c in scores["coverage"].items()
    }
    return stage.complete(["scan.json"], summary)
