"""Observables computed from events: jets and subjets, energy correlators (EEEC triplets)."""

from obsforge.observables.eeec import eeec_triplets, eeec_weight_sum, pair_zeta, triplet_indices
from obsforge.observables.jets import JetConfig, cluster_jets, recluster_subjets, top_jet_subjets

__all__ = [
    "JetConfig",
    "cluster_jets",
    "eeec_triplets",
    "eeec_weight_sum",
    "pair_zeta",
    "recluster_subjets",
    "top_jet_subjets",
    "triplet_indices",
]
