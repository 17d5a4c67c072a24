"""Keras' recurrent layers computed on rows: LSTM, GRU and SimpleRNN for every row of a program at once.

The inputs' projection ``x·W (+ b)`` is one batched matmul over all rows and
time steps; then ``tf.scan`` runs the time steps, each one batched matmul
``h·U`` for all rows and the cell's gate arithmetic. The gates are Keras' own
(``LSTMCell``: i, f, c, o; ``GRUCell``: z, r, h, with or without
``reset_after``, as implementation 2 computes them), so the rows train what
Keras trains up to the order of floating-point sums.

Training scans, inference unrolls. Measured on the 2-core VM: an LSTM of 16
units over 8 steps of 8 features, 64 sequences, 3 rows, forward and backward
under XLA: unrolled 5.5 s to compile and 1.16 ms a step, scanned 1.3 s and
1.40 ms (a plain graph: 2.3–3.0 ms); the digits rnn program compiled in
15–19 s with its training unrolled, over the 10 s asked. Forward only it is
the other way round: the 3 rows of a 64-unit LSTM and its softmax head on
1,797 digits (the pass that counts every row's hits after each curve epoch)
took 102 ms a call scanned and 40 ms unrolled (1.1 and 1.5 s to compile
alone), and the digits rnn's warm 33-unit trial (3 seeds × 30 epochs, the
bucket of 64) went from 2.51 s to 1.44 s, 16 units from 0.62 s to 0.55 s.
Under ``tf.vectorized_map`` Keras' own ``while_loop`` did not finish compiling
in minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from actreg_search.engine.row_layers import Lookup, RowContext, dropped, per_row, row_uniform

def _projected(cell: Any, value: Lookup, x: tf.Tensor, bias: tf.Tensor | None, rows: int) -> tf.Tensor:
    """``x·W + b`` for every time step of every row: ``(steps, rows, batch, gates·units)``."""
    kernel = value(cell.kernel)
    projected = tf.matmul(tf.reshape(x, [rows, -1, kernel.shape[1]]), kernel)
    projected = tf.reshape(projected, [rows, -1, x.shape[2], kernel.shape[2]])
    if bias is not None:
        projected = projected + per_row(bias, 4)
    return tf.transpose(projected, [2, 0, 1, 3])


def _run(layer: Any, step: Callable[..., tuple], projected: tf.Tensor, states: tuple[tf.Tensor, ...], ctx: RowContext) -> tf.Tensor:
    """Run ``step`` over the time steps, scanned in training and unrolled in inference (the module says why);
    the layer's output: the last ``h``, or every step's on the time axis."""
    if not ctx.training:
        hs = []
        for t in range(projected.shape[0]):
            states = step(projected[t], *states)
            hs.append(states[0])
        return tf.stack(hs, 2) if layer.return_sequences else hs[-1]
    outputs = tf.scan(lambda carried, z: step(z, *carried), projected, initializer=states)
    hs = outputs[0]
    return tf.transpose(hs, [1, 2, 0, 3]) if layer.return_sequences else hs[-1]


def _input_dropout(layer: Any, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    """The layer's input ``dropout`` on ``x`` (``(rows, batch, steps, features)``) as Keras' cells apply it
    (implementation 2): one mask a sequence, the same at every step."""
    rates = ctx.dropout_rate(layer, layer.cell.dropout)
    if rates is None:
        return x
    uniform = row_uniform([x.shape[1], x.shape[3]], ctx.seeds, ctx.step, ctx.position)
    return dropped(x, rates, uniform[:, :, None, :])


def _zeros(x: tf.Tensor, rows: int, units: int) -> tf.Tensor:
    return tf.zeros([rows, tf.shape(x)[1], units], x.dtype)


def lstm(layer: keras.layers.LSTM, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    cell = layer.cell
    recurrent = value(cell.recurrent_kernel)

    def step(z: tf.Tensor, h: tf.Tensor, c: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        z0, z1, z2, z3 = tf.split(z + tf.matmul(h, recurrent), 4, axis=-1)
        i = cell.recurrent_activation(z0)
        f = cell.recurrent_activation(z1)
        c = f * c + i * cell.activation(z2)
        o = cell.recurrent_activation(z3)
        return o * cell.activation(c), c

    x = _input_dropout(layer, x, ctx)
    projected = _projected(cell, value, x, value(cell.bias) if cell.use_bias else None, ctx.rows)
    zeros = _zeros(x, ctx.rows, cell.units)
    return _run(layer, step, projected, (zeros, zeros), ctx)


def gru(layer: keras.layers.GRU, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    cell = layer.cell
    units = cell.units
    input_bias = recurrent_bias = None
    if cell.use_bias:
        bias = value(cell.bias)
        input_bias, recurrent_bias = (bias[:, 0], bias[:, 1]) if cell.reset_after else (bias, None)
    recurrent = value(cell.recurrent_kernel)

    def step(projected: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor]:
        x_z, x_r, x_h = tf.split(projected, 3, axis=-1)
        if cell.reset_after:
            inner = tf.matmul(h, recurrent)
            if recurrent_bias is not None:
                inner = inner + per_row(recurrent_bias, 3)
        else:
            inner = tf.matmul(h, recurrent[:, :, : 2 * units])
        z = cell.recurrent_activation(x_z + inner[..., :units])
        r = cell.recurrent_activation(x_r + inner[..., units : 2 * units])
        if cell.reset_after:
            recurrent_h = r * inner[..., 2 * units :]
        else:
            recurrent_h = tf.matmul(r * h, recurrent[:, :, 2 * units :])
        return (z * h + (1 - z) * cell.activation(x_h + recurrent_h),)

    x = _input_dropout(layer, x, ctx)
    return _run(layer, step, _projected(cell, value, x, input_bias, ctx.rows), (_zeros(x, ctx.rows, units),), ctx)


def simple_rnn(layer: keras.layers.SimpleRNN, value: Lookup, x: tf.Tensor, ctx: RowContext) -> tf.Tensor:
    cell = layer.cell
    recurrent = value(cell.recurrent_kernel)

    def step(projected: tf.Tensor, h: tf.Tensor) -> tuple[tf.Tensor]:
        h = projected + tf.matmul(h, recurrent)
        return (h if cell.activation is None else cell.activation(h),)

    bias = value(cell.bias) if cell.bias is not None else None
    x = _input_dropout(layer, x, ctx)
    return _run(layer, step, _projected(cell, value, x, bias, ctx.rows), (_zeros(x, ctx.rows, cell.units),), ctx)


FORWARD = {keras.layers.LSTM: lstm, keras.layers.GRU: gru, keras.layers.SimpleRNN: simple_rnn}
"""Each recurrent layer type computed on rows."""


def why_not(layer: keras.layers.Layer) -> str | None:
    """Why a recurrent layer cannot be computed on rows, or ``None``."""
    cell = layer.cell
    if layer.go_backwards or layer.stateful or layer.return_state:
        return "it goes backwards, is stateful or returns its state"
    if cell.recurrent_dropout:
        return "it has recurrent dropout"
    if cell.dropout and getattr(cell, "implementation", 2) == 1:
        return "its input dropout draws a mask per gate (implementation 1)"
    if layer.input.shape[1] is None:
        return "its sequences are of unknown length"
    return None


__all__ = ["FORWARD", "why_not"]
