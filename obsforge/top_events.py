"""The ``top-jets`` stage: PYTHIA e+e- -> t tbar events of every (mass, chunk), one Dask task
each, written as parquet with a JSON summary per chunk (cross section, multiplicity, seed)."""

from __future__ import annotations

from typing import Any

import awkward as ak

from obsforge.events.pythia_top import chunk_plan, combine_runs, generate_top_events
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult

__all__ = ["chunk_stem", "mass_stem", "run_top_jets"]

TOP_JETS_VERSION = 2  # 2: the summary's masses are a list of rows with their m_top


def mass_stem(m_top: float) -> str:
    return f"m{m_top:.3f}"


def chunk_stem(m_top: float, chunk: int) -> str:
    """The part of a chunk's file names that names its mass and index: m172.500-c0003."""
    return f"{mass_stem(m_top)}-c{chunk:04d}"


def _generate_chunk(
    stage: StageDir, m_top: float, chunk: int, n_events: int, ecm: float, seed: int
) -> dict[str, Any]:
    particles, info = generate_top_events(m_top, n_events, seed, ecm)
    stage.write(
        f"particles-{chunk_stem(m_top, chunk)}.parquet", lambda tmp: ak.to_parquet(particles, tmp)
    )
    counts = ak.to_numpy(ak.num(particles, axis=1))
    summary = {
        "m_top": m_top,
        "chunk": chunk,
        "seed": seed,
        "n_events": n_events,
        "mean_multiplicity": float(counts.mean()),
        **info,
    }
    stage.write_json(f"particles-{chunk_stem(m_top, chunk)}.json", summary)
    return summary


def run_top_jets(study: Any, execution: Execution | None = None) -> StageResult:
    """Generate (or reuse) the PYTHIA events of every (mass, chunk) of ``study.top_jets``
    (a study with ``runs_dir``, ``name`` and ``top_jets``)."""
    execution = execution or Execution()
    stage = StageDir(
        study.runs_dir, study.name, "top-jets", study.top_jets, version=TOP_JETS_VERSION
    )
    if (done := stage.result()) is not None:
        return done
    tasks = chunk_plan(study.top_jets)
    stage.begin(seeds={chunk_stem(t["m_top"], t["chunk"]): t["seed"] for t in tasks})
    names = [
        [f"particles-{chunk_stem(t['m_top'], t['chunk'])}.{ext}" for ext in ("parquet", "json")]
        for t in tasks
    ]
    summaries = stage.run_chunks(_generate_chunk, tasks, names, execution, "PYTHIA events")
    per_mass = [
        {"m_top": m, **combine_runs([r for r in summaries if r["m_top"] == m])}
        for m in study.top_jets.masses
    ]
    return stage.complete([n for pair in names for n in pair], {"masses": per_mass})
