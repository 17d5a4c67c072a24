"""The fused engine's compiled loop: a trial's models stacked over seeds, trained in one ``tf.function``.

See :mod:`actreg_search.engine.fused` for why one optimizer over the stacked
weights takes each seed's own steps. :class:`StackedLoop` holds the stacked
variables and traces the training chunk; :func:`permutations` gives each seed
its own minibatch order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from actreg_search.config import TrialConfig
from actreg_search.data import Dataset
from actreg_search.engine.base import curve_epochs
from actreg_search.models import make_loss, make_optimizer

VECTORIZED_LAYERS = (keras.layers.InputLayer, keras.layers.Dense, keras.layers.Activation)
"""Layers that ``tf.vectorized_map`` turns into batched kernels XLA compiles well.

A model made only of these is trained vectorised over seeds and XLA-compiled.
Any other model (Conv2D, LSTM, Dropout, ...) is trained with one traced copy of
the step per seed in a plain TensorFlow graph: XLA on CPU is slow to compile
and to run small convolutions and recurrences, ``vectorized_map`` cannot batch
an LSTM into anything XLA accepts, and a random layer's draws are per seed.
"""


def permutations(seeds: Sequence[int], epoch: tf.Tensor, n: int) -> tf.Tensor:
    """Each seed's order of the training samples in one epoch.

    Row ``k`` depends only on ``seeds[k]`` and ``epoch``, so a seed shuffles the
    same way whichever other seeds share its trial.

    Args:
        seeds: The trial's seeds.
        epoch: The 0-based epoch, a scalar integer tensor.
        n: Number of training samples.

    Returns:
        ``int32`` tensor of shape ``(len(seeds), n)``; each row a permutation of ``range(n)``.
    """
    epoch = tf.cast(epoch, tf.int64)
    rows = [
        tf.argsort(tf.random.stateless_uniform((n,), seed=tf.stack([tf.constant(seed, tf.int64), epoch])))
        for seed in seeds
    ]
    return tf.stack(rows)


def _stack(variables: Sequence[Sequence[keras.Variable]], trainable: bool) -> list[keras.Variable]:
    """One variable per position, holding every model's value on a leading axis."""
    return [
        keras.Variable(
            np.stack([v.numpy() for v in column]),
            dtype=column[0].dtype,
            trainable=trainable,
            name="seeds_" + column[0].path.replace("/", "_"),
        )
        for column in zip(*variables)
    ]


class StackedLoop:
    """The models' weights stacked over seeds, and the compiled training chunk."""

    def __init__(self, config: TrialConfig, data: Dataset, models: Sequence[keras.Model], seeds: Sequence[int]) -> None:
        self.template = models[0]
        self.vectorize = all(isinstance(layer, VECTORIZED_LAYERS) for layer in self.template.layers)
        self.seeds = tuple(seeds)
        self.weights = _stack([m.trainable_variables for m in models], trainable=True)
        self.state = _stack([m.non_trainable_variables for m in models], trainable=False)
        self.optimizer = make_optimizer(config)
        if self.optimizer.clipnorm is not None or self.optimizer.global_clipnorm is not None:
            raise ValueError("norm clipping couples the stacked seeds; the fused engine cannot use it")
        self.optimizer.build(self.weights)
        self.loss = make_loss(data.n_classes)
        self.batch_size = config.batch_size
        self.record_every = curve_epochs(config.epochs)[0]
        self.n_train = len(data.x_train)
        self.x_train = tf.constant(data.x_train)
        self.y_train = tf.constant(data.y_train)
        self.x_eval = tf.constant(np.concatenate([data.x_train, data.x_test]))
        self.y_eval = tf.constant(np.concatenate([data.y_train, data.y_test]))

    def write_back(self, models: Sequence[keras.Model]) -> None:
        """Copy each seed's slice of the stacked variables into its model."""
        for position, stacked in enumerate(self.weights + self.state):
            values = stacked.numpy()
            for k, model in enumerate(models):
                (model.trainable_variables + model.non_trainable_variables)[position].assign(values[k])

    # -- traced into the compiled chunk

    def chunk(
        self,
        begin: tf.Tensor,
        end: tf.Tensor,
        train_hits: tf.Tensor,
        test_hits: tf.Tensor,
        first_bad: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """Train epochs ``[begin, end)``.

        The epochs run in blocks that end at the next curve epoch (or at
        ``end``); each block ends with one evaluation of every seed, written
        into the curves when the block ends on a curve epoch.

        Args:
            begin: First 0-based epoch.
            end: One past the last.
            train_hits: Correct train predictions, ``(n_curve_epochs, n_seeds)``.
            test_hits: Correct test predictions, likewise.
            first_bad: Each seed's first epoch (1-based) with a non-finite
                loss, 0 for none.

        Returns:
            The three updated, and each seed's correct test predictions after
            epoch ``end``.
        """
        every = self.record_every

        def epoch_body(epoch: tf.Tensor, bad: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            losses = self._epoch(epoch)
            return epoch + 1, tf.where((bad == 0) & ~tf.math.is_finite(losses), epoch + 1, bad)

        def block(
            start: tf.Tensor, train: tf.Tensor, test: tf.Tensor, bad: tf.Tensor, _: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
            stop = tf.minimum((start // every + 1) * every, end)
            _, bad = tf.while_loop(lambda epoch, _: epoch < stop, epoch_body, (start, bad))
            train_now, test_now = self._hits()
            on_curve = stop % every == 0
            row = [[tf.maximum(stop // every - 1, 0)]]
            train = tf.where(on_curve, tf.tensor_scatter_nd_update(train, row, train_now[None]), train)
            test = tf.where(on_curve, tf.tensor_scatter_nd_update(test, row, test_now[None]), test)
            return stop, train, test, bad, test_now

        _, train_hits, test_hits, first_bad, test_now = tf.while_loop(
            lambda start, *_: start < end,
            block,
            (begin, train_hits, test_hits, first_bad, tf.zeros((len(self.seeds),), tf.int32)),
        )
        return train_hits, test_hits, first_bad, test_now

    def _epoch(self, epoch: tf.Tensor) -> tf.Tensor:
        """One epoch for every seed; returns each seed's summed batch losses."""
        n, size = self.n_train, self.batch_size
        if n <= size:
            return self._step(self.x_train, self.y_train, per_seed_data=False)
        order = permutations(self.seeds, epoch, n)
        full, rest = divmod(n, size)

        def batch(indices: tf.Tensor) -> tf.Tensor:
            return self._step(tf.gather(self.x_train, indices), tf.gather(self.y_train, indices), per_seed_data=True)

        def body(b: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return b + 1, total + batch(tf.slice(order, [0, b * size], [len(self.seeds), size]))

        _, total = tf.while_loop(lambda b, _: b < full, body, (tf.constant(0), tf.zeros((len(self.seeds),))))
        if rest:
            total += batch(order[:, full * size :])
        return total

    def _step(self, x: tf.Tensor, y: tf.Tensor, per_seed_data: bool) -> tf.Tensor:
        """One optimizer step on a batch for every seed; returns each seed's loss.

        Args:
            x: One batch shared by all seeds, or one per seed on a leading axis.
            y: Its labels, laid out like ``x``.
            per_seed_data: Whether ``x`` and ``y`` have the seed axis.
        """

        def one_seed(args: tuple) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
            weights, state, *batch = args
            xb, yb = batch if per_seed_data else (x, y)
            with tf.GradientTape() as tape:
                tape.watch(weights)
                predictions, state, extra = self.template.stateless_call(
                    weights, state, xb, training=True, return_losses=True
                )
                loss = self._total_loss(yb, predictions, extra)
            return loss, tape.gradient(loss, weights), state

        args = ([v.value for v in self.weights], [v.value for v in self.state])
        if per_seed_data:
            args += (x, y)
        losses, grads, state = self._map_seeds(one_seed, args)
        # Applied in cross-replica context, which skips the optimizer's gradient
        # all-reduce: the identity on one replica, and the custom gradient it
        # registers in graph mode would keep every trial's graphs alive.
        tf.distribute.get_replica_context().merge_call(lambda _: self.optimizer.apply(grads, self.weights))
        for variable, value in zip(self.state, state):
            variable.assign(value)
        return losses

    def _map_seeds(self, fn: Callable[[Any], Any], elems: Any) -> Any:
        """Apply ``fn`` to each seed's slice of ``elems`` and stack the results.

        One batched computation for all seeds when the model vectorises (see
        :data:`VECTORIZED_LAYERS`), otherwise one traced copy of ``fn`` per seed.
        """
        if self.vectorize:
            return tf.vectorized_map(fn, elems)
        outputs = [fn(tf.nest.map_structure(lambda t, k=k: t[k], elems)) for k in range(len(self.seeds))]
        return tf.nest.map_structure(lambda *per_seed: tf.stack(per_seed), *outputs)

    def _total_loss(self, y: tf.Tensor, predictions: tf.Tensor, extra: Sequence[tf.Tensor]) -> tf.Tensor:
        """The batch objective exactly as ``Trainer.compute_loss`` adds it up."""
        parts = [self.loss(y, predictions)] + [keras.ops.sum(e) for e in extra]
        return parts[0] if len(parts) == 1 else keras.ops.sum(parts)

    def _hits(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Each seed's number of correct predictions on the train and the test set.

        A prediction is correct as :func:`metrics.accuracy` decides: probability
        above 0.5 for one sigmoid unit, the arg-max of a softmax otherwise.
        """

        def one_seed(args: tuple) -> tf.Tensor:
            weights, state = args
            probs, _ = self.template.stateless_call(weights, state, self.x_eval, training=False)
            if probs.shape[-1] == 1:
                predicted = tf.cast(probs[:, 0] > 0.5, self.y_eval.dtype)
            else:
                predicted = tf.cast(tf.argmax(probs, axis=-1), self.y_eval.dtype)
            return tf.cast(tf.equal(predicted, self.y_eval), tf.int32)

        correct = self._map_seeds(one_seed, ([v.value for v in self.weights], [v.value for v in self.state]))
        return (
            tf.reduce_sum(correct[:, : self.n_train], axis=1),
            tf.reduce_sum(correct[:, self.n_train :], axis=1),
        )
