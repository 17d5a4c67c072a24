"""The fused engine's compiled loop: rows of one model stacked on a leading axis, trained in one ``tf.function``.

A model with a row form (:mod:`~actreg_search.engine.rowwise`) trains all rows
in one batched computation, XLA-compiled; any other in one traced copy of
Keras' ``stateless_call`` per row, in a plain graph.

See :mod:`actreg_search.engine.fused` for why one optimizer over the stacked
weights takes each row's own steps. A row is one seed of one trial.
:class:`StackedLoop` holds the stacked variables of a *template* model and
the compiled training chunk; :meth:`StackedLoop.load` puts the rows' models
in (zero-padded into the template's shapes, see
:mod:`actreg_search.engine.layouts`), with their penalty coefficients when
the template is probed, so one compiled chunk trains trial after trial.
:mod:`~actreg_search.engine.rows` has what a row is made of (its stacked
variables, zero-padded values, minibatch order from its seed).

Under a validation protocol a row is one model of a seed: the seed's model
under hold-out, one of its fold models under k-fold
(:mod:`actreg_search.data.splits`). Each row then has its own training indices and
validation indices into the training split, inputs of the program like its
penalty, at fixed shapes (every fold of every seed the same sizes): a row's
minibatches are drawn from its own training samples, and its validation hits
counted on its own validation samples. Cross-validation so costs no compile of
its own: a 5-seed × 5-fold trial is one program of 25 rows.

A regression's row trains on its targets standardized with its own training
samples' mean and spread (inputs too, :mod:`~actreg_search.engine.targets`), and
the curves sum each task's per-sample score (correct predictions, squared
errors in the target's units, reconstruction errors).

Each row's learning rate and dropout rate are inputs too
(:class:`~actreg_search.engine.rows.RowInputs` says how each is applied), and
with ``[model] early_stopping`` each row stops on its own
(:mod:`~actreg_search.engine.stopping`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

from actreg_search.data.datasets import Dataset
from actreg_search.data.splits import Fold
from actreg_search.engine.base import curve_epochs
from actreg_search.engine.copies import TracedRows
from actreg_search.engine.finals import FinalFigures
from actreg_search.engine.layouts import Index, cut, embed, layout
from actreg_search.engine.metrics import Counted
from actreg_search.engine.rows import RowInputs, permutations, row_variables, stacked_variables
from actreg_search.engine.rowwise import RowModel, vectorizes
from actreg_search.engine.stopping import RowStopping
from actreg_search.engine.targets import sample_scores, standardized
from actreg_search.internals.keras_private import apply_without_all_reduce, reset_optimizer
from actreg_search.models.build import make_loss, make_optimizer
from actreg_search.models.marks import marks_of
from actreg_search.models.probes import N_COEFS, Probes
from actreg_search.spec.trial import TrialConfig

class StackedLoop:
    """A template model's variables stacked over ``rows`` rows, and the compiled training chunk.

    Args:
        template: The model whose forward pass and losses every row uses;
            its own weights are never trained (:meth:`evaluate` puts a
            row's values in them).
        probes: The template's probes when it is probed (each row's penalty
            coefficients are then loaded with its weights), else ``None``
            (the penalty is the template's own).
        config: The training settings (optimizer, rate, epochs, batch size).
        data: The dataset, held as constants of the program.
        rows: Number of rows (seeds × trials).
    """

    def __init__(self, template: keras.Model, probes: Probes | None, config: TrialConfig, data: Dataset, rows: int) -> None:
        self.template = template
        self.probes = probes
        self.rows = rows
        self.task = data.task
        self.rowwise = RowModel(template, rows, marks_of(template).dropouts, data.n_classes) if vectorizes(template) else None
        self._layouts: dict[tuple, list[Index]] = {}
        self.weights = stacked_variables(template.trainable_variables, rows, trainable=True)
        self.state = stacked_variables(self.variables_of(template)[len(self.weights) :], rows, trainable=False)
        n_points = len(probes.points) if probes is not None else 0
        self.coefs = tf.Variable(np.zeros((rows, n_points, N_COEFS), np.float32), trainable=False, name="rows_coefs")
        self.seeds = tf.Variable(np.zeros((rows,), np.int64), trainable=False, name="rows_seeds")
        # Each row's learning rate and dropout rate: inputs, like its coefficients (see _step and load).
        self.learning_rates = tf.Variable(np.full((rows,), config.learning_rate, np.float32), trainable=False, name="rows_lr")
        self.dropout_rates = tf.Variable(np.full((rows,), config.dropout or 0.0, np.float32), trainable=False, name="rows_dropout")
        self.optimizer = make_optimizer(replace(config, learning_rate=1.0))
        rule = config.early_stopping
        self.stopping = None if rule is None else RowStopping(rule, rows, self.weights + self.state)
        if self.optimizer.clipnorm is not None or self.optimizer.global_clipnorm is not None:
            raise ValueError("norm clipping couples the stacked seeds; the fused engine cannot use it")
        self.optimizer.build(self.weights)
        self.loss = make_loss(data.n_classes)
        self.copies = TracedRows(template, probes, self.loss, rows)
        self.batch_size = config.batch_size
        self.epochs = config.epochs
        self.record_every = curve_epochs(config.epochs)[0]
        self.n_train = len(data.x_train)
        self.split = not data.validation.on_test
        self.n_fit, self.n_val, _ = data.fold_sizes()
        # Each row's targets' center and spread (a regression's standardization, 0 and 1 otherwise).
        self.scale = data.scale
        self.centers = tf.Variable(np.zeros((rows,), np.float32), trainable=False, name="rows_center")
        self.spreads = tf.Variable(np.ones((rows,), np.float32), trainable=False, name="rows_spread")
        # Each row's training and validation samples: indices into the training split, and the same as 0/1 masks.
        self.fit_idx = tf.Variable(np.zeros((rows, self.n_fit), np.int32), trainable=False, name="rows_fit")
        self.val_idx = tf.Variable(np.zeros((rows, self.n_val), np.int32), trainable=False, name="rows_val")
        self.fit_mask = tf.Variable(np.zeros((rows, self.n_train), np.int32), trainable=False, name="rows_fit_mask")
        self.val_mask = tf.Variable(np.zeros((rows, self.n_train), np.int32), trainable=False, name="rows_val_mask")
        self.x_test = tf.constant(data.x_test)
        self.y_test = tf.constant(data.y_test)
        self.x_train = tf.constant(data.x_train)
        self.y_train = tf.constant(data.y_train)
        self.x_eval = tf.constant(np.concatenate([data.x_train, data.x_test]))
        self.y_eval = tf.constant(np.concatenate([data.y_train, data.y_test]))
        self.finals = FinalFigures(self)
        self.program = tf.function(self.chunk, jit_compile=self.vectorize, autograph=False)

    @property
    def vectorize(self) -> bool:
        """Whether the rows train in one batched, XLA-compiled computation (:mod:`~actreg_search.engine.rowwise`)."""
        return self.rowwise is not None

    def load(
        self,
        models: Sequence[keras.Model],
        seeds: Sequence[int],
        inputs: RowInputs | None = None,
        folds: Sequence[Fold] | None = None,
    ) -> None:
        """Start a fresh training of ``models``, one per row: their weights, seeds, inputs and samples; optimizer reset.

        Args:
            models: One model per row, of the template's architecture at a
                width up to the template's (its weights are zero-padded); the
                fold models of a seed all start from the seed's model.
            seeds: Each row's seed (its minibatch order).
            inputs: Each row's penalty coefficients (probed templates), learning rate and dropout rate
                (a model off the rows keeps its template's, which its program key holds); ``None``: no
                penalty input, the config's rates.
            folds: Each row's training and validation samples (under a validation protocol).
        """
        if len(models) != self.rows:
            raise ValueError(f"the program trains {self.rows} rows, not {len(models)}")
        if self.split:
            if folds is None or len(folds) != self.rows:
                raise ValueError("under a validation protocol every row needs its fold")
            fit_mask = np.zeros((self.rows, self.n_train), np.int32)
            val_mask = np.zeros((self.rows, self.n_train), np.int32)
            for k, fold in enumerate(folds):
                fit_mask[k, fold.fit] = 1
                val_mask[k, fold.val] = 1
            self.fit_idx.assign(np.stack([f.fit for f in folds]).astype(np.int32))
            self.val_idx.assign(np.stack([f.val for f in folds]).astype(np.int32))
            self.fit_mask.assign(fit_mask)
            self.val_mask.assign(val_mask)
        scales = [self.scale(fold.fit) for fold in folds] if self.split else [self.scale()] * self.rows  # type: ignore[union-attr]
        self.centers.assign(np.asarray([c for c, _ in scales], np.float32))
        self.spreads.assign(np.asarray([s for _, s in scales], np.float32))
        places = [self._places(m) for m in models]
        variables = [self.variables_of(m) for m in models]  # once a model: it walks the layers for seed states
        for position, stacked in enumerate(self.weights + self.state):
            column = [embed(v[position].numpy(), p[position], stacked.shape[1:]) for v, p in zip(variables, places)]
            stacked.assign(np.stack(column))
        self.seeds.assign(np.asarray(seeds, np.int64))
        if inputs is not None:
            self.coefs.assign(inputs.coefs)
            self.learning_rates.assign(inputs.learning_rates)
            self.dropout_rates.assign(inputs.dropout_rates)
        if self.stopping is not None:
            self.stopping.reset()
        reset_optimizer(self.optimizer)

    def write_back(self, models: Sequence[keras.Model | None]) -> None:
        """Copy each row's trained values into its model (``None``: a row not wanted), cut to the model's shapes."""
        places = [None if m is None else self._places(m) for m in models]
        variables = [None if m is None else self.variables_of(m) for m in models]
        for position, stacked in enumerate(self.weights + self.state):
            values = stacked.numpy()
            for k, targets in enumerate(variables):
                if targets is not None:
                    targets[position].assign(cut(values[k], places[k][position]))

    def variables_of(self, model: keras.Model) -> list[keras.Variable]:
        """``model``'s variables in the order of the stacked ones: on the rows' path without the seed states,
        which only the per-row copies read (:func:`~actreg_search.engine.rows.row_variables`)."""
        return row_variables(model, seeds=not self.vectorize)

    def _places(self, model: keras.Model) -> list[Index]:
        """Where ``model``'s variables sit in the template's (:func:`~actreg_search.engine.layouts.layout`).

        Raises:
            ValueError: The template cannot hold ``model``.
        """
        key = tuple(tuple(v.shape) for v in self.variables_of(model))
        if key not in self._layouts:
            places = layout(model, self.template, seeds=not self.vectorize)
            if places is None:
                if key != tuple(tuple(v.shape) for v in self.variables_of(self.template)):
                    raise ValueError(f"model {model.name!r} does not fit the program's template")
                places = [tuple(np.arange(d) for d in shape) for shape in key]
            self._layouts[key] = places
        return self._layouts[key]

    def evaluate(self, rows: Sequence[int]) -> list[Counted]:
        """The final figures of ``rows`` (:meth:`~actreg_search.engine.finals.FinalFigures.evaluate`)."""
        return self.finals.evaluate(rows)

    def train(self, begin: int, end: int, hits: tuple[tf.Tensor, tf.Tensor, tf.Tensor], first_bad: tf.Tensor) -> tuple:
        """Run the compiled :meth:`chunk` (traced on its first call, then reused)."""
        return self.program(tf.constant(begin), tf.constant(end), *hits, first_bad)

    # -- traced into the compiled chunk

    def chunk(
        self,
        begin: tf.Tensor,
        end: tf.Tensor,
        train_hits: tf.Tensor,
        val_hits: tf.Tensor,
        test_hits: tf.Tensor,
        first_bad: tf.Tensor,
    ) -> tuple[tf.Tensor, ...]:
        """Train epochs ``[begin, end)``.

        The epochs run in blocks that end at the next curve epoch (or at
        ``end``); each block ends with one evaluation of every row, written
        into the curves when the block ends on a curve epoch.

        Args:
            begin: First 0-based epoch.
            end: One past the last.
            train_hits: Correct predictions on each row's training samples, ``(n_curve_epochs, rows)``.
            val_hits: On its validation samples, likewise (zeros under ``validation = "test"``).
            test_hits: On the test set, likewise.
            first_bad: Each row's first epoch (1-based) with a non-finite
                loss, 0 for none.

        Returns:
            The four updated, and each row's correct predictions after epoch
            ``end`` where the study selects: on its validation samples, or on
            the test set under ``validation = "test"``.
        """
        every = self.record_every

        def epoch_body(epoch: tf.Tensor, bad: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            losses = self._epoch(epoch)
            if self.stopping is not None:
                self.stopping.watch(epoch, self._validation_losses())
            return epoch + 1, tf.where((bad == 0) & ~tf.math.is_finite(losses), epoch + 1, bad)

        def going(epoch: tf.Tensor, stop: tf.Tensor) -> tf.Tensor:  # the epochs run out, or every row stopped early
            return epoch < stop if self.stopping is None else (epoch < stop) & self.stopping.running()

        def block(start: tf.Tensor, train: tf.Tensor, val: tf.Tensor, test: tf.Tensor, bad: tf.Tensor, _: tf.Tensor) -> tuple:
            stop = tf.minimum((start // every + 1) * every, end)
            _, bad = tf.while_loop(lambda epoch, _: going(epoch, stop), epoch_body, (start, bad))
            now = self._hits()
            on_curve = stop % every == 0
            row = [[tf.maximum(stop // every - 1, 0)]]
            train, val, test = (
                tf.where(on_curve, tf.tensor_scatter_nd_update(curve, row, hits[None]), curve)
                for curve, hits in zip((train, val, test), now)
            )
            return stop, train, val, test, bad, now[1] if self.split else now[2]

        _, train_hits, val_hits, test_hits, first_bad, selected = tf.while_loop(
            lambda start, *_: start < end,
            block,
            (begin, train_hits, val_hits, test_hits, first_bad, tf.zeros((self.rows,), tf.float32)),
        )
        return train_hits, val_hits, test_hits, first_bad, selected

    def _epoch(self, epoch: tf.Tensor) -> tf.Tensor:
        """One epoch for every row; returns each row's summed batch losses."""
        n, size = self.n_fit, self.batch_size
        full, rest = divmod(n, size)
        per_epoch = full + (1 if rest else 0)
        first = tf.cast(epoch, tf.int64) * per_epoch  # the epoch's first optimizer step (a row's dropout draws)
        if n <= size and not self.split:
            return self._step(self.x_train, self.y_train, per_seed_data=False, step=first)
        if n <= size:  # one batch: the row's training samples
            rows = self.fit_idx.value()
            return self._step(tf.gather(self.x_train, rows), tf.gather(self.y_train, rows), per_seed_data=True, step=first)
        order = permutations(self.seeds.value(), epoch, n)
        if self.split:  # positions in the row's training samples -> indices into the training split
            order = tf.gather(self.fit_idx.value(), order, batch_dims=1)

        def batch(indices: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
            x, y = tf.gather(self.x_train, indices), tf.gather(self.y_train, indices)
            return self._step(x, y, per_seed_data=True, step=first + tf.cast(b, tf.int64))

        def body(b: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return b + 1, total + batch(tf.slice(order, [0, b * size], [self.rows, size]), b)

        _, total = tf.while_loop(lambda b, _: b < full, body, (tf.constant(0), tf.zeros((self.rows,))))
        if rest:
            total += batch(order[:, full * size :], tf.constant(full))
        return total

    def _step(self, x: tf.Tensor, y: tf.Tensor, per_seed_data: bool, step: tf.Tensor) -> tf.Tensor:
        """One optimizer step on a batch for every row; returns each row's loss.

        Args:
            x: One batch shared by all rows, or one per row on a leading axis.
            y: Its labels, laid out like ``x``.
            per_seed_data: Whether ``x`` and ``y`` have the row axis.
            step: The optimizer step since the training began (a row's dropout masks).
        """
        weights, state = [v.value for v in self.weights], [v.value for v in self.state]
        y = self._trained_on(y, per_seed_data)
        if self.rowwise is not None:
            losses, grads, state = self.rowwise.step(
                weights, state, self.coefs.value(), x, y, per_seed_data, self.seeds.value(), step, self.dropout_rates.value()
            )
        else:
            losses, grads, state = self.copies.step(weights, state, self.coefs.value(), x, y, per_seed_data)
        before = [tf.identity(v.value) for v in self.weights]  # the values, not the variables (.value is the variable)
        apply_without_all_reduce(self.optimizer, grads, self.weights)  # its all-reduce would keep every trial's graphs alive
        # The optimizer stepped at rate 1: each row's step scaled to its own rate (the module says why that is exact);
        # a row stopped early steps at rate 0 and keeps its moving averages.
        rates = self.learning_rates.value() if self.stopping is None else self.learning_rates.value() * self.stopping.live()
        for variable, old in zip(self.weights, before):
            variable.assign(old + tf.reshape(rates, [-1, *([1] * (len(old.shape) - 1))]) * (variable.value - old))
        for variable, value in zip(self.state, state):
            if self.stopping is not None:
                value = tf.where(tf.reshape(self.stopping.stopped, [-1, *([1] * (len(value.shape) - 1))]), variable.value, value)
            variable.assign(value)
        return losses

    def _trained_on(self, y: tf.Tensor, per_row: bool) -> tf.Tensor:
        """The targets rows train on (:func:`~actreg_search.engine.targets.standardized`): ``y`` one per row on a
        leading axis, or shared (then every row's scale is the whole training split's, the same)."""
        center, spread = (self.centers.value(), self.spreads.value()) if per_row else (self.centers[0], self.spreads[0])
        if per_row:
            center, spread = (tf.reshape(v, [-1, *([1] * (len(y.shape) - 1))]) for v in (center, spread))
        return standardized(self.task, y, center, spread)

    def _validation_losses(self) -> tf.Tensor:
        """Each row's objective on its validation samples in inference mode, one batch (early stopping's ``val_loss``)."""
        weights, state = [v.value for v in self.weights], [v.value for v in self.state]
        x, y = tf.gather(self.x_train, self.val_idx.value()), tf.gather(self.y_train, self.val_idx.value())
        return (self.rowwise or self.copies).loss(weights, state, self.coefs.value(), x, self._trained_on(y, True))

    def _hits(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Each row's summed per-sample scores (:func:`~actreg_search.engine.targets.sample_scores`: correct predictions,
        squared errors...) on its training samples, its validation samples (zeros under ``validation = "test"``) and
        the test set: one pass over the whole training split and the test set, summed through the row's masks."""
        weights, state = [v.value for v in self.weights], [v.value for v in self.state]
        probs = (self.rowwise or self.copies).predict(weights, state, self.x_eval)
        hits = sample_scores(self.task, probs, self.y_eval, self.centers.value()[:, None], self.spreads.value()[:, None])
        train, test = hits[:, : self.n_train], tf.reduce_sum(hits[:, self.n_train :], axis=1)
        if not self.split:
            return tf.reduce_sum(train, axis=1), tf.zeros_like(test), test
        fit, val = (tf.cast(mask.value(), hits.dtype) for mask in (self.fit_mask, self.val_mask))
        return tf.reduce_sum(train * fit, axis=1), tf.reduce_sum(train * val, axis=1), test

