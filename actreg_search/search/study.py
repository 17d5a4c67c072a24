"""Run a study: create or resume it and run its trials until the target is met; say what the run did.

The target is the study's total number of finished (complete or pruned)
trials, across reruns and workers: a rerun continues, never restarts, and a
study already at its target returns at once (without loading data, an engine
or TensorFlow). A failed trial (non-finite loss, an error, Ctrl-C) is recorded
as FAIL with its reason and never takes the study down; a trial cut short by
Ctrl-C is queued again, with its parameters, on the next run.

The pieces: :mod:`~actreg_search.search.opening` creates or resumes the study,
:mod:`~actreg_search.search.plan` says how far it runs, and
:mod:`~actreg_search.search.loop` runs its trials, here or in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna

from actreg_search.console import note
from actreg_search.engine import Engine, get_engine
from actreg_search.errors import StorageError
from actreg_search.results.records import SplitCounts
from actreg_search.search.loop import StopReason, TrialsRan, optimize, supervise
from actreg_search.search.observer import GuardedObserver, Observers, RunObserver
from actreg_search.search.opening import check_resumable, open_study, requeue_interrupted, with_protocol
from actreg_search.search.plan import Plan, finished
from actreg_search.search.workers import StopRequest, cpu_shares
from actreg_search.settings import Settings
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.specs import StudySpec
from actreg_search.store.reader import summarize
from actreg_search.store.storage import open_reader, open_storage, redact

__all__ = ["RunObserver", "RunSummary", "StopReason", "cpu_shares", "run_study"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the one-line summary.

    Attributes:
        study_name: The study.
        storage: Its storage URL, password redacted.
        target: Finished trials the study runs to (for a grid, at most its size).
        finished: The study's finished trials (complete or pruned), all runs together.
        ran: Trials this run ended, in any state: those its own loop ran, in
            this process or its workers (:class:`~actreg_search.search.loop.TrialsRan`);
            not another process's on the same study, nor a trial of an
            earlier run failed now, its worker having died.
        failed: Of those, the ones that failed (not counting a surplus trial,
            failed at once because other workers had claimed the target).
        best_value: The best trial's value (:func:`~actreg_search.results.records.rank_key`: the lowest for ``log_loss``).
        best_trial: Its number.
        reason: Why the run ended.
        selects_on: The per-seed figure the best value is the mean of (the validation accuracy, or the
            test accuracy under ``validation = "test"``; ``validation_log_loss``... for another objective).
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
    selects_on: str = TEST_ACCURACY


def run_study(
    spec: StudySpec,
    storage_url: str,
    observer: RunObserver | None = None,
    jobs: int = 1,
    recycle_mb: int | None = None,
    engine: Engine | None = None,
    settings: Settings | None = None,
) -> RunSummary:
    """Create or resume a study and run it to its target.

    Args:
        spec: The validated study (overrides applied).
        storage_url: Where the study lives (resolved by the caller:
            :meth:`~actreg_search.settings.Settings.storage_url`).
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
        settings: The environment's settings, read by the caller
            (:meth:`~actreg_search.settings.Settings.from_environ`): the
            heartbeat grace period and the fused engine's profile; passed on
            to the workers. ``None``: the defaults.

    Returns:
        What the run did.

    Raises:
        StorageError: The storage cannot be opened.
        SpecError: The study exists with different settings, or its data is unusable.
    """
    settings = settings or Settings()
    spec = with_protocol(spec, storage_url)
    done = _already_done(spec, storage_url, settings)
    if done is not None:
        return done
    from actreg_search.data.datasets import dataset_for  # scikit-learn and pandas: only for a run that trains
    from actreg_search.search.modelcheck import check_model

    data = dataset_for(spec)  # bad data, or a protocol the data cannot serve, fails here, before storage is touched
    path = check_model(spec, data)  # so does a bad model of the user's (built once here); how it will train
    if path is not None:
        note(f"actreg-search: {path}")
    storage = open_storage(storage_url, create=True, grace_period_s=settings.grace_period_s)
    train, validation, folds = data.fold_sizes()
    study = open_study(spec, storage, SplitCounts(train=train, validation=validation, test=len(data.y_test), folds=folds))
    requeue_interrupted(study)
    plan = Plan.of(spec)
    in_process = jobs == 1 and recycle_mb is None
    if in_process and engine is None:
        engine = get_engine(spec.model.engine, profile_path=settings.profile_path)  # TensorFlow: before the display starts
    guarded = GuardedObserver(observer or RunObserver())
    guarded.on_run_start(spec.study.name, plan.target, finished(study))
    ran = TrialsRan()
    stop = StopRequest()
    with stop.installed():
        if in_process:
            assert engine is not None
            reason = optimize(study, storage, spec, plan, Observers(ran, guarded), engine, stop)
        else:
            reason = supervise(
                study, spec, storage_url, settings,
                jobs=jobs, recycle_mb=recycle_mb, engine=engine, observer=guarded, ran=ran, stop=stop,
            )
    best = summarize(storage, spec.study.name)
    return RunSummary(
        study_name=spec.study.name,
        storage=redact(storage_url),
        target=plan.target,
        finished=best.counts.finished,
        ran=ran.ran,
        failed=ran.failed,
        best_value=best.best_value,
        best_trial=best.best_trial,
        reason=reason,
        selects_on=spec.selection_fields()[0],
    )


def _already_done(spec: StudySpec, storage_url: str, settings: Settings) -> RunSummary | None:
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
    storage = open_storage(storage_url, create=False, grace_period_s=settings.grace_period_s)
    check_resumable(storage, spec)
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
