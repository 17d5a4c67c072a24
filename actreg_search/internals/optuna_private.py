"""The fence around Optuna's private and undocumented APIs: the only module that names them.

Checked against the Optuna versions ``pyproject.toml`` allows, ``optuna>=4.9,<6``
(read on 4.9.0 and 5.1.0; the tests ran on 5.1.0). What is used, and why:

* :func:`trial_id`: a running trial's storage id (``Trial._trial_id``). The
  storage's heartbeat API names trials by that id, and a trial does not say
  it publicly (:mod:`actreg_search.search.heartbeat`).
* :func:`sessions_joined`: the RDB storage's per-thread session registry (its
  ``scoped_session`` attribute), given for a block a session joined to one
  outer transaction, so that a trial's ~30 attribute writes are one commit
  (:func:`actreg_search.store.storage.one_transaction`).
* The table layout (:data:`LAYOUT`): the read side (:mod:`actreg_search.store.reader`)
  reads Optuna's tables with plain SQL instead of its storage API, which
  returns whole trials, learning curves included (on a 3,000-trial study 7 s
  to list, 44 s to draw). The functions below run that SQL and return the
  rows decoded (values as floats, attributes as JSON values, states as
  :class:`~optuna.trial.TrialState`, times as datetimes); the reader builds
  the read model from them. Optuna migrates this schema with alembic, so it
  changes rarely, and never without a schema version.
* The system attribute a heartbeat retry names the trial it re-runs by
  (``failed_trial``, what :meth:`optuna.storages.RetryFailedTrialCallback.retried_trial_number`
  reads), read here in SQL.

``tests/internals/test_optuna_private.py`` exercises each of these on a fresh
SQLite storage and fails naming the API and the Optuna version when an
upgrade breaks one. No other module may contain a name of :data:`PRIVATE_NAMES`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.orm
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import FrozenTrial, TrialState

#: Every table and column the SQL here reads (``trials`` and ``studies`` are
#: English words, so only the other names are in :data:`PRIVATE_NAMES`).
LAYOUT: dict[str, tuple[str, ...]] = {
    "studies": ("study_id", "study_name"),
    "study_directions": ("study_id",),
    "study_user_attributes": ("study_id", "key", "value_json"),
    "trials": ("trial_id", "number", "study_id", "state", "datetime_start", "datetime_complete"),
    "trial_values": ("trial_id", "objective", "value", "value_type"),
    "trial_params": ("trial_id", "param_name", "param_value", "distribution_json"),
    "trial_user_attributes": ("trial_id", "key", "value_json"),
    "trial_system_attributes": ("trial_id", "key", "value_json"),
}

RETRY_OF = "failed_trial"
"""The system attribute of a heartbeat retry: the number of the trial it re-runs."""

PRIVATE_NAMES = (
    "_trial_id",
    "scoped_session",
    "study_directions",
    "study_user_attributes",
    "trial_values",
    "trial_params",
    "trial_user_attributes",
    "trial_system_attributes",
    "value_json",
    "distribution_json",
    RETRY_OF,
)
"""The private names that appear in this module and nowhere else in the package."""

TrialRow = tuple[int, int, TrialState, dt.datetime | None, dt.datetime | None]
"""A trial's ``(storage id, number, state, start, end)``."""


# --------------------------------------------------------------------------- trials and sessions


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial (what ``record_heartbeat`` and the tables name it by)."""
    return trial._trial_id  # noqa: SLF001 - the fenced private attribute


@contextlib.contextmanager
def sessions_joined(storage: optuna.storages.BaseStorage, connection: sqlalchemy.Connection) -> Iterator[bool]:
    """For the block, have this thread's writes to ``storage`` join ``connection``'s transaction.

    The RDB storage opens a session from its registry for each write and
    commits it; a session registered here, bound to ``connection`` with
    ``join_transaction_mode="create_savepoint"``, makes each such commit only
    release a savepoint of the outer transaction, which the caller commits or
    rolls back. Other threads keep their own sessions.

    Yields:
        Whether the writes are joined: ``False`` for a storage without the
        registry (another kind, or an Optuna that changed it), which then
        writes as it does, one commit per write.
    """
    registry = getattr(storage, "scoped_session", None)
    if not isinstance(storage, optuna.storages.RDBStorage) or not isinstance(registry, sqlalchemy.orm.scoped_session):
        yield False
        return
    registry.registry.set(sqlalchemy.orm.Session(bind=connection, join_transaction_mode="create_savepoint"))
    try:
        yield True
    finally:
        registry.remove()


# --------------------------------------------------------------------------- SQL over Optuna's tables


def _rows(conn: sqlalchemy.Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as the database driver's plain tuples.

    SQLAlchemy binds the parameters (lists expand into ``IN (...)``); the rows
    are fetched from the driver's cursor directly, skipping SQLAlchemy's row
    objects, which cost as much as the query on a 10,000-trial study. Values
    are the driver's (SQLite gives dates as text: see :func:`_when`).
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


def _decoded(rows: list[tuple[Any, ...]]) -> dict[int, dict[str, Any]]:
    """``(trial, key, JSON text)`` rows by trial and key, decoded.

    Every value is decoded in one ``json.loads`` of their JSON array: one
    C-level parse instead of a Python call per attribute (half the reading
    time of a 10,000-trial study went to the calls).
    """
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    values = json.loads("[" + ",".join(row[2] for row in rows) + "]")
    for (owner, key, _), value in zip(rows, values, strict=True):
        found[owner][key] = value
    return found


def has_study_tables(conn: sqlalchemy.Connection) -> bool:
    """Whether the database holds Optuna's tables of studies and trials."""
    tables = set(sqlalchemy.inspect(conn).get_table_names())
    return {"studies", "trials"} <= tables


def studies(conn: sqlalchemy.Connection) -> list[tuple[int, str]]:
    """Every study's ``(id, name)``, by name."""
    return [(study, name) for study, name in _rows(conn, "SELECT study_id, study_name FROM studies ORDER BY study_name")]


def find_study(conn: sqlalchemy.Connection, name: str) -> int | None:
    """The id of the study named ``name``, if there is one."""
    found = _rows(conn, "SELECT study_id FROM studies WHERE study_name = :name", name=name)
    return found[0][0] if found else None


def objective_count(conn: sqlalchemy.Connection, study: int) -> int:
    """How many objectives the study has."""
    return _rows(conn, "SELECT COUNT(*) FROM study_directions WHERE study_id = :study", study=study)[0][0]


def study_attr(conn: sqlalchemy.Connection, study: int, key: str) -> Any:
    """A study's user attribute, decoded; ``None`` when it has none of that key."""
    found = _rows(
        conn, "SELECT value_json FROM study_user_attributes WHERE study_id = :study AND key = :key", study=study, key=key
    )
    return json.loads(found[0][0]) if found else None


def trial_rows(conn: sqlalchemy.Connection, study: int) -> list[TrialRow]:
    """Each trial of the study, by number (see :data:`TrialRow`)."""
    rows = _rows(
        conn,
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
        "WHERE study_id = :study ORDER BY number",
        study=study,
    )
    return [(owner, number, TrialState[state], _when(start), _when(end)) for owner, number, state, start, end in rows]


def objective_values(conn: sqlalchemy.Connection, study: int) -> dict[int, dict[int, float]]:
    """Trial id to objective index to value (infinities included) for the study's trials that have values."""
    values: dict[int, dict[int, float]] = defaultdict(dict)
    for owner, objective, value, value_type in _rows(
        conn,
        "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v "
        "JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = :study",
        study=study,
    ):
        values[owner][objective] = _value(value, value_type)
    return values


def parameters(conn: sqlalchemy.Connection, study: int) -> dict[int, dict[str, tuple[Any, BaseDistribution]]]:
    """Trial id to parameter name to ``(value as the sampler chose it, distribution)``."""
    found: dict[int, dict[str, tuple[Any, BaseDistribution]]] = defaultdict(dict)
    for owner, name, internal, distribution_json in _rows(
        conn,
        "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p "
        "JOIN trials t ON t.trial_id = p.trial_id WHERE t.study_id = :study",
        study=study,
    ):
        distribution = _distribution(distribution_json)
        found[owner][name] = (distribution.to_external_repr(internal), distribution)
    return found


def user_attrs(
    conn: sqlalchemy.Connection, study: int, keys: Collection[str], trials: Collection[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Trial id to key to value of the trials' user attributes of ``keys``, decoded.

    Args:
        conn: The connection.
        study: The study's id.
        keys: The attributes to read.
        trials: Only these trials (storage ids); ``None``: every trial of the study.
    """
    if trials is not None:
        return _decoded(
            _rows(
                conn,
                "SELECT trial_id, key, value_json FROM trial_user_attributes WHERE trial_id IN :ids AND key IN :keys",
                ids=list(trials),
                keys=list(keys),
            )
        )
    return _decoded(
        _rows(
            conn,
            "SELECT a.trial_id, a.key, a.value_json FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
            "WHERE t.study_id = :study AND a.key IN :keys",
            study=study,
            keys=list(keys),
        )
    )


def retries(conn: sqlalchemy.Connection, study: int) -> dict[int, int]:
    """Trial number to the number of the trial that re-runs it (a heartbeat retry), for the trials retried."""
    found = _decoded(
        _rows(
            conn,
            "SELECT t.number, a.key, a.value_json FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id "
            "WHERE t.study_id = :study AND a.key = :key",
            study=study,
            key=RETRY_OF,
        )
    )
    return {attrs[RETRY_OF]: number for number, attrs in found.items()}


def state_counts(conn: sqlalchemy.Connection, study: int) -> dict[TrialState, int]:
    """How many of the study's trials are in each state (states without trials left out)."""
    rows = _rows(conn, "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state", study=study)
    return {TrialState[state]: n for state, n in rows}


def completed_firsts(conn: sqlalchemy.Connection, study: int, key: str, fallback: str) -> list[tuple[int, float, Any]]:
    """Each complete trial's ``(number, first objective's value, user attribute key)``, without loading trials.

    The attribute is ``key``'s where the trial has it, else ``fallback``'s,
    else ``None`` (decoded).
    """
    rows = _rows(
        conn,
        "SELECT t.number, v.value, v.value_type, COALESCE(a.value_json, b.value_json) FROM trials t "
        "JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
        "LEFT JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = :key "
        "LEFT JOIN trial_user_attributes b ON b.trial_id = t.trial_id AND b.key = :fallback "
        "WHERE t.study_id = :study AND t.state = 'COMPLETE'",
        study=study,
        key=key,
        fallback=fallback,
    )
    return [
        (number, _value(value, value_type), json.loads(found) if found else None)
        for number, value, value_type, found in rows
    ]


def trial_ends(conn: sqlalchemy.Connection, study: int) -> list[tuple[int, TrialState, dt.datetime | None]]:
    """Each trial's ``(number, state, end time)``, by number."""
    rows = _rows(
        conn,
        "SELECT number, state, datetime_complete FROM trials WHERE study_id = :study ORDER BY number",
        study=study,
    )
    return [(number, TrialState[state], _when(end)) for number, state, end in rows]


__all__ = [
    "LAYOUT",
    "PRIVATE_NAMES",
    "RETRY_OF",
    "TrialRow",
    "completed_firsts",
    "find_study",
    "has_study_tables",
    "objective_count",
    "objective_values",
    "parameters",
    "retries",
    "sessions_joined",
    "state_counts",
    "studies",
    "study_attr",
    "trial_ends",
    "trial_id",
    "trial_rows",
    "user_attrs",
]
