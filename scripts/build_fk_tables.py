"""Build the FK tables (yadism + eko) that obsforge's PDF fits read, and the evolution
operators for the LHAPDF output. Run once; the results ship in pdffit/fktables/.

    pip install -e '.[fktables]'
    python scripts/build_fk_tables.py                      # every dataset of pdffit.data
    python scripts/build_fk_tables.py --datasets SLAC_NC_NOTFIXED_P_F2 --nx 40

eko compiles its kernels with numba on first use (minutes, GBs of memory); later runs reuse
numba's cache. The theory is NNPDF theory 208 (NLO, alpha_s = 0.118, Q0 = 1.65 GeV) in the
ZM-VFNS without target-mass corrections (see pdffit/fktables.py).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from obsforge.pdffit.data import DATASETS, apply_cuts, load_dataset
from obsforge.pdffit.fktables import (
    FK_DIR,
    build_evolution,
    build_fk_table,
    build_operators,
    save_evolution,
    save_fk_table,
    theory_card,
    x_grid,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(DATASETS))
    parser.add_argument("--nx", type=int, default=30, help="interpolation grid points")
    parser.add_argument("--no-evolution", action="store_true", help="skip the LHAPDF operators")
    args = parser.parse_args()
    theory, xgrid = theory_card(), x_grid(args.nx)
    datasets = [apply_cuts(load_dataset(name)) for name in args.datasets]
    q_lhapdf = np.geomspace(1.65, 10_000.0, 20)
    q2 = np.concatenate([d.q2 for d in datasets] + [[] if args.no_evolution else q_lhapdf**2])
    start = time.perf_counter()
    evolution = build_operators(theory, xgrid, q2)
    print(f"eko: {len(set(np.round(q2, 8)))} scales in {time.perf_counter() - start:.0f} s")
    for dataset in datasets:
        start = time.perf_counter()
        path = save_fk_table(build_fk_table(dataset, xgrid, theory, evolution))
        seconds = time.perf_counter() - start
        print(f"{dataset.name}: {len(dataset)} points, {seconds:.0f} s -> {path}", flush=True)
    if not args.no_evolution:
        start = time.perf_counter()
        path = save_evolution(build_evolution(xgrid, q_lhapdf, theory, evolution), FK_DIR)
        seconds = time.perf_counter() - start
        print(f"evolution for LHAPDF ({len(q_lhapdf)} scales): {seconds:.0f} s -> {path}")


if __name__ == "__main__":
    main()
