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
    save_evolution,
    save_fk_table,
    theory_card,
    x_grid,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(DATASETS))
    parser.add_argument("--nx", type=int, default=40, help="interpolation grid points")
    parser.add_argument("--no-evolution", action="store_true", help="skip the LHAPDF operators")
    args = parser.parse_args()
    theory, xgrid = theory_card(), x_grid(args.nx)
    for name in args.datasets:
        start = time.perf_counter()
        dataset = apply_cuts(load_dataset(name))
        path = save_fk_table(build_fk_table(dataset, xgrid, theory))
        print(f"{name}: {len(dataset)} points, {time.perf_counter() - start:.0f} s -> {path}")
    if not args.no_evolution:
        start = time.perf_counter()
        q = np.geomspace(1.65, 10_000.0, 25)
        path = save_evolution(build_evolution(xgrid, q, theory), FK_DIR)
        seconds = time.perf_counter() - start
        print(f"evolution for LHAPDF ({len(q)} scales): {seconds:.0f} s -> {path}")


if __name__ == "__main__":
    main()
