"""The q q -> q q H amplitude with the CP-odd HVV vertex: closed forms, invariances, CP."""

import numpy as np
import pytest

from obsforge.events.vbf_amplitude import (
    VBFAmplitudes,
    _line_currents,
    cp_conjugate,
    pythia_matrix_element,
)
from obsforge.events.ww_amplitude import METRIC

RNG = np.random.default_rng(7)
B = 500


def _massless(n, scale=150.0):
    p = RNG.normal(size=(n, 3)) * scale
    return np.concatenate([np.linalg.norm(p, axis=1)[:, None], p], axis=1)


def _event(n=B):
    x1, x2 = RNG.uniform(200, 3000, n), RNG.uniform(200, 3000, n)
    zero = np.zeros(n)
    p1 = np.stack([x1, zero, zero, x1], axis=1)
    p2 = np.stack([x2, zero, zero, -x2], axis=1)
    return p1, p2, _massless(n), _massless(n)


def _pids(*ids):
    return tuple(np.full(B, i) for i in ids)


def _dot(a, b):
    return np.einsum("bm,mn,bn->b", a, METRIC, b)


MOMENTA = _event()
AMP = VBFAmplitudes()
FLAVOURS = [
    (2, 1, 1, 2),
    (2, -1, 1, -2),
    (-1, -2, -2, -1),
    (2, 1, 2, 1),
    (2, -1, 2, -1),
    (1, 1, 1, 1),
]


def test_charged_current_matches_closed_form():
    """Left-handed W fusion: sum |A|^2 = 16 (g^2/2)^2 (g M_W)^2 (p1.p2)(p3.p4) / props^2 for
    quark-quark; one antiquark line swaps p3 <-> p4 in the numerator."""
    p1, p2, p3, p4 = MOMENTA
    m_w, g = AMP.inputs.m_w, AMP.g
    props = 1.0 / ((_dot(p1 - p3, p1 - p3) - m_w**2) * (_dot(p2 - p4, p2 - p4) - m_w**2))
    constant = 16 * (g**2 / 2) ** 2 * (g * m_w) ** 2
    qq = AMP.squared(MOMENTA, _pids(2, 1, 1, 2))["sm"]
    np.testing.assert_allclose(qq, constant * _dot(p1, p2) * _dot(p3, p4) * props**2, rtol=1e-10)
    qqbar = AMP.squared(MOMENTA, _pids(2, -1, 1, -2))["sm"]
    np.testing.assert_allclose(qqbar, constant * _dot(p1, p4) * _dot(p2, p3) * props**2, rtol=1e-10)


@pytest.mark.parametrize("ids", [(2, 1, 1, 2), (-2, -1, -1, -2), (2, 1, 2, 1), (1, 1, 1, 1)])
def test_sm_limit_agrees_with_pythia_matrix_element(ids):
    """|A_SM|^2 / PYTHIA's ff2Hff kinematic factor is one constant per channel (q q, qbar qbar)."""
    ratio = AMP.squared(MOMENTA, _pids(*ids))["sm"] / pythia_matrix_element(MOMENTA, _pids(*ids))
    assert np.std(ratio) < 1e-10 * np.mean(ratio)


def test_pythia_matrix_element_differs_for_antiquark_lines():
    ids = _pids(2, -1, 1, -2)
    ratio = AMP.squared(MOMENTA, ids)["sm"] / pythia_matrix_element(MOMENTA, ids)
    assert np.std(ratio) > 0.1 * np.mean(ratio)


@pytest.mark.parametrize("ids", FLAVOURS)
def test_lorentz_invariance(ids):
    """Every helicity-summed term is unchanged by a boost along x with beta = 0.6 followed by a
    rotation about z."""
    beta, angle = 0.6, 0.8
    gamma = 1 / np.sqrt(1 - beta**2)
    boost = np.eye(4)
    boost[0, 0] = boost[1, 1] = gamma
    boost[0, 1] = boost[1, 0] = gamma * beta
    rotation = np.eye(4)
    rotation[1:3, 1:3] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    transform = rotation @ boost
    moved = tuple(p @ transform.T for p in MOMENTA)
    before, after = AMP.squared(MOMENTA, _pids(*ids)), AMP.squared(moved, _pids(*ids))
    for key in before:
        scale = np.abs(before[key]).max()
        np.testing.assert_allclose(after[key], before[key], atol=1e-9 * scale)


@pytest.mark.parametrize("anti", [False, True])
def test_massless_currents_are_conserved(anti):
    """q_mu J^mu = 0 (Ward identity): the k k part of the massive propagators drops out."""
    p1, _, p3, _ = MOMENTA
    flags = np.full(B, anti)
    for current in _line_currents(p1, p3, flags).values():
        contracted = np.einsum("bm,mn,bn->b", p1 - p3, METRIC, current)
        assert np.abs(contracted).max() < 1e-9 * np.abs(current).max() * np.abs(p1).max()


@pytest.mark.parametrize("ids", FLAVOURS)
def test_interference_is_cp_odd(ids):
    """R1(CP z) = -R1(z), R2(CP z) = R2(z), |A_SM|^2 CP-even; R1 is not identically zero."""
    r1, r2 = AMP.weights(MOMENTA, _pids(*ids))
    r1_cp, r2_cp = AMP.weights(*cp_conjugate(MOMENTA, _pids(*ids)))
    assert np.abs(r1).max() > 1e-3
    np.testing.assert_allclose(r1_cp, -r1, atol=1e-10 * np.abs(r1).max())
    np.testing.assert_allclose(r2_cp, r2, rtol=1e-10)
    weight = 1 + r1 + r2  # |A_SM + A_odd|^2 / |A_SM|^2 >= 0
    assert (weight >= -1e-12).all() and (1 - r1 + r2 >= -1e-12).all()


def test_odd_part_scales_with_lambda():
    """R1 ~ 1 / Lambda^2 and R2 ~ 1 / Lambda^4."""
    r1, r2 = AMP.weights(MOMENTA, _pids(2, 1, 1, 2))
    r1_2, r2_2 = VBFAmplitudes(scale_tev=2.0).weights(MOMENTA, _pids(2, 1, 1, 2))
    np.testing.assert_allclose(r1_2, r1 / 4, rtol=1e-12)
    np.testing.assert_allclose(r2_2, r2 / 16, rtol=1e-12)


def test_bad_partons_are_refused():
    with pytest.raises(ValueError, match="pid1"):
        AMP.squared(MOMENTA, _pids(21, 1, 1, 2))
    with pytest.raises(ValueError, match="one line changes flavour"):
        AMP.squared(MOMENTA, _pids(2, 1, 1, 1))
    with pytest.raises(ValueError, match="quark or antiquark"):
        AMP.squared(MOMENTA, _pids(2, 1, -1, 2))
    with pytest.raises(ValueError, match="scale_tev"):
        VBFAmplitudes(scale_tev=0.0)
