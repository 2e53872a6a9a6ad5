"""Drell-Yan measurements from nnpdf-data against the LO prediction with NNPDF3.1: data / LO per
mass bin (gamma gamma -> l l included where the measurement includes it) and data / NLO (our
K-factor of each mass bin), and the chi2 per point with one constant K-factor fitted
(experimental covariance);
the same prediction through the two-x FK tables (NNPDF3.1 at Q0 and the shipped operators).

    python scripts/dy_data_vs_lo.py
    python scripts/dy_data_vs_lo.py --datasets ATLAS_Z0_8TEV_HIMASS_M-Y --no-photon
"""

from __future__ import annotations

import argparse

import numpy as np

from obsforge.pdffit.data import covariance
from obsforge.pdffit.dy_data import (
    DY_DATASETS,
    dy_dataset_fk_table,
    dy_lo_predictions,
    load_dy_dataset,
)
from obsforge.pdffit.dy_fktables import dy_predict
from obsforge.pdffit.dy_nlo import nlo_k_factors
from obsforge.pdffit.export import load_grid_evolution
from obsforge.pdffit.model import flavour_to_evolution
from obsforge.pdffit.reference import reference_grid, reference_pdf_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cross_sections = [n for n in sorted(DY_DATASETS) if not DY_DATASETS[n].deuteron_ratio]
    parser.add_argument("--datasets", nargs="+", default=cross_sections, choices=cross_sections)
    parser.add_argument("--m-min", type=float, default=45.0,
                        help="K and chi2 from bins above this mass (GeV): below, LO lacks the "
                        "pair p_T that lifts soft leptons over the cuts")  # fmt: skip
    parser.add_argument("--no-photon", action="store_true",
                        help="leave gamma gamma -> l l out of every prediction")  # fmt: skip
    args = parser.parse_args()
    grid = reference_grid()
    evolution = load_grid_evolution()
    x = evolution.x
    f0 = flavour_to_evolution(reference_pdf_at(x, evolution.q[0]).T).T / x  # (8, n_x) at Q0
    for name in args.datasets:
        data = load_dy_dataset(name)
        lo = dy_lo_predictions(data, grid.xfxq, photon=not args.no_photon)
        rows = np.flatnonzero(data.bins[:, 0] >= args.m_min)
        kept, theory = data.take(rows), lo[rows]
        inverse = np.linalg.inv(covariance(kept))
        k = (theory @ inverse @ kept.data) / (theory @ inverse @ theory)  # chi2-minimising
        residual = kept.data - k * theory
        chi2 = residual @ inverse @ residual
        ratio = kept.data / theory
        print(f"{name}: {len(rows)} of {len(data)} points above {args.m_min:g} GeV, data / LO = "
              f"{ratio.mean():.3f} (spread {ratio.std():.3f}); fitted K = {k:.3f}, "
              f"chi2 / N = {chi2 / len(rows):.2f}")  # fmt: skip
        fk, z, _ = dy_dataset_fk_table(data, evolution)
        quarks = (
            lo
            if not DY_DATASETS[name].photon_induced
            else dy_lo_predictions(data, grid.xfxq, photon=False)
        )  # the tables hold the quark terms; gamma gamma -> l l stays a fixed term
        through = dy_predict(fk, f0[:, np.isin(x, z)]) / quarks
        print(f"  through the FK tables / direct: {through.min():.4f} to {through.max():.4f}")
        masses, index = np.unique(data.bins[:, :2], axis=0, return_inverse=True)
        k = nlo_k_factors(grid.xfxq, masses, DY_DATASETS[name].sqrt_s)[index.ravel()]
        nlo = k * quarks + (lo - quarks)  # the photon term stays at LO
        for low, high in masses:
            rows = (data.bins[:, 0] == low) & (data.bins[:, 1] == high)
            ratios = " ".join(f"{r:.3f}" for r in data.data[rows] / lo[rows])
            at_nlo = " ".join(f"{r:.3f}" for r in data.data[rows] / nlo[rows])
            print(f"  m {low:.0f}-{high:.0f} GeV: data / LO {ratios}; data / NLO {at_nlo}")


if __name__ == "__main__":
    main()
