"""The streamed top-jet EEEC sample: PYTHIA -> jets -> compiled EEEC kernel, one pass per chunk.

Stage ``eeec-stream``: one Dask task per (mass, chunk) generates its events in batches, clusters
them and runs :func:`~obsforge.observables.eeec_stream.eeec_stream` on each batch; nothing of the
size of "all triplets" is ever held or written. Per chunk it writes

``moments-<chunk>.npz``  shape moments of every shape of the scan (grid + fine patches), per group
                         of jets (:class:`~obsforge.observables.eeec_stream.StreamMoments`);
``sample-<chunk>.parquet`` the energy-weighted triplet subsample for surrogate training
                         (zeta1, zeta2, zeta3, weight = w / p, m_top, jet_id);
``jets-<chunk>.parquet``  one row per jet: four-momentum, mass, subjets, EEEC weight sum and the
                         longest-side peak sums;
``chunk-<chunk>.json``    counts, the subsample's w_cut, the longest-side histogram.

CPU times per chunk go to ``timing-<chunk>.json`` and, summed, to ``timing.json``: outside the
manifest, so that a run, and a resumed run, are reproducible bit for bit.

Chunks are checksummed and reused as in every stage;
:func:`~obsforge.stream_files.load_moments` and :func:`~obsforge.stream_files.load_sample` read
one mass, a mass range or all of them.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import awkward as ak
import numpy as np
from pydantic import AfterValidator, Field

from obsforge.atomic import atomic_write_json
from obsforge.config import Config, RunName
from obsforge.density.data import jet_groups, weight_cut
from obsforge.events.pythia import check_settings
from obsforge.events.pythia_top import TopJetEvents, chunk_plan, top_event_batches
from obsforge.observables.eeec_stream import (
    FINE_EDGES,
    ChunkStream,
    ShapeSet,
    triplet_weights,
)
from obsforge.observables.jets import JetConfig, top_jet_subjets
from obsforge.observables.longest_side import ZETA3_EDGES
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.search.observable import StreamSettings
from obsforge.stream_files import chunk_stem

__all__ = ["StreamSettings", "StreamStudy", "run_stream"]

STREAM_VERSION = 1


class StreamStudy(Config):
    """Configuration of the streamed EEEC sample (YAML sections top_jets, jets, stream)."""

    name: RunName = "default"
    runs_dir: str = Field("runs", description="folder that holds all runs")
    top_jets: TopJetEvents
    jets: JetConfig = JetConfig()
    stream: StreamSettings = StreamSettings()
    pythia: Annotated[list[str], AfterValidator(check_settings)] = Field(
        [], description="extra PYTHIA settings (a tune, a hadronisation parameter)"
    )


def _stream_chunk(
    stage: StageDir,
    study: StreamStudy,
    m_top: float,
    chunk: int,
    n_events: int,
    seed: int,
    jet_id_offset: int,
) -> dict[str, Any]:
    """Events -> jets -> kernel for one (mass, chunk), batch by batch; writes its four files."""
    settings = study.stream
    stream = ChunkStream(ShapeSet.of(settings.shape_list()), settings.groups)
    target = settings.triplets_per_mass * n_events / study.top_jets.events_per_mass
    clock = {"events": 0.0, "jets": 0.0, "kernel": 0.0}
    info: dict[str, float] = {}
    w_cut, n_jets, n_batches = None, 0, 0
    batches = top_event_batches(
        m_top, n_events, seed, study.top_jets.ecm, settings.batch_events, info, study.pythia
    )
    start = time.process_time()
    for particles in batches:
        now = time.process_time()
        clock["events"] += now - start
        table, subjets = top_jet_subjets(particles, study.jets)
        start, now = now, time.process_time()
        clock["jets"] += now - start
        if w_cut is None:  # the first batch fixes the cut: E[kept] = target over the chunk
            w_cut = weight_cut(triplet_weights(subjets), target * len(particles) / n_events)
        ids = np.arange(n_jets, n_jets + len(table), dtype=np.int64) + jet_id_offset
        columns = {name: ak.to_numpy(table[name]) for name in table.fields}
        columns["event"] = columns["event"] + settings.batch_events * n_batches
        groups = jet_groups(ids, settings.groups, settings.group_seed)
        stream.add(subjets, ids, groups, w_cut, columns)
        start = time.process_time()
        clock["kernel"] += start - now
        n_jets, n_batches = n_jets + len(table), n_batches + 1
    stem = chunk_stem(m_top, chunk)
    sample, jets = stream.sample(), stream.jets()
    sample["m_top"] = np.full(len(sample["jet_id"]), m_top, dtype=np.float32)
    jets["m_top"] = np.full(n_jets, m_top)
    stage.write(f"sample-{stem}.parquet", lambda tmp: ak.to_parquet(ak.zip(sample), tmp))
    stage.write(f"jets-{stem}.parquet", lambda tmp: ak.to_parquet(ak.zip(jets), tmp))
    stage.write(f"moments-{stem}.npz", stream.moments.save)
    summary = {
        "m_top": m_top,
        "chunk": chunk,
        "seed": seed,
        "n_events": n_events,
        "n_jets": n_jets,
        "n_triplets": stream.n_triplets,
        "n_sample": len(sample["jet_id"]),
        "w_cut": w_cut,
        "zeta3_hist": stream.zeta3_hist.tolist(),
        "zeta3_sumw2": stream.zeta3_sumw2.tolist(),
        **info,
    }
    # CPU times vary from run to run: kept beside the chunk, outside the manifest.
    atomic_write_json(stage.path / f"timing-{stem}.json", clock)
    stage.write(f"chunk-{stem}.json", lambda tmp: tmp.write_text(json.dumps(summary)))
    return summary


def _outputs(m_top: float, chunk: int) -> list[str]:
    stem = chunk_stem(m_top, chunk)
    return [
        f"sample-{stem}.parquet",
        f"jets-{stem}.parquet",
        f"moments-{stem}.npz",
        f"chunk-{stem}.json",
    ]


def run_stream(study: StreamStudy, execution: Execution | None = None) -> StageResult:
    """Generate, cluster and stream every (mass, chunk); reuse the chunks already done."""
    execution = execution or Execution()
    stage = StageDir(study.runs_dir, study.name, "eeec-stream", study, version=STREAM_VERSION)
    if (done := stage.result()) is not None:
        return done
    plan = chunk_plan(study.top_jets)
    stage.begin(seeds={chunk_stem(t["m_top"], t["chunk"]): t["seed"] for t in plan})
    max_jets = study.jets.n_jets * study.top_jets.chunk_size
    tasks = [
        {
            "study": study,
            "m_top": t["m_top"],
            "chunk": t["chunk"],
            "n_events": t["n_events"],
            "seed": t["seed"],
            "jet_id_offset": i * max_jets,
        }
        for i, t in enumerate(plan)
    ]
    names = [_outputs(t["m_top"], t["chunk"]) for t in plan]
    chunks = stage.run_chunks(_stream_chunk, tasks, names, execution, "events -> jets -> EEEC")
    outputs = [name for t in plan for name in _outputs(t["m_top"], t["chunk"])]
    timings = [stage.path / f"timing-{chunk_stem(t['m_top'], t['chunk'])}.json" for t in plan]
    cpu = [json.loads(p.read_text()) for p in timings if p.exists()]
    atomic_write_json(
        stage.path / "timing.json",
        {
            "chunks_timed": len(cpu),
            "chunks": len(plan),
            "cpu_seconds": {k: sum(c[k] for c in cpu) for k in ("events", "jets", "kernel")},
        },
    )
    return stage.complete(outputs, _summary(study, chunks))


def _summary(study: StreamStudy, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    masses = study.top_jets.masses

    def per_mass(key: str, combine=sum) -> list:
        return [combine([c[key] for c in chunks if c["m_top"] == m]) for m in masses]

    def histogram(rows: list) -> list[float]:
        return np.sum(rows, axis=0).tolist()

    return {
        "masses": masses,
        "n_jets": per_mass("n_jets"),
        "n_triplets": per_mass("n_triplets"),
        "n_sample": per_mass("n_sample"),
        "sigma_pb": per_mass("sigma_pb", lambda rows: float(np.mean(rows))),
        "shapes": [[s.n1, s.n2] for s in study.stream.shape_list()],
        "delta": study.stream.shapes.delta,
        "fine_edges": FINE_EDGES.tolist(),
        "groups": study.stream.groups,
        "zeta3_edges": ZETA3_EDGES.tolist(),
        "zeta3_hist": per_mass("zeta3_hist", histogram),
        "zeta3_sumw2": per_mass("zeta3_sumw2", histogram),
    }
