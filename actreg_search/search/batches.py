"""Trials in batches: ask, sample each config, train the batch together, record and tell each as it ends.

:class:`Objective` runs a batch of trials with Optuna's ask and tell
(:meth:`~actreg_search.engine.base.Engine.train_many` trains them; a batch of
one is the same path); everything it writes on a trial goes through
:class:`~actreg_search.store.recorder.TrialRecorder`. The engine's progress goes
to a :class:`~actreg_search.search.observer.RunObserver` (the display), and its intermediate values to
Optuna's pruner, through one :class:`TrialMonitor` per trial. While a batch
trains, every trial of it not yet ended keeps a heartbeat
(:mod:`actreg_search.search.heartbeat`). Nothing here imports TensorFlow: the engine
comes in ready-made.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, TrialResult
from actreg_search.internals.optuna_private import trial_id
from actreg_search.search.heartbeat import BatchHeartbeat
from actreg_search.search.observer import RunObserver
from actreg_search.search.plan import FINISHED
from actreg_search.search.space import suggest_config
from actreg_search.search.workers import rss_mb
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import PrunerName
from actreg_search.store.recorder import TrialRecorder

if TYPE_CHECKING:  # data imports scikit-learn and pandas, which a finished study's run does not need
    from actreg_search.data.datasets import Dataset

SURPLUS_REASON = "surplus: other workers already claimed the study's target"
"""The fail reason of a trial started after other workers had claimed the last trials."""
INTERRUPTED_REASON = "interrupted"
"""The fail reason of a trial cut short by Ctrl-C (its record also says :func:`~actreg_search.store.reader.interrupted`)."""


class TrialMonitor(Monitor):
    """Forwards an engine's progress to the observer and its values to Optuna's pruner.

    Args:
        trial: The running trial.
        observer: The display.
        prunable: Whether to report intermediate values (only to a pruner; Optuna has none with
            several objectives).
        checkpoint: Called at each progress report; raises ``KeyboardInterrupt``
            once a stop was requested (:meth:`~actreg_search.search.workers.StopRequest.check`).
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
        self.wants_reports = prunable
        self.checkpoint = checkpoint
        self.curves: tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def on_curves(self, epochs: tuple[int, ...], train: np.ndarray, test: np.ndarray, validation: np.ndarray | None = None) -> None:
        self.curves = (epochs, train, test, validation)

    def on_epochs(self, done: int, total: int) -> None:
        self.checkpoint()
        self.observer.on_epochs(done, total)

    def report(self, epoch: int, mean_accuracy: float) -> None:
        if not self.wants_reports:
            return
        self.trial.report(mean_accuracy, epoch)
        if self.trial.should_prune():
            if self.curves is not None:  # a pruned trial keeps its partial curves
                self.recorder.partial_curves(*self.curves)
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


@dataclass
class Objective:
    """Runs a study's trials a batch at a time: ask, sample, train together, record and tell each as it ends.

    Attributes:
        spec: The study.
        data: The dataset, loaded once per process.
        engine: What trains (:meth:`~actreg_search.engine.base.Engine.train_many`).
        observer: The display.
        target: The study's target: a trial numbered after ``target`` others
            that finished or are running is surplus and fails at once.
        checkpoint: See :class:`TrialMonitor`.
        storage: The study's storage, to keep each running trial's heartbeat
            (:class:`~actreg_search.search.heartbeat.BatchHeartbeat`); ``None``: no heartbeats.
        on_told: Called with each trial once it is told (any state), in the order they end.
    """

    spec: StudySpec
    data: Dataset
    engine: Engine
    observer: RunObserver
    target: int
    checkpoint: Callable[[], None] = field(default=lambda: None)
    storage: optuna.storages.BaseStorage | None = None
    on_told: Callable[[FrozenTrial], None] = field(default=lambda trial: None)

    def run_batch(self, study: optuna.Study, size: int) -> list[FrozenTrial]:
        """Ask ``size`` trials, train them together, and record and tell each as it ends.

        Each trial's config is drawn before the next trial is asked, so the
        sampler sees the batch's earlier trials (TPE's constant liar spreads
        them out) and queued trials (interrupted ones, replays) come first.
        A trial ends complete (its values told), pruned (its monitor kept its
        curves so far), or failed with its reason (a diverging seed, an
        error, surplus); a failure never ends the batch or the run.

        Args:
            study: The study.
            size: Trials to ask (the caller leaves room for them in the target).

        Returns:
            The batch's trials as told, in the order they ended.

        Raises:
            KeyboardInterrupt: A stop was requested; every trial of the batch
                not yet told was failed as interrupted (and is re-queued on
                the next run) first.
        """
        with BatchHeartbeat(self.storage) as heartbeat:
            batch = _Batch(self, study, heartbeat)
            try:
                for _ in range(size):
                    batch.prepare(batch.ask())
                if batch.configs:
                    try:
                        self.engine.train_many(
                            batch.configs, self.data, self.spec.study.seeds, batch.monitors, batch.done, model=self.spec.model
                        )
                    except Exception as exc:  # noqa: BLE001 - an engine that broke off the batch: its unfinished trials fail
                        batch.fail_open(f"{type(exc).__name__}: {exc}")
                    batch.fail_open("the engine never reported this trial's end")
            except KeyboardInterrupt:
                batch.fail_open(INTERRUPTED_REASON, interrupted=True)
                raise
            return batch.told


class _Batch:
    """One batch's trials: which are open, and how each is recorded and told."""

    def __init__(self, objective: Objective, study: optuna.Study, heartbeat: BatchHeartbeat) -> None:
        self.objective = objective
        self.study = study
        self.heartbeat = heartbeat
        self.trials: list[optuna.Trial] = []  # those that train, in the engine's order
        self.configs: list[TrialConfig] = []
        self.monitors: list[TrialMonitor] = []
        self.open: dict[int, optuna.Trial] = {}  # by number: asked, not yet told
        self.told: list[FrozenTrial] = []

    def ask(self) -> optuna.Trial:
        """A new trial (a queued one first), beating from now on."""
        with warnings.catch_warnings():  # Optuna warns that heartbeats are meant for Study.optimize: see heartbeat.py
            warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
            trial = self.study.ask()
        self.open[trial.number] = trial
        self.heartbeat.add(trial_id(trial))
        return trial

    def prepare(self, trial: optuna.Trial) -> None:
        """Fail a surplus trial at once; else draw its config and record its start."""
        objective = self.objective
        ahead = self.study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
        if sum(t.number < trial.number for t in ahead) >= objective.target:
            self.fail(trial, SURPLUS_REASON)
            return
        try:
            config = suggest_config(trial, objective.spec)
            seeds = objective.spec.study.seeds
            TrialRecorder(trial, objective.storage).started(config, seeds)
            objective.observer.on_trial_start(trial.number, config, config.epochs * len(seeds))
        except Exception as exc:  # noqa: BLE001 - this trial's own failure
            self.fail(trial, f"{type(exc).__name__}: {exc}")
            return
        # Intermediate values serve only a pruner (Optuna has none with several
        # objectives); without one, 20 reports a trial were 20 needless commits.
        study = objective.spec.study
        prunable = study.pruner is not PrunerName.NONE and not study.multi_objective
        self.trials.append(trial)
        self.configs.append(config)
        self.monitors.append(TrialMonitor(trial, objective.observer, prunable, objective.checkpoint))

    def done(self, index: int, outcome: TrialResult | Exception) -> None:
        """The engine's report that trial ``index`` ended (:data:`~actreg_search.engine.base.TrialDone`)."""
        trial = self.trials[index]
        if isinstance(outcome, TrialResult):
            try:
                TrialRecorder(trial, self.objective.storage).completed(outcome, rss_mb())
                values = [outcome.mean(field) for field in self.objective.spec.selection_fields()]
            except Exception as exc:  # noqa: BLE001 - a result that cannot be recorded fails its trial
                self.fail(trial, f"{type(exc).__name__}: {exc}")
                return
            self.tell(trial, TrialState.COMPLETE, values)
        elif isinstance(outcome, optuna.TrialPruned):
            self.tell(trial, TrialState.PRUNED)
        elif isinstance(outcome, NonFiniteLoss):
            self.fail(trial, str(outcome), seed=outcome.seed)
        else:
            self.fail(trial, f"{type(outcome).__name__}: {outcome}")

    def fail(self, trial: optuna.Trial, reason: str, *, seed: int | None = None, interrupted: bool = False) -> None:
        """Record why ``trial`` failed and tell it FAIL."""
        try:
            TrialRecorder(trial, self.objective.storage).failed(reason, seed=seed, interrupted=interrupted)
        except optuna.exceptions.UpdateFinishedTrialError:
            self.close(trial)  # another worker ended it first: see tell
            return
        self.tell(trial, TrialState.FAIL)

    def fail_open(self, reason: str, *, interrupted: bool = False) -> None:
        """Fail every trial of the batch not yet told, in trial order."""
        for number in sorted(self.open):
            self.fail(self.open[number], reason, interrupted=interrupted)

    def close(self, trial: optuna.Trial) -> None:
        """Stop keeping ``trial`` (once: a second report of the same trial is an engine's bug)."""
        if self.open.pop(trial.number, None) is None:
            raise RuntimeError(f"trial {trial.number} was reported ended twice")
        self.heartbeat.discard(trial_id(trial))

    def tell(self, trial: optuna.Trial, state: TrialState, values: list[float] | None = None) -> None:
        """End ``trial`` in storage and pass it on, as this run's.

        A trial another worker ended first (it took the trial's heartbeat for
        a dead worker's, :func:`~actreg_search.search.loop.fail_stale_trials`)
        keeps that worker's record, is not this run's, and this worker goes on.
        """
        self.close(trial)
        frozen = self.study.tell(trial, values, state=state, skip_if_finished=True)
        if frozen.state is not state:  # ended elsewhere
            return
        self.told.append(frozen)
        self.objective.on_told(frozen)
