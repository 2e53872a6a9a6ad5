"""The EEEC surrogate at the reference's scale (stage ``density-stream``).

Trains the flow or MLP of :mod:`obsforge.density` on the importance-subsampled triplets of a
streamed sample (:mod:`obsforge.top_stream`, e.g. 101 masses of 10,000 jets), the context m_top
continuous over the trained masses, and tests it against the streamed moments, which hold
every triplet of the test jets: all jets of each held-out mass, and the test split of the
trained masses named in ``closure_masses`` (the split's hash is the one of the stream's jet
groups, so the test jets are whole groups). Per (mass, shape): chi2 over equal-content zeta1
bins (merged fine bins) and the pulls (PYTHIA - surrogate) / sigma_total, whose mean and width
over all held-out cells are the calibration of the surrogate's uncertainty. At each held-out
mass every shape's zeta1 histogram of all its jets is also fitted for m_top with the
surrogate as the model (:func:`~obsforge.density.closure.mass_fit`): the pulls of the fitted
masses say whether the surrogate, used as a simulator, biases a measurement.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from obsforge.config import Config
from obsforge.density.closure import binned_closure, mass_fit, mass_fit_pulls, pull_summary
from obsforge.density.data import stream_training_arrays
from obsforge.density.settings import DensitySettings
from obsforge.density.surrogate import train_surrogate
from obsforge.eeec_density import finish_density
from obsforge.observables.eeec_stream import FINE_EDGES
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.search.moments import group_histograms
from obsforge.stream_files import load_moments, load_sample
from obsforge.top_stream import StreamStudy, run_stream

__all__ = ["StreamDensitySettings", "StreamDensityStudy", "run_stream_density"]

VERSION = 1


class StreamDensitySettings(DensitySettings):
    """The ``density`` section of a streamed study."""

    closure_masses: list[float] | None = Field(
        None, description="trained masses tested on their test jets (default: the central one)"
    )
    coverage: float = Field(0.98, gt=0, le=1, description="central part of each marginal")
    fit_half_width: float = Field(2.0, gt=0, le=5, description="GeV; mass-fit grid m +- this")
    fit_steps: int = Field(9, ge=5, le=201, description="masses of the mass-fit grid")
    fit_samples: int = Field(
        2_000_000, ge=10_000, le=10**9, description="proposal points of the mass fits"
    )


class StreamDensityStudy(StreamStudy):
    """A streamed sample with a ``density`` section."""

    density: StreamDensitySettings = StreamDensitySettings()

    @model_validator(mode="after")
    def _consistent(self) -> StreamDensityStudy:
        d, s = self.density, self.stream
        if not d.energy_weighted:
            raise ValueError(
                "density.energy_weighted = false: a streamed sample is energy-weighted"
            )
        generated = set(self.top_jets.masses)
        for name in ("holdout_masses", "train_masses", "closure_masses"):
            masses = set(getattr(d, name) or [])
            if not masses <= generated:
                raise ValueError(
                    f"density.{name} = {sorted(masses - generated)}: not generated masses"
                )
        if set(d.closure_masses or []) & set(d.holdout_masses):
            raise ValueError("density.closure_masses: trained masses only (hold-outs are tested)")
        if set(self.training_masses()) & set(d.holdout_masses) or len(self.training_masses()) < 2:
            raise ValueError("density: need >= 2 training masses, none of them held out")
        if d.sample.seed != s.group_seed or abs(d.sample.test_fraction * s.groups % 1) > 1e-9:
            raise ValueError(
                f"density.sample: seed {d.sample.seed} and test_fraction "
                f"{d.sample.test_fraction} must make the test jets whole jet groups "
                f"(stream.group_seed = {s.group_seed}, stream.groups = {s.groups})"
            )
        known = {(round(t.n1, 9), round(t.n2, 9)) for t in s.shape_list()}
        for n1, n2 in d.closure.shapes:
            if (round(n1, 9), round(n2, 9)) not in known or d.closure.delta != s.shapes.delta:
                raise ValueError(
                    f"density.closure: shape ({n1:g}, {n2:g}) with delta {d.closure.delta} "
                    "gets no moments; allowed: shapes of stream.shapes / patches, its delta"
                )
        return self

    def training_masses(self) -> list[float]:
        return self.density.training_masses(self.top_jets.masses)

    def closure_masses(self) -> list[tuple[float, str]]:
        trained = self.density.closure_masses
        if trained is None:
            centre = np.mean(self.top_jets.masses)
            trained = [min(self.training_masses(), key=lambda m: abs(m - centre))]
        rows = [(m, "trained") for m in trained]
        return sorted(rows + [(m, "held out") for m in self.density.holdout_masses])


class _Config(Config):
    density: StreamDensitySettings
    train_masses: list[float]


def run_stream_density(
    study: StreamDensityStudy, execution: Execution | None = None
) -> StageResult:
    """Stream (or reuse) the sample, train (or resume) the surrogate, then the closure."""
    stream = run_stream(StreamStudy(**study.model_dump(exclude={"density"})), execution)
    settings = study.density
    config = _Config(density=settings, train_masses=study.training_masses())
    stage = StageDir(
        study.runs_dir, study.name, "density-stream", config, [stream.stage.hash], VERSION
    )
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"sample": settings.sample.seed, "training": settings.training.seed})
    sample = load_sample(stream)
    data = stream_training_arrays(
        sample,
        settings.sample,
        study.training_masses(),
        np.random.default_rng(settings.sample.seed),
    )
    del sample
    architecture = (settings.flow if settings.model == "flow" else settings.mlp).model_dump()
    surrogate, histories = train_surrogate(
        settings.model,
        architecture,
        data,
        "weighted",
        study.training_masses(),
        settings.ensemble,
        settings.training,
        stage.path,
        info={"energy_weighted": True, "sample": "streamed"},
    )
    closure, fits = _closure(study, stream, surrogate)
    return finish_density(
        stage,
        settings,
        surrogate,
        histories,
        closure,
        n_training_triplets=int(len(data["weighted_split"])),  # train + validation
        calibration=pull_summary(closure),
        mass_fit=fits,
        mass_fit_pulls=mass_fit_pulls(fits),
    )


def _closure(study: StreamDensityStudy, stream: StageResult, surrogate) -> tuple[list, list]:
    """Closure rows of every configured shape at every closure mass, from the moments, and the
    mass fit of each shape to all jets of each held-out mass."""
    settings = study.density
    shapes = study.stream.shape_list()
    keys = [(round(t.n1, 9), round(t.n2, 9)) for t in shapes]
    index = [keys.index((round(n1, 9), round(n2, 9))) for n1, n2 in settings.closure.shapes]
    test_groups = np.arange(round(settings.sample.test_fraction * study.stream.groups))
    triangles, n_samples = settings.closure.triangle_shapes(), settings.closure.n_samples
    rows, fits = [], []
    for m_top, role in study.closure_masses():
        _, (moments,) = load_moments(stream, (m_top, m_top))
        groups = np.arange(study.stream.groups) if role == "held out" else test_groups
        merge, data, covariance = (
            a[index] for a in group_histograms(moments, groups, settings.closure.n_bins,
                                               settings.coverage)
        )  # fmt: skip
        error = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
        seed = round(m_top * 1000)
        n_jets = int(moments.n_jets[groups].sum())
        for row in binned_closure(
            surrogate, triangles, m_top, FINE_EDGES, merge, data, error, n_samples, seed
        ):
            rows.append({**row, "role": role, "n_jets": n_jets})
        if role == "held out":
            w, n = settings.fit_half_width, settings.fit_steps
            grid = np.linspace(m_top - w, m_top + w, n)
            for fit in mass_fit(
                surrogate, triangles, FINE_EDGES, merge, data, covariance, grid,
                settings.fit_samples, seed,
            ):  # fmt: skip
                fits.append({"m_top": m_top, "n_jets": n_jets, **fit})
    return rows, fits
