"""The run's display when its output is gone (a pipe whose reader died)."""

from __future__ import annotations

import io
import os
import sys

import pytest
from optuna.trial import TrialState

from actreg_search.spec.trial import TrialConfig
from actreg_search.search.progress import RichProgress
from actreg_search.console import PipeSafeConsole, emit, flush_streams
from actreg_search.results.records import TrialRecord
from actreg_search.spec.vocab import Family, OptimizerName, Regularizer


@pytest.fixture
def broken_pipe():
    """A text stream on a pipe whose reading end is closed: every flush raises BrokenPipeError."""
    read, write = os.pipe()
    os.close(read)
    stream = io.TextIOWrapper(io.BufferedWriter(io.FileIO(write, "w")), write_through=False)
    yield stream
    try:
        stream.close()
    except OSError:
        pass


def _record() -> TrialRecord:
    config = TrialConfig(
        regularizer=Regularizer.NONE, placement=None, l1=0.0, l2=0.0, hidden_units=8, activation="relu",
        family=Family.MLP, epochs=4, batch_size=32, optimizer=OptimizerName.ADAM, learning_rate=0.01,
    )
    return TrialRecord(
        number=0, state=TrialState.FAIL, params={}, config=config, values=(), seeds=(0,), per_seed={},
        wall_time_s=None, duration_s=None, fail_reason="interrupted", distributions={}, curves=None,
    )


def test_a_broken_pipe_quiets_the_display_and_closing_raises_nothing(broken_pipe):
    """Rich's own console would raise SystemExit(1) here, skipping the run's bookkeeping."""
    with RichProgress(PipeSafeConsole(file=broken_pipe, width=100)) as progress:
        progress.on_run_start("tiny", 3, 0)
        progress.on_trial_end(_record(), None)
        assert progress.console.quiet
        progress.on_trial_end(_record(), None)


def test_the_last_line_on_a_broken_pipe_is_dropped_and_the_exit_flush_cannot_fail(broken_pipe, monkeypatch):
    import stat

    monkeypatch.setattr(sys, "stdout", broken_pipe)
    assert stat.S_ISFIFO(os.fstat(broken_pipe.fileno()).st_mode)
    emit("tiny: interrupted; ...\n")
    flush_streams()
    now, null = os.fstat(broken_pipe.fileno()), os.stat(os.devnull)
    assert (now.st_dev, now.st_ino, now.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)  # pointed at /dev/null
    assert broken_pipe.write("more\n") == 5
    broken_pipe.flush()  # the interpreter's last flush: now to /dev/null, no BrokenPipeError


def test_the_last_line_is_printed(capsys):
    emit("tiny: [target] reached\n")
    assert capsys.readouterr().out == "tiny: [target] reached\n"


def test_a_finished_trial_line_gives_its_tasks_own_figure():
    """A regression's line names its RMSE (no accuracy to read: a classification's line would crash on it)."""
    from actreg_search.search.progress import figures_line
    from actreg_search.store.reader import record_of
    from tests.fakes import stored_trial

    regression = record_of(stored_trial("regression", (0.55, 0.57), (0.4, 0.4), (0.5, 0.52)))
    assert figures_line(regression) == "RMSE validation 0.5100±0.0141 test 0.5600±0.0141 sparsity 0.50 0.5s"
    autoencoder = record_of(stored_trial("autoencoder", (0.0123, 0.0125), (0.01, 0.01)))
    assert figures_line(autoencoder) == "reconstruction MSE test 0.0124±0.0001 sparsity 0.50 0.5s"
    classification = record_of(stored_trial("classification", (0.8, 0.9), (1.0, 1.0), (0.7, 0.9)))
    assert figures_line(classification) == "validation 0.800±0.141 test 0.850±0.071 sparsity 0.50 0.5s"
