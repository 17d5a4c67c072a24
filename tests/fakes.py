"""A fake training engine for loop tests: deterministic results from the config and seed, no TensorFlow.

:class:`FakeEngine` reports progress, curves and intermediate values the way
the real engines do (after each chunk of about a twentieth of the epochs), so
the study loop, the objective, the pruner and the recorder run for real, in
milliseconds. On request it diverges (``NonFiniteLoss``), raises, is pruned
(``optuna.TrialPruned``, as an engine passes on its monitor's), is
interrupted (``KeyboardInterrupt``) or sleeps. Its ``train_many`` trains a
batch in lockstep, epoch by epoch, last trial first, so that the batch's
trials end out of order: one diverging or pruned ends alone, the others go on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Sequence

import numpy as np
import optuna

from actreg_search.spec.trial import TrialConfig
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialDone, TrialResult, curve_epochs

ConfigTest = Callable[[TrialConfig], bool]


def _never(config: TrialConfig) -> bool:
    return False


def unit(config: TrialConfig, seed: int, salt: str) -> float:
    """A number in [0, 1) that depends only on the config, the seed and ``salt``."""
    key = json.dumps([config.to_dict(), seed, salt], sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


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
    ) -> None:
        self.diverge = diverge
        self.error = error
        self.interrupt = interrupt
        self.sleep_s = sleep_s
        self.prune = prune
        self.batch = batch
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
        steps = self._steps(config, seeds, monitor or Monitor(), _validates(data))
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
            i: self._steps(config, seeds, monitor, _validates(data))
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

    def _steps(
        self, config: TrialConfig, seeds: Sequence[int], monitor: Monitor, validates: bool = False
    ) -> Generator[None, None, TrialResult]:
        """Train ``config``, yielding after each epoch; returns its result (with validation figures, unrelated
        to the test figures, when the data has a validation protocol)."""
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
