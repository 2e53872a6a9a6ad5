"""Event generators: PYTHIA 8 (top pairs at e+e-, VBF Higgs at the LHC via events.vbf) and our own
helicity amplitudes (e+e- -> WW with anomalous TGCs, q q -> q q H with a CP-odd HVV vertex)."""

from obsforge.events import pythia_top
from obsforge.events.pythia_top import *  # noqa: F403 -- the public names listed in __all__

__all__ = list(pythia_top.__all__)
