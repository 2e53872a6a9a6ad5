"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np

from obsforge.observables.binning import transport_binning, uniform_binning, voronoi_binning
from obsforge.observables.fisher import (
    fisher_binned,
    fisher_unbinned,
    optimal_observables,
    retained_fraction,
)


def test_voronoi_binning_beats_uniform_and_transport_is_equal_population(ww_events):
    alpha = optimal_observables(ww_events["c0"], ww_events["c1"])
    weight = ww_events["weight"]
    fisher = fisher_unbinned(alpha, weight, 1.0)
    uniform = uniform_binning(alpha, weight, 3)  # 27 bins
    voronoi = voronoi_binning(alpha, weight, fisher, 27, restarts=1)
    kept_uniform = retained_fraction(fisher_binned(alpha, weight, uniform.labels, 27, 1.0), fisher)
    kept_voronoi = retained_fraction(fisher_binned(alpha, weight, voronoi.labels, 27, 1.0), fisher)
    assert 0 < kept_uniform < kept_voronoi < 1
    transport = transport_binning(alpha, weight, fisher, 10, n_transport=2000, iterations=5)
    population = np.bincount(transport.labels, weight, minlength=10) / weight.sum()
    np.testing.assert_allclose(population, 0.1, atol=0.03)
    np.testing.assert_array_equal(voronoi.assign(alpha[:100]), voronoi.labels[:100])
