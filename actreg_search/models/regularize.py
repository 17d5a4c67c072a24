"""The trial's penalty on a marked layer: how each layer type carries it, made by :class:`Reg` or by cloning a ``.keras`` file's model.

Placements per layer type: Dense and Conv2D take ``pre_activation`` (the
activity penalty on the linear output, the activation as its own layer named
``<name>_activation``), ``post_activation`` (on the activated output) and
``kernel``; an LSTM takes ``output``, ``kernel`` and ``recurrent``. A user's
builder makes its marked layers with :class:`Reg` (see
:mod:`actreg_search.models.marks`); :func:`clone_with_penalty` puts the
penalty on a loaded model's named layers. Either builds probed instead
(:mod:`actreg_search.models.probes`) when given probes. Under ``[space]
per_layer`` each marked layer takes its own penalty
(:meth:`~actreg_search.spec.trial.TrialConfig.for_layer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from actreg_search.models.marks import LAYER_CLASSES, Mark, carries, kind_of, placements_of, set_marks
from actreg_search.models.penalties import TAR, DeCov, KLSparsity, UserPenalty, load_penalty
from actreg_search.models.probes import Probes, probe_kwargs
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import KL_ACTIVATIONS, PenaltyName, Placement, Regularizer

_REGULARIZER_KEYS = ("activity_regularizer", "kernel_regularizer", "recurrent_regularizer")
ACTIVATION_SUFFIX = "_activation"
"""A ``pre_activation`` layer ``x`` is followed by its activation, the layer ``x_activation``."""


def make_regularizer(config: TrialConfig, activation: Any = None) -> keras.regularizers.Regularizer | None:
    """The Keras regularizer object for a config, or ``None``; ``kl_sparsity`` reads ``activation`` (a ReLU's through tanh)."""
    if config.regularizer is Regularizer.KL_SPARSITY:
        assert config.rho is not None
        return KLSparsity(config.coefficient, config.rho, squash=activation == "relu")
    if config.regularizer is Regularizer.DECOV:
        return DeCov(config.coefficient)
    if config.regularizer is Regularizer.TAR:
        return TAR(config.coefficient)
    if config.regularizer is Regularizer.CUSTOM:
        assert config.penalty is not None
        return UserPenalty(config.coefficient, load_penalty(config.penalty), PenaltyName(config.penalty).short)
    if config.regularizer is Regularizer.L1:
        return keras.regularizers.L1(config.l1)
    if config.regularizer is Regularizer.L2:
        return keras.regularizers.L2(config.l2)
    if config.regularizer is Regularizer.L1_L2:
        return keras.regularizers.L1L2(l1=config.l1, l2=config.l2)
    return None


def activation_layer(name: str, activation: Any, probes: Probes | None) -> keras.layers.Layer:
    """The activation split off after marked layer ``name``; probed, it carries the ``post_activation`` probe."""
    extra = {} if probes is None else {"activity_regularizer": probes.probe(name, Placement.POST_ACTIVATION, activation)}
    return keras.layers.Activation(activation, name=name + ACTIVATION_SUFFIX, **extra)


def penalty_kwargs(
    config: TrialConfig, kind: str, activation: Any, penalized: bool, sequence: bool = False
) -> tuple[dict[str, Any], Any]:
    """A marked layer's keyword arguments, and the activation split off after it (or ``None``).

    Args:
        config: The trial.
        kind: ``Dense``, ``Conv2D`` or ``LSTM``.
        activation: The layer's own activation (ignored for an LSTM, whose
            activations are its own arguments).
        penalized: Whether this layer carries the penalty.
        sequence: An LSTM that returns its sequence (``tar`` needs one).

    Raises:
        ValueError: The placement does not apply to the layer type.
    """
    if penalized and config.regularizer.activated:
        return activated_kwargs(config, kind, activation, sequence)
    if kind == "LSTM":
        if not penalized:
            return {}, None
        key = {
            Placement.OUTPUT: "activity_regularizer",
            Placement.KERNEL: "kernel_regularizer",
            Placement.RECURRENT: "recurrent_regularizer",
        }.get(config.placement)
    else:
        if not penalized:
            return {"activation": activation}, None
        if config.placement is Placement.PRE_ACTIVATION:
            return {"activation": "linear", "activity_regularizer": make_regularizer(config)}, activation
        key = {Placement.POST_ACTIVATION: "activity_regularizer", Placement.KERNEL: "kernel_regularizer"}.get(
            config.placement
        )
    if key is None:
        allowed = ", ".join(p.value for p in placements_of(kind))
        placement = config.placement.value if config.placement else None
        raise ValueError(f"placement {placement!r} does not apply to a {kind} layer; allowed: {allowed}")
    extra = {} if kind == "LSTM" else {"activation": activation}
    return {**extra, key: make_regularizer(config)}, None


class PenaltyUnfit(ValueError):
    """A penalty kind that does not apply to a layer (``kl_sparsity`` on an LSTM or a tanh, ``tar`` without a time axis)."""


def activated_kwargs(config: TrialConfig, kind: str, activation: Any, sequence: bool = False) -> tuple[dict[str, Any], None]:
    """A layer's keyword arguments for a kind that reads the activated output (``kl_sparsity``, ``decov``, ``tar``, your
    own): on its activation (an LSTM's ``output``).

    Raises:
        PenaltyUnfit: ``kl_sparsity`` on an LSTM, or on an activation other than relu or sigmoid; ``tar`` on a layer
            whose output is not a sequence (``sequence``: an LSTM that returns its sequence).
    """
    name = config.regularizer.value
    if config.regularizer is Regularizer.TAR and not sequence:
        raise PenaltyUnfit(f"tar needs a layer whose output has a time axis; the {kind} layer's has none "
                           "(mark an LSTM with return_sequences=True)")
    if kind == "LSTM":
        if config.regularizer is Regularizer.KL_SPARSITY:
            raise PenaltyUnfit("kl_sparsity does not apply to an LSTM layer (its output is a tanh, in (-1, 1)); use decov, l1 or l2")
        return {"activity_regularizer": make_regularizer(config)}, None
    if config.regularizer is Regularizer.KL_SPARSITY and activation not in KL_ACTIVATIONS:
        raise PenaltyUnfit(f"{name} needs a relu or sigmoid activation on a {kind} layer, not {activation!r}")
    return {"activation": activation, "activity_regularizer": make_regularizer(config, activation)}, None


class DropoutUnset(TypeError):
    """``reg.Dropout`` in a study that sets no dropout rate."""


class RegularizedLayer:
    """A marked layer made by :class:`Reg`: call it on a tensor like a Keras layer.

    It is not a ``keras.Layer`` (a ``pre_activation`` placement makes it two
    Keras layers), so ``keras.Sequential`` and Keras' wrapper layers refuse
    it; their message names it by its ``repr``, which :meth:`Reg.named_in` finds.

    Attributes:
        kind: ``Dense``, ``Conv2D`` or ``LSTM``.
        layer: The Keras layer.
        activation: The activation layer split off after it (``pre_activation``), or ``None``.
    """

    def __init__(self, kind: str, layer: keras.layers.Layer, activation: keras.layers.Layer | None) -> None:
        self.kind = kind
        self.layer = layer
        self.activation = activation

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        outputs = self.layer(inputs, *args, **kwargs)
        return outputs if self.activation is None else self.activation(outputs)

    def __repr__(self) -> str:
        return f"<reg.{self.kind} {self.layer.name!r}>"


class Reg:
    """What a builder gets: makes the trial's regularized layers (``reg.Dense``, ``reg.Conv2D``, ``reg.LSTM``)
    and its Dropout layers (``reg.Dropout``, at the trial's rate).

    Each takes the usual Keras arguments. A size left out (``units``,
    ``filters``) is the trial's size; an activation left out is the study's
    ``[model] activation``, not Keras' linear default (an LSTM keeps Keras'
    own activations). The trial's placement and penalty are set here: passing
    a regularizer is refused. Use the functional API: a ``pre_activation``
    layer is two Keras layers, and no ``reg`` layer is a ``keras.Layer``.

    Args:
        config: The trial.
        probes: Build the layers probed (every placement an input) instead of
            with the trial's penalty.
    """

    def __init__(self, config: TrialConfig, probes: Probes | None = None) -> None:
        self.config = config
        self.probes = probes
        self.marks: list[Mark] = []
        self.layers: list[RegularizedLayer] = []
        self.dropouts: list[str] = []
        self._counts: dict[str, int] = {}

    def Dense(self, units: int | None = None, *, name: str | None = None, **kwargs: Any) -> RegularizedLayer:  # noqa: N802
        """A regularized ``keras.layers.Dense``; ``units=None``: the trial's ``hidden_units``."""
        return self._make("Dense", units, name, kwargs)

    def Conv2D(  # noqa: N802
        self, filters: int | None = None, kernel_size: int | tuple[int, int] = 3, *, name: str | None = None, **kwargs: Any
    ) -> RegularizedLayer:
        """A regularized ``keras.layers.Conv2D``; ``filters=None``: the trial's ``filters``."""
        return self._make("Conv2D", filters, name, {"kernel_size": kernel_size, **kwargs})

    def LSTM(self, units: int | None = None, *, name: str | None = None, **kwargs: Any) -> RegularizedLayer:  # noqa: N802
        """A regularized ``keras.layers.LSTM``; ``units=None``: the trial's ``units``."""
        return self._make("LSTM", units, name, kwargs)

    def Dropout(self, *, name: str | None = None, **kwargs: Any) -> keras.layers.Layer:  # noqa: N802
        """A ``keras.layers.Dropout`` at the trial's rate (``[model] dropout`` or ``[space] dropout``).

        Raises:
            TypeError: A rate was passed (the trial sets it).
            DropoutUnset: The study sets no dropout.
        """
        if "rate" in kwargs:
            raise TypeError("reg.Dropout: the trial sets the rate; do not pass rate")
        if self.config.dropout is None:
            raise DropoutUnset("reg.Dropout needs the trial's rate: set [model] dropout or search [space] dropout")
        self._counts["Dropout"] = self._counts.get("Dropout", 0) + 1
        layer = keras.layers.Dropout(self.config.dropout, name=name or f"reg_dropout_{self._counts['Dropout']}", **kwargs)
        self.dropouts.append(layer.name)
        return layer

    def named_in(self, message: str) -> RegularizedLayer | None:
        """The layer made here that an error message names (by its ``repr``), if any."""
        return next((layer for layer in self.layers if repr(layer) in message), None)

    def _make(self, kind: str, size: int | None, name: str | None, kwargs: dict[str, Any]) -> RegularizedLayer:
        given = [key for key in _REGULARIZER_KEYS if key in kwargs]
        if given:
            raise TypeError(f"reg.{kind}: the trial sets the regularizers; do not pass {', '.join(given)}")
        if name is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            name = f"reg_{kind.lower()}_{self._counts[kind]}"
        config = self.config.for_layer(name)  # under [space] per_layer, the layer's own penalty
        penalized = carries(config, name)
        activation = kwargs.pop("activation", self.config.activation) if kind != "LSTM" else None
        if self.probes is None:
            extra, split = penalty_kwargs(config, kind, activation, penalized, bool(kwargs.get("return_sequences")))
        else:
            extra, split = probe_kwargs(self.probes, name, kind, activation)
        layer = LAYER_CLASSES[kind](self.config.hidden_units if size is None else size, name=name, **kwargs, **extra)
        after = None if split is None else activation_layer(name, split, self.probes)
        output = name if after is None else after.name
        self.marks.append(Mark(name=name, kind=kind, output=output, sized=size is None, penalized=penalized))
        self.layers.append(RegularizedLayer(kind, layer, after))
        return self.layers[-1]


def clone_with_penalty(
    base: keras.Model, names: Sequence[str], config: TrialConfig, probes: Probes | None = None
) -> keras.Model:
    """A fresh copy of ``base`` (new weights, from Keras' global seed) with the penalty on the named layers.

    Args:
        base: A loaded model (its weights are not used).
        names: The marked layers (each a Dense, Conv2D or LSTM).
        config: The trial.
        probes: Probe the named layers instead (see :class:`~actreg_search.models.probes.Probes`).

    Returns:
        The copy, marked (:func:`~actreg_search.models.marks.marks_of`).

    Raises:
        ValueError: A named layer is of another type, or the placement does not apply to it.
    """
    if isinstance(base, keras.Sequential):  # clone_model's call_function needs a functional model
        base = keras.Model(base.inputs, base.outputs, name=base.name)
    kinds = {}
    for name in names:
        kind = kind_of(base.get_layer(name))
        if kind is None:
            raise ValueError(f"layer {name!r} is a {type(base.get_layer(name)).__name__}; mark Dense, Conv2D or LSTM layers")
        kinds[name] = kind
    splits: dict[str, Any] = {}
    marks: list[Mark] = []

    def clone_function(layer: keras.layers.Layer) -> keras.layers.Layer:
        settings = layer.get_config()
        if layer.name in kinds:
            own = config.for_layer(layer.name)  # under [space] per_layer, the layer's own penalty
            kind, penalized = kinds[layer.name], carries(own, layer.name)
            if probes is None:
                extra, split = penalty_kwargs(own, kind, settings.get("activation"), penalized, bool(settings.get("return_sequences")))
            else:
                extra, split = probe_kwargs(probes, layer.name, kind, settings.get("activation"))
            settings.update(extra)
            if split is not None:
                splits[layer.name] = split
            output = layer.name + ACTIVATION_SUFFIX if split is not None else layer.name
            marks.append(Mark(name=layer.name, kind=kind, output=output, sized=False, penalized=penalized))
        return layer.__class__.from_config(settings)

    def call_function(layer: keras.layers.Layer, *args: Any, **kwargs: Any) -> Any:
        outputs = layer(*args, **kwargs)
        if layer.name in splits:
            outputs = activation_layer(layer.name, splits[layer.name], probes)(outputs)
        return outputs

    model = keras.models.clone_model(base, clone_function=clone_function, call_function=call_function)
    order = {name: i for i, name in enumerate(names)}
    return set_marks(model, sorted(marks, key=lambda m: order[m.name]))


__all__ = ["ACTIVATION_SUFFIX", "DropoutUnset", "PenaltyUnfit", "Reg", "RegularizedLayer", "activated_kwargs", "activation_layer", "clone_with_penalty", "make_regularizer", "penalty_kwargs"]
