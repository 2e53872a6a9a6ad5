"""Energy-weighted conditional density models of the EEEC: EEEC(zeta1, zeta2, zeta3 | m_top).

Normalizing flows (nflows, rational-quadratic splines) and an MLP surrogate, trained with the
energy-weighted likelihood so that they converge to the EEEC itself (arXiv:2508.10988).
"""

from obsforge.density.closure import ClosureConfig, closure_at_mass, closure_table, shape_closure
from obsforge.density.data import SampleConfig, importance_subsample, jet_split, training_arrays
from obsforge.density.models import (
    ConditionalFlow,
    DensityMLP,
    FlowConfig,
    MLPConfig,
    weighted_nll,
)
from obsforge.density.settings import DensitySettings
from obsforge.density.surrogate import (
    EEECDistribution,
    EEECSurrogate,
    build_model,
    train_surrogate,
)

__all__ = [
    "ClosureConfig",
    "ConditionalFlow",
    "DensityMLP",
    "DensitySettings",
    "EEECDistribution",
    "EEECSurrogate",
    "FlowConfig",
    "MLPConfig",
    "SampleConfig",
    "build_model",
    "closure_at_mass",
    "closure_table",
    "importance_subsample",
    "jet_split",
    "shape_closure",
    "train_surrogate",
    "training_arrays",
    "weighted_nll",
]
