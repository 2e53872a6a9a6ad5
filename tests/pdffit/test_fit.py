"""pdffit/: real DIS data and covariances, the batched NN PDF with exact sum rules, LHAPDF I/O."""

import numpy as np
import pytest
import torch

from obsforge.pdffit.model import PDFModel, evolution_to_flavour


def _toy_problem(n_points=80, seed=0):
    """A closure problem with a known answer: a random FK table and data from a known PDF."""
    from obsforge.pdffit.data import Dataset, DatasetSpec
    from obsforge.pdffit.fktables import FKTable

    rng = np.random.default_rng(seed)
    x = np.geomspace(1e-4, 0.9, 25)
    table = np.abs(rng.normal(size=(n_points, 8, len(x)))) * 0.02
    truth = PDFModel(1, seed=11)
    with torch.no_grad():
        f_true = (truth(torch.as_tensor(x)) / torch.as_tensor(x)[None, :, None]).numpy()
    central = np.einsum("nkj,rjk->rn", table, f_true)[0]
    error = 0.01 * np.abs(central) + 1e-3
    empty = np.zeros((n_points, 0))
    spec = DatasetSpec("TOY", "toy", None, "F2_total", "electron", "EM")
    dataset = Dataset(
        "TOY", spec, x=np.full(n_points, 0.1), q2=np.full(n_points, 10.0),
        y=np.zeros(n_points), data=central, stat=error, additive=empty, multiplicative=empty,
        additive_names=(), multiplicative_names=(), n_before_cuts=n_points,
    )  # fmt: skip
    return dataset, FKTable("TOY", table, x, dataset.q2, {}), central, error


@pytest.mark.integration
def test_batched_fit_reduces_chi2_and_keeps_sum_rules():
    """Level-0 closure on a toy FK table: all replicas fitted at once reach chi2/N << its start,
    look-back stopping returns the best validation epoch, and sum rules still hold."""
    from obsforge.pdffit.fit import fit_replicas, predictions, prepare_fit_data

    dataset, table, central, error = _toy_problem()
    data = prepare_fit_data([dataset], [table], replicas=4, seed=1, fluctuate=False)
    start = PDFModel(4, seed=2)
    with torch.no_grad():
        chi2_start = (((predictions(start, data)[0].numpy() - central) / error) ** 2).mean()
    result = fit_replicas(data, replicas=4, seed=2, max_epochs=1000, patience=300)
    with torch.no_grad():
        chi2_end = (((predictions(result.model, data)[0].numpy() - central) / error) ** 2).mean(1)
    assert np.all(chi2_end < 0.2 * chi2_start)
    assert np.median(chi2_end) < 1e-3 * chi2_start
    assert np.all(result.best_epoch > 0)
    rules = result.model.sum_rules()
    np.testing.assert_allclose(rules["momentum"], 1.0, atol=1e-6)


@pytest.mark.integration
def test_positivity_penalty_keeps_the_fitted_pdf_positive():
    """The toy law has negative quark and gluon regions: fitted freely every replica follows
    it into x f < 0; with the positivity penalty look-back only accepts states with x f >= 0
    (within the tolerance) for u, ubar, d, dbar, s, sbar and g on the grid."""
    from dataclasses import replace

    from obsforge.pdffit.fit import POSITIVITY_TOLERANCE, evaluate, fit_replicas, prepare_fit_data

    dataset, table, central, error = _toy_problem()
    dataset = replace(dataset, stat=30 * dataset.stat)  # 30% errors: data and positivity compete
    x = table.x
    rows = [6 + p for p in (2, -2, 1, -1, 3, -3, 0)]
    operator = np.einsum("pk,ij->pikj", evolution_to_flavour()[rows], np.diag(x))
    data = prepare_fit_data([dataset], [table], replicas=4, seed=1, fluctuate=False)
    free = fit_replicas(data, replicas=4, seed=2, max_epochs=600, patience=200)
    assert np.all(free.positivity_violation == 0)  # no operator, no penalty
    data.positivity, data.positivity_x = torch.as_tensor(operator), data.x
    with torch.no_grad():
        _, violation, _ = evaluate(free.model, data)
        assert np.all(violation.numpy() > 10 * POSITIVITY_TOLERANCE)
    constrained = fit_replicas(data, replicas=4, seed=2, max_epochs=600, patience=200)
    accepted = constrained.best_epoch > 0
    assert accepted.sum() >= 1
    assert np.all(constrained.positivity_violation[accepted] <= POSITIVITY_TOLERANCE)


def test_replica_batches_merge_into_one_model():
    """A batch of replicas built on its own (what a Dask worker does) has the same pseudo-data
    and masks as in the full set; batches merge into one batched model whose replicas are
    exactly the batches' replicas, in order."""
    from obsforge.pdffit.fit import fit_replicas, merge_results, predictions, prepare_fit_data

    dataset, table, _, _ = _toy_problem()
    full = prepare_fit_data([dataset], [table], replicas=5, seed=1)
    batches = (slice(0, 2), slice(2, 5))
    parts, data = [], []
    for i, rows in enumerate(batches):
        data.append(prepare_fit_data([dataset], [table], replicas=5, seed=1, rows=rows))
        torch.testing.assert_close(data[-1].pseudo[0], full.pseudo[0][rows])
        torch.testing.assert_close(data[-1].train_weight[0], full.train_weight[0][rows])
        parts.append(fit_replicas(data[-1], rows.stop - rows.start, seed=i, max_epochs=40))
    merged = merge_results(parts)
    assert merged.model.replicas == 5 and merged.best_epoch.shape == (5,)
    with torch.no_grad():
        together = predictions(merged.model, full)[0].numpy()
        for rows, part, batch in zip(batches, parts, data, strict=True):
            alone = predictions(part.model, batch)[0].numpy()
            np.testing.assert_allclose(together[rows], alone, rtol=1e-12)
            np.testing.assert_allclose(merged.chi2_valid[rows], part.chi2_valid)


@pytest.mark.integration
def test_integrability_penalty_sends_small_x_to_zero():
    """T3 with alpha up to 1 (NNPDF4.0's range) leaves x T3 finite at x = 1e-9; the
    integrability penalty drives |x T3(1e-9)| down for every replica, 20x for the median,
    at an unchanged chi2 scale (600 epochs: one replica of four is still on its way)."""
    from obsforge.pdffit.fit import evaluate, fit_replicas, prepare_fit_data
    from obsforge.pdffit.model import BASIS

    dataset, table, central, error = _toy_problem()
    data = prepare_fit_data([dataset], [table], replicas=4, seed=1, fluctuate=False)
    ranges = {"T3": [[0.95, 1.0], [1.763, 3.397]]}
    free = fit_replicas(data, 4, seed=2, max_epochs=600, patience=200, preprocessing=ranges)
    data.integrability_x = torch.tensor([1e-9], dtype=torch.float64)
    data.integrability_basis = [BASIS.index("T3")]
    with torch.no_grad():
        _, _, before = evaluate(free.model, data)
    constrained = fit_replicas(data, 4, seed=2, max_epochs=600, patience=200, preprocessing=ranges)
    assert np.all(constrained.integrability < before.numpy())
    assert np.median(constrained.integrability) < np.median(before.numpy()) / 20
    assert np.median(constrained.chi2_train) < 10 * np.median(free.chi2_train) + 10


def test_progress_line_combines_replica_batches(capsys):
    """The live line: the slowest batch's epoch, the median of the batches' median chi2/N,
    the stopped replicas of all batches and a projection from the latest stopping epoch."""
    from obsforge.progress import FitProgress

    line = FitProgress(max_epochs=1000, replicas=6, interval=0.0)
    row = {"chi2_train_median": 1.5, "replicas_stalled": 1, "last_epoch": 400}
    line.batch(0)({"epoch": 199, **row})
    line.batch(1)({"epoch": 99, **row, "chi2_train_median": 1.1, "replicas_stalled": 2})
    line.close()
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("pdffit epoch 100: median chi2/N 1.300, 3/6 stopped,")
    assert "in all if it stops at epoch 400" in last
