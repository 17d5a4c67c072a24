"""Opening a study: create it, or resume it with the same settings and its interrupted trials queued again.

A rerun continues a stored study, never restarts it; it may change the run
settings (``n_trials``, ``batch``...), not what a trial means (seeds, epochs,
the space...), and a study file that does not say its validation protocol
resumes with the stored one.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from actreg_search.errors import SpecError, StorageError
from actreg_search.results.records import SplitCounts
from actreg_search.search.pruners import make_pruner
from actreg_search.search.sampling import make_sampler
from actreg_search.spec.measures import optuna_direction
from actreg_search.spec.parser import parse_raw
from actreg_search.spec.differences import spec_differences
from actreg_search.spec.specs import RUN_SETTINGS, StudySpec
from actreg_search.store.reader import interrupted, stored_spec, stored_study_file
from actreg_search.store.recorder import record_study
from actreg_search.store.storage import open_reader


def with_protocol(spec: StudySpec, storage_url: str) -> StudySpec:
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


def check_resumable(storage: optuna.storages.BaseStorage, spec: StudySpec) -> None:
    """Refuse to add trials to a study made with other settings (seeds, epochs, space...); run settings may differ.

    Raises:
        SpecError: The study exists with other settings, or was not made by actreg-search.
    """
    name = spec.study.name
    if name not in optuna.get_all_study_names(storage):
        return
    stored = stored_study_file(storage, name)
    ways_out = f"run it under another name with --name NEW, or delete the stored study with `actreg-search delete {name}`"
    if stored is None:
        raise SpecError(f"study {name!r} exists but was not created by actreg-search; {ways_out}")
    differences = [
        f"{d.describe()}: stored {d.theirs!r}, now {d.ours!r}"
        for d in spec_differences(spec, parse_raw(stored), ignore=RUN_SETTINGS)
    ]
    if differences:
        raise SpecError(
            f"study {name!r} already exists with other settings ({'; '.join(differences)}); "
            f"rerun with the same settings, {ways_out}"
        )


def open_study(spec: StudySpec, storage: optuna.storages.BaseStorage, split: SplitCounts | None = None) -> optuna.Study:
    """Create or load the study, with the study file's sampler (seeded per trial) and pruner, each objective
    maximized or minimized as the registry of figures says (:func:`~actreg_search.spec.measures.optuna_direction`).

    A new study stores its spec and (given by the run, not a worker) its
    samples per split (:func:`~actreg_search.store.recorder.record_study`).

    Raises:
        SpecError: The study exists with other settings (:func:`check_resumable`).
    """
    check_resumable(storage, spec)
    study = optuna.create_study(
        study_name=spec.study.name,
        storage=storage,
        directions=[optuna_direction(field) for field in spec.selection_fields()],  # log_loss minimized
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        load_if_exists=True,
    )
    record_study(study, spec, split)
    return study


def requeue_interrupted(study: optuna.Study) -> None:
    """Queue once more, with the same parameters, each trial a Ctrl-C cut short (unless a later trial has them)."""
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if trial.state is TrialState.FAIL and interrupted(trial) and trial.params:
            if not any(t.number > trial.number and t.params == trial.params for t in trials):
                study.enqueue_trial(trial.params)


__all__ = ["check_resumable", "open_study", "requeue_interrupted", "with_protocol"]
