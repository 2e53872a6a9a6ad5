"""The post-fit selection of replicas (NNPDF's veto of outliers and positivity violators)."""

from __future__ import annotations

import numpy as np

from obsforge.pdffit.fit import POSITIVITY_TOLERANCE, FitData

__all__ = ["postfit_selection"]


def postfit_selection(
    datasets, preds, data: FitData, violation: np.ndarray | None = None, n_sigma: float = 4.0
) -> np.ndarray:
    """NNPDF-style post-fit veto: drop replicas whose total chi2/N against the data is more
    than ``n_sigma`` robust standard deviations (1.4826 MAD) above the median, and replicas
    whose positivity ``violation`` exceeds :data:`POSITIVITY_TOLERANCE`."""
    n = sum(len(d) for d in datasets)
    total = np.zeros(len(preds[0]))
    for dataset, pred, cov in zip(datasets, preds, data.cov_exp, strict=True):
        diff = pred - dataset.data[None]
        total += np.einsum("rn,rn->r", diff, np.linalg.solve(cov, diff.T).T)
    total /= n
    median = np.median(total)
    spread = 1.4826 * np.median(np.abs(total - median))
    keep = np.isfinite(total) & (total <= median + n_sigma * max(spread, 1e-12))
    if violation is not None:
        keep &= violation <= POSITIVITY_TOLERANCE
    if not keep.any():
        raise RuntimeError("post-fit selection: no replica passes (the fit failed)")
    return keep
