"""NN PDF replica fit to DIS data (NNPDF-style runcard).

    python scripts/fit_pdf.py --config pdffit                  # obsforge/configs/pdffit.yaml
    python scripts/fit_pdf.py --config my_runcard.yaml --set replicas=10

The same arguments as ``obsforge pdffit`` (this script is that command). The FK tables must
have been built once with scripts/build_fk_tables.py (they ship in pdffit/fktables/).
"""

from __future__ import annotations

import sys

from obsforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["pdffit", *sys.argv[1:]]))
