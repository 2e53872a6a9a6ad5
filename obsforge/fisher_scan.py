"""The surrogate-free Fisher ranking of EEEC shapes (stage ``fisher``).

Reads the shape moments of a streamed sample (:mod:`obsforge.top_stream`) and ranks every
shape by its per-jet Fisher information on m_top at m0
(:func:`~obsforge.search.fisher.fisher_ranking`), with a bootstrap over jets; optionally fits
a second sample generated with other PYTHIA settings (a tune) with the nominal mean curves: the
mass shift of the best shapes in units of their statistical width (the robustness column).
Writes ``fisher.json`` and the plots of :mod:`obsforge.fisher_report`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from obsforge.config import Config, Count
from obsforge.events.pythia import check_settings
from obsforge.fisher_report import plot_fisher
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.search.fisher import FisherRanking, fisher_ranking, mass_shift
from obsforge.stream_files import load_moments
from obsforge.top_stream import StreamStudy, run_stream

__all__ = ["FisherSettings", "FisherStudy", "run_fisher"]

FISHER_VERSION = 2  # 2: the mass shift's error includes that of the fitted mean curve


class Robustness(Config):
    """A second sample at m0 with other PYTHIA settings, fitted with the nominal curves."""

    pythia: Annotated[list[str], AfterValidator(check_settings)] = Field(
        ..., min_length=1, description="e.g. ['Tune:ee = 3']"
    )
    events: Count = Field(10_000, description="events at m0")
    chunk_size: Count = Field(5000)


class FisherSettings(Config):
    """The ``fisher`` section."""

    m0: float = Field(172.5, description="m_top at which the information is evaluated (GeV)")
    bandwidth: float = Field(6.0, gt=0, description="half-width of the local fit in m_top (GeV)")
    degree: int = Field(1, ge=1, le=4, description="degree of the local polynomial")
    fit_variations: list[tuple[float, int]] = Field(
        [(3.0, 2), (10.01, 1), (10.01, 2)],
        description="other (bandwidth, degree) of the mean fit, for its systematic uncertainty",
    )
    n_bins: int = Field(12, ge=2, le=32, description="zeta1 bins per shape (merged fine bins)")
    coverage: float = Field(0.98, gt=0, le=1, description="central part of each marginal")
    n_jets: Count = Field(5000, description="jets of the quoted widths")
    target_half_width: float = Field(0.31, gt=0, description="GeV; the published +- width")
    named: list[tuple[float, float]] = Field(
        [(1.0, 1.0), (1.0, 2.0), (1.02, 1.99), (1.0, 1.3)],
        description="shapes quoted by name; the third is the published optimum",
    )
    bootstrap: int = Field(200, ge=10, le=100_000)
    seed: int = Field(0, ge=0)
    robustness: Robustness | None = None


class FisherStudy(StreamStudy):
    """A streamed sample with a ``fisher`` section."""

    fisher: FisherSettings = FisherSettings()

    @model_validator(mode="after")
    def _inside(self) -> FisherStudy:
        masses = self.top_jets.masses
        if not min(masses) <= self.fisher.m0 <= max(masses):
            raise ValueError(
                f"fisher.m0 = {self.fisher.m0}: must lie in the generated masses "
                f"[{min(masses)}, {max(masses)}]"
            )
        known = {(round(s.n1, 9), round(s.n2, 9)) for s in self.stream.shape_list()}
        for n1, n2 in self.fisher.named:
            if (round(n1, 9), round(n2, 9)) not in known:
                raise ValueError(
                    f"fisher.named: shape ({n1:g}, {n2:g}) gets no moments; allowed: shapes of "
                    "stream.shapes or stream.patches"
                )
        return self

    def robustness_study(self) -> StreamStudy:
        rob = self.fisher.robustness
        top = self.top_jets.model_copy(
            update={"masses": [self.fisher.m0], "events_per_mass": rob.events,
                    "chunk_size": rob.chunk_size, "seed": self.top_jets.seed + 1}
        )  # fmt: skip
        fields = set(StreamStudy.model_fields) - {"top_jets", "pythia"}
        return StreamStudy(**self.model_dump(include=fields), top_jets=top, pythia=rob.pythia)


def run_fisher(study: FisherStudy, execution: Execution | None = None) -> StageResult:
    """Rank every shape of the streamed sample by its Fisher information; plots and JSON."""
    stream = run_stream(StreamStudy(**study.model_dump(exclude={"fisher"})), execution)
    upstream = [stream.stage.hash]
    alternative = None
    if study.fisher.robustness is not None:
        alternative = run_stream(study.robustness_study(), execution)
        upstream.append(alternative.stage.hash)
    stage = StageDir(study.runs_dir, study.name, "fisher", study.fisher, upstream, FISHER_VERSION)
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"bootstrap": study.fisher.seed})
    settings = study.fisher
    masses, moments = load_moments(stream)
    ranking = fisher_ranking(
        masses,
        moments,
        np.array(stream.numbers["shapes"]),
        settings.m0,
        settings.bandwidth,
        settings.degree,
        settings.n_bins,
        settings.coverage,
        settings.bootstrap,
        settings.seed,
    )
    result = _result(ranking, settings, masses, moments)
    result["fit_variations"] = [
        _variation(masses, moments, ranking, settings, bandwidth, degree)
        for bandwidth, degree in settings.fit_variations
    ]
    if alternative is not None:
        _, (alt,) = load_moments(alternative)
        picks = [ranking.best()] + [ranking.index(*s) for s in settings.named]
        shift, error = mass_shift(ranking, alt, picks)
        result["robustness"] = {
            "pythia": settings.robustness.pythia,
            "n_jets": int(alt.n_jets.sum()),
            "shapes": [ranking.shapes[i].tolist() for i in picks],
            "shift_gev": shift.tolist(),
            "shift_error_gev": error.tolist(),
            "shift_over_sigma": (shift / error).tolist(),
        }
    stage.write("fisher.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    plot_fisher(result, ranking, masses, moments, stage.path / "report")
    keys = ("best", "named", "n_jets", "m0", "bandwidth", "degree", "best_bootstrap",
            "fit_variations", "robustness")  # fmt: skip
    return stage.complete(["fisher.json"], {k: result[k] for k in keys if k in result})


def _variation(masses, moments, nominal, settings, bandwidth, degree) -> dict[str, Any]:
    """Best shape and the named shapes' widths with another fit of the mean curves."""
    other = fisher_ranking(
        masses, moments, nominal.shapes, settings.m0, bandwidth, degree, settings.n_bins,
        settings.coverage, n_bootstrap=0,
    )  # fmt: skip
    widths = other.half_width(settings.n_jets)
    return {
        "bandwidth": bandwidth,
        "degree": degree,
        "best": other.shapes[other.best()].tolist(),
        "best_half_width": float(widths[other.best()]),
        "named_half_width": [float(widths[other.index(*s)]) for s in settings.named],
    }


def _result(ranking: FisherRanking, settings: FisherSettings, masses, moments) -> dict[str, Any]:
    n = settings.n_jets
    n_target = ranking.jets_for(settings.target_half_width, ranking.index(*settings.named[2]))
    low, high = ranking.half_width_interval(n)
    return {
        "m0": settings.m0,
        "bandwidth": settings.bandwidth,
        "degree": settings.degree,
        "n_jets": n,
        "masses": [float(masses.min()), float(masses.max()), len(masses)],
        "jets_per_mass": [int(m.n_jets.sum()) for m in moments],
        "target_half_width": settings.target_half_width,
        "jets_for_target": float(n_target),
        "shapes": ranking.shapes.tolist(),
        "info_per_jet": ranking.info.tolist(),
        "half_width": ranking.half_width(n).tolist(),
        "half_width_68": [low.tolist(), high.tolist()],
        "best": ranking.shape_row(ranking.best(), n, n_target),
        "best_bootstrap": ranking.bootstrap_optimum(),
        "named": [ranking.shape_row(ranking.index(*s), n, n_target) for s in settings.named],
    }
