"""The YAML configuration file: read, parsed and checked before any setting is built.

The file is strict: a key that is not a setting is refused, naming it (a typo would
otherwise be silently ignored), and every problem becomes a `ConfigError` whose message
is meant for the user who has to fix it.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """The configuration cannot be used; the message says where and why, for the user who
    has to fix it (one line, or a heading and one indented line per problem)."""


NOT_SUPPORTED = {
    "local_mounts": "local mounts are not supported yet",
    "templates": "workspace templates are not supported yet (agents go under "
    "`agents.templates`)",
    "profiles": "resource profiles are not supported yet",
    "credentials": "configured credentials are not supported yet",
}
"""Top-level keys of the API contract (§0.2) that this server does not implement."""


def read_config_file(
    path: Path, model: type[BaseModel], named_by: str | None = None
) -> dict[str, Any]:
    """The settings in the YAML file at `path`, checked for keys that are not fields of
    `model` (the settings class)."""
    origin = f" (from {named_by})" if named_by else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}{origin}") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {path}{origin} is a directory") from None
    except PermissionError:
        raise ConfigError(f"cannot read configuration file {path}: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}: {_yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must be a mapping of settings (`key: value` lines), "
            f"not a {type(data).__name__}"
        )
    for key, reason in NOT_SUPPORTED.items():
        if key in data:
            raise ConfigError(f"configuration key '{key}' in {path}: {reason}")
    unknown = list(_unknown_keys(model, data, ""))
    if len(unknown) == 1:
        key, hint = unknown[0]
        raise ConfigError(f"unknown configuration key {key} in {path}{hint}")
    if unknown:
        listed = "".join(f"\n  {key}{hint}" for key, hint in unknown)
        raise ConfigError(f"unknown configuration keys in {path}:{listed}")
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return str(exc)


def describe_errors(exc: ValidationError, path: Path | None) -> str:
    """`key.path: message` per error; one that came from the environment names its variable,
    and the file is named when any error is not from the environment."""
    env = {name.upper(): name for name in os.environ}
    lines = []
    from_file = False
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        message = error["msg"].removeprefix("Value error, ")
        line = f"{key.lstrip('.')}: {message}" if key else message
        for size in range(len(loc), 0, -1):
            name = "VOLUNDR_" + "__".join(str(part) for part in loc[:size]).upper()
            if name in env:
                line += f" (from ${env[name]})"
                break
        else:
            from_file = True
        lines.append(line)
    heading = "invalid configuration" + (f" in {path}" if path is not None and from_file else "")
    if len(lines) == 1:
        return f"{heading}: {lines[0]}"
    return heading + ":" + "".join(f"\n  {line}" for line in lines)


def _unknown_keys(
    model: type[BaseModel], data: Mapping[Any, Any], prefix: str
) -> Iterator[tuple[str, str]]:
    """`'key.path'` of each key of `data` (nested too) that is not a field of `model`, and
    a ` (did you mean …?)` hint when a field's name is close (else "")."""
    fields = model.model_fields
    for key, value in data.items():
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            yield f"'{prefix}{key}'", hint
        else:
            yield from _unknown_in(field.annotation, value, f"{prefix}{key}")


def _unknown_in(annotation: Any, value: Any, at: str) -> Iterator[tuple[str, str]]:
    """Unknown keys inside `value`, read as `annotation`: models, and lists, dicts and
    optionals of models; anything else has no keys of ours (its type is pydantic's job)."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, Mapping):
            yield from _unknown_keys(annotation, value, f"{at}.")
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _unknown_in(arg, value, at)
    elif origin is list and isinstance(value, list):
        (item_type,) = get_args(annotation)
        for index, item in enumerate(value):
            yield from _unknown_in(item_type, item, f"{at}[{index}]")
    elif origin is dict and isinstance(value, Mapping):
        _, item_type = get_args(annotation)
        for name, item in value.items():
            yield from _unknown_in(item_type, item, f"{at}.{name}")
