"""Event generators: PYTHIA 8 top-quark pairs at e+e- colliders (more simulators follow)."""

from obsforge.events.pythia_top import (
    TopJetEvents,
    chunk_plan,
    generate_top_events,
    pythia_settings,
)

__all__ = ["TopJetEvents", "chunk_plan", "generate_top_events", "pythia_settings"]
