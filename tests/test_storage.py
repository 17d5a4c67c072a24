from __future__ import annotations

import pytest

from actreg_search.errors import StorageError
from actreg_search.storage import ENV_VAR, load_study, open_storage, redact, resolve_url


def test_precedence(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url() == "sqlite:///actreg.db"
    assert resolve_url(study_file="sqlite:///f.db") == "sqlite:///f.db"
    monkeypatch.setenv(ENV_VAR, "sqlite:///env.db")
    assert resolve_url(study_file="sqlite:///f.db") == "sqlite:///env.db"
    assert resolve_url(cli="sqlite:///cli.db", study_file="sqlite:///f.db") == "sqlite:///cli.db"


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
    import optuna

    storage = open_storage(storage_url, create=True)
    optuna.create_study(study_name="a", storage=storage)
    with pytest.raises(StorageError, match="no study named 'b'.*studies there: a"):
        load_study(storage, "b")


_OPEN_AT = """
import sys, time
from actreg_search.storage import open_storage
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_storage(sys.argv[1], create=True)
"""


def test_processes_opening_a_fresh_database_together_all_succeed(tmp_path):
    """Optuna creates the tables on open; processes racing to create them must not fail."""
    import subprocess
    import sys
    import time

    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'fresh{round_}.db'}"
        start = time.time() + 4.0  # every process has imported by then, and opens at the same moment
        processes = [
            subprocess.Popen([sys.executable, "-c", _OPEN_AT, url, str(start)], stderr=subprocess.PIPE, text=True)
            for _ in range(6)
        ]
        errors = [p.communicate(timeout=120)[1] for p in processes]
        assert [p.returncode for p in processes] == [0] * 6, next(e for e in errors if e)[-600:]


def test_a_schema_race_is_retried_and_other_errors_are_not(monkeypatch, storage_url):
    import optuna
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
