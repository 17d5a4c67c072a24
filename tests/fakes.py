"""A fake training engine for loop tests: deterministic results from the config and seed, no TensorFlow.

:class:`FakeEngine` reports progress, curves and intermediate values the way
the real engines do (after each chunk of about a twentieth of the epochs), so
the study loop, the objective, the pruner and the recorder run for real, in
milliseconds. On request it diverges (``NonFiniteLoss``), raises, is pruned
(``optuna.TrialPruned``, as an engine passes on its monitor's), is
interrupted (``KeyboardInterrupt``) or sleeps. Its ``train_many`` trains a
batch in lockstep, epoch by epoch, last trial first, so that the batch's
trials end out of order: one diverging or pruned ends alone, the others go on.
In a regression or an autoencoder (its ``task``, or the data's) it reports
that task's own figures (:func:`task_seed_result`): RMSE, MAE and R², or the
reconstruction MSE, falling as it trains, and no accuracy; :func:`stored_trial`
is a completed trial of such figures as the recorder stores it, without training.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial

from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer, Task
from actreg_search.store import keys
from actreg_search.store.recorder import completed_attrs
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialDone, TrialResult, curve_epochs

ConfigTest = Callable[[TrialConfig], bool]


def _never(config: TrialConfig) -> bool:
    return False


def unit(config: TrialConfig, seed: int, salt: str) -> float:
    """A number in [0, 1) that depends only on the config, the seed and ``salt``."""
    key = json.dumps([config.to_dict(), seed, salt], sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def task_seed_result(
    seed: int,
    task: Task | str,
    test: float,
    train: float,
    validation: float | None = None,
    sparsity: float = 0.5,
    validation_sparsity: float | None = None,
    curves: tuple[Sequence[float], Sequence[float], Sequence[float]] | None = None,
    activation_mean: float = 0.2,
) -> SeedResult:
    """One seed's result in a task's own figures, as an engine reports it.

    ``test``, ``train`` and ``validation`` are the task's headline figure
    (accuracy, a regression's RMSE, an autoencoder's reconstruction MSE) on
    each split; a regression also gets an MAE (0.8 × RMSE) and an R²
    (1 − RMSE², so it ranks as the RMSE does, reversed). ``curves`` are the
    headline's train, test and validation curves (default: two epochs, from
    halfway to the final value). A task without accuracy has none (and no gap).
    """
    task = Task(task)
    train_curve, test_curve, validation_curve = curves or (
        (train / 2, train), (test / 2, test), () if validation is None else (validation / 2, validation)
    )
    measured = validation is not None
    common = dict(
        seed=seed,
        train_loss=0.1,
        activation_mean=activation_mean,
        sparsity=sparsity,
        train_curve=tuple(float(v) for v in train_curve),
        test_curve=tuple(float(v) for v in test_curve),
        validation_curve=tuple(float(v) for v in validation_curve),
        validation_sparsity=(sparsity if validation_sparsity is None else validation_sparsity) if measured else None,
    )
    if task is Task.CLASSIFICATION:
        return SeedResult(train_accuracy=train, test_accuracy=test, validation_accuracy=validation, **common)
    if task is Task.AUTOENCODER:
        return SeedResult(train_accuracy=None, test_accuracy=None, train_mse=train, test_mse=test, validation_mse=validation, **common)
    return SeedResult(
        train_accuracy=None,
        test_accuracy=None,
        train_rmse=train,
        test_rmse=test,
        validation_rmse=validation,
        test_mae=0.8 * test,
        validation_mae=None if validation is None else 0.8 * validation,
        test_r2=1 - test**2,
        validation_r2=None if validation is None else 1 - validation**2,
        **common,
    )


def stored_trial(
    task: Task | str,
    tests: Sequence[float],
    trains: Sequence[float],
    validations: Sequence[float] | None = None,
    *,
    regularized: bool = True,
    sparsity: float = 0.5,
    validation_sparsity: float | None = None,
    config: TrialConfig | None = None,
) -> FrozenTrial:
    """A completed trial of a task's own figures (:func:`task_seed_result`, one seed per value of ``tests``) as the
    recorder stores it: of ``config``, else an ``l1 · pre_activation 1e-4`` model of 4 units (``regularized``) or an
    unregularized one; its value, what its study ranks on, is the mean of ``validations`` where given, else of ``tests``."""
    config = config or TrialConfig(
        regularizer=Regularizer.L1 if regularized else Regularizer.NONE,
        placement=Placement.PRE_ACTIVATION if regularized else None,
        l1=1e-4 if regularized else 0.0, l2=0.0, hidden_units=4, epochs=3,
    )
    measured = [None] * len(tests) if validations is None else list(validations)
    seeds = tuple(
        task_seed_result(i, task, test, train, validation, sparsity, validation_sparsity)
        for i, (test, train, validation) in enumerate(zip(tests, trains, measured, strict=True))
    )
    result = TrialResult(seeds=seeds, curve_epochs=(1, 3), wall_time_s=0.5, engine="keras")
    ranked_on = tests if validations is None else validations
    return optuna.trial.create_trial(
        value=sum(ranked_on) / len(ranked_on),
        params={"regularizer": config.regularizer.value},
        distributions={"regularizer": CategoricalDistribution([r.value for r in Regularizer])},
        user_attrs={keys.CONFIG: config.to_dict(), **completed_attrs(result)},
    )


def _validates(data: object) -> bool:
    """Whether the data has a validation protocol (a real :class:`~actreg_search.data.datasets.Dataset`'s)."""
    validation = getattr(data, "validation", None)
    return validation is not None and not validation.on_test


class FakeEngine(Engine):
    """Trains nothing; returns what a config "would" score, the same every time.

    Args:
        diverge: Configs whose first seed's loss becomes non-finite at epoch 1.
        error: Configs on which training raises ``RuntimeError("fake failure")``.
        interrupt: Configs on which training raises ``KeyboardInterrupt`` (as a
            Ctrl-C would) after the first progress report.
        sleep_s: Seconds to sleep per epoch (to catch a trial mid-training).
        prune: Configs whose training raises ``optuna.TrialPruned`` halfway.
        batch: What :meth:`default_batch` says.
        profile_path: Accepted as an engine factory's is (the timing log); unused.
        task: The figures it reports (:func:`task_seed_result`); ``None``: the data's ``task``, else classification.

    Attributes:
        trained: Every config trained, in order (not in worker processes).
        batches: The size of each batch :meth:`train_many` was given.
        ended: The configs in the order :meth:`train_many` ended their trials, across batches.
    """

    name = "fake"

    def __init__(
        self,
        diverge: ConfigTest = _never,
        error: ConfigTest = _never,
        interrupt: ConfigTest = _never,
        sleep_s: float = 0.0,
        prune: ConfigTest = _never,
        batch: int = 1,
        profile_path: str | None = None,
        task: Task | str | None = None,
    ) -> None:
        self.diverge = diverge
        self.error = error
        self.interrupt = interrupt
        self.sleep_s = sleep_s
        self.prune = prune
        self.batch = batch
        self.task = None if task is None else Task(task)
        self.trained: list[TrialConfig] = []
        self.batches: list[int] = []
        self.ended: list[TrialConfig] = []

    def default_batch(self) -> int:
        return self.batch

    def train(
        self,
        config: TrialConfig,
        data: object,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: object = None,
    ) -> TrialResult:
        """Deterministic per-seed results; progress and values reported like a real engine's."""
        self.trained.append(config)
        steps = self._steps(config, seeds, monitor or Monitor(), _validates(data), self._task(data))
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value

    def train_many(
        self,
        configs: Sequence[TrialConfig],
        data: object,
        seeds: Sequence[int],
        monitors: Sequence[Monitor],
        done: TrialDone,
        model: object = None,
    ) -> None:
        """The batch in lockstep, one epoch of each trial in turn, last trial first; each reported as it ends."""
        self.batches.append(len(configs))
        self.trained.extend(configs)
        running = {
            i: self._steps(config, seeds, monitor, _validates(data), self._task(data))
            for i, (config, monitor) in enumerate(zip(configs, monitors, strict=True))
        }
        while running:
            for index in sorted(running, reverse=True):
                try:
                    next(running[index])
                except StopIteration as stop:
                    del running[index]
                    self.ended.append(configs[index])
                    done(index, stop.value)
                except Exception as exc:  # noqa: BLE001 - the trial's own ending
                    del running[index]
                    self.ended.append(configs[index])
                    done(index, exc)

    def _task(self, data: object) -> Task:
        """The task whose figures it reports: its own, else the data's, else classification."""
        return self.task or Task(getattr(data, "task", None) or Task.CLASSIFICATION)

    def _steps(
        self, config: TrialConfig, seeds: Sequence[int], monitor: Monitor, validates: bool = False,
        task: Task = Task.CLASSIFICATION,
    ) -> Generator[None, None, TrialResult]:
        """Train ``config``, yielding after each epoch; returns its result (with validation figures, unrelated
        to the test figures, when the data has a validation protocol). In a regression or an autoencoder every
        figure is ``1 - `` the accuracy it would have had (lower is better, falling as it trains)."""
        if self.error(config):
            raise RuntimeError("fake failure")
        if self.diverge(config):
            raise NonFiniteLoss(seeds[0], 1)
        epochs = curve_epochs(config.epochs)
        finals = np.array([[0.5 + 0.5 * unit(config, seed, "test")] for seed in seeds])
        fraction = np.array(epochs, dtype=float)[None, :] / config.epochs
        test = finals * fraction
        train = np.minimum(1.0, test + 0.05)
        val_finals = np.array([[0.5 + 0.5 * unit(config, seed, "validation")] for seed in seeds])
        validation = val_finals * fraction if validates else None
        selected = val_finals if validates else finals
        if task is not Task.CLASSIFICATION:  # an error: lower is better, falling from 1 as it trains
            test, train, selected = 1.0 - test, 1.0 - train, 1.0 - selected
            validation = None if validation is None else 1.0 - validation
        chunk = max(1, config.epochs // 20)
        total = config.epochs * len(seeds)
        for epoch in range(1, config.epochs + 1):
            if self.sleep_s:
                time.sleep(self.sleep_s)
            monitor.on_epochs(epoch * len(seeds), total)
            if self.interrupt(config):
                raise KeyboardInterrupt
            if epoch % chunk == 0 or epoch == config.epochs:
                shown = [i for i, e in enumerate(epochs) if e <= epoch]
                monitor.on_curves(
                    tuple(epochs[i] for i in shown), train[:, shown], test[:, shown], None if validation is None else validation[:, shown]
                )
                monitor.report(epoch, float(np.mean(selected) * epoch / config.epochs))
            if self.prune(config) and epoch * 2 >= config.epochs:
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")
            yield
        if task is not Task.CLASSIFICATION:
            results = tuple(
                task_seed_result(
                    seed, task, float(test[i, -1]), float(train[i, -1]),
                    None if validation is None else float(validation[i, -1]),
                    sparsity=unit(config, seed, "sparsity"),
                    validation_sparsity=unit(config, seed, "validation sparsity") if validation is not None else None,
                    curves=(train[i], test[i], () if validation is None else validation[i]),
                    activation_mean=unit(config, seed, "activation"),
                )
                for i, seed in enumerate(seeds)
            )
            return TrialResult(seeds=results, curve_epochs=epochs, wall_time_s=0.01, engine=self.name)
        results = tuple(
            SeedResult(
                seed=seed,
                train_accuracy=float(train[i, -1]),
                test_accuracy=float(test[i, -1]),
                train_loss=1.0 - float(train[i, -1]),
                activation_mean=unit(config, seed, "activation"),
                sparsity=unit(config, seed, "sparsity"),
                train_curve=tuple(float(v) for v in train[i]),
                test_curve=tuple(float(v) for v in test[i]),
                validation_accuracy=float(validation[i, -1]) if validation is not None else None,
                validation_sparsity=unit(config, seed, "validation sparsity") if validation is not None else None,
                validation_curve=tuple(float(v) for v in validation[i]) if validation is not None else (),
            )
            for i, seed in enumerate(seeds)
        )
        return TrialResult(seeds=results, curve_epochs=epochs, wall_time_s=0.01, engine=self.name)
