"""The study protocol: a finished stage as an object (:class:`StageResult`), the same for every
stage -- its numbers, the lines the CLI prints, its figures, a copy of everything it produced,
and the upstream stages it was computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from obsforge.rundir import StageDir

__all__ = ["StageResult", "read_manifest"]


def read_manifest(path: Path) -> dict[str, Any] | None:
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

    @classmethod
    def open(cls, folder: str | Path) -> StageResult:
        """The finished stage in ``folder`` (``runs/<name>/<stage>-<hash>``), e.g. to draw its
        figures again: ``StageResult.open(folder).plot()``."""
        folder = Path(folder)
        stage, _, digest = folder.name.rpartition("-")
        manifest = read_manifest(folder / "manifest.json")
        if not stage or manifest is None or manifest.get("hash") != digest:
            raise FileNotFoundError(f"{folder}: not a finished stage folder (<stage>-<hash>)")
        return cls(_FinishedStage(folder, stage, digest), manifest)

    @property
    def path(self) -> Path:
        return self.stage.path

    @property
    def numbers(self) -> dict[str, Any]:
        return self.manifest["summary"]

    def summary(self) -> list[str]:
        """What ``obsforge <command>`` prints for this stage."""
        from obsforge.studies import study_of_stage

        return study_of_stage(self.stage.stage).lines(self)

    def plot(self) -> list[Path]:
        """The report figures (PNG + PDF): drawn again from the stage's outputs where the stage
        has a plotter of its outputs, else the figures the run wrote."""
        from obsforge.studies import study_of_stage

        figures = study_of_stage(self.stage.stage).plot(self)
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
                manifest = read_manifest(folder / "manifest.json")
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
