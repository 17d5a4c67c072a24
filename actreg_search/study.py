"""Open, create or resume a study and run its trials until the target is met.

The target is the study's total number of finished (complete or pruned)
trials, across reruns and workers: a rerun continues, never restarts. A failed
trial (non-finite loss, an error, Ctrl-C) is recorded as FAIL with its reason
and never takes the study down.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from actreg_search import results
from actreg_search.config import (
    PrunerName,
    SamplerName,
    StudySpec,
    TrialConfig,
    parse_raw,
    spec_to_raw,
)
from actreg_search.data import Dataset, load_dataset
from actreg_search.engine import Engine, Monitor, NonFiniteLoss, get_engine
from actreg_search.errors import SpecError
from actreg_search.results import TrialRecord
from actreg_search.space import grid_size, suggest_config
from actreg_search.storage import open_storage, redact

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class StopReason(str, enum.Enum):
    """Why a run ended."""

    TARGET_REACHED = "target reached"
    GRID_EXHAUSTED = "grid exhausted"
    INTERRUPTED = "interrupted"
    ALL_FAILED = "every trial of a pass failed"


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the one-line summary."""

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


def make_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    """The Optuna sampler a study file asks for.

    ``grid`` is Optuna's :class:`~optuna.samplers.BruteForceSampler`: unlike
    ``GridSampler`` it enumerates a conditional space, so the unregularized
    model is tried once, not once per placement and coefficient.
    """
    seed = spec.study.seed
    name = spec.study.sampler
    if name is SamplerName.TPE:
        return optuna.samplers.TPESampler(seed=seed)
    if name is SamplerName.RANDOM:
        return optuna.samplers.RandomSampler(seed=seed)
    if name is SamplerName.CMAES:
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.BruteForceSampler(seed=seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """The Optuna pruner a study file asks for."""
    name = spec.study.pruner
    if name is PrunerName.MEDIAN:
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name is PrunerName.HYPERBAND:
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.model.epochs)
    return optuna.pruners.NopPruner()


class _TrialMonitor(Monitor):
    """Forwards an engine's progress to the observer and its values to Optuna."""

    def __init__(self, trial: optuna.Trial, observer: RunObserver) -> None:
        self.trial = trial
        self.observer = observer

    def on_epochs(self, done: int, total: int) -> None:
        self.observer.on_epochs(done, total)

    def report(self, epoch: int, mean_test_accuracy: float) -> None:
        self.trial.report(mean_test_accuracy, epoch)
        if self.trial.should_prune():
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

    def __call__(self, trial: optuna.Trial) -> float:
        config = suggest_config(trial, self.spec)
        seeds = self.spec.study.seeds
        trial.set_user_attr(results.CONFIG, config.to_dict())
        trial.set_user_attr(results.SEEDS, list(seeds))
        self.observer.on_trial_start(trial.number, config, config.epochs * len(seeds))
        try:
            result = self.engine.train(config, self.data, seeds, _TrialMonitor(trial, self.observer))
        except NonFiniteLoss as exc:
            trial.set_user_attr(results.FAIL_REASON, str(exc))
            trial.set_user_attr(results.FAIL_SEED, exc.seed)
            raise _TrialFailed(str(exc)) from None
        except KeyboardInterrupt:
            trial.set_user_attr(results.FAIL_REASON, "interrupted")
            trial.set_user_attr(results.INTERRUPTED, True)
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr(results.FAIL_REASON, f"{type(exc).__name__}: {exc}")
            raise
        for key, value in results.result_attrs(result).items():
            trial.set_user_attr(key, value)
        return result.mean("test_accuracy")


def run_study(spec: StudySpec, storage_url: str, observer: RunObserver | None = None) -> RunSummary:
    """Create or resume a study and run it to its target.

    Args:
        spec: The validated study (overrides applied).
        storage_url: Where the study lives.
        observer: Progress display.

    Returns:
        What the run did.

    Raises:
        StorageError: The storage cannot be opened.
        SpecError: The study exists with different settings.
    """
    observer = observer or RunObserver()
    storage = open_storage(storage_url, create=True)
    name = spec.study.name
    _check_resumable(storage, spec)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        load_if_exists=True,
    )
    if results.SPEC_ATTR not in study.user_attrs:
        study.set_user_attr(results.SPEC_ATTR, spec_to_raw(spec))
    _requeue_interrupted(study)

    grid = spec.study.sampler is SamplerName.GRID
    size = grid_size(spec) if grid else 0
    target = min(spec.study.n_trials, size) if grid else spec.study.n_trials
    objective = Objective(spec, load_dataset(spec.data), get_engine(spec.model.engine), observer)
    first_new = len(study.get_trials(deepcopy=False))

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        observer.on_trial_end(TrialRecord.from_frozen(trial), _best_value(study))
        if _finished(study) >= target:
            study.stop()

    observer.on_run_start(name, target, _finished(study))
    reason = StopReason.TARGET_REACHED
    try:
        while (remaining := target - _finished(study)) > 0:
            if grid and _grid_exhausted(study, size):
                reason = StopReason.GRID_EXHAUSTED
                break
            before = _finished(study)
            study.optimize(objective, n_trials=remaining, catch=(Exception,), callbacks=[after_trial])
            if _finished(study) == before and not (grid and _grid_exhausted(study, size)):
                reason = StopReason.ALL_FAILED
                break
    except KeyboardInterrupt:
        reason = StopReason.INTERRUPTED
    new = study.get_trials(deepcopy=False)[first_new:]
    best = _best_trial(study)
    return RunSummary(
        study_name=name,
        storage=redact(storage_url),
        target=target,
        finished=_finished(study),
        ran=len(new),
        failed=sum(t.state is TrialState.FAIL for t in new),
        best_value=best.value if best else None,
        best_trial=best.number if best else None,
        reason=reason,
    )


def _check_resumable(storage: optuna.storages.BaseStorage, spec: StudySpec) -> None:
    """Refuse to add trials to a study made with other settings (seeds, epochs, space...)."""
    name = spec.study.name
    if name not in optuna.get_all_study_names(storage):
        return
    stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(results.SPEC_ATTR)
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
        if trial.state is TrialState.FAIL and trial.user_attrs.get(results.INTERRUPTED) and trial.params:
            if not any(t.number > trial.number and t.params == trial.params for t in trials):
                study.enqueue_trial(trial.params)


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def _grid_exhausted(study: optuna.Study, size: int) -> bool:
    explored = {
        tuple(sorted(t.params.items()))
        for t in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.FAIL))
        if not t.user_attrs.get(results.INTERRUPTED)
    }
    return len(explored) >= size


def _best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: t.value, default=None)


def _best_value(study: optuna.Study) -> float | None:
    best = _best_trial(study)
    return best.value if best else None
