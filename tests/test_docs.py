"""Every command shown in README.md and docs/*.md runs as written.

``obsforge ...`` commands are run in-process with ``--dry-run`` (the config is loaded,
overridden and validated, the run folder resolved; nothing is computed), so a renamed key, a
config that no longer validates or a removed subcommand fails here. ``python scripts/...`` and
``python benchmarks/...`` commands must accept every option the docs give them (``--help``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from obsforge.cli import main
from obsforge.config_files import BUILTIN_CONFIGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Files the docs use as the user's own copies of a built-in config.
USER_FILES = {"my_run.yaml": "demo", "my_runcard.yaml": "pdffit"}


def documented_commands(prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(file, command) for each command line in a fenced code block starting with a prefix;
    continuation lines (trailing backslash) joined, comments removed."""
    found = []
    for path in DOCS:
        in_block, pending = False, ""
        for line in path.read_text().splitlines():
            if line.lstrip().startswith("```"):
                in_block, pending = not in_block, ""
                continue
            if not in_block:
                continue
            text = pending + line.split(" #")[0].strip()
            if text.endswith("\\"):
                pending = text[:-1] + " "
                continue
            pending = ""
            if text.startswith(prefixes):
                found.append((path.name, text))
    return found


OBSFORGE = documented_commands(("obsforge ",))
PYTHON = documented_commands(("python scripts/", "python benchmarks/"))


def test_the_docs_show_commands():
    assert len(OBSFORGE) >= 30 and len(PYTHON) >= 5


@pytest.mark.parametrize(("doc", "command"), OBSFORGE, ids=[c for _, c in OBSFORGE])
def test_documented_obsforge_command_runs(doc, command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, builtin in USER_FILES.items():
        shutil.copy(BUILTIN_CONFIGS / f"{builtin}.yaml", tmp_path / name)
    argv = shlex.split(command)[1:]
    if argv in (["--help"], ["--version"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        return
    code = main([*argv, "--dry-run"])
    assert code == 0, f"{doc}: `{command}` -> {capsys.readouterr().err.strip()}"


@pytest.mark.integration
@pytest.mark.parametrize(("doc", "command"), PYTHON, ids=[c for _, c in PYTHON])
def test_documented_script_accepts_its_options(doc, command):
    argv = shlex.split(command)
    script = ROOT / argv[1]
    assert script.is_file(), f"{doc}: `{command}`: {argv[1]} does not exist"
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    ).stdout
    for option in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", command):
        assert option in help_text, f"{doc}: `{command}`: {argv[1]} has no option {option}"
