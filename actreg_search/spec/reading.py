"""Reading a study file's tables: typed values out of TOML's, with errors that name the file and the key.

:class:`TableReader` is what the study-file parser (:mod:`actreg_search.spec.parser`)
and its table parsers (:mod:`~actreg_search.spec.data_parser`,
:mod:`~actreg_search.spec.space_parser`) share: one value at a time, each
problem a :class:`~actreg_search.errors.SpecError` such as
``study.toml: [model] epochs: must be ≥ 1, got 0``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from actreg_search.errors import SpecError

#: The source of a spec read back from storage (:func:`actreg_search.spec.parser.parse_raw`).
STORED = "<stored spec>"

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def show(value: Any) -> str:
    """A value as a message shows it: ``'x' (str)``, or ``nothing`` for a missing one."""
    if value is None:
        return "nothing"
    return f"{value!r} ({type(value).__name__})"


def fields_of(cls: type) -> tuple[str, ...]:
    """The keys of the table a spec dataclass is read from (its fields but ``source``)."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "source")


class TableReader:
    """Reads typed values out of raw tables; every problem names the source and the key.

    Args:
        source: The study file's path, or a name in angle brackets for a spec
            not read from a file (``<stored spec>``, ``<make_spec>``): paths
            are then kept as written.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(f"{self.source}: {key}: {problem}")

    def table(self, raw: Mapping[str, Any], name: str, allowed: Sequence[str], required: bool) -> dict[str, Any]:
        if name not in raw:
            if required:
                raise self.fail(f"[{name}]", "missing table")
            return {}
        table = raw[name]
        if not isinstance(table, dict):
            raise self.fail(f"[{name}]", "must be a table")
        for key in table:
            if key not in allowed:
                raise self.fail(f"[{name}] {key}", f"unknown key; allowed: {', '.join(allowed)}")
        return table

    def integer(self, table: Mapping[str, Any], section: str, key: str, default: int, minimum: int | None) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"[{section}] {key}", f"must be an integer, got {show(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(f"[{section}] {key}", f"must be ≥ {minimum}, got {value}")
        return value

    def number(self, table: Mapping[str, Any], section: str, key: str, default: float, positive: bool) -> float:
        value = table.get(key, default)
        value = self.finite(value, f"[{section}] {key}")
        if positive and value <= 0:
            raise self.fail(f"[{section}] {key}", f"must be > 0, got {value}")
        if not positive and value < 0:
            raise self.fail(f"[{section}] {key}", f"must be ≥ 0, got {value}")
        return value

    def finite(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {show(value)}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be finite, got {value}")
        return float(value)

    def enum(self, table: Mapping[str, Any], section: str, key: str, kind: type[E], default: E) -> E:
        return self.enum_value(table.get(key, default), f"[{section}] {key}", kind)

    def enum_value(self, value: Any, key: str, kind: type[E]) -> E:
        allowed = ", ".join(str(m.value) for m in kind)
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, one of: {allowed}; got {show(value)}")
        try:
            return kind(value)
        except ValueError:
            raise self.fail(key, f"unknown value {value!r}; allowed: {allowed}") from None

    def string(self, t: Mapping[str, Any], section: str, key: str) -> str:
        value = t.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"[{section}] {key}", f"must be a non-empty string, got {show(value)}")
        return value

    def distinct_items(self, value: Any, key: str, check: Callable[[Any], T], noun: str = "values") -> tuple[T, ...]:
        """One value or a non-empty list of distinct values, each passed through ``check``."""
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.fail(key, "must not be an empty list")
        checked = tuple(check(v) for v in items)
        if len(set(checked)) != len(checked):
            raise self.fail(key, f"{noun} must be distinct, got {value}")
        return checked

    def resolve(self, path: str) -> str:
        """A path relative to the study file's folder, made absolute (a stored spec's paths are kept as they are)."""
        if self.source.startswith("<"):
            return path
        return str((Path(self.source).parent / path).resolve())

    def layer_name(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be layer names, got {show(value)}")
        return value

