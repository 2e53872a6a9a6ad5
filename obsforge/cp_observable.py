"""The CP-observable study: VBF Higgs events -> classifier -> symbolic, provably CP-odd formula.

Stages: ``vbf-events`` (:mod:`obsforge.vbf_events`), then ``cp-observable``:

1. reco-level features (:mod:`obsforge.symbolic.features`) of the selected events, split into
   a training half and a test half (alternating events);
2. a torch classifier and a BDT trained on c = +1 vs c = -1 (weights w(c) = w_SM (1 + c R1 +
   c^2 R2));
3. symbolic regression of the classifier's antisymmetrised log-odds, [s(x) - s(CP x)] / 2, on
   the training half; every Pareto candidate is antisymmetrised again and its oddness proven
   with sympy;
4. the significance table on the test half: the same binned Asimov significance
   (:mod:`obsforge.symbolic.significance`) for every observable, at the stated luminosity.

After arXiv:2507.05858 (Bahl, Fuchs, Menen, Plehn).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from obsforge.atomic import atomic_torch_save, atomic_write_json, load_weights
from obsforge.config import Config, RunName, check_names
from obsforge.cp_report import plot_cp, report_lines
from obsforge.events.vbf import VBFConfig, event_weights, expected_events, fusion_ratio
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.symbolic.classifier import (
    BDTConfig,
    ClassifierConfig,
    CPClassifier,
    train_bdt,
    train_classifier,
)
from obsforge.symbolic.features import (
    DEFAULT_FEATURES,
    PARITY,
    compute_features,
    validate_features,
)
from obsforge.symbolic.regression import SymbolicConfig, distil, is_cp_odd
from obsforge.symbolic.tables import (
    antisymmetric_log_odds,
    observables_table,
    pareto_significance,
    significance_ratio,
    significance_table,
)
from obsforge.vbf_events import VBFSample, load_vbf_events, run_vbf_events

__all__ = [
    "CPStudy",
    "load_classifier",
    "report_lines",
    "expected_sm_events",
    "run_cp_observable",
    "study_sample",
]

log = logging.getLogger(__name__)

CP_VERSION = 3  # 2: significance of every Pareto formula; 3: timings in timing.json


class CPStudy(Config):
    """Configuration of the CP-observable study."""

    name: RunName = "cp"
    runs_dir: str = "runs"
    process: VBFConfig = VBFConfig()
    sample: VBFSample = VBFSample()
    features: list[str] = Field(list(DEFAULT_FEATURES), min_length=1)
    luminosity_fb: float = Field(300.0, gt=0, description="integrated luminosity in fb^-1")
    branching_ratio: float = Field(
        2.27e-3, gt=0, le=1, description="BR of the Higgs decay analysed (default H -> gamma gamma)"
    )
    bins: int = Field(20, ge=1, description="equal-SM-population bins of every observable")
    classifier: ClassifierConfig = ClassifierConfig()
    bdt: BDTConfig = BDTConfig()
    symbolic: SymbolicConfig = SymbolicConfig()

    @model_validator(mode="after")
    def _known_features(self) -> CPStudy:
        check_names("features", self.features, sorted(PARITY))
        if not any(PARITY[f] < 0 for f in self.features):
            raise ValueError(
                f"features = {self.features}: no CP-odd feature (e.g. 'dphi'); a CP-odd "
                "observable cannot be built from CP-even inputs"
            )
        return self


def _stage(study: CPStudy, upstream: StageResult) -> StageDir:
    key = study.model_copy(update={"name": "-", "runs_dir": "-"})
    return StageDir(
        study.runs_dir, study.name, "cp-observable", key, [upstream.stage.hash], CP_VERSION
    )


def run_cp_observable(study: CPStudy, execution: Execution | None = None) -> StageResult:
    """Run (or reuse) the whole study; the summary has the formula and the significances."""
    execution = execution or Execution()
    events_stage = run_vbf_events(
        study.process, study.sample, study.runs_dir, study.name, execution
    )
    stage = _stage(study, events_stage)
    if (done := stage.result()) is not None:
        return done
    stage.begin(
        seeds={"classifier": study.classifier.training.seed, "symbolic": study.symbolic.seed}
    )
    events, names, x, train_rows, test_rows = study_sample(study, events_stage)
    w_plus, w_minus = event_weights(events, 1.0), event_weights(events, -1.0)

    timings = {}
    start = time.perf_counter()
    model, history = train_classifier(
        x[train_rows],
        w_plus[train_rows],
        w_minus[train_rows],
        study.classifier,
        checkpoint=stage.path / "classifier-checkpoint.pt",
    )
    timings["classifier_s"] = time.perf_counter() - start
    stage.write("classifier.pt", lambda tmp: _save_torch(model, tmp))

    start = time.perf_counter()
    bdt = train_bdt(x[train_rows], w_plus[train_rows], w_minus[train_rows], study.bdt)
    timings["bdt_s"] = time.perf_counter() - start

    start = time.perf_counter()
    target = antisymmetric_log_odds(model, x[train_rows], names)
    formula = distil(x[train_rows], target, names, study.symbolic)
    timings["distillation_s"] = time.perf_counter() - start
    if not is_cp_odd(formula.expression, names):  # cannot happen by construction; never trust
        raise RuntimeError(f"formula {formula.expression} is not CP-odd")

    observables = observables_table(x, names, model, bdt, formula, events)
    n_sm = expected_sm_events(study, events_stage, events)
    table = significance_table(observables, events, test_rows, n_sm, study.bins)
    pareto_significance(formula, x, events, test_rows, n_sm, study.bins)
    numbers = events_stage.numbers
    validation = fusion_ratio(numbers["sigma_by_code_pb"], numbers["sm_correction_mean"])
    result: dict[str, Any] = {
        "features": names,
        "formula": formula.to_json(),
        "significance": table,
        "expected_sm_events": n_sm,
        "luminosity_fb": study.luminosity_fb,
        "branching_ratio": study.branching_ratio,
        "events": events_stage.numbers,
        "sm_validation": validation,
        "train_events": int(train_rows.sum()),
        "test_events": int(test_rows.sum()),
        "classifier_epochs": len(history),
        "classifier_best_val_loss": min(h["val_loss"] for h in history),
        "bdt_iterations": int(bdt.n_iter_),
    }
    # Wall-clock times vary from run to run: timing.json, outside the manifest.
    atomic_write_json(stage.path / "timing.json", timings)
    # Sorted keys: the events numbers come in another order when read back from a manifest.
    text = json.dumps(result, indent=1, sort_keys=True)
    stage.write("cp_observable.json", lambda tmp: tmp.write_text(text))
    plot_cp(observables, events, test_rows, formula, stage.path / "report")
    (stage.path / "classifier-checkpoint.pt").unlink(missing_ok=True)
    summary = {
        "formula": result["formula"]["expression"],
        "cp_odd_verified": result["formula"]["cp_odd_verified"],
        "significance_vs_sm": {row["observable"]: row["z_vs_sm"] for row in table},
        "formula_over_classifier": significance_ratio(table, "formula", "classifier"),
        "expected_sm_events": n_sm,
    }
    return stage.complete(["classifier.pt", "cp_observable.json"], summary)


def study_sample(study: CPStudy, events_stage: StageResult):
    """(events, feature names, features, training rows, test rows): alternate events."""
    events = load_vbf_events(events_stage)
    names = list(study.features)
    x = validate_features(
        compute_features(events["jets"], events["higgs"], study.process.m_h, names), names
    )
    train_rows = np.arange(len(x)) % 2 == 0
    return events, names, x, train_rows, ~train_rows


def load_classifier(study: CPStudy, result: StageResult):
    """The trained classifier of a finished cp-observable stage."""

    n = len(study.features)
    c = study.classifier
    model = CPClassifier(n, np.zeros(n), np.ones(n), c.hidden, c.layers)
    model.load_state_dict(load_weights(result.path / "classifier.pt"))
    return model.eval()


def _save_torch(model, path) -> None:
    atomic_torch_save(path, model.state_dict())


def expected_sm_events(study: CPStudy, events_stage: StageResult, events) -> float:
    """Expected SM events of the selected sample at the study's luminosity and BR."""
    n = events_stage.numbers
    return expected_events(
        events["sm_correction"], n["generated"], n["sigma_pythia_pb"], study.luminosity_fb,
        study.branching_ratio,
    )  # fmt: skip
