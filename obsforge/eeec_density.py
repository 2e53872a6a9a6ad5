"""The EEEC density study: PYTHIA triplets -> training data -> surrogate -> closure report.

Stages (after ``top-jets`` and ``eeec`` of :mod:`obsforge.top_eeec`):

``density-data``  one pass over the triplet chunks: jets split into train / validation / test
                  (stateless hash of the jet id), training triplets importance-subsampled, and
                  the test triplets that fall into a closure shape kept with the total weight
                  of their jets; hold-out masses go entirely to the test set.
``density``       the surrogate (flow or MLP, energy-weighted or not) trained with per-epoch
                  checkpoints (an interrupted run resumes), then the closure chi2 per shape at a
                  training mass and at every mass left out of training, with plots.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from pydantic import model_validator

from obsforge.atomic import atomic_write_json
from obsforge.config import Config
from obsforge.density.closure import ClosureConfig, closure_table
from obsforge.density.data import TRAIN, VALIDATION, SampleConfig, training_arrays
from obsforge.density.settings import DensitySettings
from obsforge.density.surrogate import train_surrogate
from obsforge.density_report import plot_closure
from obsforge.parallel import Execution
from obsforge.progress import progress
from obsforge.rundir import StageDir, StageResult
from obsforge.top_eeec import TopEEECStudy, run_eeec, triplet_chunks, triplet_files
from obsforge.training import TrainingConfig

__all__ = [
    "DensitySettings",
    "finish_density",
    "DensityStudy",
    "run_density",
    "run_density_data",
]

log = logging.getLogger(__name__)

DATA_VERSION = 3  # 2: training triplets carry their jet id; 3: test weights as rows with m_top
DENSITY_VERSION = 2  # 2: no timings in model.pt or the summary (timing.json)
TIMING_KEYS = ("epoch", "seconds", "samples_per_s")


class DensityStudy(TopEEECStudy):
    """A top-jet EEEC study with a ``density`` section."""

    density: DensitySettings = DensitySettings()

    @model_validator(mode="after")
    def _masses(self) -> DensityStudy:
        generated = set(self.top_jets.masses)
        holdout = set(self.density.holdout_masses)
        train_masses = set(self.training_masses())
        for name, masses in (("holdout_masses", holdout), ("train_masses", train_masses)):
            if not masses <= generated:
                raise ValueError(
                    f"density.{name} = {sorted(masses)}: not all in the generated "
                    f"masses {sorted(generated)}"
                )
        if holdout & train_masses:
            raise ValueError(
                f"density: {sorted(holdout & train_masses)} both trained on and held out"
            )
        if len(train_masses) < 2:
            raise ValueError(
                "density: need at least two training masses to learn the m_top dependence"
            )
        return self

    def training_masses(self) -> list[float]:
        return self.density.training_masses(self.top_jets.masses)


class _DataConfig(Config):
    sample: SampleConfig
    closure: ClosureConfig
    train_masses: list[float]
    holdout_masses: list[float]


def _stage(
    study: DensityStudy, name: str, config: Config, upstream: StageResult, version: int
) -> StageDir:
    """The folder of a density stage, keyed by its config and the stage it reads."""
    return StageDir(study.runs_dir, study.name, name, config, [upstream.stage.hash], version)


def run_density_data(study: DensityStudy, execution: Execution | None = None) -> StageResult:
    """Prepare (or reuse) the training triplets and the held-out closure triplets."""
    eeec = run_eeec(study, execution)
    settings = study.density
    data_config = _DataConfig(
        sample=settings.sample,
        closure=settings.closure,
        train_masses=study.training_masses(),
        holdout_masses=settings.holdout_masses,
    )
    stage = _stage(study, "density-data", data_config, eeec, DATA_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"sample": settings.sample.seed})
    train_masses = set(data_config.train_masses)
    used = train_masses | set(data_config.holdout_masses)
    n_files = sum(len(triplet_files(eeec, m)) for m in used)
    arrays, totals = training_arrays(
        progress(triplet_chunks(eeec, used), "density data", total=n_files),
        settings.sample,
        train_masses,
        {m: len(triplet_files(eeec, m)) for m in used},
        settings.closure.triangle_shapes(),
        np.random.default_rng(settings.sample.seed),
    )
    stage.write("data.npz", lambda tmp: np.savez(tmp, **arrays))
    summary = {
        "test_total_weight": [{"m_top": m, "weight": w} for m, w in totals.items()],
        "n_train_weighted": int((arrays["weighted_split"] == TRAIN).sum()),
        "n_validation_weighted": int((arrays["weighted_split"] == VALIDATION).sum()),
        "n_test_in_shapes": len(arrays["test_weight"]),
    }
    return stage.complete(["data.npz"], summary)


class _ModelConfig(Config):
    model: str
    energy_weighted: bool
    ensemble: int
    architecture: dict[str, Any]
    training: TrainingConfig


def run_density(study: DensityStudy, execution: Execution | None = None) -> StageResult:
    """Train (or reuse) the surrogate, then run the closure test and draw its plots."""
    data_stage = run_density_data(study, execution)
    settings = study.density
    architecture = settings.flow if settings.model == "flow" else settings.mlp
    model_config = _ModelConfig(
        model=settings.model,
        energy_weighted=settings.energy_weighted,
        ensemble=settings.ensemble,
        architecture=architecture.model_dump(),
        training=settings.training,
    )
    stage = _stage(study, "density", model_config, data_stage, DENSITY_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"training": settings.training.seed})
    data = np.load(data_stage.stage.output_path("data.npz"))
    surrogate, histories = train_surrogate(
        settings.model,
        architecture.model_dump(),
        data,
        "weighted" if settings.energy_weighted else "unweighted",
        study.training_masses(),
        settings.ensemble,
        settings.training,
        stage.path,
        info={"energy_weighted": settings.energy_weighted},
    )
    totals = {row["m_top"]: row["weight"] for row in data_stage.numbers["test_total_weight"]}
    closure = closure_table(surrogate, data, totals, settings.closure, _closure_masses(study))
    return finish_density(stage, settings, surrogate, histories, closure)


def finish_density(
    stage: StageDir, settings: DensitySettings, surrogate, histories, closure, **numbers
) -> StageResult:
    """The end shared by the density stages: timings beside the manifest, the model, the
    closure rows and their plots, the summary (with ``numbers``); checkpoints removed last."""
    # Wall-clock timings vary from run to run: they go to timing.json, outside the manifest,
    # so that the checksummed model and summary are bit-reproducible.
    atomic_write_json(
        stage.path / "timing.json",
        [[{k: row[k] for k in TIMING_KEYS} for row in h] for h in histories],
    )
    histories = [
        [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in h] for h in histories
    ]
    history = histories[0]
    surrogate.info["history"] = histories if settings.ensemble > 1 else history
    stage.write("model.pt", surrogate.save)
    stage.write("closure.json", lambda tmp: tmp.write_text(json.dumps(closure, indent=1)))
    plot_closure(closure, stage.path / "report" / "closure", settings)
    summary = {
        "model": settings.model,
        "energy_weighted": settings.energy_weighted,
        "ensemble": settings.ensemble,
        "epochs": len(history),
        "member_epochs": [len(h) for h in histories],
        "best_val_loss": min(h["val_loss"] for h in history),
        "closure": [
            {k: c[k] for k in ("shape", "m_top", "chi2", "chi2_stat", "ndf", "chi2_ndf", "role")}
            for c in closure
        ],
        **numbers,
    }
    result = stage.complete(["model.pt", "closure.json"], summary)
    for checkpoint in stage.path.glob("checkpoint-*.pt"):
        checkpoint.unlink()
    return result


def _closure_masses(study: DensityStudy) -> list[tuple[float, str]]:
    masses = study.training_masses()
    centre = np.mean(study.top_jets.masses)
    trained = min(masses, key=lambda m: abs(m - centre))
    return [(trained, "trained")] + [(m, "held out") for m in study.density.holdout_masses]
