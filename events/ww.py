"""e+e- -> W+W- -> l nu q q' events from the helicity amplitudes of
:mod:`obsforge.events.ww_amplitude`, weighted by |A|^2 and sampled in the five angles.

Phase space (narrow-width W's, massless fermions) is parametrised by the production angle
Theta of the W- with respect to the e- beam, its azimuth phi, and the decay angles
(theta1, phi1) of the fermion f1 of W- -> f1 fbar2 in the W- rest frame and (theta2, phi2) of
the antifermion fbar4 of W+ -> f3 fbar4 in the W+ rest frame (helicity frames: z along the W
flight direction, x in the production plane). The phase space is flat in cos Theta, phi,
cos theta_i, phi_i. Events are drawn with cos Theta from the t-channel-like density
q(c) ∝ 1 / (a - c) (importance sampling of the forward peak) and carry weights
w = dsigma / q, so that sum w over a sample estimates the cross section in pb.

Semi-leptonic final states (e or mu): W- -> l- nubar with W+ -> q qbar', or the charge
conjugate; the amplitude is the same function of (f1, fbar2, f3, fbar4), so one sample of
angles serves both.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import Config
from obsforge.events.ww_amplitude import (
    COUPLINGS,
    METRIC,
    ElectroweakInputs,
    decay_current,
    production_tensors,
)

__all__ = [
    "COUPLINGS",
    "GEV2_TO_PB",
    "WWConfig",
    "amplitudes",
    "born_cross_section",
    "folded_scores",
    "generate_ww",
    "helicity_weights",
    "pythia_ww_settings",
    "squared_amplitude_terms",
    "swap_quarks",
    "ww_kinematics",
]

GEV2_TO_PB = 0.3893794e9
BR_W_LEPTON = 0.1086  # per lepton flavour, PDG
BR_W_HADRONS = 0.6741


class WWConfig(Config):
    """e+e- -> W+W- -> l nu q q' at a lepton collider."""

    sqrt_s: float = Field(240.0, gt=0, description="collision energy in GeV")
    pol_electron: float = Field(0.0, ge=-1, le=1, description="e- longitudinal polarisation")
    pol_positron: float = Field(0.0, ge=-1, le=1, description="e+ longitudinal polarisation")
    leptons: int = Field(2, ge=1, le=3, description="lepton flavours counted (2: e and mu)")
    forward_a: float = Field(1.2, gt=1, description="cos Theta importance density 1/(a - c)")
    inputs: ElectroweakInputs = ElectroweakInputs()

    @model_validator(mode="after")
    def _above_threshold(self) -> WWConfig:
        threshold = 2 * self.inputs.m_w
        if self.sqrt_s <= threshold:
            raise ValueError(
                f"sqrt_s = {self.sqrt_s} GeV: below the W+W- threshold 2 M_W = {threshold:.2f} "
                "GeV (on-shell W pairs need sqrt_s > 2 M_W)"
            )
        return self

    @property
    def branching(self) -> float:
        """BR(WW -> l nu q q') for ``leptons`` flavours, both charge assignments."""
        return 2 * self.leptons * BR_W_LEPTON * BR_W_HADRONS


def _boost(p: np.ndarray, beta: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Boost rest-frame momenta p (B, 4) by velocity beta (B,) along unit vectors n (B, 3)."""
    gamma = 1 / np.sqrt(1 - beta**2)
    n_dot_p = np.einsum("bi,bi->b", n, p[:, 1:])
    energy = gamma * (p[:, 0] + beta * n_dot_p)
    space = p[:, 1:] + ((gamma - 1) * n_dot_p + gamma * beta * p[:, 0])[:, None] * n
    return np.concatenate([energy[:, None], space], axis=1)


def _decay(w: np.ndarray, n: np.ndarray, x: np.ndarray, cos_t, phi, m_w: float):
    """Massless two-body decay of W's with momenta w (B, 4) flying along n: the particle at
    (cos_t, phi) in the helicity frame (z = n, x in the production plane) and its partner."""
    y = np.cross(n, x)
    sin_t = np.sqrt(1 - cos_t**2)
    direction = (
        (sin_t * np.cos(phi))[:, None] * x + (sin_t * np.sin(phi))[:, None] * y + cos_t[:, None] * n
    )
    half = np.full((len(w), 1), m_w / 2)
    rest = np.concatenate([half, half * direction], axis=1)
    partner = np.concatenate([half, -half * direction], axis=1)
    beta = np.linalg.norm(w[:, 1:], axis=1) / w[:, 0]
    return _boost(rest, beta, n), _boost(partner, beta, n)


def ww_kinematics(angles: np.ndarray, sqrt_s: float, m_w: float) -> dict[str, np.ndarray]:
    """Lab momenta (B, 4) from angles (B, 6) = (cos Theta, phi, cos theta1, phi1, cos theta2,
    phi2): electron, positron, w_minus, w_plus, f1, fbar2 (W- decay), f3, fbar4 (W+ decay)."""
    cos_t, phi, c1, p1, c2, p2 = angles.T
    n_events = len(angles)
    energy = sqrt_s / 2
    momentum = np.sqrt(energy**2 - m_w**2)
    sin_t = np.sqrt(1 - cos_t**2)
    n = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    x = np.stack([cos_t * np.cos(phi), cos_t * np.sin(phi), -sin_t], axis=1)
    beam = np.zeros((n_events, 4))
    beam[:, 0] = energy
    electron, positron = beam.copy(), beam.copy()
    electron[:, 3], positron[:, 3] = energy, -energy
    w_minus = np.concatenate([np.full((n_events, 1), energy), momentum * n], axis=1)
    w_plus = np.concatenate([np.full((n_events, 1), energy), -momentum * n], axis=1)
    f1, fbar2 = _decay(w_minus, n, x, c1, p1, m_w)
    fbar4, f3 = _decay(w_plus, -n, x, c2, p2, m_w)
    return dict(
        electron=electron,
        positron=positron,
        w_minus=w_minus,
        w_plus=w_plus,
        f1=f1,
        fbar2=fbar2,
        f3=f3,
        fbar4=fbar4,
    )


def amplitudes(
    momenta: dict[str, np.ndarray], inputs: ElectroweakInputs, theta: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """Full amplitudes per e- helicity as a basis in the couplings: (1 + n_couplings, B)
    complex, A(theta) = A[0] + sum_i theta_i A[i] (common factors dropped); with ``theta``,
    the amplitude at that point, (1, B)."""
    tensors = production_tensors(
        momenta["electron"],
        momenta["positron"],
        momenta["w_minus"],
        momenta["w_plus"],
        inputs,
        theta,
    )
    j1 = decay_current(momenta["f1"], momenta["fbar2"])
    j2 = decay_current(momenta["f3"], momenta["fbar4"])
    return {h: np.einsum("kbac,ba,bc->kb", m, j1, j2) for h, m in tensors.items()}


def helicity_weights(config: WWConfig) -> dict[int, float]:
    """Beam-spin weights of e-_L e+_R and e-_R e+_L (the only non-vanishing combinations)."""
    p_m, p_p = config.pol_electron, config.pol_positron
    return {-1: (1 - p_m) * (1 + p_p) / 4, +1: (1 + p_m) * (1 - p_p) / 4}


def squared_amplitude_terms(basis: dict[int, np.ndarray], config: WWConfig) -> tuple:
    """|A|^2 = c0 + sum_i c1_i theta_i + sum_ij c2_ij theta_i theta_j, spin-weighted:
    c0 (B,), c1 (B, n), c2 (B, n, n) with c2 symmetric."""
    weights = helicity_weights(config)
    c0 = sum(w * np.abs(basis[h][0]) ** 2 for h, w in weights.items())
    c1 = sum(w * 2 * np.real(np.conj(basis[h][0]) * basis[h][1:]) for h, w in weights.items())
    c2 = sum(
        w * np.real(np.conj(basis[h][1:, None]) * basis[h][None, 1:]) for h, w in weights.items()
    )
    return c0, c1.T, np.moveaxis(c2, -1, 0)


def _normalisation(config: WWConfig) -> float:
    """dsigma = N |A_reduced|^2 dOmega_5 / (4 pi)^3 ... in pb: e^4 restored, flux 1/(2s), two-body
    phase space beta / (8 pi), the decay-current normalisation (2 M_W^2 / 3)^-2 per unit
    decay solid angle averages, and the branching ratio of the channel."""
    inputs = config.inputs
    s = config.sqrt_s**2
    beta = np.sqrt(1 - 4 * inputs.m_w**2 / s)
    e4 = (4 * np.pi * inputs.alpha_em) ** 2
    decay = (2 * inputs.m_w**2 / 3) ** -2
    return e4 / (2 * s) * beta / (8 * np.pi) * decay * config.branching * GEV2_TO_PB


def sample_angles(n: int, config: WWConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """n points (B, 6) in the five angles (plus the trivial azimuth) and their density q
    relative to the flat measure (normalised so that mean(1/q) = 1 on the flat space)."""
    a = config.forward_a
    u = rng.random(n)
    # q(c) = 1 / ((a - c) ln((a + 1)/(a - 1))) on [-1, 1]; inverse CDF:
    cos_t = a - (a + 1) * ((a - 1) / (a + 1)) ** u
    q = 2 / ((a - cos_t) * np.log((a + 1) / (a - 1)))  # relative to the flat density 1/2
    angles = np.stack(
        [
            cos_t,
            rng.uniform(0, 2 * np.pi, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0, 2 * np.pi, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0, 2 * np.pi, n),
        ],
        axis=1,
    )
    return angles, q


def generate_ww(n: int, config: WWConfig, seed: int) -> dict[str, np.ndarray]:
    """n weighted events: angles (n, 6), momenta, the |A|^2 coefficients c0, c1, c2, and weights
    (pb) with sum = sigma(e+e- -> WW -> l nu q q') at the SM point (theta = 0)."""
    if n < 1:
        raise ValueError(f"n = {n}: need at least one event")
    rng = np.random.default_rng(seed)
    angles, q = sample_angles(n, config, rng)
    momenta = ww_kinematics(angles, config.sqrt_s, config.inputs.m_w)
    c0, c1, c2 = squared_amplitude_terms(amplitudes(momenta, config.inputs), config)
    weight = _normalisation(config) * c0 / q / n
    return dict(angles=angles, weight=weight, c0=c0, c1=c1, c2=c2, **momenta)


def born_cross_section(config: WWConfig, n: int = 200_000, seed: int = 0) -> tuple[float, float]:
    """sigma(e+e- -> W+W-) in pb (on-shell W's, no branching ratio), from the production
    tensors with the polarisation sum -g + k k / M_W^2: (value, MC error)."""
    rng = np.random.default_rng(seed)
    angles, q = sample_angles(n, config, rng)
    momenta = ww_kinematics(angles, config.sqrt_s, config.inputs.m_w)
    tensors = production_tensors(
        momenta["electron"],
        momenta["positron"],
        momenta["w_minus"],
        momenta["w_plus"],
        config.inputs,
    )
    m_w = config.inputs.m_w

    def polarisation_sum(k: np.ndarray) -> np.ndarray:
        k_low = k @ METRIC
        return -METRIC[None] + np.einsum("ba,bc->bac", k_low, k_low) / m_w**2

    p1, p2 = polarisation_sum(momenta["w_minus"]), polarisation_sum(momenta["w_plus"])
    total = 0.0
    for h, w in helicity_weights(config).items():
        m = tensors[h][0]
        total = total + w * np.einsum("bac,bAC,baA,bcC->b", m, np.conj(m), p1, p2).real
    inputs = config.inputs
    s = config.sqrt_s**2
    beta = np.sqrt(1 - 4 * inputs.m_w**2 / s)
    e4 = (4 * np.pi * inputs.alpha_em) ** 2
    values = e4 / (2 * s) * beta / (8 * np.pi) * total / q * GEV2_TO_PB
    return float(values.mean()), float(values.std() / np.sqrt(n))


def pythia_ww_settings(sqrt_s: float, resonance_decays: bool = True) -> list[str]:
    """PYTHIA 8 settings for the reference SM process: ``WeakDoubleBoson:ffbar2WW`` in e+e-
    at ``sqrt_s`` without lepton PDFs (no ISR), showers or hadronisation; W decays optional."""
    return [
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {sqrt_s!r}",
        "PDF:lepton = off",
        "WeakDoubleBoson:ffbar2WW = on",
        "PartonLevel:all = off",
        "HadronLevel:all = off",
        f"ProcessLevel:resonanceDecays = {'on' if resonance_decays else 'off'}",
        "Print:quiet = on",
    ]


def folded_scores(events: dict[str, np.ndarray], config) -> np.ndarray:
    """The best reco-level observable for a perfect detector: E[alpha | event up to the
    quark <-> antiquark swap of the hadronic W] = (c1(x) + c1(x')) / (c0(x) + c0(x')), x' the
    swapped event (same phase-space density). Its Fisher information bounds what SALLY can
    reach; the hadronic W is W+ for even and W- for odd events, as in
    :func:`obsforge.observables.sally.reco_features`. config: the :class:`WWConfig` of the
    events. Returns (B, n)."""
    c0, c1, _ = squared_amplitude_terms(amplitudes(swap_quarks(events), config.inputs), config)
    return (events["c1"] + c1) / (events["c0"] + c0)[:, None]


def swap_quarks(events: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The events with quark and antiquark of the hadronic W exchanged (W+ -> f3 fbar4 for even,
    W- -> f1 fbar2 for odd events, as in :func:`obsforge.observables.sally.reco_features`);
    an involution."""
    negative = (np.arange(len(events["f1"])) % 2 == 0)[:, None]
    swapped = dict(events)
    swapped["f3"] = np.where(negative, events["fbar4"], events["f3"])
    swapped["fbar4"] = np.where(negative, events["f3"], events["fbar4"])
    swapped["f1"] = np.where(negative, events["f1"], events["fbar2"])
    swapped["fbar2"] = np.where(negative, events["fbar2"], events["f1"])
    return swapped
