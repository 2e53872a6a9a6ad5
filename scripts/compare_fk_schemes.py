"""NNPDF3.1 NLO (shipped with pythia8mc) through the ZM-VFNS and FONLL-A FK tables: chi2/N per
dataset, the total with block-diagonal and with cross-dataset-correlated covariances, and the
FONLL-A / ZM-VFNS ratio of the predictions in bins of Q^2.

    python scripts/compare_fk_schemes.py
"""

from __future__ import annotations

import numpy as np

from obsforge.pdffit.data import DATASETS, apply_cuts, correlated_groups, covariance, load_dataset
from obsforge.pdffit.fktables import load_fk_table
from obsforge.pdffit.model import flavour_to_evolution
from obsforge.pdffit.reference import reference_pdf_at

SCHEMES = ("ZM-VFNS", "FONLL-A")


def _chi2(datasets, predictions) -> float:
    residual = np.concatenate(predictions) - np.concatenate([d.data for d in datasets])
    return float(residual @ np.linalg.solve(covariance(datasets), residual))


def main() -> None:
    names = list(DATASETS)
    data = [apply_cuts(load_dataset(n)) for n in names]
    preds = {}
    for scheme in SCHEMES:
        tables = [load_fk_table(n, scheme) for n in names]
        f = flavour_to_evolution(reference_pdf_at(tables[0].x, 1.65).T).T / tables[0].x
        preds[scheme] = [t.predict(f[None])[0] for t in tables]
    print("| dataset | N | " + " | ".join(SCHEMES) + " |\n|---|---|---|---|")
    for i, d in enumerate(data):
        values = " | ".join(f"{_chi2([d], [preds[s][i]]) / len(d):.3f}" for s in SCHEMES)
        print(f"| {d.name} | {len(d)} | {values} |")
    n = sum(map(len, data))
    for label, groups in (
        ("block-diagonal", [[i] for i in range(len(data))]),
        ("correlated", correlated_groups(data)),
    ):
        totals = [
            sum(_chi2([data[i] for i in g], [preds[s][i] for i in g]) for g in groups) / n
            for s in SCHEMES
        ]
        print(f"| total, {label} | {n} | " + " | ".join(f"{v:.3f}" for v in totals) + " |")
    q2 = np.concatenate([d.q2 for d in data])
    ratio = np.concatenate(preds["FONLL-A"]) / np.concatenate(preds["ZM-VFNS"])
    for lo, hi in ((3.49, 10), (10, 30), (30, 100), (100, 1000), (1000, 1e5)):
        m = (q2 > lo) & (q2 <= hi)
        print(
            f"Q^2 in ({lo:g}, {hi:g}] GeV^2: {m.sum()} points, FONLL-A / ZM-VFNS mean "
            f"{ratio[m].mean():.4f}, range [{ratio[m].min():.4f}, {ratio[m].max():.4f}]"
        )


if __name__ == "__main__":
    main()
