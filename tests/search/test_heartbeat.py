"""A batch's heartbeat: each trial beats when added and every interval until discarded; a missed beat is retried.

The storage here is a stand-in with the two methods the heartbeat uses; the
study loop's test (tests/search/test_loop.py) beats on a real RDB storage.
"""

from __future__ import annotations

import threading
import time

import optuna

from actreg_search.search.heartbeat import BatchHeartbeat


class _Storage:
    """Records beats; raises on the beats it is told to miss (a locked database)."""

    def __init__(self, interval: int | float | None, miss: int = 0) -> None:
        self.interval = interval
        self.miss = miss
        self.beats: list[int] = []

    def get_heartbeat_interval(self) -> int | float | None:
        return self.interval

    def record_heartbeat(self, trial_id: int) -> None:
        if self.miss:
            self.miss -= 1
            raise RuntimeError("database is locked")
        self.beats.append(trial_id)


def _wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_each_trial_beats_from_when_it_is_added_until_it_is_discarded():
    storage = _Storage(0.02)
    with BatchHeartbeat(storage) as heartbeat:  # type: ignore[arg-type]
        heartbeat.add(7)
        assert storage.beats == [7]  # at once
        heartbeat.add(8)
        assert heartbeat.running() == {7, 8}
        assert _wait_for(lambda: storage.beats.count(7) >= 3 and storage.beats.count(8) >= 3)
        heartbeat.discard(7)
        after = len(storage.beats)
        assert _wait_for(lambda: storage.beats[after:].count(8) >= 3)
        assert 7 not in storage.beats[after + 1:]  # at most one beat was under way when 7 ended
    assert heartbeat.running() == frozenset()
    ended = len(storage.beats)
    time.sleep(0.1)
    assert len(storage.beats) == ended  # the thread is stopped and joined on exit
    assert not [t for t in threading.enumerate() if t.name == "actreg-heartbeat"]


def test_a_missed_beat_is_retried_next_interval():
    storage = _Storage(0.02)
    with BatchHeartbeat(storage) as heartbeat:  # type: ignore[arg-type]
        heartbeat.add(3)
        storage.miss = 2  # the thread's next two beats fail
        assert _wait_for(lambda: storage.beats.count(3) >= 3)
        assert storage.miss == 0 and heartbeat.running() == {3}


def test_storages_without_heartbeats_beat_nothing():
    for storage in (None, optuna.storages.InMemoryStorage(), _Storage(None)):
        with BatchHeartbeat(storage) as heartbeat:  # type: ignore[arg-type]
            assert not heartbeat.enabled
            heartbeat.add(1)
            assert heartbeat.running() == frozenset()
    assert not [t for t in threading.enumerate() if t.name == "actreg-heartbeat"]
