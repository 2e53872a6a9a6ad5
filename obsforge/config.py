"""Validated configurations: the base model, one-line errors, hashing (files and ``--set``
overrides: :mod:`obsforge.config_files`).

Every configuration in obsforge is a pydantic model derived from :class:`Config`. Unknown keys
are refused, values are checked at load time, and any failure becomes a one-line
:class:`ConfigError` that names the field, the value and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "MAX_COUNT",
    "MAX_TASKS",
    "Config",
    "ConfigError",
    "Count",
    "RunName",
    "UserError",
    "check_names",
    "config_hash",
    "validate_config",
]


M = TypeVar("M", bound=BaseModel)


class UserError(Exception):
    """An expected failure (bad input, a missing file or table, an unreachable scheduler): the
    CLI prints its one-line message and exits with status 2, without a traceback."""


class ConfigError(UserError, ValueError):
    """A configuration value is not allowed; the message is one line naming field and value."""


# The largest count of events, jets, samples or simulations a config may ask for: no study here
# needs more, and a slip such as 1e12 is caught at load time, not hours into a run.
MAX_COUNT = 10**10

# The most tasks (chunks, batches) one stage may plan: each is a few hundred bytes in the plan.
MAX_TASKS = 100_000

Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
"""A positive count of events, samples or simulations (at most :data:`MAX_COUNT`)."""


def _run_name(name: str) -> str:
    if not RUN_NAME.fullmatch(name):
        raise ValueError(
            "allowed is one plain folder name of 1-100 letters, digits, '_', '-' or '.', not "
            "starting with '.' (so never '..' or a path)"
        )
    return name


RUN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
RunName = Annotated[str, AfterValidator(_run_name)]
"""The name of a run: one path component under ``runs_dir`` ('..' and '.x' are refused)."""


def _plain_types(annotation: Any) -> set[type]:
    """The classes an annotation admits (``int | None`` -> {int, NoneType})."""
    if typing.get_origin(annotation) is Annotated:
        return _plain_types(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set().union(*(_plain_types(a) for a in typing.get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else set()


class Config(BaseModel):
    """Base of all obsforge configurations: immutable, strict about unknown keys; numbers are
    finite (no inf or NaN anywhere) and a boolean is never read as a number."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            allowed = _plain_types(cls.model_fields[info.field_name].annotation)
            if bool not in allowed and allowed & {int, float}:
                raise ValueError("a boolean is not a number; give a number")
        return value


def check_names(field: str, values, allowed) -> list:
    """``values`` as a list if they are distinct members of ``allowed``; else a ValueError
    naming the field, the offending values and what is allowed (validators call this)."""
    values, allowed = list(values), list(allowed)
    unknown = [v for v in values if v not in allowed]
    repeated = sorted({v for v in values if values.count(v) > 1}, key=values.index)
    if unknown:
        raise ValueError(f"{field}: unknown {unknown}; allowed are {allowed}")
    if repeated:
        raise ValueError(f"{field}: {repeated} given more than once; each name at most once")
    if not values:
        raise ValueError(f"{field}: empty; give at least one of {allowed}")
    return values


def _describe(error: Mapping[str, Any]) -> str:
    field = ".".join(str(part) for part in error["loc"])
    if not field:  # a rule about the whole config: its message names the fields
        return error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{field}: unknown key (check the spelling; allowed keys are the model's fields)"
    message = error["msg"].removeprefix("Value error, ")
    value = error["input"]
    if isinstance(value, Mapping) or (isinstance(value, list | tuple) and len(value) > 8):
        return f"{field}: {message}"  # a whole section: its name, not its contents
    return f"{field} = {value!r}: {message}"


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


def config_hash(config: BaseModel | Mapping[str, Any], *upstream: str, length: int = 12) -> str:
    """Stable short hash of a config (canonical JSON) and the hashes of the stages it reads.
    A field declared with ``json_schema_extra={"added": True}`` (a setting added after runs
    exist, whose default reproduces them) enters the hash only when it differs from its
    default, so those runs keep their folders.

    >>> config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    True
    """
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    for name, field in type(config).model_fields.items() if isinstance(config, BaseModel) else ():
        extra = field.json_schema_extra
        if (
            isinstance(extra, dict)
            and extra.get("added")
            and getattr(config, name) == field.default
        ):
            data.pop(name)
    text = json.dumps({"config": data, "upstream": list(upstream)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
