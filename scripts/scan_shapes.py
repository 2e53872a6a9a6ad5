"""Run the shape scan end to end and print its headline numbers.

    python scripts/scan_shapes.py --config scan            # the 21 x 21 scan of docs/search.md
    python scripts/scan_shapes.py --config demo --workers 2
    python scripts/scan_shapes.py --config scan --set search.mode=per_shape --workers 2

Events -> EEEC -> surrogate -> NRE -> scan, every stage cached under runs/<name>/; the same
arguments as ``obsforge scan-shapes`` (this script is that command).
"""

from __future__ import annotations

import sys

from obsforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["scan-shapes", *sys.argv[1:]]))
