"""Reco-level optimal observables by score regression (SALLY; Brehmer, Cranmer, Louppe, Pavez,
Phys. Rev. D 98 (2018) 052004, implemented in MadMiner).

At reco level x the parton-level score alpha(z) is not observable, but its conditional mean
t(x) = E[alpha | x] is the score of the reco-level density, so the reco-level Fisher information
is F_reco = N <t t^T>. A network t_hat(x) trained with the squared loss

    L = sum_i w_i (alpha_i - t_hat(x_i))^T G (alpha_i - t_hat(x_i)) / sum_i w_i,

G = F^-1 (each coupling measured in units of its bound), converges to E[alpha | x]. Differences
from MadMiner: the training loop is obsforge's (early stopping, checkpoints, resume), events are
weighted, and the targets are analytic scores of our own amplitudes.

With backgrounds B(x) next to the signal S(x; theta), the score of the observed density is
d ln(S + B) = p(x) t(x) with the purity p = S / (S + B), so the information is

    F = L integral S(x) p(x) t(x) t(x)^T dx,

each selected signal event counting t t^T times its local purity. A classifier trained with
balanced classes estimates p (:class:`PurityClassifier`, :func:`train_purity`).

Reco level (:func:`reco_features`): lepton and jets smeared with stated resolutions, the
neutrino from the missing momentum, the two jets unordered (quark and antiquark are not told
apart), the lepton charge kept.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from obsforge.config import MAX_COUNT, Config
from obsforge.observables.classifier import WeightedClassifier, mlp
from obsforge.observables.ww_reco import object_features, parton_objects, smear_objects
from obsforge.training import TrainingConfig

__all__ = [
    "DetectorConfig",
    "PurityClassifier",
    "RecoSettings",
    "ScoreRegressor",
    "information_with_backgrounds",
    "reco_features",
    "sally_information",
    "train_purity",
    "train_sally",
]


class DetectorConfig(Config):
    """A simple lepton-collider detector: sigma_E / E = a / sqrt(E) (+) b for jets, a relative
    energy resolution for leptons, Gaussian angular smearing."""

    jet_stochastic: float = Field(0.30, ge=0, description="a in GeV^1/2 (CEPC-like PFA ~ 0.3)")
    jet_constant: float = Field(0.02, ge=0)
    jet_angle: float = Field(0.01, ge=0, description="rad")
    lepton_resolution: float = Field(0.002, ge=0, description="sigma_E / E")
    lepton_angle: float = Field(0.001, ge=0, description="rad")
    seed: int = 0


def reco_features(events: dict[str, np.ndarray], detector: DetectorConfig) -> np.ndarray:
    """Reco-level features (B, 23) of analytic l nu q q' events: the quarks taken as jets
    (:func:`obsforge.observables.ww_reco.parton_objects`), smeared by ``detector``, and
    :func:`obsforge.observables.ww_reco.object_features`. Half of the events (alternating) are
    read as W- -> l- nubar, W+ -> q qbar' and half as the charge conjugate (the amplitude is
    the same function of the four fermion momenta)."""
    return object_features(smear_objects(parton_objects(events), detector))


class RecoSettings(Config):
    """Reco level: detector smearing and the SALLY score regression."""

    enabled: bool = True
    detector: DetectorConfig = DetectorConfig()
    train_events: int = Field(400_000, ge=1000, le=MAX_COUNT)
    test_events: int = Field(400_000, ge=1000, le=MAX_COUNT)
    hidden: int = Field(128, ge=4)
    layers: int = Field(3, ge=1)
    training: TrainingConfig = TrainingConfig(epochs=30, batch_size=4096, learning_rate=1e-3)


class ScoreRegressor(nn.Module):
    """t_hat(x): an MLP from standardised reco features to the score, loss in the G metric.

    Plugs into :func:`obsforge.training.train` as (features, targets, weights)."""

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        metric: np.ndarray,
        x_mean: np.ndarray,
        x_std: np.ndarray,
        hidden: int = 128,
        layers: int = 3,
    ) -> None:
        super().__init__()
        self.net = mlp(n_features, n_outputs, hidden, layers)
        self.register_buffer("metric", torch.as_tensor(metric, dtype=torch.float32))
        self.register_buffer("x_mean", torch.as_tensor(x_mean, dtype=torch.float32))
        self.register_buffer("x_std", torch.as_tensor(x_std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.x_mean) / self.x_std)

    def loss(self, x: torch.Tensor, alpha: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        r = alpha - self(x)
        per_event = torch.einsum("bi,ij,bj->b", r, self.metric, r)
        return (weights * per_event).sum() / weights.sum()

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        param = next(self.parameters())
        out = []
        for start in range(0, len(x), batch):
            xb = torch.as_tensor(x[start : start + batch], dtype=param.dtype, device=param.device)
            out.append(self(xb).double().cpu().numpy())
        return np.concatenate(out)


def train_sally(
    x: np.ndarray,
    alpha: np.ndarray,
    weight: np.ndarray,
    training,
    hidden: int = 128,
    layers: int = 3,
    checkpoint=None,
) -> tuple[ScoreRegressor, list[dict[str, float]]]:
    """SALLY: regress the parton-level score alpha (B, n) on reco features x (B, m) with event
    weights (B,), so that t_hat(x) -> E[alpha | x], the locally optimal reco observable.

    The loss is the weighted squared error in the metric G = <alpha alpha^T>^-1, which makes
    every coupling direction count by its information. Features are standardised with their
    weighted mean and spread; every fifth event validates. ``training``: an
    :class:`obsforge.training.TrainingConfig`. Returns the model (CPU, eval) and its history.
    """
    import torch

    from obsforge.training import train

    per_event = np.einsum("b,bi,bj->ij", weight, alpha, alpha) / weight.sum()
    w_col = weight[:, None] / weight.sum()
    x_mean = (w_col * x).sum(0)
    x_std = np.sqrt((w_col * (x - x_mean) ** 2).sum(0)) + 1e-12
    torch.manual_seed(training.seed)
    model = ScoreRegressor(
        x.shape[1], alpha.shape[1], np.linalg.inv(per_event), x_mean, x_std, hidden, layers
    )
    validation = np.arange(len(x)) % 5 == 0  # every fifth event validates
    scale = len(x) / weight.sum()  # weights O(1) for the optimiser's sake

    def tensors(mask):
        return tuple(
            torch.as_tensor(a[mask], dtype=torch.float32) for a in (x, alpha, weight * scale)
        )

    history = train(model, tensors(~validation), tensors(validation), training, checkpoint)
    return model.cpu().eval(), history


def sally_information(
    predicted: np.ndarray,
    alpha: np.ndarray,
    folded: np.ndarray,
    weight: np.ndarray,
    luminosity: float,
    couplings: tuple[str, ...],
) -> dict[str, object]:
    """What a SALLY score keeps, on test events: the Fisher information of the predicted score
    t_hat(x) (reco level), relative to the parton-level score alpha and to the ideal score of a
    perfect detector that cannot tell q from qbar (``folded``), with the bounds of both ends."""
    from obsforge.observables.fisher import bounds, fisher_unbinned, retained_fraction

    parton = fisher_unbinned(alpha, weight, luminosity)
    reco = fisher_unbinned(predicted, weight, luminosity)
    ideal = fisher_unbinned(folded, weight, luminosity)
    return {
        "fisher": reco.tolist(),
        "retained": retained_fraction(reco, parton),
        "retained_perfect_detector_folded": retained_fraction(ideal, parton),
        "bounds": bounds(reco, couplings),
        "parton_bounds_same_events": bounds(parton, couplings),
    }


class PurityClassifier(WeightedClassifier):
    """p_hat(x) = S / (S + B): a weighted classifier trained with balanced classes (each
    class's weights summing to one), whose output q = S_n / (S_n + B_n) of the normalised
    densities is turned into the purity with the class totals:
    p = sigma_S q / (sigma_S q + sigma_B (1 - q))."""

    def __init__(self, n_features, x_mean, x_std, sigma_s, sigma_b, hidden=64, layers=2) -> None:
        super().__init__(n_features, x_mean, x_std, hidden, layers)
        self.register_buffer("log_ratio", torch.tensor(float(np.log(sigma_s / sigma_b))))

    def purity(self, x: np.ndarray, batch: int = 65536) -> np.ndarray:
        """p_hat(x) (B,): logit q + ln(sigma_S / sigma_B) through the sigmoid."""
        return 1 / (1 + np.exp(-(self.log_odds(x, batch) + float(self.log_ratio))))


def train_purity(
    x: np.ndarray,
    signal: np.ndarray,
    weight: np.ndarray,
    training,
    hidden: int = 64,
    layers: int = 2,
    checkpoint=None,
) -> tuple[PurityClassifier, list[dict[str, float]]]:
    """The purity S / (S + B) on reco features x (B, m) of selected events, ``signal`` (B,)
    bool, physical weights (B,) (sum over each class = its selected cross section). Training
    balances the classes; every fifth event validates. Returns the model (CPU, eval) and its
    history."""
    from obsforge.training import train

    sigma_s, sigma_b = weight[signal].sum(), weight[~signal].sum()
    if sigma_s <= 0 or sigma_b <= 0:
        raise ValueError(
            f"selected signal {sigma_s:g} pb, background {sigma_b:g} pb: both must be > 0"
        )
    balanced = np.where(signal, weight / sigma_s, weight / sigma_b) * len(x) / 2
    w_col = (balanced / balanced.sum())[:, None]
    x_mean = (w_col * x).sum(0)
    x_std = np.sqrt((w_col * (x - x_mean) ** 2).sum(0)) + 1e-12
    torch.manual_seed(training.seed)
    model = PurityClassifier(x.shape[1], x_mean, x_std, sigma_s, sigma_b, hidden, layers)
    validation = np.arange(len(x)) % 5 == 0

    def tensors(mask):
        arrays = (x[mask], signal[mask, None].astype(np.float32), balanced[mask])
        return tuple(torch.as_tensor(a, dtype=torch.float32) for a in arrays)

    history = train(model, tensors(~validation), tensors(validation), training, checkpoint)
    return model.cpu().eval(), history


def information_with_backgrounds(
    x: np.ndarray,
    signal: np.ndarray,
    alpha: np.ndarray,
    folded: np.ndarray,
    weight: np.ndarray,
    parton: np.ndarray,
    luminosity: float,
    couplings: tuple[str, ...],
    purity_training,
    sally_training,
    checkpoints,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """The information of selected events x (B, m) (``signal`` (B,) bool, cross-section
    ``weight`` (B,); for signal the parton-level score ``alpha`` (B, n) and its q/qbar-folded
    ``folded``), column by column against ``parton``, the parton-level Fisher matrix of all
    signal events: selected (alpha), + backgrounds (alpha, purity), q/qbar unknown (folded),
    detector (SALLY) and detector + backgrounds. Every other event trains the purity
    classifier (all) and SALLY (signal); the Fisher matrices come from the other half, weights
    doubled. ``checkpoints``: a folder for the two trainings' checkpoints. Returns (Fisher
    matrices, bounds, retained fractions, mean purity, epochs), and the test signal's purity
    and weights."""
    from obsforge.observables.fisher import bounds, fisher_unbinned, retained_fraction

    train = np.arange(len(x)) % 2 == 0
    test, fit = ~train & signal, train & signal
    purity_model, purity_history = train_purity(
        x[train], signal[train], weight[train], purity_training,
        checkpoint=checkpoints / "purity-checkpoint.pt",
    )  # fmt: skip
    sally, sally_history = train_sally(
        x[fit], alpha[fit], weight[fit], sally_training,
        checkpoint=checkpoints / "sally-checkpoint.pt",
    )  # fmt: skip
    purity, score, w_test = purity_model.purity(x[test]), sally.predict(x[test]), 2 * weight[test]
    fisher = {
        "parton": parton,
        "selected": fisher_unbinned(alpha[test], w_test, luminosity),
        "selected_backgrounds": fisher_unbinned(alpha[test], w_test * purity, luminosity),
        "selected_folded": fisher_unbinned(folded[test], w_test, luminosity),
        "detector": fisher_unbinned(score, w_test, luminosity),
        "detector_backgrounds": fisher_unbinned(score, w_test * purity, luminosity),
    }
    result = {
        "purity_mean": float(np.average(purity, weights=w_test)),
        "epochs": {"purity": len(purity_history), "sally": len(sally_history)},
        "fisher": {k: f.tolist() for k, f in fisher.items()},
        "bounds": {k: bounds(f, couplings) for k, f in fisher.items()},
        "retained": {k: retained_fraction(f, parton) for k, f in fisher.items()},
    }
    return result, purity, w_test
