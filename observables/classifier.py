"""Small torch networks shared by the reco-level and symbolic studies: an MLP, and a weighted
binary classifier on standardised features.

With class weights w, the weighted binary cross entropy

    L = - sum_i w_i [y_i ln s(x_i) + (1 - y_i) ln(1 - s(x_i))] / sum_i w_i

is minimised by the logit ln(p_1(x) / p_0(x)) of the two weighted densities, so the classifier
is a likelihood-ratio estimator. Plugs into :func:`obsforge.training.train` as (features,
labels (B, 1), weights).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["WeightedClassifier", "mlp"]


def mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` SiLU units between n_in inputs and n_out outputs."""
    blocks: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    blocks.append(nn.Linear(width, n_out))
    return nn.Sequential(*blocks)


class WeightedClassifier(nn.Module):
    """The logit s(x) of an MLP on features standardised with ``mean`` and ``std``;
    ``loss(x, label, w)`` is the weighted binary cross entropy."""

    def __init__(
        self, n_features: int, mean: np.ndarray, std: np.ndarray, hidden: int, layers: int
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.net = mlp(n_features, 1, hidden, layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std).squeeze(-1)

    def loss(self, x: torch.Tensor, label: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        per_event = nn.functional.binary_cross_entropy_with_logits(
            self(x), label[:, 0], reduction="none"
        )
        return (w * per_event).sum() / w.sum()

    def log_odds(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """s(x) (B,) for a numpy array of features (B, m), in eval mode."""
        self.eval()
        device = self.mean.device
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                chunk = torch.as_tensor(x[start : start + batch_size], dtype=torch.float32)
                out.append(self(chunk.to(device)).cpu().numpy())
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
