"""Keras layers computed on rows: one layer's forward pass for every row of a program at once.

A tensor here carries the rows on a leading axis, ``(rows, batch, ...)``, and
so does every weight (``(rows, *shape)``, :mod:`~actreg_search.engine.rows`).
Each function below computes what its Keras layer's ``call`` computes, in the
same operations where TensorFlow has a batched form, for all rows in one
batched kernel instead of one traced copy per row (what ``tf.vectorized_map``
does for Dense layers, and cannot do well for the rest: measured below). The
recurrent layers are in :mod:`~actreg_search.engine.row_recurrent`.

Why by hand (``tf.vectorized_map`` over Keras' own ``stateless_call`` is the
library's way): measured on the 2-core VM, one training step of a 3×3
convolution of 64 8×8 images, 16 filters, 3 rows (R=15 in brackets), forward
and backward with the input's gradient: ``vectorized_map`` turns the filter's
gradient into a ``while_loop`` ("Conv2DBackpropFilter uses a while_loop") and
XLA refuses the rest; one traced convolution per row costs 4.1 ms (14.7 ms)
without XLA and 19.7 ms (45 ms, 8.6 s to compile) with it; a grouped
convolution (``feature_group_count``) 4.7 ms (27.8 ms), and TensorFlow's CPU
kernel refuses its gradient without XLA; the same convolution as shifted
slices of the padded input (im2col) times the stacked kernel, one batched
matmul, 0.93 ms (2.2 ms) under XLA. An LSTM under ``vectorized_map`` did not
finish compiling the digits study's program in minutes. So:

* Dense: a batched matmul; Conv2D: im2col from slices, a batched matmul;
* pooling, Flatten, global pooling: the rows merged into the batch axis;
* Dropout: each row's mask drawn from its own seed, the step and the layer's
  position (:func:`row_uniform`), so a row draws the same masks whichever
  other rows share its program; kept and scaled as
  ``tf.nn.experimental.stateless_dropout`` (Keras' own) does (the keras engine
  draws from Keras' seed generator: other masks, the same distribution);
* BatchNormalization: each row's batch statistics and moving averages;
* LayerNormalization, Activation, ActivityRegularization: per sample anyway.

A layer's options the functions do not implement (``channels_first``,
grouped convolutions, a noise shape, renormalization, LoRA, quantization,
another dtype) make :func:`why_not` name the layer; the model then trains on
the fused engine's per-row path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

Lookup = Callable[[keras.Variable], tf.Tensor]
"""A row-stacked value of one of the model's variables."""


@dataclass
class RowContext:
    """What a layer's rows need beyond their inputs and weights.

    Attributes:
        rows: Number of rows.
        training: Training mode (dropout active, batch statistics).
        seeds: Each row's seed, ``int64`` of shape ``(rows,)`` (training only).
        step: The optimizer step (epoch × batches + batch), a scalar ``int64`` tensor (training only).
        position: The layer's position in the model (draws of two layers differ).
        updates: New values of non-trainable variables (moving averages), filled by the layers.
        rates: Each row's dropout rate, ``(rows,)``, for the layers named in ``trial_dropouts`` (training only).
        trial_dropouts: The layers at the trial's dropout rate (Dropout layers, and recurrent
            layers for their input dropout); a model's other Dropout layers keep their own rate.
    """

    rows: int
    training: bool
    seeds: tf.Tensor | None = None
    step: tf.Tensor | None = None
    position: int = 0
    updates: dict[int, tf.Tensor] | None = None
    rates: tf.Tensor | None = None
    trial_dropouts: frozenset[str] = frozenset()

    def dropout_rate(self, layer: keras.layers.Layer, own: float) -> tf.Tensor | None:
        """The rows' dropout rates at ``layer`` in training, ``(rows,)``: each row's own for a trial dropout
        layer, else the layer's ``own``; ``None`` when nothing is dropped (inference, or a fixed rate of 0)."""
        if not self.training:
            return None
        if self.rates is not None and layer.name in self.trial_dropouts:
            return self.rates
        return None if own == 0 else tf.fill([self.rows], tf.constant(own, tf.float32))


def dropped(x: tf.Tensor, rates: tf.Tensor, uniform: tf.Tensor) -> tf.Tensor:
    """Inverted dropout of ``x`` (``(rows, ...)``) at each row's rate, from uniform draws shaped like ``x``
    (or broadcasting to it): a unit is kept where its draw is ≥ the rate, and scaled by ``1 / (1 - rate)``;
    a rate of 0 keeps ``x`` exactly."""
    rank = len(x.shape)
    rate = per_row(tf.cast(rates, x.dtype), rank)
    keep = tf.cast(uniform >= rate, x.dtype)
    return x * keep * (1.0 / (1.0 - rate))


def per_row(value: tf.Tensor, rank: int) -> tf.Tensor:
    """A ``(rows, *shape)`` weight reshaped to broadcast against a ``(rows, batch, ..., *shape)`` tensor of ``rank``."""
    extra = rank - len(value.shape)
    return tf.reshape(value, [value.shape[0], *([1] * extra), *value.shape[1:]])


def merged(x: tf.Tensor, fn: Callable[[tf.Tensor], tf.Tensor]) -> tf.Tensor:
    """``fn`` of ``x`` with the rows merged into the batch axis (a per-sample operation), split again."""
    out = fn(tf.reshape(x, [-1, *x.shape[2:]]))
    return tf.reshape(out, [x.shape[0], -1, *out.shape[1:]])


def dense(layer: keras.layers.Dense, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    kernel = value(layer.kernel)
    units = kernel.shape[-1]
    flat = tf.reshape(x, [ctx.rows, -1, kernel.shape[1]])
    y = tf.reshape(tf.matmul(flat, kernel), [ctx.rows, -1, *x.shape[2:-1], units])
    if layer.use_bias:
        y = y + per_row(value(layer.bias), len(x.shape))
    return layer.activation(y)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """Output size and the (before, after) padding of TensorFlow's ``SAME``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def conv2d(layer: keras.layers.Conv2D, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    kernel = value(layer.kernel)  # (rows, kh, kw, channels, filters)
    kh, kw, channels, filters = kernel.shape[1:]
    (sh, sw), (dh, dw) = layer.strides, layer.dilation_rate
    height, width = x.shape[2], x.shape[3]
    flat = tf.reshape(x, [-1, height, width, channels])
    if layer.padding == "same":
        oh, top, bottom = _same_padding(height, kh, sh, dh)
        ow, left, right = _same_padding(width, kw, sw, dw)
        flat = tf.pad(flat, [[0, 0], [top, bottom], [left, right], [0, 0]])
    else:
        oh, ow = (height - (kh - 1) * dh - 1) // sh + 1, (width - (kw - 1) * dw - 1) // sw + 1
    taps = [
        flat[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw, :]
        for i in range(kh)
        for j in range(kw)
    ]
    patches = tf.reshape(tf.concat(taps, axis=-1), [ctx.rows, -1, kh * kw * channels])
    y = tf.matmul(patches, tf.reshape(kernel, [ctx.rows, kh * kw * channels, filters]))
    y = tf.reshape(y, [ctx.rows, -1, oh, ow, filters])
    if layer.use_bias:
        y = y + per_row(value(layer.bias), 5)
    return layer.activation(y)


def _tiles(x: tf.Tensor, pool: tuple[int, ...], strides: tuple[int, ...], padding: str) -> list[int] | None:
    """The shape that puts each pooling window on axes of its own, when the windows tile the input exactly
    (strides equal to the pool size, every spatial size a multiple of it), else ``None``."""
    spatial = x.shape[1:-1]
    if tuple(strides) != tuple(pool) or any(size % p for size, p in zip(spatial, pool)):
        return None  # (where the windows tile the input, "valid" and "same" pool alike)
    return [-1, *[d for size, p in zip(spatial, pool) for d in (size // p, p)], x.shape[-1]]


def _pool(fn: Callable[..., tf.Tensor], reduce: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
    """A pooling layer on rows; windows that tile the input are reduced as reshaped axes: XLA's gradient of a
    max pool (select-and-scatter) took 2.2 ms a step where the reshaped max took 0.40 ms (192 maps of 8×8×16,
    2-core VM). Where several entries of a window tie for the max, the reshaped max's gradient splits among
    them, the pool's goes to one: with a ReLU before the pool tied entries are zeros whose gradient the ReLU
    stops anyway."""

    def pool(layer: Any, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
        def run(t: tf.Tensor) -> tf.Tensor:
            shape = _tiles(t, tuple(layer.pool_size), tuple(layer.strides), layer.padding)
            if shape is None:
                return fn(t, layer.pool_size, layer.strides, layer.padding.upper())
            return reduce(tf.reshape(t, shape), axis=list(range(2, len(shape) - 1, 2)))

        return merged(x, run)

    return pool


def flatten(layer: keras.layers.Flatten, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    return tf.reshape(x, [ctx.rows, -1, math.prod(x.shape[2:])])


def cropping1d(layer: keras.layers.Cropping1D, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    start, end = layer.cropping
    return x[:, :, start : x.shape[2] - end]


def _global(reduce: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
    def pool(layer: Any, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
        return reduce(x, axis=list(range(2, len(x.shape) - 1)), keepdims=layer.keepdims)

    return pool


def activation(layer: keras.layers.Activation, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    return layer.activation(x)


def identity(layer: Any, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    return x


def _mix(x: tf.Tensor) -> tf.Tensor:
    """A 32-bit integer hash with full avalanche (Chris Wellons' "lowbias32")."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16)) * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15)) * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _low(x: tf.Tensor) -> tf.Tensor:
    """An integer tensor's low 32 bits as ``uint32``."""
    return tf.cast(tf.bitwise.bitwise_and(tf.cast(x, tf.int64), 0xFFFFFFFF), tf.uint32)


def row_uniform(shape: list[int], seeds: tf.Tensor, step: tf.Tensor, position: int) -> tf.Tensor:
    """Uniform draws in [0, 1) of ``(rows, *shape)``, row ``k``'s a function of ``seeds[k]``, ``step`` and
    ``position`` only (24 bits each).

    Written here because TensorFlow's stateless random ops take one key per
    call: a row's own draws would be one op per row, which made a Dropout MLP's
    warm 3-seed trial 1.3 s against 0.14 s without the layer (2-core VM). A
    counter-based hash of (row key, element index) draws every row in one pass.
    """
    seeds = tf.cast(seeds, tf.int64)
    key = _mix(_low(seeds) ^ _mix(_low(tf.bitwise.right_shift(seeds, 32))))
    key = _mix(key ^ _mix(_low(step)) ^ tf.constant(position * 0x9E3779B9 & 0xFFFFFFFF, tf.uint32))
    index = tf.reshape(tf.range(math.prod(shape), dtype=tf.int32), shape)
    key = tf.reshape(key, [-1, *([1] * len(shape))])
    bits = _mix(_mix(tf.cast(index, tf.uint32)[None] ^ key) + key)
    return tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) * (1.0 / (1 << 24))


def dropout(layer: keras.layers.Dropout, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    rates = ctx.dropout_rate(layer, layer.rate)
    if rates is None:
        return x
    if layer.name not in ctx.trial_dropouts and layer.rate >= 1:
        return tf.zeros_like(x)
    return dropped(x, rates, row_uniform(list(x.shape[1:]), ctx.seeds, ctx.step, ctx.position))


def batch_normalization(layer: keras.layers.BatchNormalization, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    rank = len(x.shape)
    moving_mean, moving_variance = value(layer.moving_mean), value(layer.moving_variance)
    if ctx.training and layer.trainable:
        mean, variance = tf.nn.moments(x, axes=list(range(1, rank - 1)))
        momentum = layer.momentum
        ctx.updates[id(layer.moving_mean)] = moving_mean * momentum + mean * (1.0 - momentum)
        ctx.updates[id(layer.moving_variance)] = moving_variance * momentum + variance * (1.0 - momentum)
    else:
        mean, variance = moving_mean, moving_variance
    gamma = per_row(value(layer.gamma), rank) if layer.scale else None
    beta = per_row(value(layer.beta), rank) if layer.center else None
    return tf.nn.batch_normalization(x, per_row(mean, rank), per_row(variance, rank), beta, gamma, layer.epsilon)


def layer_normalization(layer: keras.layers.LayerNormalization, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    rank = len(x.shape)
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    inv = tf.math.rsqrt(variance + layer.epsilon)
    if layer.scale:
        inv = inv * per_row(value(layer.gamma), rank)
    shift = -mean * inv
    if layer.center:
        shift = shift + per_row(value(layer.beta), rank)
    return x * inv + shift


Forward = Callable[[Any, Lookup, tf.Tensor, RowContext], tf.Tensor]

FORWARD: dict[type, Forward] = {
    keras.layers.Dense: dense,
    keras.layers.Conv2D: conv2d,
    keras.layers.MaxPooling2D: _pool(tf.nn.max_pool2d, tf.reduce_max),
    keras.layers.AveragePooling2D: _pool(tf.nn.avg_pool2d, tf.reduce_mean),
    keras.layers.MaxPooling1D: _pool(tf.nn.max_pool1d, tf.reduce_max),
    keras.layers.AveragePooling1D: _pool(tf.nn.avg_pool1d, tf.reduce_mean),
    keras.layers.Flatten: flatten,
    keras.layers.Cropping1D: cropping1d,
    keras.layers.GlobalAveragePooling2D: _global(tf.reduce_mean),
    keras.layers.GlobalAveragePooling1D: _global(tf.reduce_mean),
    keras.layers.GlobalMaxPooling2D: _global(tf.reduce_max),
    keras.layers.GlobalMaxPooling1D: _global(tf.reduce_max),
    keras.layers.Activation: activation,
    keras.layers.ActivityRegularization: identity,
    keras.layers.Dropout: dropout,
    keras.layers.BatchNormalization: batch_normalization,
    keras.layers.LayerNormalization: layer_normalization,
}
"""Each feed-forward layer type computed on rows (the exact type: a subclass may compute otherwise)."""


def why_not(layer: keras.layers.Layer) -> str | None:
    """Why a layer of a type in :data:`FORWARD` cannot be computed on rows, or ``None``."""
    if layer.dtype_policy.name != "float32":
        return f"its dtype policy is {layer.dtype_policy.name} (rows compute in float32)"
    if getattr(layer, "quantization_mode", None) or getattr(layer, "lora_enabled", False):
        return "it is quantized or has LoRA weights"
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        return "it is channels_first"
    if isinstance(layer, keras.layers.Conv2D) and layer.groups != 1:
        return "it is a grouped convolution"
    if isinstance(layer, keras.layers.Dropout) and layer.noise_shape is not None:
        return "it has a noise_shape"
    if isinstance(layer, keras.layers.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else None
        if axis not in (-1, len(layer.input.shape) - 1) or layer.synchronized or getattr(layer, "renorm", False):
            return "it normalizes another axis than the last, is synchronized or renormalizes"
    if isinstance(layer, keras.layers.LayerNormalization):
        axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
        if axes not in ([-1], [len(layer.input.shape) - 1]) or getattr(layer, "rms_scaling", False):
            return "it normalizes another axis than the last or uses rms_scaling"
    return None


__all__ = ["FORWARD", "Forward", "Lookup", "RowContext", "merged", "per_row", "why_not"]
