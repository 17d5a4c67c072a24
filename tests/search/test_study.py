"""The study loop: targets, resumes, grids, failures, interrupts, pruning, bookkeeping.

Every loop test runs in-process on the fake engine (tests/fakes.py), so it
takes milliseconds; one real end-to-end trial checks what training records.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from actreg_search.errors import SpecError
from actreg_search.internals.optuna_private import trial_id
from actreg_search.results.records import TrialRecord
from actreg_search.search.batches import SURPLUS_REASON
from actreg_search.search.observer import RunObserver
from actreg_search.spec.measures import PER_SEED, RESTORED_EPOCH, STOPPED_EPOCH, task_of
from actreg_search.spec.vocab import Task
from actreg_search.spec.parser import load_spec
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from actreg_search.search.study import StopReason, run_study
from actreg_search.spec.vocab import Regularizer
from tests.fakes import FakeEngine

GRID = """
regularizer = ["none", "l1"]
placement = ["pre_activation", "post_activation"]
coefficient = [1e-4]
"""


@pytest.fixture
def storage_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite storage in memory-backed /dev/shm where there is one: a trial's commits cost no disk syncs."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    folder = Path(tempfile.mkdtemp(prefix="actreg-test-", dir=shm))
    try:
        yield f"sqlite:///{folder / 'test.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _trials(storage_url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=storage_url).trials


def test_resume_counts_toward_the_total(write_study, storage_url):
    spec = load_spec(write_study(n_trials=3))
    first = run_study(spec, storage_url, engine=FakeEngine())
    assert (first.finished, first.ran, first.reason) == (3, 3, StopReason.TARGET_REACHED)
    second = run_study(spec.with_overrides(n_trials=5), storage_url, engine=FakeEngine())
    assert (second.finished, second.ran) == (5, 2)
    again = run_study(spec.with_overrides(n_trials=5), storage_url, engine=FakeEngine())
    assert (again.ran, again.reason) == (0, StopReason.TARGET_REACHED)
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert len(stored.trials) == 5
    assert (again.best_trial, again.best_value) == (stored.best.number, stored.best.value)


def test_one_real_trial_records_what_it_trained(write_study, storage_url):
    """The real engine (TensorFlow) end to end: per-seed figures, curves, versions."""
    run_study(load_spec(write_study(n_trials=1, seeds=2)), storage_url)
    (trial,) = _trials(storage_url)
    user = trial.user_attrs
    assert user["seeds"] == [0, 1]
    for name in PER_SEED:
        if name in (STOPPED_EPOCH, RESTORED_EPOCH) or Task.CLASSIFICATION not in task_of(name):  # early stopping's; other tasks'
            assert name not in user
            continue
        assert len(user[name]) == 2
        assert f"{name}_mean" in user and f"{name}_std" in user
    assert trial.value == pytest.approx(sum(user["validation_accuracy"]) / 2)  # chosen on validation (the default)
    assert len(user["train_curve"]) == 2 and len(user["train_curve"][0]) == len(user["curve_epochs"]) == 4
    assert user["versions"]["keras"].startswith("3.")
    assert user["wall_time_s"] > 0


def test_a_diverging_trial_fails_and_the_study_goes_on(write_study, storage_url):
    spec = load_spec(write_study(sampler="grid", n_trials=2, space='regularizer = ["none", "l2"]\nplacement = "pre_activation"\ncoefficient = [1e36]\n'))
    engine = FakeEngine(diverge=lambda c: c.regularizer is Regularizer.L2)
    summary = run_study(spec, storage_url, engine=engine)
    assert summary.reason is StopReason.GRID_EXHAUSTED
    assert (summary.ran, summary.failed, summary.finished) == (2, 1, 1)
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    states = {t.params["regularizer"]: t for t in stored.trials}
    assert states["none"].state is TrialState.COMPLETE
    failed = states["l2"]
    assert failed.state is TrialState.FAIL
    assert failed.fail_reason.startswith("non-finite loss on seed 0")
    assert _trials(storage_url)[failed.number].user_attrs["fail_seed"] == 0


def test_an_engine_error_fails_the_trial_with_its_reason(write_study, storage_url):
    spec = load_spec(write_study(sampler="grid", n_trials=3, space=GRID))
    summary = run_study(spec, storage_url, engine=FakeEngine(error=lambda c: c.regularizer is Regularizer.NONE))
    assert summary.reason is StopReason.GRID_EXHAUSTED and summary.failed == 1
    (failed,) = [t for t in _trials(storage_url) if t.state is TrialState.FAIL]
    assert failed.user_attrs["fail_reason"] == "RuntimeError: fake failure"


def test_a_pass_of_failures_ends_the_run(write_study, storage_url):
    summary = run_study(load_spec(write_study(n_trials=2)), storage_url, engine=FakeEngine(error=lambda c: True))
    assert (summary.reason, summary.ran, summary.failed, summary.finished) == (StopReason.ALL_FAILED, 2, 2, 0)


def test_grid_runs_each_distinct_config_once(write_study, storage_url):
    spec = load_spec(write_study(sampler="grid", n_trials=10, space=GRID))
    summary = run_study(spec, storage_url, engine=FakeEngine())
    assert (summary.target, summary.finished) == (3, 3)
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    configs = {(t.config.regularizer.value, t.config.placement) for t in stored.trials}
    assert len(configs) == 3
    rerun = run_study(spec, storage_url, engine=FakeEngine())
    assert rerun.ran == 0


def _stale_running_trial(storage_url: str) -> int:
    """A trial left RUNNING by a worker that died an hour ago (its last heartbeat backdated)."""
    storage = open_storage(storage_url, create=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Optuna: heartbeats are meant for Study.optimize, not ask()
        trial = optuna.load_study(study_name="tiny", storage=storage).ask()
    storage.record_heartbeat(trial_id(trial))
    with storage.engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE trial_heartbeats SET heartbeat = '2000-01-01 00:00:00'"))
    return trial.number


def test_a_dead_workers_trial_failed_now_is_not_counted_as_this_runs(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1))
    run_study(spec, storage_url, engine=FakeEngine())
    stale = _stale_running_trial(storage_url)
    summary = run_study(spec.with_overrides(n_trials=3), storage_url, engine=FakeEngine())
    assert (summary.finished, summary.ran, summary.failed) == (3, 2, 0)
    trials = _trials(storage_url)
    assert trials[stale].state is TrialState.FAIL
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert "heartbeat" in stored.trial(stale).fail_reason.lower()


def test_trials_queued_before_the_run_count_as_this_runs(write_study, storage_url):
    """benchmarks/study.py queues the first run's configs into a fresh study: the run that trains them ran them."""
    spec = load_spec(write_study(n_trials=2))
    run_study(spec.with_overrides(n_trials=1), storage_url, engine=FakeEngine())
    study = optuna.load_study(study_name="tiny", storage=storage_url)
    study.enqueue_trial(study.trials[0].params)
    summary = run_study(spec, storage_url, engine=FakeEngine())
    assert (summary.finished, summary.ran, summary.failed) == (2, 1, 0)


class _Together(RunObserver):
    """Holds a run at its start until the other run has started too: two runs on one study at once."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        self.barrier.wait(timeout=120)


def test_each_of_two_runs_on_one_study_counts_the_trials_it_ran(write_study, storage_url):
    """Several runs on one study: each says what it ran, not what the study ran since it started.

    (Seen with six ``run`` processes on PostgreSQL: workers ran 2-30 trials each, every process said "83 run now".)
    """
    spec = load_spec(write_study(n_trials=10, seeds=1, epochs=10))
    run_study(spec.with_overrides(n_trials=1), storage_url, engine=FakeEngine())  # before: neither run's
    barrier = threading.Barrier(2)
    summaries = {}
    errors = []

    def run(slot: int) -> None:
        engine = FakeEngine(sleep_s=0.01, error=lambda c: c.regularizer is Regularizer.L2)  # some trials fail
        try:
            summaries[slot] = run_study(spec, storage_url, _Together(barrier), engine=engine)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    ended = [t for t in _trials(storage_url)[1:] if t.state.is_finished()]
    failed = [t for t in ended if t.state is TrialState.FAIL and t.user_attrs.get("fail_reason") != SURPLUS_REASON]
    first, second = summaries[0], summaries[1]
    assert first.finished == second.finished == 10
    assert first.ran and second.ran, (first.ran, second.ran)  # both ran trials, together
    assert first.ran + second.ran == len(ended), (first.ran, second.ran, len(ended))
    assert first.failed + second.failed == len(failed)


def test_failing_stale_trials_warns_nothing(write_study, storage_url):
    """The loop waits on a stale trial (it alone could meet the target) and fails it: no ExperimentalWarning."""
    spec = load_spec(write_study(n_trials=1))
    run_study(spec, storage_url, engine=FakeEngine())
    _stale_running_trial(storage_url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_study(spec.with_overrides(n_trials=2), storage_url, engine=FakeEngine())
    assert summary.finished == 2
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]


class _BrokenDisplay(RunObserver):
    """A display whose output is gone (a pipe whose reader died)."""

    def __init__(self) -> None:
        self.calls = 0

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        self.calls += 1

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self.calls += 1
        raise BrokenPipeError(32, "Broken pipe")


def test_a_failing_display_costs_no_trial_and_is_then_left_alone(write_study, storage_url):
    display = _BrokenDisplay()
    summary = run_study(load_spec(write_study(n_trials=3)), storage_url, display, engine=FakeEngine())
    assert (summary.reason, summary.finished, summary.failed) == (StopReason.TARGET_REACHED, 3, 0)
    assert display.calls == 2  # the run start, then the first trial end; nothing after the pipe broke
    assert all(t.state is TrialState.COMPLETE for t in _trials(storage_url))


def test_multi_objective_study_end_to_end(write_study, storage_url, tmp_path, capsys):
    from actreg_search.cli import main

    path = write_study(n_trials=4, seeds=2)
    path.write_text(path.read_text().replace('sampler = "random"', 'objectives = ["accuracy", "sparsity"]'))
    spec = load_spec(path)
    assert spec.study.sampler.value == "nsga2"
    summary = run_study(spec, storage_url, engine=FakeEngine())
    assert summary.finished == 4
    study = optuna.load_study(study_name="tiny", storage=storage_url)
    assert len(study.directions) == 2
    for trial in study.trials:
        # both chosen on validation: the validation accuracy and the sparsity on the validation inputs
        assert trial.values == [
            pytest.approx(trial.user_attrs["validation_accuracy_mean"]), pytest.approx(trial.user_attrs["validation_sparsity_mean"])
        ]
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert stored.pareto_numbers == {t.number for t in study.best_trials}
    assert {t.number for t in stored.leading(10)} == stored.pareto_numbers

    assert main(["show", "tiny", "--storage", storage_url]) == 0
    assert "Pareto front (validation_accuracy, validation_sparsity)" in capsys.readouterr().out
    out = tmp_path / "front.json"
    assert main(["export", "tiny", "--storage", storage_url, "--top", "10", "--out", str(out)]) == 0
    entries = json.loads(out.read_text())
    assert {e["trial"] for e in entries} == stored.pareto_numbers
    assert all(len(e["objective_values"]) == 2 for e in entries)


def test_pruner_with_several_objectives_is_refused(write_study):
    path = write_study()
    path.write_text(path.read_text().replace('sampler = "random"', 'objectives = ["accuracy", "sparsity"]\npruner = "median"'))
    with pytest.raises(SpecError, match="pruning needs a single objective"):
        load_spec(path)


@pytest.mark.parametrize("batch", [1, 4])
def test_median_pruner_prunes_with_partial_curves(write_study, storage_url, batch):
    """Intermediate values are the mean validation accuracy over seeds (where the study selects), after each chunk of
    epochs (trials of a batch in lockstep)."""
    # 24 trials: the fake's first five trials, which the median pruner waits for, score the study's lowest, so
    # only later trials fall below their median (none did in 12 or 16 with batch 4, where a batch completes together)
    path = write_study(n_trials=24, seeds=2, epochs=40)
    path.write_text(path.read_text().replace('sampler = "random"', 'sampler = "random"\npruner = "median"'))
    spec = load_spec(path).with_overrides(batch=batch)
    assert run_study(spec, storage_url, engine=FakeEngine()).finished == 24
    trials = _trials(storage_url)
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and all(len(t.intermediate_values) == 20 for t in complete)
    for t in complete:
        assert t.intermediate_values[40] == pytest.approx(t.value)
    for t in pruned:
        last = max(t.intermediate_values)
        assert last < 40 and t.user_attrs["curve_epochs"][-1] == last
        assert len(t.user_attrs["test_curve"]) == 2 and len(t.user_attrs["test_curve"][0]) == len(t.user_attrs["curve_epochs"])


# A finished study's rerun: the CLI's answer without TensorFlow, data or workers.
_NO_TRAINING_STACK = textwrap.dedent(
    """
    import sys
    from actreg_search.cli import main
    code = main(sys.argv[1:])
    loaded = sorted(m for m in ("tensorflow", "keras", "sklearn", "multiprocessing.popen_spawn_posix") if m in sys.modules)
    print("loaded:", ",".join(loaded) or "nothing")
    sys.exit(code)
    """
)


@pytest.mark.parametrize("kind", ["target reached", "grid exhausted"])
def test_a_finished_study_answers_without_training_stack(write_study, storage_url, kind):
    if kind == "target reached":
        path = write_study(n_trials=2)
        run_study(load_spec(path), storage_url, engine=FakeEngine())
    else:
        path = write_study(sampler="grid", n_trials=3, space=GRID)
        run_study(load_spec(path), storage_url, engine=FakeEngine(error=lambda c: c.regularizer is Regularizer.NONE))
    done = subprocess.run(
        [sys.executable, "-c", _NO_TRAINING_STACK, "run", str(path), "--storage", storage_url, "--name", "tiny"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"tiny: {kind}; 2/" in done.stdout and "0 run now" in done.stdout
    assert "loaded: nothing" in done.stdout


def test_run_name_runs_the_study_file_under_another_name(write_study, storage_url):
    """``run --name`` (here on a study already finished under that name, so no training)."""
    path = write_study(n_trials=1)
    run_study(load_spec(path).with_overrides(name="renamed"), storage_url, engine=FakeEngine())
    done = subprocess.run(
        [sys.executable, "-m", "actreg_search.cli", "run", str(path), "--storage", storage_url, "--name", "renamed"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("renamed: target reached; 1/1 finished, 0 run now")
    assert " on validation (trial 0); storage " in done.stdout  # the best value is a validation figure, and says so
    assert optuna.get_all_study_names(storage_url) == ["renamed"]


def _with_missing_csv(path: Path) -> Path:
    """The study file, reading its data from a CSV file that does not exist."""
    data = 'name = "circles"\nn_samples = 100\nnoise = 0.1\nrandom_state = 1\ntrain_size = 30\n'
    assert data in path.read_text()
    path.write_text(path.read_text().replace(data, 'name = "csv"\npath = "missing.csv"\ntarget = "y"\n'))
    return path


def test_bad_data_of_a_new_study_writes_nothing(write_study, tmp_path):
    path = _with_missing_csv(write_study(n_trials=1))
    db = tmp_path / "new.db"
    with pytest.raises(SpecError):
        run_study(load_spec(path), f"sqlite:///{db}", engine=FakeEngine())
    assert not db.exists()


def test_bad_data_of_a_new_study_in_an_existing_database_writes_nothing(write_study, tmp_path):
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()  # a database file without Optuna's tables
    path = _with_missing_csv(write_study(n_trials=1))
    with pytest.raises(SpecError):
        run_study(load_spec(path), f"sqlite:///{db}", engine=FakeEngine())
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []

