"""Classifiers distilled into analytic, provably CP-odd observables by symbolic regression.

- :mod:`~obsforge.symbolic.features`: VBF features and their CP transformation;
- :mod:`~obsforge.symbolic.classifier`: torch MLP and BDT for c = +1 vs c = -1;
- :mod:`~obsforge.symbolic.regression`: Operon (default) / PySR backends, antisymmetrisation,
  the sympy proof of CP-oddness;
- :mod:`~obsforge.symbolic.significance`: the binned Asimov significance used for every row.

The study that ties them together is :mod:`obsforge.cp_observable` (``obsforge cp-observable``).
"""

from obsforge.symbolic.classifier import (
    BDTConfig,
    ClassifierConfig,
    CPClassifier,
    train_bdt,
    train_classifier,
)
from obsforge.symbolic.features import DEFAULT_FEATURES, compute_features, cp_transform
from obsforge.symbolic.regression import DistilledObservable, SymbolicConfig, distil, is_cp_odd
from obsforge.symbolic.significance import asimov_significance

__all__ = [
    "BDTConfig",
    "CPClassifier",
    "ClassifierConfig",
    "DEFAULT_FEATURES",
    "DistilledObservable",
    "SymbolicConfig",
    "asimov_significance",
    "compute_features",
    "cp_transform",
    "distil",
    "is_cp_odd",
    "train_bdt",
    "train_classifier",
]
