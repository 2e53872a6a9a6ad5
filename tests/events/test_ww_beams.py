"""events/ww_beams.py and the realistic WW generator: ISR, beam spread, off-shell W pairs."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.events.ww import WWConfig, born_cross_section, generate_ww, pythia_ww_settings
from obsforge.events.ww_beams import (
    electron_structure_function,
    isr_beta,
    sample_isr,
    sample_w_masses,
    w_line_shape,
)

# PYTHIA's electroweak inputs (see scripts/ww_cross_sections.py)
PYTHIA_INPUTS = {"m_w": 80.385, "alpha": 7.830e-3, "sin2w": 0.2312}


def _integral_of_d(s: float, n: int = 4000) -> float:
    """int_0^1 D(x, s) dx by Gauss-Legendre in t = y^beta (y = 1 - x), which removes the
    y^(beta - 1) peak: dy = y^(1 - beta) dt / beta."""
    beta = float(isr_beta(s))
    t, w = np.polynomial.legendre.leggauss(n)
    t, w = 0.5 * (t + 1), 0.5 * w
    y = t ** (1 / beta)
    return float(np.sum(w * electron_structure_function(y, s) * y ** (1 - beta) / beta))


def _gauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1), 0.5 * w


def _d_nodes(s: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes y = 1 - x and weights for int_0^1 dy f(y) with the y^(beta - 1) peak of D removed
    by t = y^beta (dy = y^(1 - beta) dt / beta)."""
    beta = float(isr_beta(s))
    t, w = _gauss(n)
    y = t ** (1 / beta)
    return y, w * y ** (1 - beta) / beta


def test_structure_function_conserves_the_electron_to_order_alpha():
    """int D dx = 1 + O(alpha / pi): the soft-photon exponentiation and the hard terms keep
    one electron per beam up to constant terms of order alpha / pi = 0.0023; nothing grows like
    (alpha / pi) ln(s / m_e^2) (that would be 0.016 between 91 GeV and 3 TeV)."""
    integrals = []
    for sqrt_s in (91.19, 240.0, 3000.0):
        y, w = _d_nodes(sqrt_s**2, 400)
        integrals.append(float(np.sum(w * electron_structure_function(y, sqrt_s**2))))
    assert integrals == pytest.approx([1.0] * 3, abs=3 * 0.0023)
    assert max(integrals) - min(integrals) < 0.003


def test_isr_sampler_weights_are_the_structure_functions_over_their_density():
    """mean(weight) = int dx1 dx2 D(x1, s_hat) D(x2, s_hat) (2-D quadrature), the lower cut on
    x1 x2 negligible (tau_min = 1e-9): the weights carry exactly D D / density."""
    s = 240.0**2
    y, w = _d_nodes(s, 400)
    y1, y2 = np.meshgrid(y, y, indexing="ij")
    s_hat = (1 - y1) * (1 - y2) * s
    d = electron_structure_function(y1, s_hat) * electron_structure_function(y2, s_hat)
    exact = float(np.sum(np.outer(w, w) * d))
    rng = np.random.default_rng(1)
    n = 400_000
    x1, x2, weight = sample_isr(n, np.full(n, s), np.full(n, 1e-9), rng)
    assert np.all((x1 * x2 >= 1e-9) & (x1 <= 1) & (x2 <= 1))
    assert weight.mean() == pytest.approx(exact, abs=4 * weight.std() / np.sqrt(n))


def test_breit_wigner_sampler_and_the_narrow_width_limit():
    """The mass sampler's weights average to int int rho(m1^2) rho(m2^2) over m1, m2 >= 10 GeV,
    m1 + m2 <= sqrt(s) (nested quadrature in the tan-mapped variables); as Gamma_W -> 0 the
    off-shell cross section tends to the on-shell one (the tails of rho then hold 1e-4)."""
    m_w, gamma, m_min, sqrt_s = 80.385, 2.085, 10.0, 240.0

    def integral_below(upper: np.ndarray, n: int = 400) -> np.ndarray:
        """int_{m_min^2}^{upper^2} rho dm^2 for each upper (..,), by the tan mapping."""
        lo = np.arctan((m_min**2 - m_w**2) / (m_w * gamma))
        hi = np.arctan((upper**2 - m_w**2) / (m_w * gamma))
        t, w = _gauss(n)
        angle = lo + (hi - lo)[..., None] * t
        m2 = m_w**2 + m_w * gamma * np.tan(angle)
        jacobian = m_w * gamma / np.cos(angle) ** 2 * (hi - lo)[..., None]
        return np.sum(w * w_line_shape(m2, m_w, gamma) * jacobian, axis=-1)

    lo = np.arctan((m_min**2 - m_w**2) / (m_w * gamma))
    hi = np.arctan(((sqrt_s - m_min) ** 2 - m_w**2) / (m_w * gamma))
    t, w = _gauss(400)
    angle = lo + (hi - lo) * t
    m1_sq = m_w**2 + m_w * gamma * np.tan(angle)
    jacobian = m_w * gamma / np.cos(angle) ** 2 * (hi - lo)
    exact = np.sum(w * jacobian * w_line_shape(m1_sq, m_w, gamma)
                   * integral_below(sqrt_s - np.sqrt(m1_sq)))  # fmt: skip
    rng = np.random.default_rng(2)
    n = 200_000
    m1, m2, weight = sample_w_masses(m_w, gamma, m_min, np.full(n, sqrt_s), rng)
    assert np.all(np.sqrt(m1) + np.sqrt(m2) <= sqrt_s + 1e-9) and np.all(m1 >= m_min**2)
    assert weight.mean() == pytest.approx(exact, abs=4 * weight.std() / np.sqrt(n))
    # the same seed draws the same angles, so the two estimates differ only by the line shape
    narrow = WWConfig(off_shell=True, inputs={"gamma_w": 0.002})
    on_shell = born_cross_section(WWConfig(), n=20_000, seed=4)[0]
    assert born_cross_section(narrow, n=20_000, seed=4)[0] == pytest.approx(on_shell, rel=1e-3)


def test_realistic_events_conserve_momentum_in_the_lab():
    """With ISR, beam spread and off-shell W's, the four fermions carry the momentum of the
    colliding e+e- system (sqrt_s_hat, boosted along z), and each pair has the W's virtuality."""
    config = WWConfig(off_shell=True, isr=True, beam_energy_spread=0.002)
    events = generate_ww(2000, config, seed=3)
    final = events["f1"] + events["fbar2"] + events["f3"] + events["fbar4"]
    mass_sq = final[:, 0] ** 2 - (final[:, 1:] ** 2).sum(1)
    np.testing.assert_allclose(np.sqrt(mass_sq), events["sqrt_s_hat"], rtol=1e-9)
    np.testing.assert_allclose(final[:, 1:3], 0.0, atol=1e-9)
    rapidity = 0.5 * np.log((final[:, 0] + final[:, 3]) / (final[:, 0] - final[:, 3]))
    np.testing.assert_allclose(rapidity, events["rapidity"], atol=1e-9)
    pair = events["f1"] + events["fbar2"]
    pair_mass = np.sqrt(pair[:, 0] ** 2 - (pair[:, 1:] ** 2).sum(1))
    np.testing.assert_allclose(pair_mass, events["m_minus"], rtol=1e-9)
    assert np.all(events["sqrt_s_hat"] <= 240.0 * (1 + 0.01))
    assert np.all(events["weight"] >= 0) and events["weight"].sum() > 0


@pytest.mark.integration
@pytest.mark.parametrize("sqrt_s", [161.0, 240.0, 365.0])
def test_off_shell_cross_section_with_isr_agrees_with_pythia(sqrt_s):
    """sigma(e+e- -> W+W-) with ISR (Q^2 = s_hat) and running-width line shapes against PYTHIA 8
    ffbar2WW with the same settings (``PDF:lepton = on``, ``SigmaProcess:factorScale2 = 4``):
    within 1% plus 3 combined standard deviations (ours: spread over seeds, twice the naive
    error, for the heavy-tailed low-mass weights)."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in [*pythia_ww_settings(sqrt_s, resonance_decays=False, isr=True),
                 "Random:setSeed = on", "Random:seed = 7"]:  # fmt: skip
        assert pythia.readString(line)
    pythia.init()
    pythia.nextBatch(40_000, "fail")
    info = pythia.infoPython()
    reference, reference_error = info.sigmaGen() * 1e9, info.sigmaErr() * 1e9
    config = WWConfig(sqrt_s=sqrt_s, off_shell=True, isr=True, inputs=PYTHIA_INPUTS)
    ours, error = born_cross_section(config, n=200_000, seed=1)
    tolerance = 0.01 * reference + 3 * np.hypot(2 * error, reference_error)
    assert ours == pytest.approx(reference, abs=tolerance)


def test_beam_energy_spread_smears_the_collision_energy():
    """Each beam's energy Gaussian with relative width sigma_E: sqrt(s_hat) = 2 sqrt(E1 E2)
    has relative width sigma_E / sqrt(2) to first order, and the system moves along z with
    rapidity (1/2) ln(E1 / E2), of width sigma_E / sqrt(2)."""
    spread = 0.002
    events = generate_ww(20_000, WWConfig(beam_energy_spread=spread), seed=6)
    width = np.std(events["sqrt_s_hat"] / 240.0)
    expected = spread / np.sqrt(2)
    assert width == pytest.approx(expected, rel=4 / np.sqrt(2 * 20_000))
    assert np.std(events["rapidity"]) == pytest.approx(expected, rel=4 / np.sqrt(2 * 20_000))
