"""A stacked program's rows, tensor by tensor: their variables, padded values, minibatch orders and counts.

A row of a :class:`~actreg_search.engine.stacked.StackedLoop` is one model of
one seed of one trial. Its variables are slices of variables stacked on a
leading axis (:func:`stacked_variables`, in :func:`row_variables`' order),
loaded zero-padded into the template's shapes (:mod:`~actreg_search.engine.layouts`); it draws its
minibatches in an order of its own seed (:func:`permutations`) and its
correct predictions and exact zeros are counted as :mod:`~actreg_search.engine.metrics`
counts them (:func:`correct`, :func:`exact_zeros`). What a row reads beyond its
weights, its penalty coefficients, learning rate and dropout rate, is its
:class:`RowInputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from actreg_search.models.probes import N_COEFS, Probes, penalty_rows
from actreg_search.spec.trial import TrialConfig


@dataclass(frozen=True)
class RowInputs:
    """What each row of a program reads besides its weights: inputs, so trials that differ only in them share it.

    The optimizer steps every row at rate 1 and each row's step is then
    scaled by its own learning rate: Keras' Adam, SGD (with or without
    momentum) and RMSprop move a weight by the rate times a quantity the rate
    does not enter (Adam's ``m̂ / (√v̂ + ε)``, SGD's gradient or its
    momentum-accumulated sum, RMSprop's ``g / √(ms + ε)``), so with a constant
    rate per row the scaled step is the step Keras takes at that rate, up to
    float32 rounding. A trial dropout layer (:attr:`~actreg_search.models.marks.Marks.dropouts`)
    reads each row's rate on the rows' path (:mod:`~actreg_search.engine.row_layers`);
    a model off the rows keeps its template's rate, so its program key keeps
    the trial's rate (:mod:`~actreg_search.engine.programs`).

    Attributes:
        coefs: Each row's coefficients at every probe point, ``(rows, points, N_COEFS)``
            (:func:`~actreg_search.models.probes.penalty_rows`).
        learning_rates: Each row's learning rate, ``(rows,)``.
        dropout_rates: Each row's rate at the trial's dropout layers, ``(rows,)`` (0 for a trial without).
    """

    coefs: np.ndarray
    learning_rates: np.ndarray
    dropout_rates: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[TrialConfig], probes: Probes) -> RowInputs:
        """The inputs of rows that train ``rows`` (one config per row) in a program with these probes."""
        points = probes.points
        return cls(
            np.stack([penalty_rows(config, points, probes.widths(config)) for config in rows]).reshape(len(rows), len(points), N_COEFS),
            np.asarray([config.learning_rate for config in rows], np.float32),
            np.asarray([config.dropout or 0.0 for config in rows], np.float32),
        )


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


def row_variables(model: keras.Model, seeds: bool = True) -> list[keras.Variable]:
    """A model's variables in the stacked order: trainable, then the rest.

    ``seeds=False`` leaves out the layers' random-seed states (a Dropout's, a
    recurrent cell's ``seed_generator``): the rows' path draws each row's masks
    from its own seed and step (:func:`~actreg_search.engine.row_layers.row_uniform`)
    and never reads them, and a Dropout of rate 0 has none, so a trial at rate 0
    fits the template of a program whose rows read their rates.
    """
    variables = [*model.trainable_variables, *model.non_trainable_variables]
    if seeds:
        return variables
    states = {id(g.state) for g in _seed_generators(model)}
    return [v for v in variables if id(v) not in states]


def _seed_generators(model: keras.Model) -> list[keras.random.SeedGenerator]:
    """The seed generators of a model's layers and their recurrent cells (Keras' ``seed_generator`` attribute)."""
    found = []
    for layer in model.layers:
        for owner in (layer, getattr(layer, "cell", None)):
            generator = getattr(owner, "seed_generator", None)
            if isinstance(generator, keras.random.SeedGenerator):
                found.append(generator)
    return found


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


__all__ = ["RowInputs", "correct", "exact_zeros", "permutations", "row_variables", "stacked_variables"]
