"""YAML configs read with yaml.safe_load into dataclasses; an unknown key is an error.

A config file is a mapping whose keys must be fields of the dataclass that the stage declares.
Nested dataclass fields take nested mappings. Typos therefore fail loudly instead of silently
falling back to a default.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {getattr(e, 'problem', e)}") from None


def from_dict(cls: type[T], values: dict | None, where: str = "config") -> T:
    """Builds dataclass `cls` from `values`, rejecting unknown keys and checking simple types."""
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    # keys renamed since a release: configs of experiments made then still load
    for old, (new, convert) in getattr(cls, "RENAMED_KEYS", {}).items():
        if old in values and new not in values:
            values = {**{k: v for k, v in values.items() if k != old}, new: convert(values[old])}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin is typing.Union or str(origin) == "types.UnionType":
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _coerce(non_none[0], value, where)
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not (type(value) is hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    if origin in (list, tuple) and not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    if origin is list and args and dataclasses.is_dataclass(args[0]):
        return [from_dict(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict and not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    return value


def load_config(cls: type[T], path: str | Path | None, overrides: dict | None = None) -> T:
    """Reads `path` (or nothing) into `cls`, then applies `overrides` (already-parsed values)."""
    values = {}
    if path is not None:
        values = read_yaml(path) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
    values = {**values, **(overrides or {})}
    return from_dict(cls, values, str(path) if path is not None else "config")


def to_dict(obj: Any) -> dict:
    return dataclasses.asdict(obj)


def dump_config(obj: Any, path: str | Path) -> None:
    from emogcn.atomic import write_text

    write_text(path, yaml.safe_dump(to_dict(obj), sort_keys=False))
