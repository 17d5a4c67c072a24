"""A storage's studies from Python: list, summarize, delete, the storage's name, export paths checked first."""

from __future__ import annotations

import pytest

import actreg_search
from actreg_search import api


def test_summary_and_studies_agree_with_the_loaded_study(stored):
    url, results = stored
    (listed,) = actreg_search.studies(url)
    summary = api.summary("arrays", url)
    assert listed == summary
    assert (summary.counts.complete, summary.best_trial) == (len(results.results.completed), results.best.number)
    assert summary.best_value == pytest.approx(results.best.value)


def test_delete_returns_what_it_deleted_and_the_study_is_gone(tmp_path, stored):
    import shutil

    url, _ = stored
    copy = tmp_path / "copy.db"
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
    deleted = actreg_search.delete("arrays", f"sqlite:///{copy}")
    assert deleted.total == 6 and deleted.complete == 6
    assert actreg_search.studies(f"sqlite:///{copy}") == []
    with pytest.raises(actreg_search.StorageError, match="no study named 'arrays' in this storage; studies there: none"):
        api.summary("arrays", f"sqlite:///{copy}")


def test_the_storage_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("ACTREG_STORAGE", "postgresql://me:secret@db.example/studies")
    assert api.storage_url() == "postgresql://me:secret@db.example/studies"
    assert api.storage_name() == "postgresql://me:***@db.example/studies"
    assert api.storage_name("sqlite:///given.db") == "sqlite:///given.db"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": "t.txt"}, "allowed: .csv, .parquet"),
        ({"model": "m.h5"}, ".keras"),
        ({"out": "missing/best.json"}, "missing"),
    ],
)
def test_export_paths_are_refused_before_anything_is_read(tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(actreg_search.UserError, match=message):
        api.check_export_paths(**kwargs)
    api.check_export_paths(out="best.json", trials="t.csv", model="m.keras")  # fine: nothing raised, nothing written
    assert list(tmp_path.iterdir()) == []
