"""PYTHIA W pairs and their backgrounds: settings, the signal truth, the hard-process momenta."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.events.pythia import run_pythia
from obsforge.events.ww_pythia import background_settings, hard_momenta, semileptonic_truth

HARD_ONLY = ["PartonLevel:ISR = off", "PartonLevel:FSR = off", "HadronLevel:all = off"]


def test_unknown_process_is_refused():
    with pytest.raises(
        ValueError, match=r"process = 'wz': allowed are \['ffbar', 'ww', 'zh', 'zz'\]"
    ):
        background_settings("wz", 240.0, 1)


@pytest.fixture(scope="module")
def pythia_ww():
    return run_pythia(background_settings("ww", 240.0, 7) + HARD_ONLY, 4000)


def test_semileptonic_fraction_is_the_branching_ratio(pythia_ww):
    """l nu q q' with l = e, mu: 2 BR(W -> e nu + mu nu) BR(W -> hadrons) of PYTHIA's W, within
    four binomial standard deviations."""
    batch, _ = pythia_ww
    truth = semileptonic_truth(batch)
    expected = 2 * (2 * 0.1086) * 0.6741  # PDG branching ratios; PYTHIA's agree to 1%
    assert truth.mean() == pytest.approx(expected, abs=4 * np.sqrt(expected / len(truth)) + 0.003)


def test_hard_momenta_conserve_momentum_and_put_the_ws_on_their_line_shape(pythia_ww):
    batch, _ = pythia_ww
    p = hard_momenta(batch)
    initial = p["electron"] + p["positron"]
    final = p["w_minus"] + p["w_plus"]
    np.testing.assert_allclose(final[:, 1:3], 0, atol=1e-6)  # collinear ISR: no pT
    np.testing.assert_allclose(final[:, 1:], initial[:, 1:], atol=1e-6)
    # dropping the c, b and mu masses (E = |p|) lowers the energy by m^2 / 2E, < 0.5 GeV
    assert (0 <= initial[:, 0] - final[:, 0]).all() and (initial[:, 0] - final[:, 0] < 0.5).all()
    mass = np.sqrt(np.maximum(p["w_minus"][:, 0] ** 2 - (p["w_minus"][:, 1:] ** 2).sum(1), 0))
    assert np.median(np.abs(mass - 80.385)) == pytest.approx(2.085 / 2, rel=0.15)  # BW: HWHM


@pytest.mark.integration
def test_parton_level_information_of_pythia_events_is_that_of_the_analytic_generator():
    """The score of PYTHIA's hard process, averaged over its l nu q q' events (ISR, Breit-Wigner
    W's), against the analytic generator with ISR and widths: the Fisher matrices agree within
    their Monte Carlo errors (diagonal within 4 standard errors; sigma within 1.5%)."""
    from obsforge.events.ww import WWConfig, amplitudes, generate_ww, squared_amplitude_terms
    from obsforge.observables.fisher import optimal_observables

    n = 40_000
    batch, info = run_pythia(background_settings("ww", 240.0, 3) + HARD_ONLY, n)
    config = WWConfig()
    truth = semileptonic_truth(batch)
    terms = squared_amplitude_terms(amplitudes(hard_momenta(batch), config.inputs), config)
    alpha = optimal_observables(terms[0], terms[1])[truth]
    sigma = info["sigma_pb"] * truth.mean()
    per_event = np.einsum("bi,bj->bij", alpha, alpha)
    ours = generate_ww(400_000, WWConfig(isr=True, off_shell=True), seed=5)
    a = optimal_observables(ours["c0"], ours["c1"])
    mine = np.einsum("b,bi,bj->ij", ours["weight"], a, a)
    assert sigma == pytest.approx(ours["weight"].sum(), rel=0.015)
    theirs = sigma * per_event.mean(0)
    error = sigma * per_event.std(0) / np.sqrt(len(alpha))
    for i in range(3):
        assert abs(theirs[i, i] - mine[i, i]) < 4 * error[i, i] + 0.005 * mine[i, i]


def test_folding_the_quark_charge_of_pythia_events_is_swap_symmetric(pythia_ww):
    """The hadronic W found from PYTHIA's record (``leptonic_minus``): the folded score is the
    same for an event and its quark-swapped image, and the swap is an involution."""
    from obsforge.events.ww import (
        WWConfig,
        amplitudes,
        folded_scores,
        squared_amplitude_terms,
        swap_quarks,
    )

    batch, _ = pythia_ww
    config = WWConfig()
    truth = semileptonic_truth(batch)
    p = {k: v[truth] for k, v in hard_momenta(batch).items()}
    lep = p["leptonic_minus"]
    assert 0.4 < lep.mean() < 0.6  # both charges
    swapped = swap_quarks(p)
    np.testing.assert_array_equal(swapped["f3"][lep], p["fbar4"][lep])  # W+ -> q qbar swapped
    np.testing.assert_array_equal(swapped["f1"][~lep], p["fbar2"][~lep])  # W- -> q qbar swapped
    np.testing.assert_array_equal(swap_quarks(swap_quarks(p))["f3"], p["f3"])

    def folded(m):
        c0, c1, _ = squared_amplitude_terms(amplitudes(m, config.inputs), config)
        return folded_scores({**m, "c0": c0, "c1": c1}, config)

    np.testing.assert_allclose(folded(swap_quarks(p)), folded(p), rtol=1e-9, atol=1e-12)
