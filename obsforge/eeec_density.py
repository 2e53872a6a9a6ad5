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
from typing import Any, Literal

import awkward as ak
import numpy as np
import torch
from pydantic import Field, model_validator

from obsforge.atomic import atomic_write_json
from obsforge.config import Config
from obsforge.density.closure import ClosureConfig, closure_at_mass
from obsforge.density.coordinates import to_flow_coordinates
from obsforge.density.data import (
    TEST,
    TRAIN,
    VALIDATION,
    SampleConfig,
    bootstrap_counts,
    importance_subsample,
    jet_split,
)
from obsforge.density.models import FlowConfig, MLPConfig
from obsforge.density.surrogate import EEECSurrogate, build_model
from obsforge.density_report import plot_closure
from obsforge.observables.shapes import in_shape
from obsforge.parallel import Execution
from obsforge.progress import progress
from obsforge.rundir import StageDir, StageResult
from obsforge.top_eeec import TopEEECStudy, run_eeec, triplet_files
from obsforge.training import TrainingConfig, train

__all__ = [
    "DensitySettings",
    "DensityStudy",
    "run_density",
    "run_density_data",
]

log = logging.getLogger(__name__)

DATA_VERSION = 2  # 2: training triplets carry their jet id (bootstrap ensembles)
DENSITY_VERSION = 2  # 2: no timings in model.pt or the summary (timing.json)
TIMING_KEYS = ("epoch", "seconds", "samples_per_s")


class DensitySettings(Config):
    """The ``density`` section of a study config."""

    model: Literal["flow", "mlp"] = "flow"
    energy_weighted: bool = Field(True, description="False trains on the unweighted triplets")
    ensemble: int = Field(
        1,
        ge=1,
        le=64,
        description="members, each trained on a Poisson bootstrap of the training jets; their "
        "spread is the surrogate's statistical uncertainty (1: one model on all jets)",
    )
    train_masses: list[float] | None = Field(None, description="default: all but hold-outs")
    holdout_masses: list[float] = Field(default_factory=list, description="left out of training")
    sample: SampleConfig = SampleConfig()
    flow: FlowConfig = FlowConfig()
    mlp: MLPConfig = MLPConfig()
    training: TrainingConfig = TrainingConfig()
    closure: ClosureConfig = ClosureConfig()


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
        if self.density.train_masses is not None:
            return list(self.density.train_masses)
        return [m for m in self.top_jets.masses if m not in self.density.holdout_masses]


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
    shapes = settings.closure.triangle_shapes()
    train_masses = set(data_config.train_masses)
    used = train_masses | set(data_config.holdout_masses)
    files = triplet_files(eeec)
    chunks_per_mass = {f"{m:g}": len(triplet_files(eeec, m)) for m in used}
    rng = np.random.default_rng(settings.sample.seed)
    train_parts, test_parts, totals = [], [], {}
    for path in progress(files, "density data", total=len(files)):
        chunk = ak.from_parquet(path)
        m_top = float(chunk.m_top[0]) if len(chunk) else None
        if m_top is None or m_top not in used:
            continue
        zeta = np.stack([ak.to_numpy(chunk[f"zeta{i}"]) for i in (1, 2, 3)], 1).astype(np.float64)
        weight = ak.to_numpy(chunk.weight).astype(np.float64)
        jet_id = ak.to_numpy(chunk.jet_id)
        split = (
            jet_split(jet_id, settings.sample)
            if m_top in train_masses
            else np.full(len(jet_id), TEST, dtype=np.int8)
        )
        is_test = split == TEST
        totals[f"{m_top:g}"] = totals.get(f"{m_top:g}", 0.0) + float(weight[is_test].sum())
        in_any = np.zeros(len(weight), dtype=bool)
        for shape in shapes:
            in_any |= in_shape(zeta, shape)
        keep = is_test & in_any
        test_parts.append((zeta[keep], weight[keep], jet_id[keep], np.full(keep.sum(), m_top)))
        if m_top in train_masses:
            fit = np.flatnonzero(~is_test)  # indices: the big arrays are never copied whole
            n_target = settings.sample.triplets_per_mass / chunks_per_mass[f"{m_top:g}"]
            index, new_weight = importance_subsample(weight[fit], n_target, rng)
            # Unweighted training must see the plain triplet density: subsample uniformly.
            uniform = rng.choice(len(fit), size=min(int(n_target), len(fit)), replace=False)
            for kind, idx, w in (
                ("weighted", index, new_weight),
                ("unweighted", np.sort(uniform), np.ones(len(uniform))),
            ):
                train_parts.append(
                    (kind, zeta[fit[idx]], w, split[fit[idx]], np.full(len(idx), m_top))
                    + (jet_id[fit[idx]],)
                )

    arrays: dict[str, np.ndarray] = {}
    for kind in ("weighted", "unweighted"):
        parts = [p for p in train_parts if p[0] == kind]
        arrays[f"{kind}_zeta"] = np.concatenate([p[1] for p in parts])
        arrays[f"{kind}_weight"] = np.concatenate([p[2] for p in parts])
        arrays[f"{kind}_split"] = np.concatenate([p[3] for p in parts])
        arrays[f"{kind}_m_top"] = np.concatenate([p[4] for p in parts])
        arrays[f"{kind}_jet_id"] = np.concatenate([p[5] for p in parts])
    for i, key in enumerate(("test_zeta", "test_weight", "test_jet_id", "test_m_top")):
        arrays[key] = np.concatenate([p[i] for p in test_parts])
    stage.write("data.npz", lambda tmp: np.savez(tmp, **arrays))
    summary = {
        "test_total_weight": totals,
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


def _tensors(zeta, weight, m_top, surrogate: EEECSurrogate) -> tuple[torch.Tensor, ...]:
    y, context = surrogate.standardise(zeta, m_top)
    return (
        torch.tensor(y, dtype=torch.float32),
        torch.tensor(context, dtype=torch.float32),
        torch.tensor(weight / weight.mean(), dtype=torch.float32),
    )


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
    kind = "weighted" if settings.energy_weighted else "unweighted"
    zeta, weight = data[f"{kind}_zeta"], data[f"{kind}_weight"]
    split, m_top = data[f"{kind}_split"], data[f"{kind}_m_top"]
    masses = study.training_masses()
    fit = split == TRAIN
    zeta_fit, weight_fit = zeta[fit], weight[fit]
    y = to_flow_coordinates(zeta_fit)
    w_fit = weight_fit[:, None]
    y_mean = (w_fit * y).sum(0) / w_fit.sum()
    y_std = np.sqrt((w_fit * (y - y_mean) ** 2).sum(0) / w_fit.sum())
    models = []
    for i in range(settings.ensemble):
        torch.manual_seed(settings.training.seed + i)
        models.append(build_model(settings.model, architecture.model_dump()))
    surrogate = EEECSurrogate(
        models,
        y_mean,
        y_std,
        m_centre=float(np.mean(masses)),
        m_scale=float(np.ptp(masses) / 2 or 1.0),
        masses=masses,
        info={"energy_weighted": settings.energy_weighted},
    )
    val = split == VALIDATION
    # Through surrogate.standardise, so training and inference share one definition.
    val_t = _tensors(zeta[val], weight[val], m_top[val], surrogate)
    histories = []
    for i, model in enumerate(surrogate.models):
        w_i = weight_fit
        if settings.ensemble > 1:  # member i: a Poisson bootstrap replica of the training jets
            w_i = weight_fit * bootstrap_counts(data[f"{kind}_jet_id"][fit], i)
        keep = w_i > 0
        train_t = _tensors(zeta_fit[keep], w_i[keep], m_top[fit][keep], surrogate)
        member_training = settings.training.model_copy(update={"seed": settings.training.seed + i})
        checkpoint = stage.path / f"checkpoint-{i}.pt"
        histories.append(train(model, train_t, val_t, member_training, checkpoint=checkpoint))
        model.cpu().eval()
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
    closure = _closure(surrogate, study, data, data_stage.numbers["test_total_weight"])
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


def _closure(surrogate, study: DensityStudy, data, totals) -> list[dict[str, Any]]:
    results = []
    for m_top, role in _closure_masses(study):
        for row in closure_at_mass(
            surrogate, data, totals[f"{m_top:g}"], study.density.closure, m_top
        ):
            row["role"] = role
            results.append(row)
            log.info(
                "closure %s m_top=%g: chi2/ndf = %.2f", row["shape"][:2], m_top, row["chi2_ndf"]
            )
    return results
