"""Final figures of a trained Keras model, shared by every engine."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from actreg_search.config import TrialConfig
from actreg_search.data import Dataset
from actreg_search.engine.base import NonFiniteLoss, SeedResult
from actreg_search.models import make_loss
from actreg_search.regularize import marks_of


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(x, y)``, in one forward pass."""
    probs = np.asarray(model(x, training=False))
    if probs.shape[-1] == 1:
        predicted = (probs[:, 0] > 0.5).astype(y.dtype)
    else:
        predicted = probs.argmax(axis=-1).astype(y.dtype)
    return float(np.mean(predicted == y))


def training_loss(model: keras.Model, data: Dataset) -> float:
    """Data loss plus regularization on the whole training set as one batch."""
    x, y = data.x_train, data.y_train
    predictions = model(x, training=False)
    total = float(np.asarray(make_loss(data.n_classes)(y, predictions)))
    total += sum(float(np.asarray(loss)) for loss in model.losses)
    return total


@dataclass(frozen=True)
class ActivationStats:
    """Activation statistics of the marked layers on some inputs.

    Attributes:
        mean: Mean of every activated output of every marked layer, pooled.
        sparsity: Fraction of exact zeros among them.
        layer_mean: Per marked layer: ``(name, mean)``.
        layer_sparsity: Per marked layer: ``(name, fraction of exact zeros)``.
    """

    mean: float
    sparsity: float
    layer_mean: tuple[tuple[str, float], ...]
    layer_sparsity: tuple[tuple[str, float], ...]


def activation_stats(model: keras.Model, x: np.ndarray) -> ActivationStats:
    """Mean and fraction of exact zeros of every marked layer's activated output on ``x``."""
    marks = marks_of(model).layers
    probe = keras.Model(model.input, [model.get_layer(m.output).output for m in marks])
    outputs = probe(x, training=False)
    if len(marks) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    flat = [np.asarray(out).reshape(-1) for out in outputs]
    pooled = np.concatenate(flat)
    return ActivationStats(
        mean=float(pooled.mean()),
        sparsity=float(np.mean(pooled == 0.0)),
        layer_mean=tuple((m.name, float(values.mean())) for m, values in zip(marks, flat)),
        layer_sparsity=tuple((m.name, float(np.mean(values == 0.0))) for m, values in zip(marks, flat)),
    )


def seed_result(
    model: keras.Model,
    config: TrialConfig,
    data: Dataset,
    seed: int,
    train_curve: list[float],
    test_curve: list[float],
) -> SeedResult:
    """Evaluate a trained model into a :class:`SeedResult`."""
    stats = activation_stats(model, data.x_test)
    loss = training_loss(model, data)
    if not math.isfinite(loss):
        raise NonFiniteLoss(seed, config.epochs)
    return SeedResult(
        seed=seed,
        train_accuracy=accuracy(model, data.x_train, data.y_train),
        test_accuracy=accuracy(model, data.x_test, data.y_test),
        train_loss=loss,
        activation_mean=stats.mean,
        sparsity=stats.sparsity,
        train_curve=tuple(train_curve),
        test_curve=tuple(test_curve),
        layer_activation_mean=stats.layer_mean,
        layer_sparsity=stats.layer_sparsity,
    )
