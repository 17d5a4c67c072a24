"""A seed's final figures: from a trained Keras model (every engine), or from what a training program counted (the fused engine).

The headline figure (accuracy, a regression's RMSE, an autoencoder's
reconstruction MSE) is summed from per-sample scores
(:mod:`~actreg_search.engine.targets`); the other figures of the predictions
are :mod:`~actreg_search.engine.predictions`'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np

from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import NonFiniteLoss, SeedResult
from actreg_search.engine.predictions import gives_probabilities, task_figures
from actreg_search.engine.targets import headline_of, sample_scores, standardized
from actreg_search.models.build import make_loss
from actreg_search.models.marks import marks_of
from actreg_search.spec.measures import PREDICTION_FIGURES, RESTORED_EPOCH, STOPPED_EPOCH, TEST_ACCURACY, TRAIN_ACCURACY, Split, headline
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Task


def figure(model: keras.Model, x: np.ndarray, y: np.ndarray, data: Dataset) -> float:
    """The task's headline figure of ``model`` on ``(x, y)`` in one forward pass: accuracy (by the rule of
    :func:`~actreg_search.engine.rows.correct`), RMSE in the target's units, or reconstruction MSE
    (:mod:`~actreg_search.engine.targets`); ``data`` is the model's view (its task and a regression's scale)."""
    scores = sample_scores(data.task, model(x, training=False), keras.ops.convert_to_tensor(y), data.center, data.spread)
    return float(headline_of(data.task, float(np.mean(np.asarray(scores, np.float64)))))


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(x, y)``, in one forward pass, by the rule of :func:`~actreg_search.engine.rows.correct`."""
    scores = sample_scores(Task.CLASSIFICATION, model(x, training=False), keras.ops.convert_to_tensor(y))
    return float(np.mean(np.asarray(scores, np.float64)))


def training_loss(model: keras.Model, data: Dataset) -> float:
    """Data loss plus regularization on the whole training set as one batch (a regression's targets standardized)."""
    x, y = data.x_train, standardized(data.task, data.y_train, data.center, data.spread)
    predictions = model(x, training=False)
    total = float(np.asarray(make_loss(data.n_classes)(y, predictions)))
    total += sum(float(np.asarray(loss)) for loss in model.losses)
    return total


def split_figures(model: keras.Model, x: np.ndarray, y: np.ndarray, data: Dataset, split: Split) -> dict[str, float | None]:
    """:func:`task_figures` of ``model``'s predictions on ``(x, y)`` in one forward pass, in inference mode."""
    return task_figures(np.asarray(model(x, training=False)), y, data, gives_probabilities(model), split)


@dataclass(frozen=True)
class Counted:
    """One model's final figures (a seed's, or one fold's of it) as a training program counts them.

    Attributes:
        train_score: Its samples' scores summed over the samples it trained on
            (:func:`~actreg_search.engine.targets.sample_scores`: correct predictions, squared errors...).
        test_score: Summed over the test set.
        train_loss: The training objective on the samples it trained on.
        sums: Per marked layer, the sum of its activated outputs on the test set.
        zeros: Per marked layer, how many of them are exactly zero.
        sizes: Per marked layer, activated outputs per sample at the
            program's shapes (more than the model's own when zero-padded).
        n_train: How many samples it trained on.
        val_score: Summed over its validation samples (``None`` under ``validation = "test"``).
        val_zeros: Per marked layer, exact zeros among its activated outputs on them.
        n_val: How many validation samples.
        test_probs: Each test sample's predicted probabilities (the model's output), ``None`` if not kept.
        val_probs: Each of its validation samples' (``None`` under ``validation = "test"``).
        val_labels: Their classes (targets).
        center: A regression's standardization of its targets: their mean on the samples it trained on.
        spread: Their standard deviation.
        stopped_epoch: Under early stopping, the last epoch it trained.
        restored_epoch: Under early stopping, the epoch whose values it kept.
    """

    train_score: float
    test_score: float
    train_loss: float
    sums: tuple[float, ...]
    zeros: tuple[int, ...]
    sizes: tuple[int, ...]
    n_train: int = 0
    val_score: float | None = None
    val_zeros: tuple[int, ...] = ()
    n_val: int = 0
    test_probs: np.ndarray | None = None
    val_probs: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    stopped_epoch: int | None = None
    restored_epoch: int | None = None
    center: float = 0.0
    spread: float = 1.0


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
    headlines = {
        headline(data.task, Split.TRAIN): figure(model, data.x_train, data.y_train, data),
        headline(data.task, Split.TEST): figure(model, data.x_test, data.y_test, data),
    }
    result = _seed_result(seed, headlines, loss, activation_stats(model, data.x_test), train_curve, test_curve)
    result = replace(result, **split_figures(model, data.x_test, data.y_test, data, Split.TEST))
    if data.x_val is None:
        return result
    return replace(
        result,
        validation_sparsity=activation_stats(model, data.x_val).sparsity,
        validation_curve=tuple(validation_curve or ()),
        **{  # a regression's RMSE is scikit-learn's, where the headline and the task's figures both have it
            headline(data.task, Split.VALIDATION): figure(model, data.x_val, data.y_val, data),
            **split_figures(model, data.x_val, data.y_val, data, Split.VALIDATION),
        },
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
        train_accuracy=optional(TRAIN_ACCURACY),
        test_accuracy=optional(TEST_ACCURACY),
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
        **{name: optional(name) for name in (*PREDICTION_FIGURES, STOPPED_EPOCH, RESTORED_EPOCH)},
    )


def _check_finite(loss: float, seed: int, config: TrialConfig) -> None:
    if not math.isfinite(loss):
        raise NonFiniteLoss(seed, config.epochs)


def _seed_result(
    seed: int, headlines: dict[str, float], loss: float, stats: ActivationStats, train_curve: list[float], test_curve: list[float]
) -> SeedResult:
    """A :class:`SeedResult` from its figures; ``headlines``: the task's headline figure on the training samples and
    the test set, by field name (``train_accuracy``, ``test_rmse``...)."""
    return SeedResult(
        seed=seed,
        train_accuracy=headlines.pop(TRAIN_ACCURACY, None),
        test_accuracy=headlines.pop(TEST_ACCURACY, None),
        **headlines,
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
    view = replace(data, center=counted.center, spread=counted.spread)  # the row's scale of a regression's targets
    headlines = {
        headline(data.task, Split.TRAIN): float(headline_of(data.task, counted.train_score / (counted.n_train or len(data.y_train)))),
        headline(data.task, Split.TEST): float(headline_of(data.task, counted.test_score / n_test)),
    }
    result = replace(
        _seed_result(seed, headlines, counted.train_loss, stats, [], []),
        stopped_epoch=counted.stopped_epoch, restored_epoch=counted.restored_epoch,
    )
    probabilities = gives_probabilities(model)
    if counted.test_probs is not None:
        result = replace(result, **task_figures(counted.test_probs, data.y_test, view, probabilities, Split.TEST))
    if counted.val_score is None:
        return result
    result = replace(
        result,
        validation_sparsity=sum(own_zeros(counted.val_zeros, counted.n_val)) / (sum(own) * counted.n_val),
        **{headline(data.task, Split.VALIDATION): float(headline_of(data.task, counted.val_score / counted.n_val))},
    )
    if counted.val_probs is None or counted.val_labels is None:
        return result
    return replace(result, **task_figures(counted.val_probs, counted.val_labels, view, probabilities, Split.VALIDATION))
