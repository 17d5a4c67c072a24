from __future__ import annotations

import sys

import optuna
import pytest

from actreg_search.errors import StorageError
from actreg_search.settings import GRACE_PERIOD_S, GRACE_VAR
from actreg_search.store.reader import summarize
from actreg_search.store.storage import one_transaction, open_storage, redact


def test_the_grace_period_is_the_callers_and_sets_the_heartbeat(storage_url, monkeypatch):
    monkeypatch.setenv(GRACE_VAR, "not a number")  # nothing here reads the environment
    default = open_storage(storage_url, create=True)
    assert (default.grace_period, default.get_heartbeat_interval()) == (GRACE_PERIOD_S, 10)
    short = open_storage(storage_url, create=False, grace_period_s=8)
    assert (short.grace_period, short.get_heartbeat_interval()) == (8, 2)


def test_password_never_shown():
    assert redact("postgresql://me:s3cret@db.example/x") == "postgresql://me:***@db.example/x"
    with pytest.raises(StorageError) as info:
        open_storage("postgresql://me:s3cret@127.0.0.1:1/x", create=True)
    assert "s3cret" not in str(info.value)


def test_reading_a_missing_database_creates_nothing(tmp_path):
    with pytest.raises(StorageError, match="no database at"):
        open_storage(f"sqlite:///{tmp_path / 'typo.db'}", create=False)
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("nonsense", "malformed"), ("redis://localhost/0", "unsupported database 'redis'"), ("sqlite://", "needs a file path")],
)
def test_bad_urls(url, fragment):
    with pytest.raises(StorageError, match=fragment):
        open_storage(url, create=True)


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(StorageError, match="not a database"):
        open_storage(f"sqlite:///{path}", create=False)
    assert path.read_text().startswith("this is not sqlite")


def test_unknown_study_names_the_known_ones(storage_url):

    storage = open_storage(storage_url, create=True)
    optuna.create_study(study_name="a", storage=storage)
    with pytest.raises(StorageError, match="no study named 'b'.*studies there: a"):
        summarize(storage, "b")


_OPEN_AT = """
import sys, time
from actreg_search.store.storage import open_storage
open_storage(sys.argv[1], create=True)  # a private database first: Optuna's first open imports a lot
print("ready", flush=True)
start = float(sys.stdin.readline())
for i, url in enumerate(sys.argv[2:]):
    time.sleep(max(0.0, start + 0.3 * i - time.time()))
    open_storage(url, create=True)
"""


def test_processes_opening_a_fresh_database_together_all_succeed(tmp_path):
    """Optuna creates the tables on open; processes racing to create them must not fail.

    Four processes, once all have imported, open three fresh databases, each at
    the same moment in every process, so each database is a race of four (without
    the retry, most of them fail).
    """
    import subprocess
    import sys
    import time

    urls = [f"sqlite:///{tmp_path / f'fresh{i}.db'}" for i in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, f"sqlite:///{tmp_path / f'own{k}.db'}", *urls],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for k in range(4)
    ]
    for p in processes:
        assert p.stdout.readline() == "ready\n", p.communicate(timeout=60)[1][-600:]
    start = time.time() + 0.2
    for p in processes:
        p.stdin.write(f"{start}\n")
        p.stdin.close()
    errors = [p.stderr.read() for p in processes]
    for p in processes:
        p.wait(timeout=120)
    assert [p.returncode for p in processes] == [0] * 4, next(e for e in errors if e)[-600:]


@pytest.mark.parametrize(
    ("url", "driver", "hint"),
    [
        ("mysql://me:s3cret@127.0.0.1:1/x", "MySQLdb", "no driver installed for mysql (mysqldb): pip install PyMySQL and use mysql+pymysql://"),
        ("mysql+pymysql://me@127.0.0.1:1/x", "pymysql", "no driver installed for mysql (pymysql): pip install PyMySQL"),
        ("postgresql+psycopg2://me@127.0.0.1:1/x", "psycopg2", "no driver installed for postgresql (psycopg2): pip install psycopg2-binary"),
    ],
)
def test_a_missing_driver_names_what_to_install_for_that_database(url, driver, hint):
    import importlib.util

    if importlib.util.find_spec(driver):
        pytest.skip(f"{driver} is installed here")
    with pytest.raises(StorageError) as info:
        open_storage(url, create=True)
    message = str(info.value)
    assert hint in message and "s3cret" not in message
    assert "\n" not in message


def test_a_schema_race_is_retried_and_other_errors_are_not(monkeypatch, storage_url):
    import sqlalchemy.exc

    real = optuna.storages.RDBStorage
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise sqlalchemy.exc.OperationalError("CREATE TABLE studies", {}, Exception("table studies already exists"))
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    assert open_storage(storage_url, create=True) is not None and len(calls) == 3

    def broken(*args, **kwargs):
        calls.append(1)
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    calls.clear()
    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    with pytest.raises(StorageError, match="disk I/O error"):
        open_storage(storage_url, create=True)
    assert len(calls) == 1


def test_open_reader_reads_without_writing(tmp_path, storage_url):

    from actreg_search.store.storage import open_reader

    with pytest.raises(StorageError, match="no database at"):
        open_reader(f"sqlite:///{tmp_path / 'missing.db'}")
    (tmp_path / "junk.db").write_text("not a database")
    with pytest.raises(StorageError, match="file is not a database"):
        open_reader(f"sqlite:///{tmp_path / 'junk.db'}")
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StorageError, match="holds no Optuna studies"):
        open_reader(f"sqlite:///{empty}")
    assert empty.stat().st_size == 0  # Optuna's RDBStorage would have created its tables here
    optuna.create_study(study_name="a", storage=open_storage(storage_url, create=True))
    engine = open_reader(storage_url)
    assert engine.url.render_as_string() == storage_url


ASK_QUEUED = """
import json, sys, time, warnings
import optuna, sqlalchemy
from actreg_search.store.storage import open_storage
warnings.simplefilter("ignore")
storage = open_storage(sys.argv[1], create=False)

@sqlalchemy.event.listens_for(storage.engine, "before_cursor_execute")
def slow_claim(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith("UPDATE TRIALS SET STATE"):
        time.sleep(0.03)  # between reading a queued trial as waiting and claiming it: where the other worker reads it too

study = optuna.load_study(study_name="race", storage=storage)
print("ready", flush=True)
start = float(sys.stdin.readline())
time.sleep(max(0.0, start - time.time()))
print(json.dumps([study.ask().number for _ in range(int(sys.argv[2]))]), flush=True)
"""


def test_two_workers_never_claim_the_same_queued_trial(tmp_path):
    """sqlite3 began a transaction at its first write, so two workers could both pop one waiting trial.

    Optuna reads a queued trial's state, then claims it: each worker here
    waits a moment between the two, and both start asking at the same instant,
    so without the write lock taken before the read (``BEGIN IMMEDIATE``)
    the workers' reads and claims interleave and they claim trials twice
    (measured: every run, most of the trials).
    """
    import json
    import subprocess
    import time

    url = f"sqlite:///{tmp_path / 'race.db'}"
    study = optuna.create_study(study_name="race", storage=open_storage(url, create=True))
    for x in range(40):
        study.enqueue_trial({"x": x})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", ASK_QUEUED, url, "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout.readline() == "ready\n", worker.communicate(timeout=60)
    start = time.time() + 0.2
    for worker in workers:
        worker.stdin.write(f"{start}\n")
        worker.stdin.close()
    first, second = (json.loads(worker.stdout.read()) for worker in workers)
    for worker in workers:
        worker.wait(timeout=120)
    assert first and second  # both claimed trials: the race was run
    assert not set(first) & set(second), f"claimed by both: {sorted(set(first) & set(second))}"
    assert sorted(first + second) == list(range(40))


def test_one_transaction_writes_a_trials_attributes_all_or_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'tx.db'}"
    storage = open_storage(url, create=True)
    study = optuna.create_study(study_name="tx", storage=storage)
    kept, dropped = study.ask(), study.ask()
    with one_transaction(storage):
        for i in range(5):
            kept.set_user_attr(f"k{i}", [i, i])
    with pytest.raises(TypeError, match="not JSON serializable"), one_transaction(storage):
        dropped.set_user_attr("fine", 1)
        dropped.set_user_attr("not json", object())
    dropped.set_user_attr("after", 2)  # the storage works on, one commit per write
    fresh = optuna.load_study(study_name="tx", storage=open_storage(url, create=False))
    attrs = {t.number: t.user_attrs for t in fresh.get_trials()}
    assert attrs == {0: {f"k{i}": [i, i] for i in range(5)}, 1: {"after": 2}}


def test_one_transaction_leaves_other_storages_to_write_as_they_do():
    study = optuna.create_study()
    trial = study.ask()
    with one_transaction(None), one_transaction(optuna.storages.InMemoryStorage()):
        trial.set_user_attr("k", 1)
    assert study.trials[0].user_attrs == {"k": 1}
