"""VBF Higgs with the CP-odd operator c_HWtilde: classifier -> symbolic CP-odd formula.

    python scripts/extract_cp_observable.py --config cp          # 240k PYTHIA events
    python scripts/extract_cp_observable.py --config cp-demo     # a few minutes
    python scripts/extract_cp_observable.py --config cp --set symbolic.seed=3

The same arguments as ``obsforge cp-observable`` (this script is that command); see
docs/symbolic.md.
"""

from __future__ import annotations

import sys

from obsforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["cp-observable", *sys.argv[1:]]))
