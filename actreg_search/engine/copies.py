"""The fused engine's path for a model without a row form: one traced copy of Keras' ``stateless_call`` per row.

A model :mod:`~actreg_search.engine.rowwise` cannot compute on rows (a layer
without a row form, branches, several inputs) still trains in the fused
engine's program: each row's forward pass, losses and gradient are Keras'
own, traced once per row into a plain TensorFlow graph (XLA compiles such
graphs slowly on a CPU and runs small convolutions and recurrences no faster).
Random layers keep their seed generators' state with the row's other
non-trainable variables, so each row draws its own masks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from actreg_search.models.probes import Probes


def total_loss(loss: keras.losses.Loss, y: tf.Tensor, predictions: tf.Tensor, extra: Sequence[tf.Tensor]) -> tf.Tensor:
    """The batch objective exactly as ``Trainer.compute_loss`` adds it up: the loss and the model's losses."""
    parts = [loss(y, predictions)] + [keras.ops.sum(e) for e in extra]
    return parts[0] if len(parts) == 1 else keras.ops.sum(parts)


def reading(probes: Probes | None, coefs: tf.Tensor) -> Any:
    """While tracing a row: the template's probes read that row's coefficients (nothing for an unprobed template)."""
    return probes.reading(coefs) if probes is not None else contextlib.nullcontext()


class TracedRows:
    """A template model trained as ``rows`` traced copies.

    Args:
        template: The model whose ``stateless_call`` every row uses.
        probes: Its probes (``None``: its penalty is its own).
        loss: The Keras loss.
        rows: Number of rows.
    """

    def __init__(self, template: keras.Model, probes: Probes | None, loss: keras.losses.Loss, rows: int) -> None:
        self.template = template
        self.probes = probes
        self.loss = loss
        self.rows = rows

    def step(
        self, weights: list[tf.Tensor], state: list[tf.Tensor], coefs: tf.Tensor, x: tf.Tensor, y: tf.Tensor, per_row_data: bool
    ) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
        """Every row's loss, gradient and new non-trainable values on a batch (shared, or one per row when ``per_row_data``)."""

        def one_row(args: tuple) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
            weights, state, coefs, *batch = args
            xb, yb = batch if per_row_data else (x, y)
            with tf.GradientTape() as tape:
                tape.watch(weights)
                with reading(self.probes, coefs):
                    predictions, state, extra = self.template.stateless_call(weights, state, xb, training=True, return_losses=True)
                loss = total_loss(self.loss, yb, predictions, extra)
            return loss, tape.gradient(loss, weights), state

        args = (weights, state, coefs) + ((x, y) if per_row_data else ())
        return self._map(one_row, args)

    def loss(self, weights: list[tf.Tensor], state: list[tf.Tensor], coefs: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """Every row's objective on its own batch ``(x, y)`` (a row axis) in inference mode, as Keras' ``val_loss``
        adds it up on one batch: the loss and the model's losses."""

        def one_row(args: tuple) -> tf.Tensor:
            weights, state, coefs, xb, yb = args
            with reading(self.probes, coefs):
                predictions, _, extra = self.template.stateless_call(weights, state, xb, training=False, return_losses=True)
            return total_loss(self.loss, yb, predictions, extra)

        return self._map(one_row, (weights, state, coefs, x, y))

    def predict(self, weights: list[tf.Tensor], state: list[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
        """Every row's outputs on ``x`` in inference mode, ``(rows, len(x), ...)``."""

        def one_row(args: tuple) -> tf.Tensor:
            probs, _ = self.template.stateless_call(*args, x, training=False)
            return probs

        return self._map(one_row, (weights, state))

    def _map(self, fn: Callable[[Any], Any], elems: Any) -> Any:
        """``fn`` of each row's slice of ``elems``, stacked: one traced copy of ``fn`` per row."""
        outputs = [fn(tf.nest.map_structure(lambda t, k=k: t[k], elems)) for k in range(self.rows)]
        return tf.nest.map_structure(lambda *per_row: tf.stack(per_row), *outputs)


__all__ = ["TracedRows", "reading", "total_loss"]
