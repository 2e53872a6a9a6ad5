"""Neural ratio estimation of the m_top posterior with ``sbi``.

A classifier d(theta, x) is trained to tell joint pairs (theta, x) ~ p(theta) p(x | theta) from
shuffled ones; its logit estimates log r(theta, x) = log p(x | theta) / p(x), so on a grid of
theta the posterior is p(theta | x) ∝ p(theta) r(theta, x) (Hermans et al. 2020, NRE_A;
Durkan et al. 2020, NRE_B; Miller et al. 2022, NRE_C; Delaunoy et al. 2022, BNRE, which adds a
balancing penalty that makes the posterior conservative).

For the amortised shape scan the shape parameters (n1, n2) are appended to x: they are known
for every observation, so the classifier learns r(theta; x, s) = p(x | theta, s) / p(x | s) for
all shapes s at once.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from obsforge.atomic import atomic_torch_save, load_weights
from obsforge.config import MAX_COUNT, Config

__all__ = ["NREConfig", "grid_log_ratio", "load_estimator", "save_estimator", "train_nre"]

log = logging.getLogger(__name__)


class NREConfig(Config):
    """Which ratio estimator, its classifier and its training."""

    method: Literal["NRE_A", "NRE_B", "NRE_C", "BNRE"] = "NRE_C"
    classifier: Literal["mlp", "resnet"] = "resnet"
    hidden_features: int = Field(64, ge=4)
    simulations: int = Field(20_000, ge=100, le=MAX_COUNT, description="training pairs (per shape)")
    batch_size: int = Field(256, ge=8)
    learning_rate: float = Field(1e-3, gt=0)
    max_epochs: int = Field(300, ge=1)
    patience: int = Field(15, ge=1, description="epochs without validation improvement")
    regularization_strength: float = Field(100.0, ge=0, description="BNRE balancing penalty")
    seed: int = 0


class _NoTracking:
    """sbi's tracker protocol, recording nothing (its default writes TensorBoard logs into the
    working directory); training progress goes to the log and the returned summary instead."""

    log_dir = None

    def log_metric(self, name, value, step=None) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def log_params(self, params) -> None:
        pass

    def add_figure(self, name, figure, step=None) -> None:
        pass

    def flush(self) -> None:
        pass


def _inference(config: NREConfig, low: float, high: float):
    from sbi.inference import BNRE, NRE_A, NRE_B, NRE_C
    from sbi.neural_nets import classifier_nn
    from sbi.utils import BoxUniform

    methods = {"NRE_A": NRE_A, "NRE_B": NRE_B, "NRE_C": NRE_C, "BNRE": BNRE}
    prior = BoxUniform(low=torch.tensor([float(low)]), high=torch.tensor([float(high)]))
    builder = classifier_nn(config.classifier, hidden_features=config.hidden_features)
    return methods[config.method](
        prior=prior, classifier=builder, show_progress_bars=False, tracker=_NoTracking()
    )


def train_nre(
    theta: np.ndarray, x: np.ndarray, low: float, high: float, config: NREConfig
) -> torch.nn.Module:
    """Train a ratio estimator on simulations theta (n,) ~ U(low, high), x (n, D).

    Deterministic for a fixed ``config.seed`` (same data, same threads). Returns sbi's
    ``RatioEstimator`` in eval mode."""
    theta = np.asarray(theta, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if theta.ndim != 1 or x.ndim != 2 or len(theta) != len(x):
        raise ValueError(f"theta {theta.shape}, x {x.shape}: need (n,) and (n, D)")
    if not (np.isfinite(theta).all() and np.isfinite(x).all()):
        raise ValueError("theta, x: simulations contain NaN or inf")
    if theta.min() < low or theta.max() > high:
        raise ValueError(f"theta: outside the prior range [{low}, {high}]")
    torch.manual_seed(config.seed)
    inference = _inference(config, low, high)
    inference.append_simulations(
        torch.as_tensor(theta[:, None], dtype=torch.float32),
        torch.as_tensor(x, dtype=torch.float32),
    )
    kwargs = dict(
        training_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        stop_after_epochs=config.patience,
        max_num_epochs=config.max_epochs,
    )
    if config.method == "BNRE":
        kwargs["regularization_strength"] = config.regularization_strength
    with contextlib.redirect_stdout(io.StringIO()) as printed:  # sbi prints its convergence
        estimator = inference.train(**kwargs)
    log.debug(printed.getvalue().strip())
    summary = inference.summary
    log.info(
        "%s: %d epochs, best validation loss %.4f",
        config.method,
        summary["epochs_trained"][-1],
        summary["best_validation_loss"][-1],
    )
    estimator.info = {  # type: ignore[attr-defined]
        "epochs": int(summary["epochs_trained"][-1]),
        "best_validation_loss": float(summary["best_validation_loss"][-1]),
    }
    # What rebuilds the network around its saved weights (see load_estimator).
    estimator.architecture = {  # type: ignore[attr-defined]
        "classifier": config.classifier,
        "hidden_features": config.hidden_features,
        "theta_dim": 1,
        "x_dim": int(x.shape[1]),
    }
    return estimator.eval()


def grid_log_ratio(
    estimator: torch.nn.Module, x: np.ndarray, grid: np.ndarray, batch: int = 2048
) -> np.ndarray:
    """log r(theta_g, x_b) on a grid: x (B, D), grid (G,) -> (B, G)."""
    x = np.asarray(x, dtype=np.float32)
    grid_t = torch.as_tensor(np.asarray(grid, dtype=np.float32))
    out = np.empty((len(x), len(grid)))
    with torch.no_grad():
        for start in range(0, len(x), batch):
            xb = torch.as_tensor(x[start : start + batch])
            theta = grid_t[:, None, None].expand(len(grid_t), len(xb), 1)
            xx = xb[None].expand(len(grid_t), *xb.shape)
            out[start : start + len(xb)] = estimator.unnormalized_log_ratio(theta, xx).T.numpy()
    return out


def save_estimator(estimator: torch.nn.Module, path: str | Path) -> Path:
    """Write a trained ratio estimator atomically: its weights (the z-scoring of theta and x
    included, as buffers) and the architecture that :func:`load_estimator` rebuilds."""
    payload = {
        "architecture": dict(estimator.architecture),
        "info": dict(getattr(estimator, "info", {})),
        "state_dict": estimator.state_dict(),
    }
    return atomic_torch_save(path, payload)


def load_estimator(path: str | Path) -> torch.nn.Module:
    """A ratio estimator written by :func:`save_estimator`, in eval mode.

    Only weights and plain data are read (a file that would run code is refused): the network
    is rebuilt by sbi's ``classifier_nn`` from the saved architecture. sbi sizes the network
    from a first batch, so it is given random inputs of the saved dimensions; their z-scoring
    is then overwritten by the saved buffers.
    """
    from sbi.neural_nets import classifier_nn

    payload = load_weights(path)
    arch = payload["architecture"]
    builder = classifier_nn(arch["classifier"], hidden_features=arch["hidden_features"])
    generator = torch.Generator().manual_seed(0)
    estimator = builder(
        torch.randn(16, arch["theta_dim"], generator=generator),
        torch.randn(16, arch["x_dim"], generator=generator),
    )
    estimator.load_state_dict(payload["state_dict"])
    estimator.architecture = arch  # type: ignore[attr-defined]
    estimator.info = payload["info"]  # type: ignore[attr-defined]
    return estimator.eval()
