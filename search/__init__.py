"""Inference of m_top from an observable, and the scan over candidate observables.

- :mod:`~obsforge.search.observable`: the observable of a triangle shape (zeta1 bins of equal
  weight) and its per-jet histograms;
- :mod:`~obsforge.search.simulator`: the Gaussian simulator of pseudo-experiments (surrogate
  means, PYTHIA jet covariances) and its exact likelihood;
- :mod:`~obsforge.search.nre`: neural ratio estimation with sbi (NRE_A/B/C, BNRE), saved as
  weights only;
- :mod:`~obsforge.search.posterior`: grid posteriors, HPD regions, widths and credibility.
"""

from obsforge.search.nre import NREConfig, grid_log_ratio, load_estimator, save_estimator, train_nre
from obsforge.search.observable import ShapeGrid, shape_edges, shape_histograms
from obsforge.search.posterior import (
    GridPosterior,
    HPDRegion,
    batch_hpd_credibility,
    batch_hpd_width,
    hpd_region,
)
from obsforge.search.simulator import ShapeSimulator, jet_covariance

__all__ = [
    "GridPosterior",
    "HPDRegion",
    "NREConfig",
    "ShapeGrid",
    "ShapeSimulator",
    "batch_hpd_credibility",
    "batch_hpd_width",
    "grid_log_ratio",
    "hpd_region",
    "jet_covariance",
    "load_estimator",
    "save_estimator",
    "shape_edges",
    "shape_histograms",
    "train_nre",
]
