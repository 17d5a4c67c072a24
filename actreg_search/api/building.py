"""Study specs from Python: read a study file, or build one from Python values.

:func:`make_spec` takes the four tables of a study file as Python values
(keyword arguments and dicts with the study file's keys) and validates them
with the study file's own parser (:mod:`actreg_search.spec.parser`), so a bad
value gets the same one-line message a study file would. Two values have no
study-file form: a builder given as a Python function, and data given as
arrays (wrapped in an :class:`Arrays` loader). Relative paths are resolved
against the working directory.

:func:`check_spec` validates a :class:`~actreg_search.spec.specs.StudySpec` built
directly from the dataclasses the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from actreg_search.errors import SpecError
from actreg_search.spec.parser import check_spec as parse_check
from actreg_search.spec.parser import load_spec, parse_raw
from actreg_search.spec.specs import DataSpec, StudySpec

__all__ = ["Arrays", "check_spec", "load_spec", "make_spec"]

#: The source named in the messages about a spec built in Python.
SOURCE = "<spec built in Python>"

Data = Mapping[str, Any] | tuple[Any, ...] | list[Any] | Callable[[], Any] | None


class Arrays:
    """A data loader returning arrays given in Python: ``(x, y)`` or ``(x_train, y_train, x_test, y_test)``.

    It stands for ``[data] loader`` when a spec is built from arrays. Its
    name, which a stored spec keeps instead of the arrays, holds their shapes
    and a SHA-1 of their contents: a study resumed with other arrays is
    refused as a study with other settings.

    Args:
        *arrays: Two or four array-likes (NumPy arrays, lists...).

    Raises:
        SpecError: Not two or four arrays.
    """

    def __init__(self, *arrays: Any) -> None:
        import numpy as np

        if len(arrays) not in (2, 4):
            raise SpecError(
                f"{SOURCE}: [data] arrays: give (x, y) or (x_train, y_train, x_test, y_test), got {len(arrays)} arrays"
            )
        self.arrays = tuple(np.asarray(a) for a in arrays)
        digest = hashlib.sha1()
        for a in self.arrays:
            digest.update(f"{a.dtype.str}{a.shape}".encode())
            digest.update(np.ascontiguousarray(a).tobytes() if a.dtype != object else repr(a.tolist()).encode())
        shapes = ", ".join("x".join(map(str, a.shape)) for a in self.arrays)
        self.__qualname__ = f"Arrays({shapes}; sha1 {digest.hexdigest()[:12]})"

    def __call__(self) -> tuple[Any, ...]:
        """The arrays, as a ``[data] loader`` returns them."""
        return self.arrays

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arrays) and other.__qualname__ == self.__qualname__

    def __hash__(self) -> int:
        return hash(self.__qualname__)

    def __repr__(self) -> str:
        return self.__qualname__


def make_spec(
    name: str,
    *,
    builder: str | Callable[..., Any] | None = None,
    data: Data = None,
    model: Mapping[str, Any] | None = None,
    space: Mapping[str, Any] | None = None,
    **study: Any,
) -> StudySpec:
    """Build and validate a study spec from Python values.

    Args:
        name: The study's name (``[study] name``).
        builder: The model: a function ``build(reg, input_shape, n_classes)``
            returning a Keras model (see ``docs/api.md``), or
            ``"file.py:function"``. ``None``: the built-in model of ``model``'s
            ``family`` (default ``mlp``), or ``model``'s ``file``.
        data: The ``[data]`` table as a dict (its ``loader`` may be a function
            or a tuple of arrays); or the arrays themselves, ``(x, y)`` or
            ``(x_train, y_train, x_test, y_test)``; or a function returning
            them. ``None``: the default dataset (circles).
        model: The rest of the ``[model]`` table, e.g. ``{"epochs": 50}``.
        space: The ``[space]`` table, e.g. ``{"regularizer": ["none", "l1"],
            "coefficient": {"low": 1e-5, "high": 1e-2, "log": True}}``.
        **study: The rest of the ``[study]`` table, e.g. ``n_trials=20``,
            ``seeds=5``, ``sampler="random"``.

    Returns:
        The validated spec, ready for :func:`actreg_search.run`.

    Raises:
        SpecError: A value the study file would refuse; the message names the key and what is allowed.
    """
    model_table = _plain(dict(model or {}))
    if builder is not None:
        if "builder" in model_table:
            raise SpecError(f"{SOURCE}: [model] builder: given twice (builder= and model['builder'])")
        model_table["builder"] = builder
    _absolute_reference(model_table, "builder")
    _absolute_path(model_table, "file")
    raw = {
        "study": {"name": name, **_plain(study)},
        "data": _data_table(data),
        "model": model_table,
        "space": _plain(dict(space or {})),
    }
    return parse_raw(raw, source=SOURCE)


def check_spec(spec: StudySpec) -> StudySpec:
    """Validate a spec built from the dataclasses, as a study file's would be.

    Plain strings are accepted where the dataclasses hold enums (e.g.
    ``ModelSpec(family="cnn")``); a builder or loader function is kept as is
    (:func:`actreg_search.spec.parser.check_spec` is the rule).

    Returns:
        The validated spec (enums in place of their strings).

    Raises:
        SpecError: A value the study file would refuse.
    """
    if not isinstance(spec, StudySpec):
        raise SpecError(f"expected a study file path or a StudySpec, got {type(spec).__name__}")
    return parse_check(spec, SOURCE)


def _data_table(data: Data) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, DataSpec):
        raise SpecError(f"{SOURCE}: data: give the [data] table as a dict, arrays or a loader function, not a DataSpec")
    if isinstance(data, (tuple, list)):
        return {"name": "python", "loader": Arrays(*data)}
    if callable(data):
        return {"name": "python", "loader": data}
    if not isinstance(data, Mapping):
        raise SpecError(
            f"{SOURCE}: data: must be a dict (the [data] table), arrays (x, y) or (x_train, y_train, x_test, "
            f"y_test), or a loader function; got {type(data).__name__}"
        )
    table = {k: v for k, v in data.items() if k != "loader"}
    table = _plain(table)
    loader = data.get("loader")
    if loader is not None:
        table.setdefault("name", "python")
        table["loader"] = Arrays(*loader) if isinstance(loader, (tuple, list)) else loader
        _absolute_reference(table, "loader")
    _absolute_path(table, "path")
    return table


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Tuples as lists (the parser reads TOML's arrays), nested dicts likewise."""

    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in values.items()}


def _absolute_reference(table: dict[str, Any], key: str) -> None:
    """``"file.py:function"`` with its file made absolute (against the working directory)."""
    value = table.get(key)
    if isinstance(value, str):
        file, sep, function = value.rpartition(":")
        if sep and file:
            table[key] = f"{Path(file).resolve()}:{function}"


def _absolute_path(table: dict[str, Any], key: str) -> None:
    value = table.get(key)
    if isinstance(value, str) and value.strip():
        table[key] = str(Path(value).resolve())
