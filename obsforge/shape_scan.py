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
from typing import Any, Literal

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config
from obsforge.density.data import TEST, SampleConfig, jet_split
from obsforge.density.surrogate import EEECSurrogate
from obsforge.eeec_density import DensityStudy, run_density
from obsforge.observables.shapes import TriangleShape
from obsforge.parallel import Execution, dask_client, map_tasks
from obsforge.progress import progress
from obsforge.rundir import StageDir, StageResult
from obsforge.scan_report import plot_scan, report_lines
from obsforge.search.nre import NREConfig, save_estimator
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.scan import (
    LEVELS,
    checked_covariance,
    pythia_mass_fit,
    scan_simulator,
    score_shapes,
    shape_label,
    shape_position,
    simulate_and_train,
)
from obsforge.search.simulator import ShapeSimulator, jet_covariance
from obsforge.top_eeec import run_eeec, triplet_files

__all__ = ["ScanStudy", "SearchSettings", "report_lines", "run_scan", "run_search_data"]

log = logging.getLogger(__name__)

SEARCH_DATA_VERSION = 1
SCAN_VERSION = 1


class SearchSettings(Config):
    """The ``search`` section of a study config."""

    shapes: ShapeGrid = ShapeGrid()
    reference_shapes: list[tuple[float, float]] = Field(
        [(1.0, 1.0), (1.0, 2.0)],
        min_length=1,
        description="shapes also trained one by one (to check the amortised estimator) and "
        "fitted to PYTHIA jets; the first is the reference the best shape is compared with",
    )
    n_bins: int = Field(12, ge=2, description="zeta1 bins per shape")
    bin_coverage: float = Field(0.98, gt=0, le=1, description="central part of the marginal")
    prior: tuple[float, float] | None = Field(
        None, description="uniform prior range of m_top in GeV (default: the trained masses)"
    )
    mean_step: float = Field(0.25, gt=0, description="GeV between surrogate expectations")
    surrogate_samples: int = Field(2_000_000, ge=10_000, le=MAX_COUNT, description="per mass")
    jets_per_mass: int = Field(
        4000, ge=10, le=MAX_COUNT, description="PYTHIA test jets for the covariance"
    )
    n_jets: int = Field(5000, ge=1, le=MAX_COUNT, description="jets per pseudo-experiment")
    true_mass: float = Field(172.5, description="m_top of the scoring pseudo-experiments")
    experiments: int = Field(
        300, ge=10, le=MAX_COUNT, description="scoring pseudo-experiments per shape"
    )
    coverage_experiments: int = Field(2000, ge=10, le=MAX_COUNT, description="per coverage test")
    grid_points: int = Field(401, ge=11, description="m_top grid of the posteriors")
    mode: Literal["amortised", "per_shape"] = "amortised"
    amortised_simulations: int = Field(200_000, ge=1000, le=MAX_COUNT)
    nre: NREConfig = NREConfig()
    seed: int = 0

    def all_shapes(self) -> list[TriangleShape]:
        """The grid shapes followed by the reference shapes that are not on the grid."""
        shapes = self.shapes.shapes()
        known = {(s.n1, s.n2) for s in shapes}
        for n1, n2 in self.reference_shapes:
            if (n1, n2) not in known:
                shapes.append(TriangleShape(n1=n1, n2=n2, delta=self.shapes.delta))
                known.add((n1, n2))
        return shapes


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
    n = settings.surrogate_samples
    centre = 0.5 * (low + high)
    edges = shape_edges(
        *surrogate.weighted_samples(n, centre, seed=0),
        shapes,
        settings.n_bins,
        settings.bin_coverage,
    )
    # One seed for every mass: common random numbers make the expectation smooth in m_top.
    mean_masses = np.linspace(low, high, int(round((high - low) / settings.mean_step)) + 1)
    means = np.stack(
        [
            shape_histograms(*surrogate.weighted_samples(n, m, seed=0), shapes, edges)
            for m in progress(mean_masses, "surrogate expectations", total=len(mean_masses))
        ]
    )
    reference = [shape_position(shapes, n1, n2) for n1, n2 in settings.reference_shapes]
    arrays: dict[str, np.ndarray] = {
        "shapes": np.array(config.shapes),
        "edges": edges,
        "mean_masses": mean_masses,
        "means": means,
        "reference": np.array(reference),
    }
    cov_masses, covariances, data_means, jet_counts = [], [], [], {}
    for m_top in study.top_jets.masses:
        h, w = _pythia_jets(eeec, study, m_top, shapes, edges)
        cov_masses.append(m_top)
        covariances.append(checked_covariance(jet_covariance(h, w), shapes, m_top, len(w)))
        data_means.append(h.sum(0) / w.sum())
        jet_counts[f"{m_top:g}"] = len(w)
    arrays.update(
        cov_masses=np.array(cov_masses),
        jet_cov=np.stack(covariances),
        data_means=np.stack(data_means),
        jet_counts=np.array([jet_counts[f"{m:g}"] for m in cov_masses]),
    )
    stage.write("search_data.npz", lambda tmp: np.savez(tmp, **arrays))
    # Surrogate vs PYTHIA at the generated masses: the pull of the means per bin.
    pulls = {}
    for i, m_top in enumerate(cov_masses):
        if low <= m_top <= high:
            mu = ShapeSimulator(mean_masses, means, cov_masses, np.stack(covariances), 1).mean(
                np.full(len(shapes), m_top), np.arange(len(shapes))
            )
            sigma = np.sqrt(
                np.diagonal(covariances[i], axis1=1, axis2=2) / jet_counts[f"{m_top:g}"]
            )
            pulls[f"{m_top:g}"] = float(np.sqrt(np.mean(((mu - data_means[i]) / sigma) ** 2)))
    summary = {"n_shapes": len(shapes), "jets": jet_counts, "rms_pull_surrogate_vs_pythia": pulls}
    return stage.complete(["search_data.npz"], summary)


def _pythia_jets(eeec, study: ScanStudy, m_top: float, shapes, edges) -> tuple[np.ndarray, ...]:
    """Per-jet contents h (J, S, K) and total weights w (J,) of up to ``jets_per_mass`` jets at
    m_top that the surrogate never saw (test jets of training masses, any jet of a hold-out)."""
    trained = m_top in study.training_masses()
    cap = study.search.jets_per_mass
    hs, ws, have = [], [], 0
    for path in triplet_files(eeec, m_top):
        if have >= cap:
            break
        chunk = ak.from_parquet(path)
        jet_id = ak.to_numpy(chunk.jet_id)
        use = (
            jet_split(jet_id, study.density.sample) == TEST
            if trained
            else np.ones(len(jet_id), bool)
        )
        ids = np.unique(jet_id[use])[: cap - have]
        use &= np.isin(jet_id, ids)
        local = np.searchsorted(ids, jet_id[use])
        zeta = np.stack([ak.to_numpy(chunk[f"zeta{i}"])[use] for i in (1, 2, 3)], 1)
        weight = ak.to_numpy(chunk.weight)[use].astype(np.float64)
        ws.append(np.bincount(local, weight, minlength=len(ids)))
        hs.append(shape_histograms(zeta.astype(np.float64), weight, shapes, edges, local, len(ids)))
        have += len(ids)
    if have < 2:
        raise ValueError(f"m_top = {m_top:g}: only {have} PYTHIA test jets; generate more events")
    return np.concatenate(hs), np.concatenate(ws)


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

    # Training: the amortised estimator, and one per shape (reference shapes, or all).
    per_shape = range(n_shapes) if settings.mode == "per_shape" else reference
    tasks = [
        dict(name=f"nre-shape{i}.pt", shape_indices=[i], n_simulations=settings.nre.simulations)
        for i in per_shape
    ]
    if settings.mode == "amortised":
        tasks.insert(
            0,
            dict(
                name="nre-amortised.pt",
                shape_indices=list(range(n_shapes)),
                n_simulations=settings.amortised_simulations,
            ),
        )
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
        {i: stage.output_path(f"nre-shape{i}.pt") for i in per_shape},
        stage.output_path("nre-amortised.pt") if amortised else None,
        settings.true_mass,
        settings.experiments,
        settings.coverage_experiments,
        rng,
    )
    widths, per_shape_widths = scores["widths"], scores["per_shape_widths"]
    best, best_exact, levels = scores["best"], scores["best_exact"], scores["levels"]
    coverage, x, index = scores["coverage"], scores["x"], scores["index"]
    pythia = pythia_mass_fit(arrays, [best] + reference, grid)
    result = {
        "prior": list(prior),
        "n_jets": settings.n_jets,
        "true_mass": settings.true_mass,
        "mode": settings.mode,
        "nre_method": settings.nre.method,
        "shapes": shapes.tolist(),
        "hpd95_width": {k: v[0.95].tolist() for k, v in widths.items()},
        "hpd68_width": {k: v[0.68].tolist() for k, v in widths.items()},
        "per_shape_hpd95_width": {
            shape_label(shapes[i]): float(v[0.95][0]) for i, v in per_shape_widths.items()
        },
        "best": {
            "shape": shape_label(shapes[best]),
            "hpd95_half_width": float(widths["nre"][0.95][best] / 2),
        },
        "best_exact": {
            "shape": shape_label(shapes[best_exact]),
            "hpd95_half_width": float(widths["exact"][0.95][best_exact] / 2),
        },
        "reference": {
            shape_label(shapes[i]): {
                "nre_hpd95_half_width": float(widths["nre"][0.95][i] / 2),
                "exact_hpd95_half_width": float(widths["exact"][0.95][i] / 2),
            }
            for i in reference
        },
        "coverage_levels": levels.tolist(),
        "coverage": coverage,
        "pythia_mass_fit": pythia,
        "trainings": trainings,
    }
    stage.write("scan.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    plot_scan(result, stage, simulator, settings, [best, reference[0]], grid, x, index)
    summary = {k: result[k] for k in ("best", "best_exact", "reference", "n_jets", "mode")}
    position = {level: int(np.flatnonzero(np.isclose(levels, level))[0]) for level in LEVELS}
    summary["coverage"] = {
        shape: {
            method: {f"{level:g}": row[position[level]] for level in LEVELS}
            for method, row in c.items()
        }
        for shape, c in coverage.items()
    }
    return stage.complete(["scan.json"], summary)
