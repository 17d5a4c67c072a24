"""Ctrl-C while ``run``'s output goes through a pipe: ``run ... 2>&1 | tee log``.

The terminal's Ctrl-C reaches the whole foreground process group: ``run`` and
``tee``. Plain ``tee`` dies of it, so ``run``'s display and summary hit a broken
pipe; ``tee -i`` ignores it and keeps logging. Either way ``run`` must record the
trial it cut short as FAIL "interrupted", leave no trial RUNNING, and exit 130.
These tests use real TensorFlow workers (``run``'s default).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.store import keys as attrs
from actreg_search.errors import StorageError
from actreg_search.store.storage import open_storage


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name="tiny", storage=open_storage(url, create=False)).trials
    except (KeyError, StorageError):
        return []


def _wait_for_a_trial_mid_training(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        trials = _trials(url)
        if trials and trials[-1].state is TrialState.RUNNING and attrs.CONFIG in trials[-1].user_attrs:
            time.sleep(0.5)  # into its training, with epoch counts flowing to the display
            return
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("never saw a trial training")


@pytest.mark.parametrize("tee", ["tee", "tee -i"], ids=["tee-dies", "tee-survives"])
def test_ctrl_c_with_output_piped_to_tee(write_study, tmp_path, tee):
    script = shutil.which("actreg-search", path=str(Path(sys.executable).parent))
    url = f"sqlite:///{tmp_path / 'int.db'}"
    study = write_study(n_trials=3, seeds=1, epochs=400)
    log, rc = tmp_path / "run.log", tmp_path / "rc"
    command = (
        f"set -o pipefail; {shlex.quote(script)} run {shlex.quote(str(study))} --storage {shlex.quote(url)} --n-trials 20 "
        f"2>&1 | {tee} {shlex.quote(str(log))}; echo ${{PIPESTATUS[0]}} > {shlex.quote(str(rc))}"
    )
    shell = subprocess.Popen(["bash", "-c", command], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_a_trial_mid_training(url, shell)
    os.killpg(shell.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole process group
    shell.wait(timeout=120)

    assert rc.read_text().strip() == "130", log.read_text()
    trials = _trials(url)
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    assert trials[-1].state is TrialState.FAIL and trials[-1].user_attrs[attrs.FAIL_REASON] == "interrupted"
    if tee == "tee -i":
        assert "tiny: interrupted; 0/20 finished, 1 run now (1 failed)" in log.read_text()
