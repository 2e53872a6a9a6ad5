"""Build the Drell-Yan FK tables of the fit into the cache (once; later fits read them):
the LO table from the shipped operators on the DIS tables' x grid, the NLO K-factor of each
bin and the photon-induced term. Prints the build time, the K-factors and NNPDF3.1 through the
table against the direct calculation (LO x K + gamma gamma).

    python scripts/build_dy_fk_tables.py
    python scripts/build_dy_fk_tables.py --datasets ATLAS_Z0_7TEV_49FB_HIMASS
"""

from __future__ import annotations

import argparse
import time

from obsforge.pdffit.dy_data import DY_DATASETS, dy_lo_predictions, load_dy_dataset
from obsforge.pdffit.dy_fktables import load_dy_fk_table
from obsforge.pdffit.fktables import load_fk_table
from obsforge.pdffit.model import flavour_to_evolution
from obsforge.pdffit.reference import reference_grid, reference_pdf_at
from obsforge.pdffit.runcard import Q0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(DY_DATASETS),
                        choices=sorted(DY_DATASETS))  # fmt: skip
    args = parser.parse_args()
    x = load_fk_table("HERA_NC_318GEV_EP", "FONLL-A").x  # the grid every shipped table shares
    f0 = flavour_to_evolution(reference_pdf_at(x, Q0).T).T / x  # (8, n_x)
    grid = reference_grid()
    for name in args.datasets:
        start = time.perf_counter()
        table = load_dy_fk_table(name, x)
        seconds = time.perf_counter() - start
        dataset = load_dy_dataset(name)
        direct = table.k_factor * dy_lo_predictions(dataset, grid.xfxq, photon=False)
        direct = direct + table.offset
        ratio = table.predict(f0[None])[0] / direct
        size = table.table.nbytes / 1e6
        k = table.k_factor
        print(f"{name}: {len(dataset)} points, {seconds:.0f} s, table {size:.0f} MB on "
              f"{table.table.shape[2]} x points; K_NLO {k.min():.3f}-{k.max():.3f}; NNPDF3.1 "
              f"through the table / direct {ratio.min():.4f}-{ratio.max():.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
