"""Triangle shapes: band selection, jet-grouped errors, config validation."""

from __future__ import annotations

import numpy as np
import pytest

from obsforge.config import ConfigError, validate_config
from obsforge.eeec_density import DensityStudy
from obsforge.observables.shapes import TriangleShape, in_shape, weighted_histogram


def test_shape_band_selects_exactly_the_defining_inequalities():
    shape = TriangleShape(n1=1.0, n2=2.0, delta=0.01)
    zeta = np.array(
        [
            [0.010, 0.010, 0.020],  # on the lower edges: in
            [0.010, 0.0205, 0.030],  # zeta2 = n1 zeta1 + delta + 0.0005: out
            [0.010, 0.015, 0.029],  # inside both bands: in
            [0.010, 0.015, 0.031],  # zeta3 above n2 zeta1 + delta: out
            [0.010, 0.009, 0.020],  # zeta2 below n1 zeta1 (unsorted input): out
        ]
    )
    np.testing.assert_array_equal(in_shape(zeta, shape), [True, False, True, False, False])


def test_jet_grouped_errors_add_correlated_triplets_linearly():
    values = np.array([0.1, 0.15, 0.6, 0.7, 0.2])
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    jets = np.array([0, 0, 0, 1, 1])
    edges = np.array([0.0, 0.5, 1.0])
    content, error = weighted_histogram(values, weights, edges, jets)
    np.testing.assert_allclose(content, [8.0, 7.0])
    # Bin 0: jet 0 gives 1 + 2, jet 1 gives 5 -> sqrt(3^2 + 5^2); bin 1: sqrt(3^2 + 4^2).
    np.testing.assert_allclose(error, [np.sqrt(34.0), 5.0])
    _, independent = weighted_histogram(values, weights, edges)
    np.testing.assert_allclose(independent, [np.sqrt(1 + 4 + 25), 5.0])


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="n2 = 1.5 < n1 = 2"):
        TriangleShape(n1=2.0, n2=1.5)
    with pytest.raises(ValueError, match="delta"):
        TriangleShape(n1=1.0, n2=2.0, delta=0.0)


BASE = {"top_jets": {"masses": [170.0, 175.0, 180.0], "events_per_mass": 10}}


@pytest.mark.parametrize(
    ("density", "message"),
    [
        ({"holdout_masses": [176.0]}, "holdout_masses = \\[176.0\\]: not all in the generated"),
        (
            {"holdout_masses": [175.0], "train_masses": [170.0, 175.0]},
            "both trained on and held out",
        ),
        ({"holdout_masses": [170.0, 175.0]}, "at least two training masses"),
        ({"model": "gaussian"}, "density.model = 'gaussian'"),
        ({"sample": {"validation_fraction": 0.6, "test_fraction": 0.5}}, "leave jets for training"),
    ],
)
def test_bad_density_configs_are_refused(density, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(DensityStudy, {**BASE, "density": density})


def test_builtin_density_config_is_valid():
    from obsforge.config_files import load_config

    study = load_config(DensityStudy, "density")
    assert study.training_masses() == [170.0, 172.5, 177.5, 180.0]
