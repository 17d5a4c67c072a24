"""The ``[space]`` table of a study file: what the sampler searches, validated against the model.

Each entry is one value, a list of values (a choice) or a table
``{ low, high, log }`` (a range; not for the grid sampler); placements and
sizes must apply to the model's family. Read with a
:class:`~actreg_search.spec.reading.TableReader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actreg_search.spec.reading import E, TableReader, show
from actreg_search.spec.specs import Choice, ModelSpec, Param, Range, SpaceSpec
from actreg_search.spec.vocab import SIZE_KEYS, Family, Placement, Regularizer, SamplerName


def parse_space(p: TableReader, t: Mapping[str, Any], sampler: SamplerName, model: ModelSpec) -> SpaceSpec:
    d = SpaceSpec()
    family = model.family
    grid = sampler is SamplerName.GRID
    for key in SIZE_KEYS:
        if key in t and key != family.size_key:
            raise p.fail(f"[space] {key}", f"does not apply to family {family.value!r}; use {family.size_key}")
    if model.file is not None and family.size_key in t:
        raise p.fail(f"[space] {family.size_key}", "does not apply to a model from a .keras file (the file fixes every size)")
    regularizer = _choice(p, t, "regularizer", Regularizer, d.regularizer)
    placement = _choice(p, t, "placement", Placement, Choice(family.placements))
    if not model.user:  # a user's layers are known once the model is built (usermodel.check_model)
        for value in placement.values:
            if value not in family.placements:
                allowed = ", ".join(p.value for p in family.placements)
                raise p.fail("[space] placement", f"{value.value!r} does not apply to family {family.value!r}; allowed: {allowed}")
    coefficient = _param(p, t.get("coefficient", d.coefficient), "coefficient", integer=False, grid=grid)
    size = family.size_key
    optional = {
        key: None if t.get(key) is None else _param(p, t[key], key, integer=False, grid=grid)
        for key in ("l1_coefficient", "l2_coefficient")
    }
    hidden_units = None if t.get(size) is None else _param(p, t[size], size, integer=True, grid=grid)
    layers = None
    if t.get("layers") is not None:
        if not model.user:
            raise p.fail("[space] layers", "applies to a builder's or a .keras file's marked layers; the built-in mlp has hidden_layers")
        layers = Choice(p.distinct_items(t["layers"], "[space] layers", lambda v: p.layer_name(v, "[space] layers")))
        if model.regularize is not None:
            for name in layers.values:
                if name != "all" and name not in model.regularize:
                    allowed = ", ".join((*model.regularize, "all"))
                    raise p.fail("[space] layers", f"{name!r} is not a regularized layer; allowed: {allowed}")
    hidden_layers = None
    if t.get("hidden_layers") is not None:
        if model.user or family is not Family.MLP:
            raise p.fail("[space] hidden_layers", "applies to the built-in mlp only")
        hidden_layers = _param(p, t["hidden_layers"], "hidden_layers", integer=True, grid=grid)
    return SpaceSpec(
        regularizer, placement, coefficient, hidden_units=hidden_units, layers=layers, hidden_layers=hidden_layers, **optional
    )


def _choice(p: TableReader, t: Mapping[str, Any], key: str, kind: type[E], default: Choice) -> Choice:
    if key not in t:
        return default
    name = f"[space] {key}"
    return Choice(p.distinct_items(t[key], name, lambda v: p.enum_value(v, name, kind)))


def _param(p: TableReader, value: Any, name: str, integer: bool, grid: bool) -> Param:
    key = f"[space] {name}"
    if isinstance(value, (Choice, Range)):
        if grid and isinstance(value, Range):
            raise p.fail(key, "the grid sampler needs a list of values, not a range")
        return value
    if isinstance(value, dict):
        return _range(p, value, key, integer, grid)
    return Choice(p.distinct_items(value, key, lambda v: _param_value(p, v, key, integer)))


def _param_value(p: TableReader, value: Any, key: str, integer: bool) -> float | int:
    if integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise p.fail(key, f"must be an integer, got {show(value)}")
        if value < 1:
            raise p.fail(key, f"must be ≥ 1, got {value}")
        return value
    number = p.finite(value, key)
    if number <= 0:
        raise p.fail(key, f"must be > 0, got {value}")
    return number


def _range(p: TableReader, value: Mapping[str, Any], key: str, integer: bool, grid: bool) -> Range:
    if grid:
        raise p.fail(key, "the grid sampler needs a list of values, not a range")
    allowed = ("low", "high", "log")
    for k in value:
        if k not in allowed:
            raise p.fail(f"{key}.{k}", f"unknown key; allowed: {', '.join(allowed)}")
    for k in ("low", "high"):
        if k not in value:
            raise p.fail(key, f"a range needs '{k}'")
    low = _param_value(p, value["low"], f"{key}.low", integer)
    high = _param_value(p, value["high"], f"{key}.high", integer)
    if low > high:
        raise p.fail(key, f"low must be ≤ high, got low={low}, high={high}")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise p.fail(f"{key}.log", f"must be true or false, got {show(log)}")
    return Range(low=low, high=high, log=log, integer=integer)
