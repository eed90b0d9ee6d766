"""Samples to JSON and back, exactly: a recording stores a round as its JSON, and a replay hands
the app the same immutable samples a live poll would. The decoder walks the dataclasses' own
type hints (tuples, unions, nested samples), so a field added to a sample is recorded and
replayed without a line here; a field a newer version added is ignored by an older one."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def encode(sample: Any, *, compact: bool = False) -> Any:
    """A sample (or anything inside one) as JSON-able values. `compact` leaves out the fields
    that hold their default (decode() puts the default back): a recording's rounds shrink by
    the many None and empty figures a sample carries."""
    if dataclasses.is_dataclass(sample) and not isinstance(sample, type):
        out = {}
        for f in dataclasses.fields(sample):
            value = getattr(sample, f.name)
            if compact and _is_default(f, value):
                continue
            out[f.name] = encode(value, compact=compact)
        return out
    if isinstance(sample, tuple | list):
        return [encode(item, compact=compact) for item in sample]
    if isinstance(sample, Mapping):
        return {str(k): encode(v, compact=compact) for k, v in sample.items()}
    return sample


def _is_default(field: dataclasses.Field[Any], value: Any) -> bool:
    if field.default is not dataclasses.MISSING:
        return bool(value == field.default)
    if field.default_factory is not dataclasses.MISSING:
        return bool(value == field.default_factory())
    return False


def decode(cls: type[T], data: Any) -> T:
    """The dataclass `cls` from what encode() gave; unknown keys are ignored."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)  # type: ignore[arg-type]
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.init and field.name in data:
            values[field.name] = _value(hints[field.name], data[field.name])
    return cls(**values)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _value(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        samples = [a for a in options if dataclasses.is_dataclass(a) and isinstance(a, type)]
        if samples and isinstance(value, Mapping):
            return decode(samples[0], value)
        if len(options) == 1:
            return _value(options[0], value)
        return _plain(value)
    if origin is tuple:
        args = get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], item) for item in value)
        return tuple(_value(a, item) for a, item in zip(args, value, strict=False))
    if origin in (dict, Mapping) or kind is dict:
        args = get_args(kind)
        inner = args[1] if len(args) == 2 else Any
        return {k: _value(inner, v) for k, v in value.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return decode(kind, value)
    if kind is float:
        return float(value)
    if kind is int and not isinstance(value, bool):
        return int(value)
    return _plain(value)


def _plain(value: Any) -> Any:
    return tuple(_plain(v) for v in value) if isinstance(value, list) else value
