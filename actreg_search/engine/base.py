"""What every engine takes and returns.

An engine trains one trial's config on each of the study's seeds and returns a
:class:`TrialResult`. It reports progress and intermediate values through a
:class:`Monitor`, and raises :class:`NonFiniteLoss` when training diverges.
"""

from __future__ import annotations

import abc
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from actreg_search.spec.measures import sample_std
from actreg_search.spec.trial import TrialConfig

if TYPE_CHECKING:  # data imports scikit-learn and pandas, keras TensorFlow: reading results needs neither
    import keras

    from actreg_search.data.datasets import Dataset
    from actreg_search.spec.specs import ModelSpec, StudySpec

MAX_CURVE_POINTS = 200


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss."""

    def __init__(self, seed: int, epoch: int) -> None:
        super().__init__(f"non-finite loss on seed {seed} at epoch {epoch}")
        self.seed = seed
        self.epoch = epoch


@dataclass(frozen=True)
class SeedResult:
    """One seed's outcome; under k-fold cross-validation, the mean of its fold models' figures.

    Attributes:
        seed: The seed.
        train_accuracy: Final accuracy on the samples the seed trained on (the
            training split less its validation samples); ``None`` in a regression or an autoencoder.
        test_accuracy: Final accuracy on the test set (``None`` likewise).
        train_loss: Final training objective (data loss plus regularization) on
            the samples it trained on, in one batch.
        activation_mean: Mean of the marked layers' activated outputs on the
            test set, every output of every marked layer pooled.
        sparsity: Fraction of exactly-zero activated outputs on the test set, pooled likewise.
        train_curve: Train accuracy at each of the trial's ``curve_epochs``.
        test_curve: Test accuracy at each of the trial's ``curve_epochs``.
        layer_activation_mean: Per marked layer: ``(name, activation mean)``.
        layer_sparsity: Per marked layer: ``(name, sparsity)``.
        validation_accuracy: Final accuracy on the seed's validation samples
            (``None`` under ``validation = "test"``).
        validation_sparsity: Fraction of exactly-zero activated outputs on
            them, every marked layer pooled (``None`` likewise).
        validation_curve: Validation accuracy at each of the ``curve_epochs``
            (empty under ``"test"``).
        test_balanced_accuracy: On the test set, the mean recall over the
            classes (:func:`actreg_search.engine.metrics.class_figures`, which
            says the edge cases of these eight).
        test_macro_f1: On the test set, the F1 score averaged over classes.
        test_roc_auc: On the test set, the area under the ROC curve (one-vs-rest
            for several classes); ``None`` for a model that gives no probabilities.
        test_log_loss: On the test set, the cross-entropy of the predicted
            probabilities (lower is better); ``None`` likewise.
        validation_balanced_accuracy, validation_macro_f1, validation_roc_auc,
        validation_log_loss: The same on the seed's validation samples
            (``None`` under ``validation = "test"``).
        stopped_epoch: Under ``[model] early_stopping``, the last epoch it
            trained (the epochs where it never stopped); a fold mean under k-fold.
        restored_epoch: Under early stopping, the epoch whose weights it kept.
        train_rmse, test_rmse, validation_rmse: A regression's root mean squared error in the target's units on
            the samples it trained on, the test set and its validation samples (the accuracies are then ``None``,
            and the curves hold the RMSE).
        test_mae, validation_mae, test_r2, validation_r2: A regression's mean absolute error and R².
        train_mse, test_mse, validation_mse: An autoencoder's reconstruction mean squared error (its curves hold it).
    """

    seed: int
    train_accuracy: float | None
    test_accuracy: float | None
    train_loss: float
    activation_mean: float
    sparsity: float
    train_curve: tuple[float, ...]
    test_curve: tuple[float, ...]
    layer_activation_mean: tuple[tuple[str, float], ...] = ()
    layer_sparsity: tuple[tuple[str, float], ...] = ()
    validation_accuracy: float | None = None
    validation_sparsity: float | None = None
    validation_curve: tuple[float, ...] = ()
    test_balanced_accuracy: float | None = None
    validation_balanced_accuracy: float | None = None
    test_macro_f1: float | None = None
    validation_macro_f1: float | None = None
    test_roc_auc: float | None = None
    validation_roc_auc: float | None = None
    test_log_loss: float | None = None
    validation_log_loss: float | None = None
    stopped_epoch: float | None = None
    restored_epoch: float | None = None
    train_rmse: float | None = None
    test_rmse: float | None = None
    validation_rmse: float | None = None
    test_mae: float | None = None
    validation_mae: float | None = None
    test_r2: float | None = None
    validation_r2: float | None = None
    train_mse: float | None = None
    test_mse: float | None = None
    validation_mse: float | None = None

    @property
    def gap(self) -> float | None:
        """Generalization gap: train minus test accuracy (``None`` in a task without accuracy)."""
        if self.train_accuracy is None or self.test_accuracy is None:
            return None
        return self.train_accuracy - self.test_accuracy


@dataclass(frozen=True)
class TrialResult:
    """All seeds of one trial.

    Attributes:
        seeds: Per-seed results.
        curve_epochs: The 1-based epochs of the curves.
        wall_time_s: Training time (with several trials in one program, the
            program's: the trials trained together share it).
        engine: The engine that trained it (``keras`` where the fused engine
            could not fuse the model).
        layers: The model's marked layers, in order.
    """

    seeds: tuple[SeedResult, ...]
    curve_epochs: tuple[int, ...]
    wall_time_s: float
    engine: str
    layers: tuple[str, ...] = ("hidden",)

    def layer_values(self, field: str) -> dict[str, list[float]]:
        """A per-layer figure (``layer_sparsity`` or ``layer_activation_mean``): each marked layer's per-seed values."""
        out: dict[str, list[float]] = {}
        for seed in self.seeds:
            for name, value in getattr(seed, field):
                out.setdefault(name, []).append(float(value))
        return out

    def values(self, field: str) -> list[float]:
        """One per-seed figure (a :class:`SeedResult` field or ``gap``) across seeds; empty where it was not measured."""
        found = [getattr(s, field) for s in self.seeds]
        return [] if any(v is None for v in found) else [float(v) for v in found]

    def mean(self, field: str) -> float:
        """Mean of a per-seed figure.

        Raises:
            ValueError: The figure was not measured on every seed (``roc_auc`` of a model without probabilities).
        """
        values = self.values(field)
        if not values:
            raise ValueError(f"{field} was not measured on every seed, so the trial has no mean of it")
        return statistics.fmean(values)

    def std(self, field: str) -> float:
        """Sample standard deviation of a per-seed figure (0 for one seed)."""
        return sample_std(self.values(field))


class Monitor:
    """Receives progress from an engine; the default does nothing.

    Subclasses override what they need. :meth:`report` may raise
    ``optuna.TrialPruned`` to stop the trial.

    Attributes:
        wants_reports: Whether :meth:`report`'s values are used (a pruner reads
            them): an engine then reports at every recorded epoch it can;
            otherwise it may report, and show progress, less often.
    """

    wants_reports: bool = True

    def on_epochs(self, done: int, total: int) -> None:
        """``done`` of ``total`` seed-epochs are finished."""

    def on_curves(self, epochs: tuple[int, ...], train: np.ndarray, test: np.ndarray, validation: np.ndarray | None = None) -> None:
        """The curves so far: accuracies of shape ``(n_seeds, len(epochs))``, before :meth:`report`
        (``validation`` ``None`` under ``validation = "test"``)."""

    def report(self, epoch: int, mean_accuracy: float) -> None:
        """Mean accuracy over seeds after ``epoch`` epochs, where the study selects: on the
        validation samples, or on the test set under ``validation = "test"``."""


TrialDone = Callable[[int, "TrialResult | Exception"], None]
"""Called by :meth:`Engine.train_many` as each trial ends: its index in the
batch, and its result or the exception that ended it (``NonFiniteLoss``,
``optuna.TrialPruned`` raised by its monitor, or any other error)."""


class Engine(abc.ABC):
    """Trains a config on several seeds; several configs at once where the engine can.

    Engines are made by the registry, :func:`actreg_search.engine.get_engine`,
    which imports TensorFlow quietly first.
    """

    name: ClassVar[str]

    def prepare(self, spec: StudySpec) -> None:
        """Learn what the study will ask before its first trial (nothing, by default).

        Args:
            spec: The study this engine is about to train trials of.
        """

    def default_batch(self) -> int:
        """How many trials this engine trains together when the study does not say (``[study] batch``)."""
        return 1

    def unfit_reason(self, model: keras.Model) -> str | None:
        """Why this engine cannot train ``model`` itself, or ``None`` when it can (by default, any model).

        An engine hands the trials of a model it cannot train to the keras
        engine, which trains any Keras model; a run says so before it starts.

        Args:
            model: A built, marked model of the study.
        """
        return None

    def path_of(self, model: keras.Model) -> str:
        """How this engine trains ``model``, in a few words a run prints (the engine's name by default).

        Args:
            model: A built, marked model of the study that :meth:`unfit_reason` accepts.
        """
        return f"the {self.name} engine trains it"

    def train_many(
        self,
        configs: Sequence[TrialConfig],
        data: Dataset,
        seeds: Sequence[int],
        monitors: Sequence[Monitor],
        done: TrialDone,
        model: ModelSpec | None = None,
    ) -> None:
        """Train a batch of trials, each on every seed; report each as it ends.

        Every trial ends exactly once through ``done``: a pruned or diverging
        trial ends alone and the others go on. The default trains them one
        after the other with :meth:`train`; an engine that trains several
        trials in one program overrides it.

        Args:
            configs: The batch's trials.
            data: The worker's dataset.
            seeds: The study's seeds.
            monitors: One per trial, in the order of ``configs``.
            done: Called with ``(index, result or exception)`` as each trial ends.
            model: The study's ``[model]``.

        Raises:
            KeyboardInterrupt: A stop was requested; the trials not yet passed
                to ``done`` are unfinished.
        """
        for index, (config, monitor) in enumerate(zip(configs, monitors, strict=True)):
            try:
                result = self.train(config, data, seeds, monitor, model)
            except Exception as exc:  # noqa: BLE001 - the trial's own ending, handed to the caller
                done(index, exc)
            else:
                done(index, result)

    @abc.abstractmethod
    def train(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> TrialResult:
        """Train ``config`` once per seed.

        Args:
            config: What to train.
            data: The worker's dataset.
            seeds: The study's seeds, the same for every trial.
            monitor: Progress and intermediate values go here.
            model: The study's ``[model]``: a user's builder or ``.keras``
                file; ``None`` (or a built-in family): the built-in model of
                ``config.family``.

        Returns:
            Per-seed results.

        Raises:
            NonFiniteLoss: A seed's loss became NaN or infinite.
        """


def curve_epochs(epochs: int, max_points: int = MAX_CURVE_POINTS) -> tuple[int, ...]:
    """The 1-based epochs at which curves are recorded: every ``ceil(epochs/max_points)``."""
    step = max(1, math.ceil(epochs / max_points))
    return tuple(range(step, epochs + 1, step))
