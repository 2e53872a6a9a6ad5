"""Atomic writes, config hashing and checksummed stage outputs."""

from __future__ import annotations

import json

import pytest

from obsforge.atomic import atomic_path, atomic_write_json
from obsforge.config import config_hash
from obsforge.observables.jets import JetConfig
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
