"""Final figures of a trained Keras model, shared by every engine."""

from __future__ import annotations

import math

import keras
import numpy as np

from actreg_search.config import TrialConfig
from actreg_search.data import Dataset
from actreg_search.engine.base import NonFiniteLoss, SeedResult
from actreg_search.models import activation_layer_name, make_loss


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


def activation_stats(model: keras.Model, config: TrialConfig, x: np.ndarray) -> tuple[float, float]:
    """Mean and fraction of exact zeros of the activated hidden layer on ``x``."""
    layer = model.get_layer(activation_layer_name(config))
    probe = keras.Model(model.input, layer.output)
    activations = np.asarray(probe(x, training=False))
    return float(activations.mean()), float(np.mean(activations == 0.0))


def seed_result(
    model: keras.Model,
    config: TrialConfig,
    data: Dataset,
    seed: int,
    train_curve: list[float],
    test_curve: list[float],
) -> SeedResult:
    """Evaluate a trained model into a :class:`SeedResult`."""
    activation_mean, sparsity = activation_stats(model, config, data.x_test)
    loss = training_loss(model, data)
    if not math.isfinite(loss):
        raise NonFiniteLoss(seed, config.epochs)
    return SeedResult(
        seed=seed,
        train_accuracy=accuracy(model, data.x_train, data.y_train),
        test_accuracy=accuracy(model, data.x_test, data.y_test),
        train_loss=loss,
        activation_mean=activation_mean,
        sparsity=sparsity,
        train_curve=tuple(train_curve),
        test_curve=tuple(test_curve),
    )
