"""Open, create or resume a study and run its trials until the target is met.

The target is the study's total number of finished (complete or pruned)
trials, across reruns and workers: a rerun continues, never restarts, and a
study already at its target returns at once (without loading data, an engine
or TensorFlow). A failed trial (non-finite loss, an error, Ctrl-C) is recorded
as FAIL with its reason and never takes the study down; a trial cut short by
Ctrl-C is queued again, with its parameters, on the next run.

The pieces: :class:`~actreg_search.search.batches.Objective` runs a batch of
trials with Optuna's ask and tell, trained together by the engine;
:func:`_optimize` is the loop of one process, a batch at a time; with several
workers (or memory recycling) :func:`~actreg_search.search.workers.run_workers` runs
that loop in worker processes while this process follows the storage.
"""

from __future__ import annotations

import enum
import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search.store import keys as attrs
from actreg_search.engine import Engine, get_engine
from actreg_search.errors import SpecError, StorageError
from actreg_search.search.batches import FINISHED, SURPLUS, GuardedObserver, Objective, RunObserver
from actreg_search.spec.parser import parse_raw
from actreg_search.search.pruners import make_pruner
from actreg_search.store.reader import record_of, stored_spec, summarize
from actreg_search.search.sampling import make_sampler
from actreg_search.search.space import grid_size
from actreg_search.spec.specs import RUN_SETTINGS, StudySpec, spec_to_raw
from actreg_search.store.storage import open_reader, open_storage, redact
from actreg_search.console import note
from actreg_search.spec.vocab import SamplerName
from actreg_search.search.workers import POLL_S, STOP, WorkerExit, cpu_shares, run_workers

__all__ = ["RunObserver", "RunSummary", "StopReason", "cpu_shares", "run_study"]


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
        study_name: The study.
        storage: Its storage URL, password redacted.
        target: Finished trials the study runs to (for a grid, at most its size).
        finished: The study's finished trials (complete or pruned), all runs together.
        ran: Trials created during this run that ended, in any state (a trial
            of an earlier run failed now, its worker having died, is not one).
        failed: Of those, the ones that failed (not counting a surplus trial,
            failed at once because other workers had claimed the target).
        best_value: The best trial's value (:func:`~actreg_search.results.records.rank_key`).
        best_trial: Its number.
        reason: Why the run ended.
        selects_on: The per-seed figure the best value is the mean of (``validation_accuracy``, or
            ``test_accuracy`` under ``validation = "test"``).
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
    selects_on: str = "test_accuracy"


@dataclass(frozen=True)
class Plan:
    """How far a run goes: the target, and for grids the number of distinct configs."""

    target: int
    grid_size: int | None

    @classmethod
    def of(cls, spec: StudySpec) -> Plan:
        """The plan of a study file."""
        if spec.study.sampler is SamplerName.GRID:
            size = grid_size(spec)
            return cls(target=min(spec.study.n_trials, size), grid_size=size)
        return cls(target=spec.study.n_trials, grid_size=None)

    def exhausted(self, study: optuna.Study) -> bool:
        """Whether every config of the grid was tried (finished or failed, not interrupted)."""
        return self.grid_size is not None and _grid_exhausted(study, self.grid_size)

    def room(self, study: optuna.Study) -> int:
        """How many trials may start now: the target less the finished and running ones.

        For a grid, also no more than the configs neither tried nor running,
        so that a batch never draws a config twice.
        """
        trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING, TrialState.FAIL))
        room = self.target - sum(t.state is not TrialState.FAIL for t in trials)
        if self.grid_size is not None:
            taken = {
                tuple(sorted(t.params.items()))
                for t in trials
                if (t.state in FINISHED)
                or (t.state is TrialState.RUNNING and t.params)
                or (t.state is TrialState.FAIL and not t.user_attrs.get(attrs.INTERRUPTED))
            }
            room = min(room, self.grid_size - len(taken))
        return room


def run_study(
    spec: StudySpec,
    storage_url: str,
    observer: RunObserver | None = None,
    jobs: int = 1,
    recycle_mb: int | None = None,
    engine: Engine | None = None,
) -> RunSummary:
    """Create or resume a study and run it to its target.

    Args:
        spec: The validated study (overrides applied).
        storage_url: Where the study lives.
        observer: Progress display. It is guarded: once it fails with an
            ``OSError`` (a broken pipe, a closed terminal), the run goes on
            without it.
        jobs: Worker processes. Each worker is its own process (TensorFlow
            state and seeds are per process), pinned to its own share of the
            CPUs (:func:`~actreg_search.search.workers.cpu_shares`), running trials on
            the shared storage, while this process follows the storage and
            relays their progress. With ``jobs=1`` and no ``recycle_mb``
            trials run here, in this process.
        recycle_mb: Replace a worker once its resident memory has grown this
            much since its first trial (``None``: never).
        engine: What trains (it must pickle to go to workers); ``None``: the
            study file's engine, built where the trials run.

    Returns:
        What the run did.

    Raises:
        StorageError: The storage cannot be opened.
        SpecError: The study exists with different settings, or its data is unusable.
    """
    spec = _with_protocol(spec, storage_url)
    done = _already_done(spec, storage_url)
    if done is not None:
        return done
    from actreg_search.data.datasets import dataset_for  # scikit-learn and pandas: only for a run that trains

    from actreg_search.search.modelcheck import check_model
    from actreg_search.data.splits import fold_sizes

    data = dataset_for(spec)  # bad data, or a protocol the data cannot serve, fails here, before storage is touched
    fallback = check_model(spec, data)  # so does a bad model of the user's (built once here)
    if fallback is not None:
        note(f"actreg-search: {fallback}")
    storage = open_storage(storage_url, create=True)
    train, validation, folds = fold_sizes(data.y_train, data.validation)
    study = _open_study(spec, storage, {"train": train, "validation": validation, "test": len(data.y_test), "folds": folds})
    # Trials this run did not run: those already finished or running (a dead worker's, failed now); a queued one runs now.
    before = {t.number for t in study.get_trials(deepcopy=False) if t.state is not TrialState.WAITING}
    _requeue_interrupted(study)
    plan = Plan.of(spec)
    in_process = jobs == 1 and recycle_mb is None
    if in_process and engine is None:
        engine = get_engine(spec.model.engine)  # imports TensorFlow: before the display starts
    guarded = GuardedObserver(observer or RunObserver())
    guarded.on_run_start(spec.study.name, plan.target, _finished(study))
    STOP.requested = False
    with STOP.installed():
        if in_process:
            assert engine is not None
            reason = _optimize(study, storage, spec, plan, guarded, engine)
        else:
            reason = _supervise(study, spec, plan, storage_url, jobs, guarded, recycle_mb, engine)
    new = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.number not in before]
    best = summarize(storage, spec.study.name)
    return RunSummary(
        study_name=spec.study.name,
        storage=redact(storage_url),
        target=plan.target,
        finished=best.counts.finished,
        ran=len(new),
        failed=sum(t.state is TrialState.FAIL and t.user_attrs.get(attrs.FAIL_REASON) != SURPLUS for t in new),
        best_value=best.best_value,
        best_trial=best.best_trial,
        reason=reason,
        selects_on=spec.selection_fields()[0],
    )


def _already_done(spec: StudySpec, storage_url: str) -> RunSummary | None:
    """The summary of a stored study that needs no more trials; ``None`` if it needs some (or is new).

    Reads counts and the best trial with one query each and never creates a
    database: a finished study's rerun costs no data, no engine, no TensorFlow.

    Raises:
        SpecError: The study exists with other settings.
    """
    try:
        reader = open_reader(storage_url)
    except StorageError:  # no database yet; a real problem is reported when the run opens it
        return None
    try:
        summary = summarize(reader, spec.study.name)
    except StorageError:  # no such study yet
        return None
    finally:
        reader.dispose()
    storage = open_storage(storage_url, create=False)
    _check_resumable(storage, spec)
    plan = Plan.of(spec)
    if summary.counts.finished >= plan.target:
        reason = StopReason.TARGET_REACHED
    elif plan.grid_size is not None and plan.exhausted(optuna.load_study(study_name=spec.study.name, storage=storage)):
        reason = StopReason.GRID_EXHAUSTED
    else:
        return None
    return RunSummary(
        study_name=spec.study.name,
        storage=redact(storage_url),
        target=plan.target,
        finished=summary.counts.finished,
        ran=0,
        failed=0,
        best_value=summary.best_value,
        best_trial=summary.best_trial,
        reason=reason,
        selects_on=spec.selection_fields()[0],
    )


def _with_protocol(spec: StudySpec, storage_url: str) -> StudySpec:
    """The spec with its validation protocol said: the file's; else, resuming, the stored study's
    (a missing key is no change of settings); else the default (:data:`~actreg_search.spec.specs.DEFAULT_VALIDATION`)."""
    if spec.data.validation is not None:
        return spec
    try:
        reader = open_reader(storage_url)
    except StorageError:  # no database yet: a new study
        return spec.resolved(None)
    try:
        stored = stored_spec(reader, spec.study.name)
    finally:
        reader.dispose()
    return spec.resolved(stored.validation if stored is not None else None)


def _open_study(spec: StudySpec, storage: optuna.storages.BaseStorage, split: dict[str, int] | None = None) -> optuna.Study:
    """Create or load the study, with the study file's sampler (seeded per trial) and pruner;
    a new study stores its spec and (given by the run, not a worker) its samples per split."""
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
    if split is not None and attrs.SPLIT not in study.user_attrs:
        study.set_user_attr(attrs.SPLIT, split)
    return study


def _optimize(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    spec: StudySpec,
    plan: Plan,
    observer: RunObserver,
    engine: Engine,
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
    exactly ``target`` finished trials. After each batch, ``recycle()`` says
    whether this worker should hand over to a fresh one.
    """
    from actreg_search.data.datasets import dataset_for

    data = dataset_for(spec)
    batch = spec.study.batch or engine.default_batch()

    def told(trial: FrozenTrial) -> None:
        observer.on_trial_end(record_of(trial), _best_value(study))

    objective = Objective(
        spec, data, engine, observer, plan.target, checkpoint=STOP.check, storage=storage, on_told=told
    )
    failures_in_a_row = 0
    try:
        while (finished := _finished(study)) < plan.target:
            STOP.check()
            _fail_stale_trials(study)  # as Study.optimize did before each trial
            if plan.exhausted(study):
                return StopReason.GRID_EXHAUSTED
            room = plan.room(study)
            if room < 1:
                time.sleep(POLL_S)
                continue
            ran = objective.run_batch(study, min(batch, room))
            STOP.check()
            failures_in_a_row = failures_in_a_row + len(ran) if _finished(study) == finished else 0
            if failures_in_a_row >= plan.target and not plan.exhausted(study):
                return StopReason.ALL_FAILED
            if recycle() and _finished(study) < plan.target:
                return StopReason.RECYCLE
    except KeyboardInterrupt:
        return StopReason.INTERRUPTED
    return StopReason.TARGET_REACHED


def _worker_loop(
    spec: StudySpec,
    storage_url: str,
    engine: Engine | None,
    observer: RunObserver,
    recycle: Callable[[], bool],
) -> WorkerExit:
    """A worker process's loop (:data:`~actreg_search.search.workers.WorkerLoop`): open the study, run :func:`_optimize`."""
    storage = open_storage(storage_url, create=False)
    study = _open_study(spec, storage)
    reason = _optimize(study, storage, spec, Plan.of(spec), observer, engine or get_engine(spec.model.engine), recycle)
    return {StopReason.RECYCLE: WorkerExit.RECYCLE, StopReason.INTERRUPTED: WorkerExit.INTERRUPTED}.get(
        reason, WorkerExit.DONE
    )


def _supervise(
    study: optuna.Study,
    spec: StudySpec,
    plan: Plan,
    storage_url: str,
    jobs: int,
    observer: RunObserver,
    recycle_mb: int | None,
    engine: Engine | None,
) -> StopReason:
    """Run the study in ``jobs`` worker processes; report trials as the storage shows them end."""
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}

    def poll() -> None:
        seen.update(_report_new(study, seen, observer))

    run_workers(
        functools.partial(_worker_loop, spec, storage_url, engine),
        jobs,
        recycle_mb,
        observer,
        more=lambda: _finished(study) < plan.target and not plan.exhausted(study),
        poll=poll,
    )
    poll()
    if STOP.requested:
        return StopReason.INTERRUPTED
    if _finished(study) >= plan.target:
        return StopReason.TARGET_REACHED
    return StopReason.GRID_EXHAUSTED if plan.exhausted(study) else StopReason.ALL_FAILED


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
    """Refuse to add trials to a study made with other settings (seeds, epochs, space...); run settings may differ."""
    name = spec.study.name
    if name not in optuna.get_all_study_names(storage):
        return
    stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(attrs.SPEC)
    ways_out = f"run it under another name with --name NEW, or delete the stored study with `actreg-search delete {name}`"
    if stored is None:
        raise SpecError(f"study {name!r} exists but was not created by actreg-search; {ways_out}")
    ours = spec_to_raw(spec)
    theirs = spec_to_raw(parse_raw(stored))
    differences = [
        f"[{table}] {key}: stored {theirs[table].get(key)!r}, now {ours[table].get(key)!r}"
        for table in ours
        for key in sorted(set(ours[table]) | set(theirs[table]))
        if not (table == "study" and key in RUN_SETTINGS) and ours[table].get(key) != theirs[table].get(key)
    ]
    if differences:
        raise SpecError(
            f"study {name!r} already exists with other settings ({'; '.join(differences)}); "
            f"rerun with the same settings, {ways_out}"
        )


def _requeue_interrupted(study: optuna.Study) -> None:
    """Queue once more, with the same parameters, each trial a Ctrl-C cut short."""
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if trial.state is TrialState.FAIL and trial.user_attrs.get(attrs.INTERRUPTED) and trial.params:
            if not any(t.number > trial.number and t.params == trial.params for t in trials):
                study.enqueue_trial(trial.params)


def _fail_stale_trials(study: optuna.Study) -> None:
    """Fail (and re-queue) trials whose worker stopped sending heartbeats; Optuna calls the API experimental."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


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
