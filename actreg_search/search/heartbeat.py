"""Heartbeats for a batch of trials: proof, in storage, that the worker training them is alive.

A trial whose worker dies (SIGKILL, a lost machine) stays RUNNING in storage;
Optuna's heartbeats let any other ``run`` fail it once its last heartbeat is
older than the grace period (``grace_period_s`` of
:func:`actreg_search.store.storage.open_storage`) and queue it again
(:func:`actreg_search.search.loop.fail_stale_trials`).

This is written here rather than taken from Optuna because Optuna's
heartbeat thread is private and tied to
:meth:`optuna.Study.optimize`, which beats for the one trial it runs. The
study loop asks for trials in batches and trains them together
(:meth:`~actreg_search.engine.base.Engine.train_many`), so one thread here
beats for every trial of the batch still running, through the storage's
public ``record_heartbeat`` and ``get_heartbeat_interval``
(:class:`optuna.storages.RDBStorage`), until each is told. Trials are named by
their storage id (:func:`~actreg_search.internals.optuna_private.trial_id`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

import optuna


class BatchHeartbeat:
    """Records a heartbeat every interval for each trial of a batch until it ends.

    No storage, or one without heartbeats (in memory, or an RDB storage
    opened without ``heartbeat_interval``), makes this do nothing. Use it as
    a context manager: the thread starts on entry and is stopped and joined
    on exit.

    Args:
        storage: The study's storage.
    """

    def __init__(self, storage: optuna.storages.BaseStorage | None) -> None:
        interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
        self.interval: float | None = interval if interval else None
        self._record: Callable[[int], None] = getattr(storage, "record_heartbeat", lambda trial_id: None)
        self._trials: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether the storage takes heartbeats."""
        return self.interval is not None

    def running(self) -> frozenset[int]:
        """The trial ids beating now."""
        with self._lock:
            return frozenset(self._trials)

    def add(self, trial_id: int) -> None:
        """Beat for this trial from now on (one heartbeat is recorded at once)."""
        if not self.enabled:
            return
        with self._lock:
            self._trials.add(trial_id)
        self._record(trial_id)

    def discard(self, trial_id: int) -> None:
        """Stop beating for this trial (it ended)."""
        with self._lock:
            self._trials.discard(trial_id)

    def __enter__(self) -> BatchHeartbeat:
        if self.enabled:
            self._thread = threading.Thread(target=self._beat, name="actreg-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._trials.clear()

    def _beat(self) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            for trial_id in self.running():
                if self._stop.is_set():
                    return
                try:
                    self._record(trial_id)
                except Exception:  # noqa: BLE001 - a missed beat (a locked database) is retried next interval
                    continue
