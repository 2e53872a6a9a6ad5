"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.events.ww_amplitude import COUPLINGS
from obsforge.observables.binning import voronoi_binning
from obsforge.observables.fisher import (
    FisherAccumulator,
    fisher_binned,
    fisher_unbinned,
    optimal_observables,
)


def test_optimal_observables_match_finite_differences(ww_events):
    """alpha_i = d ln|A|^2 / d theta_i at 0; |A|^2 is quadratic, so a central difference is
    exact up to rounding."""
    c0, c1, c2 = ww_events["c0"][:1000], ww_events["c1"][:1000], ww_events["c2"][:1000]
    alpha = optimal_observables(c0, c1)
    h = 1e-4
    for i in range(len(COUPLINGS)):
        e = np.zeros(len(COUPLINGS))
        e[i] = h

        def value(theta):
            return c0 + c1 @ theta + np.einsum("bij,i,j->b", c2, theta, theta)

        numeric = (value(e) - value(-e)) / (2 * h) / c0
        np.testing.assert_allclose(alpha[:, i], numeric, rtol=1e-7, atol=1e-9)


def test_fisher_information_of_the_linear_toy_matches_the_closed_form():
    """p(x | theta) = (1 + theta x) / 2 on [-1, 1]: alpha = x at theta = 0, F = 1/3 per event;
    K equal bins keep F_K = 1/3 - 1/(3 K^2)."""
    x = np.linspace(-1, 1, 200_001)
    x = 0.5 * (x[1:] + x[:-1])  # midpoint rule: weights are the exact probabilities
    weight = np.full(len(x), 1.0 / len(x))
    alpha = x[:, None]
    assert fisher_unbinned(alpha, weight, 1.0)[0, 0] == pytest.approx(1 / 3, rel=1e-8)
    for k in (2, 5, 10):
        labels = np.minimum(((x + 1) / 2 * k).astype(int), k - 1)
        binned = fisher_binned(alpha, weight, labels, k, 1.0)[0, 0]
        assert binned == pytest.approx(1 / 3 - 1 / (3 * k**2), rel=1e-6)
        # Voronoi cells of a uniform 1-D density are the equal bins: the optimum.
        a, w = alpha[::20], weight[::20] * 20
        cells = voronoi_binning(a, w, np.array([[1 / 3]]), k, restarts=2)
        kept = fisher_binned(a, w, cells.labels, k, 1.0)[0, 0]
        assert kept == pytest.approx(1 / 3 - 1 / (3 * k**2), rel=1e-3)


def test_streaming_accumulation_equals_in_memory(ww_events):
    alpha = optimal_observables(ww_events["c0"], ww_events["c1"])
    weight = ww_events["weight"]
    whole = fisher_unbinned(alpha, weight, 5.6e6)
    parts = [FisherAccumulator(3).add(alpha[i::7], weight[i::7]) for i in range(7)]
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    np.testing.assert_allclose(total.fisher(5.6e6), whole, rtol=1e-12)
