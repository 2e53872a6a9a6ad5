"""Training loop shared by the density models: AdamW, cosine schedule, early stopping,
per-epoch checkpoints with exact resume, NaN guard, progress bar, CPU/CUDA.

Determinism: the batch order of epoch e is a permutation drawn from a generator seeded with
(seed, e) (with ``samples_per_epoch``, its first samples are the epoch's subset), and the
checkpoint holds model, optimiser, schedule and history; so a run stopped
after any epoch and resumed from its checkpoint continues the same loss curve.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn

from obsforge.atomic import atomic_torch_save, load_weights
from obsforge.config import Config
from obsforge.progress import progress

__all__ = ["TrainingConfig", "resolve_device", "train", "validate_training_data"]

log = logging.getLogger(__name__)


class TrainingConfig(Config):
    """Optimisation settings."""

    epochs: int = Field(30, ge=1, description="maximum number of epochs")
    batch_size: int = Field(4096, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    patience: int = Field(6, ge=1, description="epochs without validation improvement")
    gradient_clip: float = Field(5.0, gt=0)
    seed: int = Field(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    samples_per_epoch: int | None = Field(
        None,
        ge=1,
        description="samples seen per epoch, a fresh random subset each epoch (the reference's "
        "500,000 per mass per epoch); default: all",
    )


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "training.device = 'cuda': no CUDA device is available; use 'cpu' or 'auto'"
        )
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def validate_training_data(data: Tensors, name: str) -> None:
    """Shapes (N, D), (N, C), (N,); finite values; weights >= 0 with a positive sum."""
    y, context, weights = data
    if y.ndim != 2 or context.ndim != 2 or weights.ndim != 1:
        raise ValueError(
            f"{name}: expected y (N, D), context (N, C), weights (N,); got "
            f"{tuple(y.shape)}, {tuple(context.shape)}, {tuple(weights.shape)}"
        )
    if not len(y) == len(context) == len(weights) or len(y) == 0:
        raise ValueError(
            f"{name}: y, context and weights need the same, non-zero length; got "
            f"{len(y)}, {len(context)}, {len(weights)}"
        )
    for label, tensor in (("y", y), ("context", context), ("weights", weights)):
        bad = ~torch.isfinite(tensor.reshape(len(tensor), -1)).all(dim=1)
        if bad.any():
            i = int(bad.nonzero()[0])
            raise ValueError(f"{name} {label}[{i}] = {tensor[i].tolist()}: not finite")
    if (weights < 0).any():
        i = int((weights < 0).nonzero()[0])
        raise ValueError(f"{name} weights[{i}] = {float(weights[i])}: energy weights must be >= 0")
    if float(weights.sum()) <= 0:
        raise ValueError(f"{name} weights: all zero; nothing to learn from")


def _evaluate(model: nn.Module, data: Tensors, batch_size: int) -> float:
    y, c, w = data
    total, weight = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(y), batch_size):
            sl = slice(start, start + batch_size)
            w_sum = float(w[sl].sum())
            total += float(model.loss(y[sl], c[sl], w[sl])) * w_sum
            weight += w_sum
    return total / weight


def train(
    model: nn.Module,
    train_data: Tensors,
    val_data: Tensors,
    config: TrainingConfig,
    checkpoint: str | Path | None = None,
    max_epochs: int | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` (which provides ``.loss(y, c, w)``) and return the per-epoch history.

    train_data, val_data: (y (N, 3), context (N, 1), weights (N,)). With ``checkpoint`` the
    state is saved after every epoch and training resumes from it if it exists. ``max_epochs``
    stops early (this call only), e.g. to simulate an interruption. At the end the model holds
    the parameters of the best validation epoch.
    """
    validate_training_data(train_data, "training data")
    validate_training_data(val_data, "validation data")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model.to(device)
    train_data = tuple(t.to(device) for t in train_data)
    val_data = tuple(t.to(device) for t in val_data)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    state: dict[str, Any] = {
        "epoch": 0,
        "history": [],
        "best_val": math.inf,
        "best_model": None,
        "bad_epochs": 0,
    }
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and checkpoint.exists():
        saved = load_weights(checkpoint, map_location=device)
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        state = {k: saved[k] for k in state}
        log.info("resuming from %s after epoch %d", checkpoint, state["epoch"])

    n = len(train_data[0])
    n_epoch = min(n, config.samples_per_epoch or n)
    last = config.epochs if max_epochs is None else min(config.epochs, max_epochs)
    epochs = range(state["epoch"], last)
    for epoch in progress(epochs, "training", total=len(epochs)):
        if state["bad_epochs"] >= config.patience:
            break
        model.train()
        order = torch.randperm(
            n, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        )[:n_epoch]
        start_time, skipped, running, running_weight = time.perf_counter(), 0, 0.0, 0.0
        for start in range(0, n_epoch, config.batch_size):
            batch = order[start : start + config.batch_size].to(device)
            y, c, w = (t[batch] for t in train_data)
            loss = model.loss(y, c, w)
            if not torch.isfinite(loss):  # NaN guard: never step on a non-finite loss
                skipped += 1
                continue
            w_sum = float(w.sum())
            running, running_weight = running + float(loss.detach()) * w_sum, running_weight + w_sum
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.gradient_clip)
            optimiser.step()
        n_batches = math.ceil(n_epoch / config.batch_size)
        if skipped == n_batches:
            raise FloatingPointError(
                f"epoch {epoch}: the loss was not finite in every batch; lower "
                f"training.learning_rate (now {config.learning_rate}) or check the inputs"
            )
        seconds = time.perf_counter() - start_time
        schedule.step()
        model.eval()
        val_loss = _evaluate(model, val_data, config.batch_size)
        improved = val_loss < state["best_val"] - 1e-5
        if improved:
            state["best_val"] = val_loss
            state["best_model"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state["bad_epochs"] = 0 if improved else state["bad_epochs"] + 1
        state["history"].append(
            {
                "epoch": epoch,
                "train_loss": running / running_weight,
                "val_loss": val_loss,
                "learning_rate": optimiser.param_groups[0]["lr"],
                "seconds": seconds,
                "samples_per_s": n_epoch / seconds,
                "skipped_batches": skipped,
            }
        )
        state["epoch"] = epoch + 1
        log.info(
            "epoch %d: train %.5f, validation %.5f, lr %.2e, %.0f samples/s%s",
            epoch,
            state["history"][-1]["train_loss"],
            val_loss,
            state["history"][-1]["learning_rate"],
            n_epoch / seconds,
            f", {skipped} non-finite batches skipped" if skipped else "",
        )
        if checkpoint is not None:
            atomic_torch_save(
                checkpoint,
                {
                    **state,
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                },
            )
    finished = max_epochs is None or state["epoch"] >= config.epochs
    if finished and state["best_model"] is not None:
        model.load_state_dict(state["best_model"])
    return state["history"]
