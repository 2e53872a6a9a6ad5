"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np


def test_smeft_k_factors_are_exact_and_grow_with_q2():
    """sigma(C) = sigma_SM (1 + C.K + C.K2.C) exactly (LO amplitudes are linear in C); the
    effect of a 1 TeV contact term grows like Q^2 / Lambda^2 and vanishes at C = 0."""
    from obsforge.events.ww_amplitude import ElectroweakInputs
    from obsforge.pdffit.smeft import OPERATORS, _cross_section, k_factors

    x = np.array([0.01, 0.1, 0.3, 0.3])
    q2 = np.array([100.0, 1000.0, 10000.0, 30000.0])
    y = q2 / (x * 318.0**2)
    pdf_q = {"u": (1 - x) ** 3 / x**0.5, "d": 0.5 * (1 - x) ** 4 / x**0.5}
    pdf_qbar = {"u": 0.1 * (1 - x) ** 7 / x, "d": 0.12 * (1 - x) ** 7 / x}
    for positron in (False, True):
        linear, quadratic = k_factors(x, q2, y, positron, pdf_q, pdf_qbar)
        c = np.random.default_rng(1).normal(size=len(OPERATORS)) * 3
        exact = _cross_section(
            x,
            q2,
            y,
            positron,
            pdf_q,
            pdf_qbar,
            dict(zip(OPERATORS, c, strict=True)),
            ElectroweakInputs(),
        )
        sm = _cross_section(x, q2, y, positron, pdf_q, pdf_qbar, {}, ElectroweakInputs())
        np.testing.assert_allclose(
            exact / sm, 1 + linear @ c + np.einsum("nij,i,j->n", quadratic, c, c), rtol=1e-10
        )
        assert np.all(np.abs(linear[:, 0]) > 0)
        assert abs(linear[-1, 0]) > 5 * abs(linear[0, 0])
