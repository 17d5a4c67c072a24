"""A model's marked layers: the layers the trial's penalty may go on, kept with the model.

Every model a study trains has *marked* layers: the layers its penalty may go
on, and whose activated outputs give the sparsity and activation statistics.
The built-in families mark their ``hidden`` layers; a user's builder marks a
layer by making it with the :class:`~actreg_search.models.regularize.Reg`
object it is given; a ``.keras`` file's layers are marked by name
(:func:`~actreg_search.models.regularize.clone_with_penalty`). Which marked
layers carry the trial's penalty is the config's ``layers`` (``None``: all of
them, :func:`carries`). A built model keeps its marks (:func:`set_marks`,
:func:`marks_of`); they are not saved with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras

from actreg_search.internals.keras_private import attach_marks, attached_marks
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement

LAYER_FAMILIES: dict[str, Family] = {"Dense": Family.MLP, "Conv2D": Family.CNN, "LSTM": Family.RNN}
"""Marked layer types and the family whose size key (and placements) each goes with."""

LAYER_CLASSES: dict[str, type[keras.layers.Layer]] = {
    "Dense": keras.layers.Dense,
    "Conv2D": keras.layers.Conv2D,
    "LSTM": keras.layers.LSTM,
}
"""Each marked layer type's Keras class."""


@dataclass(frozen=True)
class Mark:
    """One marked layer of a built model.

    Attributes:
        name: The layer's name.
        kind: Its type: ``Dense``, ``Conv2D`` or ``LSTM``.
        output: The layer whose output is this layer's activated output (itself,
            or ``<name>_activation`` when the activation was split off).
        sized: Whether its size is the trial's (no fixed size was given).
        penalized: Whether it carries the trial's penalty.
    """

    name: str
    kind: str
    output: str
    sized: bool
    penalized: bool


@dataclass(frozen=True)
class Marks:
    """The marked layers of a model, in the order they were made, and the layers that take the trial's dropout.

    Attributes:
        layers: The marked layers.
        dropouts: The Dropout layers (and LSTMs, for their input dropout) at the trial's rate:
            the built-in families' and a builder's ``reg.Dropout``; a model's other Dropout layers keep their own.
    """

    layers: tuple[Mark, ...]
    dropouts: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The marked layers' names."""
        return tuple(m.name for m in self.layers)


def marks_of(model: keras.Model) -> Marks:
    """The marks a model was built with (see :func:`set_marks`).

    Raises:
        ValueError: The model was not built by actreg_search.
    """
    marks = attached_marks(model)
    if not isinstance(marks, Marks):
        raise ValueError(f"model {model.name!r} has no marked layers")
    return marks


def set_marks(model: keras.Model, marks: Sequence[Mark], dropouts: Sequence[str] = ()) -> keras.Model:
    """Keep the marked layers (and the trial's dropout layers) with a model (not saved with it); returns the model."""
    attach_marks(model, Marks(tuple(marks), tuple(dropouts)))
    return model


def kind_of(layer: keras.layers.Layer) -> str | None:
    """A layer's marked type (``Dense``, ``Conv2D``, ``LSTM``), or ``None`` for any other layer."""
    for kind, cls in LAYER_CLASSES.items():
        if type(layer) is cls:
            return kind
    return None


def placements_of(kind: str) -> tuple[Placement, ...]:
    """The placements valid for a marked layer type."""
    return LAYER_FAMILIES[kind].placements


def carries(config: TrialConfig, name: str) -> bool:
    """Whether the marked layer ``name`` carries the trial's penalty."""
    return config.penalizes(name)


__all__ = ["LAYER_CLASSES", "LAYER_FAMILIES", "Mark", "Marks", "carries", "kind_of", "marks_of", "placements_of", "set_marks"]
