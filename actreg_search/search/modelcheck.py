"""Check a user's model once, before a run touches storage.

:func:`check_model` builds the study's model (a builder's or a ``.keras``
file's) on the study's data, once without a penalty and once per placement the
space holds, and checks what the parser could not see without running the
user's code: which layers are marked, which layer type takes the searched size,
which placements apply to the marked layers, whether the output fits the
data, and whether it gives the probabilities an objective ``roc_auc`` or
``log_loss`` reads (a sigmoid or softmax output layer); and calls each
penalty of the user's own once (:func:`check_penalties`). Every problem is one line (:class:`~actreg_search.errors.SpecError` or
:class:`~actreg_search.errors.UserCodeError`). A built-in model needs no check
and imports nothing here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from actreg_search.engine import get_engine
from actreg_search.engine.quiet import import_tensorflow
from actreg_search.errors import SpecError
from actreg_search.usercode import call_user
from actreg_search.spec.specs import Choice, Param, StudySpec
from actreg_search.spec.trial import ALL_LAYERS as ALL
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import PenaltyName, Placement, Regularizer

if TYPE_CHECKING:
    from actreg_search.data.datasets import Dataset
    from actreg_search.models.marks import Mark


def check_model(spec: StudySpec, data: Dataset) -> str | None:
    """Build a user's model once per placement and check it against the study and its data.

    Args:
        spec: The validated study.
        data: Its dataset (input shape and classes).

    Returns:
        A one-line note for ``run`` when the study's engine cannot train the
        model (:meth:`~actreg_search.engine.base.Engine.unfit_reason`: its
        trials then train on the keras engine), else ``None``.

    Raises:
        SpecError: Missing file or function, no Keras model, no marked layer
            (or one only, under ``[space] per_layer``), an unknown layer name, a refused ``.keras`` file, a placement that
            does not apply, sizes of several layer types to search, an
            output that does not fit the data, or an objective ``roc_auc`` or
            ``log_loss`` on a model without probabilities.
        UserCodeError: The builder raised.
    """
    check_penalties(spec)
    model = spec.model
    if not model.user:
        return None
    import_tensorflow()
    from actreg_search.models.build import build_model
    from actreg_search.models.marks import marks_of

    base = _config(spec, Regularizer.NONE, None)
    built = build_model(base, data.input_shape, data.n_classes, model)
    marks = marks_of(built).layers
    origin = model.origin
    _check_io(built, data, origin)
    _check_probabilities(spec, built, origin)
    _check_layers(spec, marks, origin)
    if spec.space.per_layer and len(marks) < 2:
        raise SpecError(f"[space] per_layer: needs a model with several marked layers; {origin} has one: {marks[0].name!r}")
    _check_size(spec, marks, origin)
    carrying = _carrying(spec, marks)
    regularizers = [r for r in spec.space.regularizer.values if r is not Regularizer.NONE]
    placed = [r for r in regularizers if not r.activated]  # kl_sparsity, decov, tar and your own take no placement
    for placement in spec.space.placement.values if placed else ():
        for mark in carrying:
            allowed = _placements(mark.kind)
            if placement not in allowed:
                common = [p.value for p in allowed if all(p in _placements(m.kind) for m in carrying)]
                raise SpecError(
                    f"[space] placement: {placement.value!r} does not apply to the {mark.kind} layer {mark.name!r} of "
                    f"{origin}; allowed for its regularized layers: {', '.join(common) or 'none in common'}"
                )
        config = dataclasses.replace(_config(spec, placed[0], placement), layers=tuple(m.name for m in carrying))
        build_model(config, data.input_shape, data.n_classes, model)
    for regularizer in (r for r in regularizers if r.activated):  # on the activated outputs, whatever the placement
        config = dataclasses.replace(_config(spec, regularizer, Placement.POST_ACTIVATION), layers=tuple(m.name for m in carrying))
        build_model(config, data.input_shape, data.n_classes, model)
    engine = get_engine(model.engine)
    reason = engine.unfit_reason(built)
    if reason is not None:
        return f"the {engine.name} engine cannot train {origin} ({reason}): its trials train on the keras engine"
    return f"{origin}: {engine.path_of(built)}"


def with_marked_layers(spec: StudySpec, data: Dataset) -> StudySpec:
    """The spec with its user model's marked layers (:attr:`StudySpec.marked`, in order), which ``[space] per_layer``
    draws a penalty for (:func:`~actreg_search.search.space.suggest_config`); as it is otherwise. The model is built
    once, as :func:`check_model` builds it: a builder whose marked layers depend on its hyperparameters gets the
    layers of its first searched values.
    """
    if not spec.space.per_layer or not spec.model.user or spec.marked is not None:
        return spec
    import_tensorflow()
    from actreg_search.models.build import build_model
    from actreg_search.models.marks import marks_of

    built = build_model(_config(spec, Regularizer.NONE, None), data.input_shape, data.n_classes, spec.model)
    return dataclasses.replace(spec, marked=marks_of(built).names)


def _first(param: Param) -> Any:
    """A searched parameter's first value: a list's first, a range's low end."""
    return param.values[0] if isinstance(param, Choice) else (int(param.low) if param.integer else param.low)


def check_penalties(spec: StudySpec) -> None:
    """Load each penalty of the user's own the space names and call it once on sample activations ``(8, 5)``.

    Raises:
        SpecError: A missing file or function, something not callable, or a value that is not a scalar.
        UserCodeError: The function (or importing its file) raised.
    """
    names = [v for v in spec.space.regularizer.values if isinstance(v, PenaltyName)]
    if not names:
        return
    import_tensorflow()
    import keras
    import numpy as np

    from actreg_search.models.penalties import PENALTY, load_penalty

    sample = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(0.0, 1.0, (8, 5)).astype("float32"))
    for name in names:
        value = call_user(load_penalty(name), name, PENALTY, sample)
        shape = tuple(getattr(value, "shape", ()))
        if shape or not (isinstance(value, (int, float)) or hasattr(value, "dtype")):
            got = f"shape {shape}" if shape else f"a {type(value).__name__}"
            raise SpecError(f"{PENALTY}: {name.short} returned {got} on activations of shape (8, 5); a penalty returns a scalar")


def _config(spec: StudySpec, drawn: Regularizer | PenaltyName, placement: Placement | None) -> TrialConfig:
    """A config of the study's model, sized as the first searched size, with the first searched dropout rate
    and builder hyperparameters (``drawn``: a regularizer value, or a penalty of your own)."""
    regularizer = drawn if isinstance(drawn, Regularizer) else Regularizer.CUSTOM
    size = spec.space.hidden_units
    units = int(_first(size)) if size is not None else spec.model.hidden_units
    dropout = spec.model.dropout if spec.space.dropout is None else float(_first(spec.space.dropout))
    return TrialConfig(
        regularizer=regularizer,
        placement=placement,
        l1=1e-4 if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0,
        l2=1e-4 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0,
        hidden_units=units,
        activation=spec.model.activation,
        family=spec.model.family,
        epochs=spec.model.epochs,
        batch_size=spec.model.batch_size,
        optimizer=spec.model.optimizer,
        learning_rate=spec.model.learning_rate,
        dropout=dropout,
        builder=tuple((name, _first(param)) for name, param in spec.space.builder or ()),
        early_stopping=spec.model.early_stopping,
        coefficient=1e-4 if regularizer.activated else 0.0,
        rho=float(_first(spec.space.rho)) if regularizer is Regularizer.KL_SPARSITY and spec.space.rho is not None else None,
        penalty=None if isinstance(drawn, Regularizer) else str(drawn),
    )


def _placements(kind: str) -> tuple[Placement, ...]:
    from actreg_search.models.marks import placements_of

    return placements_of(kind)


def _check_io(built: object, data: Dataset, origin: str) -> None:
    """One input shaped like a sample of the data; one output of 1 sigmoid unit (2 classes) or one per class,
    1 unit (a regression), or the input's shape (an autoencoder)."""
    inputs, outputs = list(built.inputs), list(built.outputs)  # type: ignore[attr-defined]
    if len(inputs) != 1 or len(outputs) != 1:
        raise SpecError(f"{origin}: the model must have one input and one output, it has {len(inputs)} and {len(outputs)}")
    shape = tuple(inputs[0].shape[1:])
    if len(shape) != len(data.input_shape) or any(s is not None and s != d for s, d in zip(shape, data.input_shape)):
        raise SpecError(f"{origin}: the model's input shape {shape} does not fit the data's samples, shaped {data.input_shape}")
    if data.n_classes == 0:  # an autoencoder reconstructs its input
        out = tuple(outputs[0].shape[1:])
        if out != data.input_shape:
            raise SpecError(f"{origin}: the model's output is shaped {out}; an autoencoder's output must have its input's shape {data.input_shape}")
        return
    width = outputs[0].shape[-1]
    wanted = 1 if data.n_classes <= 2 else data.n_classes
    if width != wanted or len(outputs[0].shape) != 2:
        head = {1: "a regression needs 1 linear unit", 2: "2 classes need 1 sigmoid unit"}.get(
            data.n_classes, f"{data.n_classes} classes need {data.n_classes} softmax units"
        )
        raise SpecError(f"{origin}: the model's output is shaped {tuple(outputs[0].shape[1:])}; {head}")


def _check_probabilities(spec: StudySpec, built: object, origin: str) -> None:
    """An objective that reads probabilities (``roc_auc``, ``log_loss``) needs a sigmoid or softmax output layer."""
    from actreg_search.engine.predictions import gives_probabilities

    wanting = [m.value for m in spec.study.objectives if m.needs_probabilities]
    if wanting and not gives_probabilities(built):  # type: ignore[arg-type]
        raise SpecError(
            f"[study] objectives: {' and '.join(repr(m) for m in wanting)} read predicted probabilities, but the output "
            f"layer of {origin} is not a sigmoid (one unit) or softmax; end the model with one, or choose accuracy, "
            f"balanced_accuracy or macro_f1"
        )


def _check_layers(spec: StudySpec, marks: tuple[Mark, ...], origin: str) -> None:
    """``[space] layers`` names marked layers (or ``all``)."""
    if spec.space.layers is None:
        return
    names = [m.name for m in marks]
    for name in spec.space.layers.values:
        if name != ALL and name not in names:
            raise SpecError(f"[space] layers: {name!r} is not a marked layer of {origin}; allowed: {', '.join([*names, ALL])}")


def _check_size(spec: StudySpec, marks: tuple[Mark, ...], origin: str) -> None:
    """The marked layers without a fixed size are of one type, the one whose size key the study uses."""
    from actreg_search.models.marks import LAYER_FAMILIES

    sized = [m for m in marks if m.sized]
    kinds = sorted({m.kind for m in sized})
    family = spec.model.family
    if len(kinds) > 1:
        listed = " and ".join(f"{kind} ({', '.join(m.name for m in sized if m.kind == kind)})" for kind in kinds)
        raise SpecError(
            f"{origin}: marked layers without a fixed size are {listed}; a study searches one size: give all but one layer type a fixed size"
        )
    if kinds and LAYER_FAMILIES[kinds[0]] is not family:
        key = LAYER_FAMILIES[kinds[0]].size_key
        raise SpecError(
            f"{origin}: the {kinds[0]} layer {sized[0].name!r} takes the trial's size, which is {key}, not {family.size_key}: "
            f"write {key} in [model] or [space]"
        )
    searched = spec.space.hidden_units
    if not kinds and searched is not None and not (isinstance(searched, Choice) and searched.fixed):
        raise SpecError(f"[space] {family.size_key}: no marked layer of {origin} takes the trial's size (each has a fixed size)")


def _carrying(spec: StudySpec, marks: tuple[Mark, ...]) -> list[Mark]:
    """The marked layers some trial puts the penalty on."""
    if spec.space.layers is None or ALL in spec.space.layers.values:
        return list(marks)
    return [m for m in marks if m.name in spec.space.layers.values]


__all__ = ["check_model", "with_marked_layers"]
