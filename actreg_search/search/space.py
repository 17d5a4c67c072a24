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
"""

from __future__ import annotations

from typing import Any

import optuna

from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.specs import Choice, Param, Range, StudySpec
from actreg_search.spec.vocab import Family, Placement, Regularizer

def suggest_config(trial: optuna.trial.BaseTrial, spec: StudySpec) -> TrialConfig:
    """Sample one trial's config from the study's space.

    Args:
        trial: The Optuna trial (or a ``FixedTrial``).
        spec: The validated study.

    Returns:
        The config to train; fixed values come from the study file.
    """
    space, model = spec.space, spec.model
    drawn = _pick(trial, "regularizer", space.regularizer)
    regularizer = drawn if isinstance(drawn, Regularizer) else Regularizer.CUSTOM
    penalty = None if isinstance(drawn, Regularizer) else str(drawn)
    placement = None
    l1 = l2 = 0.0
    coefficient, rho = 0.0, None
    if regularizer.activated:  # the activated output (the rnn's: its last step, or for tar its sequence), not searched
        placement = Placement.POST_ACTIVATION
        if model.family is Family.RNN and not model.user:
            placement = Placement.SEQUENCE if regularizer is Regularizer.TAR else Placement.OUTPUT
        coefficient = float(_pick(trial, "coefficient", space.coefficient))
        if regularizer is Regularizer.KL_SPARSITY:
            assert space.rho is not None  # filled by the parser
            rho = float(_pick(trial, "rho", space.rho))
    elif regularizer is not Regularizer.NONE:
        placement = _pick(trial, "placement", space.placement)
        if regularizer is Regularizer.L1_L2:
            l1_param, l2_param = space.l1_l2_params()
            l1 = float(_pick(trial, "l1_coefficient", l1_param))
            l2 = float(_pick(trial, "l2_coefficient", l2_param))
        elif regularizer is Regularizer.L1:
            l1 = float(_pick(trial, "coefficient", space.coefficient))
        else:
            l2 = float(_pick(trial, "coefficient", space.coefficient))
    assert space.hidden_units is not None  # filled from [model] by the parser
    layers = None
    if space.layers is not None and regularizer is not Regularizer.NONE:
        picked = str(_pick(trial, "layers", space.layers))
        layers = (picked,)  # "all" kept as drawn (spec.trial.ALL_LAYERS): the trial says it penalizes every marked layer
    hidden_layers = model.hidden_layers
    if space.hidden_layers is not None:
        hidden_layers = int(_pick(trial, "hidden_layers", space.hidden_layers))
    dropout = model.dropout if space.dropout is None else float(_pick(trial, "dropout", space.dropout))
    builder = tuple((name, _pick(trial, f"{BUILDER_PREFIX}{name}", param)) for name, param in space.builder or ())
    return TrialConfig(
        regularizer=regularizer,
        placement=placement,
        l1=l1,
        l2=l2,
        hidden_units=int(_pick(trial, model.family.size_key, space.hidden_units)),
        activation=model.activation if space.activation is None else str(_pick(trial, "activation", space.activation)),
        family=model.family,
        epochs=model.epochs,
        batch_size=model.batch_size if space.batch_size is None else int(_pick(trial, "batch_size", space.batch_size)),
        optimizer=model.optimizer,
        learning_rate=model.learning_rate if space.learning_rate is None else float(_pick(trial, "learning_rate", space.learning_rate)),
        layers=layers,
        hidden_layers=hidden_layers,
        sized=model.file is None,  # a .keras file fixes every size
        dropout=dropout,
        builder=builder,
        early_stopping=model.early_stopping,
        coefficient=coefficient,
        rho=rho,
        penalty=penalty,
    )


BUILDER_PREFIX = "builder."
"""A builder hyperparameter's Optuna name is ``builder.<name>``: it cannot collide with a built-in parameter
(a per-layer one, should it come, would be ``<layer>.<name>``)."""


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
