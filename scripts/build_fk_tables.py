"""Build the FK tables (yadism + eko) that obsforge's PDF fits read, and the evolution
operators for the LHAPDF output. Run once; the results ship in pdffit/fktables/<scheme>/.

    pip install -e '.[fktables]'
    python scripts/build_fk_tables.py                       # ZM-VFNS, every dataset
    python scripts/build_fk_tables.py --scheme FONLL-A --no-evolution --jobs 2
    python scripts/build_fk_tables.py --datasets SLAC_NC_NOTFIXED_P_F2 --nx 40
    python scripts/build_fk_tables.py --export               # only the LHAPDF export grid

eko compiles its kernels with numba on first use (minutes, GBs of memory); later runs reuse
numba's cache. The theory is NNPDF theory 208 (NLO, alpha_s = 0.118, Q0 = 1.65 GeV) in the
chosen heavy-quark scheme, without target-mass corrections (see pdffit/fktables.py). yadism
runs first, one (dataset, scheme term) per process; then one eko run covers every scale and
flavour number.
"""

from __future__ import annotations

import argparse
import logging
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from obsforge.pdffit.data import DATASETS, apply_cuts, load_dataset
from obsforge.pdffit.export import build_grid_evolution, save_grid_evolution
from obsforge.pdffit.fktables import (
    SCHEMES,
    build_operators,
    coefficients,
    combine_pieces,
    save_fk_table,
    theory_card,
    x_grid,
)


def _coefficients(task):
    name, piece, nx, scheme = task
    logging.disable(logging.CRITICAL)  # yadism's "NaNs are encountered" is spurious
    start = time.perf_counter()
    dataset = apply_cuts(load_dataset(name))
    out = coefficients(dataset, x_grid(nx), theory_card(scheme), SCHEMES[scheme][piece])
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(DATASETS))
    parser.add_argument("--scheme", choices=sorted(SCHEMES), default="ZM-VFNS")
    parser.add_argument("--nx", type=int, default=30, help="interpolation grid points")
    parser.add_argument("--jobs", type=int, default=2, help="parallel yadism processes")
    parser.add_argument(
        "--no-evolution", action="store_true", help="skip the operators of the LHAPDF export"
    )
    parser.add_argument(
        "--export", action="store_true", help="only the operators of the LHAPDF export grid"
    )
    args = parser.parse_args()
    if not args.export:
        build_tables(args)
    if args.export or not args.no_evolution:
        start = time.perf_counter()
        evolution = build_grid_evolution()
        path = save_grid_evolution(evolution)
        seconds = time.perf_counter() - start
        print(f"export grid: {len(evolution.q)} scales x {len(evolution.x)} x in {seconds:.0f} s"
              f" -> {path} ({path.stat().st_size / 1e6:.1f} MB)")  # fmt: skip


def build_tables(args) -> None:
    """yadism for every (dataset, scheme term), then one eko run for all their scales."""
    theory, xgrid = theory_card(args.scheme), x_grid(args.nx)
    datasets = [apply_cuts(load_dataset(name)) for name in args.datasets]
    n_pieces = len(SCHEMES[args.scheme])
    tasks = [(d.name, k, args.nx, args.scheme) for d in datasets for k in range(n_pieces)]
    pieces: dict[str, list] = {d.name: [None] * n_pieces for d in datasets}
    with ProcessPoolExecutor(args.jobs) as pool:
        results = pool.map(_coefficients, tasks)
        for (name, k, _, _), (out, seconds) in zip(tasks, results, strict=True):
            pieces[name][k] = out
            print(f"yadism {name} term {k + 1}/{n_pieces}: {seconds:.0f} s", flush=True)
    start = time.perf_counter()
    evolution = build_operators(theory, xgrid, np.concatenate([d.q2 for d in datasets]))
    print(f"eko: {len(evolution[0])} (scale, nf) in {time.perf_counter() - start:.0f} s")
    for dataset in datasets:
        table = combine_pieces(dataset, xgrid, theory, pieces[dataset.name], evolution)
        print(f"{dataset.name}: {len(dataset)} points -> {save_fk_table(table)}", flush=True)


if __name__ == "__main__":
    main()
