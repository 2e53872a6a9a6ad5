"""Reco-level optimal observables by score regression (SALLY; Brehmer, Cranmer, Louppe, Pavez,
Phys. Rev. D 98 (2018) 052004, implemented in MadMiner).

At reco level x the parton-level score alpha(z) is not observable, but its conditional mean
t(x) = E[alpha | x] is the score of the reco-level density, so the reco-level Fisher information
is F_reco = N <t t^T>. A network t_hat(x) trained with the squared loss

    L = sum_i w_i (alpha_i - t_hat(x_i))^T G (alpha_i - t_hat(x_i)) / sum_i w_i,

G = F^-1 (each coupling measured in units of its bound), converges to E[alpha | x]. Differences
from MadMiner: the training loop is obsforge's (early stopping, checkpoints, resume), events are
weighted, and the targets are analytic scores of our own amplitudes.

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
from obsforge.training import TrainingConfig

__all__ = [
    "DetectorConfig",
    "RecoSettings",
    "ScoreRegressor",
    "reco_features",
    "sally_information",
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


def _smear(p: np.ndarray, sigma_e: np.ndarray, sigma_angle: float, rng) -> np.ndarray:
    """Massless momenta (B, 4): energy scaled by (1 + sigma_e N), direction tilted by
    sigma_angle in two random transverse directions."""
    energy = p[:, 0] * np.clip(1 + sigma_e * rng.standard_normal(len(p)), 0.05, None)
    n = p[:, 1:] / np.linalg.norm(p[:, 1:], axis=1, keepdims=True)
    n = n + sigma_angle * rng.standard_normal(n.shape)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return np.concatenate([energy[:, None], energy[:, None] * n], axis=1)


def _helicity_angles(daughter: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, ...]:
    """(cos theta, cos phi, sin phi) of a daughter in the parent's rest frame: z along the parent,
    x in the plane of the parent and the e- beam (+z), pointing away from the beam (the
    convention of :func:`obsforge.events.ww.ww_kinematics`)."""
    n = parent[:, 1:] / np.linalg.norm(parent[:, 1:], axis=1, keepdims=True)
    beta = np.linalg.norm(parent[:, 1:], axis=1) / parent[:, 0]
    gamma = 1 / np.sqrt(1 - np.minimum(beta, 1 - 1e-12) ** 2)
    along = np.einsum("bi,bi->b", daughter[:, 1:], n)
    rest = daughter[:, 1:] + ((gamma - 1) * along - gamma * beta * daughter[:, 0])[:, None] * n
    beam = np.array([0.0, 0.0, 1.0])
    x = n[:, 2:3] * n - beam[None]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(n, x)
    size = np.linalg.norm(rest, axis=1) + 1e-300
    cos_t = np.einsum("bi,bi->b", rest, n) / size
    phi = np.arctan2(np.einsum("bi,bi->b", rest, y), np.einsum("bi,bi->b", rest, x))
    return cos_t, np.cos(phi), np.sin(phi)


def reco_features(events: dict[str, np.ndarray], detector: DetectorConfig) -> np.ndarray:
    """Reco-level features (B, 23): lepton charge, lepton (E, p), the two jets ordered by
    energy (E, p each), the missing momentum (p); and, as physics-informed inputs, cos Theta
    of the W- (from the leptonic W and the charge), the lepton's helicity angles in its W's
    frame (cos theta, cos phi, sin phi), and the leading jet's folded ones (|cos theta|,
    cos 2 phi, sin 2 phi: quark and antiquark are not told apart). Half of the events
    (alternating) are read as W- -> l- nubar, W+ -> q qbar' and half as the charge conjugate
    (the amplitude is the same function of the four fermion momenta)."""
    rng = np.random.default_rng(detector.seed)
    n = len(events["f1"])
    negative = np.arange(n) % 2 == 0  # W- -> l- nubar
    lepton = np.where(negative[:, None], events["f1"], events["fbar4"])
    quark_a = np.where(negative[:, None], events["f3"], events["f1"])
    quark_b = np.where(negative[:, None], events["fbar4"], events["fbar2"])
    lepton = _smear(lepton, np.full(n, detector.lepton_resolution), detector.lepton_angle, rng)
    jets = []
    for quark in (quark_a, quark_b):
        sigma = np.hypot(detector.jet_stochastic / np.sqrt(quark[:, 0]), detector.jet_constant)
        jets.append(_smear(quark, sigma, detector.jet_angle, rng))
    swap = jets[1][:, 0] > jets[0][:, 0]
    lead = np.where(swap[:, None], jets[1], jets[0])
    sub = np.where(swap[:, None], jets[0], jets[1])
    missing = -(lepton + lead + sub)[:, 1:]
    charge = np.where(negative, -1.0, 1.0)[:, None]
    neutrino = np.concatenate([np.linalg.norm(missing, axis=1, keepdims=True), missing], axis=1)
    leptonic = lepton + neutrino
    hadronic = lead + sub
    w_minus = np.where(negative[:, None], leptonic, hadronic)
    cos_big = w_minus[:, 3] / np.linalg.norm(w_minus[:, 1:], axis=1)
    lepton_angles = _helicity_angles(lepton, leptonic)
    jet_cos, jet_c, jet_s = _helicity_angles(lead, hadronic)
    derived = np.stack(
        [cos_big, *lepton_angles, np.abs(jet_cos), jet_c**2 - jet_s**2, 2 * jet_c * jet_s], 1
    )
    return np.concatenate([charge, lepton, lead, sub, missing, derived], axis=1)


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
        blocks: list[nn.Module] = []
        width = n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        blocks.append(nn.Linear(width, n_outputs))
        self.net = nn.Sequential(*blocks)
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
