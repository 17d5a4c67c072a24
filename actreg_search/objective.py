"""One trial: sample a config, train it on every seed, record how it ended.

:class:`Objective` is what Optuna calls per trial; everything it writes on the
trial goes through :class:`~actreg_search.recorder.TrialRecorder`. The
engine's progress goes to a :class:`RunObserver` (the display), and its
intermediate values to Optuna's pruner, through :class:`TrialMonitor`.
Nothing here imports TensorFlow: the engine comes in ready-made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import optuna
import psutil
from optuna.trial import TrialState

from actreg_search.config import TrialConfig
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss
from actreg_search.recorder import TrialRecorder
from actreg_search.results import TrialRecord
from actreg_search.space import suggest_config
from actreg_search.spec import StudySpec

if TYPE_CHECKING:  # data imports scikit-learn and pandas, which a finished study's run does not need
    from actreg_search.data import Dataset

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
"""The states that count toward a study's target."""
SURPLUS = "surplus: other workers already claimed the study's target"
"""The fail reason of a trial started after other workers had claimed the last trials."""
INTERRUPTED = "interrupted"
"""The fail reason of a trial cut short by Ctrl-C."""


class RunObserver:
    """Hooks for showing a run's progress; the default shows nothing."""

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        """The run starts with ``finished`` of ``target`` trials done."""

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        """Trial ``number`` starts; it will train ``total_epochs`` seed-epochs."""

    def on_epochs(self, done: int, total: int) -> None:
        """The current trial has trained ``done`` of ``total`` seed-epochs."""

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        """A trial ended (any state)."""


class GuardedObserver(RunObserver):
    """Passes every hook on to ``inner`` until one fails with an ``OSError``; then shows nothing.

    Showing progress must never cost a trial or the run's bookkeeping: once
    the terminal or pipe the display writes to is gone (``tee`` killed by the
    same Ctrl-C, a closed SSH session), the run goes on without a display.

    Attributes:
        inner: The observer guarded.
        broken: The error that turned the display off, if one did.
    """

    def __init__(self, inner: RunObserver) -> None:
        self.inner = inner
        self.broken: OSError | None = None

    def _call(self, hook: Callable[[], None]) -> None:
        if self.broken is not None:
            return
        try:
            hook()
        except OSError as exc:
            self.broken = exc

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        self._call(lambda: self.inner.on_run_start(study_name, target, finished))

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        self._call(lambda: self.inner.on_trial_start(number, config, total_epochs))

    def on_epochs(self, done: int, total: int) -> None:
        self._call(lambda: self.inner.on_epochs(done, total))

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self._call(lambda: self.inner.on_trial_end(record, best_value))


def rss_mb() -> float:
    """This process's resident memory in MiB."""
    return psutil.Process().memory_info().rss / 2**20


class TrialMonitor(Monitor):
    """Forwards an engine's progress to the observer and its values to Optuna's pruner.

    Args:
        trial: The running trial.
        observer: The display.
        prunable: Whether to report intermediate values (Optuna has none with
            several objectives).
        checkpoint: Called at each progress report; raises ``KeyboardInterrupt``
            once a stop was requested (see :class:`~actreg_search.workers.StopRequest`).
    """

    def __init__(
        self,
        trial: optuna.Trial,
        observer: RunObserver,
        prunable: bool,
        checkpoint: Callable[[], None] = lambda: None,
    ) -> None:
        self.trial = trial
        self.recorder = TrialRecorder(trial)
        self.observer = observer
        self.prunable = prunable
        self.checkpoint = checkpoint
        self.curves: tuple[tuple[int, ...], np.ndarray, np.ndarray] | None = None

    def on_curves(self, epochs: tuple[int, ...], train: np.ndarray, test: np.ndarray) -> None:
        self.curves = (epochs, train, test)

    def on_epochs(self, done: int, total: int) -> None:
        self.checkpoint()
        self.observer.on_epochs(done, total)

    def report(self, epoch: int, mean_test_accuracy: float) -> None:
        if not self.prunable:
            return
        self.trial.report(mean_test_accuracy, epoch)
        if self.trial.should_prune():
            if self.curves is not None:  # a pruned trial keeps its partial curves
                self.recorder.partial_curves(*self.curves)
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


class TrialFailed(Exception):
    """A trial failed in a way already recorded in its attributes (Optuna marks it FAIL)."""


@dataclass
class Objective:
    """Optuna objective: sample a config, train it on every seed, record the result.

    Attributes:
        spec: The study.
        data: The dataset, loaded once per process.
        engine: What trains.
        observer: The display.
        target: The study's target: a trial numbered after ``target`` others
            that finished or are running is surplus and fails at once.
        checkpoint: See :class:`TrialMonitor`.
    """

    spec: StudySpec
    data: Dataset
    engine: Engine
    observer: RunObserver
    target: int
    checkpoint: Callable[[], None] = field(default=lambda: None)

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        recorder = TrialRecorder(trial)
        ahead = trial.study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
        if sum(t.number < trial.number for t in ahead) >= self.target:
            recorder.failed(SURPLUS)
            raise TrialFailed(SURPLUS)
        config = suggest_config(trial, self.spec)
        seeds = self.spec.study.seeds
        recorder.started(config, seeds)
        self.observer.on_trial_start(trial.number, config, config.epochs * len(seeds))
        monitor = TrialMonitor(trial, self.observer, not self.spec.study.multi_objective, self.checkpoint)
        try:
            result = self.engine.train(config, self.data, seeds, monitor, model=self.spec.model)
        except NonFiniteLoss as exc:
            recorder.failed(str(exc), seed=exc.seed)
            raise TrialFailed(str(exc)) from None
        except KeyboardInterrupt:
            recorder.failed(INTERRUPTED, interrupted=True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            recorder.failed(f"{type(exc).__name__}: {exc}")
            raise
        recorder.completed(result, rss_mb())
        values = tuple(result.mean(metric.value) for metric in self.spec.study.objectives)
        return values if self.spec.study.multi_objective else values[0]
