"""The distribution: domain folders map to subpackages; docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ["events", "observables", "density", "search", "symbolic", "pdffit"]
DOCTESTED = [
    "obsforge.config",
    "obsforge.config_files",
    "obsforge.stream_files",
    "obsforge.observables.eeec",
    "obsforge.observables.shapes",
    "obsforge.observables.binning",
    "obsforge.events.ww_beams",
    "obsforge.density.data",
    "obsforge.density.calibration",
    "obsforge.density.closure",
    "obsforge.search.fisher",
    "obsforge.search.mass_calibration",
    "obsforge.search.moments",
    "obsforge.search.posterior",
    "obsforge.search.ranking",
    "obsforge.search.stream_data",
    "obsforge.search.scan",
    "obsforge.pdffit.drell_yan",
    "obsforge.pdffit.dy_data",
    "obsforge.pdffit.dy_nlo",
]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_domain_folder_is_a_subpackage(name):
    module = importlib.import_module(f"obsforge.{name}")
    assert Path(module.__file__).parent.name == name


@pytest.mark.parametrize("name", DOCTESTED)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_wheel_contains_every_subpackage(tmp_path):
    """A normal (non-editable) build ships the domain folders under obsforge/."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("obsforge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in SUBPACKAGES:
        assert f"obsforge/{name}/__init__.py" in names
    assert "obsforge/observables/eeec.py" in names
    assert "obsforge/configs/demo.yaml" in names
