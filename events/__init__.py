"""Event generators: PYTHIA 8 top-quark pairs at e+e- colliders (more simulators follow)."""

from obsforge.events.pythia_top import (
    TopJetEvents,
    born_cross_section_ttbar,
    chunk_plan,
    generate_top_events,
    pythia_settings,
)

__all__ = [
    "TopJetEvents",
    "born_cross_section_ttbar",
    "chunk_plan",
    "generate_top_events",
    "pythia_settings",
]
