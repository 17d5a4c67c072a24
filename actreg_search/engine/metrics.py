"""A seed's final figures: from a trained Keras model (every engine), or from what a training program counted (the fused engine)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np

from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import NonFiniteLoss, SeedResult
from actreg_search.engine.rows import correct
from actreg_search.models.build import make_loss
from actreg_search.models.marks import marks_of
from actreg_search.spec.trial import TrialConfig


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(x, y)``, in one forward pass, by the rule of :func:`~actreg_search.engine.rows.correct`."""
    return float(np.mean(np.asarray(correct(model(x, training=False), keras.ops.convert_to_tensor(y)))))


def training_loss(model: keras.Model, data: Dataset) -> float:
    """Data loss plus regularization on the whole training set as one batch."""
    x, y = data.x_train, data.y_train
    predictions = model(x, training=False)
    total = float(np.asarray(make_loss(data.n_classes)(y, predictions)))
    total += sum(float(np.asarray(loss)) for loss in model.losses)
    return total


@dataclass(frozen=True)
class Counted:
    """One model's final figures (a seed's, or one fold's of it) as a training program counts them.

    Attributes:
        train_hits: Correct predictions on the samples it trained on.
        test_hits: Correct predictions on the test set.
        train_loss: The training objective on the samples it trained on.
        sums: Per marked layer, the sum of its activated outputs on the test set.
        zeros: Per marked layer, how many of them are exactly zero.
        sizes: Per marked layer, activated outputs per sample at the
            program's shapes (more than the model's own when zero-padded).
        n_train: How many samples it trained on.
        val_hits: Correct predictions on its validation samples (``None`` under ``validation = "test"``).
        val_zeros: Per marked layer, exact zeros among its activated outputs on them.
        n_val: How many validation samples.
    """

    train_hits: int
    test_hits: int
    train_loss: float
    sums: tuple[float, ...]
    zeros: tuple[int, ...]
    sizes: tuple[int, ...]
    n_train: int = 0
    val_hits: int | None = None
    val_zeros: tuple[int, ...] = ()
    n_val: int = 0


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


def stats_from_sums(names: Sequence[str], sums: Sequence[float], zeros: Sequence[int], counts: Sequence[int]) -> ActivationStats:
    """:class:`ActivationStats` from each marked layer's sum of outputs, exact zeros among them, and number of them."""
    return ActivationStats(
        mean=math.fsum(sums) / sum(counts),
        sparsity=sum(zeros) / sum(counts),
        layer_mean=tuple((name, float(total) / count) for name, total, count in zip(names, sums, counts)),
        layer_sparsity=tuple((name, int(zero) / count) for name, zero, count in zip(names, zeros, counts)),
    )


def activation_stats(model: keras.Model, x: np.ndarray) -> ActivationStats:
    """Mean and fraction of exact zeros of every marked layer's activated output on ``x`` (sums in float64)."""
    marks = marks_of(model).layers
    probe = keras.Model(model.input, [model.get_layer(m.output).output for m in marks])
    outputs = probe(x, training=False)
    if len(marks) == 1 and not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    flat = [np.asarray(out, np.float64).reshape(-1) for out in outputs]
    return stats_from_sums(
        [m.name for m in marks],
        [float(values.sum()) for values in flat],
        [int(np.count_nonzero(values == 0.0)) for values in flat],
        [values.size for values in flat],
    )


def output_sizes(model: keras.Model) -> list[int]:
    """Per marked layer, how many activated outputs one sample gives."""
    return [math.prod(model.get_layer(m.output).output.shape[1:]) for m in marks_of(model).layers]


def seed_result(
    model: keras.Model,
    config: TrialConfig,
    data: Dataset,
    seed: int,
    train_curve: list[float],
    test_curve: list[float],
    validation_curve: list[float] | None = None,
) -> SeedResult:
    """Evaluate a trained model into a :class:`SeedResult`; its validation figures where ``data`` is a fold's view
    (:meth:`~actreg_search.data.datasets.Dataset.fold`, with ``x_val``)."""
    loss = training_loss(model, data)
    _check_finite(loss, seed, config)
    accuracies = accuracy(model, data.x_train, data.y_train), accuracy(model, data.x_test, data.y_test)
    result = _seed_result(seed, accuracies, loss, activation_stats(model, data.x_test), train_curve, test_curve)
    if data.x_val is None:
        return result
    return replace(
        result,
        validation_accuracy=accuracy(model, data.x_val, data.y_val),
        validation_sparsity=activation_stats(model, data.x_val).sparsity,
        validation_curve=tuple(validation_curve or ()),
    )


def mean_of_folds(folds: Sequence[SeedResult]) -> SeedResult:
    """A seed's result from its fold models' (k-fold cross-validation): every figure and curve point averaged.

    Statistics pair trials by seed, never by seed × fold: fold models of a
    seed share their data, so they are not independent samples (Nadeau &
    Bengio 2003).
    """
    if len(folds) == 1:
        return folds[0]

    def mean(values: Sequence[float]) -> float:
        return math.fsum(values) / len(values)

    def curve(name: str) -> tuple[float, ...]:
        return tuple(mean(point) for point in zip(*(getattr(f, name) for f in folds)))

    def per_layer(name: str) -> tuple[tuple[str, float], ...]:
        layers = [n for n, _ in getattr(folds[0], name)]
        return tuple((layer, mean([dict(getattr(f, name))[layer] for f in folds])) for layer in layers)

    def optional(name: str) -> float | None:
        values = [getattr(f, name) for f in folds]
        return None if any(v is None for v in values) else mean(values)

    first = folds[0]
    return SeedResult(
        seed=first.seed,
        train_accuracy=mean([f.train_accuracy for f in folds]),
        test_accuracy=mean([f.test_accuracy for f in folds]),
        train_loss=mean([f.train_loss for f in folds]),
        activation_mean=mean([f.activation_mean for f in folds]),
        sparsity=mean([f.sparsity for f in folds]),
        train_curve=curve("train_curve"),
        test_curve=curve("test_curve"),
        layer_activation_mean=per_layer("layer_activation_mean"),
        layer_sparsity=per_layer("layer_sparsity"),
        validation_accuracy=optional("validation_accuracy"),
        validation_sparsity=optional("validation_sparsity"),
        validation_curve=curve("validation_curve"),
    )


def _check_finite(loss: float, seed: int, config: TrialConfig) -> None:
    if not math.isfinite(loss):
        raise NonFiniteLoss(seed, config.epochs)


def _seed_result(
    seed: int, accuracies: tuple[float, float], loss: float, stats: ActivationStats, train_curve: list[float], test_curve: list[float]
) -> SeedResult:
    """A :class:`SeedResult` from its figures; ``accuracies`` is (train, test)."""
    return SeedResult(
        seed=seed,
        train_accuracy=accuracies[0],
        test_accuracy=accuracies[1],
        train_loss=loss,
        activation_mean=stats.mean,
        sparsity=stats.sparsity,
        train_curve=tuple(train_curve),
        test_curve=tuple(test_curve),
        layer_activation_mean=stats.layer_mean,
        layer_sparsity=stats.layer_sparsity,
    )


def counted_seed_result(
    model: keras.Model,
    config: TrialConfig,
    data: Dataset,
    seed: int,
    counted: Counted,
) -> SeedResult:
    """A :class:`SeedResult` from figures a training program counted (the fused engine's), not from a Keras call.

    Args:
        model: The seed's model at its own shapes (only its marked layers'
            sizes are read: its weights need not be the trained ones).
        config: The trial.
        data: The dataset.
        seed: The seed.
        counted: What the program counted for this seed (one of its fold models, under k-fold).

    Returns:
        The figures, without curves (the program's curves are a seed's, its folds averaged: the caller adds them).

    Raises:
        NonFiniteLoss: The final training objective is NaN or infinite.
    """
    _check_finite(counted.train_loss, seed, config)
    n_test = len(data.y_test)
    own = output_sizes(model)

    def own_zeros(zeros: Sequence[int], n: int) -> list[int]:
        # A zero-padded program's extra outputs are exact zeros: out of the count, and out of the zeros.
        return [z - (big - small) * n for z, big, small in zip(zeros, counted.sizes, own)]

    stats = stats_from_sums(marks_of(model).names, counted.sums, own_zeros(counted.zeros, n_test), [size * n_test for size in own])
    accuracies = counted.train_hits / (counted.n_train or len(data.y_train)), counted.test_hits / n_test
    result = _seed_result(seed, accuracies, counted.train_loss, stats, [], [])
    if counted.val_hits is None:
        return result
    return replace(
        result,
        validation_accuracy=counted.val_hits / counted.n_val,
        validation_sparsity=sum(own_zeros(counted.val_zeros, counted.n_val)) / (sum(own) * counted.n_val),
    )
