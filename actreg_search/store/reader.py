"""The one reader of stored studies: storage to :mod:`actreg_search.results.records`' read model.

Optuna's storage API returns whole trials: every attribute of every trial,
learning curves included, through its ORM. On a 3,000-trial study that took
7 s to list and 44 s to draw, most of it parsing curves nobody looked at. So
this module reads Optuna's tables (its stable, migrated schema) with a few
plain SQL queries instead, and reads only what is asked for:

* :func:`list_studies` / :func:`summarize`: state counts and the best trial's
  value, no attributes but the per-seed test accuracies of complete trials;
* :func:`load_results`: values, parameters and every attribute but the
  curves, which are read only for the trials named (``curves=``), the
  dashboard's two.

:func:`record_of` builds the same record from an in-memory ``FrozenTrial``
(a running worker's trial), with the same rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any, Literal

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import FrozenTrial, TrialState

from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.errors import SpecError, StorageError
from actreg_search.spec.measures import PER_SEED
from actreg_search.spec.parser import parse_raw
from actreg_search.results.records import Curves, SplitCounts, StateCounts, StudyResults, StudySummary, TrialRecord, rank_key
from actreg_search.spec.specs import StudySpec

CurvesWanted = Literal["none", "drawn", "all"] | Collection[int]

#: The attributes a record keeps (besides the curves, read apart): what the read model uses. The
#: stored ``_mean``/``_std`` of each figure and the library versions are left in storage.
READ = (
    attrs.CONFIG, attrs.SEEDS, *PER_SEED, attrs.LAYER_SPARSITY, attrs.LAYER_ACTIVATION_MEAN, attrs.WALL_TIME,
    attrs.FAIL_REASON, attrs.FAIL_SEED, attrs.INTERRUPTED, attrs.WORKER, attrs.WORKER_RSS_MB,
)

_NO_HEARTBEAT = "its worker stopped sending heartbeats (it died or was killed)"


# --------------------------------------------------------------------------- records


def _fail_reason(state: TrialState, user: Mapping[str, Any], system: Mapping[str, Any], retried_as: int | None) -> str | None:
    reason = user.get(attrs.FAIL_REASON)
    if reason is not None or state is not TrialState.FAIL:
        return reason
    if system.get(attrs.OPTUNA_FAIL_REASON):
        return str(system[attrs.OPTUNA_FAIL_REASON])
    return f"{_NO_HEARTBEAT}; retried as trial {retried_as}" if retried_as is not None else _NO_HEARTBEAT


def _curves(user: Mapping[str, Any]) -> Curves | None:
    if attrs.CURVE_EPOCHS not in user:
        return None
    return Curves(
        epochs=tuple(user[attrs.CURVE_EPOCHS]),
        train=tuple(tuple(c) for c in user.get(attrs.TRAIN_CURVE, ())),
        test=tuple(tuple(c) for c in user.get(attrs.TEST_CURVE, ())),
        validation=tuple(tuple(c) for c in user.get(attrs.VALIDATION_CURVE, ())),
    )


def _record(
    number: int,
    state: TrialState,
    values: tuple[float, ...],
    params: dict[str, Any],
    distributions: Mapping[str, BaseDistribution],
    user: Mapping[str, Any],
    system: Mapping[str, Any],
    duration_s: float | None,
    retried_as: int | None = None,
) -> TrialRecord:
    raw_config = user.get(attrs.CONFIG)
    complete = state is TrialState.COMPLETE
    return TrialRecord(
        number=number,
        state=state,
        params=params,
        config=TrialConfig.from_dict(raw_config) if raw_config else None,
        values=values if complete else (),
        seeds=tuple(user.get(attrs.SEEDS, ())),
        per_seed={name: tuple(user[name]) for name in PER_SEED if name in user},
        per_layer={
            name: {layer: tuple(values) for layer, values in user[key].items()}
            for name, key in (("sparsity", attrs.LAYER_SPARSITY), ("activation_mean", attrs.LAYER_ACTIVATION_MEAN))
            if isinstance(user.get(key), dict)
        },
        wall_time_s=user.get(attrs.WALL_TIME),
        duration_s=duration_s,
        fail_reason=_fail_reason(state, user, system, retried_as),
        user_attrs={k: user[k] for k in READ if k in user},
        distributions=distributions,
        curves=_curves(user),
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
        system=trial.system_attrs,
        duration_s=trial.duration.total_seconds() if trial.duration else None,
    )


# --------------------------------------------------------------------------- SQL


Source = optuna.storages.BaseStorage | sqlalchemy.engine.Engine
"""What the readers read: an Optuna RDB storage, or the engine of :func:`actreg_search.store.storage.open_reader`."""


def _engine(storage: Source) -> sqlalchemy.engine.Engine:
    if isinstance(storage, sqlalchemy.engine.Engine):
        return storage
    if not isinstance(storage, optuna.storages.RDBStorage):
        raise StorageError(f"reading results needs an RDB storage, not {type(storage).__name__}")
    return storage.engine


def _study_id(conn: sqlalchemy.Connection, name: str) -> int:
    found = _rows(conn, "SELECT study_id FROM studies WHERE study_name = :name", name=name)
    if found:
        return found[0][0]
    names = [n for (n,) in _rows(conn, "SELECT study_name FROM studies ORDER BY study_name")]
    raise StorageError(f"no study named {name!r} in this storage; studies there: {', '.join(names) or 'none'}")


def _rows(conn: sqlalchemy.Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as the database driver's plain tuples.

    SQLAlchemy binds the parameters (lists expand into ``IN (...)``); the rows
    are fetched from the driver's cursor directly, skipping SQLAlchemy's row
    objects, which cost as much as the query on a 10,000-trial study. Values are
    the driver's (SQLite gives dates as text: see :func:`_when`).
    """
    statement = sqlalchemy.text(sql)
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            statement = statement.bindparams(sqlalchemy.bindparam(key, expanding=True))
    result = conn.execute(statement, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _value(value: float | None, value_type: str) -> float:
    if value_type == "INF_POS":
        return math.inf
    if value_type == "INF_NEG":
        return -math.inf
    return float(value) if value is not None else math.nan


def _when(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


@functools.lru_cache(maxsize=1024)
def _distribution(text: str) -> BaseDistribution:
    return json_to_distribution(text)


def _objective_values(conn: sqlalchemy.Connection, study_id: int) -> dict[int, dict[int, float]]:
    values: dict[int, dict[int, float]] = defaultdict(dict)
    for trial_id, objective, value, value_type in _rows(
        conn,
        "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v "
        "JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = :study",
        study=study_id,
    ):
        values[trial_id][objective] = _value(value, value_type)
    return values


def _decoded(rows: list[tuple[Any, ...]]) -> dict[int, dict[str, Any]]:
    """``(trial_id, key, value_json)`` rows by trial and key, decoded.

    Every value is decoded in one ``json.loads`` of their JSON array: one C-level
    parse instead of a Python call per attribute (half the reading time of a
    10,000-trial study went to the calls).
    """
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    values = json.loads("[" + ",".join(row[2] for row in rows) + "]")
    for (trial_id, key, _), value in zip(rows, values, strict=True):
        found[trial_id][key] = value
    return found


def _attrs(conn: sqlalchemy.Connection, study_id: int, table: str, where: str, **params: Any) -> dict[int, dict[str, Any]]:
    return _decoded(
        _rows(
            conn,
            f"SELECT a.trial_id, a.key, a.value_json FROM {table} a JOIN trials t ON t.trial_id = a.trial_id "
            f"WHERE t.study_id = :study AND {where}",
            study=study_id,
            **params,
        )
    )


def _study_attr(conn: sqlalchemy.Connection, study_id: int, key: str) -> Any:
    found = _rows(
        conn, "SELECT value_json FROM study_user_attributes WHERE study_id = :study AND key = :key",
        study=study_id, key=key,
    )
    return json.loads(found[0][0]) if found else None


def _spec(conn: sqlalchemy.Connection, study_id: int) -> StudySpec | None:
    raw = _study_attr(conn, study_id, attrs.SPEC)
    if raw is None:
        return None
    try:
        return parse_raw(raw)
    except SpecError:  # made by a version of actreg-search whose study files this one cannot read
        return None


def _split(conn: sqlalchemy.Connection, study_id: int) -> SplitCounts | None:
    raw = _study_attr(conn, study_id, attrs.SPLIT)
    return SplitCounts(**raw) if isinstance(raw, dict) else None


def stored_spec(storage: Source, name: str) -> StudySpec | None:
    """The spec a stored study was made with; ``None`` when there is no such study (or it was not made by actreg-search)."""
    with _engine(storage).connect() as conn:
        found = _rows(conn, "SELECT study_id FROM studies WHERE study_name = :name", name=name)
        return _spec(conn, found[0][0]) if found else None


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
        spec = _spec(conn, study_id)
        (n_objectives,) = _rows(conn, "SELECT COUNT(*) FROM study_directions WHERE study_id = :study", study=study_id)[0]
        trials = _rows(
            conn,
            "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
            "WHERE study_id = :study ORDER BY number",
            study=study_id,
        )
        values = _objective_values(conn, study_id)
        params: dict[int, dict[str, Any]] = defaultdict(dict)
        distributions: dict[int, dict[str, BaseDistribution]] = defaultdict(dict)
        for trial_id, param, internal, distribution_json in _rows(
            conn,
            "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p "
            "JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = :study",
            study=study_id,
        ):
            distribution = _distribution(distribution_json)
            params[trial_id][param] = distribution.to_external_repr(internal)
            distributions[trial_id][param] = distribution
        user = _attrs(conn, study_id, "trial_user_attributes", "a.key IN :keys", keys=list(READ))
        system = _attrs(
            conn, study_id, "trial_system_attributes", "a.key IN :keys",
            keys=[attrs.OPTUNA_FAIL_REASON, attrs.OPTUNA_RETRY_OF],
        )
        retried_as = {s[attrs.OPTUNA_RETRY_OF]: trial_id for trial_id, s in system.items() if attrs.OPTUNA_RETRY_OF in s}
        number_of = {trial_id: number for trial_id, number, *_ in trials}
        records = []
        for trial_id, number, state, started, ended in trials:
            start, end = _when(started), _when(ended)
            objective = values.get(trial_id, {})
            retry = retried_as.get(number)
            records.append(
                _record(
                    number=number,
                    state=TrialState[state],
                    values=tuple(objective[i] for i in range(n_objectives) if i in objective),
                    params=params.get(trial_id, {}),
                    distributions=distributions.get(trial_id, {}),
                    user=user.get(trial_id, {}),
                    system=system.get(trial_id, {}),
                    duration_s=(end - start).total_seconds() if start and end else None,
                    retried_as=number_of.get(retry) if retry is not None else None,
                )
            )
        results = StudyResults(
            name=name, trials=tuple(records), spec=spec, objectives=_objectives(spec, n_objectives), split=_split(conn, study_id)
        )
        wanted = _curve_numbers(results, curves)
        if not wanted:
            return results
        ids = [trial_id for trial_id, number, *_ in trials if number in wanted]
        stored = _decoded(
            _rows(
                conn,
                "SELECT trial_id, key, value_json FROM trial_user_attributes WHERE trial_id IN :ids AND key IN :keys",
                ids=ids,
                keys=list(attrs.CURVES),
            )
        )
    by_number = {number_of[trial_id]: _curves(found) for trial_id, found in stored.items()}
    return StudyResults(
        name=name,
        trials=tuple(_with_curves(t, by_number.get(t.number)) for t in records),
        spec=spec,
        objectives=results.objectives,
        split=results.split,
    )


def _with_curves(trial: TrialRecord, curves: Curves | None) -> TrialRecord:
    return trial if curves is None else dataclasses.replace(trial, curves=curves)


def _curve_numbers(results: StudyResults, curves: CurvesWanted) -> set[int]:
    if curves == "none":
        return set()
    if curves == "all":
        return {t.number for t in results.trials}
    if curves == "drawn":
        return {t.number for t in (results.best_trial, results.best_unregularized) if t is not None}
    return set(curves)


def _objectives(spec: StudySpec | None, n_objectives: int) -> tuple[str, ...]:
    if spec is not None:
        return spec.selection_fields()
    if n_objectives == 1:
        return ("test_accuracy",)
    return ("test_accuracy", *(f"objective {i}" for i in range(1, n_objectives)))


def summarize(storage: Source, name: str) -> StudySummary:
    """A study's trial counts and best trial (by :func:`~actreg_search.results.records.rank_key`), without loading trials.

    Raises:
        StorageError: There is no study of that name.
    """
    with _engine(storage).connect() as conn:
        return _summary(conn, _study_id(conn, name), name)


def _summary(conn: sqlalchemy.Connection, study_id: int, name: str) -> StudySummary:
    states = {
        TrialState[state]: n
        for state, n in _rows(
            conn, "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state", study=study_id
        )
    }
    best = _rows(  # the tie rule's per-seed accuracies: validation where measured, else test (as TrialRecord.rank_key)
        conn,
        "SELECT t.number, v.value, v.value_type, COALESCE(val.value_json, a.value_json) FROM trials t "
        "JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
        "LEFT JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = :key "
        "LEFT JOIN trial_user_attributes val ON val.trial_id = t.trial_id AND val.key = :validation "
        "WHERE t.study_id = :study AND t.state = 'COMPLETE'",
        study=study_id,
        key="test_accuracy",
        validation="validation_accuracy",
    )
    counts = StateCounts(
        complete=states.get(TrialState.COMPLETE, 0),
        pruned=states.get(TrialState.PRUNED, 0),
        failed=states.get(TrialState.FAIL, 0),
        running=states.get(TrialState.RUNNING, 0),
        waiting=states.get(TrialState.WAITING, 0),
    )
    keyed = [
        (rank_key(number, _value(value, value_type), json.loads(per_seed) if per_seed else ()), _value(value, value_type))
        for number, value, value_type, per_seed in best
    ]
    top = min(keyed, default=None)
    return StudySummary(
        name=name,
        counts=counts,
        best_value=top[1] if top else None,
        best_trial=top[0][2] if top else None,
    )


def list_studies(storage: Source) -> list[StudySummary]:
    """Every study in a storage, by name, with its trial counts and best trial."""
    with _engine(storage).connect() as conn:
        studies = _rows(conn, "SELECT study_id, study_name FROM studies ORDER BY study_name")
        return [_summary(conn, study_id, name) for study_id, name in studies]


def trial_states(storage: Source, name: str) -> list[tuple[int, TrialState, dt.datetime | None]]:
    """Each trial's number, state and end time, by number: what a poll of a running study needs.

    Raises:
        StorageError: There is no study of that name.
    """
    with _engine(storage).connect() as conn:
        study_id = _study_id(conn, name)
        rows = _rows(
            conn,
            "SELECT number, state, datetime_complete FROM trials WHERE study_id = :study ORDER BY number",
            study=study_id,
        )
    return [(number, TrialState[state], _when(end)) for number, state, end in rows]
