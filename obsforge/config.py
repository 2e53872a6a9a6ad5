"""Validated configurations: the base model, YAML loading, ``--set`` overrides, hashing.

Every configuration in obsforge is a pydantic model derived from :class:`Config`. Unknown keys
are refused, values are checked at load time, and any failure becomes a one-line
:class:`ConfigError` that names the field, the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "Config",
    "ConfigError",
    "apply_overrides",
    "check_names",
    "config_hash",
    "load_config",
    "validate_config",
]

BUILTIN_CONFIGS = Path(__file__).parent / "configs"

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration value is not allowed; the message is one line naming field and value."""


class Config(BaseModel):
    """Base of all obsforge configurations: immutable, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def check_names(field: str, values, allowed) -> list:
    """``values`` as a list if they are distinct members of ``allowed``; else a ValueError
    naming the field, the unknown values and what is allowed (validators call this)."""
    values, allowed = list(values), list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown or not values or len(set(values)) != len(values):
        raise ValueError(
            f"{field} = {values}: allowed are distinct names from {allowed} (unknown: {unknown})"
        )
    return values


def _describe(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "<config>"
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown key (check the spelling; allowed keys are the model's fields)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{field} = {error['input']!r}: {message}"


def validate_config(model: type[M], data: Mapping[str, Any]) -> M:
    """Validate ``data`` against ``model``; raise :class:`ConfigError` with one line per problem.

    >>> from pydantic import Field
    >>> class Example(Config):
    ...     n_events: int = Field(gt=0)
    >>> validate_config(Example, {"n_events": 0})
    Traceback (most recent call last):
    ...
    obsforge.config.ConfigError: n_events = 0: Input should be greater than 0
    """
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        problems = [_describe(err) for err in exc.errors()]
        raise ConfigError("; ".join(problems)) from None


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


def load_config(model: type[M], source: str | Path, overrides: Iterable[str] = ()) -> M:
    """Load a YAML file (or built-in config name), apply overrides, validate against ``model``."""
    path = resolve_config_path(source)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"config {str(path)!r}: not valid YAML ({exc})".replace("\n", " ")
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {str(path)!r}: expected a mapping of sections at the top level")
    return validate_config(model, apply_overrides(data, overrides))


def config_hash(config: BaseModel | Mapping[str, Any], *upstream: str, length: int = 12) -> str:
    """Stable short hash of a config (canonical JSON) and the hashes of the stages it reads.

    >>> config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    True
    """
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    text = json.dumps({"config": data, "upstream": list(upstream)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
