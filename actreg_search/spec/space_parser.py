"""The ``[space]`` table of a study file: what the sampler searches, validated against the model.

Each entry is one value, a list of values (a choice) or a table
``{ low, high, log }`` (a range; not for the grid sampler); placements and
sizes must apply to the model's family. The training knobs are searched the
same way: ``learning_rate`` (> 0), ``dropout`` (in [0, 1); a range may start
at 0 unless it is logarithmic), ``batch_size`` (an integer ≥ 1) and
``activation`` (a choice of names). ``[space.builder]`` holds a builder's own
hyperparameters (numbers, strings, booleans; a range of integers when both
ends are integers), never named like a built-in key or a builder's
positional arguments. ``per_layer = true`` has each marked layer draw its
own penalty: never with ``layers`` or the grid sampler, and only for a model
with several marked layers. Read with a
:class:`~actreg_search.spec.reading.TableReader`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from actreg_search.spec.reading import E, TableReader, show
from actreg_search.spec.specs import Choice, ModelSpec, Param, Range, SpaceSpec
from actreg_search.spec.vocab import (
    ACTIVATIONS, KL_ACTIVATIONS, RHO_RANGE, SIZE_KEYS, Family, PenaltyName, Placement, Regularizer, SamplerName,
)

DROPOUT_IN_FILE = "does not apply to a model from a .keras file (its Dropout layers keep the file's rates)"


def parse_space(p: TableReader, t: Mapping[str, Any], sampler: SamplerName, model: ModelSpec) -> SpaceSpec:
    d = SpaceSpec()
    family = model.family
    grid = sampler is SamplerName.GRID
    for key in SIZE_KEYS:
        if key in t and key != family.size_key:
            raise p.fail(f"[space] {key}", f"does not apply to family {family.value!r}; use {family.size_key}")
    if model.file is not None and family.size_key in t:
        raise p.fail(f"[space] {family.size_key}", "does not apply to a model from a .keras file (the file fixes every size)")
    regularizer = _regularizers(p, t, d.regularizer)
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
        if t.get("per_layer") is True:
            raise p.fail(PER_LAYER, "each marked layer draws its own penalty, and [space] layers picks the layers of "
                         "one shared penalty: use one or the other")
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
    knobs = _knobs(p, t, model, grid)
    knobs["rho"] = _rho(p, t, regularizer, grid)
    _check_activated(p, regularizer, model, knobs.get("activation"))
    if t.get("builder") is not None:
        knobs["builder"] = _builder(p, t["builder"], model, grid)
    per_layer = _per_layer(p, t.get("per_layer", False), sampler, model, hidden_layers)
    return SpaceSpec(
        regularizer, placement, coefficient, hidden_units=hidden_units, layers=layers, hidden_layers=hidden_layers,
        per_layer=per_layer, balance=_balance(p, t.get("balance", False), sampler, regularizer, placement),
        **optional, **knobs,
    )


def _balance(p: TableReader, value: Any, sampler: SamplerName, regularizer: Choice, placement: Choice) -> bool:
    """``[space] balance``: true or false; never with the grid sampler (it tries every config once already), nor
    with a single penalty (nothing to take turns)."""
    key = "[space] balance"
    if not isinstance(value, bool):
        raise p.fail(key, f"must be true or false, got {show(value)}")
    if value and sampler is SamplerName.GRID:
        raise p.fail(key, 'the grid sampler tries every penalty equally already; use sampler = "tpe" or "random"')
    only = regularizer.values[0]
    if value and regularizer.fixed and (placement.fixed or only is Regularizer.NONE or only.activated):
        raise p.fail(key, "needs more than one penalty to take turns; list several in [space] regularizer or placement")
    return value


PER_LAYER = "[space] per_layer"
SEVERAL = "needs a model with several marked layers"


def _per_layer(p: TableReader, value: Any, sampler: SamplerName, model: ModelSpec, hidden_layers: Param | None) -> bool:
    """``[space] per_layer``: true or false; never with ``[space] layers`` (one penalty's layers) or the grid sampler;
    a built-in model (or a ``.keras`` file) with one marked layer is refused here, a builder's once it is built."""
    if not isinstance(value, bool):
        raise p.fail(PER_LAYER, f"must be true or false, got {show(value)}")
    if not value:
        return False
    if sampler is SamplerName.GRID:
        raise p.fail(PER_LAYER, 'the grid sampler cannot list a penalty per layer (its grid multiplies with every layer); '
                     'use sampler = "tpe" or "random"')
    if model.user:
        if model.regularize is not None and len(model.regularize) < 2:
            raise p.fail(PER_LAYER, f"{SEVERAL}; {model.origin} has one: {model.regularize[0]!r}")
        return True
    if model.family is not Family.MLP:
        raise p.fail(PER_LAYER, f"{SEVERAL}; the built-in {model.family.value} has one: 'hidden'")
    deepest = model.hidden_layers
    if hidden_layers is not None:
        deepest = int(hidden_layers.high if isinstance(hidden_layers, Range) else max(hidden_layers.values))
    if deepest < 2:
        raise p.fail(PER_LAYER, f"{SEVERAL}; the built-in mlp has one: 'hidden' (set [model] hidden_layers to 2 or more, "
                     "or search [space] hidden_layers)")
    return True


def _knobs(p: TableReader, t: Mapping[str, Any], model: ModelSpec, grid: bool) -> dict[str, Param | None]:
    """The searched training knobs: ``learning_rate``, ``dropout``, ``batch_size``, ``activation`` (``None``: not searched)."""
    knobs: dict[str, Param | None] = {}
    if t.get("learning_rate") is not None:
        knobs["learning_rate"] = _param(p, t["learning_rate"], "learning_rate", integer=False, grid=grid)
    if t.get("batch_size") is not None:
        knobs["batch_size"] = _param(p, t["batch_size"], "batch_size", integer=True, grid=grid)
    if t.get("dropout") is not None:
        if model.file is not None:
            raise p.fail("[space] dropout", DROPOUT_IN_FILE)
        knobs["dropout"] = _dropout(p, t["dropout"], grid)
    if t.get("activation") is not None:
        key = "[space] activation"
        knobs["activation"] = Choice(p.distinct_items(t["activation"], key, lambda v: activation_name(p, v, key)))
    return knobs


def _regularizers(p: TableReader, t: Mapping[str, Any], default: Choice) -> Choice:
    """``[space] regularizer``: the built-in kinds, and penalties of your own named ``"file.py:function"``."""
    if "regularizer" not in t:
        return default
    key = "[space] regularizer"

    def item(value: Any) -> Regularizer | PenaltyName:
        if isinstance(value, str) and ":" in value:
            path, _, name = value.rpartition(":")
            if not path.strip() or not name.isidentifier():
                raise p.fail(key, f"a penalty of your own is 'file.py:function' or 'module:function', got {value!r}")
            return PenaltyName(f"{p.resolve(path)}:{name}" if path.endswith(".py") else value)
        if isinstance(value, Regularizer) and value is not Regularizer.CUSTOM:
            return value
        named = [r.value for r in Regularizer if r is not Regularizer.CUSTOM]
        if value not in named:
            shown = repr(value) if isinstance(value, str) else show(value)
            raise p.fail(key, f"unknown value {shown}; allowed: {', '.join(named)}, or a penalty of your own 'file.py:function'")
        return Regularizer(value)

    return Choice(p.distinct_items(t["regularizer"], key, item))


def _rho(p: TableReader, t: Mapping[str, Any], regularizer: Choice, grid: bool) -> Param | None:
    """``kl_sparsity``'s target mean activation: a value, list or range in (0, 1); its default range where the key is left out."""
    key = "[space] rho"
    if Regularizer.KL_SPARSITY not in regularizer.values:
        if t.get("rho") is not None:
            raise p.fail(key, "applies to regularizer kl_sparsity only (its target mean activation)")
        return None
    if t.get("rho") is None:
        return Choice((0.05,)) if grid else Range(*RHO_RANGE, log=False, integer=False)  # a grid lists values: the classic 0.05

    def target(v: Any, k: str) -> float:
        number = p.finite(v, k)
        if not 0 < number < 1:
            raise p.fail(k, f"must be in (0, 1) (a mean activation), got {v}")
        return number

    return _bounded(p, t["rho"], key, grid, target)


def _check_activated(p: TableReader, regularizer: Choice, model: ModelSpec, activations: Param | None) -> None:
    """``kl_sparsity`` reads a mean activation in [0, 1): a built-in model's relu or sigmoid, never the rnn's tanh
    output; ``tar`` reads a sequence, which no built-in model's marked layer returns."""
    if model.user:
        return  # a user's layers are checked once the model is built
    if Regularizer.TAR in regularizer.values and model.family is not Family.RNN:
        raise p.fail("[space] regularizer", f"tar applies to an LSTM's sequence output: family 'rnn', or a builder's "
                     f"reg.LSTM(return_sequences=True); family {model.family.value!r} has none")
    if Regularizer.KL_SPARSITY not in regularizer.values:
        return
    if model.family is Family.RNN:
        raise p.fail("[space] regularizer", "kl_sparsity does not apply to family 'rnn' (an LSTM's output is a tanh, in (-1, 1)); "
                     "use l1, l2, l1_l2 or decov")
    used = activations.values if isinstance(activations, Choice) else (model.activation,)
    for activation in used:
        if activation not in KL_ACTIVATIONS:
            raise p.fail("[space] regularizer", f"kl_sparsity needs a relu or sigmoid activation (a mean activation in [0, 1)), "
                         f"and the model uses {activation!r}")


BUILDER_ARGUMENTS = ("reg", "input_shape", "n_classes")
"""What every builder is given positionally: no hyperparameter takes these names."""


def _builder(p: TableReader, t: Any, model: ModelSpec, grid: bool) -> tuple[tuple[str, Param], ...]:
    """``[space.builder]``: a builder's own hyperparameters, each a value, a list or a range (``builder.<name>`` in Optuna)."""
    key = "[space.builder]"
    if model.builder is None:
        where = "a .keras file (it fixes its architecture)" if model.file is not None else "the built-in families"
        raise p.fail(key, f"a builder's own hyperparameters; {where} take none")
    if not isinstance(t, dict):
        raise p.fail(key, f"must be a table of name = value, list or range, got {show(t)}")
    built_in = {*(f.name for f in dataclasses.fields(SpaceSpec)), *SIZE_KEYS, *BUILDER_ARGUMENTS}
    params = []
    for name, value in sorted(t.items()):
        here = f"{key} {name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise p.fail(here, "must be a Python identifier (it is passed as a keyword argument)")
        if name in built_in:
            raise p.fail(here, f"is a built-in name; choose another (built-in: {', '.join(sorted(built_in))})")
        params.append((name, _builder_param(p, value, here, grid)))
    return tuple(params)


def _builder_param(p: TableReader, value: Any, key: str, grid: bool) -> Param:
    if isinstance(value, (Choice, Range)):
        value = {"low": value.low, "high": value.high, "log": value.log} if isinstance(value, Range) else list(value.values)
    if isinstance(value, dict):
        integer = all(isinstance(value.get(k), int) and not isinstance(value.get(k), bool) for k in ("low", "high"))
        return _range(p, value, key, integer, grid, end=lambda v, k: int(v) if integer else p.finite(v, k))

    def scalar(v: Any) -> Any:
        if isinstance(v, bool) or isinstance(v, (int, str)):
            return v
        return p.finite(v, key)

    return Choice(p.distinct_items(value, key, scalar))


def activation_name(p: TableReader, value: Any, key: str) -> str:
    """An activation the models accept (:data:`~actreg_search.spec.vocab.ACTIVATIONS`)."""
    if value not in ACTIVATIONS:
        raise p.fail(key, f"unknown value {show(value)}; allowed: {', '.join(ACTIVATIONS)}")
    return str(value)


def dropout_rate(p: TableReader, value: Any, key: str) -> float:
    """A dropout rate: a number in [0, 1)."""
    rate = p.finite(value, key)
    if not 0 <= rate < 1:
        raise p.fail(key, f"must be in [0, 1), got {value}")
    return rate


def _dropout(p: TableReader, value: Any, grid: bool) -> Param:
    return _bounded(p, value, "[space] dropout", grid, lambda v, k: dropout_rate(p, v, k))


def _bounded(p: TableReader, value: Any, key: str, grid: bool, check: Callable[[Any, str], float]) -> Param:
    """A number, a list or a ``{ low, high, log }`` range of them, each value (each end) passed by ``check``; a
    ``Choice`` or ``Range`` built in Python (``make_spec``) is checked alike."""
    if isinstance(value, Range):
        value = {"low": value.low, "high": value.high, "log": value.log}
    elif isinstance(value, Choice):
        value = list(value.values)
    if isinstance(value, dict):
        return _range(p, value, key, integer=False, grid=grid, end=check)
    return Choice(p.distinct_items(value, key, lambda v: check(v, key)))


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


def _range(
    p: TableReader, value: Mapping[str, Any], key: str, integer: bool, grid: bool, end: Callable[[Any, str], Any] | None = None
) -> Range:
    """A ``{ low, high, log }`` range; ``end`` checks each end (default: a positive number, an integer if ``integer``)."""
    if grid:
        raise p.fail(key, "the grid sampler needs a list of values, not a range")
    allowed = ("low", "high", "log")
    for k in value:
        if k not in allowed:
            raise p.fail(f"{key}.{k}", f"unknown key; allowed: {', '.join(allowed)}")
    for k in ("low", "high"):
        if k not in value:
            raise p.fail(key, f"a range needs '{k}'")
    check = end or (lambda v, k: _param_value(p, v, k, integer))
    low, high = check(value["low"], f"{key}.low"), check(value["high"], f"{key}.high")
    if low > high:
        raise p.fail(key, f"low must be ≤ high, got low={low}, high={high}")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise p.fail(f"{key}.log", f"must be true or false, got {show(log)}")
    if log and low <= 0:
        raise p.fail(f"{key}.low", f"a log range must start above 0, got {low}")
    return Range(low=low, high=high, log=log, integer=integer)
