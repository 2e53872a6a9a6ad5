"""Scoring candidate observables: which triangle shape (n1, n2) measures m_top best?

For each shape s the observable x is the vector of zeta1-bin contents of n_jets jets; its
expectation mu_s(m) comes from the surrogate and its jet-to-jet covariance Sigma_s(m) from
held-out PYTHIA jets, so a pseudo-experiment is x ~ N(mu_s(m), Sigma_s(m) / n_jets). A shape is
scored by the median width of the 95% HPD region of p(m | x) over pseudo-experiments at the
true mass, from neural ratio estimation and, as a reference, from the exact Gaussian
likelihood; coverage is checked with m drawn from the prior; and the surrogate is tested by
fitting m to all held-out PYTHIA jets of each generated mass (pull = (estimate - truth) / sigma).

Reference: arXiv:2508.10988 (best shape (1.02, 1.99), m_top = 172.4 +- 0.31 GeV).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from obsforge.config import MAX_COUNT, Config
from obsforge.observables.shapes import TriangleShape
from obsforge.search.nre import NREConfig, grid_log_ratio, load_estimator, train_nre
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.posterior import GridPosterior, batch_hpd_credibility
from obsforge.search.ranking import (
    LEVELS,
    bootstrap_best,
    coverage_fractions,
    experiment_widths,
    rank_correlations,
)
from obsforge.search.simulator import ShapeSimulator

__all__ = [
    "AMORTISED",
    "LEVELS",
    "jet_histograms",
    "scan_record",
    "training_plan",
    "SearchSettings",
    "search_data",
    "surrogate_pulls",
    "checked_covariance",
    "log_posterior",
    "nre_features",
    "pythia_mass_fit",
    "scan_simulator",
    "score_shapes",
    "shape_label",
    "shape_position",
    "simulate_and_train",
]

AMORTISED = "nre-amortised.pt"  # the file of the estimator amortised over all shapes


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

    def prior_range(self, trained: list[float]) -> tuple[float, float]:
        """The uniform prior of m_top: ``prior``, or the range of the ``trained`` masses; it
        must lie inside that range (a surrogate does not extrapolate) and hold ``true_mass``."""
        low, high = tuple(self.prior) if self.prior is not None else (min(trained), max(trained))
        if not min(trained) <= low < high <= max(trained):
            raise ValueError(
                f"search.prior = [{low}, {high}]: must be an increasing range inside the "
                f"trained masses [{min(trained)}, {max(trained)}] (the surrogate does not "
                "extrapolate)"
            )
        if not low < self.true_mass < high:
            raise ValueError(
                f"search.true_mass = {self.true_mass}: must lie inside the prior ({low}, {high})"
            )
        return low, high

    def all_shapes(self) -> list[TriangleShape]:
        """The grid shapes followed by the reference shapes that are not on the grid."""
        shapes = self.shapes.shapes()
        known = {(s.n1, s.n2) for s in shapes}
        for n1, n2 in self.reference_shapes:
            if (n1, n2) not in known:
                shapes.append(TriangleShape(n1=n1, n2=n2, delta=self.shapes.delta))
                known.add((n1, n2))
        return shapes


def shape_label(shape: np.ndarray) -> str:
    """'(n1, n2)' of a row (n1, n2, delta) of the scanned shapes.

    >>> shape_label(np.array([1.0, 2.5, 0.01]))
    '(1, 2.5)'
    """
    return f"({shape[0]:g}, {shape[1]:g})"


def shape_position(shapes: list[TriangleShape], n1: float, n2: float) -> int:
    """Index of the shape (n1, n2) among ``shapes``."""
    for i, s in enumerate(shapes):
        if np.isclose(s.n1, n1) and np.isclose(s.n2, n2):
            return i
    raise ValueError(f"shape ({n1:g}, {n2:g}) is not among the scanned shapes")


def checked_covariance(cov: np.ndarray, shapes, m_top: float, n_jets: int) -> np.ndarray:
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


def scan_simulator(
    arrays: dict[str, np.ndarray], n_jets: int, means: str = "means"
) -> ShapeSimulator:
    """The simulator of pseudo-experiments of ``n_jets`` jets from a search-data table: the
    surrogate's expectation (``means``, with its covariance ``model_cov`` where the table has
    one) or, for a streamed sample, PYTHIA's own (``pythia_means``)."""
    model_cov = arrays.get("model_cov") if means == "means" else None
    return ShapeSimulator(
        arrays["mean_masses"],
        arrays[means],
        arrays["cov_masses"],
        arrays["jet_cov"],
        n_jets,
        model_cov,
    )


def nre_features(x: np.ndarray, shapes: np.ndarray, index: np.ndarray, amortised: bool):
    """Network input: the observable, and for the amortised estimator also (n1, n2)."""
    return np.concatenate([x, shapes[index, :2]], axis=1) if amortised else x


def log_posterior(estimator_path, x, shapes, index, grid, amortised) -> np.ndarray:
    """log p(m | x) + const on the grid (uniform prior): the estimated log ratio."""
    estimator = load_estimator(estimator_path)
    return grid_log_ratio(estimator, nre_features(x, shapes, index, amortised), grid)


def pythia_mass_fit(arrays, shape_indices: list[int], grid: np.ndarray) -> list[dict[str, Any]]:
    """Fit m_top to all held-out PYTHIA jets of each generated mass inside the prior (a streamed
    table: those of its ``fit_masses``), with the exact Gaussian likelihood of the surrogate
    expectation: (estimate - truth) / sigma tests the surrogate at the statistical precision of
    the whole test sample."""
    if "fit_masses" in arrays:
        masses, data, counts = arrays["fit_masses"], arrays["fit_means"], arrays["fit_counts"]
    else:
        masses, data, counts = arrays["cov_masses"], arrays["data_means"], arrays["jet_counts"]
    rows = []
    for j, m_top in enumerate(masses):
        if not grid[0] < m_top < grid[-1]:
            continue
        simulator = scan_simulator(arrays, int(counts[j]))
        for i in dict.fromkeys(shape_indices):
            x = data[j, i][None]
            log_l = simulator.log_likelihood(x, np.array([i]), grid)[0]
            posterior = GridPosterior.from_log_density(grid, log_l)
            sigma = posterior.hpd(0.68).width / 2
            rows.append(
                {
                    "m_top": float(m_top),
                    "shape": shape_label(arrays["shapes"][i]),
                    "jets": int(counts[j]),
                    "estimate": posterior.mode,
                    "sigma": sigma,
                    "pull": (posterior.mode - float(m_top)) / sigma,
                }
            )
    return rows


def simulate_and_train(
    arrays: dict[str, np.ndarray],
    n_jets: int,
    shape_indices: list[int],
    n_simulations: int,
    prior: tuple[float, float],
    nre: NREConfig,
    seed: int,
):
    """Simulate ``n_simulations`` pairs (m ~ U(prior), shape ~ U(shape_indices), x) and train a
    ratio estimator on them: one shape, or all shapes (amortised: (n1, n2) appended to x)."""
    rng = np.random.default_rng(seed)
    simulator = scan_simulator(arrays, n_jets)
    theta = rng.uniform(*prior, n_simulations)
    index = rng.choice(np.asarray(shape_indices), n_simulations)
    x = simulator.simulate(theta, index, rng)
    amortised = len(shape_indices) > 1
    return train_nre(theta, nre_features(x, arrays["shapes"], index, amortised), *prior, nre)


def score_shapes(
    simulator: ShapeSimulator,
    shapes: np.ndarray,
    grid: np.ndarray,
    prior: tuple[float, float],
    reference: list[int],
    per_shape: dict[int, Path],
    amortised: Path | None,
    true_mass: float,
    experiments: int,
    coverage_experiments: int,
    rng: np.random.Generator,
    pythia: ShapeSimulator | None = None,
    bootstrap: int = 200,
) -> dict[str, Any]:
    """Median HPD widths of every shape from ``experiments`` pseudo-experiments at
    ``true_mass`` (the same ones for NRE and the exact likelihood), the best shape of each, and
    the expected coverage of the best and the ``reference`` shapes with m_top from the prior.

    shapes: (S, 3) rows (n1, n2, delta); per_shape: the estimator file of each shape trained on
    its own; amortised: the file of the estimator of all shapes, or ``None`` (then the NRE
    widths are the per-shape estimators', and ``per_shape`` must hold every shape). pythia: a
    second simulator (PYTHIA's own expectation, no surrogate) whose exact-likelihood widths are
    scored on its own pseudo-experiments ("moments"). bootstrap: replicas of
    :func:`bootstrap_best` for every method.
    Returns widths {"exact", "nre"[, "moments"]} -> {level: (S,)}, per_shape_widths, best,
    best_exact, the bootstrap of the best shape per method, levels, coverage {label: {"nre",
    "exact"}: fractions per level}, and the scoring pseudo-experiments x (S * experiments, K)
    with their shape index.
    """
    n_shapes = len(shapes)
    step = grid[1] - grid[0]
    index = np.repeat(np.arange(n_shapes), experiments)
    x = simulator.simulate(np.full(len(index), true_mass), index, rng)
    each = {"exact": experiment_widths(simulator.log_likelihood(x, index, grid), step, n_shapes)}
    if amortised is not None:
        log_post = log_posterior(amortised, x, shapes, index, grid, True)
        each["nre"] = experiment_widths(log_post, step, n_shapes)
        del log_post
    else:
        each["nre"] = {level: np.empty((n_shapes, experiments)) for level in LEVELS}
    per_shape_widths = {}
    for i, path in per_shape.items():
        rows = index == i
        log_post = log_posterior(path, x[rows], shapes, index[rows], grid, False)
        one = experiment_widths(log_post, step, 1)
        per_shape_widths[i] = {level: np.median(w, axis=1) for level, w in one.items()}
        if amortised is None:
            for level in LEVELS:
                each["nre"][level][i] = one[level][0]
    if pythia is not None:
        xp = pythia.simulate(np.full(len(index), true_mass), index, rng)
        each["moments"] = experiment_widths(pythia.log_likelihood(xp, index, grid), step, n_shapes)
    widths = {
        method: {level: np.median(w, axis=1) for level, w in by_level.items()}
        for method, by_level in each.items()
    }
    best = int(np.argmin(widths["nre"][0.95]))
    best_exact = int(np.argmin(widths["exact"][0.95]))
    boot = {method: bootstrap_best(w[0.95], bootstrap, rng) for method, w in each.items()}

    levels = np.unique(np.round(np.r_[np.linspace(0.05, 0.95, 19), LEVELS], 2))
    coverage = {}
    for i in dict.fromkeys([best] + reference):
        theta = rng.uniform(*prior, coverage_experiments)
        idx = np.full(len(theta), i)
        xc = simulator.simulate(theta, idx, rng)
        path = amortised if amortised is not None else per_shape[i]
        log_post = log_posterior(path, xc, shapes, idx, grid, amortised is not None)
        coverage[shape_label(shapes[i])] = {
            "nre": coverage_fractions(batch_hpd_credibility(log_post, grid, theta), levels),
            "exact": coverage_fractions(
                batch_hpd_credibility(simulator.log_likelihood(xc, idx, grid), grid, theta),
                levels,
            ),
        }
    return {
        "widths": widths,
        "per_shape_widths": per_shape_widths,
        "best": best,
        "best_exact": best_exact,
        "bootstrap": boot,
        "levels": levels,
        "coverage": coverage,
        "x": x,
        "index": index,
    }


def search_data(
    surrogate,
    shapes: list[TriangleShape],
    settings: SearchSettings,
    prior: tuple[float, float],
    references: list[int],
) -> dict[str, np.ndarray]:
    """The observable of every shape and its expectation from the surrogate: ``edges`` (bins of
    equal weight at the prior centre), ``mean_masses`` and ``means`` (M, S, K) on a grid of step
    ``mean_step``; one seed for every mass (common random numbers make the expectation smooth
    in m_top)."""
    from obsforge.progress import progress

    low, high = prior
    n = settings.surrogate_samples
    edges = shape_edges(
        *surrogate.weighted_samples(n, 0.5 * (low + high), seed=0),
        shapes,
        settings.n_bins,
        settings.bin_coverage,
    )
    mean_masses = np.linspace(low, high, int(round((high - low) / settings.mean_step)) + 1)
    means = np.stack(
        [
            shape_histograms(*surrogate.weighted_samples(n, m, seed=0), shapes, edges)
            for m in progress(mean_masses, "surrogate expectations", total=len(mean_masses))
        ]
    )
    return {
        "shapes": np.array([(s.n1, s.n2, s.delta) for s in shapes]),
        "edges": edges,
        "mean_masses": mean_masses,
        "means": means,
        "reference": np.array(references),
    }


def surrogate_pulls(
    arrays: dict[str, np.ndarray], prior: tuple[float, float]
) -> dict[float, float]:
    """RMS pull of the surrogate's means against the PYTHIA means, over all shapes and bins, at
    every generated mass inside the prior: (mu - x_PYTHIA) / sqrt(C_kk / N)."""
    low, high = prior
    n_shapes = len(arrays["shapes"])
    simulator = ShapeSimulator(
        arrays["mean_masses"], arrays["means"], arrays["cov_masses"], arrays["jet_cov"], 1
    )
    pulls = {}
    for i, m_top in enumerate(arrays["cov_masses"]):
        if low <= m_top <= high:
            mu = simulator.mean(np.full(n_shapes, m_top), np.arange(n_shapes))
            sigma = np.sqrt(
                np.diagonal(arrays["jet_cov"][i], axis1=1, axis2=2) / arrays["jet_counts"][i]
            )
            pulls[float(m_top)] = float(
                np.sqrt(np.mean(((mu - arrays["data_means"][i]) / sigma) ** 2))
            )
    return pulls


def training_plan(
    n_shapes: int, reference: list[int], settings: SearchSettings
) -> list[dict[str, Any]]:
    """The ratio estimators to train: the amortised one over all shapes (mode "amortised") and
    one per shape (the reference shapes; every shape in mode "per_shape"), each a dict of its
    file name, shape indices and number of simulations."""
    per_shape = range(n_shapes) if settings.mode == "per_shape" else reference
    tasks = [
        dict(name=f"nre-shape{i}.pt", shape_indices=[i], n_simulations=settings.nre.simulations)
        for i in per_shape
    ]
    if settings.mode == "amortised":
        tasks.insert(
            0,
            dict(
                name=AMORTISED,
                shape_indices=list(range(n_shapes)),
                n_simulations=settings.amortised_simulations,
            ),
        )
    return tasks


def scan_record(
    scores: dict[str, Any],
    shapes: np.ndarray,
    reference: list[int],
    pythia: list[dict[str, Any]],
    prior: tuple[float, float],
    settings: SearchSettings,
) -> dict[str, Any]:
    """The scan's result as plain data (scan.json): widths of every shape by method, the best
    shapes, the reference shapes, coverage and the PYTHIA mass fit."""
    widths, per_shape_widths = scores["widths"], scores["per_shape_widths"]
    best, best_exact = scores["best"], scores["best_exact"]
    extra = {}
    if "moments" in widths:
        i = int(np.argmin(widths["moments"][0.95]))
        extra["best_moments"] = {
            "shape": shape_label(shapes[i]),
            "hpd95_half_width": float(widths["moments"][0.95][i] / 2),
        }
    return {
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
                **(
                    {"moments_hpd95_half_width": float(widths["moments"][0.95][i] / 2)}
                    if "moments" in widths
                    else {}
                ),
            }
            for i in reference
        },
        **extra,
        "bootstrap_best": {
            method: {
                "shapes": [shape_label(shapes[i]) for i in b["shapes"]],
                "fraction": b["fraction"],
                "half_width_68": b["half_width_68"],
            }
            for method, b in scores["bootstrap"].items()
        },
        "rank_correlation": rank_correlations({k: v[0.95] for k, v in widths.items()}),
        "coverage_levels": scores["levels"].tolist(),
        "coverage": scores["coverage"],
        "pythia_mass_fit": pythia,
    }


def jet_histograms(
    chunks,
    shapes: list[TriangleShape],
    edges: np.ndarray,
    cap: int,
    test_of: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-jet contents h (J, S, K) of every shape's bins and total weights w (J,) of up to
    ``cap`` jets from chunks of triplets (zeta, weight, jet_id, m_top), read until the cap is
    reached. With ``test_of`` (a density :class:`~obsforge.density.data.SampleConfig`) only the
    test jets of that split are used: the jets a surrogate trained with it never saw."""
    from obsforge.density.data import TEST, jet_split

    hs, ws, have = [], [], 0
    for zeta, weight, jet_id, _ in chunks:
        if have >= cap:
            break
        use = (
            jet_split(jet_id, test_of) == TEST
            if test_of is not None
            else np.ones(len(jet_id), bool)
        )
        ids = np.unique(jet_id[use])[: cap - have]
        use &= np.isin(jet_id, ids)
        local = np.searchsorted(ids, jet_id[use])
        ws.append(np.bincount(local, weight[use], minlength=len(ids)))
        hs.append(shape_histograms(zeta[use], weight[use], shapes, edges, local, len(ids)))
        have += len(ids)
    if not hs:
        return np.zeros((0, len(shapes), edges.shape[1] - 1)), np.zeros(0)
    return np.concatenate(hs), np.concatenate(ws)
