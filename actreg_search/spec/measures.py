"""The per-seed figures, in one registry: name, direction, split, whether a fraction, how printed.

Every figure a trial records per seed is one :class:`Measure` of
:data:`MEASURES`; the lists the rest of the package uses (which figures are
stored, which are better higher, which are fractions bounded to [0, 1] and
described in points, where each is measured, how each is printed) are derived
from it here, once, for the writer (:mod:`actreg_search.store.recorder`) and
every reader. :class:`~actreg_search.spec.vocab.Metric` names a figure without
its split (``accuracy``); :func:`measure_name` joins the two.

The figures of the predictions besides accuracy (``balanced_accuracy``,
``macro_f1``, ``roc_auc``, ``log_loss``; a regression's ``rmse``, ``mae``,
``r2``; an autoencoder's reconstruction ``mse``) are measured on the
validation samples and on the test set (how, and their edge cases:
:mod:`actreg_search.engine.metrics`); each can be a study's objective, and
its :class:`Direction` here is the one source of which way a study optimizes
it (:func:`optuna_direction`), ranks it, draws its Pareto front and counts
its wins. Each task leads with one figure (:func:`headline`: accuracy, RMSE,
reconstruction MSE): its curves hold it, and tables show it first.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from actreg_search.spec.vocab import Metric, Task


class Direction(enum.Enum):
    """Which way a figure is better."""

    HIGHER = "higher"
    LOWER = "lower"
    NEITHER = "neither"
    """Neither (a sparsity, an activation mean): a "win" is then just higher."""


class Split(str, enum.Enum):
    """Where a figure is measured."""

    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


@dataclass(frozen=True)
class Measure:
    """One per-seed figure.

    Attributes:
        name: Its stored name (``test_accuracy``), also ``{name}_mean`` and ``{name}_std`` on a trial.
        direction: Which way it is better.
        split: Where it is measured (``gap``, train minus test, and the activation figures count as test).
        fraction: A fraction of samples or outputs (or a difference of two), described in percentage points.
        bounded: Within [0, 1]: its confidence intervals are built on the logit scale.
        digits: Decimals it is printed with in tables.
        metric: The figure without its split (accuracy, sparsity), for those a comparison may take ``on`` a split.
    """

    name: str
    direction: Direction
    split: Split
    fraction: bool
    bounded: bool
    digits: int = 4
    metric: Metric | None = None

    @property
    def higher_is_better(self) -> bool | None:
        """``True``, ``False``, or ``None`` for neither."""
        return None if self.direction is Direction.NEITHER else self.direction is Direction.HIGHER


def measure_name(metric: Metric | str, split: Split | str) -> str:
    """The per-seed figure of ``metric`` on ``split``: ``accuracy`` on ``test`` is ``test_accuracy``."""
    return f"{Split(split).value}_{Metric(metric).value}"


TEST_ACCURACY = "test_accuracy"
TRAIN_ACCURACY = measure_name(Metric.ACCURACY, Split.TRAIN)
VALIDATION_ACCURACY = measure_name(Metric.ACCURACY, Split.VALIDATION)
VALIDATION_SPARSITY = measure_name(Metric.SPARSITY, Split.VALIDATION)
TRAIN_LOSS = "train_loss"
GAP = "gap"
ACTIVATION_MEAN = "activation_mean"
SPARSITY = "sparsity"
"""Sparsity on the test inputs, the figure stored before splits had names (not ``test_sparsity``)."""

STOPPED_EPOCH = "stopped_epoch"
"""Under ``[model] early_stopping``: the last epoch a seed trained (its validation loss stopped it, or the epochs ran out)."""
RESTORED_EPOCH = "restored_epoch"
"""Under early stopping: the epoch whose weights a seed kept (its best validation loss)."""

_H, _L, _N = Direction.HIGHER, Direction.LOWER, Direction.NEITHER


def _on_both(metric: Metric, direction: Direction, fraction: bool, bounded: bool) -> tuple[Measure, Measure]:
    """A figure of the predictions on the test set and on the validation samples."""
    return tuple(  # type: ignore[return-value]
        Measure(measure_name(metric, split), direction, split, fraction=fraction, bounded=bounded, metric=metric)
        for split in (Split.TEST, Split.VALIDATION)
    )


#: Every per-seed figure, in the order tables and stored trials list them.
MEASURES: tuple[Measure, ...] = (
    Measure(TEST_ACCURACY, _H, Split.TEST, fraction=True, bounded=True, metric=Metric.ACCURACY),
    Measure(TRAIN_ACCURACY, _H, Split.TRAIN, fraction=True, bounded=True, metric=Metric.ACCURACY),
    Measure(TRAIN_LOSS, _L, Split.TRAIN, fraction=False, bounded=False),
    Measure(GAP, _L, Split.TEST, fraction=True, bounded=False),
    Measure(ACTIVATION_MEAN, _N, Split.TEST, fraction=False, bounded=False),
    Measure(SPARSITY, _N, Split.TEST, fraction=True, bounded=True, digits=3, metric=Metric.SPARSITY),
    Measure(VALIDATION_ACCURACY, _H, Split.VALIDATION, fraction=True, bounded=True, metric=Metric.ACCURACY),
    Measure(VALIDATION_SPARSITY, _N, Split.VALIDATION, fraction=True, bounded=True, digits=3, metric=Metric.SPARSITY),
    *_on_both(Metric.BALANCED_ACCURACY, _H, fraction=True, bounded=True),
    *_on_both(Metric.MACRO_F1, _H, fraction=False, bounded=True),
    *_on_both(Metric.ROC_AUC, _H, fraction=False, bounded=True),
    *_on_both(Metric.LOG_LOSS, _L, fraction=False, bounded=False),
    Measure("train_rmse", _L, Split.TRAIN, fraction=False, bounded=False, metric=Metric.RMSE),
    *_on_both(Metric.RMSE, _L, fraction=False, bounded=False),
    *_on_both(Metric.MAE, _L, fraction=False, bounded=False),
    *_on_both(Metric.R2, _H, fraction=False, bounded=False),
    Measure("train_mse", _L, Split.TRAIN, fraction=False, bounded=False, digits=5, metric=Metric.MSE),
    *_on_both(Metric.MSE, _L, fraction=False, bounded=False),
    Measure(STOPPED_EPOCH, _N, Split.VALIDATION, fraction=False, bounded=False, digits=1),
    Measure(RESTORED_EPOCH, _N, Split.VALIDATION, fraction=False, bounded=False, digits=1),
)
BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}

#: Per-seed figures stored for every completed trial (each also as ``_mean`` and ``_std``); the
#: validation ones only under a validation protocol (:data:`VALIDATION`).
PER_SEED: tuple[str, ...] = tuple(m.name for m in MEASURES)
#: The per-seed figures measured on each seed's validation samples (absent under ``validation = "test"``).
VALIDATION: tuple[str, ...] = tuple(m.name for m in MEASURES if m.split is Split.VALIDATION)
#: Per figure, whether higher is better; ``None``: neither (a "win" is then just higher).
HIGHER_IS_BETTER: dict[str, bool | None] = {m.name: m.higher_is_better for m in MEASURES}
#: Figures that are fractions, described in percentage points.
POINTS: frozenset[str] = frozenset(m.name for m in MEASURES if m.fraction)
#: Figures bounded to [0, 1]: their intervals are built on the logit scale. ``gap`` is a difference, in [-1, 1].
BOUNDED: frozenset[str] = frozenset(m.name for m in MEASURES if m.bounded)
#: Where each figure is measured: ``"train"``, ``"test"`` or ``"validation"``.
SPLIT_OF: dict[str, str] = {m.name: m.split.value for m in MEASURES}
#: Figures named without a split (``accuracy``, ``sparsity``), and their per-seed figure on the test and
#: validation splits (``compare --metric accuracy --on validation`` is ``validation_accuracy``).
ON_SPLIT: dict[str, dict[str, str]] = {
    metric.value: {m.split.value: m.name for m in MEASURES if m.metric is metric and m.split is not Split.TRAIN}
    for metric in Metric
}

#: What ``compare --metric`` and the API's ``metric=`` accept: a figure without a split, or a per-seed figure.
METRICS: tuple[str, ...] = (*(m.value for m in Metric if m.of_predictions), *PER_SEED)
#: The figures of the predictions besides accuracy, per seed, in every task: measured on the validation samples
#: (under a validation protocol) and on the test set (and a task's headline on the training samples), each only in
#: its task (:attr:`~actreg_search.spec.vocab.Metric.tasks`).
PREDICTION_FIGURES: tuple[str, ...] = tuple(
    m.name for m in MEASURES if m.metric is not None and m.metric.of_predictions and m.metric is not Metric.ACCURACY
)
#: A classification's among them; ``roc_auc`` and ``log_loss`` only for a model giving probabilities.
CLASS_FIGURES: tuple[str, ...] = tuple(n for n in PREDICTION_FIGURES if Task.CLASSIFICATION in BY_NAME[n].metric.tasks)  # type: ignore[union-attr]


def headline(task: Task | str, split: Split | str) -> str:
    """The per-seed figure a task leads with on ``split``: ``test_accuracy``, ``validation_rmse``, ``train_mse``..."""
    return measure_name(Task(task).headline, split)


def task_of(name: str) -> tuple[Task, ...]:
    """The tasks a per-seed figure is measured in (every task for a figure of no metric: ``train_loss``, ``activation_mean``)."""
    measure = BY_NAME.get(name)
    if name == GAP:
        return (Task.CLASSIFICATION,)
    return tuple(Task) if measure is None or measure.metric is None else measure.metric.tasks


def maximized(name: str) -> bool:
    """Whether an objective selecting on the per-seed figure ``name`` is maximized: all but a figure better lower
    (``log_loss``); a figure better neither way (sparsity) is maximized, as are names not in the registry."""
    return HIGHER_IS_BETTER.get(name) is not False


def optuna_direction(name: str) -> str:
    """The Optuna direction of an objective selecting on ``name``: ``"maximize"``, or ``"minimize"`` for ``log_loss``."""
    return "maximize" if maximized(name) else "minimize"

CURVE_DIGITS = 4
"""Learning curves are stored to 4 decimals (an accuracy on up to 10,000 samples is exact)."""
SECONDS_DIGITS = 3
MEGABYTES_DIGITS = 1


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1), 0 for fewer than two values.

    Written out rather than ``statistics.stdev``: two-pass in plain floats, for
    a trial's handful of seeds (accuracies in [0, 1]) it agrees with
    ``statistics.stdev`` to about 1e-16 and is about 50 times faster, which
    counts when 10,000 trials are ranked.
    """
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) * (v - mean) for v in values) / (n - 1))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation."""
    return sum(values) / len(values), sample_std(values)


def curve(values: Iterable[float]) -> list[float]:
    """A learning curve as stored."""
    return [round(float(v), CURVE_DIGITS) for v in values]


def seconds(value: float) -> float:
    """A duration as stored."""
    return round(float(value), SECONDS_DIGITS)


def megabytes(value: float) -> float:
    """A memory size as stored."""
    return round(float(value), MEGABYTES_DIGITS)
