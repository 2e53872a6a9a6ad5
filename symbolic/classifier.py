"""Classifiers of c = +1 against c = -1 weighted VBF samples: a torch network and a BDT.

Both are trained on the same events twice, once with the weights w(+1) (label 1) and once with
w(-1) (label 0), each class normalised to the same total. The Bayes-optimal output is then the
likelihood ratio, so the network's logit (and the BDT's decision function) estimate the
log-odds s(x) = ln p(x | c = +1) / p(x | c = -1), the optimal observable for the sign of c
(Neyman-Pearson). For small c it is proportional to the CP-odd score E[R1 | x].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from obsforge.config import Config
from obsforge.observables.classifier import WeightedClassifier
from obsforge.training import TrainingConfig, train

__all__ = ["BDTConfig", "CPClassifier", "ClassifierConfig", "train_bdt", "train_classifier"]


class ClassifierConfig(Config):
    """The torch classifier: an MLP on standardised features."""

    hidden: int = Field(64, ge=4)
    layers: int = Field(3, ge=1)
    training: TrainingConfig = TrainingConfig(
        epochs=60, batch_size=2048, learning_rate=2e-3, patience=8
    )


class BDTConfig(Config):
    """scikit-learn's HistGradientBoostingClassifier (the BDT baseline)."""

    max_iter: int = Field(400, ge=1)
    learning_rate: float = Field(0.05, gt=0)
    max_leaf_nodes: int = Field(31, ge=2)
    min_samples_leaf: int = Field(200, ge=1)
    seed: int = Field(0, ge=0)


class CPClassifier(WeightedClassifier):
    """MLP logit s(x); ``loss(x, label, w)`` is the weighted binary cross entropy
    (:class:`obsforge.observables.classifier.WeightedClassifier`)."""


def _doubled(x, w_plus, w_minus):
    """Each event twice: label 1 with w(+1), label 0 with w(-1); classes normalised to N."""
    n = len(x)
    w1 = w_plus * n / w_plus.sum()
    w0 = w_minus * n / w_minus.sum()
    features = np.concatenate([x, x])
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    return features, labels, np.concatenate([w1, w0])


def _check_weights(w_plus: np.ndarray, w_minus: np.ndarray, n: int) -> None:
    for name, w in (("w_plus", w_plus), ("w_minus", w_minus)):
        if w.shape != (n,):
            raise ValueError(f"{name}: shape {w.shape}, expected ({n},) like the features")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{name}: weights must be finite, >= 0 and not all zero")


def train_classifier(
    x: np.ndarray,
    w_plus: np.ndarray,
    w_minus: np.ndarray,
    config: ClassifierConfig,
    checkpoint: str | Path | None = None,
) -> tuple[CPClassifier, list[dict[str, float]]]:
    """Train the MLP on (x, w(+1)) vs (x, w(-1)); every fifth event validates."""
    _check_weights(w_plus, w_minus, len(x))
    validation = np.arange(len(x)) % 5 == 0

    def tensors(mask):
        f, label, w = _doubled(x[mask], w_plus[mask], w_minus[mask])
        return (
            torch.as_tensor(f, dtype=torch.float32),
            torch.as_tensor(label[:, None], dtype=torch.float32),
            torch.as_tensor(w, dtype=torch.float32),
        )

    torch.manual_seed(config.training.seed)
    model = CPClassifier(x.shape[1], x.mean(0), x.std(0) + 1e-12, config.hidden, config.layers)
    history = train(model, tensors(~validation), tensors(validation), config.training, checkpoint)
    model.cpu()
    return model, history


def train_bdt(x: np.ndarray, w_plus: np.ndarray, w_minus: np.ndarray, config: BDTConfig):
    """Fit the BDT; its ``decision_function`` is the log-odds estimate."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    _check_weights(w_plus, w_minus, len(x))
    features, labels, weights = _doubled(x, w_plus, w_minus)
    bdt = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        random_state=config.seed,
    )
    return bdt.fit(features, labels, sample_weight=weights)
