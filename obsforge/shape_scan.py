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
from obsforge.search.nre import NREConfig, grid_log_ratio, load_estimator, save_estimator, train_nre
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.posterior import batch_hpd_credibility, batch_hpd_width
from obsforge.search.simulator import ShapeSimulator, jet_covariance
from obsforge.top_eeec import run_eeec

__all__ = ["ScanStudy", "SearchSettings", "report_lines", "run_scan", "run_search_data"]

log = logging.getLogger(__name__)

SEARCH_DATA_VERSION = 1
SCAN_VERSION = 1
LEVELS = (0.68, 0.95)


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
    reference = [_shape_position(shapes, n1, n2) for n1, n2 in settings.reference_shapes]
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
        covariances.append(_checked_covariance(jet_covariance(h, w), shapes, m_top, len(w)))
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


def _checked_covariance(cov: np.ndarray, shapes, m_top: float, n_jets: int) -> np.ndarray:
    """The per-jet covariance (S, K, K), refused when a shape's matrix is singular: a bin that no
    PYTHIA jet fills has no estimated fluctuation, and the Gaussian likelihood would be infinite."""
    scale = np.trace(cov, axis1=1, axis2=2) / cov.shape[1]
    singular = np.flatnonzero((scale <= 0) | (np.linalg.eigvalsh(cov)[:, 0] <= 1e-12 * scale))
    if len(singular):
        s = singular[0]
        c = cov[s]
        empty = np.flatnonzero(np.diagonal(c) <= 1e-12 * max(scale[s], 1e-300)).tolist()
        raise ValueError(
            f"shape ({shapes[s].n1:g}, {shapes[s].n2:g}) at m_top = {m_top:g}: the jet "
            f"covariance of its {len(c)} bins is singular (bins {empty} get no weight from "
            f"{n_jets} PYTHIA jets); the surrogate's bin edges do not match the PYTHIA "
            "triplets or there are too few jets: train the surrogate further, raise "
            "events_per_mass / search.jets_per_mass, or use fewer search.n_bins"
        )
    return cov


def _shape_position(shapes: list[TriangleShape], n1: float, n2: float) -> int:
    for i, s in enumerate(shapes):
        if np.isclose(s.n1, n1) and np.isclose(s.n2, n2):
            return i
    raise ValueError(f"shape ({n1:g}, {n2:g}) is not among the scanned shapes")


def _pythia_jets(eeec, study: ScanStudy, m_top: float, shapes, edges) -> tuple[np.ndarray, ...]:
    """Per-jet contents h (J, S, K) and total weights w (J,) of up to ``jets_per_mass`` jets at
    m_top that the surrogate never saw (test jets of training masses, any jet of a hold-out)."""
    trained = m_top in study.training_masses()
    cap = study.search.jets_per_mass
    files = sorted(
        name
        for name in eeec.manifest["outputs"]
        if name.startswith(f"triplets-m{m_top:.3f}-") and name.endswith(".parquet")
    )
    hs, ws, have = [], [], 0
    for name in files:
        if have >= cap:
            break
        chunk = ak.from_parquet(eeec.stage.output_path(name))
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


def _simulator(arrays: dict[str, np.ndarray], n_jets: int) -> ShapeSimulator:
    return ShapeSimulator(
        arrays["mean_masses"], arrays["means"], arrays["cov_masses"], arrays["jet_cov"], n_jets
    )


def _features(x: np.ndarray, shapes: np.ndarray, index: np.ndarray, amortised: bool):
    """Network input: the observable, and for the amortised estimator also (n1, n2)."""
    return np.concatenate([x, shapes[index, :2]], axis=1) if amortised else x


def _train_task(
    stage: StageDir,
    name: str,
    arrays: dict[str, np.ndarray],
    n_jets: int,
    shape_indices: list[int],
    n_simulations: int,
    prior: tuple[float, float],
    nre: NREConfig,
    seed: int,
    threads: int | None = None,
) -> dict[str, Any]:
    """Simulate and train one ratio estimator (one shape, or all shapes when amortised), unless
    a valid one is already on disk (an interrupted scan resumes here). ``threads``: torch
    threads (1 on Dask workers, which each own one core)."""
    if stage.is_valid(name):
        return {"name": name, "reused": True}
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    simulator = _simulator(arrays, n_jets)
    theta = rng.uniform(*prior, n_simulations)
    index = rng.choice(np.asarray(shape_indices), n_simulations)
    x = simulator.simulate(theta, index, rng)
    amortised = len(shape_indices) > 1
    estimator = train_nre(theta, _features(x, arrays["shapes"], index, amortised), *prior, nre)
    stage.write(name, lambda tmp: save_estimator(estimator, tmp))
    return {"name": name, "reused": False, **estimator.info}


def _log_posterior(estimator_path, x, shapes, index, grid, amortised) -> np.ndarray:
    """log p(m | x) + const on the grid (uniform prior): the estimated log ratio."""
    estimator = load_estimator(estimator_path)
    return grid_log_ratio(estimator, _features(x, shapes, index, amortised), grid)


def _coverage(credibility: np.ndarray, levels: np.ndarray) -> list[float]:
    return [float(np.mean(credibility <= level)) for level in levels]


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
    step = grid[1] - grid[0]
    simulator = _simulator(arrays, settings.n_jets)
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

    # Scoring: pseudo-experiments of n_jets jets at the true mass, the same for every method.
    index = np.repeat(np.arange(n_shapes), settings.experiments)
    x = simulator.simulate(np.full(len(index), settings.true_mass), index, rng)
    widths = {
        "exact": _median_widths(simulator.log_likelihood(x, index, grid), step, n_shapes),
    }
    if settings.mode == "amortised":
        log_post = _log_posterior(
            stage.output_path("nre-amortised.pt"), x, shapes, index, grid, True
        )
        widths["nre"] = _median_widths(log_post, step, n_shapes)
    else:
        widths["nre"] = {level: np.empty(n_shapes) for level in LEVELS}
    per_shape_widths = {}
    for i in per_shape:
        rows = index == i
        log_post = _log_posterior(
            stage.output_path(f"nre-shape{i}.pt"), x[rows], shapes, index[rows], grid, False
        )
        per_shape_widths[i] = _median_widths(log_post, step, 1)
        if settings.mode == "per_shape":
            for level in LEVELS:
                widths["nre"][level][i] = per_shape_widths[i][level][0]
    best = int(np.argmin(widths["nre"][0.95]))
    best_exact = int(np.argmin(widths["exact"][0.95]))

    # Expected coverage: theta from the prior, for the best and the reference shapes.
    levels = np.unique(np.round(np.r_[np.linspace(0.05, 0.95, 19), LEVELS], 2))
    coverage = {}
    for i in dict.fromkeys([best] + reference):
        theta = rng.uniform(*prior, settings.coverage_experiments)
        idx = np.full(len(theta), i)
        xc = simulator.simulate(theta, idx, rng)
        name = "nre-amortised.pt" if settings.mode == "amortised" else f"nre-shape{i}.pt"
        log_post = _log_posterior(
            stage.output_path(name), xc, shapes, idx, grid, settings.mode == "amortised"
        )
        coverage[_label(shapes[i])] = {
            "nre": _coverage(batch_hpd_credibility(log_post, grid, theta), levels),
            "exact": _coverage(
                batch_hpd_credibility(simulator.log_likelihood(xc, idx, grid), grid, theta),
                levels,
            ),
        }

    pythia = _pythia_mass_fit(arrays, [best] + reference, grid)
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
            _label(shapes[i]): float(v[0.95][0]) for i, v in per_shape_widths.items()
        },
        "best": {
            "shape": _label(shapes[best]),
            "hpd95_half_width": float(widths["nre"][0.95][best] / 2),
        },
        "best_exact": {
            "shape": _label(shapes[best_exact]),
            "hpd95_half_width": float(widths["exact"][0.95][best_exact] / 2),
        },
        "reference": {
            _label(shapes[i]): {
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
    report = stage.path / "report"
    _plot_heatmap(result, report / "hpd_width")
    _plot_posteriors(stage, simulator, settings, shapes, [best, reference[0]], grid, x, index)
    _plot_coverage(result, report / "coverage")
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


def _label(shape: np.ndarray) -> str:
    return f"({shape[0]:g}, {shape[1]:g})"


def _median_widths(log_post: np.ndarray, step: float, n_shapes: int) -> dict[float, np.ndarray]:
    """Median HPD widths per shape of posteriors ordered shape by shape: (S * P, G) -> (S,)."""
    return {
        level: np.median(batch_hpd_width(log_post, step, level).reshape(n_shapes, -1), axis=1)
        for level in LEVELS
    }


def _pythia_mass_fit(arrays, shape_indices: list[int], grid: np.ndarray) -> list[dict[str, Any]]:
    """Fit m_top to all held-out PYTHIA jets of each generated mass inside the prior, with the
    exact Gaussian likelihood of the surrogate expectation: (estimate - truth) / sigma tests the
    surrogate at the statistical precision of the whole test sample."""
    from obsforge.search.posterior import GridPosterior

    rows = []
    for j, m_top in enumerate(arrays["cov_masses"]):
        if not grid[0] < m_top < grid[-1]:
            continue
        simulator = _simulator(arrays, int(arrays["jet_counts"][j]))
        for i in dict.fromkeys(shape_indices):
            x = arrays["data_means"][j, i][None]
            log_l = simulator.log_likelihood(x, np.array([i]), grid)[0]
            posterior = GridPosterior.from_log_density(grid, log_l)
            sigma = posterior.hpd(0.68).width / 2
            rows.append(
                {
                    "m_top": float(m_top),
                    "shape": _label(arrays["shapes"][i]),
                    "jets": int(arrays["jet_counts"][j]),
                    "estimate": posterior.mode,
                    "sigma": sigma,
                    "pull": (posterior.mode - float(m_top)) / sigma,
                }
            )
    return rows


def _plot_heatmap(result: dict[str, Any], stem) -> None:
    """Median 95% HPD half-width over the (n1, n2) grid (n2 >= n1), NRE and exact likelihood."""
    from obsforge.plotting import new_figure, save_figure

    shapes = np.asarray(result["shapes"])
    n1s, n2s = np.unique(shapes[:, 0]), np.unique(shapes[:, 1])
    fig, axes = new_figure(ncols=2, figsize=(15, 6), squeeze=False)
    for ax, method in zip(axes[0], ("nre", "exact"), strict=True):
        table = np.full((len(n2s), len(n1s)), np.nan)
        for (n1, n2, _), width in zip(shapes, result["hpd95_width"][method], strict=True):
            table[np.searchsorted(n2s, n2), np.searchsorted(n1s, n1)] = width / 2
        mesh = ax.pcolormesh(_cell_edges(n1s), _cell_edges(n2s), table, cmap="viridis_r")
        colorbar = fig.colorbar(mesh, ax=ax)
        colorbar.set_label("95% HPD half-width [GeV]", fontsize=13)
        colorbar.ax.tick_params(labelsize=11)
        best = result["best" if method == "nre" else "best_exact"]["shape"]
        n1, n2 = (float(v) for v in best.strip("()").split(","))
        ax.plot(n1, n2, "r*", ms=14, label=f"best {best}")
        ax.plot(1, 2, "wo", mfc="none", ms=12, label="published (1.02, 1.99)")
        ax.set_xlabel("$n_1$")
        ax.set_ylabel("$n_2$")
        title = (
            f"{result['nre_method']} ({result['mode']})" if method == "nre" else "exact likelihood"
        )
        ax.set_title(f"{title}, {result['n_jets']} jets", fontsize=12)
        ax.legend(fontsize=9, loc="lower right")
    save_figure(fig, stem)


def _cell_edges(axis: np.ndarray) -> np.ndarray:
    if len(axis) == 1:
        return np.array([axis[0] - 0.05, axis[0] + 0.05])
    mid = 0.5 * (axis[1:] + axis[:-1])
    return np.r_[2 * axis[0] - mid[0], mid, 2 * axis[-1] - mid[-1]]


def _plot_posteriors(stage, simulator, settings, shapes, indices, grid, x, index) -> None:
    """The posterior of the first scoring pseudo-experiment for the best and reference shapes."""
    from obsforge.plotting import new_figure, save_figure
    from obsforge.search.posterior import GridPosterior

    fig, ax = new_figure(figsize=(7, 5))
    amortised = settings.mode == "amortised"
    for i, color in zip(dict.fromkeys(indices), ("tab:red", "tab:blue"), strict=False):
        row = np.flatnonzero(index == i)[:1]
        name = "nre-amortised.pt" if amortised else f"nre-shape{i}.pt"
        nre = _log_posterior(stage.output_path(name), x[row], shapes, index[row], grid, amortised)
        exact = simulator.log_likelihood(x[row], index[row], grid)
        for log_p, style, what in ((nre[0], "-", "NRE"), (exact[0], ":", "exact")):
            posterior = GridPosterior.from_log_density(grid, log_p)
            region = posterior.hpd(0.95)
            ax.plot(
                grid,
                posterior.density,
                style,
                color=color,
                label=f"{_label(shapes[i])} {what}: 95% HPD width {region.width:.2f} GeV",
            )
    ax.axvline(settings.true_mass, color="grey", lw=1)
    ax.set_xlabel("$m_t$ [GeV]")
    ax.set_ylabel("posterior density [1/GeV]")
    ax.legend(fontsize=8)
    save_figure(fig, stage.path / "report" / "posterior")


def _plot_coverage(result: dict[str, Any], stem) -> None:
    """Expected coverage of HPD regions vs their credibility level (diagonal = calibrated)."""
    from obsforge.plotting import new_figure, save_figure

    fig, ax = new_figure(figsize=(6, 6))
    levels = np.asarray(result["coverage_levels"])
    ax.plot([0, 1], [0, 1], color="grey", lw=1)
    for shape, rows in result["coverage"].items():
        for method, style in (("nre", "o-"), ("exact", "s:")):
            ax.plot(levels, rows[method], style, ms=3, label=f"{shape} {method}")
    ax.set_xlabel("credibility level of the HPD region")
    ax.set_ylabel("expected coverage")
    ax.legend(fontsize=9)
    save_figure(fig, stem)


def report_lines(result: StageResult) -> list[str]:
    """The scan's headline numbers as printable lines (CLI and script)."""
    summary = result.summary
    best, exact = summary["best"], summary["best_exact"]
    lines = [
        f"best shape {best['shape']}: 95% HPD half-width {best['hpd95_half_width']:.3f} GeV "
        f"({summary['mode']} NRE, {summary['n_jets']} jets per pseudo-experiment)",
        f"exact likelihood: best shape {exact['shape']}, half-width "
        f"{exact['hpd95_half_width']:.3f} GeV",
    ]
    for shape, row in summary["reference"].items():
        lines.append(
            f"shape {shape}: half-width {row['nre_hpd95_half_width']:.3f} GeV (NRE), "
            f"{row['exact_hpd95_half_width']:.3f} GeV (exact)"
        )
    for shape, methods in summary["coverage"].items():
        nre = methods["nre"]
        lines.append(f"coverage {shape} (NRE): 68% -> {nre['0.68']:.3f}, 95% -> {nre['0.95']:.3f}")
    lines.append(f"report: {result.path / 'report'} (hpd_width, posterior, coverage .png/.pdf)")
    lines.append(f"numbers: {result.path / 'scan.json'}")
    return lines
