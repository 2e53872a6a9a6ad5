"""Event generators: where every event in obsforge comes from.

- :mod:`~obsforge.events.pythia_top`: e+e- -> t tbar at Q = 2 TeV with PYTHIA 8 (hadronic tops,
  visible final state), per top mass, in seeded chunks;
- :mod:`~obsforge.events.vbf`: VBF Higgs production at the LHC with PYTHIA 8, reweighted to
  the CP-odd operator c_HWtilde by the exact amplitudes of
  :mod:`~obsforge.events.vbf_amplitude`, with a simple detector and the VBF cuts;
- :mod:`~obsforge.events.ww`: e+e- -> W+W- -> l nu q q' from our own helicity amplitudes
  (:mod:`~obsforge.events.ww_amplitude`) with anomalous triple gauge couplings, validated
  against PYTHIA's cross section;
- :mod:`~obsforge.events.pythia`: the shared PYTHIA driver and seed derivation.
"""

from obsforge.events.pythia_top import (
    TopJetEvents,
    born_cross_section_ttbar,
    chunk_plan,
    generate_top_events,
    pythia_settings,
    top_event_batches,
)
from obsforge.events.vbf import VBFConfig, VBFCuts, VBFDetector, generate_vbf
from obsforge.events.vbf_amplitude import VBFAmplitudes
from obsforge.events.ww import (
    COUPLINGS,
    WWConfig,
    born_cross_section,
    folded_scores,
    generate_ww,
    squared_amplitude_terms,
)
from obsforge.events.ww_amplitude import ElectroweakInputs

__all__ = [
    "COUPLINGS",
    "ElectroweakInputs",
    "TopJetEvents",
    "VBFAmplitudes",
    "VBFConfig",
    "VBFCuts",
    "VBFDetector",
    "WWConfig",
    "born_cross_section",
    "born_cross_section_ttbar",
    "chunk_plan",
    "folded_scores",
    "generate_top_events",
    "top_event_batches",
    "generate_vbf",
    "generate_ww",
    "pythia_settings",
    "squared_amplitude_terms",
]
