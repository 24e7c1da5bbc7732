"""One base class for every config: model configs saved beside weights, and run configs in configs/.

A config is a ``@dataclass`` that inherits ``Config``. ``from_dict`` builds it from JSON, turning
lists into tuples and nested objects into their own config classes (a run config holds a model
config and a ``TrainerConfig``); ``to_dict`` gives JSON back. Model configs ignore keys they do not
know, so a ``config.json`` written by a newer version still loads; run configs refuse them, so a
typo in ``configs/NAME.json`` is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="Config")


class Config:
    """Mixin for dataclass configs: ``from_dict`` / ``from_json`` / ``to_dict``."""

    ignore_unknown: ClassVar[bool] = True  # run configs set False: an unknown key is a typo

    @classmethod
    def from_dict(cls: type[C], d: dict) -> C:
        if not isinstance(d, dict):
            raise TypeError(f"a {cls.__name__} is a JSON object, got {type(d).__name__}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(d) - names
        if unknown and not cls.ignore_unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}")
        return cls(**{k: _convert(hints[k], v) for k, v in d.items() if k in names})

    @classmethod
    def from_json(cls: type[C], path: str | Path) -> C:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))  # type: ignore[call-overload]


def _convert(hint: Any, value: Any) -> Any:
    """A JSON value into the field's type: nested configs built, lists made tuples where the field is one."""
    if isinstance(hint, type) and issubclass(hint, Config) and isinstance(value, dict):
        return hint.from_dict(value)
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):  # X | None
        for arg in typing.get_args(hint):
            if arg is not type(None):
                return _convert(arg, value)
    return value


def _plain(value: Any) -> Any:
    """Tuples -> lists, recursively, for JSON."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
