"""Reading configurations: a YAML file or a built-in config name, ``--set KEY=VALUE``
overrides, then validation against a :class:`~obsforge.config.Config` model. Every failure is
one :class:`~obsforge.config.ConfigError` line naming the file, the key or the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from obsforge.config import ConfigError, M, validate_config

__all__ = ["BUILTIN_CONFIGS", "apply_overrides", "load_config", "resolve_config_path"]

BUILTIN_CONFIGS = Path(__file__).parent / "configs"


def _parse_override(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. top_jets.events_per_mass=500")
    return key.strip().split("."), yaml.safe_load(raw)


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted ``KEY=VALUE`` overrides applied (values are YAML).

    >>> apply_overrides({"a": {"b": 1}}, ["a.b=2", "c=[1, 2]"])
    {'a': {'b': 2}, 'c': [1, 2]}
    """
    result = json.loads(json.dumps(dict(data)))
    for item in overrides:
        path, value = _parse_override(item)
        node = result
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of a built-in config (``demo`` -> configs/demo.yaml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    builtin = BUILTIN_CONFIGS / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    known = ", ".join(sorted(p.stem for p in BUILTIN_CONFIGS.glob("*.yaml")))
    raise ConfigError(
        f"config {str(name_or_path)!r}: no such file, nor a built-in config ({known})"
    )


def load_config(
    model: type[M],
    source: str | Path,
    overrides: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> M:
    """Load a YAML file (or built-in config name), apply overrides, validate against ``model``.

    ``ignore``: top-level sections dropped before validation (those of a larger study that
    this model does not read, e.g. ``search`` when only the events are wanted).
    """
    path = resolve_config_path(source)
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config {str(path)!r}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start})"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            " ".join(f"config {str(path)!r}: not valid YAML ({exc})".split())
        ) from None
    except OSError as exc:
        raise ConfigError(f"config {str(path)!r}: cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {str(path)!r}: expected a mapping of sections at the top level")
    data = {key: value for key, value in data.items() if key not in set(ignore)}
    return validate_config(model, apply_overrides(data, overrides))
