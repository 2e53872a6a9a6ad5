"""Run the shape scan end to end and print its headline numbers.

    python scripts/scan_shapes.py --config scan            # the 21 x 21 scan of docs/search.md
    python scripts/scan_shapes.py --config demo --workers 2
    python scripts/scan_shapes.py --config scan --set search.mode=per_shape --workers 2

Events -> EEEC -> surrogate -> NRE -> scan, every stage cached under runs/<name>/ (the same
stages as ``obsforge scan-shapes``), then the widths along n1 = 1, NRE next to the exact
likelihood: a starting point for a study of your own.
"""

from __future__ import annotations

import json

from obsforge.config_files import load_config
from obsforge.scripting import execution, report_errors, script_arguments
from obsforge.shape_scan import ScanStudy, run_scan


def main() -> None:
    args = script_arguments(__doc__, default_config="scan")
    result = run_scan(load_config(ScanStudy, args.config, args.overrides), execution(args))
    print("\n".join(result.summary()))
    scan = json.loads((result.path / "scan.json").read_text())
    widths = scan["hpd95_width"]
    print("along n1 = 1 (95% HPD half-widths, GeV):  n2   NRE   exact")
    rows = sorted((n2, i) for i, (n1, n2, _) in enumerate(scan["shapes"]) if n1 == 1.0)
    for n2, i in rows:
        print(f"{n2:>43.2f} {widths['nre'][i] / 2:5.2f} {widths['exact'][i] / 2:7.2f}")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="scan_shapes"))
