"""What each task's figures are made of: a score per sample, summed by the engines, and the figures of predictions.

Both engines count a model's headline figure (:attr:`~actreg_search.spec.vocab.Task.headline`)
the same way: a score per sample (:func:`sample_scores`), summed over a split,
turned into the figure by :func:`headline_of`:

* **classification**: 1 for a correct prediction
  (:func:`~actreg_search.engine.rows.correct`), so the figure is the accuracy;
* **regression**: the squared error in the target's units, ``(ŷ·spread +
  center − y)²``, where the model predicts the target standardized with the
  ``center`` and ``spread`` of the samples it trained on
  (:meth:`~actreg_search.data.datasets.Dataset.scale`); the figure is the root
  of the mean, the RMSE (a seed's folds average their RMSEs);
* **autoencoder**: the sample's mean squared reconstruction error over its
  features; the figure is their mean, the reconstruction MSE.

:func:`regression_figures` are scikit-learn's RMSE, MAE and R² of a model's
predictions read back in the target's units.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from actreg_search.data.datasets import Dataset
from actreg_search.engine.rows import correct
from actreg_search.spec.vocab import Metric, Task


def sample_scores(task: Task, outputs: tf.Tensor, y: tf.Tensor, center: tf.Tensor | float = 0.0, spread: tf.Tensor | float = 1.0) -> tf.Tensor:
    """Each sample's score (the module says which), ``float32``.

    Args:
        task: The task.
        outputs: The model's outputs, ``(n, ...)``, or ``(rows, n, ...)`` for stacked rows.
        y: The targets, ``(n, ...)`` (labels, a regression's targets in their units, an autoencoder's inputs).
        center: A regression's training mean, a scalar, or ``(rows, 1)`` for rows.
        spread: Its standard deviation, likewise.

    Returns:
        ``(n,)``, or ``(rows, n)``.
    """
    if task is Task.CLASSIFICATION:
        return tf.cast(correct(outputs, y), tf.float32)
    if task is Task.REGRESSION:
        return tf.square(outputs[..., 0] * spread + center - tf.cast(y, outputs.dtype))
    features = list(range(len(outputs.shape) - (len(y.shape) - 1), len(outputs.shape)))
    return tf.reduce_mean(tf.square(outputs - y), axis=features)


def standardized(task: Task, y: tf.Tensor, center: tf.Tensor | float, spread: tf.Tensor | float) -> tf.Tensor:
    """The targets a model trains on: a regression's ``(y − center) / spread``; ``y`` itself in other tasks."""
    return (y - center) / spread if task is Task.REGRESSION else y


def headline_of(task: Task, mean_score: np.ndarray | float) -> np.ndarray | float:
    """A task's headline figure from the mean of its samples' scores: accuracy, RMSE (the root), reconstruction MSE."""
    return np.sqrt(mean_score) if task is Task.REGRESSION else mean_score


def regression_figures(outputs: np.ndarray, y: np.ndarray, center: float, spread: float) -> dict[Metric, float]:
    """RMSE, MAE and R² (scikit-learn's) of standardized predictions ``outputs`` read back in ``y``'s units."""
    predicted = np.asarray(outputs, np.float64).reshape(-1) * spread + center
    truth = np.asarray(y, np.float64).reshape(-1)
    return {
        Metric.RMSE: float(np.sqrt(mean_squared_error(truth, predicted))),
        Metric.MAE: float(mean_absolute_error(truth, predicted)),
        Metric.R2: float(r2_score(truth, predicted)),
    }


def in_target_units(model: keras.Model, data: Dataset) -> keras.Model:
    """A model trained on ``data``'s whole training split, predicting what a user reads: a regression's output
    rescaled by a final Keras ``Rescaling`` layer (``ŷ·spread + center``, the split's, :meth:`~actreg_search.data.datasets.Dataset.scale`)
    into the target's units (``export --model`` saves it); ``model`` itself in other tasks."""
    if data.task is not Task.REGRESSION:
        return model
    center, spread = data.scale()
    rescaled = keras.layers.Rescaling(scale=spread, offset=center, name="target_units")(model.outputs[0])
    return keras.Model(model.inputs, rescaled, name=model.name)


__all__ = ["headline_of", "in_target_units", "regression_figures", "sample_scores", "standardized"]
