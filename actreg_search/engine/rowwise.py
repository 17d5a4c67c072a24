"""A model computed on rows: its layers' row forms (:mod:`~actreg_search.engine.row_layers`,
:mod:`~actreg_search.engine.row_recurrent`) chained, with Keras' losses and penalties per row.

:class:`RowModel` walks a model made of one chain of layers (each layer's
input the previous layer's output: a Sequential model, or a functional one
without branches) whose every layer has a row form, and computes, for all rows
at once, what ``stateless_call(..., training, return_losses=True)`` computes
for one: the output, the penalties (``activity_regularizer`` of a layer's
output divided by the batch size, as Keras ≥ 3.15 does; each trainable
variable's ``regularizer``) and the new moving averages. The loss per row is
:func:`row_losses`, the batch mean Keras' losses take. A probed model's
penalties (:class:`~actreg_search.models.probes.Probe`) read each row's
coefficients; Keras' ``L1``, ``L2`` and ``L1L2`` are computed on all rows at
once; another regularizer is called on each row.

:func:`unsupported` says which layer keeps a model off the rows, and why: it
then trains on the fused engine's per-row path.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from actreg_search.engine import row_layers, row_recurrent
from actreg_search.engine.row_layers import Forward, RowContext
from actreg_search.engine.rows import row_variables
from actreg_search.models.probes import Probe, probe_penalty

FORWARD: dict[type, Forward] = {**row_layers.FORWARD, **row_recurrent.FORWARD}
"""Every layer type computed on rows (Keras' own classes, by exact type)."""


def chain(model: keras.Model) -> list[keras.layers.Layer] | None:
    """The model's layers in order when they form one chain from its input to its output (input layers left out),
    else ``None``."""
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
    except (AttributeError, ValueError):  # a Sequential model never built has no inputs
        return None
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    current = model.inputs[0]
    for layer in layers:
        try:
            if layer.input is not current:
                return None
            current = layer.output
        except (AttributeError, ValueError):  # a layer called more than once has no single input
            return None
    return layers if current is model.outputs[0] else None


def unsupported(model: keras.Model) -> tuple[str, str] | None:
    """``(layer name, why)`` for the first layer that keeps ``model`` off the rows, or ``None`` when it trains on rows."""
    layers = chain(model)
    if layers is None:
        return model.name, "its layers are not one chain from input to output"
    for layer in layers:
        if type(layer) not in FORWARD:
            return layer.name, f"a {type(layer).__name__} has no row form"
        check = row_recurrent.why_not if type(layer) in row_recurrent.FORWARD else row_layers.why_not
        reason = check(layer)
        if reason is not None:
            return layer.name, reason
    return None


def vectorizes(model: keras.Model) -> bool:
    """Whether ``model`` trains on rows: all rows in one batched, XLA-compiled computation; otherwise the fused
    engine trains one traced copy of the step per row in a plain TensorFlow graph (:mod:`~actreg_search.engine.copies`)."""
    return unsupported(model) is None


def row_losses(y: tf.Tensor, probs: tf.Tensor, n_classes: int = 2) -> tf.Tensor:
    """Each row's batch mean of the loss :func:`~actreg_search.models.build.make_loss` makes for ``n_classes``:
    binary cross-entropy for one sigmoid unit, sparse categorical cross-entropy for a softmax, the mean squared
    error for a regression (1) or an autoencoder (0), over the sample's outputs as Keras' averages them."""
    if n_classes < 2:
        outputs = probs if n_classes == 0 else probs[..., 0]
        per_sample = tf.reduce_mean(tf.square(outputs - tf.cast(y, probs.dtype)), axis=list(range(2, len(outputs.shape))))
        return tf.reduce_mean(per_sample, axis=-1)
    if probs.shape[-1] == 1:
        per_sample = keras.losses.binary_crossentropy(tf.cast(y, probs.dtype)[..., None], probs)
    else:
        per_sample = keras.losses.sparse_categorical_crossentropy(y, probs)
    return tf.reduce_mean(per_sample, axis=-1)


def penalty(regularizer: keras.regularizers.Regularizer, x: tf.Tensor, coefs: tf.Tensor | None) -> tf.Tensor:
    """A regularizer's value on each row of ``x`` (``(rows, ...)``), shape ``(rows,)``.

    Args:
        regularizer: The regularizer.
        x: A row-stacked tensor.
        coefs: Each row's probe coefficients ``(rows, points, N_COEFS)`` (probed models).
    """
    axes = list(range(1, len(x.shape)))
    if isinstance(regularizer, Probe):
        probes = regularizer.probes
        return probe_penalty(x, coefs[:, regularizer.index], regularizer.squash, probes.kl, probes.decov, probes.user, probes.tar)
    if type(regularizer) in (keras.regularizers.L1, keras.regularizers.L2, keras.regularizers.L1L2):
        total = tf.zeros([x.shape[0]], x.dtype)
        if getattr(regularizer, "l1", 0.0):
            total += regularizer.l1 * tf.reduce_sum(tf.abs(x), axis=axes)
        if getattr(regularizer, "l2", 0.0):
            total += regularizer.l2 * tf.reduce_sum(tf.square(x), axis=axes)
        return total
    return tf.stack([tf.cast(regularizer(x[k]), x.dtype) for k in range(x.shape[0])])


class RowModel:
    """A chain model (:func:`unsupported` is ``None``) computed on rows.

    Args:
        model: The template model; its variables' row-stacked values are
            passed to :meth:`forward` in :func:`~actreg_search.engine.rows.row_variables`' order,
            without the seed states (``seeds=False``).
        rows: Number of rows.
        trial_dropouts: The layers whose dropout rate is each row's own
            (:attr:`~actreg_search.models.marks.Marks.dropouts`), given to :meth:`step` as ``rates``.
        n_classes: The data's (its loss: :func:`row_losses`).
    """

    def __init__(self, model: keras.Model, rows: int, trial_dropouts: Sequence[str] = (), n_classes: int = 2) -> None:
        if unsupported(model) is not None:
            raise ValueError(f"model {model.name!r} cannot be computed on rows")
        self.layers = chain(model)
        self.rows = rows
        self.n_classes = n_classes
        self.trial_dropouts = frozenset(trial_dropouts)
        variables = row_variables(model, seeds=False)  # the rows draw their own masks: no seed state
        self.position = {id(v): k for k, v in enumerate(variables)}
        self.n_weights = len(model.trainable_variables)
        self.state_ids = [id(v) for v in variables[self.n_weights :]]
        self.regularized = [(k, v.regularizer) for k, v in enumerate(model.trainable_variables) if v.regularizer is not None]

    def step(
        self,
        weights: list[tf.Tensor],
        state: list[tf.Tensor],
        coefs: tf.Tensor,
        x: tf.Tensor,
        y: tf.Tensor,
        per_row_data: bool,
        seeds: tf.Tensor | None = None,
        step: tf.Tensor | None = None,
        rates: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
        """Every row's loss, gradient and new non-trainable values on a batch (shared, or one per row when
        ``per_row_data``): the gradient of the rows' summed losses, each row's own since rows share no weight.
        ``rates``: each row's dropout rate at the trial's dropout layers, ``(rows,)``."""
        if not per_row_data:
            x = tf.broadcast_to(x[None], [self.rows, *x.shape])
            y = tf.broadcast_to(y[None], [self.rows, *y.shape])
        with tf.GradientTape() as tape:
            tape.watch(weights)
            probs, penalties, state = self.forward(weights + state, x, coefs, True, seeds, step, rates)
            losses = row_losses(y, probs, self.n_classes) + penalties
            total = tf.reduce_sum(losses)
        return losses, tape.gradient(total, weights), state

    def loss(self, weights: list[tf.Tensor], state: list[tf.Tensor], coefs: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """Every row's objective on its own batch ``(x, y)`` (a row axis) in inference mode, as Keras' ``val_loss``
        adds it up on one batch: the batch-mean loss, the activity penalties (÷ batch size) and the weights' penalties."""
        probs, penalties, _ = self.forward(weights + state, x, coefs, False, penalize=True)
        return row_losses(y, probs, self.n_classes) + penalties

    def predict(self, weights: list[tf.Tensor], state: list[tf.Tensor], x: tf.Tensor) -> tf.Tensor:
        """Every row's outputs on ``x`` (shared by the rows) in inference mode, ``(rows, len(x), ...)``."""
        return self.forward(weights + state, tf.broadcast_to(x[None], [self.rows, *x.shape]), None, False)[0]

    def forward(
        self,
        values: Sequence[tf.Tensor],
        x: tf.Tensor,
        coefs: tf.Tensor | None,
        training: bool,
        seeds: tf.Tensor | None = None,
        step: tf.Tensor | None = None,
        rates: tf.Tensor | None = None,
        penalize: bool | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, list[tf.Tensor]]:
        """Every row's output, penalty and new non-trainable values.

        Args:
            values: Row-stacked values of the model's variables (trainable, then the rest).
            x: The inputs, ``(rows, batch, ...)``.
            coefs: Each row's probe coefficients, ``(rows, points, N_COEFS)`` (probed models; else ignored).
            training: Training mode.
            seeds: Each row's seed (dropout), ``(rows,)`` ``int64``.
            step: The optimizer step (dropout), a scalar.
            rates: Each row's rate at the trial's dropout layers, ``(rows,)`` (``None``: their own rates).
            penalize: Compute the penalties (``None``: in training mode only; they are zeros otherwise).

        Returns:
            ``(outputs, penalties (rows,), non-trainable values)``; in training
            mode the moving averages are the updated ones, otherwise unchanged.
        """
        ctx = RowContext(self.rows, training, seeds, step, updates={}, rates=rates, trial_dropouts=self.trial_dropouts)

        def lookup(variable: keras.Variable) -> tf.Tensor:
            return values[self.position[id(variable)]]

        penalize = training if penalize is None else penalize
        total = tf.zeros([self.rows], x.dtype)
        for position, layer in enumerate(self.layers):
            ctx.position = position
            x = FORWARD[type(layer)](layer, lookup, x, ctx)
            if penalize and layer.activity_regularizer is not None:
                total += penalty(layer.activity_regularizer, x, coefs) / tf.cast(tf.shape(x)[1], x.dtype)
        if penalize:
            for k, regularizer in self.regularized:
                total += penalty(regularizer, values[k], coefs)
        state = [ctx.updates.get(key, value) for key, value in zip(self.state_ids, values[self.n_weights :])]
        return x, total, state


__all__ = ["FORWARD", "RowModel", "chain", "penalty", "row_losses", "unsupported", "vectorizes"]
