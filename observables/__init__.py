"""What is computed from an event: pure functions on arrays.

- :mod:`~obsforge.observables.jets`: anti-kt jets and C/A subjets (FastJet);
- :mod:`~obsforge.observables.eeec`: the three-point energy correlator's triplets of a jet;
- :mod:`~obsforge.observables.shapes`: EEEC triangle shapes (n1, n2) and weighted histograms;
- :mod:`~obsforge.observables.fisher`: optimal observables and Fisher information, bounds;
- :mod:`~obsforge.observables.binning`: uniform, Voronoi and optimal-transport binnings;
- :mod:`~obsforge.observables.sally`: reco-level WW features and score regression (SALLY).
"""

from obsforge.observables.binning import transport_binning, uniform_binning, voronoi_binning
from obsforge.observables.eeec import eeec_triplets, eeec_weight_sum, pair_zeta, triplet_indices
from obsforge.observables.fisher import (
    FisherAccumulator,
    bounds,
    fisher_binned,
    fisher_unbinned,
    optimal_observables,
    retained_fraction,
)
from obsforge.observables.jets import JetConfig, cluster_jets, recluster_subjets, top_jet_subjets
from obsforge.observables.sally import DetectorConfig, ScoreRegressor, reco_features, train_sally
from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram

__all__ = [
    "DetectorConfig",
    "FisherAccumulator",
    "JetConfig",
    "ScoreRegressor",
    "TriangleShape",
    "bounds",
    "cluster_jets",
    "eeec_triplets",
    "eeec_weight_sum",
    "fisher_binned",
    "fisher_unbinned",
    "in_shape",
    "optimal_observables",
    "pair_zeta",
    "reco_features",
    "recluster_subjets",
    "retained_fraction",
    "top_jet_subjets",
    "train_sally",
    "transport_binning",
    "triplet_indices",
    "uniform_binning",
    "voronoi_binning",
    "weighted_histogram",
]
