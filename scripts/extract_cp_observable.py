"""VBF Higgs with the CP-odd operator c_HWtilde: classifier -> symbolic CP-odd formula.

    python scripts/extract_cp_observable.py --config cp          # 240k PYTHIA events
    python scripts/extract_cp_observable.py --config cp-demo     # a few minutes
    python scripts/extract_cp_observable.py --config cp --set symbolic.seed=3

The same stage as ``obsforge cp-observable`` (see docs/symbolic.md), then the formula's
significance against the classifier it was distilled from.
"""

from __future__ import annotations

from obsforge.config_files import load_config
from obsforge.cp_observable import CPStudy, run_cp_observable
from obsforge.scripting import execution, report_errors, script_arguments


def main() -> None:
    args = script_arguments(__doc__, default_config="cp")
    result = run_cp_observable(load_config(CPStudy, args.config, args.overrides), execution(args))
    print("\n".join(result.summary()))
    numbers = result.numbers
    print(f"{numbers['formula']}: {numbers['formula_over_classifier']:.3f} of the classifier's Z")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="extract_cp_observable"))
