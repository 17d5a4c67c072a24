"""The one reader of stored studies: storage to :mod:`actreg_search.results.records`' read model.

Optuna's storage API returns whole trials: every attribute of every trial,
learning curves included, through its ORM. On a 3,000-trial study that took
7 s to list and 44 s to draw, most of it parsing curves nobody looked at. So
this module reads Optuna's tables through a few plain SQL queries
(:mod:`actreg_search.internals.optuna_private`, the fence around Optuna's
layout) instead, and reads only what is asked for:

* :func:`list_studies` / :func:`summarize`: state counts and the best trial's
  value, no attributes but the per-seed values of the figure each study
  ranks on (its first objective's: validation accuracy, a regression's
  validation RMSE, lowest first...) of complete trials;
* :func:`load_results`: values, parameters and the attributes of the read
  model but the curves, which are read only for the trials named
  (``curves=``), the dashboard's two.

:func:`record_of` builds the same record from an in-memory ``FrozenTrial``
(a running worker's trial), with the same rules; :func:`interrupted` and
:func:`stored_study_file` read the keys the search asks about.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any, Literal

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from actreg_search.errors import SpecError, StorageError
from actreg_search.internals import optuna_private as tables
from actreg_search.results.records import (
    Curves,
    SplitCounts,
    StateCounts,
    StudyResults,
    StudySummary,
    TrialRecord,
    rank_key,
)
from actreg_search.spec.measures import PER_SEED, TEST_ACCURACY, VALIDATION_ACCURACY, maximized
from actreg_search.spec.parser import parse_raw
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.store import keys

CurvesWanted = Literal["none", "drawn", "all"] | Collection[int]

#: The attributes a record keeps (besides the curves, read apart): what the read model uses. The
#: stored ``_mean``/``_std`` of each figure and the library versions are left in storage.
READ = (
    keys.CONFIG, keys.SEEDS, *PER_SEED, keys.LAYER_SPARSITY, keys.LAYER_ACTIVATION_MEAN, keys.WALL_TIME,
    keys.FAIL_REASON, keys.WORKER, keys.WORKER_RSS_MB,
)

_NO_HEARTBEAT = "its worker stopped sending heartbeats (it died or was killed)"


# --------------------------------------------------------------------------- records


def _fail_reason(state: TrialState, user: Mapping[str, Any], retried_as: int | None) -> str | None:
    reason = user.get(keys.FAIL_REASON)
    if reason is not None or state is not TrialState.FAIL:
        return reason
    return f"{_NO_HEARTBEAT}; retried as trial {retried_as}" if retried_as is not None else _NO_HEARTBEAT


def _curves(user: Mapping[str, Any]) -> Curves | None:
    if keys.CURVE_EPOCHS not in user:
        return None
    return Curves(
        epochs=tuple(user[keys.CURVE_EPOCHS]),
        train=tuple(tuple(c) for c in user.get(keys.TRAIN_CURVE, ())),
        test=tuple(tuple(c) for c in user.get(keys.TEST_CURVE, ())),
        validation=tuple(tuple(c) for c in user.get(keys.VALIDATION_CURVE, ())),
    )


def _record(
    number: int,
    state: TrialState,
    values: tuple[float, ...],
    params: dict[str, Any],
    distributions: Mapping[str, BaseDistribution],
    user: Mapping[str, Any],
    duration_s: float | None,
    retried_as: int | None = None,
    ranked_on: str | None = None,
) -> TrialRecord:
    raw_config = user.get(keys.CONFIG)
    complete = state is TrialState.COMPLETE
    return TrialRecord(
        number=number,
        state=state,
        params=params,
        config=TrialConfig.from_dict(raw_config) if raw_config else None,
        values=values if complete else (),
        seeds=tuple(user.get(keys.SEEDS, ())),
        per_seed={name: tuple(user[name]) for name in PER_SEED if name in user},
        per_layer={
            name: {layer: tuple(values) for layer, values in user[key].items()}
            for name, key in (("sparsity", keys.LAYER_SPARSITY), ("activation_mean", keys.LAYER_ACTIVATION_MEAN))
            if isinstance(user.get(key), dict)
        },
        wall_time_s=user.get(keys.WALL_TIME),
        duration_s=duration_s,
        fail_reason=_fail_reason(state, user, retried_as),
        distributions=distributions,
        curves=_curves(user),
        worker=user.get(keys.WORKER),
        worker_rss_mb=user.get(keys.WORKER_RSS_MB),
        ranked_on=ranked_on,
    )


def record_of(trial: FrozenTrial) -> TrialRecord:
    """The record of an Optuna ``FrozenTrial`` (curves included, as the trial has them)."""
    return _record(
        number=trial.number,
        state=trial.state,
        values=tuple(trial.values or ()),
        params=dict(trial.params),
        distributions=dict(trial.distributions),
        user=trial.user_attrs,
        duration_s=trial.duration.total_seconds() if trial.duration else None,
    )


def interrupted(trial: FrozenTrial) -> bool:
    """Whether the trial failed because a stop was requested (Ctrl-C): the next run queues it again."""
    return bool(trial.user_attrs.get(keys.INTERRUPTED))


# --------------------------------------------------------------------------- studies


Source = optuna.storages.BaseStorage | sqlalchemy.engine.Engine
"""What the readers read: an Optuna RDB storage, or the engine of :func:`actreg_search.store.storage.open_reader`."""


def _engine(storage: Source) -> sqlalchemy.engine.Engine:
    if isinstance(storage, sqlalchemy.engine.Engine):
        return storage
    if not isinstance(storage, optuna.storages.RDBStorage):
        raise StorageError(f"reading results needs an RDB storage, not {type(storage).__name__}")
    return storage.engine


def _study_id(conn: sqlalchemy.Connection, name: str) -> int:
    found = tables.find_study(conn, name)
    if found is not None:
        return found
    names = [n for _, n in tables.studies(conn)]
    raise StorageError(f"no study named {name!r} in this storage; studies there: {', '.join(names) or 'none'}")


def _spec(raw: Any) -> StudySpec | None:
    if raw is None:
        return None
    try:
        return parse_raw(raw)
    except SpecError:  # made by a version of actreg-search whose study files this one cannot read
        return None


def _split(conn: sqlalchemy.Connection, study_id: int) -> SplitCounts | None:
    raw = tables.study_attr(conn, study_id, keys.SPLIT)
    return SplitCounts(**raw) if isinstance(raw, dict) else None


def stored_study_file(storage: Source, name: str) -> dict[str, Any] | None:
    """The study file a stored study was made with, as stored (:func:`~actreg_search.spec.specs.spec_to_raw`'s dict);
    ``None`` when there is no such study, or it was not made by actreg-search."""
    with _engine(storage).connect() as conn:
        found = tables.find_study(conn, name)
        return tables.study_attr(conn, found, keys.SPEC) if found is not None else None


def stored_spec(storage: Source, name: str) -> StudySpec | None:
    """The spec a stored study was made with; ``None`` when there is no such study (or it was not made by
    actreg-search, or by a version whose study files this one cannot read)."""
    return _spec(stored_study_file(storage, name))


# --------------------------------------------------------------------------- readers


def load_results(storage: Source, name: str, *, curves: CurvesWanted = "none") -> StudyResults:
    """Read a stored study.

    Args:
        storage: The storage (an Optuna RDB storage, or :func:`~actreg_search.store.storage.open_reader`'s engine).
        name: The study.
        curves: Whose learning curves to read: ``"none"``, ``"drawn"`` (the
            best trial and the best unregularized one, which the dashboard
            draws), ``"all"``, or trial numbers.

    Raises:
        StorageError: There is no study of that name.
    """
    with _engine(storage).connect() as conn:
        study_id = _study_id(conn, name)
        spec = _spec(tables.study_attr(conn, study_id, keys.SPEC))
        n_objectives = tables.objective_count(conn, study_id)
        objectives = _objectives(spec, n_objectives)
        trials = tables.trial_rows(conn, study_id)
        values = tables.objective_values(conn, study_id)
        params = tables.parameters(conn, study_id)
        user = tables.user_attrs(conn, study_id, READ)
        retried_as = tables.retries(conn, study_id)
        records = []
        for trial_id, number, state, start, end in trials:
            objective = values.get(trial_id, {})
            chosen = params.get(trial_id, {})
            records.append(
                _record(
                    number=number,
                    state=state,
                    values=tuple(objective[i] for i in range(n_objectives) if i in objective),
                    params={param: value for param, (value, _) in chosen.items()},
                    distributions={param: distribution for param, (_, distribution) in chosen.items()},
                    user=user.get(trial_id, {}),
                    duration_s=(end - start).total_seconds() if start and end else None,
                    retried_as=retried_as.get(number),
                    ranked_on=objectives[0] if spec is not None else None,
                )
            )
        results = StudyResults(name=name, trials=tuple(records), spec=spec, objectives=objectives, split=_split(conn, study_id))
        wanted = _curve_numbers(results, curves)
        if not wanted:
            return results
        ids = {trial_id: number for trial_id, number, *_ in trials if number in wanted}
        stored = tables.user_attrs(conn, study_id, keys.CURVES, trials=list(ids))
    by_number = {ids[trial_id]: _curves(found) for trial_id, found in stored.items()}
    return dataclasses.replace(results, trials=tuple(_with_curves(t, by_number.get(t.number)) for t in records))


def _with_curves(trial: TrialRecord, curves: Curves | None) -> TrialRecord:
    return trial if curves is None else dataclasses.replace(trial, curves=curves)


def _curve_numbers(results: StudyResults, curves: CurvesWanted) -> set[int]:
    if curves == "none":
        return set()
    if curves == "all":
        return {t.number for t in results.trials}
    if curves == "drawn":
        return {t.number for t in (results.best, results.best_unregularized) if t is not None}
    return set(curves)


def _objectives(spec: StudySpec | None, n_objectives: int) -> tuple[str, ...]:
    if spec is not None:
        return spec.selection_fields()
    return (TEST_ACCURACY, *(f"objective {i}" for i in range(1, n_objectives)))


def summarize(storage: Source, name: str) -> StudySummary:
    """A study's trial counts and best trial (by :func:`~actreg_search.results.records.rank_key`), without loading trials.

    Raises:
        StorageError: There is no study of that name.
    """
    with _engine(storage).connect() as conn:
        return _summary(conn, _study_id(conn, name), name)


def _summary(conn: sqlalchemy.Connection, study_id: int, name: str) -> StudySummary:
    states = tables.state_counts(conn, study_id)
    counts = StateCounts(
        complete=states.get(TrialState.COMPLETE, 0),
        pruned=states.get(TrialState.PRUNED, 0),
        failed=states.get(TrialState.FAIL, 0),
        running=states.get(TrialState.RUNNING, 0),
        waiting=states.get(TrialState.WAITING, 0),
    )
    # the tie rule's per-seed figure: the first objective's, in its direction (a regression's RMSE: the lowest); for a
    # study not made by actreg-search (or stored before the figure was named), the validation accuracy where measured,
    # else the test accuracy
    spec = _spec(tables.study_attr(conn, study_id, keys.SPEC))
    figure = spec.selection_fields()[0] if spec is not None else None
    best = tables.completed_firsts(conn, study_id, figure or VALIDATION_ACCURACY, figure or TEST_ACCURACY)
    up = maximized(figure or TEST_ACCURACY)
    top = min(((rank_key(number, value, per_seed or (), up), value) for number, value, per_seed in best), default=None)
    return StudySummary(
        name=name,
        counts=counts,
        best_value=top[1] if top else None,
        best_trial=top[0][2] if top else None,
    )


def list_studies(storage: Source) -> list[StudySummary]:
    """Every study in a storage, by name, with its trial counts and best trial."""
    with _engine(storage).connect() as conn:
        return [_summary(conn, study_id, name) for study_id, name in tables.studies(conn)]


def trial_states(storage: Source, name: str) -> list[tuple[int, TrialState, dt.datetime | None]]:
    """Each trial's number, state and end time, by number: what a poll of a running study needs.

    Raises:
        StorageError: There is no study of that name.
    """
    with _engine(storage).connect() as conn:
        return tables.trial_ends(conn, _study_id(conn, name))
