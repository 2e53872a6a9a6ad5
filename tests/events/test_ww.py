"""e+e- -> WW amplitudes, optimal observables, Fisher information and binnings."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.events.ww import (
    WWConfig,
    amplitudes,
    born_cross_section,
    generate_ww,
    pythia_ww_settings,
    squared_amplitude_terms,
    ww_kinematics,
)
from obsforge.observables.fisher import (
    fisher_unbinned,
    optimal_observables,
)


def test_kinematics_conserve_momentum_and_put_ws_on_shell(ww_events):
    final = ww_events["f1"] + ww_events["fbar2"] + ww_events["f3"] + ww_events["fbar4"]
    np.testing.assert_allclose(final, np.tile([240.0, 0, 0, 0], (len(final), 1)), atol=1e-9)

    def mass2(p):
        return p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(1)

    np.testing.assert_allclose(mass2(ww_events["f1"] + ww_events["fbar2"]), 80.379**2, rtol=1e-12)
    np.testing.assert_allclose(mass2(ww_events["f3"] + ww_events["fbar4"]), 80.379**2, rtol=1e-12)
    assert np.abs(mass2(ww_events["f1"])).max() < 1e-8


def test_squared_amplitude_is_exactly_quadratic_in_the_couplings(ww_events):
    """|A(theta)|^2 computed directly from the form factors at theta equals the quadratic form
    c0 + c1 theta + theta c2 theta of the linear basis, to machine precision."""
    config = WWConfig()
    angles = ww_events["angles"][:500]
    momenta = ww_kinematics(angles, config.sqrt_s, config.inputs.m_w)
    c0, c1, c2 = squared_amplitude_terms(amplitudes(momenta, config.inputs), config)
    rng = np.random.default_rng(0)
    for theta in rng.normal(0, 0.3, (4, 3)):
        direct = amplitudes(momenta, config.inputs, theta)
        spin = {-1: 0.25, 1: 0.25}
        value = sum(w * np.abs(direct[h][0]) ** 2 for h, w in spin.items())
        quadratic = c0 + c1 @ theta + np.einsum("bij,i,j->b", c2, theta, theta)
        np.testing.assert_allclose(value, quadratic, rtol=1e-11)


@pytest.mark.integration
def test_born_cross_section_and_gauge_cancellation():
    """SM on-shell sigma(e+e- -> WW) at 240 GeV: the 4-fermion sample reproduces it through the
    decay currents; at high energy the gauge cancellation between the t-channel and the s-channel
    gamma/Z makes sigma fall (~ log s / s); right-handed electrons do not see the neutrino."""
    config = WWConfig()
    sigma, error = born_cross_section(config, n=100_000)
    assert sigma == pytest.approx(17.13, rel=0.01)  # G_mu scheme, see docs/ww_binning.md
    four_fermion = generate_ww(100_000, config, seed=5)["weight"].sum() / config.branching
    assert four_fermion == pytest.approx(sigma, rel=0.01)
    high = born_cross_section(WWConfig(sqrt_s=3000.0), n=50_000)[0]
    medium = born_cross_section(WWConfig(sqrt_s=500.0), n=50_000)[0]
    assert high * 3000.0**2 < 5 * medium * 500.0**2  # without cancellation: x 36
    right = born_cross_section(WWConfig(pol_electron=1.0), n=50_000)[0]
    left = born_cross_section(WWConfig(pol_electron=-1.0), n=50_000)[0]
    assert right < 0.02 * left


def test_born_cross_section_agrees_with_pythia():
    """PYTHIA 8 ffbar2WW with the same alpha, sin^2 theta_W and M_W (lepton PDFs off) includes
    Breit-Wigner W line shapes, which lower sigma by about 1% at 240 GeV."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in pythia_ww_settings(240.0, resonance_decays=False):
        pythia.readString(line)
    pythia.init()
    for _ in range(4000):
        pythia.next()
    reference = pythia.infoPython().sigmaGen() * 1e9
    inputs = {"m_w": 80.385, "alpha": 7.830e-3, "sin2w": 0.2312}
    ours = born_cross_section(WWConfig(inputs=inputs), n=50_000)[0]
    assert ours == pytest.approx(reference, rel=0.03)
    assert ours > reference  # the on-shell limit lies above the Breit-Wigner-smeared one


def test_w_decay_angles_are_those_of_a_spin_one_particle(ww_events):
    """Integrated over the rest, the W- decay polar distribution is a polynomial of degree 2 in
    cos theta1 and the azimuth has harmonics up to 2 phi1: higher moments vanish."""
    w = ww_events["weight"] / ww_events["weight"].sum()
    c, phi = ww_events["angles"][:, 2], ww_events["angles"][:, 3]
    p3 = 0.5 * (5 * c**3 - 3 * c)
    p4 = (35 * c**4 - 30 * c**2 + 3) / 8

    def moment(f):
        mean = np.sum(w * f)
        error = np.sqrt(np.sum(w**2 * (f - mean) ** 2))
        return mean, error

    for f in (p3, p4, np.cos(3 * phi), np.cos(4 * phi)):
        mean, error = moment(f)
        assert abs(mean) < 4 * error
    mean, error = moment(c)  # the V-A forward-backward asymmetry is there
    assert abs(mean) > 10 * error


def test_folded_scores_are_symmetric_and_lose_information(ww_events):
    """E[alpha | q <-> qbar unknown] is the same for an event and its swapped partner, and
    its Fisher information is smaller than the parton-level one in every direction."""
    from obsforge.events.ww import folded_scores, swap_quarks

    config = WWConfig()
    part = {k: v[:20_000] for k, v in ww_events.items()}
    folded = folded_scores(part, config)
    swapped = swap_quarks(part)
    for name in ("f1", "fbar2", "f3", "fbar4"):
        np.testing.assert_array_equal(swap_quarks(swapped)[name], part[name])
    # Exactly one of the two W's has its decay products exchanged in every event.
    assert np.all((swapped["f1"] == part["f1"]).all(1) != (swapped["f3"] == part["f3"]).all(1))
    c0, c1, _ = squared_amplitude_terms(amplitudes(swapped, config.inputs), config)
    np.testing.assert_allclose(folded_scores({**swapped, "c0": c0, "c1": c1}, config), folded)
    alpha = optimal_observables(part["c0"], part["c1"])
    parton = fisher_unbinned(alpha, part["weight"], 1.0)
    lost = parton - fisher_unbinned(folded, part["weight"], 1.0)
    assert np.linalg.eigvalsh(lost).min() > 0
