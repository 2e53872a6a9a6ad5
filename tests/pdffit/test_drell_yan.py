"""Drell-Yan at LO: the lepton-cut acceptance, symmetries, and PYTHIA's LO cross section."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.pdffit.drell_yan import (
    DYInputs,
    LeptonCuts,
    acceptance,
    dy_bin_cross_sections,
    partonic_cross_section,
    photon_angular,
    photon_bin_cross_sections,
)


def test_acceptance_is_the_fraction_of_sampled_lepton_pairs_inside_the_cuts():
    """Sample cos theta* from 1 + c^2 (the forward-backward term cancels in the symmetric
    region), build both leptons (p_T = M/2 sin theta*, eta = y +- artanh c) and count: the
    closed form agrees within four binomial standard deviations."""
    rng = np.random.default_rng(2)
    n = 400_000
    c = rng.uniform(-1, 1, 3 * n)
    c = c[rng.uniform(0, 2, len(c)) < 1 + c**2][:n]
    cuts = LeptonCuts(pt_min=30.0, eta_max=2.4)
    for m, y in ((70.0, 0.0), (91.0, 1.2), (200.0, 2.0), (500.0, 2.3), (50.0, 0.5)):
        pt = m / 2 * np.sqrt(1 - c**2)
        eta = np.arctanh(c)
        inside = (pt > cuts.pt_min) & (np.abs(y + eta) < 2.4) & (np.abs(y - eta) < 2.4)
        p = acceptance(m, y, cuts)
        assert inside.mean() == pytest.approx(float(p), abs=4 * np.sqrt(p * (1 - p) / n) + 1e-9)
    assert acceptance(50.0, 0.0, cuts) == 0  # M < 2 p_T,min: no pair passes
    np.testing.assert_allclose(acceptance(np.array([10.0, 1e3]), 3.0, LeptonCuts()), 1.0)


def test_photon_and_z_limits_of_the_partonic_cross_section():
    """Far below the Z: 4 pi alpha^2 Q_q^2 / (3 s N_c). On the peak the Z alone,
    pi alpha^2 (g_L^2 + g_R^2)_q (g_L^2 + g_R^2)_l / (3 N_c (s_W c_W)^4 Gamma_Z^2), up to the
    photon (the interference vanishes on the peak; the photon is below 0.1% there)."""
    inputs = DYInputs(m_z=91.1876, gamma_z=2.4952, sin2w=0.2312)
    low = partonic_cross_section(np.array([1.0]), -1 / 3, -0.5, inputs)[0]
    assert low == pytest.approx(4 * np.pi * inputs.alpha**2 / 9 / 9, rel=1e-3)
    sw2 = inputs.sin2w
    g2_d = (-0.5 + sw2 / 3) ** 2 + (sw2 / 3) ** 2
    g2_l = (-0.5 + sw2) ** 2 + sw2**2
    peak = partonic_cross_section(np.array([inputs.m_z]), -1 / 3, -0.5, inputs)[0]
    z_only = np.pi * inputs.alpha**2 / 9 * g2_d * g2_l / (sw2 * (1 - sw2)) ** 2 / inputs.gamma_z**2
    assert peak == pytest.approx(z_only, rel=0.01)


def test_proton_proton_cross_sections_are_symmetric_in_rapidity():
    from obsforge.pdffit.reference import reference_grid

    grid = reference_grid()
    m = np.array([[116.0, 150.0], [116.0, 150.0]])
    y = np.array([[0.4, 0.8], [-0.8, -0.4]])
    forward, backward = dy_bin_cross_sections(grid.xfxq, m, y, 8000.0, LeptonCuts(30, 2.5))
    assert forward == pytest.approx(backward, rel=1e-12)


@pytest.mark.integration
@pytest.mark.parametrize("window", [(66.0, 116.0), (116.0, 150.0), (500.0, 1500.0)])
def test_leading_order_agrees_with_pythia(window):
    """PYTHIA 8 ``ffbar2gmZ`` -> mu mu at 8 TeV with NNPDF3.1 NLO, no shower, alpha fixed at
    alpha(M_Z), the same sin^2 theta_W and Z mass and width; with and without the cuts
    p_T > 40 GeV, |eta| < 2.5 on both muons: within 4 sigma of PYTHIA's error + 0.5% (two
    PYTHIA seeds differ by 0.36% at 500-1500 GeV, three times the error PYTHIA reports)."""
    from obsforge.pdffit.collider import pythia_drell_yan
    from obsforge.pdffit.reference import reference_file, reference_grid

    low, high = window
    inputs = DYInputs(alpha=0.00781751, sin2w=0.2312, m_z=91.188, gamma_z=2.4952)
    bins = np.array([[low, high]]), np.array([[-10.0, 10.0]])
    pythia = pythia_drell_yan(reference_file(), 8000.0, window, LeptonCuts(40, 2.5), inputs, seed=3)
    grid = reference_grid()
    total = dy_bin_cross_sections(grid.xfxq, *bins, 8000.0, LeptonCuts(), inputs)[0]
    fiducial = dy_bin_cross_sections(grid.xfxq, *bins, 8000.0, LeptonCuts(40, 2.5), inputs)[0]
    sigma, error = pythia["sigma_pb"], pythia["sigma_err_pb"]
    assert total == pytest.approx(sigma, abs=4 * error + 0.005 * sigma)
    tolerance = sigma * 4 * pythia["fraction_err"] + 4 * error + 0.005 * sigma
    assert fiducial == pytest.approx(sigma * pythia["fraction"], abs=tolerance)


def test_photon_angular_factor_is_the_integral_of_its_distribution():
    from scipy.integrate import quad

    for a in (0.1, 0.5, 0.9, 0.999):
        numeric = quad(lambda c: (1 + c * c) / (1 - c * c), -a, a, epsabs=1e-12)[0]
        assert float(photon_angular(a)) == pytest.approx(numeric, rel=1e-10)
    with pytest.raises(ValueError, match="need a lepton p_T cut"):
        photon_angular(1.0)


@pytest.mark.integration
def test_photon_induced_pairs_agree_with_pythia():
    """gamma gamma -> mu mu with NNPDF3.1 luxQED's photon, 116-150 GeV at 8 TeV, muons
    p_T > 40 GeV, |eta| < 2.5: within 4 sigma of PYTHIA's errors + 1%."""
    from obsforge.pdffit.collider import pythia_drell_yan
    from obsforge.pdffit.reference import reference_file, reference_grid

    cuts, inputs = LeptonCuts(40, 2.5), DYInputs(alpha=0.00781751, sin2w=0.2312)
    p = pythia_drell_yan(reference_file(), 8000.0, (116.0, 150.0), cuts, inputs, 50_000,
                         seed=2, photon=True)  # fmt: skip
    bins = np.array([[116.0, 150.0]]), np.array([[-10.0, 10.0]])
    ours = photon_bin_cross_sections(reference_grid().xfxq, *bins, 8000.0, cuts, inputs.alpha)[0]
    theirs = p["sigma_pb"] * p["fraction"]
    error = np.hypot(p["sigma_err_pb"] * p["fraction"], p["sigma_pb"] * p["fraction_err"])
    assert ours == pytest.approx(theirs, abs=4 * error + 0.01 * theirs)
