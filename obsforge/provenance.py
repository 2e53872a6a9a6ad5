"""Provenance of a stage: when and where it started, the command line, the seeds and the
versions of the packages that determine its result (``provenance.json`` of every run folder).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TRACKED_PACKAGES", "package_versions", "provenance"]

TRACKED_PACKAGES = (
    "obsforge",
    "numpy",
    "scipy",
    "awkward",
    "fastjet",
    "pythia8mc",
    "pyarrow",
    "dask",
    "distributed",
    "pydantic",
    "torch",
    "matplotlib",
)


def package_versions(packages: Sequence[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that determine a stage's result."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(seeds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of a stage that starts now with these ``seeds``."""
    return {
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "command": sys.argv,
        "versions": package_versions(),
        "seeds": dict(seeds or {}),
    }
