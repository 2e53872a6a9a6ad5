"""Beams and W line shapes for e+e- -> W+W-: initial-state radiation, beam-energy spread and
off-shell W pairs, as samplers that return their densities (pure functions on arrays).

**ISR.** The electron structure function of Kleiss et al. (Z physics at LEP 1, CERN 89-08,
vol. 1, p. 34): collinear radiation to all orders in the soft limit (exponentiation) with the
O(alpha^2) hard terms, y = 1 - x,

    D(x, Q^2) = beta y^(beta - 1) sqrt(delta) - beta/2 (1 + x)
                + beta^2/8 [(1 + x)(-4 ln y + 3 ln x) - 4 ln x / y - 5 - x],
    beta  = alpha/pi (L - 1),  L = ln(Q^2 / m_e^2),
    delta = 1 + alpha/pi (3 L / 2 + pi^2 / 3 - 2)
              + (alpha/pi)^2 (-2.164868 L^2 + 9.840808 L - 10.130464),

with alpha = alpha(0): the form PYTHIA 8 uses for ``PDF:lepton = on``. Then
sigma(s) = int dx1 dx2 D(x1, s_hat) D(x2, s_hat) sigma_hat(x1 x2 s), here at Q^2 = s_hat
(PYTHIA's ``SigmaProcess:factorScale2 = 4``). y is sampled from beta0 y^(beta0 - 1), beta0 at
the largest Q^2, which flattens the integrable peak at x -> 1 exactly.

**Beam-energy spread.** Each beam's energy is Gaussian around its nominal value with a
relative width sigma_E (PYTHIA's ``Beams:allowMomentumSpread``); the collision is then boosted
along the beam axis, as ISR boosts it.

**W line shape.** A Breit-Wigner with the running width Gamma(m) = Gamma_W m / M_W (the LEP
convention, and PYTHIA's for the W), per W,

    rho(m^2) = (1/pi) m Gamma(m) / ((m^2 - M_W^2)^2 + (m Gamma(m))^2) -> delta(m^2 - M_W^2)
    as Gamma_W -> 0,

so that the CC03 cross section with massless decay products factorises exactly into
sigma_4f = int dm1^2 dm2^2 rho(m1^2) rho(m2^2) BR1 BR2 sigma_WW(s; m1, m2): the decay currents,
averaged over their angles, give the polarisation sum -g + k k / m^2 at each virtuality.

>>> import numpy as np
>>> y = np.array([1e-12, 1e-3, 0.5])
>>> bool(np.all(np.diff(electron_structure_function(y, 240.0**2)) < 0))  # peaked at x -> 1
True
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ALPHA_0",
    "M_ELECTRON",
    "beam_energies",
    "electron_structure_function",
    "isr_beta",
    "sample_isr",
    "sample_w_masses",
    "w_line_shape",
]

ALPHA_0 = 1 / 137.035999  # alpha(0): the structure function's coupling (soft photons)
M_ELECTRON = 0.51099895e-3  # GeV


def isr_beta(q2: np.ndarray | float) -> np.ndarray:
    """beta = alpha/pi (ln(Q^2 / m_e^2) - 1), the exponent of the soft-photon peak."""
    return ALPHA_0 / np.pi * (np.log(np.asarray(q2) / M_ELECTRON**2) - 1.0)


def electron_structure_function(one_minus_x: np.ndarray, q2: np.ndarray | float) -> np.ndarray:
    """D(x, Q^2) of Kleiss et al. at y = 1 - x (given as y to keep the peak's precision)."""
    y = np.asarray(one_minus_x, dtype=np.float64)
    x = 1.0 - y
    a = ALPHA_0 / np.pi
    log_q2 = np.log(np.asarray(q2) / M_ELECTRON**2)
    beta = a * (log_q2 - 1.0)
    delta = (
        1
        + a * (1.5 * log_q2 + np.pi**2 / 3 - 2)
        + a**2 * (-2.164868 * log_q2**2 + 9.840808 * log_q2 - 10.130464)
    )
    log_x, log_y = np.log(x), np.log(y)
    hard = (1 + x) * (-4 * log_y + 3 * log_x) - 4 * log_x / y - 5 - x
    return beta * y ** (beta - 1) * np.sqrt(delta) - 0.5 * beta * (1 + x) + beta**2 / 8 * hard


def _sample_power(u: np.ndarray, beta: float, y_max: np.ndarray) -> tuple[np.ndarray, ...]:
    """y in (0, y_max] from the density beta y^(beta - 1) / y_max^beta: (y, density)."""
    y = y_max * u ** (1.0 / beta)
    return y, beta * y ** (beta - 1) / y_max**beta


def sample_isr(
    n: int, s: np.ndarray, tau_min: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Momentum fractions of the e- and e+ after ISR with x1 x2 >= ``tau_min`` (the lightest
    final state), for collisions at ``s`` (n,): (x1, x2, weight) with weight =
    D(x1, s_hat) D(x2, s_hat) / density, s_hat = x1 x2 s, so mean(weight f) = int D D f."""
    beta0 = float(np.max(isr_beta(s)))
    y1, q1 = _sample_power(1.0 - rng.random(n), beta0, 1.0 - tau_min)  # u in (0, 1]
    x1 = 1.0 - y1
    y2, q2 = _sample_power(1.0 - rng.random(n), beta0, 1.0 - tau_min / x1)
    x2 = 1.0 - y2
    s_hat = x1 * x2 * s
    density = electron_structure_function(y1, s_hat) * electron_structure_function(y2, s_hat)
    return x1, x2, density / (q1 * q2)


def beam_energies(
    n: int, beam_energy: float, spread: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Energies of the e- and e+ beams (n,), each Gaussian with relative width ``spread``."""
    if spread == 0.0:
        return np.full(n, beam_energy), np.full(n, beam_energy)
    return (beam_energy * (1 + spread * rng.standard_normal(n)),
            beam_energy * (1 + spread * rng.standard_normal(n)))  # fmt: skip


def w_line_shape(m2: np.ndarray, m_w: float, gamma_w: float) -> np.ndarray:
    """rho(m^2), the running-width Breit-Wigner of a W of virtuality m^2 (GeV^-2)."""
    m_gamma = gamma_w * m2 / m_w  # m Gamma(m) = Gamma_W m^2 / M_W
    return m_gamma / np.pi / ((m2 - m_w**2) ** 2 + m_gamma**2)


def sample_w_masses(
    m_w: float, gamma_w: float, m_min: float, sqrt_s: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Virtualities of the W- and W+ for collisions at ``sqrt_s`` (n,), each mass >= ``m_min``
    and m1 + m2 <= sqrt_s: (m1^2, m2^2, weight) with weight = rho(m1^2) rho(m2^2) / density.
    Each is drawn from the fixed-width Breit-Wigner in its allowed range (m1 first, then m2
    below sqrt_s - m1): tan-mapped, so the weight stays close to 1."""
    m_gamma = m_w * gamma_w

    def draw(upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.arctan((m_min**2 - m_w**2) / m_gamma)
        hi = np.arctan((upper**2 - m_w**2) / m_gamma)
        m2 = m_w**2 + m_gamma * np.tan(lo + (hi - lo) * rng.random(len(upper)))
        density = m_gamma / ((m2 - m_w**2) ** 2 + m_gamma**2) / (hi - lo)
        return m2, w_line_shape(m2, m_w, gamma_w) / density

    m1_sq, w1 = draw(sqrt_s - m_min)
    m2_sq, w2 = draw(sqrt_s - np.sqrt(m1_sq))
    return m1_sq, m2_sq, w1 * w2
