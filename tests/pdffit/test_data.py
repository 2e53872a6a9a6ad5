"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest

from obsforge.pdffit.data import DATASETS, apply_cuts, covariance, load_dataset

# Points after Q^2 > 3.49 GeV^2, W^2 > 12.5 GeV^2, as in NNPDF4.0 (arXiv:2109.02653, table 2)
# for the HERA sets; BCDMS and SLAC have extra cuts in NNPDF that we do not apply.
NNPDF40_POINTS = {
    "HERA_NC_318GEV_EP": 377,
    "HERA_NC_318GEV_EM": 159,
    "HERA_NC_300GEV_EP": 70,
    "HERA_NC_251GEV_EP": 254,
    "HERA_NC_225GEV_EP": 204,
    "HERA_CC_318GEV_EP": 39,
    "HERA_CC_318GEV_EM": 42,
}


def _named_toy(name, values, shared):
    """A dataset of len(values) points: stat 0.1, one systematic named ``shared`` (10%)."""
    from obsforge.pdffit.data import Dataset, DatasetSpec

    n = len(values)
    return Dataset(
        name, DatasetSpec(name, "toy", None, "F2_total", "electron", "EM"), x=np.full(n, 0.1),
        q2=np.full(n, 10.0), y=np.zeros(n), data=np.asarray(values, float), stat=np.full(n, 0.1),
        additive=np.zeros((n, 0)), multiplicative=np.full((n, 1), 0.1),
        additive_names=(), multiplicative_names=(shared,), n_before_cuts=n,
    )  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.integration) if name.startswith("HERA_NC") else name
        for name in sorted(DATASETS)
    ],
)
def test_dataset_loads_with_positive_definite_covariance(name):
    data = apply_cuts(load_dataset(name))
    assert np.all(data.q2 > 3.49) and np.all(data.q2 * (1 - data.x) / data.x + 0.938**2 > 12.5)
    if name in NNPDF40_POINTS:
        assert len(data) == NNPDF40_POINTS[name]
    for cov in (covariance(data), covariance(data, t0=1.1 * data.data)):
        np.testing.assert_allclose(cov, cov.T)
        assert np.linalg.eigvalsh(cov).min() > 0
        # diagonal: at least the statistical error, at most 30% relative
        assert np.all(np.diag(cov) >= data.stat**2)
        assert np.median(np.sqrt(np.diag(cov)) / data.data) < 0.3


def test_t0_scales_only_multiplicative_uncertainties():
    data = apply_cuts(load_dataset("HERA_CC_318GEV_EP"))
    base = covariance(data)
    stripped = data.__class__(**{**data.__dict__, "multiplicative": 0 * data.multiplicative})
    np.testing.assert_allclose(covariance(stripped, t0=2 * data.data), covariance(stripped))
    assert not np.allclose(covariance(data, t0=2 * data.data), base)


@pytest.mark.integration
def test_same_named_systematics_correlate_across_datasets():
    """C_ij = s_i s_j across datasets for a shared name, 0 for distinct names; the joint
    fluctuations have that covariance; HERA's seven sets form one group of 1145 points."""
    from obsforge.pdffit.data import correlated_groups, fluctuations

    a, b = _named_toy("A", [1.0, 2.0], "S"), _named_toy("B", [3.0], "S")
    c = _named_toy("C", [4.0], "T")
    joint = covariance([a, b, c])
    expected = np.diag([0.01] * 4) + np.outer([0.1, 0.2, 0.3, 0], [0.1, 0.2, 0.3, 0])
    expected[3, 3] += 0.4**2
    np.testing.assert_allclose(joint, expected, atol=1e-15)
    np.testing.assert_allclose(covariance([a, b], [[2.0, 2.0], [2.0]])[0, 2], 0.2 * 0.2)
    assert correlated_groups([a, c, b]) == [[0, 2], [1]]
    noise = fluctuations([a, b, c], np.random.default_rng(3), 40000)
    sample = np.cov(np.concatenate(noise, axis=1).T)
    np.testing.assert_allclose(sample, expected, atol=3e-3)
    every = [apply_cuts(load_dataset(n)) for n in sorted(DATASETS)]
    groups = correlated_groups(every)
    assert [[every[i].name for i in g] for g in groups if len(g) > 1] == [
        sorted(n for n in DATASETS if n.startswith("HERA"))
    ]
    block = [every[i] for i in groups[1]]
    cov = covariance(block)
    assert cov.shape == (1145, 1145) and np.linalg.eigvalsh(cov).min() > 0
    n0 = len(block[0])
    np.testing.assert_allclose(cov[:n0, :n0], covariance(block[0]))
    assert np.abs(cov[:n0, n0:]).max() > 0.1 * np.sqrt(np.diag(cov)[:n0].min())


def test_bad_dataset_and_empty_cuts():
    with pytest.raises(ValueError, match="dataset 'HERA_FOO': unknown; allowed are"):
        load_dataset("HERA_FOO")
    data = load_dataset("SLAC_NC_NOTFIXED_P_F2")
    with pytest.raises(ValueError, match="no point passes the cuts"):
        apply_cuts(data, q2_min=1e6)
