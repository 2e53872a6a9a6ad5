"""The reach of Drell-Yan on the seven e e q q Wilson coefficients, the PDF frozen at
NNPDF3.1 NLO: the Fisher information of the linear terms from DIS alone and from DIS +
Drell-Yan (its eigenvalues, and the least constrained direction), the 95% CL intervals one
coefficient at a time and all seven at once, and Lambda_CI = sqrt(4 pi / |C|) TeV; and the
linear K-factors of each Drell-Yan set at its lowest and highest mass (order of OPERATORS).

    python scripts/dy_smeft_fisher.py
    python scripts/dy_smeft_fisher.py --set dy_m_min=116
"""

from __future__ import annotations

import numpy as np

from obsforge.config_files import load_config
from obsforge.pdffit.data import DATASETS
from obsforge.pdffit.fit import frozen_pdf_terms, prepare_fit_data
from obsforge.pdffit.model import flavour_to_evolution
from obsforge.pdffit.reference import reference_grid, reference_pdf_at
from obsforge.pdffit.runcard import Q0, PDFRunCard, load_data
from obsforge.pdffit.smeft import OPERATORS, dataset_k_factors, scale_tev
from obsforge.scripting import report_errors, script_arguments

Z95 = 1.959964


def fisher(datasets, tables, kfactors, card) -> np.ndarray:
    """F (7, 7) = sum over correlated blocks of A^T C^-1 A, A = T0 K (NNPDF3.1 predictions)."""
    x = tables[0].x
    ref = flavour_to_evolution(reference_pdf_at(x, Q0).T).T / x
    t0 = [table.predict(ref[None])[0] for table in tables]
    data = prepare_fit_data(datasets, tables, 1, card.seed, t0_predictions=t0, fluctuate=False,
                            correlate=card.cross_correlations)  # fmt: skip
    data.kfactors = kfactors
    return sum(f for _, f, _ in frozen_pdf_terms(data, t0))


def main() -> None:
    args = script_arguments(__doc__, default_config="pdffit-dy-smeft")
    card = load_config(PDFRunCard, args.config, args.overrides)
    datasets, tables = load_data(card)
    dis = [i for i, d in enumerate(datasets) if d.name in DATASETS]
    kfactors = [k[0] for k in dataset_k_factors(datasets, reference_grid())]
    for d, k in zip(datasets, kfactors, strict=True):
        if d.spec.process == "DY":
            low, high = np.argmin(d.bins[:, 0]), np.argmax(d.bins[:, 1])
            print(f"{d.name}: linear K per unit C at {d.bins[low, 0]:g}-{d.bins[low, 1]:g} GeV "
                  + " ".join(f"{v:+.3f}" for v in k[low]) + f"; at {d.bins[high, 0]:g}-"
                  f"{d.bins[high, 1]:g} GeV " + " ".join(f"{v:+.2f}" for v in k[high]))  # fmt: skip
    columns = {
        "DIS": fisher([datasets[i] for i in dis], [tables[i] for i in dis],
                      [kfactors[i] for i in dis], card),
        "DIS + DY": fisher(datasets, tables, kfactors, card),
    }  # fmt: skip
    for label, f in columns.items():
        values, vectors = np.linalg.eigh(f)
        flat = vectors[:, 0] * np.sign(vectors[np.argmax(np.abs(vectors[:, 0])), 0])
        print(f"{label}: Fisher eigenvalues " + " ".join(f"{v:.3g}" for v in values))
        direction = " ".join(f"{c:+.2f} {op}" for c, op in zip(flat, OPERATORS, strict=True))
        print(f"  least constrained direction: {direction}")
        one = Z95 / np.sqrt(np.diag(f))
        every = Z95 * np.sqrt(np.diag(np.linalg.inv(f)))
        print(f"  {'':7s} {'one at a time':>14s} {'Lambda (TeV)':>12s} {'all seven':>10s}")
        for op, a, b in zip(OPERATORS, one, every, strict=True):
            print(f"  {op:7s} {'+-':>4s}{a:10.4f} {scale_tev(a):12.1f} {'+-':>3s}{b:7.3f}")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="dy_smeft_fisher"))
