"""The optimal-observable study of e+e- -> W+W- -> l nu q q' with anomalous TGCs.

One stage, ``ww-fisher``:

1. the unbinned Fisher information of (dg1Z, dkappa_gamma, lambda) from ``events`` weighted
   events, generated and reduced chunk by chunk (Dask tasks return streaming sums, so 1e8 events
   need no more memory than one chunk);
2. binnings built on a ``fit`` sample and evaluated on an independent ``test`` sample: uniform
   grids in alpha, Voronoi cells (k-means in the F^-1 metric) and equal-population transport
   cells, as a function of the number of bins;
3. the report: Fisher matrix, 1-sigma bounds and correlations at the luminosity, retained
   information det(F_binned / F)^(1/3) vs bins, plots.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import MAX_COUNT, Config, RunName, check_names
from obsforge.events.ww import WWConfig, folded_scores, generate_ww
from obsforge.events.ww_amplitude import COUPLINGS
from obsforge.observables.binning import BinningSettings, quantisation_law, retention_curves
from obsforge.observables.fisher import FisherAccumulator, bounds, optimal_observables
from obsforge.observables.sally import (
    RecoSettings,
    reco_features,
    sally_information,
    train_sally,
)
from obsforge.parallel import Execution, chunk_sizes, dask_client, map_tasks
from obsforge.rundir import StageDir, StageResult
from obsforge.ww_report import plot_binning

__all__ = ["WWStudy", "run_ww_fisher"]

log = logging.getLogger(__name__)

WW_VERSION = 3  # 2: reco-level SALLY and the q/qbar-folded ideal in the output; 3: the
# quantisation law of the Voronoi curve


class WWStudy(Config):
    """Configuration of the WW optimal-observable study."""

    name: RunName = "ww240"
    runs_dir: str = "runs"
    process: WWConfig = WWConfig()
    events: int = Field(
        4_000_000, ge=1000, le=MAX_COUNT, description="weighted events for the unbinned F"
    )
    chunk_size: int = Field(500_000, ge=1000)
    luminosity_ab: float = Field(5.6, gt=0, description="integrated luminosity in ab^-1")
    couplings: list[str] = Field(list(COUPLINGS), min_length=1, description="fitted couplings")
    seed: int = Field(1, ge=0)
    binning: BinningSettings = BinningSettings()
    reco: RecoSettings = RecoSettings()

    @model_validator(mode="after")
    def _known_couplings(self) -> WWStudy:
        check_names("couplings", self.couplings, COUPLINGS)
        return self

    def columns(self) -> list[int]:
        return [COUPLINGS.index(c) for c in self.couplings]

    @property
    def luminosity_pb(self) -> float:
        return self.luminosity_ab * 1e6


def _chunk(
    config: WWConfig, n: int, seed: int, columns: list[int], fraction: float
) -> FisherAccumulator:
    """One chunk's Fisher sums; its weights (summing to sigma) scaled by its share of events."""
    events = generate_ww(n, config, seed)
    alpha = optimal_observables(events["c0"], events["c1"])[:, columns]
    return FisherAccumulator(len(columns)).add(alpha, events["weight"] * fraction)


def run_ww_fisher(study: WWStudy, execution: Execution | None = None) -> StageResult:
    """Unbinned Fisher information, bounds, and the information kept by each binning."""
    execution = execution or Execution()
    stage = StageDir(study.runs_dir, study.name, "ww-fisher", study, [], WW_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"events": study.seed})
    sizes = chunk_sizes(study.events, study.chunk_size)
    tasks = [
        dict(
            config=study.process,
            n=n,
            seed=1000 * study.seed + i,
            columns=study.columns(),
            fraction=n / study.events,
        )
        for i, n in enumerate(sizes)
    ]
    with dask_client(execution) as client:
        parts = map_tasks(client, _chunk, tasks, "WW events")
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    lumi = study.luminosity_pb
    fisher = total.fisher(lumi)
    result: dict[str, Any] = {
        "couplings": study.couplings,
        "sigma_pb": total.sum_weight,
        "sigma_error_pb": float(np.sqrt(total.sum_weight_sq)),
        "expected_events": total.sum_weight * lumi,
        "luminosity_ab": study.luminosity_ab,
        "weighted_events": total.events,
        "fisher": fisher.tolist(),
        "bounds": bounds(fisher, tuple(study.couplings)),
    }
    samples = _samples(study)
    settings = study.binning
    result["binning"] = retention_curves(
        *samples, fisher, settings.per_axis, settings.bins, settings.restarts,
        settings.transport_events, lumi,
    )  # fmt: skip
    voronoi = result["binning"]["voronoi"]
    if sum(k >= settings.law_min_cells for k in voronoi["bins"]) >= 2:
        law = quantisation_law(voronoi["bins"], voronoi["retained"], len(study.couplings),
                               settings.law_min_cells)  # fmt: skip
        result["quantisation_law"] = law.as_dict()
    if study.reco.enabled:
        result["reco"] = _sally(study, stage)
    stage.write("ww_fisher.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    plot_binning(study, fisher, result, samples[0], samples[1], stage.path / "report")
    summary = {k: result[k] for k in ("sigma_pb", "expected_events", "bounds")}
    if "quantisation_law" in result:
        summary["quantisation_law"] = result["quantisation_law"]
    if "reco" in result:
        summary["reco"] = {
            k: result["reco"][k] for k in ("retained", "retained_perfect_detector_folded", "bounds")
        }
    summary["retained"] = {
        method: dict(zip(map(str, rows["bins"]), rows["retained"], strict=True))
        for method, rows in result["binning"].items()
    }
    return stage.complete(["ww_fisher.json"], summary)


def _samples(study: WWStudy) -> tuple[np.ndarray, ...]:
    settings = study.binning
    fit = generate_ww(settings.fit_events, study.process, seed=10**6 + study.seed)
    test = generate_ww(settings.test_events, study.process, seed=2 * 10**6 + study.seed)
    columns = study.columns()
    return (
        optimal_observables(fit["c0"], fit["c1"])[:, columns],
        fit["weight"],
        optimal_observables(test["c0"], test["c1"])[:, columns],
        test["weight"],
    )


def _sally(study: WWStudy, stage: StageDir) -> dict[str, Any]:
    """Train t_hat(x) ~ E[alpha | x] on reco features; F_reco = L sum w t t^T on test events."""
    settings = study.reco
    columns = study.columns()
    lumi = study.luminosity_pb
    samples = {}
    for name, n, seed in (
        ("train", settings.train_events, 3 * 10**6),
        ("test", settings.test_events, 4 * 10**6),
    ):
        events = generate_ww(n, study.process, seed=seed + study.seed)
        detector = settings.detector.model_copy(update={"seed": settings.detector.seed + seed})
        samples[name] = (
            reco_features(events, detector),
            optimal_observables(events["c0"], events["c1"])[:, columns],
            events["weight"],
        )
        if name == "test":
            folded = folded_scores(events, study.process)[:, columns]
    x, alpha, weight = samples["train"]
    model, history = train_sally(
        x,
        alpha,
        weight,
        settings.training,
        settings.hidden,
        settings.layers,
        checkpoint=stage.path / "sally-checkpoint.pt",
    )
    x_test, alpha_test, weight_test = samples["test"]
    info = sally_information(
        model.predict(x_test), alpha_test, folded, weight_test, lumi, tuple(study.couplings)
    )
    (stage.path / "sally-checkpoint.pt").unlink(missing_ok=True)
    return {
        "epochs": len(history),
        "best_val_loss": min(h["val_loss"] for h in history),
        **info,
    }
