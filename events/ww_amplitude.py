"""Tree-level helicity amplitudes for e+e- -> W+W- -> 4 fermions with anomalous triple gauge
couplings (CC03 diagrams: t-channel neutrino, s-channel photon and Z), vectorised over events.

Conventions (Peskin & Schroeder): metric (+,-,-,-), Weyl representation. Fermions are massless,
so every spinor string reduces to two-component Weyl spinors: a left-handed current is
ubar gamma^mu P_L v = psi_L(f)^dagger sigmabar^mu psi_L(fbar), a right-handed one uses sigma^mu.
For momentum p = E (1, n), psi_L(p) = sqrt(2E) xi_-(n) and psi_R(p) = sqrt(2E) xi_+(n), with
xi_+- the eigenvectors of n . sigma (eigenvalues +-1).

The WWV vertex (V = gamma, Z; incoming V(P) -> W-(q) W+(qbar), indices mu, alpha, beta) is
Hagiwara, Peccei, Zeppenfeld, Hikasa, Nucl. Phys. B282 (1987) 253, eq. (2.4), CP-even part:

    Gamma_V^{alpha beta mu} = f1 (q - qbar)^mu g^{alpha beta}
                              - f2 / M_W^2 (q - qbar)^mu P^alpha P^beta
                              + f3 (P^alpha g^{mu beta} - P^beta g^{mu alpha}),
    f1 = g1 + s lambda / (2 M_W^2),  f2 = lambda,  f3 = g1 + kappa + lambda,

with g_WWgamma = -e and g_WWZ = -e cot(theta_W). The LEP parametrisation with the SU(2) relations
(LEP TGC working group, CERN-PH-EP/2006-xxx): g1^gamma = 1, lambda_gamma = lambda_Z = lambda,
kappa_gamma = 1 + dkappa_gamma, g1^Z = 1 + dg1Z, kappa_Z = 1 + dg1Z - tan^2(theta_W) dkappa_gamma.

In the narrow-width approximation the W polarisation sum is -g + k k / M_W^2, and the k k term
vanishes on the massless decay currents, so the full amplitude with spin correlations is the
production tensor M^{alpha beta} contracted with the two decay currents J1, J2.
Every amplitude is linear in the couplings: A = A_SM + sum_i theta_i A_i, hence |A|^2 is exactly
quadratic in theta (tested to machine precision).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from obsforge.config import Config

__all__ = [
    "COUPLINGS",
    "ElectroweakInputs",
    "beam_currents",
    "decay_current",
    "production_tensors",
    "weyl_spinor",
]

COUPLINGS = ("dg1z", "dkappa_gamma", "lambda")

METRIC = np.diag([1.0, -1.0, -1.0, -1.0])
PAULI = np.array(
    [
        [[1, 0], [0, 1]],
        [[0, 1], [1, 0]],
        [[0, -1j], [1j, 0]],
        [[1, 0], [0, -1]],
    ],
    dtype=np.complex128,
)
SIGMA = PAULI.copy()  # sigma^mu = (1, sigma_i)
SIGMA_BAR = PAULI * np.array([1, -1, -1, -1])[:, None, None]  # sigmabar^mu = (1, -sigma_i)


class ElectroweakInputs(Config):
    """Electroweak inputs (G_mu scheme by default: alpha from G_F, M_W, M_Z)."""

    m_w: float = Field(80.379, gt=0, description="W mass in GeV")
    m_z: float = Field(91.1876, gt=0, description="Z mass in GeV")
    gamma_z: float = Field(2.4952, ge=0, description="Z width in GeV (s-channel propagator)")
    gamma_w: float = Field(2.085, gt=0, description="W width in GeV (off-shell W pairs)")
    g_fermi: float = Field(1.1663787e-5, gt=0, description="G_F in GeV^-2")
    alpha: float | None = Field(None, gt=0, description="override alpha; default G_mu")
    sin2w: float | None = Field(None, gt=0, lt=1, description="override; default 1 - MW^2/MZ^2")

    @property
    def sin2_w(self) -> float:
        if self.sin2w is not None:
            return self.sin2w
        return 1.0 - (self.m_w / self.m_z) ** 2

    @property
    def alpha_em(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return np.sqrt(2.0) * self.g_fermi * self.m_w**2 * self.sin2_w / np.pi


def weyl_spinor(p: np.ndarray, helicity: int) -> np.ndarray:
    """Massless two-component spinor sqrt(2E) xi_h(n) of momenta p (B, 4): (B, 2) complex.

    xi_+ = (cos(t/2), e^{i phi} sin(t/2)), xi_- = (-e^{-i phi} sin(t/2), cos(t/2)); the phase
    is irrelevant as long as one spinor per particle enters every diagram.
    """
    energy = p[:, 0]
    n = p[:, 1:] / np.linalg.norm(p[:, 1:], axis=1, keepdims=True)
    cos_t = np.clip(n[:, 2], -1.0, 1.0)
    c, s = np.sqrt((1 + cos_t) / 2), np.sqrt((1 - cos_t) / 2)
    transverse = np.hypot(n[:, 0], n[:, 1])
    safe = np.where(transverse > 0, transverse, 1.0)
    phase = np.where(transverse > 0, (n[:, 0] + 1j * n[:, 1]) / safe, 1.0)
    if helicity > 0:
        xi = np.stack([c + 0j, phase * s], axis=1)
    else:
        xi = np.stack([-np.conj(phase) * s, c + 0j], axis=1)
    return np.sqrt(2 * energy)[:, None] * xi


def _current(left: np.ndarray, right: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """psi_a^dagger M^mu psi_b for (B, 2) spinors: (B, 4) with an upper index."""
    return np.einsum("bi,mij,bj->bm", np.conj(left), matrices, right)


def decay_current(fermion: np.ndarray, antifermion: np.ndarray) -> np.ndarray:
    """ubar(f) gamma^mu P_L v(fbar) of a W decay, lower index: (B, 4)."""
    j = _current(weyl_spinor(fermion, -1), weyl_spinor(antifermion, -1), SIGMA_BAR)
    return j @ METRIC


def beam_currents(electron: np.ndarray, positron: np.ndarray) -> dict[int, np.ndarray]:
    """vbar(e+) gamma^mu P_chi u(e-) for e- helicity -1 (left) and +1 (right), upper index."""
    return {
        -1: _current(weyl_spinor(positron, -1), weyl_spinor(electron, -1), SIGMA_BAR),
        +1: _current(weyl_spinor(positron, +1), weyl_spinor(electron, +1), SIGMA),
    }


def _slash_sigma(q: np.ndarray) -> np.ndarray:
    """q . sigma = q_mu sigma^mu: (B, 2, 2)."""
    return np.einsum("bm,mij->bij", q @ METRIC, SIGMA)


def _vertex_terms(q: np.ndarray, qbar: np.ndarray, j: np.ndarray, m_w: float) -> np.ndarray:
    """The three tensor structures of Gamma^{alpha beta mu} contracted with the beam current
    j_mu (lower index taken here): (3, B, 4, 4) with upper alpha, beta, for f1, f2, f3."""
    j_low = j @ METRIC
    big_p = q + qbar
    diff_j = np.einsum("bm,bm->b", q - qbar, j_low)
    g_up = METRIC  # g^{alpha beta} = g_{alpha beta} numerically
    t1 = diff_j[:, None, None] * g_up[None]
    t2 = -diff_j[:, None, None] * np.einsum("ba,bc->bac", big_p, big_p) / m_w**2
    j_up = j  # g^{mu beta} j_mu = j^beta
    t3 = np.einsum("ba,bc->bac", big_p, j_up) - np.einsum("bc,ba->bac", big_p, j_up)
    return np.stack([t1, t2, t3])


def _form_factors(s: np.ndarray, m_w: float, g1: float, kappa: float, lam: float) -> np.ndarray:
    """(f1, f2, f3) per event: (3, B) for s (B,)."""
    return np.stack(np.broadcast_arrays(g1 + s * lam / (2 * m_w**2), lam, g1 + kappa + lam))


def _lep_form_factors(s: np.ndarray, m_w: float, tan2: float, theta: np.ndarray):
    """(f1, f2, f3) of photon and Z at couplings theta = (dg1z, dkappa_gamma, lambda), LEP
    parametrisation with the SU(2) relations."""
    dg1z, dkappa, lam = theta
    photon = _form_factors(s, m_w, 1.0, 1.0 + dkappa, lam)
    zed = _form_factors(s, m_w, 1.0 + dg1z, 1.0 + dg1z - tan2 * dkappa, lam)
    return photon, zed


def production_tensors(
    electron: np.ndarray,
    positron: np.ndarray,
    w_minus: np.ndarray,
    w_plus: np.ndarray,
    inputs: ElectroweakInputs,
    theta: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """Production tensors M^{alpha beta} (upper indices; alpha: W-, beta: W+) per e- helicity.

    Without ``theta``: a basis in the couplings, (1 + len(COUPLINGS), B, 4, 4), entry 0 the SM
    and entry i the coefficient of theta_i, so M(theta) = M[0] + sum_i theta_i M[i]. With
    ``theta`` (len(COUPLINGS),): the tensor at that point, (1, B, 4, 4), computed directly from
    the form factors (the linearity check of the tests).

    Common factors (-i e^2, the W propagators) are dropped; they cancel in every ratio and are
    restored in the cross section by :mod:`obsforge.events.ww`.
    """
    sw2 = inputs.sin2_w
    m_w, m_z = inputs.m_w, inputs.m_z
    total = electron + positron
    s = total[:, 0] ** 2 - np.sum(total[:, 1:] ** 2, axis=1)  # (B,): s_hat after ISR
    tan2 = sw2 / (1 - sw2)
    z_prop = 1.0 / (s - m_z**2 + 1j * m_z * inputs.gamma_z)
    if theta is None:
        points = [np.zeros(len(COUPLINGS))] + list(np.eye(len(COUPLINGS)))
        linear = True
    else:
        points, linear = [np.asarray(theta, dtype=np.float64)], False
    form_factors = [_lep_form_factors(s, m_w, tan2, point) for point in points]
    if linear:  # the coefficient of theta_i: the difference to the SM (form factors are linear)
        sm = form_factors[0]
        form_factors = [sm] + [(g - sm[0], z - sm[1]) for g, z in form_factors[1:]]
    q = electron - w_minus  # t-channel neutrino momentum
    t = q[:, 0] ** 2 - np.sum(q[:, 1:] ** 2, axis=1)
    out = {}
    for helicity, j in beam_currents(electron, positron).items():
        terms = _vertex_terms(w_minus, w_plus, j, m_w)  # (3, B, 4, 4)
        g_chi = (-0.5 + sw2) if helicity < 0 else sw2
        photon, zed = 1.0 / s, -g_chi / sw2 * z_prop
        basis = [
            np.einsum("fb,fbac->bac", photon * f_gamma + zed * f_z, terms)
            for f_gamma, f_z in form_factors
        ]
        if helicity < 0:
            # t-channel: vbar gamma^beta qslash gamma^alpha P_L u / t, coupling g^2/2 = e^2/(2 sw2)
            chain = np.einsum(
                "bi,cij,bjk,akl,bl->bac",
                np.conj(weyl_spinor(positron, -1)),
                SIGMA_BAR,
                _slash_sigma(q),
                SIGMA_BAR,
                weyl_spinor(electron, -1),
            )
            basis[0] = basis[0] + chain / (2 * sw2 * t[:, None, None])
        out[helicity] = np.stack(basis)
    return out
