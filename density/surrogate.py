"""The EEEC surrogate: a trained model of EEEC(zeta1, zeta2, zeta3 | m_top) that behaves like
the mathematical object it stands for.

    eeec = EEECSurrogate.load("model.pt")
    p = eeec(172.5)                  # the normalised EEEC at m_top = 172.5 GeV
    p.log_prob(zeta)                 # (T, 3) sorted sides -> (T,), density in zeta-space
    p.sample(100_000)                # (n, 3) triplets distributed as the EEEC
    eeec.marginal(shape, 172.5, edges)   # weighted zeta1 distribution of a triangle shape

Densities in zeta follow from the flow coordinates y (standardised as (y - mean) / std) by
log p(zeta) = log p(y_std) - sum log std + log |dy/dzeta|.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from obsforge.atomic import atomic_torch_save, load_weights
from obsforge.density.coordinates import (
    from_flow_coordinates,
    log_jacobian,
    to_flow_coordinates,
    validate_zeta,
)
from obsforge.density.models import ConditionalFlow, DensityMLP, FlowConfig, MLPConfig
from obsforge.observables.shapes import TriangleShape, in_shape, shape_members
from obsforge.progress import progress

__all__ = ["EEECDistribution", "EEECSurrogate", "build_model", "train_surrogate"]

MODELS = {"flow": (ConditionalFlow, FlowConfig), "mlp": (DensityMLP, MLPConfig)}
SAMPLE_BLOCK = 200_000
NORM_POINTS = 4_000_000  # proposal points of an MLP's normalisation in shape_fractions


def build_model(kind: str, config: dict[str, Any] | None = None) -> torch.nn.Module:
    """A fresh model of ``kind`` ('flow' or 'mlp') from its architecture config."""
    if kind not in MODELS:
        raise ValueError(f"model = {kind!r}: allowed are {sorted(MODELS)}")
    model_class, config_class = MODELS[kind]
    return model_class(config_class(**(config or {})))


class EEECSurrogate:
    """A density model (or a bagged ensemble of them) plus the standardisation of its
    coordinates and context.

    An ensemble of M members trained on Poisson-bootstrap replicas of the training jets stands
    for the mixture (1/M) sum_i p_i; the spread of the members estimates the statistical
    uncertainty that the finite training sample leaves in the surrogate.
    """

    def __init__(
        self,
        model: torch.nn.Module | list[torch.nn.Module],
        y_mean: np.ndarray,
        y_std: np.ndarray,
        m_centre: float,
        m_scale: float,
        masses: list[float],
        info: dict[str, Any] | None = None,
    ) -> None:
        self.models = [m.eval() for m in (model if isinstance(model, list) else [model])]
        self.y_mean = np.asarray(y_mean, dtype=np.float64)
        self.y_std = np.asarray(y_std, dtype=np.float64)
        self.m_centre, self.m_scale = float(m_centre), float(m_scale)
        self.masses = [float(m) for m in masses]
        self.info = dict(info or {})

    @property
    def model(self) -> torch.nn.Module:
        """The first (for a single surrogate: the only) member."""
        return self.models[0]

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def n_members(self) -> int:
        return len(self.models)

    def member(self, i: int) -> EEECSurrogate:
        """Ensemble member i as a surrogate of its own (same standardisation)."""
        return EEECSurrogate(
            self.models[i], self.y_mean, self.y_std, self.m_centre, self.m_scale, self.masses
        )

    def standardise(self, zeta: np.ndarray, m_top: np.ndarray | float) -> tuple[np.ndarray, ...]:
        """Sorted sides and masses -> standardised flow coordinates and context."""
        y = (to_flow_coordinates(zeta) - self.y_mean) / self.y_std
        context = (
            np.broadcast_to(np.asarray(m_top, dtype=np.float64), (len(y),)) - self.m_centre
        ) / self.m_scale
        return y, context[:, None]

    def _context(self, m_top: float) -> torch.Tensor:
        param = next(self.model.parameters())
        value = (float(m_top) - self.m_centre) / self.m_scale
        return torch.tensor([[value]], dtype=param.dtype, device=param.device)

    def __call__(self, m_top: float) -> EEECDistribution:
        m_top = float(m_top)
        if not np.isfinite(m_top) or m_top <= 0:
            raise ValueError(f"m_top = {m_top}: must be a positive, finite mass in GeV")
        return EEECDistribution(self, m_top)

    def weighted_samples(self, n: int, m_top: float, seed: int = 0) -> tuple[np.ndarray, ...]:
        """n model samples at m_top: zeta (n, 3) and weights (n,) summing to 1.

        Flow samples carry equal weights. MLP samples are importance samples from a Gaussian
        proposal, self-normalised: the MLP's own integral is only approximately 1 (it is
        enforced by the loss), so marginals are fractions of the model's total. An ensemble
        draws n / M samples from each member (seed + i), each member's weights summing to 1 / M.
        """
        if self.n_members > 1:
            parts = [
                self.member(i).weighted_samples(size, m_top, seed + i)
                for i, size in enumerate(np.diff(np.linspace(0, n, self.n_members + 1).astype(int)))
            ]
            zeta = np.concatenate([p[0] for p in parts])
            return zeta, np.concatenate([p[1] for p in parts]) / self.n_members
        zetas, weights = [], []
        context = self._context(m_top)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for start in range(0, n, SAMPLE_BLOCK):
                size = min(SAMPLE_BLOCK, n - start)
                y, w = self.model.sample_weighted(size, context)
                y = y.double().cpu().numpy() * self.y_std + self.y_mean
                zetas.append(from_flow_coordinates(y))
                weights.append(w.double().cpu().numpy() * size / n)
        weights = np.concatenate(weights)
        return np.concatenate(zetas), weights / weights.sum()

    def marginal(
        self,
        shape: TriangleShape,
        m_top: float,
        edges: np.ndarray,
        n_samples: int = 2_000_000,
        seed: int = 0,
        samples: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weighted zeta1 distribution of ``shape`` at m_top, as the fraction of the total EEEC
        weight per bin, from ``n_samples`` model samples (or from ``samples`` = (zeta, weights)
        of :meth:`weighted_samples` at this mass, to reuse one sample for many shapes).
        Returns (content, MC error)."""
        from obsforge.observables.shapes import weighted_histogram

        zeta, weights = samples or self.weighted_samples(n_samples, m_top, seed)
        mask = in_shape(zeta, shape)
        return weighted_histogram(zeta[mask, 0], weights[mask], np.asarray(edges))

    def shape_fractions(
        self,
        shapes: list[TriangleShape],
        masses: np.ndarray | float,
        edges: np.ndarray,
        n_proposal: int = 20_000_000,
        seed: int = 0,
        width: float = 1.6,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per mass and member, the fraction of the total EEEC weight in each zeta1 bin
        (``edges``, K + 1) of each shape, and its MC variance: two arrays (G, M, S, K) for G
        masses (a float m_top gives (M, S, K)).

        Importance sampling from u ~ N(0, width^2) in the standardised coordinates, where the
        models live: w = p(u | m) / q(u) / N. The model is evaluated only at the proposal
        points that fall into a shape (a small part of the space), so a flow needs no
        (three-pass) sampling. A flow is normalised; an MLP is divided by its own total, the
        mean of f / q over the first NORM_POINTS points (as :meth:`weighted_samples` does over
        its samples). The proposal and the shape masks are drawn once for all masses: fractions
        at neighbouring masses share their random numbers (smooth in m_top, as a fit needs).
        """
        grid = np.atleast_1d(np.asarray(masses, dtype=np.float64))
        rng = np.random.default_rng(seed)
        n_members, n_bins = self.n_members, len(edges) - 1
        sums = np.zeros((2, len(grid), n_members, len(shapes), n_bins))
        totals = np.zeros((len(grid), n_members))
        param = next(self.model.parameters())
        log_norm = len(self.y_std) * np.log(width * np.sqrt(2 * np.pi))
        n_norm = min(n_proposal, NORM_POINTS)
        blocks = range(0, n_proposal, SAMPLE_BLOCK)
        label = f"shape fractions ({len(shapes)} shapes x {len(grid)} masses)"
        for start in progress(blocks, label, total=len(blocks)):
            u = rng.normal(0.0, width, size=(min(SAMPLE_BLOCK, n_proposal - start), 3))
            log_q = -0.5 * ((u / width) ** 2).sum(1) - log_norm
            zeta = from_flow_coordinates(u * self.y_std + self.y_mean)
            members = shape_members(zeta, shapes)
            need = np.zeros(len(u), bool)
            for index in members:
                need[index] = True
            # an MLP's normalisation: every point of the first n_norm (a prefix of the block,
            # so also the first n_prefix of the evaluated points)
            n_prefix = 0 if self.kind == "flow" else max(0, min(len(u), n_norm - start))
            need[:n_prefix] = True
            u_t = torch.as_tensor(u[need], dtype=param.dtype, device=param.device)
            # per shape: its points' positions among the evaluated ones and their zeta1 bin
            position = np.cumsum(need) - 1
            cells = []
            for s, index in enumerate(members):
                k = np.digitize(zeta[index, 0], edges) - 1
                ok = (k >= 0) & (k < n_bins)
                cells.append((position[index[ok]], s * n_bins + k[ok]))
            at, cell = (np.concatenate(a) for a in zip(*cells, strict=True))
            for g, m_top in enumerate(grid):
                c_t = self._context(m_top).expand(len(u_t), -1)
                with torch.no_grad():
                    log_p = np.stack(
                        [m.log_prob(u_t, c_t).double().cpu().numpy() for m in self.models]
                    )
                w = np.exp(log_p - log_q[need])  # (M, evaluated points)
                totals[g] += w[:, :n_prefix].sum(axis=1)
                for i in range(n_members):
                    size = len(shapes) * n_bins
                    sums[0, g, i] += np.bincount(cell, w[i, at], size).reshape(-1, n_bins)
                    sums[1, g, i] += np.bincount(cell, w[i, at] ** 2, size).reshape(-1, n_bins)
        scale = totals / n_norm if self.kind != "flow" else np.ones_like(totals)
        contents = sums[0] / n_proposal / scale[..., None, None]
        variances = sums[1] / (n_proposal * scale[..., None, None]) ** 2 - contents**2 / n_proposal
        variances = np.clip(variances, 0.0, None)
        if np.ndim(masses) == 0:
            return contents[0], variances[0]
        return contents, variances

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the surrogate atomically (a torch file with weights and metadata)."""
        payload = {
            "kind": self.kind,
            "config": self.model.config.model_dump(),
            "state_dicts": [m.state_dict() for m in self.models],
            "y_mean": self.y_mean.tolist(),
            "y_std": self.y_std.tolist(),
            "m_centre": self.m_centre,
            "m_scale": self.m_scale,
            "masses": self.masses,
            "info": self.info,
        }
        return atomic_torch_save(path, payload)

    @classmethod
    def load(cls, path: str | Path) -> EEECSurrogate:
        """Read a surrogate written by :meth:`save` (weights and plain data only: a file that
        would run code is refused)."""
        payload = load_weights(path)
        states = payload.get("state_dicts") or [payload["state_dict"]]
        models = []
        for state in states:
            models.append(build_model(payload["kind"], payload["config"]))
            models[-1].load_state_dict(state)
        return cls(
            models,
            payload["y_mean"],
            payload["y_std"],
            payload["m_centre"],
            payload["m_scale"],
            payload["masses"],
            payload["info"],
        )


class EEECDistribution:
    """The normalised EEEC at one top mass: ``log_prob`` and ``sample``."""

    def __init__(self, surrogate: EEECSurrogate, m_top: float) -> None:
        self.surrogate, self.m_top = surrogate, m_top

    def log_prob(self, zeta: np.ndarray) -> np.ndarray:
        """log EEEC density at sorted sides zeta (T, 3) -> (T,)."""
        zeta = validate_zeta(zeta)
        s = self.surrogate
        y, context = s.standardise(zeta, self.m_top)
        param = next(s.model.parameters())
        y_t = torch.as_tensor(y, dtype=param.dtype)
        c_t = torch.as_tensor(context, dtype=param.dtype)
        with torch.no_grad():
            members = torch.stack([m.log_prob(y_t, c_t) for m in s.models])
            log_p = torch.logsumexp(members, dim=0) - np.log(s.n_members)
        return log_p.double().cpu().numpy() - np.log(s.y_std).sum() + log_jacobian(zeta)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n triplets (n, 3) distributed as the EEEC (weighted models are resampled)."""
        if n <= 0:
            raise ValueError(f"n = {n}: the number of samples must be positive")
        if self.surrogate.kind == "flow":
            return self.surrogate.weighted_samples(n, self.m_top, seed)[0]
        zeta, weights = self.surrogate.weighted_samples(10 * n, self.m_top, seed)
        rng = np.random.default_rng(seed)
        return zeta[rng.choice(len(zeta), size=n, p=weights / weights.sum())]


def _tensors(zeta, weight, m_top, surrogate: EEECSurrogate) -> tuple[torch.Tensor, ...]:
    y, context = surrogate.standardise(zeta, m_top)
    return (
        torch.tensor(y, dtype=torch.float32),
        torch.tensor(context, dtype=torch.float32),
        torch.tensor(weight / weight.mean(), dtype=torch.float32),
    )


def train_surrogate(
    kind: str,
    architecture: dict[str, Any],
    data: Mapping[str, np.ndarray],
    sample: str,
    masses: list[float],
    ensemble: int,
    training: Any,
    checkpoints: Path,
    info: dict[str, Any] | None = None,
) -> tuple[EEECSurrogate, list[list[dict[str, Any]]]]:
    """Build and train a surrogate (``kind`` flow or mlp) on the ``sample`` ("weighted" or
    "unweighted") training arrays of :func:`~obsforge.density.data.training_arrays`.

    The coordinates are standardised with the weighted mean and spread of the training
    triplets, the context m_top to [-1, 1] over ``masses``. With ``ensemble`` > 1, member i is
    trained on a Poisson bootstrap replica of the training jets. Training (the shared loop of
    :mod:`obsforge.training`, ``training`` its config) checkpoints every epoch to
    ``checkpoints/checkpoint-<i>.pt`` and resumes from there. Returns the surrogate and the
    per-member histories.
    """
    from obsforge.density.data import TRAIN, VALIDATION, bootstrap_counts
    from obsforge.training import train

    zeta, weight = data[f"{sample}_zeta"], data[f"{sample}_weight"]
    split, m_top = data[f"{sample}_split"], data[f"{sample}_m_top"]
    fit = split == TRAIN
    zeta_fit, weight_fit = zeta[fit], weight[fit]
    y = to_flow_coordinates(zeta_fit)
    w_fit = weight_fit[:, None]
    y_mean = (w_fit * y).sum(0) / w_fit.sum()
    y_std = np.sqrt((w_fit * (y - y_mean) ** 2).sum(0) / w_fit.sum())
    models = []
    for i in range(ensemble):
        torch.manual_seed(training.seed + i)
        models.append(build_model(kind, architecture))
    surrogate = EEECSurrogate(
        models,
        y_mean,
        y_std,
        m_centre=float(np.mean(masses)),
        m_scale=float(np.ptp(masses) / 2 or 1.0),
        masses=masses,
        info=info,
    )
    val = split == VALIDATION
    # Through surrogate.standardise, so training and inference share one definition.
    val_t = _tensors(zeta[val], weight[val], m_top[val], surrogate)
    histories = []
    for i, model in enumerate(surrogate.models):
        w_i = weight_fit
        if ensemble > 1:  # member i: a Poisson bootstrap replica of the training jets
            w_i = weight_fit * bootstrap_counts(data[f"{sample}_jet_id"][fit], i)
        keep = w_i > 0
        train_t = _tensors(zeta_fit[keep], w_i[keep], m_top[fit][keep], surrogate)
        member = training.model_copy(update={"seed": training.seed + i})
        checkpoint = Path(checkpoints) / f"checkpoint-{i}.pt"
        histories.append(train(model, train_t, val_t, member, checkpoint=checkpoint))
        model.cpu().eval()
    return surrogate, histories
