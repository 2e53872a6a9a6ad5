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

Beyond this ideal limit (:class:`WWConfig` options, :mod:`obsforge.events.ww_beams`): off-shell
W pairs (the same CC03 amplitudes at virtualities drawn from running-width Breit-Wigners, the
decay angles in each W's rest frame), ISR (the electron structure function, the e+e- system
then at s_hat and boosted along z) and a Gaussian beam-energy spread. The weights carry the
line shapes and structure functions over their sampling densities.
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
from obsforge.events.ww_beams import beam_energies, sample_isr, sample_w_masses

__all__ = [
    "COUPLINGS",
    "GEV2_TO_PB",
    "WWConfig",
    "amplitudes",
    "boost_along_beam",
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
    off_shell: bool = Field(
        False, description="W pairs off shell (CC03, running-width Breit-Wigner); else on shell"
    )
    w_mass_min: float = Field(10.0, gt=0, description="smallest W virtuality (GeV), off shell")
    isr: bool = Field(False, description="initial-state radiation (electron structure function)")
    beam_energy_spread: float = Field(
        0.0, ge=0, le=0.05, description="relative Gaussian spread of each beam's energy"
    )
    inputs: ElectroweakInputs = ElectroweakInputs()

    @model_validator(mode="after")
    def _above_threshold(self) -> WWConfig:
        threshold = 2 * (self.w_mass_min if self.off_shell else self.inputs.m_w)
        if self.sqrt_s <= threshold:
            kind = "W pairs of virtuality >= w_mass_min" if self.off_shell else "on-shell W pairs"
            raise ValueError(
                f"sqrt_s = {self.sqrt_s} GeV: below the W+W- threshold {threshold:.2f} GeV "
                f"({kind} need sqrt_s > {threshold:.2f} GeV)"
            )
        return self

    @property
    def ideal(self) -> bool:
        """On-shell W's, no ISR, no beam-energy spread: every event at sqrt_s."""
        return not (self.off_shell or self.isr or self.beam_energy_spread)

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


def _decay(w: np.ndarray, n: np.ndarray, x: np.ndarray, cos_t, phi, m_w):
    """Massless two-body decay of W's of mass m_w (scalar or (B,)) with momenta w (B, 4) flying
    along n: the particle at (cos_t, phi) in the helicity frame (z = n, x in the production
    plane) and its partner."""
    y = np.cross(n, x)
    sin_t = np.sqrt(1 - cos_t**2)
    direction = (
        (sin_t * np.cos(phi))[:, None] * x + (sin_t * np.sin(phi))[:, None] * y + cos_t[:, None] * n
    )
    half = np.broadcast_to(np.asarray(m_w, dtype=np.float64) / 2, (len(w),))[:, None]
    rest = np.concatenate([half, half * direction], axis=1)
    partner = np.concatenate([half, -half * direction], axis=1)
    beta = np.linalg.norm(w[:, 1:], axis=1) / w[:, 0]
    return _boost(rest, beta, n), _boost(partner, beta, n)


def _two_body_momentum(s, m1_sq, m2_sq):
    """|p| of either particle of masses^2 m1_sq, m2_sq in the rest frame of s: sqrt(lambda) /
    (2 sqrt(s))."""
    return np.sqrt(np.maximum((s - m1_sq - m2_sq) ** 2 - 4 * m1_sq * m2_sq, 0.0)) / (2 * np.sqrt(s))


def ww_kinematics(angles: np.ndarray, sqrt_s, m_w, m_plus=None) -> dict[str, np.ndarray]:
    """Momenta (B, 4) in the e+e- rest frame from angles (B, 6) = (cos Theta, phi, cos theta1,
    phi1, cos theta2, phi2): electron, positron, w_minus, w_plus, f1, fbar2 (W- decay), f3,
    fbar4 (W+ decay). ``sqrt_s`` and the masses of the W- (``m_w``) and W+ (``m_plus``,
    default ``m_w``) are scalars or (B,) arrays (off-shell W's, ISR)."""
    cos_t, phi, c1, p1, c2, p2 = angles.T
    n_events = len(angles)
    m_plus = m_w if m_plus is None else m_plus
    sqrt_s, m_w, m_plus = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n_events,))
                           for v in (sqrt_s, m_w, m_plus))  # fmt: skip
    s = sqrt_s**2
    energy = sqrt_s / 2
    momentum = _two_body_momentum(s, m_w**2, m_plus**2)
    e_minus = (s + m_w**2 - m_plus**2) / (2 * sqrt_s)
    sin_t = np.sqrt(1 - cos_t**2)
    n = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    x = np.stack([cos_t * np.cos(phi), cos_t * np.sin(phi), -sin_t], axis=1)
    beam = np.zeros((n_events, 4))
    beam[:, 0] = energy
    electron, positron = beam.copy(), beam.copy()
    electron[:, 3], positron[:, 3] = energy, -energy
    w_minus = np.concatenate([e_minus[:, None], momentum[:, None] * n], axis=1)
    w_plus = np.concatenate([(sqrt_s - e_minus)[:, None], -momentum[:, None] * n], axis=1)
    f1, fbar2 = _decay(w_minus, n, x, c1, p1, m_w)
    fbar4, f3 = _decay(w_plus, -n, x, c2, p2, m_plus)
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


def _normalisation(config: WWConfig, s_hat, m1_sq, m2_sq) -> np.ndarray:
    """dsigma = N |A_reduced|^2 dOmega_5 / (4 pi)^3 ... in pb: e^4 restored, flux 1/(2 s_hat),
    two-body phase space beta / (8 pi), the decay-current normalisation (2 m^2 / 3)^-1 per W
    per unit decay solid angle averages, and the branching ratio of the channel."""
    inputs = config.inputs
    beta = 2 * _two_body_momentum(s_hat, m1_sq, m2_sq) / np.sqrt(s_hat)
    e4 = (4 * np.pi * inputs.alpha_em) ** 2
    decay = 1 / (2 * m1_sq / 3) / (2 * m2_sq / 3)
    return e4 / (2 * s_hat) * beta / (8 * np.pi) * decay * config.branching * GEV2_TO_PB


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


def _phase_space(n: int, config: WWConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n phase-space points: the angles, s_hat, the W virtualities m1^2 (W-), m2^2 (W+), the
    rapidity of the e+e- system in the lab, and ``weight`` = 1 / density (times the ISR and
    line-shape factors), so that mean(weight f) integrates f over the flat angles, D D and rho
    rho. The ideal configuration draws exactly what earlier revisions drew."""
    angles, q = sample_angles(n, config, rng)
    out = {"angles": angles, "weight": 1.0 / q}
    m_w, beam = config.inputs.m_w, config.sqrt_s / 2
    e_minus, e_plus = beam_energies(n, beam, config.beam_energy_spread, rng)
    s_hat = 4 * e_minus * e_plus
    x1 = x2 = np.ones(n)
    if config.isr:
        lightest = config.w_mass_min if config.off_shell else m_w
        x1, x2, isr_weight = sample_isr(n, s_hat, (2 * lightest) ** 2 / s_hat, rng)
        s_hat = x1 * x2 * s_hat
        out["weight"] = out["weight"] * isr_weight
    if config.off_shell:
        inputs = config.inputs
        m1_sq, m2_sq, mass_weight = sample_w_masses(
            m_w, inputs.gamma_w, config.w_mass_min, np.sqrt(s_hat), rng
        )
        out["weight"] = out["weight"] * mass_weight
    else:
        m1_sq = m2_sq = np.full(n, m_w**2)
        out["weight"] = out["weight"] * (s_hat > 4 * m_w**2)  # below threshold: no W pair
        s_hat = np.maximum(s_hat, 4 * m_w**2 * (1 + 1e-12))
    rapidity = 0.5 * np.log(x1 * e_minus / (x2 * e_plus))
    return {**out, "s_hat": s_hat, "m1_sq": m1_sq, "m2_sq": m2_sq, "rapidity": rapidity}


def boost_along_beam(p: np.ndarray, rapidity: np.ndarray) -> np.ndarray:
    """Momenta (B, 4) boosted along z (the e- direction) by ``rapidity`` (B,)."""
    ch, sh = np.cosh(rapidity), np.sinh(rapidity)
    out = p.copy()
    out[:, 0] = ch * p[:, 0] + sh * p[:, 3]
    out[:, 3] = sh * p[:, 0] + ch * p[:, 3]
    return out


def generate_ww(n: int, config: WWConfig, seed: int) -> dict[str, np.ndarray]:
    """n weighted events: angles (n, 6) in the e+e- rest frame, lab momenta, the |A|^2
    coefficients c0, c1, c2, and weights (pb) with sum = sigma(e+e- -> WW -> l nu q q') at the
    SM point (theta = 0); with ISR or beam-energy spread also ``sqrt_s_hat`` and the
    ``rapidity`` of the e+e- system, off shell also the W masses ``m_minus``, ``m_plus``."""
    if n < 1:
        raise ValueError(f"n = {n}: need at least one event")
    rng = np.random.default_rng(seed)
    point = _phase_space(n, config, rng)
    s_hat, m1_sq, m2_sq = point["s_hat"], point["m1_sq"], point["m2_sq"]
    momenta = ww_kinematics(point["angles"], np.sqrt(s_hat), np.sqrt(m1_sq), np.sqrt(m2_sq))
    c0, c1, c2 = squared_amplitude_terms(amplitudes(momenta, config.inputs), config)
    weight = _normalisation(config, s_hat, m1_sq, m2_sq) * c0 * point["weight"] / n
    extra = {}
    if not config.ideal:
        momenta = {k: boost_along_beam(v, point["rapidity"]) for k, v in momenta.items()}
        extra = {"sqrt_s_hat": np.sqrt(s_hat), "rapidity": point["rapidity"]}
    if config.off_shell:
        extra.update(m_minus=np.sqrt(m1_sq), m_plus=np.sqrt(m2_sq))
    return dict(angles=point["angles"], weight=weight, c0=c0, c1=c1, c2=c2, **momenta, **extra)


def born_cross_section(config: WWConfig, n: int = 200_000, seed: int = 0) -> tuple[float, float]:
    """sigma(e+e- -> W+W-) in pb (no branching ratio) from the production tensors with the
    polarisation sum -g + k k / k^2 of each W: on shell, or off shell folded with the line
    shapes, with ISR and beam spread as configured: (value, MC error)."""
    rng = np.random.default_rng(seed)
    point = _phase_space(n, config, rng)
    s_hat, m1_sq, m2_sq = point["s_hat"], point["m1_sq"], point["m2_sq"]
    momenta = ww_kinematics(point["angles"], np.sqrt(s_hat), np.sqrt(m1_sq), np.sqrt(m2_sq))
    tensors = production_tensors(
        momenta["electron"],
        momenta["positron"],
        momenta["w_minus"],
        momenta["w_plus"],
        config.inputs,
    )

    def polarisation_sum(k: np.ndarray, k_sq: np.ndarray) -> np.ndarray:
        k_low = k @ METRIC
        return -METRIC[None] + np.einsum("ba,bc->bac", k_low, k_low) / k_sq[:, None, None]

    p1 = polarisation_sum(momenta["w_minus"], m1_sq)
    p2 = polarisation_sum(momenta["w_plus"], m2_sq)
    total = 0.0
    for h, w in helicity_weights(config).items():
        m = tensors[h][0]
        total = total + w * np.einsum("bac,bAC,baA,bcC->b", m, np.conj(m), p1, p2).real
    beta = 2 * _two_body_momentum(s_hat, m1_sq, m2_sq) / np.sqrt(s_hat)
    e4 = (4 * np.pi * config.inputs.alpha_em) ** 2
    values = e4 / (2 * s_hat) * beta / (8 * np.pi) * total * point["weight"] * GEV2_TO_PB
    return float(values.mean()), float(values.std() / np.sqrt(n))


def pythia_ww_settings(
    sqrt_s: float, resonance_decays: bool = True, isr: bool = False
) -> list[str]:
    """PYTHIA 8 settings for the reference SM process: ``WeakDoubleBoson:ffbar2WW`` in e+e-
    at ``sqrt_s`` (Breit-Wigner W's), without showers or hadronisation; W decays optional;
    with ``isr`` the electron structure function at Q^2 = s_hat (as :mod:`ww_beams`), else
    none."""
    lepton = ["PDF:lepton = on", "SigmaProcess:factorScale2 = 4"] if isr else ["PDF:lepton = off"]
    return [
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {sqrt_s!r}",
        *lepton,
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
    W- -> f1 fbar2 for odd events, as in :func:`obsforge.observables.sally.reco_features`, or
    as the events' ``leptonic_minus`` (B,) bool says, e.g. for PYTHIA events); an
    involution."""
    negative = events.get("leptonic_minus")
    if negative is None:
        negative = np.arange(len(events["f1"])) % 2 == 0
    negative = np.asarray(negative)[:, None]
    swapped = dict(events)
    swapped["f3"] = np.where(negative, events["fbar4"], events["f3"])
    swapped["fbar4"] = np.where(negative, events["f3"], events["fbar4"])
    swapped["f1"] = np.where(negative, events["f1"], events["fbar2"])
    swapped["fbar2"] = np.where(negative, events["fbar2"], events["f1"])
    return swapped
