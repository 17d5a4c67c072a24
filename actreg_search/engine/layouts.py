"""Where a narrower model's weights sit in a wider template's: the layout of a width bucket.

A program's template is built at its width's bucket
(:mod:`~actreg_search.engine.programs`) and a narrower trial's weights are put
into it with zeros around them. For a Dense stack the narrow weights are the
leading block of each wide one. Other layers lay their units out otherwise, so
:func:`layout` walks the two models' chains side by side and says, for every
variable and axis, at which positions of the wide variable the narrow one's
entries go:

* Dense, Conv2D, SimpleRNN: the first units (filters) of the output axis;
  the input axis where the previous layer put its units;
* LSTM (gates i, f, c, o) and GRU (z, r, h): the first units of *each gate's
  block*, so a narrow LSTM's forget gate stays a forget gate;
* Flatten of ``(..., channels)``: each position's channels at that position's
  offset in the wide layout (a convolution's flattened output interleaves them);
* BatchNormalization: its scale, offset and moving averages follow the units;
* LayerNormalization: cannot pad (its statistics would count the padded
  units), so a model with one on a growing axis gets a program per width.

The padded units then stay exactly zero with zero gradient, as the Dense
argument in :mod:`~actreg_search.engine.programs` says: their pre-activations
are zero, every layer on them maps zero to zero (an activation ``f`` with
``f(0) = 0``; a BatchNormalization whose scale and offset there are zero; an
LSTM's cell ``f·0 + i·tanh(0) = 0`` and output ``o·tanh(0) = 0``; a GRU's
``z·0 + (1-z)·tanh(0) = 0``), and the weights leaving them are zero.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from actreg_search.engine.rows import row_variables
from actreg_search.engine.rowwise import chain

Index = tuple[np.ndarray, ...]
"""For each axis of a narrow variable, the positions of its entries in the wide one."""


@functools.lru_cache(maxsize=None)
def zero_preserving(activation: Any) -> bool:
    """Whether an activation maps 0 to exactly 0 (a padded unit then stays 0)."""
    value = keras.ops.convert_to_numpy(activation(keras.ops.zeros((1, 1))))
    return bool((value == 0.0).all())


def _blocks(gates: int, units: int, wide: int) -> np.ndarray:
    """The first ``units`` of each of ``gates`` blocks of ``wide`` units."""
    return np.concatenate([g * wide + np.arange(units) for g in range(gates)])


class _Walk:
    """The layout of one narrow model in one wide model, layer by layer (:func:`layout`)."""

    def __init__(self) -> None:
        self.places: dict[int, Index] = {}
        self.units: np.ndarray | None = None  # the current tensor's last-axis positions (None: the same width)

    def grows(self) -> bool:
        return self.units is not None

    def put(self, variable: keras.Variable, *axes: np.ndarray) -> None:
        self.places[id(variable)] = tuple(axes)

    def inputs(self, size: int) -> np.ndarray:
        return np.arange(size) if self.units is None else self.units

    def passes(self, big: keras.layers.Layer) -> bool:
        """Whether a layer without units of its own keeps padded units at zero (only asked while they exist)."""
        if isinstance(big, keras.layers.Activation):
            return not self.grows() or zero_preserving(big.activation)
        return isinstance(big, _PASSING) or not self.grows()  # zeros in, zeros out, on each unit alone

    def output(self, small: keras.layers.Layer, big: keras.layers.Layer, size: int, activation: Any) -> bool:
        """The layer's output is its first ``size`` units; ``False`` if padded units would not stay zero."""
        wide = big.output.shape[-1]
        self.units = None if size == wide else np.arange(size)
        return size == wide or activation is None or zero_preserving(activation)


def _dense(walk: _Walk, small: Any, big: Any) -> bool:
    walk.put(small.kernel, walk.inputs(small.kernel.shape[0]), np.arange(small.units))
    if small.use_bias:
        walk.put(small.bias, np.arange(small.units))
    return walk.output(small, big, small.units, big.activation)


def _conv(walk: _Walk, small: Any, big: Any) -> bool:
    kh, kw, channels, filters = small.kernel.shape
    walk.put(small.kernel, np.arange(kh), np.arange(kw), walk.inputs(channels), np.arange(filters))
    if small.use_bias:
        walk.put(small.bias, np.arange(filters))
    return walk.output(small, big, filters, big.activation)


def _recurrent(gates: int) -> Any:
    def rule(walk: _Walk, small: Any, big: Any) -> bool:
        cell, units, wide = small.cell, small.cell.units, big.cell.units
        blocks = _blocks(gates, units, wide)
        walk.put(cell.kernel, walk.inputs(cell.kernel.shape[0]), blocks)
        walk.put(cell.recurrent_kernel, np.arange(units), blocks)
        if getattr(cell, "bias", None) is not None:
            rows = (np.arange(cell.bias.shape[0]),) if len(cell.bias.shape) == 2 else ()
            walk.put(cell.bias, *rows, blocks)
        return walk.output(small, big, units, big.cell.activation)

    return rule


def _flatten(walk: _Walk, small: Any, big: Any) -> bool:
    if walk.grows():
        positions = int(np.prod(small.input.shape[1:-1]))
        wide = big.input.shape[-1]
        walk.units = (np.arange(positions)[:, None] * wide + walk.units[None, :]).reshape(-1)
    return True


def _batch_normalization(walk: _Walk, small: Any, big: Any) -> bool:
    units = walk.inputs(small.moving_mean.shape[0])
    for variable in (small.gamma if small.scale else None, small.beta if small.center else None, small.moving_mean, small.moving_variance):
        if variable is not None:
            walk.put(variable, units)
    return True


_PASSING = (
    keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D, keras.layers.Dropout, keras.layers.ActivityRegularization, keras.layers.Cropping1D,
)

_RULES = {
    keras.layers.Dense: _dense,
    keras.layers.Conv2D: _conv,
    keras.layers.SimpleRNN: _recurrent(1),
    keras.layers.LSTM: _recurrent(4),
    keras.layers.GRU: _recurrent(3),
    keras.layers.Flatten: _flatten,
    keras.layers.BatchNormalization: _batch_normalization,
    keras.layers.LayerNormalization: lambda walk, small, big: not walk.grows(),
}
"""The layers that place units (each has a counterpart in the narrow model); the others only pass them on."""


def layout(narrow: keras.Model, wide: keras.Model, seeds: bool = True) -> list[Index] | None:
    """Where each of ``narrow``'s variables (:func:`~actreg_search.engine.rows.row_variables`' order, with the
    seed states or without, ``seeds``) sits in ``wide``'s, or ``None`` when ``wide`` cannot train ``narrow``
    zero-padded (another architecture, or a layer whose padded units would not stay zero)."""
    small_layers, big_layers = chain(narrow), chain(wide)
    if small_layers is None or big_layers is None:
        return None
    # The narrow model may be the trial's own (an activation inside its Dense) and the wide one probed (the
    # activation split off): the layers that place units are matched in order, the others checked on the wide side.
    placing = iter([layer for layer in small_layers if type(layer) in _RULES])
    walk = _Walk()
    for big in big_layers:
        if type(big) not in _RULES:
            if not walk.passes(big):
                return None
            continue
        small = next(placing, None)
        if type(small) is not type(big) or not _RULES[type(big)](walk, small, big):
            return None
    if next(placing, None) is not None:
        return None
    if walk.grows():  # the model's output must not
        return None
    indices = []
    small_variables, big_variables = row_variables(narrow, seeds), row_variables(wide, seeds)
    for small, big in zip(small_variables, big_variables, strict=False):
        index = walk.places.get(id(small), tuple(np.arange(d) for d in small.shape))
        if len(index) != len(big.shape) or any(len(i) and i.max() >= d for i, d in zip(index, big.shape)):
            return None
        indices.append(index)
    return indices if len(small_variables) == len(big_variables) else None


def embed(value: np.ndarray, index: Index, shape: Sequence[int]) -> np.ndarray:
    """``value`` placed at ``index`` in zeros of ``shape``."""
    if tuple(value.shape) == tuple(shape):
        return value
    out = np.zeros(shape, value.dtype)
    out[np.ix_(*index)] = value
    return out


def cut(value: np.ndarray, index: Index) -> np.ndarray:
    """The entries of a wide ``value`` at ``index`` (what :func:`embed` put there)."""
    return value[np.ix_(*index)] if index else value


__all__ = ["Index", "cut", "embed", "layout", "zero_preserving"]
