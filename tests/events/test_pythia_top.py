"""PYTHIA top-pair events and their jets: reproducibility and physics sanity on small samples."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from obsforge.events import TopJetEvents, chunk_plan, generate_top_events
from obsforge.observables.jets import JetConfig, top_jet_subjets

Q = 2000.0


def test_same_seed_same_events_and_new_seed_new_events(top_events_172):
    particles, _ = top_events_172
    again, _ = generate_top_events(172.5, 200, seed=11)
    other, _ = generate_top_events(172.5, 200, seed=12)
    assert ak.all(ak.num(again) == ak.num(particles))
    assert ak.all(again.E == particles.E)
    assert not (
        len(ak.flatten(other.E)) == len(ak.flatten(particles.E))
        and ak.all(ak.flatten(other.E) == ak.flatten(particles.E))
    )


def test_visible_final_state_has_no_neutrinos_and_nearly_all_energy(top_events_172):
    particles, info = top_events_172
    assert not ak.any(np.isin(abs(ak.flatten(particles.pid)), [12, 14, 16]))
    visible = ak.to_numpy(ak.sum(particles.E, axis=1))
    # Energy is conserved; only neutrinos from heavy-flavour decays escape.
    assert np.all(visible <= Q + 1e-6)
    assert np.mean(visible) > 0.95 * Q
    assert info["sigma_pb"] > 0


def test_two_hardest_jets_are_the_tops(top_events_172):
    particles, _ = top_events_172
    jets, subjets = top_jet_subjets(particles, JetConfig())
    assert np.all(ak.to_numpy(jets.rank) < 2)
    e = ak.to_numpy(jets.E)
    # Each top carries Q/2; radiation outside R = 1.2 and neutrinos lower it a little.
    assert 0.85 * Q / 2 < np.median(e) < Q / 2
    mass = ak.to_numpy(jets.mass)
    assert 160.0 < np.median(mass) < 230.0  # the top peak plus radiation captured at R = 1.2


def test_subjets_partition_the_jet(top_events_172):
    particles, _ = top_events_172
    jets, subjets = top_jet_subjets(particles[:50], JetConfig())
    for component in ("px", "py", "pz", "E"):
        np.testing.assert_allclose(
            ak.to_numpy(ak.sum(subjets[component], axis=1)),
            ak.to_numpy(jets[component]),
            rtol=1e-9,
            atol=1e-9,
        )
    assert np.all(ak.to_numpy(jets.n_subjets) == ak.to_numpy(ak.num(subjets)))


def test_heavier_top_gives_heavier_jets():
    light, _ = generate_top_events(165.0, 300, seed=5)
    heavy, _ = generate_top_events(185.0, 300, seed=5)
    m_light = np.median(ak.to_numpy(top_jet_subjets(light, JetConfig())[0].mass))
    m_heavy = np.median(ak.to_numpy(top_jet_subjets(heavy, JetConfig())[0].mass))
    assert m_heavy - m_light > 8.0  # expected ~20 GeV; statistical spread ~ 4 GeV


def test_chunk_plan_covers_every_event_with_distinct_seeds():
    config = TopJetEvents(masses=[170.0, 175.0], events_per_mass=1050, chunk_size=500)
    plan = chunk_plan(config)
    assert [t["n_events"] for t in plan] == [500, 500, 50] * 2
    assert len({t["seed"] for t in plan}) == len(plan)
    assert plan == chunk_plan(config)


def test_generator_refuses_zero_events():
    with pytest.raises(ValueError, match="n_events = 0"):
        generate_top_events(172.5, 0, seed=1)


def test_pythia_cross_section_matches_analytic_born():
    """PYTHIA's sigma(e+e- -> t tbar, W -> q q') vs Born x BR(W -> had)^2 x (1 + alpha_s/pi)."""
    import pythia8mc

    from obsforge.events import born_cross_section_ttbar, pythia_settings

    pythia = pythia8mc.Pythia("", False)
    for setting in pythia_settings(172.5, Q, seed=17):
        assert pythia.readString(setting)
    assert pythia.init()
    pythia.nextBatch(3000, "skip")
    info, couplings, data = pythia.infoPython(), pythia.coupSM, pythia.particleData
    sigma_fb, error_fb = info.sigmaGen() * 1e12, info.sigmaErr() * 1e12

    w = data.particleDataEntryPtr(24)
    channels = [w.channel(i) for i in range(w.sizeChannels())]
    hadronic = sum(
        c.bRatio() for c in channels if all(abs(c.product(k)) <= 5 for k in range(c.multiplicity()))
    )
    hadronic /= sum(c.bRatio() for c in channels)
    assert hadronic == pytest.approx(0.676, abs=0.01)

    born = born_cross_section_ttbar(
        Q, 172.5, couplings.alphaEM(Q**2), couplings.sin2thetaW(), data.m0(23), data.mWidth(23)
    )
    expected = born * hadronic**2 * (1 + couplings.alphaS(Q**2) / np.pi)
    # Tolerance: 3 sigma of PYTHIA's MC estimate plus 1.5% for the massless QCD factor.
    assert abs(sigma_fb - expected) < 3 * error_fb + 0.015 * expected


def test_extra_pythia_settings_are_checked_at_load():
    from obsforge.events.pythia import check_settings

    assert check_settings(["Tune:ee = 3", "StringZ:aLund = 0.7"]) == [
        "Tune:ee = 3",
        "StringZ:aLund = 0.7",
    ]
    for bad in ("Tune:xx = 3", "StringZ:aLund = abc"):
        with pytest.raises(ValueError, match="not accepted"):
            check_settings([bad])
