"""Many workers on one study over a real PostgreSQL server, and a worker killed mid-trial.

The server is a throwaway cluster on loopback, started here from Debian's
``postgresql`` binaries (``.ci/run`` installs them when missing), or the one
``ACTREG_TEST_POSTGRES_URL`` names. Without either the tests are skipped,
except under CI, where they fail.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.store.storage import open_storage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if url := os.environ.get("ACTREG_TEST_POSTGRES_URL"):
        yield url
        return
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL: .ci/run should have installed Debian's postgresql")
        pytest.skip("no PostgreSQL binaries (apt-get install postgresql) and no ACTREG_TEST_POSTGRES_URL")
    bindir = Path(bins[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="actreg-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    subprocess.run(
        [*as_user, bindir / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "start",
         "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=300"],
        check=True, capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _script() -> str:
    return shutil.which("actreg-search", path=str(Path(sys.executable).parent))


def _trials(storage: optuna.storages.BaseStorage, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    except KeyError:
        return []


def _kill_a_worker_mid_trial(storage: optuna.storages.BaseStorage, name: str, deadline: float) -> optuna.trial.FrozenTrial:
    """SIGKILL the worker process of a running trial (once one trial has finished); return that trial.

    Which trial died is read back *after* the kill: between reading a trial as
    running and the kill, its worker may have finished it and begun another
    (these trials take about a second). A worker caught between two trials
    leaves no running trial behind (or one with no parameters drawn yet); its
    ``run`` replaces it and we try again.
    """
    while time.monotonic() < deadline:
        trials = _trials(storage, name)
        running = [t for t in trials if t.state is TrialState.RUNNING and "config" in t.user_attrs]
        if not (running and any(t.state is TrialState.COMPLETE for t in trials)):
            time.sleep(0.2)
            continue
        worker = running[0].user_attrs["worker"]
        os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
        time.sleep(1.0)  # let a write the worker had already sent land
        died = [t for t in _trials(storage, name) if t.state is TrialState.RUNNING and t.user_attrs.get("worker") == worker and "config" in t.user_attrs]
        if died:
            return died[0]
    raise AssertionError("no running trial to kill")


def test_two_workers_then_one_killed_mid_trial(write_study, postgres_url):
    n = 5
    study = write_study(name="pg-two", n_trials=n, seeds=1, epochs=15)
    env = {**os.environ, "ACTREG_GRACE_PERIOD": "3"}
    workers = [
        subprocess.Popen([_script(), "run", study, "--storage", postgres_url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    storage = open_storage(postgres_url, create=True)  # the two runs may be creating the schema right now
    victim = _kill_a_worker_mid_trial(storage, "pg-two", deadline=time.monotonic() + 300)
    outputs = [worker.communicate(timeout=600) for worker in workers]
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]

    trials = _trials(storage, "pg-two")
    # Each run says what its workers ran, not the study's count (which every run said before). The
    # killed trial was ended by a stale heartbeat, in no run; the killed worker's last end event may be lost with it.
    ran = [int(re.search(r"(\d+) run now", out).group(1)) for out, _ in outputs]
    assert len(trials) - 2 <= sum(ran) <= len(trials) - 1, (ran, len(trials))
    assert len({t.number for t in trials}) == len(trials)
    assert sum(t.state is TrialState.COMPLETE for t in trials) == n
    killed = trials[victim.number]
    assert killed.state is TrialState.FAIL
    retry = [  # its parameters kept (a superset, should the kill have landed between two suggestions)
        t for t in trials if t.number > victim.number and victim.params.items() <= t.params.items() and t.state is TrialState.COMPLETE
    ]
    assert retry, "the dead worker's trial was not retried with its parameters"
    assert not [t for t in trials if t.state is TrialState.RUNNING]


def test_password_is_never_printed(write_study, postgres_url):
    url = postgres_url.replace("postgres@", "postgres:hunter2@", 1).replace(str(postgres_url.rsplit(":", 1)[1].split("/")[0]), "1")
    done = subprocess.run([_script(), "run", write_study(name="pw"), "--storage", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "hunter2" not in done.stdout + done.stderr
    assert "***" in done.stderr
