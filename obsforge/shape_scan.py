"""The shape scan: which triangle shape (n1, n2) of the EEEC measures the top mass best?

Stages (after ``density`` of :mod:`obsforge.eeec_density`):

``search-data``  the observables, their surrogate expectations and PYTHIA covariances
                 (:mod:`obsforge.search_data`, with the study config :class:`ScanStudy`);
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

from obsforge.config import Config
from obsforge.parallel import Execution, dask_client, map_tasks
from obsforge.rundir import StageDir, StageResult
from obsforge.scan_report import plot_scan, report_lines
from obsforge.search.nre import NREConfig, save_estimator
from obsforge.search.scan import (
    AMORTISED,
    LEVELS,
    SearchSettings,
    pythia_mass_fit,
    scan_record,
    scan_simulator,
    score_shapes,
    simulate_and_train,
    training_plan,
)
from obsforge.search_data import ScanStudy, run_search_data

__all__ = [
    "ScanStudy",
    "SearchSettings",
    "report_lines",
    "run_scan",
    "run_search_data",
    "scan_stage",
]

log = logging.getLogger(__name__)

SCAN_VERSION = 2  # 2: bootstrap of the best shapes, rank correlations, surrogate covariance


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
    return scan_stage(study.runs_dir, study.name, study.search, study.prior(), data, execution)


def scan_stage(
    runs_dir,
    name: str,
    settings: SearchSettings,
    prior: tuple[float, float],
    data: StageResult,
    execution: Execution,
) -> StageResult:
    """The ``scan`` stage on the tables of a search-data stage (``search-data`` of generated
    jets, or ``search-data-stream`` of a streamed sample, which adds PYTHIA's own expectation:
    the exact-likelihood widths without a surrogate)."""
    config = _ScanConfig(**settings.model_dump(include=set(_ScanConfig.model_fields)))
    stage = StageDir(runs_dir, name, "scan", config, [data.stage.hash], SCAN_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"scan": settings.seed, "nre": settings.nre.seed})
    arrays = dict(np.load(data.stage.output_path("search_data.npz")))
    shapes, reference = arrays["shapes"], [int(i) for i in arrays["reference"]]
    n_shapes = len(shapes)
    grid = np.linspace(*prior, settings.grid_points)
    simulator = scan_simulator(arrays, settings.n_jets)
    # a streamed sample also has PYTHIA's own expectation: exact widths without a surrogate
    without_surrogate = (
        scan_simulator(arrays, settings.n_jets, "pythia_means")
        if "pythia_means" in arrays
        else None
    )
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
        without_surrogate,
    )
    best, levels, x, index = scores["best"], scores["levels"], scores["x"], scores["index"]
    pythia = pythia_mass_fit(arrays, [best] + reference, grid)
    result = scan_record(scores, shapes, reference, pythia, prior, settings)
    result["trainings"] = trainings
    stage.write("scan.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    plot_scan(result, stage, simulator, settings, [best, reference[0]], grid, x, index)
    keys = ("best", "best_exact", "best_moments", "reference", "n_jets", "mode",
            "bootstrap_best", "rank_correlation")  # fmt: skip
    summary = {k: result[k] for k in keys if k in result}
    position = {level: int(np.flatnonzero(np.isclose(levels, level))[0]) for level in LEVELS}
    summary["coverage"] = {
        shape: {
            method: {f"{level:g}": row[position[level]] for level in LEVELS}
            for method, row in c.items()
        }
        for shape, c in scores["coverage"].items()
    }
    return stage.complete(["scan.json"], summary)
