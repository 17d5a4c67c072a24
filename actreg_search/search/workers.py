"""Worker processes: start them on their CPU shares, relay their progress, replace, stop and join them.

A run with ``--jobs N`` (or with memory recycling) trains in worker
processes, each its own TensorFlow and seeds, pinned to its own share of the
CPUs (:func:`cpu_shares`). The parent (:func:`run_workers`) only supervises:
it relays the workers' progress events (:class:`RelayObserver`, :func:`relay`),
replaces a worker that asks to be recycled (:class:`MemoryBudget`) or crashed,
forwards Ctrl-C (the run's :class:`StopRequest`) and always joins its workers
before it returns, so a failing display or a second Ctrl-C never leaves a
trial half-recorded.

The worker's study loop is not here: the caller passes it in (a picklable
:data:`WorkerLoop`), so this module knows processes, not studies.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import itertools
import multiprocessing
import multiprocessing.process
import multiprocessing.queues
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import optuna
import psutil

from actreg_search.engine.quiet import import_tensorflow
from actreg_search.results.records import TrialRecord
from actreg_search.search.observer import RunObserver
from actreg_search.spec.trial import TrialConfig

POLL_S = 0.5
"""How often the parent looks at its workers, their events and the storage."""
MAX_CRASHES = 5
"""Crashed workers replaced in one run, at most (a worker that cannot start must not loop forever)."""
JOIN_TIMEOUT_S = 60
"""How long a stopping worker may take to finish recording its trial before it is killed."""


class StopRequest:
    """Ctrl-C, taken at safe points.

    A KeyboardInterrupt raised wherever the signal lands can be swallowed (in a
    weakref callback or a finalizer, Python ignores it) or leave TensorFlow
    mid-call. So the first SIGINT only sets :attr:`requested`, which a trial
    checks whenever the engine reports progress (:meth:`check`) and the run
    loop checks between trials; a second SIGINT interrupts at once.

    A run makes one and passes it down (a worker process makes its own: the
    signal handler is per process); it takes SIGINT only while
    :meth:`installed`.
    """

    def __init__(self) -> None:
        self.requested = False

    def handle(self, signum: int, frame: object) -> None:
        """The SIGINT handler."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""
        if self.requested:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Take SIGINT for the duration (main thread only; elsewhere, nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self.handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


class WorkerExit(enum.IntEnum):
    """A worker's exit code: why it stopped (any other code is a crash)."""

    DONE = 0
    RECYCLE = 75
    INTERRUPTED = 130


WorkerLoop = Callable[[RunObserver, Callable[[], bool], StopRequest], WorkerExit]
"""A worker's study loop: runs trials, showing progress on the observer, until done,
interrupted (the stop request), or the recycle check (called after each batch of trials)
says to hand over. It must pickle (a module-level function, or a ``functools.partial`` of one)."""


@dataclass(frozen=True)
class CpuShare:
    """The CPUs one worker runs on, and its TensorFlow threads.

    Attributes:
        cpus: CPU numbers to pin the worker to; ``None`` for no pinning.
        threads: Threads for each of TensorFlow's two thread pools.
    """

    cpus: frozenset[int] | None
    threads: int


def cpu_shares(jobs: int) -> list[CpuShare]:
    """Split the CPUs this process may use into one disjoint share per worker.

    Two workers that each own a core train about 20% faster than two that the
    kernel moves between cores (measured on a 2-core VM, docs/performance.md).
    Shares differ in size by at most one CPU. With more workers than CPUs, or
    where the platform cannot pin (no ``sched_setaffinity``), workers are not
    pinned and share the CPUs' threads out evenly, at least one each.

    Args:
        jobs: Number of workers.

    Returns:
        ``jobs`` shares, in worker slot order.
    """
    if not hasattr(os, "sched_getaffinity"):
        return [CpuShare(None, max(1, (os.cpu_count() or 1) // jobs))] * jobs
    cpus = sorted(os.sched_getaffinity(0))
    if jobs > len(cpus):
        return [CpuShare(None, 1)] * jobs
    bounds = [slot * len(cpus) // jobs for slot in range(jobs + 1)]
    return [CpuShare(frozenset(cpus[begin:end]), end - begin) for begin, end in itertools.pairwise(bounds)]


def rss_mb() -> float:
    """This process's resident memory in MiB."""
    return psutil.Process().memory_info().rss / 2**20


class MemoryBudget:
    """True once this process grew ``budget_mb`` past its size after the first trial."""

    def __init__(self, budget_mb: int | None) -> None:
        self.budget_mb = budget_mb
        self.baseline: float | None = None

    def __call__(self) -> bool:
        if self.budget_mb is None:
            return False
        rss = rss_mb()
        if self.baseline is None:
            self.baseline = rss
        return rss - self.baseline > self.budget_mb


class RelayObserver(RunObserver):
    """Sends a worker's trial starts, epoch counts and trial ends to the parent process (:func:`relay`)."""

    def __init__(self, events: multiprocessing.queues.Queue) -> None:
        self.events = events

    def on_trial_start(self, number: int, config: TrialConfig, total_epochs: int) -> None:
        self.events.put(("start", number, config.to_dict(), total_epochs))

    def on_epochs(self, done: int, total: int) -> None:
        self.events.put(("epochs", done, total))

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        self.events.put(("end", record, best_value))


def relay(events: multiprocessing.queues.Queue, progress: RunObserver, ends: RunObserver) -> None:
    """Pass the workers' queued events on: trial starts and epoch counts to ``progress``, trial ends to ``ends``."""
    while True:
        try:
            event = events.get_nowait()
        except (queue.Empty, OSError, EOFError, ValueError):
            return
        if event[0] == "start":
            _, number, config, total = event
            progress.on_trial_start(number, TrialConfig.from_dict(config), total)
        elif event[0] == "epochs":
            progress.on_epochs(event[1], event[2])
        else:
            ends.on_trial_end(event[1], event[2])


def die_with_parent(stop: StopRequest) -> None:
    """Have the kernel kill this process when its parent dies (Linux); else stop after the trial."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.prctl(1, signal.SIGKILL) == 0 and os.getppid() == parent:  # PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError, TypeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        stop.requested = True

    threading.Thread(target=watch, daemon=True).start()


def _worker_main(loop: WorkerLoop, recycle_mb: int | None, events: multiprocessing.queues.Queue, share: CpuShare) -> None:
    """Entry point of a worker process; its exit code (:class:`WorkerExit`) tells the parent why it stopped.

    The worker first leaves the terminal's process group, so one Ctrl-C
    reaches the parent only, which forwards it once; it dies with its parent
    (Linux) or, elsewhere, stops after its current trial. It runs on its
    ``share`` of the CPUs and its TensorFlow thread pools get the share's
    threads, set before TensorFlow starts, so workers neither fight over nor
    migrate between cores. TensorFlow's start-up lines are silenced.
    """
    os.setpgrp()
    stop = StopRequest()
    with stop.installed():  # from the start: a Ctrl-C forwarded while TensorFlow loads stops the loop at once
        die_with_parent(stop)
        tf = import_tensorflow()
        if share.cpus is not None:
            with contextlib.suppress(OSError):  # a container may forbid it; run unpinned then
                os.sched_setaffinity(0, share.cpus)
        tf.config.threading.set_intra_op_parallelism_threads(share.threads)
        tf.config.threading.set_inter_op_parallelism_threads(share.threads)
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        code = loop(RelayObserver(events), MemoryBudget(recycle_mb), stop)
    events.close()
    events.join_thread()
    sys.exit(int(code))


def run_workers(
    loop: WorkerLoop,
    jobs: int,
    recycle_mb: int | None,
    stop: StopRequest,
    *,
    progress: RunObserver,
    ends: RunObserver,
    more: Callable[[], bool],
    poll: Callable[[], None],
) -> None:
    """Keep ``jobs`` worker processes running ``loop`` until they are done; relay their progress.

    A worker that exits to be recycled, or crashes, is replaced in its slot
    (and CPU share) while ``more()`` says trials remain and no stop was
    requested (at most :data:`MAX_CRASHES` crashes in all). The first Ctrl-C
    (``stop``, installed by the caller) is forwarded once to every worker,
    which fails its current trial as interrupted and exits; a second one is
    forwarded too, interrupting them at once. Whatever happens here (a display
    that fails, an error reading the storage), the workers are stopped and
    joined before this returns or raises.

    Args:
        loop: What each worker runs.
        jobs: Number of workers.
        recycle_mb: A worker hands over once it grew this many MiB (``None``: never).
        stop: The run's stop request.
        progress: The display; gets the workers' trial starts and epoch counts.
        ends: Gets the trials the workers ended (:meth:`~RunObserver.on_trial_end`), each once.
        more: Whether the study needs more trials (asked before replacing a worker).
        poll: Called every :data:`POLL_S`.
    """
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    shares = cpu_shares(jobs)

    def launch(slot: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker_main, args=(loop, recycle_mb, events, shares[slot]), daemon=True)
        process.start()
        return process

    running: dict[int, multiprocessing.process.BaseProcess] = {}  # a replacement takes its predecessor's slot
    forwarded, crashes, clean = False, 0, False
    try:
        for slot in range(jobs):
            running[slot] = launch(slot)
        while running:
            if stop.requested and not forwarded:
                forwarded = True
                _interrupt(running.values())
            time.sleep(POLL_S)
            relay(events, progress, ends)
            poll()
            for slot, process in [(s, p) for s, p in running.items() if not p.is_alive()]:
                del running[slot]
                crashed = process.exitcode not in tuple(WorkerExit)
                crashes += crashed
                wanted = process.exitcode == WorkerExit.RECYCLE or (crashed and crashes <= MAX_CRASHES)
                if wanted and not stop.requested and more():
                    running[slot] = launch(slot)
        clean = True
    except KeyboardInterrupt:  # a second Ctrl-C: interrupt the workers' trials now
        stop.requested = True
        _interrupt(running.values())
        clean = True
    finally:
        if not clean:  # an error here: stop the workers' trials cleanly before joining
            _interrupt(running.values())
        _join(running.values())
        with contextlib.suppress(Exception):
            relay(events, progress, ends)
        events.close()


def _interrupt(processes: Iterable[multiprocessing.process.BaseProcess]) -> None:
    """Send SIGINT to each live worker (a worker's own process group does not get the terminal's)."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGINT)


def _join(processes: Iterable[multiprocessing.process.BaseProcess]) -> None:
    """Wait for each worker to exit; kill one that takes longer than :data:`JOIN_TIMEOUT_S`."""
    for process in processes:
        process.join(timeout=JOIN_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()
