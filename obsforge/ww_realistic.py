"""The WW study as it will be measured: PYTHIA signal and backgrounds through one detector.

One stage, ``ww-realistic``:

1. PYTHIA events of every process of :mod:`obsforge.events.ww_pythia` (ISR, showers,
   hadrons), chunk by chunk as Dask tasks: isolated lepton + Durham jets, smearing and the cut
   flow (:mod:`obsforge.observables.ww_reco`). A chunk writes its cut flow
   (``chunk-<process>-<seed>.json``) and ``events-<process>-<seed>.npz``: the selected
   events' reco features and, for W pairs, the score alpha of the PYTHIA hard process, and the
   Fisher sums of all its l nu q q' events (the bridge to the analytic generator). A rerun
   computes only the chunks an interrupted run lacks.
2. On the selected events (every other one trains): the purity S / (S + B) and SALLY.
3. The bounds on the other half: parton level; selected with truth alpha; selected with the
   backgrounds; selected with q and qbar not told apart (the best any reco observable can
   do); detector (SALLY); detector with the backgrounds (F = L sum w p t t^T).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config, RunName, check_names
from obsforge.events.ww import WWConfig, amplitudes, folded_scores, squared_amplitude_terms
from obsforge.events.ww_amplitude import COUPLINGS
from obsforge.events.ww_pythia import PROCESSES, background_batches, hard_momenta
from obsforge.observables.fisher import (
    FisherAccumulator,
    optimal_observables,
)
from obsforge.observables.sally import DetectorConfig, information_with_backgrounds
from obsforge.observables.ww_reco import (
    SelectionConfig,
    cut_flow,
    hadron_objects,
    object_features,
    smear_objects,
)
from obsforge.parallel import Execution, chunk_sizes
from obsforge.rundir import StageDir, StageResult
from obsforge.training import TrainingConfig

__all__ = ["WWRealisticStudy", "run_ww_realistic"]

MAX_CHUNKS = 100  # per process: chunk j of process i has seed 10000 seed + 100 i + j
WW_REALISTIC_VERSION = 2  # 2: chunks written to the run folder, so a rerun resumes


class WWRealisticStudy(Config):
    """PYTHIA events per process, the selection, the detector and the two networks."""

    name: RunName = "ww240-realistic"
    runs_dir: str = "runs"
    sqrt_s: float = Field(240.0, gt=161.0, le=1000.0, description="GeV")
    events: dict[str, int] = Field(
        {"ww": 2_000_000, "zz": 200_000, "ffbar": 600_000, "zh": 50_000},
        description="PYTHIA events per process (ww carries the signal)",
    )
    chunk_size: int = Field(50_000, ge=1000)
    luminosity_ab: float = Field(5.6, gt=0)
    couplings: list[str] = Field(list(COUPLINGS), min_length=1)
    seed: int = Field(1, ge=0)
    selection: SelectionConfig = SelectionConfig()
    detector: DetectorConfig = DetectorConfig()
    purity: TrainingConfig = TrainingConfig(epochs=20, batch_size=4096, learning_rate=1e-3)
    sally: TrainingConfig = TrainingConfig(epochs=30, batch_size=4096, learning_rate=1e-3)

    @model_validator(mode="after")
    def _known(self) -> WWRealisticStudy:
        check_names("couplings", self.couplings, COUPLINGS)
        check_names("events", list(self.events), tuple(PROCESSES))
        if "ww" not in self.events:
            raise ValueError(f"events = {self.events}: needs 'ww', which carries the signal")
        for process, n in self.events.items():
            if not 1000 <= n <= MAX_COUNT:
                raise ValueError(f"events.{process} = {n}: allowed 1000 <= n <= {MAX_COUNT}")
            if -(-n // self.chunk_size) > MAX_CHUNKS:  # the chunk seeds leave room for 100
                raise ValueError(
                    f"events.{process} = {n} in chunks of {self.chunk_size} makes more than "
                    f"{MAX_CHUNKS} chunks; raise chunk_size to at least {-(-n // MAX_CHUNKS)} "
                    "(memory is bounded by PYTHIA's batch, not by the chunk)"
                )
        return self


def _outputs(task: dict[str, Any]) -> list[str]:
    stem = f"{task['process']}-{task['seed']}"
    return [f"events-{stem}.npz", f"chunk-{stem}.json"]


def _chunk(stage: StageDir, process, n, seed, study: WWRealisticStudy) -> dict[str, Any]:
    """One PYTHIA chunk through the detector and the selection; writes the selected events
    (features, truth, alpha, folded alpha) and the chunk's cut flow and cross section."""
    columns = [COUPLINGS.index(c) for c in study.couplings]
    config = WWConfig(sqrt_s=study.sqrt_s)
    detector = study.detector.model_copy(update={"seed": seed})
    info: dict[str, Any] = {}
    flows, rows, n_signal = [], [], 0
    parton = FisherAccumulator(len(columns))
    for batch, particles, truth in background_batches(process, n, study.sqrt_s, seed, info):
        objects = smear_objects(hadron_objects(particles, study.selection), detector)
        flow = cut_flow(objects, study.selection)
        flows.append(
            {k: [int((m & truth).sum()), int((m & ~truth).sum())] for k, m in flow.items()}
        )
        keep = list(flow.values())[-1]
        n_signal += int(truth.sum())
        alpha = folded = np.zeros((len(truth), len(columns)))
        if process == "ww":
            momenta = hard_momenta(batch)
            c0, c1, _ = squared_amplitude_terms(amplitudes(momenta, config.inputs), config)
            alpha = optimal_observables(c0, c1)[:, columns]
            folded = folded_scores({**momenta, "c0": c0, "c1": c1}, config)[:, columns]
            parton.add(alpha[truth], np.ones(int(truth.sum())))
        selected = {k: v[keep] for k, v in objects.items()}
        rows.append((object_features(selected), truth[keep], alpha[keep], folded[keep]))
    x, truth, alpha, folded = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    events, summary = _outputs({"process": process, "seed": seed})

    def write_events(tmp) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez adds no suffix
            np.savez(handle, x=x, truth=truth, alpha=alpha, folded=folded, parton=parton.sum_waa)

    stage.write(events, write_events)
    flow = {k: np.sum([f[k] for f in flows], axis=0).tolist() for k in flows[0]}
    result = dict(process=process, n=n, seed=seed, sigma_pb=info["sigma_pb"], flow=flow,
                  n_signal=n_signal)  # fmt: skip
    stage.write(summary, lambda tmp: tmp.write_text(json.dumps(result)))
    return result


def _load(stage: StageDir, chunk: dict[str, Any]) -> dict[str, Any]:
    """A chunk's summary with its arrays (no pickles)."""
    with np.load(stage.output_path(_outputs(chunk)[0]), allow_pickle=False) as arrays:
        return {**chunk, **{k: arrays[k] for k in arrays.files}}


def run_ww_realistic(study: WWRealisticStudy, execution: Execution | None = None) -> StageResult:
    """Cut flow, efficiencies and purities; bounds from parton level to detector + backgrounds."""
    from obsforge.ww_report import cut_flow_table, plot_realistic

    execution = execution or Execution()
    stage = StageDir(study.runs_dir, study.name, "ww-realistic", study, [], WW_REALISTIC_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"pythia": study.seed})
    tasks = [
        dict(process=p, n=n, seed=10_000 * study.seed + 100 * i + j)
        for i, (p, total) in enumerate(sorted(study.events.items()))
        for j, n in enumerate(chunk_sizes(total, study.chunk_size))
    ]
    for task in tasks:
        task["study"] = study
    chunks = stage.run_chunks(_chunk, tasks, [_outputs(t) for t in tasks], execution,
                              "PYTHIA events")  # fmt: skip
    parts = [_load(stage, chunk) for chunk in chunks]
    sigma = {
        p: sum(c["sigma_pb"] * c["n"] for c in parts if c["process"] == p) / n
        for p, n in study.events.items()
    }
    weight = np.concatenate([np.full(len(c["x"]), sigma[c["process"]] / study.events[c["process"]])
                             for c in parts])  # fmt: skip
    x, signal, alpha, folded = (
        np.concatenate([c[k] for c in parts]) for k in ("x", "truth", "alpha", "folded")
    )
    lumi = study.luminosity_ab * 1e6
    parton = sum(c["parton"] for c in parts if c["process"] == "ww")  # sum alpha alpha^T
    columns, purity, w_test = information_with_backgrounds(
        x, signal, alpha, folded, weight, lumi * parton * sigma["ww"] / study.events["ww"],
        lumi, tuple(study.couplings), study.purity, study.sally, stage.path,
    )  # fmt: skip
    flow = cut_flow_table(parts, sigma, study.events)
    result = {"couplings": study.couplings, "luminosity_ab": study.luminosity_ab,
              "sigma_pb": sigma, "cut_flow": flow, **columns}  # fmt: skip
    for name in ("purity", "sally"):
        (stage.path / f"{name}-checkpoint.pt").unlink(missing_ok=True)
    stage.write_json("ww_realistic.json", result)
    plot_realistic(result, purity, w_test, stage.path / "report")
    summary = {k: result[k] for k in ("sigma_pb", "purity_mean")}
    summary["selected_pb"] = flow["total"]
    summary["sigma"] = {k: b["sigma"] for k, b in result["bounds"].items()}
    summary["retained"] = result["retained"]
    outputs = [name for task in tasks for name in _outputs(task)]
    return stage.complete([*outputs, "ww_realistic.json"], summary)
