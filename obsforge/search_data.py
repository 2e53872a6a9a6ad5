"""The ``search-data`` stage of the shape scan: the observable of every shape (zeta1 bins of
equal weight at the prior centre), its expectation from the surrogate on a fine mass grid, and
the mean and jet-to-jet covariance from held-out PYTHIA jets at each generated mass; and the
study config of the whole scan (:class:`ScanStudy`). The scan itself: :mod:`obsforge.shape_scan`.
"""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from obsforge.config import Config
from obsforge.density.data import SampleConfig
from obsforge.density.surrogate import EEECSurrogate
from obsforge.eeec_density import DensityStudy, run_density
from obsforge.observables.shapes import TriangleShape
from obsforge.parallel import Execution
from obsforge.rundir import StageDir, StageResult
from obsforge.search.scan import (
    SearchSettings,
    checked_covariance,
    jet_histograms,
    search_data,
    shape_position,
    surrogate_pulls,
)
from obsforge.search.simulator import jet_covariance
from obsforge.top_eeec import run_eeec, triplet_chunks

__all__ = ["ScanStudy", "run_search_data"]

SEARCH_DATA_VERSION = 2  # 2: the summary's masses are a list of rows with their m_top


class ScanStudy(DensityStudy):
    """A density study with a ``search`` section."""

    search: SearchSettings = SearchSettings()

    @model_validator(mode="after")
    def _prior(self) -> ScanStudy:
        self.prior()
        for n1, n2 in self.search.reference_shapes:
            TriangleShape(n1=n1, n2=n2, delta=self.search.shapes.delta)
        return self

    def prior(self) -> tuple[float, float]:
        return self.search.prior_range(self.training_masses())


# -- search-data ---------------------------------------------------------------------------------
class _SearchDataConfig(Config):
    shapes: list[tuple[float, float, float]]
    n_bins: int
    bin_coverage: float
    prior: tuple[float, float]
    mean_step: float
    surrogate_samples: int
    jets_per_mass: int
    sample: SampleConfig
    train_masses: list[float]


def run_search_data(study: ScanStudy, execution: Execution | None = None) -> StageResult:
    """Observable definitions, surrogate expectations and PYTHIA covariances of all shapes."""
    density = run_density(study, execution)
    eeec = run_eeec(study, execution)
    settings = study.search
    shapes = settings.all_shapes()
    low, high = study.prior()
    config = _SearchDataConfig(
        shapes=[(s.n1, s.n2, s.delta) for s in shapes],
        n_bins=settings.n_bins,
        bin_coverage=settings.bin_coverage,
        prior=(low, high),
        mean_step=settings.mean_step,
        surrogate_samples=settings.surrogate_samples,
        jets_per_mass=settings.jets_per_mass,
        sample=study.density.sample,
        train_masses=study.training_masses(),
    )
    stage = StageDir(
        study.runs_dir,
        study.name,
        "search-data",
        config,
        [density.stage.hash, eeec.stage.hash],
        SEARCH_DATA_VERSION,
    )
    if (done := stage.result()) is not None:
        return done
    stage.begin(seeds={"surrogate_samples": 0})
    surrogate = EEECSurrogate.load(density.path / "model.pt")
    references = [shape_position(shapes, n1, n2) for n1, n2 in settings.reference_shapes]
    arrays = search_data(surrogate, shapes, settings, (low, high), references)
    cov_masses, covariances, data_means, jet_counts = [], [], [], []
    for m_top in study.top_jets.masses:
        split = study.density.sample if m_top in study.training_masses() else None
        chunks = triplet_chunks(eeec, {m_top})
        h, w = jet_histograms(chunks, shapes, arrays["edges"], settings.jets_per_mass, split)
        if len(w) < 2:
            raise ValueError(
                f"m_top = {m_top:g}: only {len(w)} PYTHIA test jets; generate more events"
            )
        cov_masses.append(m_top)
        covariances.append(checked_covariance(jet_covariance(h, w), shapes, m_top, len(w)))
        data_means.append(h.sum(0) / w.sum())
        jet_counts.append(len(w))
    arrays.update(
        cov_masses=np.array(cov_masses),
        jet_cov=np.stack(covariances),
        data_means=np.stack(data_means),
        jet_counts=np.array(jet_counts),
    )
    stage.write("search_data.npz", lambda tmp: np.savez(tmp, **arrays))
    pulls = surrogate_pulls(arrays, (low, high))
    summary = {
        "n_shapes": len(shapes),
        "masses": [
            {"m_top": m, "n_jets": n, "rms_pull_surrogate_vs_pythia": pulls.get(m)}
            for m, n in zip(cov_masses, jet_counts, strict=True)
        ],
    }
    return stage.complete(["search_data.npz"], summary)
