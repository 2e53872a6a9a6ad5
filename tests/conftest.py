"""Shared fixtures: small PYTHIA samples are generated once per session."""

from __future__ import annotations

import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under `pytest -n 2` each worker owns one core: one torch thread each, not two fighting.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def top_events_172():
    """200 e+e- -> t tbar events at m_top = 172.5 GeV, Q = 2 TeV (about 0.5 s)."""
    from obsforge.events import generate_top_events

    return generate_top_events(172.5, 200, seed=11)


@pytest.fixture()
def tiny_study(tmp_path):
    """A two-mass study small enough to run end to end in a few seconds."""
    from obsforge.config import validate_config
    from obsforge.top_eeec import TopEEECStudy

    return validate_config(
        TopEEECStudy,
        {
            "name": "tiny",
            "runs_dir": str(tmp_path / "runs"),
            "top_jets": {
                "masses": [170.0, 180.0],
                "events_per_mass": 60,
                "chunk_size": 30,
                "seed": 3,
            },
        },
    )


@pytest.fixture(scope="session")
def ww_events():
    """100,000 weighted e+e- -> W+W- -> l nu q q' events at 240 GeV (the WW tests' sample)."""
    from obsforge.events.ww import WWConfig, generate_ww

    return generate_ww(100_000, WWConfig(), seed=3)
