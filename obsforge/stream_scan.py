"""The shape scan at the reference's scale (stages ``search-data-stream`` and ``scan``).

After ``density-stream`` (:mod:`obsforge.stream_density`): the tables of every streamed shape
(the 21 x 21 grid and the fine patches) from the moments and the surrogate
(:func:`~obsforge.search.stream_data.stream_search_data`), then the ``scan`` stage of
:mod:`obsforge.shape_scan` on them -- amortised NRE with the surrogate (its ensemble spread in
the simulator), the exact likelihood of the same pseudo-experiments, and the exact likelihood
of PYTHIA's own smoothed expectation (no surrogate at all), each with the bootstrap of its best
shape; coverage; the mass fit of all jets of each held-out mass.

Reference: arXiv:2508.10988 (best shape (1.02, 1.99), m_top = 172.4 +- 0.31 GeV).
"""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from obsforge.config import Config
from obsforge.density.calibration import model_error_floor
from obsforge.observables.eeec_stream import FINE_EDGES
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.search.scan import SearchSettings, shape_position
from obsforge.search.stream_data import stream_search_data
from obsforge.shape_scan import scan_stage
from obsforge.stream_density import StreamDensityStudy, run_stream_density
from obsforge.stream_files import load_moments
from obsforge.top_stream import StreamStudy, run_stream

__all__ = ["StreamScanSettings", "StreamScanStudy", "run_stream_scan"]

VERSION = 1
MASSES_PER_CHUNK = 6  # of the surrogate's mass grid: one resumable task each


class StreamScanSettings(SearchSettings):
    """The ``search`` section of a streamed study: the shapes are the stream's (``shapes`` is
    not read); ``surrogate_samples`` are the proposal points of the expectations."""

    surrogate_samples: int = Field(5_000_000, ge=10_000, le=10**9, description="per mass")
    mean_bandwidth: float = Field(
        6.0, gt=0, description="GeV; half-width of the local fit of PYTHIA's mean curves"
    )
    mean_degree: int = Field(1, ge=1, le=4, description="degree of that local polynomial")
    model_floor: float | Literal["auto"] = Field(
        0.0,
        description="relative model error added to the surrogate's covariance (>= 0); 'auto': "
        "the floor fitted on the trained masses' test jets (density.calibration)",
        json_schema_extra={"added": True},
    )

    @field_validator("model_floor")
    @classmethod
    def _floor(cls, value: float | str) -> float | str:
        if value != "auto" and not (np.isfinite(value) and 0 <= value < 1):
            raise ValueError("must be 'auto' or a fraction in [0, 1)")
        return value


class StreamScanStudy(StreamDensityStudy):
    """A streamed sample with ``density`` and ``search`` sections."""

    search: StreamScanSettings = StreamScanSettings()

    @model_validator(mode="after")
    def _search(self) -> StreamScanStudy:
        shapes = self.stream.shape_list()
        for n1, n2 in self.search.reference_shapes:
            try:
                shape_position(shapes, n1, n2)
            except ValueError:
                raise ValueError(
                    f"search.reference_shapes: ({n1:g}, {n2:g}) is not a streamed shape "
                    "(stream.shapes / stream.patches)"
                ) from None
        self.prior()
        return self

    def prior(self) -> tuple[float, float]:
        return self.search.prior_range(self.training_masses())


class _DataConfig(Config):
    n_bins: int
    bin_coverage: float
    prior: tuple[float, float]
    mean_step: float
    surrogate_samples: int
    mean_bandwidth: float
    mean_degree: int
    reference_shapes: list[tuple[float, float]]
    model_floor: float = Field(0.0, json_schema_extra={"added": True})


def run_stream_scan(study: StreamScanStudy, execution: Execution | None = None) -> StageResult:
    """Stream, train and test the surrogate (or reuse them), build the tables, then scan."""
    execution = execution or Execution()
    density = run_stream_density(
        StreamDensityStudy(**study.model_dump(exclude={"search"})), execution
    )
    stream = run_stream(StreamStudy(**study.model_dump(exclude={"density", "search"})), execution)
    settings, prior = study.search, study.prior()
    fields = set(_DataConfig.model_fields) - {"prior", "model_floor"}
    floor = settings.model_floor
    if floor == "auto":
        floor = model_error_floor([r for r in _closure_rows(density) if r["role"] == "trained"])[
            "floor"
        ]
    config = _DataConfig(prior=prior, model_floor=floor, **settings.model_dump(include=fields))
    stage = StageDir(
        study.runs_dir,
        study.name,
        "search-data-stream",
        config,
        [stream.stage.hash, density.stage.hash],
        VERSION,
    )
    if (data := stage.result()) is None:
        data = _search_data(study, stage, stream, density, config.model_floor, execution)
    return scan_stage(study.runs_dir, study.name, settings, prior, data, execution)


def _closure_rows(density: StageResult) -> list[dict]:
    return json.loads((density.path / "closure.json").read_text())


def _search_data(
    study: StreamScanStudy,
    stage: StageDir,
    stream: StageResult,
    density: StageResult,
    floor: float,
    execution: Execution,
) -> StageResult:
    stage.begin(seeds={"surrogate_samples": 0})
    settings, (low, high) = study.search, study.prior()
    shapes = study.stream.shape_list()
    masses, moments = load_moments(stream)
    grid = np.linspace(low, high, int(round((high - low) / settings.mean_step)) + 1)
    references = [shape_position(shapes, n1, n2) for n1, n2 in settings.reference_shapes]
    # the surrogate's fractions in chunks of the mass grid (same proposal, same numbers as
    # one call), each kept on disk: a rerun computes only the chunks it lacks
    parts = np.array_split(grid, -(-len(grid) // MASSES_PER_CHUNK))
    tasks = [
        {"model": str(density.path / "model.pt"), "shapes": shapes, "masses": part,
         "n_samples": settings.surrogate_samples, "chunk": c}
        for c, part in enumerate(parts)
    ]  # fmt: skip
    names = [[f"fractions-{c:03d}.npz", f"fractions-{c:03d}.json"] for c in range(len(parts))]
    stage.run_chunks(_fractions_chunk, tasks, names, execution, "surrogate fractions")
    loaded = [dict(np.load(stage.output_path(npz))) for npz, _ in names]  # read, then closed
    fractions = tuple(np.concatenate([c[k] for c in loaded]) for k in ("fractions", "variances"))
    arrays = stream_search_data(
        fractions,
        shapes,
        masses,
        moments,
        grid,
        study.density.holdout_masses,
        references,
        settings.n_bins,
        settings.bin_coverage,
        settings.mean_bandwidth,
        settings.mean_degree,
        floor,
    )
    stage.write("search_data.npz", lambda tmp: np.savez(tmp, **arrays))
    spread = np.sqrt(np.diagonal(arrays["model_cov"], axis1=2, axis2=3))
    jet = np.sqrt(np.diagonal(arrays["jet_cov"], axis1=2, axis2=3) / settings.n_jets)
    summary = {
        "n_shapes": len(shapes),
        "mean_masses": len(grid),
        "surrogate": density.stage.hash,
        "model_floor": floor,
        "model_over_data_sigma_median": float(np.median(spread / jet)),
        "surrogate_minus_pythia_over_data_sigma_rms": float(
            np.sqrt(np.mean(((arrays["means"] - arrays["pythia_means"]) / jet) ** 2))
        ),
    }
    return stage.complete(["search_data.npz", *(name for pair in names for name in pair)], summary)


def _fractions_chunk(
    stage: StageDir, model: str, shapes: list, masses: np.ndarray, n_samples: int, chunk: int
) -> dict:
    """The surrogate's fine-bin fractions and variances at the masses of one chunk."""
    from obsforge.density.surrogate import EEECSurrogate

    surrogate = EEECSurrogate.load(model)
    fractions, variances = surrogate.shape_fractions(shapes, masses, FINE_EDGES, n_samples, 0)
    stem = f"fractions-{chunk:03d}"
    stage.write(f"{stem}.npz", lambda tmp: np.savez(tmp, fractions=fractions, variances=variances))
    summary = {"chunk": chunk, "masses": np.asarray(masses).tolist()}
    stage.write(f"{stem}.json", lambda tmp: tmp.write_text(json.dumps(summary)))
    return summary
