"""The fence around Optuna's private APIs: each one still does what the package relies on, on a real storage.

Each test names the API it checks and the Optuna version it ran on, so that
an upgrade that breaks one says which, and that the fence
(``actreg_search/internals/optuna_private.py``) is the one place to mend.
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from actreg_search.internals import optuna_private as fence
from actreg_search.store.storage import open_storage

ROOT = Path(__file__).resolve().parents[2]


def broken(api: str, what: str) -> str:
    """The failure message: which private API, on which Optuna, and the range the fence was checked against."""
    return (
        f"Optuna {optuna.__version__} broke {api} (actreg_search/internals/optuna_private.py, "
        f"checked against {_checked_range()}): {what}"
    )


def _checked_range() -> str:
    found = re.search(r"``(optuna[^`]*)``", fence.__doc__ or "")
    return found.group(1) if found else "?"


@pytest.fixture
def storage(tmp_path: Path) -> optuna.storages.RDBStorage:
    """A fresh SQLite storage, opened as the package opens one (heartbeats on)."""
    return open_storage(f"sqlite:///{tmp_path / 'fence.db'}", create=True, grace_period_s=2)


def _ask(study: optuna.Study) -> optuna.Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna: heartbeats are meant for Study.optimize
        return study.ask()


def test_the_checked_range_is_the_one_pyproject_allows():
    """Widening Optuna's range in pyproject.toml means checking the fence again (and saying so in its docstring)."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (allowed,) = [d.replace(" ", "") for d in dependencies if d.startswith("optuna")]
    assert allowed == _checked_range(), (
        f"pyproject.toml allows {allowed}, the fence says it was checked against {_checked_range()}: "
        "check each private API on the new versions, then update the docstring"
    )


def test_trial_id_is_the_storages_id(storage):
    study = optuna.create_study(study_name="s", storage=storage)
    _ask(study)
    trial = _ask(study)
    study_id = storage.get_study_id_from_name("s")
    expected = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
    try:
        running, frozen = fence.trial_id(trial), fence.trial_id(study.trials[trial.number])
    except AttributeError as error:
        pytest.fail(broken("Trial._trial_id", f"no such attribute ({error})"))
    assert running == frozen == expected, broken("Trial._trial_id", f"{running}/{frozen}, storage says {expected}")


def test_sessions_joined_makes_a_blocks_writes_one_transaction(storage):
    assert isinstance(getattr(storage, "scoped_session", None), sqlalchemy.orm.scoped_session), broken(
        "RDBStorage.scoped_session", "the session registry is gone or is no longer a sqlalchemy scoped_session"
    )
    study = optuna.create_study(study_name="s", storage=storage)
    trial = _ask(study)
    other = sqlalchemy.create_engine(storage.url)
    with storage.engine.connect() as connection, connection.begin() as transaction:
        with fence.sessions_joined(storage, connection) as joined:
            trial.set_user_attr("a", 1)
            trial.set_user_attr("b", 2)
            with other.connect() as reader:  # another connection sees nothing before the commit
                seen = reader.execute(sqlalchemy.text("SELECT COUNT(*) FROM trial_user_attributes")).scalar()
        transaction.rollback()
    assert joined, broken("RDBStorage.scoped_session", "the registry was not used")
    assert seen == 0, broken("RDBStorage.scoped_session", "each write committed on its own, not in the outer transaction")
    assert optuna.load_study(study_name="s", storage=storage).trials[0].user_attrs == {}, broken(
        "RDBStorage.scoped_session", "the outer transaction's rollback did not undo the block's writes"
    )
    trial.set_user_attr("after", 3)  # after the block the storage writes as before
    assert optuna.load_study(study_name="s", storage=storage).trials[0].user_attrs == {"after": 3}


def test_sessions_joined_leaves_other_storages_alone():
    with fence.sessions_joined(optuna.storages.InMemoryStorage(), None) as joined:  # type: ignore[arg-type]
        assert joined is False


def test_the_tables_have_the_columns_the_sql_reads(storage, tmp_path):
    inspector = sqlalchemy.inspect(storage.engine)
    tables = set(inspector.get_table_names())
    for table, columns in fence.LAYOUT.items():
        assert table in tables, broken("the RDB table layout", f"no table {table!r} (tables: {sorted(tables)})")
        have = {c["name"] for c in inspector.get_columns(table)}
        missing = sorted(set(columns) - have)
        assert not missing, broken("the RDB table layout", f"table {table!r} lacks columns {missing} (has {sorted(have)})")
    with storage.engine.connect() as conn:
        assert fence.has_study_tables(conn)
    with sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'empty.db'}").connect() as conn:
        assert not fence.has_study_tables(conn)


@pytest.fixture
def study(storage):
    """Trials made through Optuna's public API: what the SQL must read back as Optuna does."""
    study = optuna.create_study(study_name="s", storage=storage, directions=["maximize", "minimize"])
    optuna.create_study(study_name="another", storage=storage)
    study.set_user_attr("spec", {"study": {"name": "s"}})
    distributions = {
        "regularizer": CategoricalDistribution(["none", "l1"]),
        "coefficient": FloatDistribution(1e-6, 1e-2, log=True),
        "units": IntDistribution(4, 16),
    }
    study.add_trial(optuna.trial.create_trial(
        values=[0.8, 0.1], params={"regularizer": "l1", "coefficient": 1e-4, "units": 8}, distributions=distributions,
        user_attrs={"test_accuracy": [0.7, 0.9], "validation_accuracy": [0.8, 0.8], "curve": [[0.1, 0.2]]},
    ))
    study.add_trial(optuna.trial.create_trial(
        values=[math.inf, -math.inf], params={"regularizer": "none"}, distributions={"regularizer": distributions["regularizer"]},
        user_attrs={"test_accuracy": [0.5, 0.5]},
    ))
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "boom"}))
    _ask(study)  # running
    return study


def _read(storage, read):
    """What ``read(connection, study id)`` reads of study ``s`` (no Optuna call inside: SQLite's write lock is ours)."""
    expected = storage.get_study_id_from_name("s")
    with storage.engine.connect() as conn:
        study_id = fence.find_study(conn, "s")
        found = read(conn, study_id)
    assert study_id == expected, broken("the studies table", f"study id {study_id}, Optuna says {expected}")
    return found


def test_studies_and_study_attributes_read_as_optuna_has_them(storage, study):
    assert _read(storage, lambda conn, _: fence.studies(conn)) == [
        (storage.get_study_id_from_name(name), name) for name in ("another", "s")
    ], broken("the studies table", "names and ids read otherwise")
    assert _read(storage, lambda conn, _: fence.find_study(conn, "missing")) is None
    assert _read(storage, fence.objective_count) == len(study.directions) == 2, broken("the study_directions table", "")
    spec = _read(storage, lambda conn, s: fence.study_attr(conn, s, "spec"))
    assert spec == study.user_attrs["spec"], broken("the study_user_attributes table", f"read {spec!r}")
    assert _read(storage, lambda conn, s: fence.study_attr(conn, s, "absent")) is None


def test_trials_values_params_and_attributes_read_as_optuna_has_them(storage, study):
    frozen = study.get_trials()
    rows = _read(storage, fence.trial_rows)
    assert [(number, state, start, end) for _, number, state, start, end in rows] == [
        (t.number, t.state, t.datetime_start, t.datetime_complete) for t in frozen
    ], broken("the trials table", "numbers, states or times read otherwise")
    assert [owner for owner, *_ in rows] == [fence.trial_id(t) for t in frozen]
    values = _read(storage, fence.objective_values)
    assert {fence.trial_id(t): dict(enumerate(t.values)) for t in frozen if t.values} == values, broken(
        "the trial_values table", f"read {values}"
    )
    params = _read(storage, fence.parameters)
    assert {fence.trial_id(t): {k: (v, t.distributions[k]) for k, v in t.params.items()} for t in frozen if t.params} == params, (
        broken("the trial_params table", f"read {params}")
    )
    wanted = ("test_accuracy", "fail_reason")
    attrs = _read(storage, lambda conn, s: fence.user_attrs(conn, s, wanted))
    expected = {fence.trial_id(t): {k: t.user_attrs[k] for k in wanted if k in t.user_attrs} for t in frozen}
    assert attrs == {k: v for k, v in expected.items() if v}, broken("the trial_user_attributes table", f"read {attrs}")
    first = fence.trial_id(frozen[0])
    curves = _read(storage, lambda conn, s: fence.user_attrs(conn, s, ["curve"], trials=[first]))
    assert curves == {first: {"curve": [[0.1, 0.2]]}}


def test_counts_best_values_and_ends_read_as_optuna_has_them(storage, study):
    frozen = study.get_trials()
    counts = _read(storage, fence.state_counts)
    assert counts == {TrialState.COMPLETE: 2, TrialState.FAIL: 1, TrialState.RUNNING: 1}, broken("the trials table", f"{counts}")
    firsts = _read(storage, lambda conn, s: fence.completed_firsts(conn, s, "validation_accuracy", "test_accuracy"))
    assert sorted(firsts) == [(0, 0.8, [0.8, 0.8]), (1, math.inf, [0.5, 0.5])], broken("the trial_values table", f"{firsts}")
    ends = _read(storage, fence.trial_ends)
    assert ends == [(t.number, t.state, t.datetime_complete) for t in frozen], broken("the trials table", f"{ends}")


def test_a_heartbeat_retry_names_the_trial_it_reruns(storage):
    study = optuna.create_study(study_name="s", storage=storage)
    dead = _ask(study)
    dead.suggest_float("x", 0, 1)
    storage.record_heartbeat(fence.trial_id(dead))
    with storage.engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE trial_heartbeats SET heartbeat = '2000-01-01 00:00:00'"))
    with warnings.catch_warnings():  # open_storage's callback retries a stale trial once
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
        retried_of = [optuna.storages.RetryFailedTrialCallback.retried_trial_number(t) for t in study.get_trials()]
    assert retried_of == [None, dead.number], "Optuna no longer retries a stale trial as the package expects"
    retries = _read(storage, fence.retries)
    assert retries == {dead.number: 1}, broken(f"the {fence.RETRY_OF!r} system attribute", f"read {retries}")
