"""The top-jet EEEC study: PYTHIA events -> jets and subjets -> EEEC triplets -> plots.

Two cached stages, each a set of independent Dask tasks (one per (mass, chunk)):

``top-jets``  e+e- -> t tbar events (visible final state) per top mass, one parquet per chunk;
``eeec``      anti-kt R = 1.2 jets, C/A R = 0.1 subjets and their EEEC triplets per chunk, plus
              a per-chunk energy-weighted histogram of the longest side zeta3 (with the per-jet
              sum of squares for its statistical error), from which the report is drawn.

Every chunk is checksummed; re-running the same configuration reuses finished chunks and
regenerates missing or corrupted ones only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from pydantic import Field, model_validator

from obsforge.config import Config, RunName
from obsforge.eeec_report import plot_eeec, plot_longest_side
from obsforge.events.pythia_top import TopJetEvents, chunk_plan
from obsforge.observables.eeec import eeec_triplets
from obsforge.observables.jets import JetConfig, top_jet_subjets
from obsforge.observables.longest_side import (
    PEAK_WINDOW,
    ZETA3_EDGES,
    chunk_statistics,
    combine_chunks,
)
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.top_events import chunk_stem, mass_stem, run_top_jets

__all__ = [
    "StageResult",
    "TopEEECStudy",
    "load_triplets",
    "triplet_chunks",
    "plot_longest_side",
    "run_eeec",
    "run_top_jets",
    "triplet_files",
]

log = logging.getLogger(__name__)

# Code versions of the stages (part of their cache keys): bump when an output changes meaning.
EEEC_VERSION = 2  # 2: the summary's masses are a list of rows with their m_top


class TopEEECStudy(Config):
    """Configuration of the top-jet EEEC study (YAML sections ``top_jets`` and ``jets``)."""

    name: RunName = "default"
    runs_dir: str = Field("runs", description="folder that holds all runs")
    top_jets: TopJetEvents
    jets: JetConfig = JetConfig()
    plot_masses: list[float] | None = Field(
        None, min_length=2, max_length=2, description="two masses to compare (default: extremes)"
    )

    @model_validator(mode="after")
    def _plot_masses_generated(self) -> TopEEECStudy:
        for mass in self.plot_masses or ():
            if mass not in self.top_jets.masses:
                raise ValueError(
                    f"plot_masses: {mass} is not one of the generated masses {self.top_jets.masses}"
                )
        return self

    def masses_to_plot(self) -> list[float]:
        masses = self.top_jets.masses
        return list(self.plot_masses or [min(masses), max(masses)])


# -- tasks (run on Dask workers) -------------------------------------------------------------------
def _eeec_chunk(
    stage: StageDir,
    particles_path: str,
    jets: JetConfig,
    m_top: float,
    chunk: int,
    jet_id_offset: int,
) -> dict[str, Any]:
    particles = ak.from_parquet(particles_path)
    table, subjets = top_jet_subjets(particles, jets)
    triplets = eeec_triplets(subjets)
    local_jet = triplets.pop("jet")
    columns = {name: values.astype(np.float32) for name, values in triplets.items()}
    columns["m_top"] = np.full(len(local_jet), m_top, dtype=np.float32)
    columns["jet_id"] = local_jet + jet_id_offset
    stem = chunk_stem(m_top, chunk)
    stage.write(f"triplets-{stem}.parquet", lambda tmp: ak.to_parquet(ak.zip(columns), tmp))
    jet_columns = {name: ak.to_numpy(table[name]) for name in table.fields}
    jet_columns["jet_id"] = np.arange(len(table), dtype=np.int64) + jet_id_offset
    jet_columns["m_top"] = np.full(len(table), m_top)
    stage.write(f"jets-{stem}.parquet", lambda tmp: ak.to_parquet(ak.zip(jet_columns), tmp))
    statistics = chunk_statistics(
        triplets["zeta3"], triplets["weight"], local_jet, ak.to_numpy(table.mass)
    )
    summary = {"m_top": m_top, "chunk": chunk, **statistics}
    stage.write_json(f"triplets-{stem}.json", summary)
    return summary


# -- stages ----------------------------------------------------------------------------------------
def run_eeec(study: TopEEECStudy, execution: Execution | None = None) -> StageResult:
    """Cluster jets and compute EEEC triplets for every chunk of the ``top-jets`` stage."""
    execution = execution or Execution()
    events = run_top_jets(study, execution)
    stage = StageDir(
        study.runs_dir,
        study.name,
        "eeec",
        study.jets,
        upstream=[events.stage.hash],
        version=EEEC_VERSION,
    )
    result = stage.result()
    if result is None:
        stage.begin()
        plan = chunk_plan(study.top_jets)
        max_jets = study.jets.n_jets * study.top_jets.chunk_size
        tasks = [
            {
                "particles_path": str(
                    events.stage.output_path(
                        f"particles-{chunk_stem(t['m_top'], t['chunk'])}.parquet"
                    )
                ),
                "jets": study.jets,
                "m_top": t["m_top"],
                "chunk": t["chunk"],
                "jet_id_offset": i * max_jets,
            }
            for i, t in enumerate(plan)
        ]
        names = [
            [
                f"{kind}-{chunk_stem(t['m_top'], t['chunk'])}.{ext}"
                for kind, ext in (
                    ("triplets", "parquet"),
                    ("jets", "parquet"),
                    ("triplets", "json"),
                )
            ]
            for t in plan
        ]
        summaries = stage.run_chunks(_eeec_chunk, tasks, names, execution, "jets + EEEC")
        result = stage.complete(
            [n for group in names for n in group], _eeec_summary(study.top_jets.masses, summaries)
        )
    if not (stage.path / "report" / "zeta3_longest_side.png").exists():
        plot_eeec(result, study.masses_to_plot())
    return result


def _eeec_summary(masses: list[float], summaries: list[dict[str, Any]]) -> dict[str, Any]:
    per_mass = [
        {"m_top": m, **combine_chunks([r for r in summaries if r["m_top"] == m])} for m in masses
    ]
    return {
        "zeta3_edges": ZETA3_EDGES.tolist(),
        "peak_window": list(PEAK_WINDOW),
        "masses": per_mass,
    }


# -- results ---------------------------------------------------------------------------------------
def triplet_files(eeec: StageResult | str | Path, m_top: float | None = None) -> list[Path]:
    """The triplet chunk files of a finished ``eeec`` stage (its result or its folder), of one
    top mass or all, sorted: the one place that knows their names."""
    if isinstance(eeec, StageResult):
        folder, outputs = eeec.path, eeec.manifest["outputs"]
    else:
        folder = Path(eeec)
        outputs = json.loads((folder / "manifest.json").read_text())["outputs"]
    prefix = "triplets-" if m_top is None else f"triplets-{mass_stem(m_top)}-"
    names = sorted(n for n in outputs if n.startswith(prefix) and n.endswith(".parquet"))
    return [folder / name for name in names]


def triplet_chunks(
    eeec: StageResult, masses: set[float] | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """(zeta (T, 3), weight (T,) as float64, jet_id (T,), m_top) of each triplet file of a
    finished ``eeec`` stage, of the given masses (all: None), one file at a time, in file order."""
    if masses is None:
        files = triplet_files(eeec)
    else:
        files = sorted(path for m in masses for path in triplet_files(eeec, m))
    for path in files:
        chunk = ak.from_parquet(path)
        if not len(chunk):
            continue
        zeta = np.stack([ak.to_numpy(chunk[f"zeta{i}"]) for i in (1, 2, 3)], 1).astype(np.float64)
        weight = ak.to_numpy(chunk.weight).astype(np.float64)
        yield zeta, weight, ak.to_numpy(chunk.jet_id), float(chunk.m_top[0])


def load_triplets(
    eeec: StageResult | str | Path, columns: list[str] | None = None
) -> dict[str, np.ndarray]:
    """All EEEC triplets of a finished ``eeec`` stage (its result or its folder) as flat numpy
    arrays (for studies of the demo's size: this holds every triplet in memory).

    Keys: zeta1, zeta2, zeta3, weight (float32), m_top (float32), jet_id (int64, unique per jet).
    """
    arrays = [ak.from_parquet(path, columns=columns) for path in triplet_files(eeec)]
    merged = ak.concatenate(arrays) if arrays else ak.Array([])
    return {name: ak.to_numpy(merged[name]) for name in merged.fields}
