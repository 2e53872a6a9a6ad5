"""Distillation time and stability across seeds: Operon on the classifier of a cp-observable run.

Reads a finished ``obsforge cp-observable`` run (the classifier and the events; it runs the study
first if needed), then repeats the symbolic distillation with ``--seeds``. For each seed: the
wall time on this machine (Operon with ``symbolic.threads`` threads), the chosen formula, its
fidelity R^2 with the antisymmetrised classifier, and its significance relative to the
classifier's on the test half (the table's definition). The reference in the same run is the
classifier's own training time (PySR, the other backend, needs Julia, which cannot be installed
here). Result: benchmarks/results/distillation.json.

    python benchmarks/bench_distillation.py --config cp --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from obsforge.atomic import atomic_write_json
from obsforge.config_files import load_config
from obsforge.cp_observable import (
    CPStudy,
    expected_sm_events,
    load_classifier,
    run_cp_observable,
    study_sample,
)
from obsforge.events.vbf import event_weights
from obsforge.symbolic.regression import distil, is_cp_odd
from obsforge.symbolic.significance import asimov_significance
from obsforge.symbolic.tables import antisymmetric_log_odds
from obsforge.vbf_events import run_vbf_events

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="cp")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    study = load_config(CPStudy, args.config, args.overrides)
    result = run_cp_observable(study)
    timing = json.loads((result.path / "timing.json").read_text())
    events_stage = run_vbf_events(study.process, study.sample, study.runs_dir, study.name, None)
    events, names, x, train, test = study_sample(study, events_stage)
    model = load_classifier(study, result)
    target = antisymmetric_log_odds(model, x[train], names)
    n_sm = expected_sm_events(study, events_stage, events)
    w_sm, w_one = event_weights(events, 0.0)[test], event_weights(events, 1.0)[test]

    def z(values):
        return asimov_significance(values[test], w_sm, w_one, n_sm, study.bins)

    z_classifier = z(model.log_odds(x))
    rows = []
    for seed in args.seeds:
        config = study.symbolic.model_copy(update={"seed": seed})
        start = time.perf_counter()
        formula = distil(x[train], target, names, config)
        seconds = time.perf_counter() - start
        chosen = next(p for p in formula.pareto if p["expression"] == str(formula.expression))
        rows.append(
            {
                "seed": seed,
                "seconds": seconds,
                "formula": str(formula.expression),
                "complexity": chosen["complexity"],
                "r2": chosen["r2"],
                "cp_odd_verified": is_cp_odd(formula.expression, names),
                "z_over_classifier": z(formula(x)) / z_classifier,
            }
        )
        print(json.dumps(rows[-1]))
    output = {
        "config": args.config,
        "symbolic": study.symbolic.model_dump(),
        "classifier_training_s": timing["classifier_s"],
        "z_classifier": z_classifier,
        "runs": rows,
    }
    atomic_write_json(RESULTS / "distillation.json", output)


if __name__ == "__main__":
    main()
