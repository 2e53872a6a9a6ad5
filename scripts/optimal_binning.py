"""e+e- -> WW optimal observables, Fisher information and binnings, end to end.

    python scripts/optimal_binning.py --config ww240
    python scripts/optimal_binning.py --config ww240 --set events=100000000 --workers 2

The same stage as ``obsforge binning`` (see docs/ww_binning.md), then the information each
binning keeps with its largest number of cells.
"""

from __future__ import annotations

from obsforge.config_files import load_config
from obsforge.scripting import execution, report_errors, script_arguments
from obsforge.ww_binning import WWStudy, run_ww_fisher


def main() -> None:
    args = script_arguments(__doc__, default_config="ww240")
    result = run_ww_fisher(load_config(WWStudy, args.config, args.overrides), execution(args))
    print("\n".join(result.summary()))
    for method, retained in result.numbers["retained"].items():
        cells, fraction = max(retained.items(), key=lambda item: int(item[0]))
        print(f"{method:>10}: {fraction:.4f} of the information with {cells} cells")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="optimal_binning"))
