"""symbolic/: CP features, classifier, distillation to a provably CP-odd formula, significance."""

import sys

import numpy as np
import pytest
import sympy

from obsforge.config import ConfigError, validate_config
from obsforge.symbolic.classifier import (
    BDTConfig,
    ClassifierConfig,
    train_bdt,
    train_classifier,
)
from obsforge.symbolic.features import (
    DEFAULT_FEATURES,
    compute_features,
    cp_transform,
    mirror_event,
    validate_features,
)
from obsforge.symbolic.regression import (
    OperonBackend,
    SymbolicConfig,
    antisymmetrise,
    distil,
    get_backend,
    is_cp_odd,
)
from obsforge.symbolic.significance import asimov_significance
from obsforge.training import TrainingConfig

NAMES = list(DEFAULT_FEATURES)


def _objects(n, seed=0):
    rng = np.random.default_rng(seed)
    jets = np.stack(
        [
            rng.uniform(30, 300, (n, 2)),
            rng.uniform(-4.5, 4.5, (n, 2)),
            rng.uniform(-np.pi, np.pi, (n, 2)),
            rng.uniform(0, 20, (n, 2)),
        ],
        axis=2,
    )
    higgs = np.stack(
        [rng.uniform(5, 300, n), rng.uniform(-2.5, 2.5, n), rng.uniform(-3, 3, n), np.full(n, 125)],
        axis=1,
    )
    return jets, higgs


def test_cp_transform_matches_explicit_parity():
    """Features of the mirrored event = cp_transform(features): dphi flips, the rest stays."""
    jets, higgs = _objects(1000)
    x = compute_features(jets, higgs, 125.0)
    mirrored = compute_features(*mirror_event(jets, higgs), 125.0)
    np.testing.assert_allclose(mirrored, cp_transform(x), atol=1e-9)
    assert np.abs(x[:, NAMES.index("dphi")]).max() > 3.0  # covers the whole (-pi, pi]


def test_bad_features_are_refused():
    jets, higgs = _objects(10)
    with pytest.raises(ValueError, match="unknown \\['eta_h'\\]"):
        compute_features(jets, higgs, 125.0, ["pt1", "eta_h"])
    with pytest.raises(ValueError, match="empty sample"):
        compute_features(jets[:0], higgs[:0], 125.0)
    x = compute_features(jets, higgs, 125.0)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="features\\[3, 'pt2'\\] = nan: not finite"):
        validate_features(x, NAMES)
    with pytest.raises(ValueError, match="empty sample"):
        validate_features(x[:0], NAMES)


def test_antisymmetrised_formula_is_proven_cp_odd():
    pt1, pt2, dphi, deta = sympy.symbols("pt1 pt2 dphi deta", real=True)
    names = ["pt1", "pt2", "dphi", "deta"]
    g = 0.3 * pt1 * pt2 * sympy.sin(dphi) + 2 * sympy.cos(dphi) * deta + dphi**2 * pt1 + 1.5
    odd = antisymmetrise(g, names)
    assert is_cp_odd(odd, names)
    assert sympy.simplify(odd - 0.3 * pt1 * pt2 * sympy.sin(dphi)) == 0
    assert not is_cp_odd(g, names)
    assert not is_cp_odd(sympy.cos(dphi) * pt1, names)


def test_significance_single_bin_closed_form():
    """One bin: Z = sqrt(2 (n1 ln(n1/n0) - (n1 - n0))); identical hypotheses give 0."""
    values = np.random.default_rng(1).normal(size=1000)
    w0 = np.ones(1000)
    z = asimov_significance(values, w0, 1.1 * w0, n_null=400.0, bins=1)
    n0, n1 = 400.0, 440.0
    assert z == pytest.approx(np.sqrt(2 * (n1 * np.log(n1 / n0) - (n1 - n0))), rel=1e-12)
    assert asimov_significance(values, w0, w0, 400.0, bins=10) == pytest.approx(0.0, abs=1e-12)
    # A shape effect is seen with bins and not without.
    tilted = w0 * (1 + 0.3 * np.tanh(values))
    tilted *= w0.sum() / tilted.sum()
    assert asimov_significance(values, w0, tilted, 400.0, bins=1) < 1e-6
    assert asimov_significance(values, w0, tilted, 400.0, bins=10) > 1.0
    with pytest.raises(ValueError, match="not finite"):
        asimov_significance(np.full(1000, np.inf), w0, w0, 400.0)


@pytest.mark.integration
def test_toy_distillation_recovers_known_cp_odd_observable():
    """Events with weights w(c) = 1 + 0.8 c sin(dphi) g, g = pt1 pt2 / (1 + pt1 pt2): the
    classifier -> Operon chain returns a CP-odd formula that is (up to constants) sin(dphi) g.
    (The exact log-odds is 2 artanh(0.8 sin(dphi) g), monotonic in sin(dphi) g.)"""
    names = ["pt1", "pt2", "dphi", "deta"]
    jets, higgs = _objects(60_000, seed=3)
    x = compute_features(jets, higgs, 125.0, names)
    pt1, pt2, dphi = x[:, 0], x[:, 1], x[:, 2]
    truth = np.sin(dphi) * pt1 * pt2 / (1 + pt1 * pt2)
    w_plus, w_minus = 1 + 0.8 * truth, 1 - 0.8 * truth
    config = ClassifierConfig(
        hidden=32, layers=2, training=TrainingConfig(epochs=25, batch_size=2048, patience=4)
    )
    model, _ = train_classifier(x, w_plus, w_minus, config)
    target = 0.5 * (model.log_odds(x) - model.log_odds(cp_transform(x, names)))
    assert np.corrcoef(target, truth)[0, 1] > 0.95
    symbolic = SymbolicConfig(
        samples=2000, generations=30, population_size=300, max_evaluations=60_000, seed=1
    )
    formula = distil(x, target, names, symbolic)
    assert formula.to_json()["cp_odd_verified"]
    assert np.abs(np.corrcoef(formula(x), truth)[0, 1]) > 0.97
    bdt = train_bdt(x, w_plus, w_minus, BDTConfig())
    assert np.corrcoef(bdt.decision_function(x), truth)[0, 1] > 0.9


def test_backend_selection_and_missing_pysr(monkeypatch):
    assert isinstance(get_backend(SymbolicConfig()), OperonBackend)
    with pytest.raises(ConfigError, match="symbolic.backend|backend"):
        validate_config(SymbolicConfig, {"backend": "eureqa"})
    with pytest.raises(ConfigError, match="operators"):
        validate_config(SymbolicConfig, {"operators": ["add", "tanh"]})
    monkeypatch.setitem(sys.modules, "pysr", None)  # import pysr -> ImportError
    backend = get_backend(SymbolicConfig(backend="pysr"))
    with pytest.raises(RuntimeError, match="Julia.*'operon'"):
        backend.fit(np.zeros((10, 1)), np.zeros(10), ["dphi"])


def test_distil_refuses_bad_target():
    x = compute_features(*_objects(100), 125.0)
    with pytest.raises(ValueError, match="target"):
        distil(x, np.full(100, np.nan), NAMES, SymbolicConfig())
    with pytest.raises(ValueError, match="unknown"):
        distil(x, np.zeros(100), ["pt1", "bogus"], SymbolicConfig())
