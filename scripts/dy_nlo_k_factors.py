"""Drell-Yan at NLO with NNPDF3.1 NLO (mu_F = mu_R = M): sigma(Z/gamma* -> l l, 66 < m < 116
GeV) at LO and NLO for 7, 8 and 13 TeV, and the NLO K-factor of every mass bin of the
Drell-Yan sets (the factors the fit's tables carry).

    python scripts/dy_nlo_k_factors.py
"""

from __future__ import annotations

import numpy as np

from obsforge.pdffit.dy_data import DY_DATASETS, load_dy_dataset
from obsforge.pdffit.dy_nlo import mass_distribution, nlo_k_factors
from obsforge.pdffit.reference import reference_grid

PIECES = ((66.0, 88.0), (88.0, 94.5), (94.5, 116.0))  # the Z peak resolved


def main() -> None:
    xfxq = reference_grid().xfxq
    t, w = np.polynomial.legendre.leggauss(12)
    print("sigma(66 < m_ll < 116 GeV) [pb]: LO, NLO, K")
    for sqrt_s in (7000.0, 8000.0, 13000.0):
        sigma = np.zeros(2)
        for a, b in PIECES:
            for m, wm in zip(0.5 * (b - a) * t + 0.5 * (a + b), 0.5 * (b - a) * w, strict=True):
                sigma += wm * np.array([mass_distribution(xfxq, m, sqrt_s, k) for k in (0, 1)])
        print(f"  {sqrt_s / 1000:g} TeV: {sigma[0]:.1f}, {sigma[1]:.1f}, {sigma[1] / sigma[0]:.3f}")
    for name, spec in DY_DATASETS.items():
        if spec.deuteron_ratio:
            continue
        masses = np.unique(load_dy_dataset(name).bins[:, :2], axis=0)
        k = nlo_k_factors(xfxq, masses, spec.sqrt_s)
        print(f"{name}: " + ", ".join(f"{lo:g}-{hi:g} GeV {v:.3f}"
                                      for (lo, hi), v in zip(masses, k, strict=True)))  # fmt: skip


if __name__ == "__main__":
    main()
