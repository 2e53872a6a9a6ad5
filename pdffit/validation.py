"""How good a fit is: chi2 tables, the replicas against a reference or a closure test's law,
NNPDF4.0's closure estimators, the SMEFT coefficients' intervals, the sum rules.

chi2 = (T - D)^T C^-1 (T - D) with the experimental covariance C; for a closure test
(arXiv:2109.02653, section 6.1) the bias |<T> - T_law|^2_C / N over the variance
<|T - <T>|^2_C> / N gives R_bv = sqrt(bias / variance), 1 for faithful uncertainties, and
xi_1sigma, the fraction of eigen-directions of C in which the law lies within one replica
standard deviation of the mean, 0.68 for a faithful fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obsforge.pdffit.data import covariance
from obsforge.pdffit.fit import FitData
from obsforge.pdffit.flavours import FLAVOURS
from obsforge.pdffit.model import BASIS, evolution_to_flavour
from obsforge.pdffit.smeft import scale_tev

__all__ = [
    "band_coverage",
    "chi2",
    "chi2_table",
    "closure_estimators",
    "closure_summary",
    "flavour_xf",
    "physical_pdfs",
    "reference_comparison",
    "smeft_summary",
    "sum_rule_deviation",
]


def chi2(theory: np.ndarray, data: np.ndarray, cov: np.ndarray) -> float:
    """(T - D)^T C^-1 (T - D) of one prediction T (N,) against data D (N,)."""
    diff = theory - data
    return float(diff @ np.linalg.solve(cov, diff))


def chi2_table(datasets, preds, data: FitData, reference=None) -> list[dict[str, Any]]:
    """chi2/N with the experimental covariance against the (fitted) data: of the central PDF
    (replica-averaged prediction, linear in the PDF), averaged over replicas, and of the
    reference PDF (NNPDF3.1 NLO) through the same FK tables. Per dataset with its own
    covariance block; the total with the joint covariance of each correlated group."""

    def chi2s(members, predictions, cov):
        data_values = np.concatenate([datasets[i].data for i in members])
        pred = np.concatenate([predictions[i] for i in members], axis=1)
        ref = (
            np.nan
            if reference is None
            else chi2(np.concatenate([reference[i] for i in members]), data_values, cov)
        )
        return [chi2(pred.mean(0), data_values, cov),
                float(np.mean([chi2(p, data_values, cov) for p in pred])), ref]  # fmt: skip

    rows = []
    for i, (dataset, cov) in enumerate(zip(datasets, data.cov_exp, strict=True)):
        central, replica, ref = chi2s([i], preds, cov)
        n = len(dataset)
        rows.append(
            {"dataset": dataset.name, "points": n, "chi2_central": central / n,
             "chi2_replicas": replica / n, "chi2_reference": ref / n}
        )  # fmt: skip
    totals = np.zeros(3)
    for block in data.blocks:
        totals += chi2s(block, preds, covariance([datasets[i] for i in block]))
    n = sum(len(d) for d in datasets)
    rows.append(
        {"dataset": "total", "points": n, "chi2_central": totals[0] / n,
         "chi2_replicas": totals[1] / n, "chi2_reference": totals[2] / n}
    )  # fmt: skip
    return rows


def band_coverage(
    x: np.ndarray, values: dict[str, np.ndarray], truth: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Per curve ``name`` (replicas ``values[name]`` (R, n_x) against ``truth[name]`` (n_x,)),
    on the grid points with 1e-3 < x < 0.7: the fraction where the truth lies within the
    replicas' 68% (and 95%) interval, the mean and largest pull |mean - truth| / std, and
    the closure estimators of these points (NNPDF4.0's, in PDF space): R_bv = sqrt(sum (mean -
    truth)^2 / sum variance) and xi_1sigma, the fraction where |mean - truth| <= std (1 and
    0.68 for faithful uncertainties). With fewer than two replicas there is no spread: the
    pulls and estimators are ``None``."""
    region = (x > 1e-3) & (x < 0.7)
    out = {}
    for name, replicas in values.items():
        v, t = replicas[:, region], truth[name][region]
        lo68, hi68 = np.percentile(v, [16, 84], axis=0)
        lo95, hi95 = np.percentile(v, [2.5, 97.5], axis=0)
        out[name] = {
            "within_68": float(np.mean((t >= lo68) & (t <= hi68))),
            "within_95": float(np.mean((t >= lo95) & (t <= hi95))),
            "mean_abs_pull": None,
            "max_abs_pull": None,
            "x_at_max_pull": None,
            "r_bv": None,
            "xi_1sigma": None,
        }
        if len(v) >= 2:
            offset, std = np.abs(v.mean(0) - t), v.std(0)
            pull = offset / std
            out[name].update(
                mean_abs_pull=float(pull.mean()),
                max_abs_pull=float(pull.max()),
                x_at_max_pull=float(x[region][pull.argmax()]),
                r_bv=float(np.sqrt(np.sum(offset**2) / np.sum(std**2))),
                xi_1sigma=float(np.mean(offset <= std)),
            )
    return out


def closure_summary(x: np.ndarray, f_evol: np.ndarray, law: np.ndarray) -> dict[str, Any]:
    """The replicas against the closure test's law, per evolution-basis function x f."""
    return band_coverage(
        x, {n: f_evol[:, k] * x for k, n in enumerate(BASIS)},
        {n: law[k] * x for k, n in enumerate(BASIS)},
    )  # fmt: skip


def physical_pdfs(xf: np.ndarray) -> dict[str, np.ndarray]:
    """x g, x u_v, x d_v and x Sigma (all quarks and antiquarks) from flavour-basis x f
    (..., 13, n_x) in FLAVOURS order."""
    at = {pid: xf[..., k, :] for k, pid in enumerate(FLAVOURS)}
    return {"g": at[21], "u_v": at[2] - at[-2], "d_v": at[1] - at[-1],
            "Sigma": xf.sum(-2) - at[21]}  # fmt: skip


def flavour_xf(x: np.ndarray, f_evol: np.ndarray) -> np.ndarray:
    """x f (..., 13, n_x) in FLAVOURS order at Q0 from evolution-basis f (..., 8, n_x)."""
    return np.einsum("pk,...kj->...pj", evolution_to_flavour(), f_evol) * x


def reference_comparison(x: np.ndarray, f_evol: np.ndarray, ref_xf: np.ndarray) -> dict:
    """The fitted x g, x u_v, x d_v, x Sigma at Q0 (from evolution-basis f (R, 8, n_x))
    against a reference PDF's x f (13, n_x) (NNPDF3.1 NLO), measured by :func:`band_coverage`."""
    return band_coverage(x, physical_pdfs(flavour_xf(x, f_evol)), physical_pdfs(ref_xf))


def closure_estimators(preds, law, covariances) -> dict[str, float]:
    """NNPDF4.0's closure estimators in data space (arXiv:2109.02653, section 6.1), with the
    experimental covariance C of each dataset, in its eigenbasis: bias = |<T> - T_law|^2_C / N,
    variance = <|T - <T>|^2_C> / N over replicas, R_bv = sqrt(bias / variance) (1 for a
    faithful fit), and xi_1sigma: the fraction of eigen-directions in which the law lies within
    one replica standard deviation of the mean (0.68 for a faithful fit)."""
    bias = variance = 0.0
    inside = []
    for pred, truth, cov in zip(preds, law, covariances, strict=True):
        eigenvalues, vectors = np.linalg.eigh(cov)
        rotate = vectors / np.sqrt(eigenvalues)[None]  # whitening: |a @ rotate|^2 = a C^-1 a
        replicas, target = pred @ rotate, truth @ rotate
        mean, std = replicas.mean(0), replicas.std(0)
        bias += float(((mean - target) ** 2).sum())
        variance += float(((replicas - mean) ** 2).sum(1).mean())
        inside.append(np.abs(mean - target) <= std)
    n = sum(len(t) for t in law)
    return {
        "bias": bias / n,
        "variance": variance / n,
        "r_bv": float(np.sqrt(bias / variance)),
        "xi_1sigma": float(np.concatenate(inside).mean()),
    }


def smeft_summary(wilson: np.ndarray, data: FitData, preds, keep, names) -> dict[str, Any]:
    """Mean, std and 95% interval of each fitted coefficient over the replicas: fitted with the
    PDF ("simultaneous"), and with the PDF frozen at the replica-averaged SM prediction, all
    fitted coefficients together ("frozen_pdf") and one at a time ("frozen_pdf_one_at_a_time",
    the convention of the H1/ZEUS contact-interaction limits)."""
    from obsforge.pdffit.fit import fit_wilson_frozen_pdf, smeft_factors

    sm = [p / f for p, f in zip(preds, smeft_factors(data, wilson), strict=True)]
    central = [p.mean(0) for p in sm]
    frozen = fit_wilson_frozen_pdf(data, central)[keep]
    single = np.stack(
        [fit_wilson_frozen_pdf(data, central, only=i)[keep, 0] for i in range(len(names))], 1
    )
    out: dict[str, Any] = {}
    for label, values in (
        ("simultaneous", wilson), ("frozen_pdf", frozen), ("frozen_pdf_one_at_a_time", single)
    ):  # fmt: skip
        rows = {}
        for i, op in enumerate(names):
            lo, hi = np.percentile(values[:, i], [2.5, 97.5])
            rows[op] = {
                "mean": float(values[:, i].mean()),
                "std": float(values[:, i].std()),
                "cl95": [float(lo), float(hi)],
                "lambda_tev_95": [scale_tev(lo), scale_tev(hi)],
            }
        out[label] = rows
    return out


def sum_rule_deviation(model) -> float:
    """The largest deviation of any replica from the momentum and valence sum rules."""
    rules = model.sum_rules()
    target = {"momentum": 1.0, "V": 3.0, "V3": 1.0, "V8": 3.0}
    return float(max(np.abs(rules[k] - v).max() for k, v in target.items()))
