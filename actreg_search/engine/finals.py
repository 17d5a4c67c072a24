"""A fused program's final figures: each row's values evaluated on the program's template model, in inference mode.

:class:`FinalFigures` puts a row's trained values into the template's own
variables and calls a traced (not XLA-compiled) function of the template and
its marked layers' activated outputs: the calls :mod:`~actreg_search.engine.metrics`
makes on a trained Keras model, without copying the values into each seed's
model or building a probe model per seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from actreg_search.engine.copies import reading, total_loss
from actreg_search.engine.metrics import Counted, output_sizes
from actreg_search.engine.rows import exact_zeros
from actreg_search.engine.targets import sample_scores, standardized
from actreg_search.models.marks import marks_of

if TYPE_CHECKING:
    from actreg_search.engine.stacked import StackedLoop


class FinalFigures:
    """The final figures of a :class:`~actreg_search.engine.stacked.StackedLoop`'s rows.

    Args:
        loop: The program (its template, stacked values, data and per-row samples).
    """

    def __init__(self, loop: StackedLoop) -> None:
        self.loop = loop
        template = loop.template
        outputs = [template.get_layer(m.output).output for m in marks_of(template).layers]
        self.evaluator = keras.Model(template.input, [template.outputs[0], *outputs])
        self.mark_sizes = tuple(output_sizes(template))
        self._figures = tf.function(self._row_figures, autograph=False)

    def evaluate(self, rows: Sequence[int]) -> list[Counted]:
        """The final figures of ``rows``, one :class:`~actreg_search.engine.metrics.Counted` each, in inference mode, on the template.

        Each row's values are put into the template's own variables and a
        traced (not XLA-compiled) function calls the template with its marked
        layers' activated outputs: the calls :mod:`~actreg_search.engine.metrics`
        makes on a trained Keras model, without copying the values into each
        seed's model or building a probe model per seed. A warm trial's five
        seeds take about 10 ms this way, 62 ms through their Keras models
        (2-core VM); tracing costs about 0.1 s once per program, where XLA
        compiled into the training program they cost about 0.7 s more to
        compile. A sample scores as :func:`~actreg_search.engine.targets.sample_scores` says
        (a correct prediction, a squared error...), the objective is :func:`metrics.training_loss`'s; activations are at
        the template's shapes, where a zero-padded row's padded units are
        exact zeros, which :func:`metrics.counted_seed_result` takes back out (probabilities: :func:`metrics.class_figures`).
        """
        loop = self.loop
        values = [v.numpy() for v in loop.weights + loop.state]
        coefs, centers, spreads = loop.coefs.numpy(), loop.centers.numpy(), loop.spreads.numpy()
        fit_idx, val_idx = loop.fit_idx.numpy(), loop.val_idx.numpy()
        targets = loop.variables_of(loop.template)  # a program of its own (no probes): the trial's first seed's model
        stops = {}
        if loop.stopping is not None:  # each row's last trained epoch and the epoch whose values it kept
            stopped, restored = loop.stopping.epochs(loop.epochs)
            stops = {k: {"stopped_epoch": stopped[k], "restored_epoch": restored[k]} for k in rows}
        figures = []
        for k in rows:
            for target, value in zip(targets, values):
                target.assign(value[k])
            scale = tf.constant(centers[k]), tf.constant(spreads[k])
            found = [np.asarray(x) for x in self._figures(tf.constant(coefs[k]), tf.constant(fit_idx[k]), tf.constant(val_idx[k]), *scale)]
            train_score, test_score, loss, sums, zeros, test_probs = found[:6]
            split = {}
            if loop.split:
                val_score, val_zeros, val_probs, val_labels = found[6:]
                split = {"val_score": float(val_score), "val_zeros": tuple(val_zeros.tolist()), "n_val": loop.n_val,
                         "val_probs": val_probs, "val_labels": val_labels}
            figures.append(
                Counted(
                    float(train_score), float(test_score), float(loss), tuple(sums.tolist()), tuple(zeros.tolist()), self.mark_sizes,
                    n_train=loop.n_fit, test_probs=test_probs, center=float(centers[k]), spread=float(spreads[k]),
                    **split, **stops.get(k, {}),
                )
            )
        return figures

    def _row_figures(
        self, coefs: tf.Tensor, fit_idx: tf.Tensor, val_idx: tf.Tensor, center: tf.Tensor, spread: tf.Tensor
    ) -> tuple[tf.Tensor, ...]:
        """Traced into :meth:`evaluate`: the figures of the values in the template's variables
        (summed scores on the row's training samples and on the test set, the objective on its training samples,
        per marked layer the sum of its activated outputs on the test set in float64 and how many of
        them are exactly zero, the test probabilities; under a validation protocol also the hits on its
        validation samples, the exact zeros among its activated outputs there, their outputs and targets)."""
        loop, evaluator = self.loop, self.evaluator

        def score(outputs: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(sample_scores(loop.task, outputs, y, center, spread))

        x_fit, y_fit = loop.x_train, loop.y_train
        if loop.split:
            x_fit, y_fit = tf.gather(loop.x_train, fit_idx), tf.gather(loop.y_train, fit_idx)
        with reading(loop.probes, coefs):
            probs, *_ = evaluator(x_fit, training=False)
            loss = total_loss(loop.loss, standardized(loop.task, y_fit, center, spread), probs, evaluator.losses)
        test_probs, *activations = evaluator(loop.x_test, training=False)
        figures = (
            score(probs, y_fit),
            score(test_probs, loop.y_test),
            loss,
            tf.stack([tf.reduce_sum(tf.cast(a, tf.float64)) for a in activations]),
            exact_zeros(activations), test_probs,
        )
        if not loop.split:
            return figures
        y_val = tf.gather(loop.y_train, val_idx)
        val_probs, *val_activations = evaluator(tf.gather(loop.x_train, val_idx), training=False)
        return (*figures, score(val_probs, y_val), exact_zeros(val_activations), val_probs, y_val)


__all__ = ["FinalFigures"]
