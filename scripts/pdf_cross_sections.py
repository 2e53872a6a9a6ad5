"""sigma(p p -> Z/gamma* -> l l, 60-120 GeV) and sigma(t tbar) at 13 TeV in PYTHIA 8 with an
exported PDF set, against NNPDF3.1 NLO read the same way: member 0 and the replica spread.

    python scripts/pdf_cross_sections.py --set runs/pdffit/pdffit-<hash>/pdffit
    python scripts/pdf_cross_sections.py --set FOLDER --replicas 20 --events 20000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from obsforge.pdffit.collider import PROCESSES, pythia_cross_section
from obsforge.pdffit.reference import reference_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", required=True, type=Path, help="the LHAPDF set folder")
    parser.add_argument("--replicas", type=int, default=20, help="replicas for the spread")
    parser.add_argument("--events", type=int, default=20_000, help="events per cross section")
    args = parser.parse_args()
    members = sorted(args.set.glob(f"{args.set.name}_*.dat"))
    if not members:
        raise SystemExit(f"--set {args.set}: no member files {args.set.name}_NNNN.dat there")
    print(f"{'process':<7} {'NNPDF3.1 [pb]':>16} {'ours [pb]':>16} {'ratio':>15} "
          f"{'replica spread':>15}")  # fmt: skip
    for process in PROCESSES:
        ref, ref_err = pythia_cross_section(reference_file(), process, args.events)
        ours, ours_err = pythia_cross_section(members[0], process, args.events)
        ratio = ours / ref
        ratio_err = ratio * np.hypot(ours_err / ours, ref_err / ref)
        spread = [pythia_cross_section(m, process, args.events)[0] / ref
                  for m in members[1 : args.replicas + 1]]  # fmt: skip
        print(f"{process:<7} {ref:9.4g} +- {ref_err:<5.2g} {ours:9.4g} +- {ours_err:<5.2g} "
              f"{ratio:7.4f} +- {ratio_err:.4f} {np.std(spread):9.4f} ({len(spread)})",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
