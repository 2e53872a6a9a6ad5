"""Run directories: one folder per stage and config hash, with checksummed, reusable outputs.

Layout::

    runs/<run name>/<stage>-<config hash>/
        config.json       the resolved configuration of the stage (and its upstream hashes)
        provenance.json   seeds, package versions, host, command line, start time
        <output>          each output file, written atomically ...
        <output>.sha256   ... followed by its checksum
        manifest.json     written last: all outputs with checksums and a summary of the stage

An output counts as done only if its checksum file exists and matches the bytes on disk; a
corrupted or half-finished file is reported, deleted and regenerated -- never silently used.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import logging
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from obsforge.atomic import atomic_write_json, atomic_write_text, atomic_write_with, sha256_file
from obsforge.config import config_hash

__all__ = ["StageDir", "StageResult", "package_versions"]

log = logging.getLogger(__name__)

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


class StageDir:
    """The folder of one pipeline stage, keyed by the hash of its config and upstream hashes."""

    def __init__(
        self,
        runs_dir: str | Path,
        run_name: str,
        stage: str,
        config: BaseModel,
        upstream: Sequence[str] = (),
        version: int = 1,
    ) -> None:
        self.stage = stage
        self.config = config
        self.upstream = tuple(upstream)
        # The code version of the stage enters the hash: bump it when the outputs change meaning.
        self.version = version
        self.hash = config_hash(config, *self.upstream, f"{stage}-v{version}")
        self.path = Path(runs_dir) / run_name / f"{stage}-{self.hash}"

    def __repr__(self) -> str:
        return f"StageDir({str(self.path)!r})"

    # -- bookkeeping ---------------------------------------------------------------------------
    def begin(self, seeds: Mapping[str, Any] | None = None) -> None:
        """Create the folder and record the resolved config and provenance of this stage."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.path / "config.json",
            {
                "stage": self.stage,
                "config": self.config.model_dump(mode="json"),
                "upstream": list(self.upstream),
                "version": self.version,
                "hash": self.hash,
            },
        )
        provenance = {
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "host": platform.node(),
            "command": sys.argv,
            "versions": package_versions(),
            "seeds": dict(seeds or {}),
        }
        atomic_write_json(self.path / "provenance.json", provenance)

    def output_path(self, name: str) -> Path:
        return self.path / name

    def _checksum_path(self, name: str) -> Path:
        return self.path / f"{name}.sha256"

    def is_valid(self, name: str) -> bool:
        """True if output ``name`` exists and matches its checksum; a bad copy is deleted."""
        path, checksum = self.output_path(name), self._checksum_path(name)
        if not path.exists():
            checksum.unlink(missing_ok=True)
            return False
        expected = checksum.read_text().strip() if checksum.exists() else None
        if expected is not None and sha256_file(path) == expected:
            return True
        reason = "has no checksum (interrupted write)" if expected is None else "checksum mismatch"
        log.warning("cache file %s is corrupted (%s); regenerating it", path, reason)
        path.unlink()
        checksum.unlink(missing_ok=True)
        return False

    def write(self, name: str, writer: Callable[[Path], None]) -> Path:
        """Write output ``name`` atomically with ``writer(tmp_path)``, then record its checksum."""
        path = atomic_write_with(self.output_path(name), writer)
        atomic_write_text(self._checksum_path(name), sha256_file(path) + "\n")
        return path

    # -- completion ----------------------------------------------------------------------------
    def complete(self, outputs: Sequence[str], summary: Mapping[str, Any]) -> StageResult:
        """Mark the stage finished: a manifest of outputs with checksums and a summary.

        The checksums were computed when the outputs were written; nothing is re-read here.
        """
        manifest = {
            "stage": self.stage,
            "hash": self.hash,
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "outputs": {name: self._checksum_path(name).read_text().strip() for name in outputs},
            "summary": dict(summary),
        }
        atomic_write_json(self.path / "manifest.json", manifest)
        return StageResult(self, manifest)

    def result(self) -> StageResult | None:
        """The finished stage (folder + verified manifest), or ``None`` if it must (re)run."""
        manifest = self.manifest()
        return None if manifest is None else StageResult(self, manifest)

    def manifest(self) -> dict[str, Any] | None:
        """The manifest of a finished stage whose outputs all verify, else ``None``.

        The manifest is the authority: each output must hash to the checksum the manifest
        recorded (a file swapped together with its ``.sha256`` is caught). An unreadable,
        truncated or incomplete manifest means the stage did not finish; it is removed, bad
        outputs with it, and the stage reruns (finished chunks that verify are reused).
        """
        path = self.path / "manifest.json"
        if not path.exists():
            return None
        manifest = _read_manifest(path)
        if manifest is None or manifest.get("hash") != self.hash:
            log.warning("manifest %s is unreadable or incomplete; rerunning the stage", path)
            path.unlink()
            return None
        bad = [
            name
            for name, digest in manifest["outputs"].items()
            if not self.output_path(name).exists() or sha256_file(self.output_path(name)) != digest
        ]
        if bad:
            log.warning(
                "%s: %d output(s) differ from the manifest (%s); regenerating them",
                self.path,
                len(bad),
                ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else ""),
            )
            for name in bad:
                self.output_path(name).unlink(missing_ok=True)
                self._checksum_path(name).unlink(missing_ok=True)
            path.unlink()
            return None
        return manifest


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The parsed manifest if it has the fields a finished stage writes, else ``None``."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not isinstance(manifest.get("summary"), dict):
        return None
    if not all(isinstance(name, str) and isinstance(d, str) for name, d in outputs.items()):
        return None
    return manifest


@dataclass(frozen=True)
class StageResult:
    """A finished stage: its folder and its manifest (outputs, checksums, numbers).

    The study protocol, the same for every stage: ``numbers`` (the stage's summary dict, as in
    its manifest), ``summary()`` (the lines the CLI prints), ``plot()`` (the report figures) and
    ``save(folder)`` (a copy of everything the stage produced). Upstream stages are found with
    ``upstream(name)`` from the hashes the stage recorded, never by globbing file names.
    """

    stage: StageDir
    manifest: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.stage.path

    @property
    def numbers(self) -> dict[str, Any]:
        return self.manifest["summary"]

    def summary(self) -> list[str]:
        """What ``obsforge <command>`` prints for this stage."""
        from obsforge.reports import report_for

        return report_for(self.stage.stage).lines(self)

    def plot(self) -> list[Path]:
        """The report figures (PNG + PDF): drawn again from the stage's outputs where the stage
        has a plotter of its outputs, else the figures the run wrote."""
        from obsforge.reports import report_for

        figures = report_for(self.stage.stage).plot(self)
        if figures is None:
            figures = sorted((self.path / "report").glob("*.p[dn][gf]"))
        return figures

    def save(self, folder: str | Path) -> Path:
        """Copy the stage's outputs, manifest, config, provenance and report to ``folder``
        (created; files already there are replaced)."""
        import shutil

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = [*self.manifest["outputs"], "manifest.json", "config.json", "provenance.json"]
        for name in names:
            if (self.path / name).exists():
                shutil.copy2(self.path / name, folder / name)
        if (self.path / "report").is_dir():
            shutil.copytree(self.path / "report", folder / "report", dirs_exist_ok=True)
        return folder

    def upstream(self, stage: str) -> StageResult:
        """The finished upstream stage named ``stage`` that this one was computed from."""
        config = json.loads((self.path / "config.json").read_text())
        for digest in config.get("upstream", []):
            folder = self.path.parent / f"{stage}-{digest}"
            if folder.is_dir():
                manifest = _read_manifest(folder / "manifest.json")
                if manifest is not None and manifest.get("hash") == digest:
                    return StageResult(_FinishedStage(folder, stage, digest), manifest)
        raise FileNotFoundError(f"{self.path}: no finished upstream {stage!r} stage beside it")


@dataclass(frozen=True)
class _FinishedStage:
    """The parts of a :class:`StageDir` a finished stage found on disk needs."""

    path: Path
    stage: str
    hash: str

    def output_path(self, name: str) -> Path:
        return self.path / name
