"""Atomic writes, config hashing and checksummed stage outputs."""

from __future__ import annotations

import json

import pytest

from obsforge.atomic import atomic_path, atomic_write_json
from obsforge.config import config_hash
from obsforge.observables.jets import JetConfig
from obsforge.results import StageResult
from obsforge.rundir import StageDir


def test_interrupted_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "result.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a resu")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_previous_content(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_hash_depends_on_config_upstream_and_version(tmp_path):
    base = StageDir(tmp_path, "r", "eeec", JetConfig(), upstream=["abc"])
    assert base.hash == StageDir(tmp_path, "r", "eeec", JetConfig(), upstream=["abc"]).hash
    assert base.hash != StageDir(tmp_path, "r", "eeec", JetConfig(jet_r=1.0), upstream=["abc"]).hash
    assert base.hash != StageDir(tmp_path, "r", "eeec", JetConfig(), upstream=["abd"]).hash
    assert (
        base.hash != StageDir(tmp_path, "r", "eeec", JetConfig(), upstream=["abc"], version=2).hash
    )
    assert config_hash({"a": 1.0}) != config_hash({"a": 1.0000001})


def test_a_setting_added_at_its_old_behaviour_keeps_the_old_hash():
    """A field marked ``added`` is left out of the hash at its default (runs made before it
    existed keep their folders) and enters it at any other value."""
    from pydantic import Field

    from obsforge.config import Config

    class Old(Config):
        a: float = 1.0

    class New(Old):
        b: float = Field(0.0, json_schema_extra={"added": True})

    assert config_hash(New()) == config_hash(Old())
    assert config_hash(New(b=0.1)) != config_hash(Old())


def test_corrupted_output_is_detected_and_removed(tmp_path, caplog):
    stage = StageDir(tmp_path, "r", "eeec", JetConfig())
    stage.begin(seeds={"chunk": 1})
    stage.write("data.txt", lambda tmp: tmp.write_text("energy correlators"))
    stage.complete(["data.txt"], {"n": 1})
    assert stage.manifest()["summary"] == {"n": 1}
    assert json.loads((stage.path / "provenance.json").read_text())["seeds"] == {"chunk": 1}

    stage.output_path("data.txt").write_text("energy correlatorz")  # a flipped byte
    assert stage.manifest() is None
    assert "differ from the manifest" in caplog.text
    assert not stage.output_path("data.txt").exists()


def test_output_without_checksum_counts_as_interrupted(tmp_path):
    stage = StageDir(tmp_path, "r", "eeec", JetConfig())
    stage.begin()
    stage.output_path("chunk.parquet").write_bytes(b"PAR1")  # renamed but checksum never written
    assert not stage.is_valid("chunk.parquet")
    assert not stage.output_path("chunk.parquet").exists()


def test_results_get_the_umask_mode_not_owner_only(tmp_path):
    import os
    import stat

    from obsforge.atomic import FILE_MODE

    path = atomic_write_json(tmp_path / "shared.json", {"x": 1})
    assert stat.S_IMODE(os.stat(path).st_mode) == FILE_MODE


def test_result_protocol_numbers_summary_save_upstream(tmp_path):
    from obsforge.studies import STUDIES

    upstream = StageDir(tmp_path, "run", "top-jets", JetConfig(jet_r=0.8))
    upstream.begin()
    upstream.write("a.json", lambda tmp: tmp.write_text("{}"))
    parent = upstream.complete(["a.json"], {"n": 1})
    stage = StageDir(tmp_path, "run", "unregistered", JetConfig(), [parent.stage.hash])
    stage.begin()
    stage.write("b.txt", lambda tmp: tmp.write_text("b"))
    (stage.path / "report").mkdir()
    (stage.path / "report" / "figure.png").write_bytes(b"png")
    result = stage.complete(["b.txt"], {"x": 2.5})
    assert "unregistered" not in {s.stage for s in STUDIES} and result.numbers == {"x": 2.5}
    assert json.loads(result.summary()[0]) == {"x": 2.5}  # no printer: the numbers as JSON
    assert result.plot() == [stage.path / "report" / "figure.png"]  # no plotter: the figures
    opened = StageResult.open(stage.path)  # the same finished stage, found from its folder
    assert opened.numbers == {"x": 2.5} and opened.upstream("top-jets").path == parent.path
    with pytest.raises(FileNotFoundError, match="not a finished stage"):
        StageResult.open(tmp_path / "run")
    found = result.upstream("top-jets")
    assert found.path == parent.path and found.numbers == {"n": 1}
    assert json.loads((found.path / "config.json").read_text())["config"]["jet_r"] == 0.8
    with pytest.raises(FileNotFoundError, match="no finished upstream 'eeec'"):
        result.upstream("eeec")
    saved = result.save(tmp_path / "export")
    assert (saved / "b.txt").read_text() == "b"
    assert (saved / "report" / "figure.png").exists() and (saved / "manifest.json").exists()
    # Every model, run function, printer and plotter of the table exists; studies that finish
    # with the same stage (scan-shapes and scan-stream: "scan") report it the same way.
    import importlib

    for stage in {s.stage for s in STUDIES}:
        assert len({(s.printer, s.plotter) for s in STUDIES if s.stage == stage}) == 1
    for study in STUDIES:
        for path in filter(None, (study.model, study.run, study.printer, study.plotter)):
            module, _, name = path.partition(":")
            assert callable(getattr(importlib.import_module(f"obsforge.{module}"), name))
