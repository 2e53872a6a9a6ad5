"""The import rules of shared/ARCHITECTURE.md, read from the source: imports point down the
layers, and a domain uses only the shell's small shared helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The shell's helpers that domains may use (config base, atomic writes, progress, training loop).
SHELL_HELPERS = {"config", "atomic", "progress", "training"}
# Which other domains each domain may import.
ALLOWED = {
    "events": set(),
    "observables": set(),
    "density": {"observables"},
    "search": {"density", "observables", "events"},
    "symbolic": {"observables", "events"},
    "pdffit": set(),
}
SHELL_MODULES = {p.stem for p in (ROOT / "obsforge").glob("*.py")} - {"__init__"}


def imported_modules(path: Path) -> set[str]:
    """Every ``obsforge.<name>`` a file imports (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "obsforge" and len(parts) > 1:
                found.add(parts[1])
    return found


def violations(domain: str, files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        for name in sorted(imported_modules(path)):
            if name == domain or name in ALLOWED[domain] or name in SHELL_HELPERS:
                continue
            what = "the shell" if name in SHELL_MODULES else "domain"
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
            bad.append(f"{shown} imports {what} obsforge.{name}")
    return bad


@pytest.mark.parametrize("domain", sorted(ALLOWED))
def test_domain_imports_follow_the_layers(domain):
    assert violations(domain, sorted((ROOT / domain).rglob("*.py"))) == []


def test_the_rule_check_catches_a_violation(tmp_path):
    """A domain importing the shell or a domain above it is reported."""
    bad = tmp_path / "planted.py"
    bad.write_text("from obsforge.density import EEECSurrogate\nimport obsforge.cli\n")
    assert violations("observables", [bad]) == [
        "planted.py imports the shell obsforge.cli",
        "planted.py imports domain obsforge.density",
    ]
