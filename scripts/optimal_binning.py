"""e+e- -> WW optimal observables, Fisher information and binnings, end to end.

    python scripts/optimal_binning.py --config ww240
    python scripts/optimal_binning.py --config ww240 --set events=100000000 --workers 2

The same arguments as ``obsforge binning`` (this script is that command); see
docs/ww_binning.md.
"""

from __future__ import annotations

import sys

from obsforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["binning", *sys.argv[1:]]))
