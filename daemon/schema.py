"""Turns parsed TOML tables into typed, frozen configuration objects.

One generic loader serves every section: the dataclasses in `daemon.config` are the
schema, so a key that is not a field is an error naming the key, and a value of the
wrong type is an error naming the key and the type it should have.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import logging
import types
import typing
from typing import Any, Union

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration problem, worded for the operator, naming the key at fault."""


def build(cls: type, table: Any, path: str) -> Any:
    """Build dataclass `cls` from `table`, rejecting unknown keys and wrong types."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path or 'the file'}: expected a table, got {_kind(table)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    table = _without_retired(cls, table, path)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{_join(path, unknown[0])}: unknown key (known: {', '.join(sorted(fields))})")
    values = {}
    for name, value in table.items():
        values[name] = convert(hints[name], value, _join(path, name))
    try:
        obj = cls(**values)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"{path or 'the file'}: {exc}") from None
    check = getattr(obj, "validate", None)
    if check:
        check(path)
    return obj


def _without_retired(cls: type, table: dict, path: str) -> dict:
    """`table` less the keys a section no longer reads (`RETIRED`: key -> why), each named in a
    warning: a configuration written for an earlier release still starts."""
    retired = getattr(cls, "RETIRED", {})
    for key in sorted(set(table) & set(retired)):
        log.warning("%s: no longer used (%s); remove it", _join(path, key), retired[key])
    return {key: value for key, value in table.items() if key not in retired}


def convert(hint: Any, value: Any, path: str) -> Any:
    """Convert one TOML value to the annotated type, or raise ConfigError naming `path`."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return _convert_union(typing.get_args(hint), value, path)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{path}: must be one of {', '.join(map(repr, allowed))}, got {value!r}")
        return value
    if origin is tuple:
        return _convert_tuple(typing.get_args(hint), value, path)
    if origin in (dict, collections.abc.Mapping):  # get_origin gives collections.abc.Mapping for typing.Mapping
        return _convert_mapping(typing.get_args(hint), value, path)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build(hint, value, path)
    return _convert_scalar(hint, value, path)


def _convert_union(options: tuple, value: Any, path: str) -> Any:
    if value is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return convert(option, value, path)
        except ConfigError as exc:
            errors.append(str(exc))
    raise ConfigError(errors[0] if errors else f"{path}: bad value {value!r}")


def _convert_tuple(args: tuple, value: Any, path: str) -> tuple:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected a list, got {_kind(value)}")
    item_type = args[0] if args else Any
    return tuple(convert(item_type, item, f"{path}[{i}]") for i, item in enumerate(value))


def _convert_mapping(args: tuple, value: Any, path: str) -> types.MappingProxyType:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a table, got {_kind(value)}")
    value_type = args[1] if len(args) == 2 else Any
    return types.MappingProxyType({key: convert(value_type, item, _join(path, key)) for key, item in value.items()})


def _convert_scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int in Python; a TOML `true` where a number belongs is a mistake.
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"{path}: expected {_type_name(hint)}, got {_kind(value)} {value!r}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _type_name(hint: Any) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(hint, str(hint))
