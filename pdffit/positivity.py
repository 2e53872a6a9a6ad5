"""Positivity of the fitted PDFs as NNPDF4.0 imposes it (arXiv:2109.02653, section 3.1.3):
x f(x, Q) >= 0 for u, ubar, d, dbar, s, sbar and g at Q^2 = 5 GeV^2, enforced by a penalty on the
evolved PDFs (the fit's ``positivity`` option).
"""

from __future__ import annotations

import numpy as np
import torch

from obsforge.pdffit.fktables import load_evolution
from obsforge.pdffit.flavours import flavour_row

__all__ = ["POSITIVITY_PIDS", "positivity_operator"]

POSITIVITY_PIDS = (2, -2, 1, -1, 3, -3, 21)


def positivity_operator(x: np.ndarray, q2_min: float = 5.0) -> tuple[torch.Tensor, float]:
    """x f_pid(x_i, Q) for pid in :data:`POSITIVITY_PIDS` from f_k(x_j, Q0), as a tensor
    (7, n_x, 8, n_x), at the first scale Q of the shipped evolution with Q^2 >= ``q2_min``
    (NNPDF4.0 imposes positivity at Q^2 = 5 GeV^2); returns it and Q in GeV."""
    evolution = load_evolution()
    if not np.allclose(evolution.x, x):
        raise ValueError("positivity: the evolution operators' x grid differs from the FK tables")
    k = int(np.flatnonzero(evolution.q**2 >= q2_min)[0])
    rows = [flavour_row(p) for p in POSITIVITY_PIDS]
    operator = evolution.operator[k][rows].astype(np.float64) * x[None, :, None, None]
    return torch.as_tensor(operator), float(evolution.q[k])
