"""Open, create or resume a study and run its trials until the target is met.

The target is the study's total number of finished (complete or pruned)
trials, across reruns and workers: a rerun continues, never restarts. A failed
trial (non-finite loss, an error, Ctrl-C) is recorded as FAIL with its reason
and never takes the study down.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import itertools
import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import optuna
import psutil
from optuna.trial import FrozenTrial, TrialState

from actreg_search import attrs
from actreg_search.config import TrialConfig
from actreg_search.parser import parse_raw
from actreg_search.spec import StudySpec, spec_to_raw
from actreg_search.vocab import PrunerName, SamplerName
from actreg_search.data import Dataset, load_dataset
from actreg_search.engine import Engine, Monitor, NonFiniteLoss, get_engine
from actreg_search.errors import SpecError
from actreg_search.reader import record_of, summarize
from actreg_search.recorder import TrialRecorder
from actreg_search.results import TrialRecord
from actreg_search.sampling import make_sampler
from actreg_search.space import grid_size, suggest_config
from actreg_search.storage import open_storage, redact

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
POLL_S = 0.5
_RECYCLE_EXIT = 75
_INTERRUPTED_EXIT = 130
_MAX_CRASHES = 5
SURPLUS = "surplus: other workers already claimed the study's target"


class StopReason(str, enum.Enum):
    """Why a run ended."""

    TARGET_REACHED = "target reached"
    GRID_EXHAUSTED = "grid exhausted"
    INTERRUPTED = "interrupted"
    ALL_FAILED = "every trial of a pass failed"
    RECYCLE = "worker recycled"


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the one-line summary.

    Attributes:
        finished: The study's finished trials (complete or pruned), all runs together.
        ran: Trials that ended, in any state, during this run.
        failed: Of those, the ones that failed (not counting a surplus trial,
            failed at once because other workers had claimed the target).
    """

    study_name: str
    storage: str
    target: int
    finished: int
    ran: int
    failed: int
    best_value: float | None
    best_trial: int | None
    reason: StopReason


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


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The Optuna pruner a study file asks for."""
    name = spec.study.pruner
    if name is PrunerName.MEDIAN:
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name is PrunerName.HYPERBAND:
        # Values are reported after each chunk (about a twentieth of the epochs): the first rung is the first report.
        first_report = max(1, spec.model.epochs // 20)
        return optuna.pruners.HyperbandPruner(min_resource=first_report, max_resource=spec.model.epochs)
    return optuna.pruners.NopPruner()


class _StopRequest:
    """Ctrl-C, taken at safe points.

    A KeyboardInterrupt raised wherever the signal lands can be swallowed (in a
    weakref callback or a finalizer, Python ignores it) or leave TensorFlow
    mid-call. So the first SIGINT only sets a flag, which the trial checks
    whenever the engine reports progress and the run loop checks between
    trials; a second SIGINT interrupts at once.
    """

    def __init__(self) -> None:
        self.requested = False

    def handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Take SIGINT for the duration (main thread only; elsewhere, nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self.handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


_STOP = _StopRequest()


class _TrialMonitor(Monitor):
    """Forwards an engine's progress to the observer and its values to Optuna."""

    def __init__(self, trial: optuna.Trial, observer: RunObserver, prunable: bool) -> None:
        self.trial = trial
        self.recorder = TrialRecorder(trial)
        self.observer = observer
        self.prunable = prunable
        self.curves: tuple[tuple[int, ...], np.ndarray, np.ndarray] | None = None

    def on_curves(self, epochs: tuple[int, ...], train: np.ndarray, test: np.ndarray) -> None:
        self.curves = (epochs, train, test)

    def on_epochs(self, done: int, total: int) -> None:
        _STOP.check()
        self.observer.on_epochs(done, total)

    def report(self, epoch: int, mean_test_accuracy: float) -> None:
        if not self.prunable:  # Optuna has no intermediate values with several objectives
            return
        self.trial.report(mean_test_accuracy, epoch)
        if self.trial.should_prune():
            if self.curves is not None:  # a pruned trial keeps its partial curves
                self.recorder.partial_curves(*self.curves)
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


class _TrialFailed(Exception):
    """A trial failed in a way already recorded in its attributes."""


@dataclass
class Objective:
    """Optuna objective: sample a config, train it on every seed, record the result."""

    spec: StudySpec
    data: Dataset
    engine: Engine
    observer: RunObserver
    target: int

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        recorder = TrialRecorder(trial)
        ahead = trial.study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
        if sum(t.number < trial.number for t in ahead) >= self.target:
            recorder.failed(SURPLUS)
            raise _TrialFailed(SURPLUS)
        config = suggest_config(trial, self.spec)
        seeds = self.spec.study.seeds
        recorder.started(config, seeds)
        self.observer.on_trial_start(trial.number, config, config.epochs * len(seeds))
        try:
            monitor = _TrialMonitor(trial, self.observer, prunable=not self.spec.study.multi_objective)
            result = self.engine.train(config, self.data, seeds, monitor)
        except NonFiniteLoss as exc:
            recorder.failed(str(exc), seed=exc.seed)
            raise _TrialFailed(str(exc)) from None
        except KeyboardInterrupt:
            recorder.failed("interrupted", interrupted=True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            recorder.failed(f"{type(exc).__name__}: {exc}")
            raise
        recorder.completed(result, _rss_mb())
        values = tuple(result.mean(metric.value) for metric in self.spec.study.objectives)
        return values if self.spec.study.multi_objective else values[0]


def run_study(
    spec: StudySpec,
    storage_url: str,
    observer: RunObserver | None = None,
    jobs: int = 1,
    recycle_mb: int | None = None,
) -> RunSummary:
    """Create or resume a study and run it to its target.

    Args:
        spec: The validated study (overrides applied).
        storage_url: Where the study lives.
        observer: Progress display.
        jobs: Worker processes. Each worker is its own process (TensorFlow
            state and seeds are per process), pinned to its own share of the
            CPUs (:func:`cpu_shares`), running trials on the shared storage,
            while this process follows the storage and relays their progress.
            With ``jobs=1`` and no ``recycle_mb`` trials run here, in this
            process.
        recycle_mb: Replace a worker once its resident memory has grown this
            much since its first trial (``None``: never).

    Returns:
        What the run did.

    Raises:
        StorageError: The storage cannot be opened.
        SpecError: The study exists with different settings.
    """
    observer = observer or RunObserver()
    load_dataset(spec.data, spec.model.family)  # bad data fails here, before storage is touched
    storage = open_storage(storage_url, create=True)
    study = _open_study(spec, storage)
    before = {t.number for t in study.get_trials(deepcopy=False)}  # a trial failed now for a dead worker is not this run's
    _requeue_interrupted(study)
    plan = _Plan.of(spec)
    observer.on_run_start(spec.study.name, plan.target, _finished(study))
    _STOP.requested = False
    with _STOP.installed():
        if jobs == 1 and recycle_mb is None:
            reason = _optimize(study, spec, plan, observer)
        else:
            reason = _run_workers(study, spec, plan, storage_url, jobs, observer, recycle_mb)
    new = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.number not in before]
    best = summarize(storage, spec.study.name)
    return RunSummary(
        study_name=spec.study.name,
        storage=redact(storage_url),
        target=plan.target,
        finished=_finished(study),
        ran=len(new),
        failed=sum(t.state is TrialState.FAIL and t.user_attrs.get(attrs.FAIL_REASON) != SURPLUS for t in new),
        best_value=best.best_value,
        best_trial=best.best_trial,
        reason=reason,
    )


@dataclass(frozen=True)
class _Plan:
    """How far a run goes: the target, and for grids the number of distinct configs."""

    target: int
    grid_size: int | None

    @classmethod
    def of(cls, spec: StudySpec) -> _Plan:
        if spec.study.sampler is SamplerName.GRID:
            size = grid_size(spec)
            return cls(target=min(spec.study.n_trials, size), grid_size=size)
        return cls(target=spec.study.n_trials, grid_size=None)

    def exhausted(self, study: optuna.Study) -> bool:
        return self.grid_size is not None and _grid_exhausted(study, self.grid_size)


def _open_study(spec: StudySpec, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Create or load the study, with the study file's sampler (seeded per trial) and pruner."""
    _check_resumable(storage, spec)
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=storage,
        directions=["maximize"] * len(spec.study.objectives),
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        load_if_exists=True,
    )
    if attrs.SPEC not in study.user_attrs:
        study.set_user_attr(attrs.SPEC, spec_to_raw(spec))
    return study


def _optimize(
    study: optuna.Study,
    spec: StudySpec,
    plan: _Plan,
    observer: RunObserver,
    recycle: Callable[[], bool] = lambda: False,
) -> StopReason:
    """Run trials in this process, one at a time, until the study's target is met.

    Before each trial the worker checks the storage: it stops when the target
    is met or the grid is exhausted, and waits while trials running elsewhere
    could meet it (they may fail, and then it runs more). A trial that loses
    the remaining race to another worker is failed as surplus at once, so the
    study ends with exactly ``target`` finished trials. After each trial,
    ``recycle()`` says whether this worker should hand over to a fresh one.
    """
    objective = Objective(spec, load_dataset(spec.data, spec.model.family), get_engine(spec.model.engine), observer, plan.target)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        observer.on_trial_end(record_of(trial), _best_value(study))

    failures_in_a_row = 0
    try:
        while (finished := _finished(study)) < plan.target:
            _STOP.check()
            if plan.exhausted(study):
                return StopReason.GRID_EXHAUSTED
            if finished + _count(study, TrialState.RUNNING) >= plan.target:
                optuna.storages.fail_stale_trials(study)
                time.sleep(POLL_S)
                continue
            study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[after_trial])
            _STOP.check()
            failures_in_a_row = failures_in_a_row + 1 if _finished(study) == finished else 0
            if failures_in_a_row >= plan.target and not plan.exhausted(study):
                return StopReason.ALL_FAILED
            if recycle() and _finished(study) < plan.target:
                return StopReason.RECYCLE
    except KeyboardInterrupt:
        return StopReason.INTERRUPTED
    return StopReason.TARGET_REACHED


class _RelayObserver(RunObserver):
    """Sends a worker's trial starts and epoch counts to the parent process."""

    def __init__(self, events: multiprocessing.queues.Queue) -> None:
        self.events = events

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        self.events.put(("start", number, config.to_dict(), total_epochs))

    def on_epochs(self, done: int, total: int) -> None:
        self.events.put(("epochs", done, total))


class _MemoryBudget:
    """True once this process grew ``budget_mb`` past its size after the first trial."""

    def __init__(self, budget_mb: int | None) -> None:
        self.budget_mb = budget_mb
        self.baseline: float | None = None

    def __call__(self) -> bool:
        if self.budget_mb is None:
            return False
        rss = _rss_mb()
        if self.baseline is None:
            self.baseline = rss
        return rss - self.baseline > self.budget_mb


def _worker(
    spec: StudySpec,
    storage_url: str,
    recycle_mb: int | None,
    events: multiprocessing.queues.Queue,
    share: CpuShare,
) -> None:
    """Entry point of a worker process; its exit code tells the parent why it stopped.

    Workers leave the terminal's process group, so one Ctrl-C reaches the
    parent only, which forwards it once; a worker dies with its parent (Linux)
    or, elsewhere, stops after its current trial. The worker runs on its
    ``share`` of the CPUs (see :func:`cpu_shares`) and its TensorFlow thread
    pools get the share's threads, set before TensorFlow starts, so workers
    neither fight over nor migrate between cores.
    """
    import tensorflow as tf

    if share.cpus is not None:
        with contextlib.suppress(OSError):  # a container may forbid it; run unpinned then
            os.sched_setaffinity(0, share.cpus)
    tf.config.threading.set_intra_op_parallelism_threads(share.threads)
    tf.config.threading.set_inter_op_parallelism_threads(share.threads)
    os.setpgrp()
    _die_with_parent()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = _open_study(spec, open_storage(storage_url, create=False))
    with _STOP.installed():
        reason = _optimize(study, spec, _Plan.of(spec), _RelayObserver(events), _MemoryBudget(recycle_mb))
    events.close()
    events.join_thread()
    sys.exit({StopReason.RECYCLE: _RECYCLE_EXIT, StopReason.INTERRUPTED: _INTERRUPTED_EXIT}.get(reason, 0))


def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux); else watch for it."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(1, signal.SIGKILL) == 0 and os.getppid() == parent:  # PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError, TypeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        _STOP.requested = True

    threading.Thread(target=watch, daemon=True).start()


def _run_workers(
    study: optuna.Study,
    spec: StudySpec,
    plan: _Plan,
    storage_url: str,
    jobs: int,
    observer: RunObserver,
    recycle_mb: int | None,
) -> StopReason:
    """Keep ``jobs`` worker processes running until the study is done; relay their progress.

    A worker that exits to be recycled, or crashes, is replaced while trials
    remain (at most a few crashes in all, so a worker that cannot start does
    not loop forever).
    """
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    shares = cpu_shares(jobs)

    def launch(slot: int) -> multiprocessing.process.BaseProcess:
        args = (spec, storage_url, recycle_mb, events, shares[slot])
        process = context.Process(target=_worker, args=args, daemon=True)
        process.start()
        return process

    running = {slot: launch(slot) for slot in range(jobs)}  # a replacement takes its predecessor's slot
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    forwarded, crashes = False, 0
    try:
        while running:
            if _STOP.requested and not forwarded:
                forwarded = True
                for process in running.values():
                    if process.is_alive() and process.pid is not None:
                        os.kill(process.pid, signal.SIGINT)
            time.sleep(POLL_S)
            _relay(events, observer)
            seen |= _report_new(study, seen, observer)
            for slot, process in [(s, p) for s, p in running.items() if not p.is_alive()]:
                del running[slot]
                more = not _STOP.requested and _finished(study) < plan.target and not plan.exhausted(study)
                crashed = process.exitcode not in (0, _RECYCLE_EXIT, _INTERRUPTED_EXIT)
                crashes += crashed
                if more and (process.exitcode == _RECYCLE_EXIT or (crashed and crashes <= _MAX_CRASHES)):
                    running[slot] = launch(slot)
    except KeyboardInterrupt:  # a second Ctrl-C: stop the workers now
        for process in running.values():
            process.terminate()
    for process in running.values():
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join()
    _relay(events, observer)
    _report_new(study, seen, observer)
    if _STOP.requested:
        return StopReason.INTERRUPTED
    if _finished(study) >= plan.target:
        return StopReason.TARGET_REACHED
    return StopReason.GRID_EXHAUSTED if plan.exhausted(study) else StopReason.ALL_FAILED


@dataclass(frozen=True)
class CpuShare:
    """The CPUs one worker runs on, and its TensorFlow threads.

    Attributes:
        cpus: CPU numbers to pin the worker to; ``None`` for no pinning.
        threads: Threads for each of TensorFlow's two thread pools.
    """

    cpus: frozenset[int] | None
    threads: int


def cpu_shares(jobs: int) -> list[CpuShare]:
    """Split the CPUs this process may use into one disjoint share per worker.

    Two workers that each own a core train about 20% faster than two that the
    kernel moves between cores (measured on a 2-core VM, docs/performance.md).
    Shares differ in size by at most one CPU. With more workers than CPUs, or
    where the platform cannot pin (no ``sched_setaffinity``), workers are not
    pinned and share the CPUs' threads out evenly, at least one each.

    Args:
        jobs: Number of workers.

    Returns:
        ``jobs`` shares, in worker slot order.
    """
    if not hasattr(os, "sched_getaffinity"):
        return [CpuShare(None, max(1, (os.cpu_count() or 1) // jobs))] * jobs
    cpus = sorted(os.sched_getaffinity(0))
    if jobs > len(cpus):
        return [CpuShare(None, 1)] * jobs
    bounds = [slot * len(cpus) // jobs for slot in range(jobs + 1)]
    return [CpuShare(frozenset(cpus[begin:end]), end - begin) for begin, end in itertools.pairwise(bounds)]


def _relay(events: multiprocessing.queues.Queue, observer: RunObserver) -> None:
    """Pass the workers' queued progress events to the observer."""
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return
        if event[0] == "start":
            _, number, config, total = event
            observer.on_trial_start(number, TrialConfig.from_dict(config), total)
        else:
            observer.on_epochs(event[1], event[2])


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _report_new(study: optuna.Study, seen: set[int], observer: RunObserver) -> set[int]:
    """Tell the observer about trials that ended since last time; returns their numbers."""
    new = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.state.is_finished() and trial.number not in seen:
            new[trial.number] = trial
    for number in sorted(new):
        observer.on_trial_end(record_of(new[number]), _best_value(study))
    return set(new)


def _check_resumable(storage: optuna.storages.BaseStorage, spec: StudySpec) -> None:
    """Refuse to add trials to a study made with other settings (seeds, epochs, space...)."""
    name = spec.study.name
    if name not in optuna.get_all_study_names(storage):
        return
    stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(attrs.SPEC)
    if stored is None:
        raise SpecError(f"study {name!r} exists but was not created by actreg-search; choose another [study] name")
    ours = spec_to_raw(spec)
    theirs = spec_to_raw(parse_raw(stored))
    differences = [
        f"[{table}] {key}: stored {theirs[table].get(key)!r}, now {ours[table].get(key)!r}"
        for table in ours
        for key in sorted(set(ours[table]) | set(theirs[table]))
        if (table, key) != ("study", "n_trials") and ours[table].get(key) != theirs[table].get(key)
    ]
    if differences:
        raise SpecError(
            f"study {name!r} already exists with other settings ({'; '.join(differences)}); "
            "rerun with the same settings, or change [study] name"
        )


def _requeue_interrupted(study: optuna.Study) -> None:
    """Queue once more, with the same parameters, each trial a Ctrl-C cut short."""
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if trial.state is TrialState.FAIL and trial.user_attrs.get(attrs.INTERRUPTED) and trial.params:
            if not any(t.number > trial.number and t.params == trial.params for t in trials):
                study.enqueue_trial(trial.params)


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _count(study: optuna.Study, state: TrialState) -> int:
    return len(study.get_trials(deepcopy=False, states=(state,)))


def _grid_exhausted(study: optuna.Study, size: int) -> bool:
    explored = {
        tuple(sorted(t.params.items()))
        for t in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.FAIL))
        if not t.user_attrs.get(attrs.INTERRUPTED)
    }
    return len(explored) >= size


def _best_value(study: optuna.Study) -> float | None:
    """The best mean test accuracy so far (ties do not matter for the value)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max((t.values[0] for t in complete), default=None)
