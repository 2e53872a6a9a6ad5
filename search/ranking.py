"""Ranking shapes by their pseudo-experiments: HPD widths per experiment, how sure the best
shape is (a bootstrap over experiments), how alike two methods rank the shapes (Spearman), and
the coverage of HPD regions. Pure functions on arrays of widths and credibilities; the scan
(:mod:`~obsforge.search.scan`) calls them for every likelihood it scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obsforge.search.posterior import batch_hpd_width

__all__ = [
    "LEVELS",
    "bootstrap_best",
    "coverage_fractions",
    "experiment_widths",
    "rank_correlations",
]

LEVELS = (0.68, 0.95)


def experiment_widths(log_post: np.ndarray, step: float, n_shapes: int) -> dict[float, np.ndarray]:
    """HPD widths of every posterior, ordered shape by shape: (S * P, G) -> (S, P) per level."""
    return {level: batch_hpd_width(log_post, step, level).reshape(n_shapes, -1) for level in LEVELS}


def bootstrap_best(
    widths: np.ndarray, n_bootstrap: int, rng: np.random.Generator, top: int = 5
) -> dict[str, Any]:
    """How sure is the best shape? widths (S, P): the 95% HPD widths of P pseudo-experiments
    per shape; each bootstrap replica resamples every shape's experiments and takes the shape
    with the smallest median. Returns the ``top`` most frequent best shapes (indices) with
    their frequency, and the central 68% of the best median half-width.

    >>> w = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    >>> r = bootstrap_best(w, 10, np.random.default_rng(0))
    >>> r["shapes"], r["fraction"], r["half_width_68"]
    ([0], [1.0], [0.5, 0.5])
    """
    n_shapes, n_experiments = widths.shape
    picks, best = np.empty(n_bootstrap, dtype=np.int64), np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        draw = rng.integers(0, n_experiments, size=widths.shape)
        medians = np.median(np.take_along_axis(widths, draw, axis=1), axis=1)
        picks[b], best[b] = np.argmin(medians), medians.min() / 2
    frequency = np.bincount(picks, minlength=n_shapes) / n_bootstrap
    order = [int(i) for i in np.argsort(frequency)[::-1][:top] if frequency[i] > 0]
    return {
        "shapes": order,
        "fraction": [float(frequency[i]) for i in order],
        "half_width_68": np.percentile(best, [16, 84]).tolist(),
    }


def rank_correlations(widths: dict[str, np.ndarray]) -> dict[str, float]:
    """Spearman rank correlation of the shapes' widths between every pair of methods.

    >>> rank_correlations({"a": np.array([1.0, 2, 3]), "b": np.array([2.0, 4, 5])})
    {'a_vs_b': 1.0}
    """
    from scipy.stats import spearmanr

    names = list(widths)
    return {
        f"{a}_vs_{b}": float(spearmanr(widths[a], widths[b]).statistic)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }


def coverage_fractions(credibility: np.ndarray, levels: np.ndarray) -> list[float]:
    """Expected coverage: the fraction of true values inside the HPD region of each level."""
    return [float(np.mean(credibility <= level)) for level in levels]
