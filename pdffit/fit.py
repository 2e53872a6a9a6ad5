"""Replica fits: Monte Carlo pseudo-data, training/validation split, look-back stopping.

NNPDF methodology (arXiv:2109.02653, section 3.2): replica r fits pseudo-data
D_r = D + L xi_r (L L^T = C_exp, xi_r ~ N(0, 1)); its points are split at random into training
(``training_fraction``) and validation, dataset by dataset; it minimises the chi^2 on its
training points with the t0 covariance,

    chi2_r = sum_b (T_rb - D_rb)^T [C_t0,b restricted to training]^-1 (T_rb - D_rb),

and keeps the parameters of the epoch with the lowest validation chi^2 (look-back stopping;
training ends when no replica improved for ``patience`` epochs). All replicas are one batched
model, so the cost per epoch grows slowly with R. The blocks b are groups of datasets that share
named systematics (the seven HERA I+II sets are one block of 1145 points); the pseudo-data
fluctuations are correlated the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from obsforge.pdffit.data import Dataset, correlated_groups, covariance, fluctuations
from obsforge.pdffit.model import PDFModel

__all__ = [
    "POSITIVITY_TOLERANCE",
    "FitData",
    "FitResult",
    "fit_replicas",
    "merge_results",
    "prepare_fit_data",
]

POSITIVITY_TOLERANCE = 1e-4  # sum over flavours and x of max(0, -x f): "positive" below this


@dataclass
class FitData:
    """Per dataset: FK table, data, covariances (its own block); per correlated group of
    datasets (``blocks``): the joint t0 covariance and, per replica, the inverse covariance of
    its training and validation points; per replica: pseudo-data."""

    names: list[str]
    fk: list  # per dataset: f (R, n_x, 8) -> (R, N_d), the FK table's ``kernel()``
    data: list[np.ndarray]
    cov_exp: list[np.ndarray]
    cov_t0: list[np.ndarray]
    pseudo: list[torch.Tensor]  # (R, N_d)
    blocks: list[list[int]]  # dataset indices of each correlated group
    block_cov_t0: list[np.ndarray]  # (N_b, N_b)
    train_weight: list[torch.Tensor]  # (R, N_b, N_b): inverse covariance on training points
    valid_weight: list[torch.Tensor]
    x: torch.Tensor
    kfactors: list[torch.Tensor] | None = None  # (N_d, n_ops): linear SMEFT K-factors
    kfactors_quadratic: list[torch.Tensor] | None = None  # (N_d, n_ops, n_ops)
    wilson_scale: torch.Tensor | None = None  # (n_ops,): the unit the coefficients train in
    positivity: torch.Tensor | None = None  # (n_flav, n_i, 8, n_x'): x f_flav(x_i, Q) operator
    positivity_x: torch.Tensor | None = None  # (n_x',): where it takes the PDF at Q0
    integrability_x: torch.Tensor | None = None  # (n_int,): x f_k(x, Q0) -> 0 there
    integrability_basis: list[int] | None = None  # the k of the integrability constraint

    @functools.cached_property
    def positivity_matrix(self) -> torch.Tensor:
        """:attr:`positivity` as a matrix (n_flav n_i, n_x' 8): one matmul per epoch."""
        n_flav, n_i, n_k, n_x = self.positivity.shape
        return self.positivity.permute(0, 1, 3, 2).reshape(n_flav * n_i, n_x * n_k).contiguous()

    def constraint_points(self) -> torch.Tensor:
        """The x grid of the predictions followed by the points of the constraints."""
        extra = [t for t in (self.positivity_x, self.integrability_x) if t is not None]
        return torch.cat([self.x, *extra])


def _masked_inverse(cov: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(cov)
    idx = np.flatnonzero(mask)
    if idx.size:
        out[np.ix_(idx, idx)] = np.linalg.inv(cov[np.ix_(idx, idx)])
    return out


def prepare_fit_data(
    datasets: list[Dataset],
    tables: list,
    replicas: int,
    seed: int,
    training_fraction: float = 0.75,
    t0_predictions: list[np.ndarray] | None = None,
    fluctuate: bool = True,
    rows: slice | None = None,
    correlate: bool = True,
) -> FitData:
    """Pseudo-data and training/validation weights for ``replicas`` replicas; with ``rows``,
    only for those replicas (the same pseudo-data and masks as in the full set), so that a
    Dask worker builds its own batch instead of receiving it. ``correlate``: same-named
    systematics correlated across datasets (else each dataset is its own block). Each
    dataset is split 75/25 (``training_fraction``) on its own, as in NNPDF."""
    rng = np.random.default_rng(seed)
    x = tables[0].x
    t0_predictions = t0_predictions or [None] * len(datasets)
    for table, dataset in zip(tables, datasets, strict=True):
        if not np.allclose(table.x, x):
            raise ValueError(f"FK table {table.name}: x grid differs from {tables[0].name}")
        if len(table.table) != len(dataset):
            raise ValueError(
                f"FK table {table.name}: {len(table.table)} points, dataset has {len(dataset)} "
                "(rebuild the table with the same cuts)"
            )
    blocks = correlated_groups(datasets, correlate)
    noise = fluctuations(datasets, rng, replicas, correlate)
    masks = []
    for dataset in datasets:
        n = len(dataset)
        train = np.zeros((replicas, n), dtype=bool)
        for r in range(replicas):
            train[r, rng.permutation(n)[: max(1, int(round(training_fraction * n)))]] = True
        masks.append(train if rows is None else train[rows])
    rows = slice(None) if rows is None else rows
    out = FitData(
        names=[d.name for d in datasets],
        fk=[t.kernel() for t in tables],
        data=[d.data for d in datasets],
        cov_exp=[covariance(d) for d in datasets],
        cov_t0=[covariance(d, t) for d, t in zip(datasets, t0_predictions, strict=True)],
        pseudo=[torch.as_tensor(d.data[None, :] + (e[rows] if fluctuate else 0.0))
                for d, e in zip(datasets, noise, strict=True)],
        blocks=blocks, block_cov_t0=[], train_weight=[], valid_weight=[], x=torch.as_tensor(x),
    )  # fmt: skip
    for block in blocks:
        cov = covariance([datasets[i] for i in block], [t0_predictions[i] for i in block])
        train = np.concatenate([masks[i] for i in block], axis=1)
        out.block_cov_t0.append(cov)
        for weights, side in ((out.train_weight, True), (out.valid_weight, False)):
            inverses = [_masked_inverse(cov, m == side) for m in train]
            weights.append(torch.as_tensor(np.stack(inverses)))
    return out


@dataclass
class FitResult:
    model: PDFModel
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: np.ndarray | None = None
    chi2_train: np.ndarray | None = None
    chi2_valid: np.ndarray | None = None
    positivity_violation: np.ndarray | None = None
    integrability: np.ndarray | None = None  # sum_k |x f_k(x_int, Q0)| per replica


REPLICA_TENSORS = ("weights.", "biases.", "alpha", "beta", "wilson")  # first axis: replica


def merge_results(results: list[FitResult]) -> FitResult:
    """One batched model (and its per-replica records) from fits of consecutive replica
    batches, e.g. the Dask tasks of one fit."""
    models = [r.model for r in results]
    first = models[0]
    merged = PDFModel(
        sum(m.replicas for m in models),
        trainable_preprocessing=isinstance(first.alpha, torch.nn.Parameter),
    )
    if hasattr(first, "wilson"):
        merged.wilson = torch.nn.Parameter(torch.cat([m.wilson.detach() for m in models]))
    states = [m.state_dict() for m in models]
    merged.load_state_dict(
        {key: torch.cat([s[key] for s in states]) if key.startswith(REPLICA_TENSORS) else value
         for key, value in states[0].items()}
    )  # fmt: skip
    joined = {
        name: np.concatenate([getattr(r, name) for r in results])
        for name in (
            "best_epoch",
            "chi2_train",
            "chi2_valid",
            "positivity_violation",
            "integrability",
        )
    }
    return FitResult(merged, results[0].history, **joined)


def predictions(
    model: PDFModel, data: FitData, wilson: torch.Tensor | None = None, f=None
) -> list[torch.Tensor]:
    """(R, N_d) per dataset: FK x f (f = x f / x on the FK grid), times (1 + K . C_r) when
    Wilson coefficients ``wilson`` (R, n_ops) are given (linear SMEFT, SIMUnet-style), plus
    C_r . K2 . C_r with ``data.kfactors_quadratic``.
    ``f``: the PDF on the grid (R, n_x, 8) if already computed."""
    if f is None:
        f = model(data.x) / data.x[None, :, None]  # (R, n_x, 8)
    out = [kernel(f) for kernel in data.fk]
    if wilson is not None and data.kfactors is not None:
        out = [t * factor for t, factor in zip(out, smeft_factors(data, wilson), strict=True)]
    return out


def smeft_factors(data: FitData, wilson):
    """Per dataset, 1 + K . C_r (+ C_r . K2 . C_r with ``data.kfactors_quadratic``) (R, N_d)
    for Wilson coefficients ``wilson`` (R, n_ops), torch or numpy alike."""
    quadratic = data.kfactors_quadratic or [None] * len(data.kfactors)
    out = []
    for k, k2 in zip(data.kfactors, quadratic, strict=True):
        k = torch.as_tensor(k) if isinstance(wilson, torch.Tensor) else np.asarray(k)
        factor = 1 + wilson @ k.T
        if k2 is not None:
            k2 = torch.as_tensor(k2) if isinstance(wilson, torch.Tensor) else np.asarray(k2)
            lib = torch if isinstance(wilson, torch.Tensor) else np
            factor = factor + lib.einsum("ri,nij,rj->rn", wilson, k2, wilson)
        out.append(factor)
    return out


def evaluate(model: PDFModel, data: FitData) -> tuple[torch.Tensor, ...]:
    """One forward pass at every point the loss needs: f on the FK grid (R, n_x, 8), the
    positivity violation sum_{flavour, x} max(0, -x f(x, Q_pos)) (R,) and the integrability
    residual sum_{k, x} |x f_k(x, Q0)| (R,) (zero where the fit has no such constraint)."""
    points = data.constraint_points()
    xf = model(points)
    n = len(data.x)
    f = xf[:, :n] / data.x[None, :, None]
    zero = torch.zeros(xf.shape[0], dtype=xf.dtype)
    violation = integrability = zero
    if data.positivity is not None:
        m = len(data.positivity_x)
        f_pos = xf[:, n : n + m] / data.positivity_x[None, :, None]
        values = f_pos.reshape(len(f_pos), -1) @ data.positivity_matrix.T  # (R, n_flav n_i)
        violation = torch.relu(-values).sum(1)
        n += m
    if data.integrability_x is not None:
        integrability = xf[:, n:, data.integrability_basis].abs().sum((1, 2))
    return f, violation, integrability


def _chi2(preds, pseudo, weights, blocks) -> torch.Tensor:
    """(R,) chi^2 summed over correlated blocks of datasets with per-replica weights."""
    total = 0
    for w, block in zip(weights, blocks, strict=True):
        diff = torch.cat([preds[i] - pseudo[i] for i in block], dim=1)
        total = total + torch.einsum("rn,rnm,rm->r", diff, w, diff)
    return total


def _restore(model, optimiser, best_state, rows: torch.Tensor) -> None:
    """Reset replicas ``rows`` to their best parameters and clear their Adam moments."""
    for keep, p in zip(best_state, model.parameters(), strict=True):
        p[rows] = keep[rows]
        state = optimiser.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][rows] = 0.0


def fit_replicas(
    data: FitData,
    replicas: int,
    seed: int,
    max_epochs: int = 3000,
    patience: int = 300,
    learning_rate: float = 3e-3,
    progress=None,
    preprocessing: dict | None = None,
    trainable_preprocessing: bool = False,
    positivity_lambda: float = 1e4,
    positivity_tolerance: float = POSITIVITY_TOLERANCE,
    positivity_ramp: int = 750,
    integrability_lambda: float = 1e3,
) -> FitResult:
    """Train all replicas at once with Adam; look-back stopping per replica.
    ``preprocessing``: ranges of the exponents (see :class:`PDFModel`). With
    ``data.positivity``, the loss adds lambda x the positivity violation (an exact penalty),
    with ``data.integrability_x`` lambda_int x sum |x f_k(x_int, Q0)|; both weights grow
    geometrically from 1/1000 of their final values (``positivity_lambda``,
    ``integrability_lambda``) over the first ``positivity_ramp`` epochs (at most a quarter of
    ``max_epochs``; n3fit's multiplier), patience counts only after the ramp, and an epoch
    counts for look-back only when the violation is below ``positivity_tolerance`` (NNPDF's
    stopping only accepts positive PDFs). ``progress(row)`` gets a row of the history every
    50 epochs. With ``data.kfactors`` every replica also trains Wilson coefficients
    C = s c, Adam stepping c: s = ``data.wilson_scale`` (e.g. the one-at-a-time standard
    deviations, :func:`wilson_scales`), so that a step moves every coefficient by a similar
    fraction of its uncertainty; the returned model holds C."""
    torch.manual_seed(seed)
    positivity_ramp = max(1, min(positivity_ramp, max_epochs // 4))
    constrained = data.positivity is not None or data.integrability_x is not None
    model = PDFModel(
        replicas, seed=seed, preprocessing=preprocessing,
        trainable_preprocessing=trainable_preprocessing,
    )  # fmt: skip
    if data.kfactors is not None:  # Wilson coefficients per replica, trained with the PDF
        model.wilson = torch.nn.Parameter(
            torch.zeros(replicas, data.kfactors[0].shape[1], dtype=torch.float64)
        )
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    scale = 1.0 if data.wilson_scale is None else torch.as_tensor(data.wilson_scale)

    def coefficients():
        return model.wilson * scale if hasattr(model, "wilson") else None

    best = torch.full((replicas,), float("inf"), dtype=torch.float64)
    best_epoch = np.zeros(replicas, dtype=int)
    best_state = [p.detach().clone() for p in model.parameters()]
    n_train = sum(float(w[0].diagonal().ne(0).sum()) for w in data.train_weight)
    history = []
    since_improvement = 0
    step_scale = torch.ones(replicas, dtype=torch.float64)
    for epoch in range(max_epochs):
        optimiser.zero_grad()
        f, violation, integrability = evaluate(model, data)
        preds = predictions(model, data, coefficients(), f)
        chi2_train = _chi2(preds, data.pseudo, data.train_weight, data.blocks)
        ramp = min(1.0, epoch / positivity_ramp) if constrained else 1.0
        penalty = positivity_lambda * violation + integrability_lambda * integrability
        loss = chi2_train + 1e-3 ** (1 - ramp) * penalty
        finite = torch.isfinite(loss)
        torch.where(finite, loss, 0.0).sum().backward()
        with torch.no_grad():  # look-back bookkeeping on the parameters that made ``preds``
            chi2_valid = _chi2(preds, data.pseudo, data.valid_weight, data.blocks)
            broken = ~finite | ~torch.isfinite(chi2_valid)
            chi2_valid = torch.where(broken, float("inf"), chi2_valid)
            improved = (chi2_valid < best) & (violation.detach() <= positivity_tolerance)
            if improved.any():
                best = torch.where(improved, chi2_valid, best)
                best_epoch[improved.numpy()] = epoch
                for keep, p in zip(best_state, model.parameters(), strict=True):
                    keep[improved] = p.detach()[improved]
                since_improvement = 0
            elif ramp == 1.0:
                since_improvement += 1
        damped = bool((step_scale < 1).any())
        before = [p.detach().clone() for p in model.parameters()] if damped else []
        optimiser.step()
        with torch.no_grad():
            if damped:  # per-replica step size (halved after each blow-up)
                for old, p in zip(before, model.parameters(), strict=True):
                    scale = step_scale.view(-1, *([1] * (p.dim() - 1)))
                    p.copy_(old + scale * (p - old))
            if broken.any():  # a sum-rule normalisation blew up: back to the best state
                _restore(model, optimiser, best_state, broken)
                step_scale[broken] *= 0.5
        if trainable_preprocessing:
            model.clip_preprocessing()
        if epoch % 50 == 0:
            per_point = chi2_train.detach()[finite] / n_train
            history.append(
                {
                    "epoch": epoch,
                    "chi2_train_per_point": float(per_point.mean()),
                    "chi2_train_median": float(per_point.median()) if len(per_point) else 0.0,
                    "chi2_valid_min": float(best.mean()),
                    # replicas whose validation chi2 has not improved for `patience` epochs
                    "replicas_stalled": int((epoch - best_epoch >= patience).sum()),
                    # the epoch the fit ends at if no replica improves again
                    "last_epoch": int(min(max_epochs, max(best_epoch.max(), positivity_ramp)
                                          + patience)),
                }
            )  # fmt: skip
            if progress is not None:
                progress(history[-1])
        if since_improvement >= patience:
            break
    with torch.no_grad():
        for keep, p in zip(best_state, model.parameters(), strict=True):
            p.copy_(keep)
        if hasattr(model, "wilson"):
            model.wilson.mul_(scale)  # c -> C
        f, violation, integrability = evaluate(model, data)
        preds = predictions(model, data, getattr(model, "wilson", None), f)
        chi2_train = _chi2(preds, data.pseudo, data.train_weight, data.blocks).numpy()
        chi2_valid = _chi2(preds, data.pseudo, data.valid_weight, data.blocks).numpy()
    return FitResult(
        model, history, best_epoch, chi2_train, chi2_valid, violation.numpy(),
        integrability.numpy(),
    )  # fmt: skip


def frozen_pdf_terms(data: FitData, central: list[np.ndarray], columns=slice(None)):
    """Per correlated block of datasets: (block, F_b, g_b) with F_b = A^T W A the Fisher
    information of the linear coefficients ``columns`` with the PDF frozen at ``central``
    predictions (A = T0 K, W the inverse t0 covariance) and g_b = (D_r - T0) W A (R, n_ops)."""
    if data.kfactors is None:
        raise ValueError("no SMEFT K-factors in the fit data")
    for block, cov in zip(data.blocks, data.block_cov_t0, strict=True):
        t0 = np.concatenate([central[i] for i in block])
        k = np.concatenate([np.asarray(data.kfactors[i])[:, columns] for i in block])
        a = t0[:, None] * k
        pseudo = np.concatenate([np.asarray(data.pseudo[i]) for i in block], axis=1)
        w = np.linalg.inv(cov)
        yield block, a.T @ w @ a, (pseudo - t0[None]) @ w @ a


def wilson_scales(data: FitData, central: list[np.ndarray]) -> np.ndarray:
    """The one-at-a-time standard deviation 1 / sqrt(F_ii) of each linear coefficient with the
    PDF frozen at ``central`` predictions (:func:`frozen_pdf_terms`): the unit in which
    :func:`fit_replicas` trains them (DIS alone: 0.09-0.45; with high-mass Drell-Yan:
    0.006-0.08)."""
    fisher = sum(f for _, f, _ in frozen_pdf_terms(data, central))
    return 1 / np.sqrt(np.diag(fisher))


def fit_wilson_frozen_pdf(
    data: FitData, central: list[np.ndarray], only: int | None = None
) -> np.ndarray:
    """Wilson coefficients per replica with the PDF frozen at ``central`` predictions: the
    chi2 is quadratic in C, so C_r = (A^T W A)^-1 A^T W (D_r - T0), A = T0 K (all points;
    linear terms only). ``only``: fit that one coefficient alone (the others at zero);
    returns (R, 1)."""
    columns = slice(None) if only is None else slice(only, only + 1)
    terms = list(frozen_pdf_terms(data, central, columns))
    lhs = sum(f for _, f, _ in terms)
    rhs = sum(g for _, _, g in terms)
    return np.linalg.solve(lhs, rhs.T).T
