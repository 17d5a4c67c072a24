"""The user's models: one from a builder function, one from a ``.keras`` file.

:func:`build_from_builder` calls the study's builder with a
:class:`~actreg_search.models.regularize.Reg` for the trial (and the trial's
``[space.builder]`` hyperparameters as keyword arguments) and checks what comes
back; :func:`build_from_file` loads the file once per process (with
``safe_mode=True``) and clones it with the trial's penalty on the named layers,
so the file gives the architecture and every seed its own fresh weights.
Every problem is one line: :class:`~actreg_search.errors.SpecError` for a
missing or unusable file, function or layer, and
:class:`~actreg_search.errors.UserCodeError` for a builder that raises.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any
from pathlib import Path

import keras

from actreg_search.errors import SpecError, UserCodeError
from actreg_search.models.marks import kind_of, set_marks
from actreg_search.models.probes import Probes
from actreg_search.models.regularize import DropoutUnset, PenaltyUnfit, Reg, clone_with_penalty
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.usercode import call_user, describe, load_function

BUILDER = "[model] builder"
FILE = "[model] file"


def build_from_builder(
    model: ModelSpec, config: TrialConfig, input_shape: tuple[int, ...], n_classes: int, probes: Probes | None = None
) -> keras.Model:
    """The builder's model for a trial, marked with the layers it made through ``reg`` (probed, with ``probes``).

    Raises:
        SpecError: The builder is missing, returns no Keras model, or marks no layer.
        UserCodeError: The builder raised (gave a ``reg`` layer to ``keras.Sequential``, say).
    """
    assert model.builder is not None
    function = load_function(model.builder, BUILDER)
    reg = Reg(config, probes)
    name = describe(model.builder)
    _check_accepts(function, name, config.builder_kwargs)
    try:
        built = call_user(function, model.builder, BUILDER, reg, tuple(input_shape), n_classes, **config.builder_kwargs)
    except UserCodeError as exc:
        if isinstance(exc.__context__, (DropoutUnset, PenaltyUnfit)):  # call_user keeps what the builder raised as its context
            raise SpecError(f"{BUILDER} {name}: {exc.__context__}") from None
        refused = reg.named_in(str(exc))
        if refused is None:
            raise
        raise UserCodeError(
            f"{BUILDER} {name}: Keras refused reg.{refused.kind} layer {refused.layer.name!r} where it takes a keras.Layer "
            f"(keras.Sequential, a wrapper layer); a reg layer is called on a tensor: build the model with the functional API, "
            f"x = reg.{refused.kind}(...)(inputs) ... keras.Model(inputs, outputs)"
        ) from None
    if not isinstance(built, keras.Model):
        raise SpecError(f"{BUILDER} {name} returned a {type(built).__name__}, not a keras.Model")
    if not reg.marks:
        raise SpecError(f"{BUILDER} {name} marks no layer: make the layers to regularize with reg.Dense, reg.Conv2D or reg.LSTM")
    names = {layer.name for layer in built.layers}
    unused = [m.name for m in reg.marks if m.name not in names]
    if unused:
        raise SpecError(f"{BUILDER} {name}: reg layer {unused[0]!r} was made but is not in the returned model")
    return set_marks(built, reg.marks, reg.dropouts)


def _check_accepts(function: Callable[..., Any], name: str, kwargs: dict[str, Any]) -> None:
    """Refuse a ``[space.builder]`` hyperparameter the builder has no keyword argument for (and no ``**kwargs``)."""
    if not kwargs:
        return
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): the call itself says
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    taken = {n for n, p in parameters.items() if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    for argument in kwargs:
        if argument not in taken:
            raise SpecError(f"[space.builder] {argument}: {BUILDER} {name} takes no argument {argument!r}; add it to the function")


def build_from_file(model: ModelSpec, config: TrialConfig, probes: Probes | None = None) -> keras.Model:
    """The ``.keras`` file's architecture with the trial's penalty (or ``probes``) on ``model.regularize``, fresh weights.

    Raises:
        SpecError: The file is missing, refused by ``safe_mode``, or a named layer is unknown or of another type.
    """
    assert model.file is not None and model.regularize is not None
    base = load_architecture(model.file)
    names = [layer.name for layer in base.layers]
    for name in model.regularize:
        if name not in names:
            raise SpecError(f"[model] regularize: no layer {name!r} in {model.file}; its layers: {', '.join(names)}")
        if kind_of(base.get_layer(name)) is None:
            kind = type(base.get_layer(name)).__name__
            raise SpecError(f"[model] regularize: layer {name!r} of {model.file} is a {kind}; regularize Dense, Conv2D or LSTM layers")
    try:
        return clone_with_penalty(base, model.regularize, config, probes)
    except ValueError as exc:
        raise SpecError(f"[model] regularize: {exc}") from None


@functools.cache
def load_architecture(path: str) -> keras.Model:
    """The model saved in a ``.keras`` file, loaded once per process with ``safe_mode=True``.

    Raises:
        SpecError: The file is missing, not a Keras archive, or holds code safe_mode refuses.
    """
    if not Path(path).is_file():
        raise SpecError(f"{FILE}: no such file {path}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        text = " ".join(str(exc).split())
        if "safe_mode" in text or "unsafe" in text.lower():
            raise SpecError(
                f"{FILE}: {path} holds code that safe_mode=True refuses to load (a Lambda layer or a custom object): {text[:200]}"
            ) from None
        raise SpecError(f"{FILE}: cannot load {path} ({type(exc).__name__}: {text[:200]})") from None


__all__ = ["build_from_builder", "build_from_file", "load_architecture"]
