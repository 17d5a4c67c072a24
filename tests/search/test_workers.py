"""Worker processes: CPU shares, a study shared by workers, and workers always joined (real TensorFlow)."""

from __future__ import annotations

import multiprocessing
import os

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search.store import keys as attrs
from actreg_search.search.batches import RunObserver
from actreg_search.spec.parser import load_spec
from actreg_search.search.study import StopReason, run_study
from actreg_search.search.workers import cpu_shares


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


def test_parallel_workers_share_one_study(write_study, storage_url):
    summary = run_study(load_spec(write_study(n_trials=4, seeds=1, epochs=2)), storage_url, jobs=2)
    assert (summary.reason, summary.finished) == (StopReason.TARGET_REACHED, summary.target)
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) >= 4
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
