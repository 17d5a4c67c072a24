"""The study loop: one process's batches of trials until the target, or worker processes running it, supervised.

:func:`optimize` is the loop of one process, a batch at a time
(:class:`~actreg_search.search.batches.Objective`); with several workers (or
memory recycling) :func:`supervise` has :func:`~actreg_search.search.workers.run_workers`
run :func:`worker_loop` in worker processes while this process follows the
storage. Either way the run's :class:`TrialsRan` hears of each trial the loop
ended, and only of those: what this run did, not what the study did meanwhile.
"""

from __future__ import annotations

import enum
import functools
import time
import warnings
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.engine import Engine, get_engine
from actreg_search.results.records import TrialRecord
from actreg_search.search.batches import SURPLUS_REASON, Objective
from actreg_search.search.modelcheck import with_marked_layers
from actreg_search.search.observer import RunObserver
from actreg_search.search.opening import open_study
from actreg_search.search.sampling import make_sampler
from actreg_search.search.plan import Plan, finished
from actreg_search.search.workers import POLL_S, StopRequest, WorkerExit, run_workers
from actreg_search.settings import Settings
from actreg_search.spec.measures import maximized
from actreg_search.spec.specs import StudySpec
from actreg_search.store.reader import record_of
from actreg_search.store.storage import open_storage


class StopReason(str, enum.Enum):
    """Why a run ended."""

    TARGET_REACHED = "target reached"
    GRID_EXHAUSTED = "grid exhausted"
    INTERRUPTED = "interrupted"
    ALL_FAILED = "every trial of a pass failed"
    RECYCLE = "worker recycled"


class TrialsRan(RunObserver):
    """The trials this run's loop ended, in this process or in its workers, as they ended.

    Not another process's trials on the same study, nor a trial of an earlier
    run that a stale heartbeat failed now: the loop tells only the trials it
    ran (:meth:`~actreg_search.search.batches.Objective.run_batch`).
    """

    def __init__(self) -> None:
        self.records: list[TrialRecord] = []

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self.records.append(record)

    @property
    def ran(self) -> int:
        """How many trials the run ended, in any state."""
        return len(self.records)

    @property
    def failed(self) -> int:
        """Of those, the failed ones, not counting a surplus trial (failed at once: other workers had claimed the target)."""
        return sum(r.state is TrialState.FAIL and r.fail_reason != SURPLUS_REASON for r in self.records)


def optimize(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    spec: StudySpec,
    plan: Plan,
    observer: RunObserver,
    engine: Engine,
    stop: StopRequest,
    recycle: Callable[[], bool] = lambda: False,
) -> StopReason:
    """Run trials in this process, a batch at a time, until the study's target is met.

    A batch is ``[study] batch`` trials (else the engine's
    :meth:`~actreg_search.engine.base.Engine.default_batch`), trained
    together (:meth:`~actreg_search.search.batches.Objective.run_batch`); one is
    the same loop with batches of one. Before each batch the loop fails the
    trials of dead workers (stale heartbeats), then checks the storage: it
    stops when the target is met or the grid is exhausted, asks no more trials
    than the study still needs (the target less the finished and running
    ones), and waits while trials running elsewhere could meet it (they may
    fail, and then it runs more). A trial that loses the remaining race to
    another worker is failed as surplus at once, so the study ends with
    exactly ``target`` finished trials. Each trial the loop ends goes to
    ``observer.on_trial_end``. After each batch, ``recycle()`` says whether
    this worker should hand over to a fresh one; ``stop`` is checked between
    batches and at each progress report. Under ``[space] per_layer`` a user's model is built once first, for the
    names of its marked layers (:func:`~actreg_search.search.modelcheck.with_marked_layers`).
    """
    from actreg_search.data.datasets import dataset_for

    data = dataset_for(spec)
    spec = with_marked_layers(spec, data)  # [space] per_layer draws for each marked layer of a user's model: built once here
    if spec.space.balance and spec.marked is not None:
        study.sampler = make_sampler(spec)  # a balanced design's groups are named by those layers
    engine.prepare(spec)
    batch = spec.study.batch or engine.default_batch()

    def told(trial: FrozenTrial) -> None:
        observer.on_trial_end(record_of(trial), _best_value(study, spec))

    objective = Objective(spec, data, engine, observer, plan.target, checkpoint=stop.check, storage=storage, on_told=told)
    failures_in_a_row = 0
    try:
        while (done := finished(study)) < plan.target:
            stop.check()
            fail_stale_trials(study)  # as Study.optimize did before each trial
            if plan.exhausted(study):
                return StopReason.GRID_EXHAUSTED
            room = plan.room(study)
            if room < 1:
                time.sleep(POLL_S)
                continue
            ran = objective.run_batch(study, min(batch, room))
            stop.check()
            failures_in_a_row = failures_in_a_row + len(ran) if finished(study) == done else 0
            if failures_in_a_row >= plan.target and not plan.exhausted(study):
                return StopReason.ALL_FAILED
            if recycle() and finished(study) < plan.target:
                return StopReason.RECYCLE
    except KeyboardInterrupt:
        return StopReason.INTERRUPTED
    return StopReason.TARGET_REACHED


def worker_loop(
    spec: StudySpec,
    storage_url: str,
    engine: Engine | None,
    settings: Settings,
    observer: RunObserver,
    recycle: Callable[[], bool],
    stop: StopRequest,
) -> WorkerExit:
    """A worker process's loop (:data:`~actreg_search.search.workers.WorkerLoop`): open the study, run :func:`optimize`."""
    storage = open_storage(storage_url, create=False, grace_period_s=settings.grace_period_s)
    study = open_study(spec, storage)
    trainer = engine or get_engine(spec.model.engine, profile_path=settings.profile_path)
    reason = optimize(study, storage, spec, Plan.of(spec), observer, trainer, stop, recycle)
    return {StopReason.RECYCLE: WorkerExit.RECYCLE, StopReason.INTERRUPTED: WorkerExit.INTERRUPTED}.get(
        reason, WorkerExit.DONE
    )


def supervise(
    study: optuna.Study,
    spec: StudySpec,
    storage_url: str,
    settings: Settings,
    *,
    jobs: int,
    recycle_mb: int | None,
    engine: Engine | None,
    observer: RunObserver,
    ran: TrialsRan,
    stop: StopRequest,
) -> StopReason:
    """Run the study in ``jobs`` worker processes (:func:`worker_loop`).

    The display (``observer``) is told the workers' trial starts and epochs,
    and every trial of the study that ends, as the storage shows them; ``ran``
    hears only of the trials the workers ended.
    """
    plan = Plan.of(spec)
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}

    def poll() -> None:
        seen.update(_report_new(study, spec, seen, observer))

    run_workers(
        functools.partial(worker_loop, spec, storage_url, engine, settings),
        jobs,
        recycle_mb,
        stop,
        progress=observer,
        ends=ran,
        more=lambda: finished(study) < plan.target and not plan.exhausted(study),
        poll=poll,
    )
    poll()
    if stop.requested:
        return StopReason.INTERRUPTED
    if finished(study) >= plan.target:
        return StopReason.TARGET_REACHED
    return StopReason.GRID_EXHAUSTED if plan.exhausted(study) else StopReason.ALL_FAILED


def _report_new(study: optuna.Study, spec: StudySpec, seen: set[int], observer: RunObserver) -> set[int]:
    """Tell the observer about trials that ended since last time; returns their numbers."""
    new = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.state.is_finished() and trial.number not in seen:
            new[trial.number] = trial
    for number in sorted(new):
        observer.on_trial_end(record_of(new[number]), _best_value(study, spec))
    return set(new)


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail (and re-queue) trials whose worker stopped sending heartbeats; Optuna calls the API experimental."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _best_value(study: optuna.Study, spec: StudySpec) -> float | None:
    """The best first objective so far: the highest, or the lowest for a figure better lower (``log_loss``, by
    :func:`~actreg_search.spec.measures.maximized`); ties do not matter for the value."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = max if maximized(spec.selection_fields()[0]) else min
    return best((t.values[0] for t in complete), default=None)


__all__ = ["StopReason", "TrialsRan", "fail_stale_trials", "optimize", "supervise", "worker_loop"]
