"""Boosted hadronic top quarks from e+e- -> t tbar with PYTHIA 8.

Process ``Top:ffbar2ttbar(s:gmZ)``: e+ e- -> gamma*/Z -> t tbar at leading order, at a fixed
centre-of-mass energy Q (2 TeV in the reference setup of arXiv:2508.10988, so each top carries
~1 TeV and its decay products lie within an angle ~ 2 m_t / E_t ~ 0.35). Both W bosons decay
hadronically (``24:onIfAny = 1 2 3 4 5``); final-state shower, hadronization and hadron decays
are PYTHIA's defaults. Photon radiation from the beams is switched off (``PDF:lepton = off``), so
every event has sqrt(s) = Q exactly.

What is kept: the *visible* final state, i.e. every final-state particle except neutrinos, as an
awkward array ``[event][particle]`` with fields ``px, py, pz, E`` (GeV) and ``pid``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import awkward as ak
import numpy as np
from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    field_validator,
    model_validator,
)

from obsforge.config import MAX_TASKS, Config, Count
from obsforge.events.pythia import (
    derive_seed,
    pythia_batches,
    run_pythia,
    seed_settings,
    visible_particles,
)

__all__ = [
    "TopJetEvents",
    "born_cross_section_ttbar",
    "chunk_plan",
    "combine_runs",
    "generate_top_events",
    "pythia_settings",
    "top_event_batches",
]


class TopJetEvents(Config):
    """Which top-pair events to generate: masses, statistics, energy, seed, chunking."""

    masses: list[Annotated[float, Field(gt=0, le=1000)]] = Field(
        ..., min_length=1, description="top-quark pole masses m_top in GeV (PYTHIA's 6:m0)"
    )
    events_per_mass: Count = Field(..., description="events generated for each mass")
    chunk_size: Count = Field(1000, description="events per task and per output file")
    ecm: PositiveFloat = Field(2000.0, description="centre-of-mass energy Q in GeV")
    seed: NonNegativeInt = Field(1, description="base seed; each (mass, chunk) derives its own")

    @field_validator("masses", mode="before")
    @classmethod
    def _mass_grid(cls, masses: Any) -> Any:
        """``{low, high, step}`` stands for the grid low, low + step, ..., high."""
        if not isinstance(masses, dict):
            return masses
        if set(masses) != {"low", "high", "step"}:
            raise ValueError(
                f"a mass grid has exactly the keys low, high, step; got {sorted(masses)}"
            )
        low, high, step = (masses[k] for k in ("low", "high", "step"))
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high, step)
        ):
            raise ValueError(f"mass grid {masses}: low, high and step must be numbers")
        if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(step)):
            raise ValueError(f"mass grid {masses}: low, high and step must be finite")
        if step <= 0 or high < low:
            raise ValueError(f"mass grid {masses}: need step > 0 and high >= low")
        n = int(round((high - low) / step))
        if n > 100_000 or abs(low + n * step - high) > 1e-6 * step:
            raise ValueError(f"mass grid {masses}: (high - low) / step must be a whole number")
        return [round(low + i * step, 9) for i in range(n + 1)]

    @field_validator("masses")
    @classmethod
    def _distinct_masses(cls, masses: list[float]) -> list[float]:
        if len(set(masses)) != len(masses):
            raise ValueError("masses must be distinct")
        return masses

    @model_validator(mode="after")
    def _task_count(self) -> TopJetEvents:
        n_tasks = len(self.masses) * -(-self.events_per_mass // self.chunk_size)
        if n_tasks > MAX_TASKS:
            raise ValueError(
                f"events_per_mass = {self.events_per_mass} in chunks of {self.chunk_size} for "
                f"{len(self.masses)} masses is {n_tasks} tasks; at most {MAX_TASKS} are "
                "allowed: raise chunk_size or lower events_per_mass"
            )
        return self

    @model_validator(mode="after")
    def _above_threshold(self) -> TopJetEvents:
        if self.ecm <= 2 * max(self.masses):
            raise ValueError(
                f"ecm = {self.ecm} GeV is below the t tbar threshold 2 m_top = "
                f"{2 * max(self.masses)} GeV; allowed: ecm > 2 * max(masses)"
            )
        return self


def pythia_settings(m_top: float, ecm: float, seed: int) -> list[str]:
    """The PYTHIA 8 settings for e+e- -> t tbar with hadronic W decays at energy ``ecm``."""
    return [
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {ecm!r}",
        "PDF:lepton = off",
        "Top:ffbar2ttbar(s:gmZ) = on",
        f"6:m0 = {m_top!r}",
        "24:onMode = off",
        "24:onIfAny = 1 2 3 4 5",
        *seed_settings(seed),
    ]


def born_cross_section_ttbar(
    ecm: float, m_top: float, alpha_em: float, sin2_theta_w: float, m_z: float, width_z: float
) -> float:
    """Born cross section of e+e- -> gamma*/Z -> t tbar in fb, with the full top-mass dependence.

    sigma = N_c (4 pi alpha^2 / 3 s) beta [ (3 - beta^2)/2 C_V + beta^2 C_A ],
    C_V = Q_t^2 - 2 Q_t v_e v_t Re chi + (v_e^2 + a_e^2) v_t^2 |chi|^2,
    C_A = (v_e^2 + a_e^2) a_t^2 |chi|^2,
    chi = s / (s - m_Z^2 + i m_Z Gamma_Z) / (4 sin^2 theta_W cos^2 theta_W),
    v_f = T3_f - 2 Q_f sin^2 theta_W, a_f = T3_f, beta = sqrt(1 - 4 m_t^2 / s)
    (the PDG review "Cross-section formulae for specific processes", with massive final state).
    Used to validate PYTHIA's cross section for the process generated here.
    """
    s = ecm**2
    beta = np.sqrt(1.0 - 4.0 * m_top**2 / s)
    chi = s / (s - m_z**2 + 1j * m_z * width_z) / (4.0 * sin2_theta_w * (1.0 - sin2_theta_w))
    q_t, v_e, a_e = 2.0 / 3.0, -0.5 + 2.0 * sin2_theta_w, -0.5
    v_t, a_t = 0.5 - 2.0 * q_t * sin2_theta_w, 0.5
    c_v = q_t**2 - 2.0 * q_t * v_e * v_t * chi.real + (v_e**2 + a_e**2) * v_t**2 * abs(chi) ** 2
    c_a = (v_e**2 + a_e**2) * a_t**2 * abs(chi) ** 2
    gev2_to_fb = 0.3893794e12
    point_like = 4.0 * np.pi * alpha_em**2 / (3.0 * s) * gev2_to_fb
    return float(3.0 * point_like * beta * ((3.0 - beta**2) / 2.0 * c_v + beta**2 * c_a))


def chunk_seed(base_seed: int, m_top: float, chunk: int) -> int:
    """A PYTHIA seed for one (mass, chunk), derived from the base seed with numpy's SeedSequence.

    Distinct (mass, chunk) pairs get statistically independent streams; the same triple always
    gives the same seed.
    """
    return derive_seed(base_seed, round(m_top * 1000), chunk)


def chunk_plan(config: TopJetEvents) -> list[dict[str, Any]]:
    """Split the generation into tasks: one per (mass, chunk), each with its own seed."""
    tasks = []
    for m_top in config.masses:
        n_chunks = -(-config.events_per_mass // config.chunk_size)
        for chunk in range(n_chunks):
            n_events = min(config.chunk_size, config.events_per_mass - chunk * config.chunk_size)
            tasks.append(
                {
                    "m_top": m_top,
                    "chunk": chunk,
                    "n_events": n_events,
                    "ecm": config.ecm,
                    "seed": chunk_seed(config.seed, m_top, chunk),
                }
            )
    return tasks


def combine_runs(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Several PYTHIA runs of one mass as one: events, and the event-weighted cross section and
    mean multiplicity (rows: ``n_events``, ``sigma_pb``, ``mean_multiplicity`` of each run)."""
    n_events = sum(r["n_events"] for r in rows)
    return {
        "n_events": n_events,
        "sigma_pb": sum(r["sigma_pb"] * r["n_events"] for r in rows) / n_events,
        "mean_multiplicity": sum(r["mean_multiplicity"] * r["n_events"] for r in rows) / n_events,
    }


def generate_top_events(
    m_top: float, n_events: int, seed: int, ecm: float = 2000.0, extra: Sequence[str] = ()
) -> tuple[ak.Array, dict[str, float]]:
    """Generate ``n_events`` e+e- -> t tbar events and return their visible final states.

    Returns ``(particles, info)``: particles is ``[event][particle]`` with ``px, py, pz, E`` in
    GeV and ``pid``; info has PYTHIA's estimated cross section (``sigma_pb``, ``sigma_err_pb``,
    including the hadronic W branching fractions) and the number of tried events. ``extra``:
    further PYTHIA settings (a tune, a hadronisation parameter), read after the process's.
    """
    events, info = run_pythia([*pythia_settings(m_top, ecm, seed), *extra], n_events)
    return visible_particles(events), _sigma(info)


def top_event_batches(
    m_top: float,
    n_events: int,
    seed: int,
    ecm: float,
    batch_size: int,
    info: dict[str, float],
    extra: Sequence[str] = (),
) -> Iterator[ak.Array]:
    """The events of :func:`generate_top_events` (same settings, same seed, same events) in
    batches of at most ``batch_size``, so that memory is bounded by a batch. ``info`` receives
    the cross section after the last batch."""
    raw: dict[str, Any] = {}
    settings = [*pythia_settings(m_top, ecm, seed), *extra]
    for events in pythia_batches(settings, n_events, batch_size, raw):
        yield visible_particles(events)
    info.update(_sigma(raw))


def _sigma(info: dict[str, Any]) -> dict[str, float]:
    return {key: info[key] for key in ("sigma_pb", "sigma_err_pb", "n_tried")}
