"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest
import torch

from obsforge.pdffit.model import BASIS, SUM_RULES, PDFModel, evolution_to_flavour


def test_sum_rules_hold_for_every_replica():
    model = PDFModel(replicas=7, seed=3)
    with torch.no_grad():  # perturb the networks: the sum rules must survive any weights
        for w in model.weights:
            w.add_(0.3 * torch.randn_like(w))
    rules = model.sum_rules()
    np.testing.assert_allclose(rules["momentum"], 1.0, atol=1e-6)
    for name, value in SUM_RULES.items():
        np.testing.assert_allclose(rules[name], value, atol=1e-6)


def test_replicas_are_independent_networks():
    model = PDFModel(replicas=3, seed=0)
    x = torch.as_tensor(np.geomspace(1e-4, 0.9, 20))
    xf = model(x)
    assert xf.shape == (3, 20, len(BASIS))
    assert not torch.allclose(xf[0], xf[1])
    loss = xf[0].sum()
    loss.backward()
    assert model.weights[0].grad[1:].abs().max() == 0  # replica 0 only touches its weights


def test_evolution_basis_rotation_is_exact():
    rng = np.random.default_rng(0)
    q, qbar = rng.normal(size=4), rng.normal(size=4)
    qbar[3] = q[3]  # c = cbar
    flavours = np.zeros(13)  # pid order -6..-1, 21, 1..6: u = pid 2 at row 8, d = pid 1 at 7
    flavours[[8, 7, 9, 10]], flavours[[4, 5, 3, 2]], flavours[6] = q, qbar, 0.7
    plus, minus = q + qbar, q - qbar
    evolution = [
        plus.sum(), 0.7, minus.sum(), minus[0] - minus[1], minus[0] + minus[1] - 2 * minus[2],
        plus[0] - plus[1], plus[0] + plus[1] - 2 * plus[2], plus[:3].sum() - 3 * plus[3],
    ]  # fmt: skip
    np.testing.assert_allclose(evolution_to_flavour() @ evolution, flavours, atol=1e-14)


def test_model_has_two_up_and_one_down_valence_quark():
    """The sum rules of the basis, read in flavours: int (u - ubar) = 2, int (d - dbar) = 1,
    int (s - sbar) = 0 for any network weights; and NNPDF3.1 NLO at Q0, rotated into our
    basis, satisfies our sum rules (so the two conventions agree)."""
    from obsforge.pdffit.model import X_MIN, _quadrature, flavour_to_evolution
    from obsforge.pdffit.reference import reference_pdf_at

    nodes, weights = _quadrature(4000)
    with torch.no_grad():
        xf = PDFModel(replicas=4, seed=5)(torch.as_tensor(nodes)).numpy()  # (R, N, 8)
    flavour = np.einsum("pk,rnk->rpn", evolution_to_flavour(), xf)
    valence = {pid: ((flavour[:, 6 + pid] - flavour[:, 6 - pid]) / nodes * weights).sum(1)
               for pid in (1, 2, 3)}  # fmt: skip
    np.testing.assert_allclose(valence[2], 2.0, atol=1e-6)
    np.testing.assert_allclose(valence[1], 1.0, atol=1e-6)
    np.testing.assert_allclose(valence[3], 0.0, atol=1e-6)

    x = np.geomspace(X_MIN, 1.0, 3000)
    law = flavour_to_evolution(reference_pdf_at(x, 1.65).T).T
    for name, value in SUM_RULES.items():
        assert np.trapezoid(law[BASIS.index(name)] / x, x) == pytest.approx(value, abs=0.015)
    assert np.trapezoid(law[0] + law[1], x) == pytest.approx(1.0, abs=0.01)
    assert np.all(law[BASIS.index("V3"), (x > 1e-3) & (x < 0.8)] > 0)  # u_v > d_v


def test_preprocessing_ranges_are_validated_and_walls_hold():
    from obsforge.pdffit.model import PREPROCESSING, check_preprocessing

    with pytest.raises(ValueError, match="unknown basis function 'V4'"):
        check_preprocessing({"V4": [[0.1, 0.2], [1, 2]]})
    with pytest.raises(ValueError, match="preprocessing.V.*alpha < 1.0"):
        check_preprocessing({"V": [[0.5, 1.2], [1, 2]]})
    with pytest.raises(ValueError, match="preprocessing.g.*beta_min <= beta_max"):
        check_preprocessing({"g": [[1.0, 1.1], [3, 2]]})
    model = PDFModel(replicas=5, seed=1, trainable_preprocessing=True)
    assert model.alpha.requires_grad and model.beta.requires_grad
    with torch.no_grad():
        model.alpha.add_(10.0)
        model.beta.sub_(10.0)
    model.clip_preprocessing()
    for k, name in enumerate(BASIS):
        (_, a_hi), (b_lo, _) = PREPROCESSING[name]
        np.testing.assert_allclose(model.alpha[:, k].detach().numpy(), a_hi)
        np.testing.assert_allclose(model.beta[:, k].detach().numpy(), b_lo)
