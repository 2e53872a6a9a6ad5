"""Event generators: PYTHIA 8 top-quark pairs at e+e- colliders (more simulators follow)."""

from obsforge.events import pythia_top
from obsforge.events.pythia_top import *  # noqa: F403 -- the public names listed in __all__

__all__ = list(pythia_top.__all__)
