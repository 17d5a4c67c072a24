"""Worker processes: CPU shares, the stop request, the relay of progress, a study shared by workers, and workers
always joined (real TensorFlow)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.results.records import TrialRecord
from actreg_search.search import workers
from actreg_search.search.observer import RunObserver
from actreg_search.search.study import StopReason, run_study
from actreg_search.search.workers import MemoryBudget, RelayObserver, StopRequest, cpu_shares, relay
from actreg_search.spec.parser import load_spec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Regularizer
from actreg_search.store import keys as attrs


@pytest.mark.parametrize(
    ("usable", "jobs", "expected"),
    [
        ({0, 1}, 1, [({0, 1}, 2)]),
        ({0, 1}, 2, [({0}, 1), ({1}, 1)]),
        ({0, 1, 2, 3, 4}, 2, [({0, 1}, 2), ({2, 3, 4}, 3)]),
        ({2, 5, 7}, 3, [({2}, 1), ({5}, 1), ({7}, 1)]),  # a taskset-restricted run keeps to its CPUs
        ({0, 1}, 3, [(None, 1)] * 3),  # more workers than CPUs: no pinning, one thread each
        ({0, 1, 2, 3}, 5, [(None, 1)] * 5),
    ],
)
def test_cpu_shares_split_the_usable_cpus(monkeypatch, usable, jobs, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(usable), raising=False)
    shares = cpu_shares(jobs)
    assert [(None if s.cpus is None else set(s.cpus), s.threads) for s in shares] == expected


def test_a_stop_request_is_taken_at_safe_points_and_a_second_one_at_once():
    stop = StopRequest()
    stop.check()  # nothing requested: goes on
    with stop.installed():
        assert signal.getsignal(signal.SIGINT) == stop.handle
        os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C only asks
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop.check()
        with pytest.raises(KeyboardInterrupt):
            stop.handle(signal.SIGINT, None)  # the second interrupts where it lands
    assert signal.getsignal(signal.SIGINT) != stop.handle
    assert not StopRequest().requested  # each run has its own


def test_a_stop_request_outside_the_main_thread_takes_no_signal():
    stop, seen = StopRequest(), []

    def install() -> None:
        with stop.installed():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=install)
    thread.start()
    thread.join()
    assert seen and seen[0] != stop.handle


class _Seen(RunObserver):
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_trial_start(self, number, config, total_epochs):
        self.events.append(("start", number, config, total_epochs))

    def on_epochs(self, done, total):
        self.events.append(("epochs", done, total))

    def on_trial_end(self, record, best_value):
        self.events.append(("end", record, best_value))


def test_a_workers_events_reach_the_display_and_its_trial_ends_the_tally():
    events = multiprocessing.get_context("spawn").Queue()
    config = TrialConfig(regularizer=Regularizer.NONE, placement=None, l1=0.0, l2=0.0, hidden_units=8)
    record = TrialRecord(number=4, state=TrialState.COMPLETE, params={"x": 1}, config=config, values=(0.5,), seeds=(0,),
                         per_seed={"sparsity": (0.1,)}, wall_time_s=1.0, duration_s=2.0, fail_reason=None, worker="h:1")
    sent = RelayObserver(events)
    sent.on_trial_start(4, config, 8)
    sent.on_epochs(2, 8)
    sent.on_trial_end(record, 0.5)
    progress, ends = _Seen(), _Seen()
    deadline = 50
    while len(progress.events) + len(ends.events) < 3 and deadline:
        relay(events, progress, ends)
        deadline -= 1
        time.sleep(0.05)
    assert progress.events == [("start", 4, config, 8), ("epochs", 2, 8)]
    assert ends.events == [("end", record, 0.5)]
    relay(queue.Queue(), progress, ends)  # nothing queued: nothing told
    assert len(progress.events) + len(ends.events) == 3


def test_a_memory_budget_counts_growth_since_the_first_trial(monkeypatch):
    sizes = iter([500.0, 550.0, 620.0])
    monkeypatch.setattr(workers, "rss_mb", lambda: next(sizes))
    budget = MemoryBudget(100)
    assert [budget(), budget(), budget()] == [False, False, True]
    assert MemoryBudget(None)() is False


def test_parallel_workers_share_one_study(write_study, storage_url):
    summary = run_study(load_spec(write_study(n_trials=4, seeds=1, epochs=2)), storage_url, jobs=2)
    assert (summary.reason, summary.finished) == (StopReason.TARGET_REACHED, summary.target)
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) >= 4
    assert summary.ran == len(trials)  # every trial was ended by this run's workers, and heard of once
    assert len({t.number for t in trials}) == len(trials)
    assert not [t for t in trials if t.state is TrialState.FAIL]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:  # each worker on its own CPUs
        cpus_of = {t.user_attrs[attrs.WORKER]: frozenset(t.user_attrs[attrs.WORKER_CPUS]) for t in complete}
        assert all(len(cpus) < len(os.sched_getaffinity(0)) for cpus in cpus_of.values())
        assert len(cpus_of) == 1 or not frozenset.intersection(*cpus_of.values())


class _BuggyDisplay(RunObserver):
    """A display with a bug (not a broken pipe): it raises on the first epoch count it is shown."""

    def on_epochs(self, done: int, total: int) -> None:
        raise RuntimeError("display bug")


def test_an_error_in_the_parent_still_stops_and_joins_the_workers(write_study, storage_url):
    """The error propagates, but only once the worker recorded its trial as interrupted and exited."""
    spec = load_spec(write_study(n_trials=3, seeds=1, epochs=300))
    with pytest.raises(RuntimeError, match="display bug"):
        run_study(spec, storage_url, _BuggyDisplay(), jobs=1, recycle_mb=10_000)
    assert multiprocessing.active_children() == []
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    assert trials[-1].state is TrialState.FAIL and trials[-1].user_attrs["fail_reason"] == "interrupted"
