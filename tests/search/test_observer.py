"""The display's hooks: the guard that turns a broken display off, and the fan-out to several observers."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from actreg_search.results.records import TrialRecord
from actreg_search.search.observer import GuardedObserver, Observers, RunObserver

RECORD = TrialRecord(
    number=3, state=TrialState.FAIL, params={}, config=None, values=(), seeds=(), per_seed={},
    wall_time_s=None, duration_s=None, fail_reason="boom",
)


class _Recording(RunObserver):
    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.events: list[tuple] = []
        self.fail_with = fail_with

    def _seen(self, *event: object) -> None:
        self.events.append(event)
        if self.fail_with is not None:
            raise self.fail_with

    def on_run_start(self, study_name, target, finished):
        self._seen("run", study_name, target, finished)

    def on_trial_start(self, number, config, total_epochs):
        self._seen("start", number, total_epochs)

    def on_epochs(self, done, total):
        self._seen("epochs", done, total)

    def on_trial_end(self, record, best_value):
        self._seen("end", record.number, best_value)


def test_the_guard_passes_hooks_on_until_one_fails_with_an_os_error():
    inner = _Recording()
    guarded = GuardedObserver(inner)
    guarded.on_run_start("s", 5, 1)
    guarded.on_trial_start(2, None, 8)
    guarded.on_epochs(4, 8)
    guarded.on_trial_end(RECORD, 0.5)
    assert inner.events == [("run", "s", 5, 1), ("start", 2, 8), ("epochs", 4, 8), ("end", 3, 0.5)]
    inner.fail_with = BrokenPipeError(32, "Broken pipe")
    guarded.on_epochs(5, 8)  # swallowed: the display is gone
    inner.fail_with = None
    guarded.on_epochs(6, 8)
    guarded.on_trial_end(RECORD, 0.5)
    assert isinstance(guarded.broken, BrokenPipeError)
    assert inner.events[4:] == [("epochs", 5, 8)]  # nothing after it broke


def test_the_guard_lets_other_errors_through():
    guarded = GuardedObserver(_Recording(fail_with=RuntimeError("bug")))
    with pytest.raises(RuntimeError):
        guarded.on_trial_start(0, None, 1)
    assert guarded.broken is None


def test_observers_pass_every_hook_to_each_in_order():
    first, second = _Recording(), _Recording()
    both = Observers(first, second)
    both.on_run_start("s", 5, 1)
    both.on_trial_start(2, None, 8)
    both.on_epochs(4, 8)
    both.on_trial_end(RECORD, None)
    assert first.events == second.events == [("run", "s", 5, 1), ("start", 2, 8), ("epochs", 4, 8), ("end", 3, None)]
    first.fail_with = RuntimeError("bug")
    with pytest.raises(RuntimeError):
        both.on_epochs(5, 8)
    assert second.events[-1] == ("end", 3, None)  # an error stops the fan-out: the run's tally goes first
