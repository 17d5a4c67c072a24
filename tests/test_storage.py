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
