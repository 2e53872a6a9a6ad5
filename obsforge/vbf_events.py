"""Stage ``vbf-events``: PYTHIA 8 VBF Higgs events with CP-odd weights, chunk by chunk.

Each chunk is one Dask task and one ``chunk-NNNN.npz`` file (written atomically with its
checksum), so an interrupted run resumes with the chunks it lacks. The stage output is the
concatenation ``events.npz`` of the selected events and ``events.json`` with the cross sections
and the selection efficiency.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from pydantic import Field

from obsforge.config import MAX_COUNT, Config
from obsforge.events.pythia import derive_seed
from obsforge.events.vbf import VBFConfig, generate_vbf
from obsforge.parallel import Execution, chunk_sizes, dask_client, map_tasks
from obsforge.rundir import StageDir, StageResult

__all__ = ["VBFSample", "load_vbf_events", "run_vbf_events"]

VBF_EVENTS_VERSION = 1
ARRAYS = ("jets", "higgs", "r1", "r2", "sm_correction", "charged")


class VBFSample(Config):
    """How many VBF events, in which chunks, from which seed."""

    events: int = Field(
        200_000, ge=100, le=MAX_COUNT, description="generated events (before the VBF cuts)"
    )
    chunk_size: int = Field(10_000, ge=100, description="events per task and per file")
    seed: int = Field(1, ge=0)


def _chunk(stage: StageDir, process: VBFConfig, chunk: int, n: int, seed: int) -> dict[str, Any]:
    name = f"chunk-{chunk:04d}.npz"
    meta_name = f"chunk-{chunk:04d}.json"
    if stage.is_valid(name) and stage.is_valid(meta_name):
        return json.loads(stage.output_path(meta_name).read_text())
    events = generate_vbf(process, n, seed)
    stage.write(name, lambda tmp: np.savez(tmp, **{k: events[k] for k in ARRAYS}))
    meta = {k: v for k, v in events.items() if k not in ARRAYS}
    meta["selected"] = len(events["r1"])
    meta["seed"] = seed
    stage.write(meta_name, lambda tmp: tmp.write_text(json.dumps(meta)))
    return meta


def run_vbf_events(
    process: VBFConfig, sample: VBFSample, runs_dir: str, name: str, execution: Execution
) -> StageResult:
    """Generate (or reuse) the VBF sample; the summary has the accepted cross section."""
    stage = StageDir(
        runs_dir,
        name,
        "vbf-events",
        _StageKey(process=process, sample=sample),
        [],
        VBF_EVENTS_VERSION,
    )
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"events": sample.seed})
    sizes = chunk_sizes(sample.events, sample.chunk_size)
    tasks = [
        dict(stage=stage, process=process, chunk=i, n=n, seed=derive_seed(sample.seed, i))
        for i, n in enumerate(sizes)
    ]
    with dask_client(execution) as client:
        metas = map_tasks(client, _chunk, tasks, "VBF events")
    arrays = {
        key: np.concatenate(
            [np.load(stage.output_path(f"chunk-{i:04d}.npz"))[key] for i in range(len(sizes))]
        )
        for key in ARRAYS
    }
    generated = sum(m["n_generated"] for m in metas)
    # PYTHIA's cross section per chunk is an estimate from that chunk: average, by events.
    sigma = sum(m["sigma_pb"] * m["n_generated"] for m in metas) / generated
    correction = {
        ch: float(np.nanmean([m["sm_correction_mean_all"][ch] for m in metas]))
        for ch in ("WW", "ZZ")
    }
    by_code: dict[str, float] = {}
    for meta in metas:
        for code, value in meta["sigma_by_code_pb"].items():
            by_code[str(code)] = (
                by_code.get(str(code), 0.0) + value * meta["n_generated"] / generated
            )
    summary = {
        "generated": generated,
        "selected": int(len(arrays["r1"])),
        "efficiency": len(arrays["r1"]) / generated,
        "sigma_pythia_pb": sigma,
        "sigma_by_code_pb": by_code,
        "sm_correction_mean": correction,
        "sigma_selected_pb": sigma * len(arrays["r1"]) / generated,
    }
    stage.write("events.npz", lambda tmp: np.savez(tmp, **arrays))
    stage.write("events.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=1)))
    for i in range(len(sizes)):
        for suffix in ("npz", "json"):
            for path in (
                stage.output_path(f"chunk-{i:04d}.{suffix}"),
                stage.output_path(f"chunk-{i:04d}.{suffix}.sha256"),
            ):
                path.unlink(missing_ok=True)
    return stage.complete(["events.npz", "events.json"], summary)


class _StageKey(Config):
    process: VBFConfig
    sample: VBFSample


def load_vbf_events(result: StageResult) -> dict[str, np.ndarray]:
    """The selected events of a finished ``vbf-events`` stage."""
    with np.load(result.path / "events.npz") as data:
        return {key: data[key] for key in ARRAYS}
