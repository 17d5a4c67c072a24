"""A stacked program's rows, tensor by tensor: their variables, padded values, minibatch orders and counts.

A row of a :class:`~actreg_search.engine.stacked.StackedLoop` is one model of
one seed of one trial. Its variables are slices of variables stacked on a
leading axis (:func:`stacked_variables`, in :func:`row_variables`' order),
loaded zero-padded into the template's shapes (:mod:`~actreg_search.engine.layouts`); it draws its
minibatches in an order of its own seed (:func:`permutations`) and its
correct predictions and exact zeros are counted as :mod:`~actreg_search.engine.metrics`
counts them (:func:`correct`, :func:`exact_zeros`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


def permutations(seeds: Sequence[int] | tf.Tensor, epoch: tf.Tensor, n: int) -> tf.Tensor:
    """Each row's order of the training samples in one epoch.

    Row ``k`` depends only on ``seeds[k]`` and ``epoch``, so a seed shuffles the
    same way whichever other rows (seeds, trials) share its program.

    Args:
        seeds: Each row's seed (a list, or an ``int64`` tensor of known length).
        epoch: The 0-based epoch, a scalar integer tensor.
        n: Number of training samples.

    Returns:
        ``int32`` tensor of shape ``(len(seeds), n)``; each row a permutation of ``range(n)``.
    """
    epoch = tf.cast(epoch, tf.int64)
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    rows = [
        tf.argsort(tf.random.stateless_uniform((n,), seed=tf.stack([seeds[k], epoch]))) for k in range(seeds.shape[0])
    ]
    return tf.stack(rows)


def row_variables(model: keras.Model) -> list[keras.Variable]:
    """A model's variables in the stacked order: trainable, then the rest."""
    return [*model.trainable_variables, *model.non_trainable_variables]


def stacked_variables(variables: Sequence[keras.Variable], rows: int, trainable: bool) -> list[keras.Variable]:
    """One variable per template variable, with ``rows`` values on a leading axis (zeros until loaded)."""
    return [
        keras.Variable(
            np.zeros((rows, *v.shape), v.dtype),
            dtype=v.dtype,
            trainable=trainable,
            name="rows_" + v.path.replace("/", "_"),
        )
        for v in variables
    ]


def correct(probs: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """1 where a prediction is correct: probability above 0.5 for one sigmoid unit, the arg-max of a softmax
    otherwise (the one accuracy rule: :func:`~actreg_search.engine.metrics.accuracy` counts with it too)."""
    if probs.shape[-1] == 1:
        predicted = tf.cast(probs[..., 0] > 0.5, y.dtype)
    else:
        predicted = tf.cast(tf.argmax(probs, axis=-1), y.dtype)
    return tf.cast(tf.equal(predicted, y), tf.int32)


def exact_zeros(activations: Sequence[tf.Tensor]) -> tf.Tensor:
    """Per marked layer, how many of its activated outputs are exactly zero."""
    return tf.stack([tf.reduce_sum(tf.cast(tf.equal(a, 0.0), tf.int32)) for a in activations])


__all__ = ["correct", "exact_zeros", "permutations", "row_variables", "stacked_variables"]
