"""Conditional density models of EEEC triplets, each paired with its loss.

Both act in standardised flow coordinates y (see :mod:`obsforge.density.coordinates`) with a
standardised context c = (m_top - m0) / s, on tensors y: (B, 3), c: (B, 1), w: (B,).

**Energy-weighted likelihood** ("Energy weight the loss!", arXiv:2508.10988). For triplets with
weights w_i = E_i E_j E_k / E_jet^3 the loss

    L = - sum_i w_i log p(y_i | c_i) / sum_i w_i

is minimised by p = the *weighted* distribution, i.e. the normalised EEEC itself, not the
density of triplets. With all w_i = 1 the same loss learns the (wrong) unweighted density.

- :class:`ConditionalFlow`: masked autoregressive rational-quadratic spline flow (nflows;
  Durkan et al., arXiv:1906.04032), exactly normalised, loss L above. The reference's flow
  (arXiv:2508.10988) is ``FlowConfig(layers=10, hidden=200, bins=40, tail_bound=14,
  permutation="random", batch_norm=True)``.
- :class:`DensityMLP`: an MLP for ln f(y | c), not normalised by construction; trained with the
  extended likelihood L + E_c[ integral f(y | c) dy ], whose minimum is f = p with integral 1
  (the normalisation term, estimated by importance sampling from a wide Gaussian).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from nflows.distributions.normal import StandardNormal
from nflows.flows.base import Flow
from nflows.transforms.autoregressive import (
    MaskedPiecewiseRationalQuadraticAutoregressiveTransform,
)
from nflows.transforms.base import CompositeTransform
from nflows.transforms.normalization import BatchNorm
from nflows.transforms.permutations import RandomPermutation, ReversePermutation
from pydantic import Field
from torch import nn

from obsforge.config import Config

__all__ = ["ConditionalFlow", "DensityMLP", "FlowConfig", "MLPConfig", "weighted_nll"]

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU}


def weighted_nll(log_prob: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Energy-weighted negative log-likelihood: - sum w log p / sum w. (B,), (B,) -> ()."""
    return -(weights * log_prob).sum() / weights.sum()


class FlowConfig(Config):
    """Architecture of the conditional spline flow."""

    layers: int = Field(4, ge=1, le=32, description="autoregressive spline transforms")
    hidden: int = Field(64, ge=4, description="hidden units of each MADE network")
    blocks: int = Field(2, ge=1, description="hidden blocks of each MADE network")
    bins: int = Field(8, ge=2, description="spline bins per dimension")
    tail_bound: float = Field(5.0, gt=0, description="splines act on [-B, B]; linear tails")
    permutation: Literal["reverse", "random"] = Field(
        "reverse",
        description="feature permutation after each transform (random: drawn once "
        "at construction from torch's seed, stored with the weights)",
    )
    batch_norm: bool = Field(
        False, description="a batch-norm transform after each spline (running statistics in eval)"
    )


class MLPConfig(Config):
    """Architecture of the MLP surrogate for ln EEEC."""

    hidden: int = Field(128, ge=4)
    layers: int = Field(4, ge=1)
    activation: Literal["silu", "relu"] = "silu"
    proposal_width: float = Field(1.6, gt=0, description="std of the Gaussian for the integral")


class ConditionalFlow(nn.Module):
    """p(y | c) as a conditional masked autoregressive RQ-spline flow (exactly normalised)."""

    kind = "flow"

    def __init__(self, config: FlowConfig, features: int = 3, context: int = 1) -> None:
        super().__init__()
        self.config = config
        transforms = []
        for _ in range(config.layers):
            transforms.append(
                MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
                    features=features,
                    hidden_features=config.hidden,
                    context_features=context,
                    num_bins=config.bins,
                    tails="linear",
                    tail_bound=config.tail_bound,
                    num_blocks=config.blocks,
                    use_residual_blocks=True,
                )
            )
            if config.batch_norm:
                transforms.append(BatchNorm(features))
            if config.permutation == "random":
                transforms.append(RandomPermutation(features))
            else:
                transforms.append(ReversePermutation(features))
        self.flow = Flow(CompositeTransform(transforms), StandardNormal([features]))

    def log_prob(self, y: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """log p(y | c): (B, 3), (B, 1) -> (B,)."""
        return self.flow.log_prob(y, context=context)

    def loss(self, y: torch.Tensor, context: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return weighted_nll(self.log_prob(y, context), weights)

    @torch.no_grad()
    def sample_weighted(self, n: int, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """n samples at one context (1, 1) -> y (n, 3) and weights 1/n (n,)."""
        y = self.flow.sample(n, context=context).reshape(n, -1)
        return y, torch.full((n,), 1.0 / n, dtype=y.dtype, device=y.device)


class DensityMLP(nn.Module):
    """ln f(y | c) as an MLP; the extended-likelihood loss makes f a normalised density."""

    kind = "mlp"

    def __init__(self, config: MLPConfig, features: int = 3, context: int = 1) -> None:
        super().__init__()
        self.config = config
        self.features = features
        sizes = [features + context] + [config.hidden] * config.layers
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(n_in, n_out), ACTIVATIONS[config.activation]()]
        layers.append(nn.Linear(sizes[-1], 1))
        self.net = nn.Sequential(*layers)

    def log_prob(self, y: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """ln f(y | c) (approximately normalised after training): (B, 3), (B, 1) -> (B,)."""
        return self.net(torch.cat([y, context], dim=1)).squeeze(-1)

    def _proposal(self, n: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        width = self.config.proposal_width
        u = torch.randn(n, self.features, dtype=like.dtype, device=like.device) * width
        log_q = (-0.5 * (u / width) ** 2 - math.log(width * math.sqrt(2 * math.pi))).sum(1)
        return u, log_q

    def loss(self, y: torch.Tensor, context: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        u, log_q = self._proposal(len(y), y)
        integral = torch.exp(self.log_prob(u, context) - log_q).mean()
        return weighted_nll(self.log_prob(y, context), weights) + integral - 1.0

    @torch.no_grad()
    def sample_weighted(self, n: int, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Importance samples at one context: y (n, 3) from the proposal, weights f/q / n."""
        u, log_q = self._proposal(n, context)
        weights = torch.exp(self.log_prob(u, context.expand(n, -1)) - log_q) / n
        return u, weights
