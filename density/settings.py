"""The settings of an EEEC surrogate study: which model, trained on what, tested how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from obsforge.config import Config
from obsforge.density.closure import ClosureConfig
from obsforge.density.data import SampleConfig
from obsforge.density.models import FlowConfig, MLPConfig
from obsforge.training import TrainingConfig

__all__ = ["DensitySettings"]


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

    def training_masses(self, generated: list[float]) -> list[float]:
        """The masses trained on: ``train_masses`` if given, else all generated but hold-outs."""
        if self.train_masses is not None:
            return list(self.train_masses)
        return [m for m in generated if m not in self.holdout_masses]
