"""Top jets at e+e-: anti-kt jets reclustered into small-radius Cambridge/Aachen subjets.

Both steps use FastJet's e+e- generalised-kt algorithm (``ee_genkt_algorithm``) through the
``fastjet`` package's awkward interface, with distances in energy and opening angle:

    d_ij = min(E_i^{2p}, E_j^{2p}) (1 - cos theta_ij) / (1 - cos R),    d_iB = E_i^{2p},

p = -1 for anti-kt (jets of radius R = 1.2) and p = 0 for Cambridge/Aachen (subjets of radius
R = 0.1), following the setup of arXiv:2508.10988. Recombination is the E-scheme, so the
subjets of a jet partition its constituents and their four-momenta add up to the jet's.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
from pydantic import Field, PositiveInt

from obsforge.config import Config

__all__ = ["JetConfig", "cluster_jets", "recluster_subjets", "top_jet_subjets"]

MOMENTUM_FIELDS = ("px", "py", "pz", "E")


class JetConfig(Config):
    """Jet and subjet definitions for boosted top jets."""

    jet_r: float = Field(1.2, gt=0, le=math.pi, description="anti-kt radius R (radians)")
    subjet_r: float = Field(0.1, gt=0, le=math.pi, description="C/A subjet radius (radians)")
    n_jets: PositiveInt = Field(2, description="keep the n hardest jets (by energy) per event")


def _momenta(particles: ak.Array) -> ak.Array:
    return ak.zip({name: ak.values_astype(particles[name], np.float64) for name in MOMENTUM_FIELDS})


def quiet_fastjet() -> None:
    """Stop FastJet from printing its banner in this process (every Dask worker would print it
    once; the ``obsforge`` command prints it once per run instead)."""
    import fastjet._swig

    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)


def _silent_cluster(particles: ak.Array, algorithm_p: float, radius: float):
    import fastjet

    quiet_fastjet()
    definition = fastjet.JetDefinition(fastjet.ee_genkt_algorithm, radius, algorithm_p)
    return fastjet.ClusterSequence(_momenta(particles), definition)


def cluster_jets(particles: ak.Array, jet_r: float, n_jets: int) -> tuple[ak.Array, ak.Array]:
    """Anti-kt jets of radius ``jet_r``; the ``n_jets`` most energetic ones per event.

    particles: ``[event][particle]`` with px, py, pz, E.
    Returns ``(jets, constituents)``: jets ``[event][jet]`` (px, py, pz, E), sorted by falling
    energy, and their constituents ``[event][jet][particle]``.
    """
    sequence = _silent_cluster(particles, -1.0, jet_r)
    jets = _momenta(sequence.inclusive_jets())
    constituents = _momenta(sequence.constituents())
    order = ak.argsort(jets.E, axis=1, ascending=False)[:, :n_jets]
    return jets[order], constituents[order]


def recluster_subjets(constituents: ak.Array, subjet_r: float) -> ak.Array:
    """Cambridge/Aachen subjets of radius ``subjet_r`` for each jet.

    constituents: ``[jet][particle]`` with px, py, pz, E. Returns ``[jet][subjet]``, sorted by
    falling energy.
    """
    subjets = _momenta(_silent_cluster(constituents, 0.0, subjet_r).inclusive_jets())
    return subjets[ak.argsort(subjets.E, axis=1, ascending=False)]


def top_jet_subjets(particles: ak.Array, config: JetConfig) -> tuple[ak.Array, ak.Array]:
    """Jets and subjets of a batch of events, flattened over events.

    Returns ``(jets, subjets)``: jets is a flat record array with ``px, py, pz, E, mass, event,
    rank, n_subjets`` (one entry per jet, ``event`` indexing the input events and ``rank`` the
    energy ordering within the event); subjets is ``[jet][subjet]`` in the same jet order.
    """
    jets, constituents = cluster_jets(particles, config.jet_r, config.n_jets)
    counts = ak.num(jets, axis=1)
    event = np.repeat(np.arange(len(jets)), ak.to_numpy(counts))
    rank = ak.to_numpy(ak.flatten(ak.local_index(jets, axis=1)))
    flat_jets = ak.flatten(jets, axis=1)
    subjets = recluster_subjets(ak.flatten(constituents, axis=1), config.subjet_r)
    e, px, py, pz = (ak.to_numpy(flat_jets[name]) for name in ("E", "px", "py", "pz"))
    mass = np.sqrt(np.clip(e**2 - px**2 - py**2 - pz**2, 0.0, None))
    table = ak.zip(
        {
            "px": px,
            "py": py,
            "pz": pz,
            "E": e,
            "mass": mass,
            "event": event,
            "rank": rank,
            "n_subjets": ak.to_numpy(ak.num(subjets, axis=1)),
        }
    )
    return table, subjets
