"""The environment, read once at the edge."""

from __future__ import annotations

import pytest

from actreg_search.errors import StorageError
from actreg_search.settings import GRACE_PERIOD_S, GRACE_VAR, PROFILE_VAR, STORAGE_VAR, Settings


def test_precedence():
    """Which storage a command opens: --storage, then ACTREG_STORAGE, then the study file's, then the default."""
    unset = Settings.from_environ({})
    assert unset.storage_url() == "sqlite:///actreg.db"
    assert unset.storage_url(study_file="sqlite:///f.db") == "sqlite:///f.db"
    from_env = Settings.from_environ({STORAGE_VAR: "sqlite:///env.db"})
    assert from_env.storage_url(study_file="sqlite:///f.db") == "sqlite:///env.db"
    assert from_env.storage_url("sqlite:///cli.db", study_file="sqlite:///f.db") == "sqlite:///cli.db"


def test_defaults_and_values():
    assert Settings.from_environ({}) == Settings(storage=None, grace_period_s=GRACE_PERIOD_S, profile_path=None)
    read = Settings.from_environ({GRACE_VAR: "7", PROFILE_VAR: "/tmp/p.jsonl", STORAGE_VAR: ""})
    assert read == Settings(storage=None, grace_period_s=7, profile_path="/tmp/p.jsonl")


@pytest.mark.parametrize("raw", ["not a number", "1", "-5", "2.5"])
def test_a_bad_grace_period_is_one_line(raw, monkeypatch):
    monkeypatch.setenv(GRACE_VAR, raw)
    with pytest.raises(StorageError, match=f"^{GRACE_VAR}={raw!r}: must be a whole number of seconds ≥ 2$"):
        Settings.from_environ()
