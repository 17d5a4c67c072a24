"""What a run shows as it goes: the hooks of a display (:class:`RunObserver`), guarded, and fanned out.

The study loop calls the hooks; :class:`~actreg_search.search.progress.RichProgress`
is the command line's display, a worker process's
:class:`~actreg_search.search.workers.RelayObserver` sends them to its parent.
"""

from __future__ import annotations

from collections.abc import Callable

from actreg_search.results.records import TrialRecord
from actreg_search.spec.trial import TrialConfig


class RunObserver:
    """Hooks for showing a run's progress; the default shows nothing."""

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        """The run starts with ``finished`` of ``target`` trials done."""

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        """Trial ``number`` starts; it will train ``total_epochs`` seed-epochs."""

    def on_epochs(self, done: int, total: int) -> None:
        """The current trial has trained ``done`` of ``total`` seed-epochs."""

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        """A trial ended (any state)."""


class GuardedObserver(RunObserver):
    """Passes every hook on to ``inner`` until one fails with an ``OSError``; then shows nothing.

    Showing progress must never cost a trial or the run's bookkeeping: once
    the terminal or pipe the display writes to is gone (``tee`` killed by the
    same Ctrl-C, a closed SSH session), the run goes on without a display.

    Attributes:
        inner: The observer guarded.
        broken: The error that turned the display off, if one did.
    """

    def __init__(self, inner: RunObserver) -> None:
        self.inner = inner
        self.broken: OSError | None = None

    def _call(self, hook: Callable[[], None]) -> None:
        if self.broken is not None:
            return
        try:
            hook()
        except OSError as exc:
            self.broken = exc

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        self._call(lambda: self.inner.on_run_start(study_name, target, finished))

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        self._call(lambda: self.inner.on_trial_start(number, config, total_epochs))

    def on_epochs(self, done: int, total: int) -> None:
        self._call(lambda: self.inner.on_epochs(done, total))

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self._call(lambda: self.inner.on_trial_end(record, best_value))


class Observers(RunObserver):
    """Passes every hook on to each of ``observers``, in order."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def on_run_start(self, study_name: str, target: int, finished: int) -> None:
        for observer in self.observers:
            observer.on_run_start(study_name, target, finished)

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        for observer in self.observers:
            observer.on_trial_start(number, config, total_epochs)

    def on_epochs(self, done: int, total: int) -> None:
        for observer in self.observers:
            observer.on_epochs(done, total)

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        for observer in self.observers:
            observer.on_trial_end(record, best_value)


__all__ = ["GuardedObserver", "Observers", "RunObserver"]
