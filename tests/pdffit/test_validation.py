"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest


def test_closure_estimators_on_a_faithful_gaussian_ensemble():
    """Replicas = (law + one fluctuation) + fluctuations, all with covariance C: a faithful
    ensemble, so R_bv = 1 and xi_1sigma = 0.683 up to sampling noise; replicas centred on the
    law itself give R_bv ~ 0 and xi_1sigma ~ 1."""
    from obsforge.pdffit.validation import closure_estimators

    rng = np.random.default_rng(4)
    n, replicas = 400, 1000
    a = rng.normal(size=(n, n)) / np.sqrt(n)
    cov = a @ a.T + 0.1 * np.eye(n)
    chol = np.linalg.cholesky(cov)
    law = rng.normal(size=n)
    central = law + chol @ rng.normal(size=n)
    ensemble = central[None] + rng.normal(size=(replicas, n)) @ chol.T
    faithful = closure_estimators([ensemble[:, :150], ensemble[:, 150:]],
                                  [law[:150], law[150:]],
                                  [cov[:150, :150], cov[150:, 150:]])  # fmt: skip
    assert faithful["variance"] == pytest.approx(1.0, abs=0.05)
    assert faithful["r_bv"] == pytest.approx(1.0, abs=0.12)
    assert faithful["xi_1sigma"] == pytest.approx(0.683, abs=0.06)
    centred = closure_estimators([ensemble - central + law], [law], [cov])
    assert centred["r_bv"] < 0.1 and centred["xi_1sigma"] > 0.99


def test_band_coverage_of_gaussian_replicas_and_the_reference_comparison():
    """Replicas with a unit spread around a centre that is itself one unit-Gaussian draw from
    the truth (a faithful ensemble) cover the truth in 68% / 95% of the x points; shifted by 10
    sigma, nowhere, with pulls of 10. NNPDF3.1 itself (rotated into our basis and back, with a
    little noise) lies inside every band of the comparison with NNPDF3.1."""
    from obsforge.pdffit.model import flavour_to_evolution
    from obsforge.pdffit.reference import reference_pdf_at
    from obsforge.pdffit.validation import band_coverage, reference_comparison

    rng = np.random.default_rng(6)
    x = np.geomspace(1e-4, 0.9, 2000)
    truth = {"f": np.sin(10 * x)}
    centre = truth["f"] + rng.normal(size=x.size)
    replicas = {"f": centre + rng.normal(size=(4000, x.size))}
    out = band_coverage(x, replicas, truth)["f"]
    assert out["within_68"] == pytest.approx(0.68, abs=0.05)
    assert out["within_95"] == pytest.approx(0.95, abs=0.03)
    shifted = band_coverage(x, {"f": replicas["f"] + 10.0}, truth)["f"]
    assert shifted["within_95"] == 0.0
    assert shifted["mean_abs_pull"] == pytest.approx(10.0, abs=0.1)

    grid = np.geomspace(1e-5, 0.99, 300)
    ref_xf = reference_pdf_at(grid, 1.65)
    f_evol = flavour_to_evolution(ref_xf.T).T / grid
    noisy = f_evol[None] * (1 + 1e-3 * rng.normal(size=(50, *f_evol.shape)))
    comparison = reference_comparison(grid, noisy, ref_xf)
    assert set(comparison) == {"g", "u_v", "d_v", "Sigma"}
    assert all(row["within_95"] > 0.9 and row["max_abs_pull"] < 5 for row in comparison.values())
