"""The compiled EEEC kernel: same triplets as the array kernel, moments equal to per-jet
histograms of those triplets, an unbiased subsample whose decisions do not depend on batching."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.observables.eeec import eeec_triplets
from obsforge.observables.eeec_stream import (
    FINE_EDGES,
    ShapeSet,
    StreamMoments,
    eeec_longest_side,
    eeec_stream,
    eeec_triplets_compiled,
)
from obsforge.observables.longest_side import ZETA3_EDGES, peak_sums, per_jet_histogram
from obsforge.observables.shapes import TriangleShape
from obsforge.search.observable import ShapeGrid, ShapePatch, scan_shapes, shape_histograms
from tests.observables.test_eeec import random_jets

SHAPES = scan_shapes(ShapeGrid(steps=11), [ShapePatch(centre=(1.02, 1.99), half_width=0.06)])


def _stream(jets, ids, w_cut, groups=4):
    shapes = ShapeSet.of(SHAPES)
    moments = StreamMoments.zeros(groups, len(shapes), len(FINE_EDGES) - 1)
    out = eeec_stream(jets, ids, ids % groups, shapes, moments, w_cut)
    return moments, out


def test_compiled_triplets_equal_the_array_kernel():
    jets = random_jets(200, 20, seed=5)
    expected, got = eeec_triplets(jets), eeec_triplets_compiled(jets)
    np.testing.assert_array_equal(got["jet"], expected["jet"])
    for name in ("zeta1", "zeta2", "zeta3", "weight"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-14, atol=1e-16)


def test_moments_equal_the_per_jet_histograms_of_the_triplets():
    jets = random_jets(150, 25, seed=6)
    ids = np.arange(len(jets), dtype=np.int64) + 1000
    moments, out = _stream(jets, ids, None)
    t = eeec_triplets(jets)
    zeta = np.stack([t["zeta1"], t["zeta2"], t["zeta3"]], 1)
    edges = np.tile(FINE_EDGES, (len(SHAPES), 1))
    h = shape_histograms(zeta, t["weight"], SHAPES, edges, t["jet"], len(jets))  # (J, S, K)
    w = np.bincount(t["jet"], t["weight"], minlength=len(jets))
    group = ids % 4
    for g in range(4):
        np.testing.assert_allclose(moments.sum_h[g], h[group == g].sum(0), rtol=1e-12, atol=1e-17)
        hw = np.einsum("jsk,j->sk", h[group == g], w[group == g])
        np.testing.assert_allclose(moments.sum_hw[g], hw, rtol=1e-12, atol=1e-18)
        assert moments.sum_w[g] == pytest.approx(w[group == g].sum(), rel=1e-12)
        assert moments.sum_w2[g] == pytest.approx((w[group == g] ** 2).sum(), rel=1e-12)
        assert moments.n_jets[g] == np.sum(group == g)
    np.testing.assert_allclose(
        moments.sum_hh, np.einsum("jsk,jsl->skl", h, h), rtol=1e-12, atol=1e-19
    )
    assert h.sum() > 0 and np.count_nonzero(h.sum((0, 2))) > len(SHAPES) // 2
    # Per-jet outputs: total weights, the longest-side peak sums and histogram.
    np.testing.assert_allclose(out["weight_sum"], w, rtol=1e-12)
    sums = np.array(
        [
            out["peak_w"].sum(),
            out["peak_s"].sum(),
            (out["peak_w"] ** 2).sum(),
            (out["peak_s"] ** 2).sum(),
            (out["peak_w"] * out["peak_s"]).sum(),
        ]
    )
    np.testing.assert_allclose(sums, peak_sums(t["zeta3"], t["weight"], t["jet"], len(jets)))
    per_jet = per_jet_histogram(t["zeta3"], t["weight"], t["jet"], len(jets), ZETA3_EDGES)
    np.testing.assert_allclose(out["zeta3_hist"], per_jet.sum(0), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(out["zeta3_sumw2"], (per_jet**2).sum(0), rtol=1e-12, atol=1e-20)


def test_subsample_is_unbiased_and_independent_of_batching():
    jets = random_jets(400, 20, seed=7)
    t = eeec_triplets(jets)
    w_cut = float(np.quantile(t["weight"], 0.9))  # keeps ~ a fifth of the triplets
    ids = np.arange(len(jets), dtype=np.int64)
    _, whole = _stream(jets, ids, w_cut)
    _, first = _stream(jets[:150], ids[:150], w_cut)
    _, rest = _stream(jets[150:], ids[150:], w_cut)
    np.testing.assert_array_equal(
        whole["weight"], np.concatenate([first["weight"], rest["weight"]])
    )
    assert 0.1 < len(whole["weight"]) / len(t["weight"]) < 0.5
    # Horvitz-Thompson: E[sum kept w / p] = sum w, with variance sum w^2 (1 - p) / p.
    p = np.minimum(1.0, t["weight"] / w_cut)
    sigma = np.sqrt(np.sum(t["weight"] ** 2 * (1 - p) / p))
    assert abs(whole["weight"].sum() - t["weight"].sum()) < 4 * sigma
    # Every triplet heavier than the cut is kept with its own weight; lighter ones get w_cut.
    above = w_cut * (1 + 1e-9)
    heavy = np.sort(t["weight"][t["weight"] > above])
    np.testing.assert_allclose(np.sort(whole["weight"][whole["weight"] > above]), heavy, rtol=1e-14)
    np.testing.assert_allclose(whole["weight"][whole["weight"] <= above], w_cut, rtol=1e-12)
    # Unbiased shape by shape as well: the kept triplets of a wide shape.
    shape = [TriangleShape(n1=1.0, n2=1.0, delta=0.2)]
    edges = np.array([[1e-3, 0.5]])
    full = shape_histograms(
        np.stack([t[f"zeta{i}"] for i in (1, 2, 3)], 1), t["weight"], shape, edges
    )
    kept = shape_histograms(whole["zeta"], whole["weight"], shape, edges)
    inside = shape_histograms(
        np.stack([t[f"zeta{i}"] for i in (1, 2, 3)], 1),
        t["weight"] ** 2 * (1 - p) / p,
        shape,
        edges,
    )
    assert abs(kept[0, 0] - full[0, 0]) < 4 * np.sqrt(inside[0, 0]) + 1e-15


def test_shape_set_refuses_mixed_band_widths_and_duplicates():
    with pytest.raises(ValueError, match="common delta"):
        ShapeSet.of([TriangleShape(n1=1, n2=1, delta=0.01), TriangleShape(n1=1, n2=2, delta=0.02)])
    with pytest.raises(ValueError, match="distinct"):
        ShapeSet.of([TriangleShape(n1=1, n2=1), TriangleShape(n1=1, n2=1)])


def test_compiled_longest_side_histogram_equals_the_triplet_histogram():
    jets = random_jets(120, 22, seed=8)
    t = eeec_triplets(jets)
    hist, sumw2 = eeec_longest_side(jets, ZETA3_EDGES)
    per_jet = per_jet_histogram(t["zeta3"], t["weight"], t["jet"], len(jets), ZETA3_EDGES)
    np.testing.assert_allclose(hist, per_jet.sum(0), rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(sumw2, (per_jet**2).sum(0), rtol=1e-12, atol=1e-20)
