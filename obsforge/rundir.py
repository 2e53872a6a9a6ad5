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
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from obsforge.atomic import atomic_write_json, atomic_write_text, atomic_write_with, sha256_file
from obsforge.config import config_hash
from obsforge.provenance import provenance
from obsforge.results import StageResult, read_manifest

__all__ = ["StageDir", "StageResult"]

log = logging.getLogger(__name__)


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
        atomic_write_json(self.path / "provenance.json", provenance(seeds))

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

    def write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        """Output ``name`` as key-sorted JSON (atomically, with its checksum)."""
        return self.write(name, lambda tmp: tmp.write_text(json.dumps(data, sort_keys=True)))

    def run_chunks(
        self,
        function: Callable[..., dict[str, Any]],
        tasks: Sequence[dict[str, Any]],
        outputs: Sequence[Sequence[str]],
        execution: Any,
        desc: str,
    ) -> list[dict[str, Any]]:
        """Run ``function(stage=self, **task)`` (on Dask) for the tasks whose ``outputs`` are
        missing or corrupted; return every task's summary, read from its last output (a JSON
        file). A rerun of an interrupted stage computes only what it lacks."""
        from obsforge.parallel import dask_client, map_tasks

        todo = [
            task
            for task, names in zip(tasks, outputs, strict=True)
            if not all(self.is_valid(name) for name in names)
        ]
        if todo:
            log.info(
                "%s: %d of %d chunks to compute in %s", self.stage, len(todo), len(tasks), self.path
            )
            with dask_client(execution) as client:
                map_tasks(client, function, [{"stage": self, **task} for task in todo], desc)
        return [json.loads(self.output_path(names[-1]).read_text()) for names in outputs]

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
        manifest = read_manifest(path)
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
