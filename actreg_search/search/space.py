"""The search space: the only code that calls ``trial.suggest_*``.

:func:`suggest_config` turns an Optuna trial into a :class:`TrialConfig`. The
space is conditional: ``none`` asks for no placement and no coefficient, so no
trial is spent on duplicates of the unregularized model, ``l1_l2`` asks for
two coefficients (``l1_coefficient``, ``l2_coefficient``), and ``kl_sparsity``
and ``decov`` ask for no placement (they read the activated output) and
``kl_sparsity`` for its target ``rho``. The size of the
regularized layer is the parameter ``hidden_units`` (mlp), ``filters`` (cnn)
or ``units`` (rnn). ``layers`` (which marked layers of a user's model carry
the penalty; asked only of regularized trials) and ``hidden_layers`` (the
built-in mlp's depth) are asked when ``[space]`` searches them, and so are
the training knobs ``learning_rate``, ``dropout``, ``batch_size`` and
``activation``; otherwise a trial takes ``[model]``'s value. A builder's own
hyperparameters (``[space.builder]``) are the parameters ``builder.<name>``.
Under ``[space] per_layer`` each marked layer draws its own penalty, every
parameter of it named after the layer (``hidden.regularizer``,
``hidden.placement``, ``hidden_2.coefficient``...), by the same conditional
rules; the width, the depth, the knobs and the builder's stay the trial's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import optuna

from actreg_search.spec.trial import PENALTY_FIELDS, LayerPenalty, TrialConfig
from actreg_search.spec.specs import Choice, Param, Range, StudySpec
from actreg_search.spec.vocab import Family, Placement, Regularizer

def suggest_config(trial: optuna.trial.BaseTrial, spec: StudySpec, marked: tuple[str, ...] | None = None) -> TrialConfig:
    """Sample one trial's config from the study's space.

    Args:
        trial: The Optuna trial (or a ``FixedTrial``).
        spec: The validated study.
        marked: Under ``[space] per_layer``, a user's model's marked layers, in order (``None``: ``spec.marked``,
            which :func:`~actreg_search.search.modelcheck.with_marked_layers` fills); the built-in mlp's are
            named by the trial's depth (:meth:`~actreg_search.spec.vocab.Family.marked_layers`).

    Returns:
        The config to train; fixed values come from the study file.

    Raises:
        ValueError: ``per_layer`` on a user's model whose marked layers are not known.
    """
    space, model = spec.space, spec.model
    if space.per_layer:
        hidden_layers = _hidden_layers(trial, spec)  # the built-in mlp's layers are named by its depth: drawn first
        names = model.family.marked_layers(hidden_layers) if not model.user else marked or spec.marked
        if not names:
            raise ValueError(f"[space] per_layer: the marked layers of {model.origin} are not known; build the model first")
        own = tuple((name, _suggest_penalty(trial, spec, f"{name}.")) for name in names)
        return _config(trial, spec, LayerPenalty(), hidden_layers).with_layers(own)
    penalty = _suggest_penalty(trial, spec)
    layers = None
    if space.layers is not None and penalty.regularizer is not Regularizer.NONE:
        picked = str(_pick(trial, "layers", space.layers))
        layers = (picked,)  # "all" kept as drawn (spec.trial.ALL_LAYERS): the trial says it penalizes every marked layer
    return dataclasses.replace(_config(trial, spec, penalty, _hidden_layers(trial, spec)), layers=layers)


def _suggest_penalty(trial: optuna.trial.BaseTrial, spec: StudySpec, prefix: str = "") -> LayerPenalty:
    """One penalty: the trial's, or under ``per_layer`` a layer's (each parameter named after ``prefix``, ``"hidden."``)."""
    space, model = spec.space, spec.model
    drawn = _pick(trial, f"{prefix}regularizer", space.regularizer)
    regularizer = drawn if isinstance(drawn, Regularizer) else Regularizer.CUSTOM
    penalty = None if isinstance(drawn, Regularizer) else str(drawn)
    placement = None
    l1 = l2 = 0.0
    coefficient, rho = 0.0, None
    if regularizer.activated:  # the activated output (the rnn's: its last step, or for tar its sequence), not searched
        placement = Placement.POST_ACTIVATION
        if model.family is Family.RNN and not model.user:
            placement = Placement.SEQUENCE if regularizer is Regularizer.TAR else Placement.OUTPUT
        coefficient = float(_pick(trial, f"{prefix}coefficient", space.coefficient))
        if regularizer is Regularizer.KL_SPARSITY:
            assert space.rho is not None  # filled by the parser
            rho = float(_pick(trial, f"{prefix}rho", space.rho))
    elif regularizer is not Regularizer.NONE:
        placement = _pick(trial, f"{prefix}placement", space.placement)
        if regularizer is Regularizer.L1_L2:
            l1_param, l2_param = space.l1_l2_params()
            l1 = float(_pick(trial, f"{prefix}l1_coefficient", l1_param))
            l2 = float(_pick(trial, f"{prefix}l2_coefficient", l2_param))
        elif regularizer is Regularizer.L1:
            l1 = float(_pick(trial, f"{prefix}coefficient", space.coefficient))
        else:
            l2 = float(_pick(trial, f"{prefix}coefficient", space.coefficient))
    return LayerPenalty(regularizer, placement, l1, l2, coefficient, rho, penalty)


def _hidden_layers(trial: optuna.trial.BaseTrial, spec: StudySpec) -> int:
    """The built-in mlp's depth: ``[model]``'s, or drawn where ``[space] hidden_layers`` searches it."""
    if spec.space.hidden_layers is None:
        return spec.model.hidden_layers
    return int(_pick(trial, "hidden_layers", spec.space.hidden_layers))


def _config(trial: optuna.trial.BaseTrial, spec: StudySpec, penalty: LayerPenalty, hidden_layers: int) -> TrialConfig:
    """The trial's config with ``penalty``: the width, the training knobs and the builder's hyperparameters drawn."""
    space, model = spec.space, spec.model
    assert space.hidden_units is not None  # filled from [model] by the parser
    dropout = model.dropout if space.dropout is None else float(_pick(trial, "dropout", space.dropout))
    builder = tuple((name, _pick(trial, f"{BUILDER_PREFIX}{name}", param)) for name, param in space.builder or ())
    return TrialConfig(
        **{name: getattr(penalty, name) for name in PENALTY_FIELDS},
        hidden_units=int(_pick(trial, model.family.size_key, space.hidden_units)),
        activation=model.activation if space.activation is None else str(_pick(trial, "activation", space.activation)),
        family=model.family,
        epochs=model.epochs,
        batch_size=model.batch_size if space.batch_size is None else int(_pick(trial, "batch_size", space.batch_size)),
        optimizer=model.optimizer,
        learning_rate=model.learning_rate if space.learning_rate is None else float(_pick(trial, "learning_rate", space.learning_rate)),
        hidden_layers=hidden_layers,
        sized=model.file is None,  # a .keras file fixes every size
        dropout=dropout,
        builder=builder,
        early_stopping=model.early_stopping,
    )


BUILDER_PREFIX = "builder."
"""A builder hyperparameter's Optuna name is ``builder.<name>``: it cannot collide with a built-in parameter
(a per-layer penalty's are ``<layer>.<name>``)."""


def _pick(trial: optuna.trial.BaseTrial, name: str, param: Param) -> Any:
    """A fixed value as is; otherwise ask the trial for it."""
    if isinstance(param, Range):
        if param.integer:
            return trial.suggest_int(name, int(param.low), int(param.high), log=param.log)
        return trial.suggest_float(name, param.low, param.high, log=param.log)
    assert isinstance(param, Choice)
    if param.fixed:
        return param.values[0]
    by_value = {v.value if hasattr(v, "value") else v: v for v in param.values}  # enums and penalty names by their value
    return by_value[trial.suggest_categorical(name, list(by_value))]


def grid_size(spec: StudySpec) -> int:
    """Number of distinct configs in a grid study's conditional space.

    ``none`` counts once (no placement, no coefficient); ``l1_l2`` counts every
    pair of its two coefficients. Only meaningful when every searched key is a
    list, which the parser enforces for the grid sampler.
    """
    space = spec.space

    def n(param: Param | None) -> int:
        return len(param.values) if isinstance(param, Choice) else 1

    l1, l2 = space.l1_l2_params()
    per_width = 0
    for regularizer in space.regularizer.values:
        if regularizer is Regularizer.NONE:
            per_width += 1
        elif regularizer.activated:
            per_width += n(space.coefficient) * (n(space.rho) if regularizer is Regularizer.KL_SPARSITY else 1) * n(space.layers)
        elif regularizer is Regularizer.L1_L2:
            per_width += n(space.placement) * n(l1) * n(l2) * n(space.layers)
        else:
            per_width += n(space.placement) * n(space.coefficient) * n(space.layers)
    knobs = n(space.learning_rate) * n(space.dropout) * n(space.batch_size) * n(space.activation)
    for _, param in space.builder or ():
        knobs *= n(param)
    return per_width * n(space.hidden_units) * n(space.hidden_layers) * knobs
