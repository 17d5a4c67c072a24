"""Crash safety on SQLite: SIGKILL ``run`` mid-trial, rerun, and nothing is lost."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from actreg_search.store.storage import open_storage


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    """The study's trials, through Optuna (after ``run`` has ended)."""
    return optuna.load_study(study_name="tiny", storage=open_storage(url, create=False)).trials


def _states(db: Path) -> list[tuple[str, int]]:
    """Each trial's state and how many parameters it has drawn, read straight from the SQLite file.

    A plain read-only connection: it takes no write lock (Optuna's storage, as actreg_search opens it, begins every
    transaction with ``BEGIN IMMEDIATE``), so watching ``run`` never makes it wait, nor waits on it.
    """
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(
                "SELECT t.state, (SELECT COUNT(*) FROM trial_params p WHERE p.trial_id = t.trial_id) "
                "FROM trials t ORDER BY t.number"
            ).fetchall()
    except sqlite3.OperationalError:  # the tables not created yet, or the file mid-write
        return []


def _wait_for_a_trial_mid_training(process: subprocess.Popen, db: Path) -> None:
    """Return once a trial has finished and the next one is running with its parameters drawn.

    A trial is RUNNING from the moment Optuna creates it, before its parameters are suggested;
    waiting for the parameters too makes "killed mid-trial" mean mid-training.
    """
    deadline = time.monotonic() + 240
    seen: list[tuple[str, int]] = []
    while time.monotonic() < deadline:
        seen = _states(db)
        if any(state == "COMPLETE" for state, _ in seen) and seen[-1][0] == "RUNNING" and seen[-1][1] > 0:
            return
        if process.poll() is not None:  # it ended before it was seen mid-training: say how, at once
            _, err = process.communicate()
            raise AssertionError(
                f"run ended ({process.returncode}) before a trial was seen mid-training; last read: {seen}; "
                f"run's stderr: {(err or '')[-2000:]}"
            )
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"never saw a finished trial followed by a running one; last read: {seen}")


def test_sigkill_mid_trial_then_resume(write_study, tmp_path):
    script = shutil.which("actreg-search", path=str(Path(sys.executable).parent))
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    study = write_study(n_trials=3, seeds=1, epochs=30)
    env = {**os.environ, "ACTREG_GRACE_PERIOD": "2"}

    for _attempt in range(3):
        db.unlink(missing_ok=True)
        first = subprocess.Popen([script, "run", study, "--storage", url], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_a_trial_mid_training(first, db)
        first.send_signal(signal.SIGKILL)
        first.wait()
        # Read back which trial died: the one seen running may have finished just before the kill.
        killed = next((t for t in _trials(url) if t.state is TrialState.RUNNING and t.params), None)
        if killed is not None:
            break
    assert killed is not None, "the kill never landed mid-trial"
    before = {t.number: t.value for t in _trials(url) if t.state is TrialState.COMPLETE}

    time.sleep(2.5)  # past the grace period
    second = subprocess.Popen([script, "run", study, "--storage", url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = second.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        second.kill()
        out, err = second.communicate()
        states = [(t.number, t.state.name) for t in _trials(url)]
        raise AssertionError(f"rerun did not finish; trials {states}; output {out[-1500:]} {err[-3000:]}") from None
    assert second.returncode == 0, err

    after = _trials(url)
    assert sum(t.state is TrialState.COMPLETE for t in after) == 3
    assert {t.number: t.value for t in after if t.number in before} == before
    assert after[killed.number].state is TrialState.FAIL
    # The retry keeps every parameter the killed trial had drawn; a kill that lands between two suggestions leaves the
    # rest to the retry to draw (its params are then a superset).
    retried = [t for t in after if t.number > killed.number and killed.params.items() <= t.params.items()]
    assert retried and retried[0].state is TrialState.COMPLETE
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_ctrl_c_fails_the_current_trial_and_keeps_the_rest(write_study, tmp_path):
    script = shutil.which("actreg-search", path=str(Path(sys.executable).parent))
    db = tmp_path / "int.db"
    url = f"sqlite:///{db}"
    study = write_study(n_trials=4, seeds=1, epochs=15)
    process = subprocess.Popen([script, "run", study, "--storage", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_a_trial_mid_training(process, db)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert out.strip().count("\n") == 0 and "interrupted" in out
    trials = _trials(url)
    assert trials[-1].state is TrialState.FAIL and trials[-1].user_attrs["fail_reason"] == "interrupted"
    assert all(t.state is TrialState.COMPLETE for t in trials[:-1])
