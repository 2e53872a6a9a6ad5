"""Untrusted files execute nothing; every bad input is one line and exit status 2; a damaged
run folder is rerun, never trusted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from obsforge.atomic import UnsafeFileError, atomic_torch_save, load_weights
from obsforge.cli import main
from obsforge.config import MAX_COUNT, ConfigError, UserError, validate_config
from obsforge.observables.jets import JetConfig
from obsforge.parallel import Execution, chunk_sizes, dask_client
from obsforge.rundir import StageDir

TOP = {"top_jets": {"masses": [172.5], "events_per_mass": 10}}


class _Payload:
    """Unpickling this object writes a file: what a planted model would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def _plant(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": {}, "payload": _Payload(marker)}, path)
    return path


def test_planted_pickle_is_refused_by_every_loader(tmp_path):
    from obsforge.density.surrogate import EEECSurrogate
    from obsforge.search.nre import load_estimator
    from obsforge.training import TrainingConfig, train

    marker = tmp_path / "pwned"
    planted = _plant(tmp_path / "model.pt", marker)
    with pytest.raises(UnsafeFileError, match="refused to load"):
        load_weights(planted)
    with pytest.raises(UnsafeFileError):
        EEECSurrogate.load(planted)
    with pytest.raises(UnsafeFileError):
        load_estimator(planted)
    # A checkpoint planted in a stage folder: training refuses to resume from it.
    data = (torch.zeros(8, 3), torch.zeros(8, 1), torch.ones(8))
    model = torch.nn.Linear(3, 1)
    model.loss = lambda y, c, w: (model(y) ** 2).mean()
    with pytest.raises(UnsafeFileError):
        train(model, data, data, TrainingConfig(epochs=1), checkpoint=planted)
    assert not marker.exists()


def test_weights_round_trip_and_are_bit_reproducible(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "info": {"epochs": [1, 2], "loss": 0.5}}
    a = atomic_torch_save(tmp_path / "a.pt", state)
    b = atomic_torch_save(tmp_path / "b.pt", state)
    assert a.read_bytes() == b.read_bytes()  # the temporary file name is not in the archive
    back = load_weights(a)
    assert torch.equal(back["w"], state["w"]) and back["info"] == state["info"]


def test_nre_estimator_round_trips_through_weights_only(tmp_path):
    from obsforge.search.nre import (
        NREConfig,
        grid_log_ratio,
        load_estimator,
        save_estimator,
        train_nre,
    )

    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 1, 400)
    x = (theta + 0.1 * rng.normal(size=400))[:, None]
    config = NREConfig(simulations=400, max_epochs=2, hidden_features=8, classifier="mlp")
    estimator = train_nre(theta, x, 0.0, 1.0, config)
    save_estimator(estimator, tmp_path / "nre.pt")
    loaded = load_estimator(tmp_path / "nre.pt")
    grid = np.linspace(0.05, 0.95, 7)
    np.testing.assert_array_equal(
        grid_log_ratio(estimator, x[:5], grid), grid_log_ratio(loaded, x[:5], grid)
    )


# -- bad input: one line ---------------------------------------------------------------------------
def _config_error(model, data) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(model, data)
    message = str(info.value)
    assert "\n" not in message and len(message) < 600
    return message


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "", "x" * 101])
def test_run_name_is_one_plain_path_component(name):
    from obsforge.top_eeec import TopEEECStudy

    assert _config_error(TopEEECStudy, {**TOP, "name": name}).startswith("name = ")


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        ("top_eeec:TopEEECStudy", {"top_jets": {**TOP["top_jets"], "ecm": float("inf")}},
         "top_jets.ecm"),
        ("top_eeec:TopEEECStudy", {"top_jets": {**TOP["top_jets"], "masses": [float("nan")]}},
         "top_jets.masses.0"),
        ("ww_binning:WWStudy", {"luminosity_ab": float("inf")}, "luminosity_ab"),
        ("pdf_fit:PDFRunCard", {"datasets": ["SLAC_NC_NOTFIXED_P_F2"],
                                "learning_rate": float("inf")}, "learning_rate"),
        ("pdf_fit:PDFRunCard", {"datasets": ["SLAC_NC_NOTFIXED_P_F2"],
                                "inject": {"C_lq1": float("nan")}}, "inject.C_lq1"),
        ("shape_scan:ScanStudy", {"top_jets": {"masses": [170, 175], "events_per_mass": 10},
                                  "search": {"mean_step": float("inf")}}, "search.mean_step"),
    ],
)  # fmt: skip
def test_non_finite_numbers_are_refused(model, data, field):
    import importlib

    module, _, name = model.partition(":")
    message = _config_error(getattr(importlib.import_module(f"obsforge.{module}"), name), data)
    assert message.startswith(f"{field} = ") and "finite" in message


def test_booleans_are_not_numbers_but_stay_booleans():
    from obsforge.pdffit.runcard import PDFRunCard
    from obsforge.top_eeec import TopEEECStudy

    message = _config_error(
        TopEEECStudy, {"top_jets": {**TOP["top_jets"], "events_per_mass": True}}
    )
    assert message.startswith("top_jets.events_per_mass = True:") and "boolean" in message
    card = validate_config(PDFRunCard, {"datasets": ["SLAC_NC_NOTFIXED_P_F2"], "t0": False})
    assert card.t0 is False


def test_absurd_counts_are_refused_before_any_plan_is_built():
    from obsforge.top_eeec import TopEEECStudy

    huge = {"top_jets": {"masses": [172.5], "events_per_mass": 10**12}}
    assert "less than or equal to" in _config_error(TopEEECStudy, huge)
    many_tasks = {"top_jets": {"masses": [172.5], "events_per_mass": MAX_COUNT, "chunk_size": 1}}
    assert "tasks" in _config_error(TopEEECStudy, many_tasks)
    with pytest.raises(ConfigError, match="tasks"):
        chunk_sizes(10**9, 1)


def test_duplicated_and_unknown_names_say_which():
    from obsforge.pdffit.runcard import PDFRunCard

    twice = _config_error(PDFRunCard, {"datasets": ["SLAC_NC_NOTFIXED_P_F2"] * 2})
    assert "['SLAC_NC_NOTFIXED_P_F2'] given more than once" in twice
    unknown = _config_error(PDFRunCard, {"datasets": ["SLAC"]})
    assert "unknown ['SLAC']" in unknown


def test_missing_fk_tables_are_all_named_with_one_build_command():
    from obsforge.pdffit.runcard import PDFRunCard

    names = ["SLAC_NC_NOTFIXED_P_F2", "BCDMS_NC_NOTFIXED_P_F2"]
    message = _config_error(PDFRunCard, {"datasets": names, "scheme": "FONLL-B"})
    assert "no FK tables for 2 of 2 DIS datasets" in message
    assert message.endswith(f"--scheme FONLL-B --no-evolution --datasets {' '.join(names)}")


def _cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def test_cli_errors_are_one_line_with_exit_status_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"top_jets:\n  masses: [172.5]\n  events_per_mass: 1\nname: caf\xe9\n")
    cases = [
        (["eeec", "--config", str(bad)], "not UTF-8 text (byte 0xe9"),
        (["eeec", "--config", "demo", "--scheduler", "notaurl"], "--scheduler = 'notaurl'"),
        (["eeec", "--config", "demo", "--set", "top_jets.ecm=.inf"], "top_jets.ecm = inf"),
        (["eeec", "--config", "demo", "--set", "name=.."], "name = '..'"),
        (["binning", "--config", "ww240", "--set", "luminosity_ab=inf"], "luminosity_ab"),
        (["eeec", "--config", str(tmp_path / "none.yaml")], "no such file"),
    ]
    for argv, expected in cases:
        code, err = _cli(capsys, *argv)
        assert code == 2 and err.count("\n") == 0 and expected in err, (argv, err)
        assert "Traceback" not in err


def test_unreachable_scheduler_is_one_clear_error():
    execution = validate_config(
        Execution, {"scheduler": "tcp://127.0.0.1:1", "connect_timeout": 0.5}
    )
    with pytest.raises(UserError, match="no Dask scheduler answered"), dask_client(execution):
        pass


def test_shared_config_runs_the_events_commands(capsys):
    """demo has density and search sections; eeec and generate ignore them."""
    for argv in (["eeec", "--config", "demo"], ["generate", "top-jets", "--config", "demo"]):
        assert main([*argv, "--dry-run"]) == 0
    assert "config valid" in capsys.readouterr().out


# -- run folders: the manifest is the authority ----------------------------------------------------
def _finished_stage(tmp_path) -> StageDir:
    stage = StageDir(tmp_path, "r", "eeec", JetConfig())
    stage.begin()
    for i in range(2):
        stage.write(f"chunk-{i}.txt", lambda tmp, i=i: tmp.write_text(f"chunk {i}"))
    stage.complete(["chunk-0.txt", "chunk-1.txt"], {"n": 2})
    return stage


@pytest.mark.parametrize("content", ["", "{}", '{"outputs": {"chunk-0.txt": ', "[]", "\xff"])
def test_damaged_manifest_means_not_finished(tmp_path, content):
    stage = _finished_stage(tmp_path)
    (stage.path / "manifest.json").write_text(content, errors="surrogateescape")
    assert stage.result() is None
    assert not (stage.path / "manifest.json").exists()
    assert stage.is_valid("chunk-0.txt")  # finished chunks are still reused


def test_swapped_outputs_with_their_checksums_are_caught(tmp_path):
    stage = _finished_stage(tmp_path)
    path = stage.path
    for suffix in ("", ".sha256"):
        a, b = path / f"chunk-0.txt{suffix}", path / f"chunk-1.txt{suffix}"
        a_bytes = a.read_bytes()
        a.write_bytes(b.read_bytes())
        b.write_bytes(a_bytes)
    assert stage.is_valid("chunk-0.txt")  # each file still matches its own .sha256 ...
    assert stage.result() is None  # ... but not the manifest: both are regenerated
    assert not (path / "chunk-0.txt").exists() and not (path / "chunk-1.txt").exists()


def test_manifest_of_another_stage_is_not_trusted(tmp_path):
    stage = _finished_stage(tmp_path)
    manifest = json.loads((stage.path / "manifest.json").read_text())
    (stage.path / "manifest.json").write_text(json.dumps({**manifest, "hash": "0" * 12}))
    assert stage.result() is None
