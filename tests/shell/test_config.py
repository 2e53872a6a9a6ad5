"""Bad configurations fail at load time with one line naming the field, the value and the rule."""

from __future__ import annotations

import pytest
import yaml

from obsforge.cli import main
from obsforge.config import ConfigError, validate_config
from obsforge.config_files import apply_overrides, load_config
from obsforge.top_eeec import TopEEECStudy

GOOD = {"top_jets": {"masses": [172.5], "events_per_mass": 10}}


def config_error(data) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(TopEEECStudy, data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_key_is_named():
    message = config_error({**GOOD, "top_jets": {**GOOD["top_jets"], "events_per_mas": 5}})
    assert "top_jets.events_per_mas: unknown key" in message


def test_negative_mass_is_refused():
    message = config_error({"top_jets": {"masses": [172.5, -1.0], "events_per_mass": 10}})
    assert message.startswith("top_jets.masses.1 = -1.0:") and "greater than 0" in message


@pytest.mark.parametrize("field", ["jet_r", "subjet_r"])
@pytest.mark.parametrize("value", [0.0, -0.4])
def test_nonpositive_radius_is_refused(field, value):
    message = config_error({**GOOD, "jets": {field: value}})
    assert message.startswith(f"jets.{field} = {value}:") and "greater than 0" in message


def test_zero_events_is_refused():
    message = config_error({"top_jets": {"masses": [172.5], "events_per_mass": 0}})
    assert message.startswith("top_jets.events_per_mass = 0:")


def test_energy_below_threshold_is_refused():
    message = config_error({"top_jets": {"masses": [172.5], "events_per_mass": 1, "ecm": 300.0}})
    assert "threshold" in message and "ecm" in message


def test_duplicate_masses_and_foreign_plot_mass_are_refused():
    assert "distinct" in config_error({"top_jets": {"masses": [170, 170], "events_per_mass": 1}})
    assert "plot_masses" in config_error({**GOOD, "plot_masses": [172.5, 175.0]})


def test_set_overrides_nested_values(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    study = load_config(TopEEECStudy, path, ["top_jets.events_per_mass=7", "jets.jet_r=0.8"])
    assert study.top_jets.events_per_mass == 7 and study.jets.jet_r == 0.8
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(GOOD, ["top_jets.events_per_mass"])


def test_cli_reports_one_line_error_and_exit_code_2(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    code = main(["eeec", "--config", str(path), "--set", "top_jets.masses=[-3.0]"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == ("obsforge: error: top_jets.masses.0 = -3.0: Input should be greater than 0")


def test_cli_refuses_missing_config_file(capsys):
    assert main(["generate", "top-jets", "--config", "no-such-file.yaml"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "generate" in out and "eeec" in out


def test_builtin_configs_are_valid():
    from obsforge.shape_scan import ScanStudy
    from obsforge.ww_binning import WWStudy

    study = load_config(ScanStudy, "demo")
    assert study.top_jets.ecm == 2000.0 and study.jets.subjet_r == 0.1
    assert load_config(ScanStudy, "scan").density.ensemble == 4
    assert load_config(WWStudy, "ww240").process.sqrt_s == 240.0


def test_cli_refuses_negative_worker_count(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eeec", "--config", "demo", "--workers", "-1"])
    assert info.value.code == 2
    assert (
        "argument --workers: -1: allowed are 0 (inline) or more workers" in capsys.readouterr().err
    )
