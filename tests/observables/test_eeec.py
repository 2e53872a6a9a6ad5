"""The EEEC kernel: sum rule, ranges, an exactly known three-prong jet, and a brute-force oracle."""

from __future__ import annotations

from itertools import combinations

import awkward as ak
import numpy as np
import pytest

from obsforge.observables.eeec import eeec_triplets, eeec_weight_sum, pair_zeta, triplet_indices


def random_jets(n_jets: int, max_subjets: int, seed: int) -> ak.Array:
    """Jets of massless subjets around the z axis, with random multiplicities 0..max_subjets."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, max_subjets + 1, size=n_jets)
    n = counts.sum()
    theta, phi = rng.uniform(0, 0.6, n), rng.uniform(0, 2 * np.pi, n)
    energy = rng.exponential(50.0, n) + 1.0
    momenta = {
        "px": energy * np.sin(theta) * np.cos(phi),
        "py": energy * np.sin(theta) * np.sin(phi),
        "pz": energy * np.cos(theta),
        "E": energy,
    }
    return ak.unflatten(ak.zip(momenta), counts)


def test_eeec_weights_sum_to_e3_per_jet():
    jets = random_jets(300, 25, seed=1)
    triplets = eeec_triplets(jets)
    per_jet = np.bincount(triplets["jet"], triplets["weight"], minlength=len(jets))
    expected = np.array([eeec_weight_sum(ak.to_numpy(e)) if len(e) else 0.0 for e in jets.E])
    np.testing.assert_allclose(per_jet, expected, rtol=1e-12, atol=1e-15)
    # e3 of N equal energies is C(N,3)/N^3: a closed form for the analytic sum itself.
    assert eeec_weight_sum(np.ones(10)) == pytest.approx(120 / 1000, rel=1e-14)


def test_zeta_in_unit_interval_and_sorted():
    triplets = eeec_triplets(random_jets(200, 20, seed=2))
    z1, z2, z3 = triplets["zeta1"], triplets["zeta2"], triplets["zeta3"]
    assert np.all((z1 >= 0) & (z3 <= 1))
    assert np.all((z1 <= z2) & (z2 <= z3))
    # Triangle inequality of the angles: sqrt(zeta) = sin(theta/2) is a chord length / 2.
    assert np.all(np.sqrt(z3) <= np.sqrt(z1) + np.sqrt(z2) + 1e-12)


def test_three_prong_toy_gives_exact_zetas():
    a, b = 0.2, 0.3  # prong 2 at angle a in the xz plane, prong 3 at angle b in the yz plane
    energies = np.array([100.0, 200.0, 300.0])
    directions = np.array([[0, 0, 1], [np.sin(a), 0, np.cos(a)], [0, np.sin(b), np.cos(b)]])
    momenta = directions * energies[:, None]
    jet = ak.Array(
        [
            [
                {"px": p[0], "py": p[1], "pz": p[2], "E": e}
                for p, e in zip(momenta, energies, strict=True)
            ]
        ]
    )
    triplets = eeec_triplets(jet)
    expected = np.sort([(1 - np.cos(a)) / 2, (1 - np.cos(b)) / 2, (1 - np.cos(a) * np.cos(b)) / 2])
    got = np.array([triplets["zeta1"][0], triplets["zeta2"][0], triplets["zeta3"][0]])
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert triplets["weight"][0] == pytest.approx(100 * 200 * 300 / 600**3, rel=1e-14)


def test_kernel_matches_brute_force_triple_loop():
    jets = random_jets(40, 12, seed=3)
    triplets = eeec_triplets(jets)
    rows = []
    for jet_index, jet in enumerate(jets):
        p = np.stack([ak.to_numpy(jet[c]) for c in ("px", "py", "pz")], axis=-1)
        e = ak.to_numpy(jet.E)
        for i, j, k in combinations(range(len(e)), 3):
            cos = [
                np.dot(p[x], p[y]) / np.linalg.norm(p[x]) / np.linalg.norm(p[y])
                for x, y in ((i, j), (i, k), (j, k))
            ]
            rows.append(
                [jet_index, *sorted((1 - c) / 2 for c in cos), e[i] * e[j] * e[k] / e.sum() ** 3]
            )
    oracle = np.array(rows)
    got = np.column_stack([triplets[k] for k in ("jet", "zeta1", "zeta2", "zeta3", "weight")])
    np.testing.assert_allclose(got, oracle, rtol=1e-9, atol=1e-14)


def test_pair_zeta_is_exact_at_small_and_maximal_angles():
    theta = 1e-6
    momenta = np.array([[0, 0, 1.0], [np.sin(theta), 0, np.cos(theta)], [0, 0, -3.0]])
    zeta = pair_zeta(momenta)
    assert zeta[0, 1] == pytest.approx(np.sin(theta / 2) ** 2, rel=1e-9)
    assert zeta[0, 2] == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_array_equal(np.diag(zeta), 0.0)


@pytest.mark.parametrize("n", [0, 2, 3, 7, 30])
def test_triplet_indices_are_all_distinct_ordered_triples(n):
    idx = triplet_indices(n)
    assert len(idx) == n * (n - 1) * (n - 2) // 6
    assert np.all((idx[:, 0] < idx[:, 1]) & (idx[:, 1] < idx[:, 2]))
    assert len({tuple(row) for row in idx}) == len(idx)


def test_jets_with_fewer_than_three_subjets_give_no_triplets():
    jets = ak.Array([[], [{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}] * 2])
    triplets = eeec_triplets(jets)
    assert all(len(v) == 0 for v in triplets.values())


def test_float32_output_keeps_precision():
    jets = random_jets(20, 10, seed=4)
    exact, single = eeec_triplets(jets), eeec_triplets(jets, dtype=np.float32)
    np.testing.assert_allclose(single["zeta3"], exact["zeta3"], rtol=1e-6)
    assert single["weight"].dtype == np.float32
