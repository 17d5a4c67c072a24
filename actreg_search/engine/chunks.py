"""Running a loaded program through its chunks: progress, pruning and divergence after each, per trial.

A trial's epochs run in about :data:`CHUNKS` calls of its compiled program
(:data:`QUIET_CHUNKS` when no monitor reads the reports); every boundary but
the last falls on a curve epoch (:func:`chunk_bounds`). After each call
:func:`run_chunks` checks every trial of the program for non-finite losses,
reports its progress and mean test accuracy to its monitor (which may prune
it) and ends the trials that diverged or were pruned; the others train on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from actreg_search.config import TrialConfig
from actreg_search.data import Dataset
from actreg_search.engine.base import Monitor, NonFiniteLoss, TrialDone, curve_epochs
from actreg_search.engine.stacked import StackedLoop

CHUNKS = 20
"""About how many compiled calls a trial's training is split into when its reports are read (a pruner)."""
QUIET_CHUNKS = 4
"""About how many when they are not: each call costs host work besides the training (progress,
the monitor, the loop), and a warm width-500 trial in a study took 0.59-0.60 s with 4 against
0.63-0.67 s with 20 (two runs each, 2-core VM); a quarter of a trial still shows progress and
answers Ctrl-C within a fraction of a second."""


@dataclass
class Chunks:
    """What :func:`run_chunks` leaves: the trials still live, and each one's curves ``(seeds, points)``."""

    live: set[int]
    train: list[np.ndarray]
    test: list[np.ndarray]
    compile_s: float


def run_chunks(
    loop: StackedLoop,
    group: list[int],
    configs: Sequence[TrialConfig],
    data: Dataset,
    seeds: Sequence[int],
    monitors: Sequence[Monitor],
    done: TrialDone,
) -> Chunks:
    """Train a loaded program through every chunk; after each, report per trial and end the trials that diverge or are pruned.

    A trial that ends keeps its rows in the program (they train on, unread):
    the program's shape, and the other trials' numbers, do not change.
    """
    config = configs[group[0]]
    epochs, n_seeds = config.epochs, len(seeds)
    points = curve_epochs(epochs)
    chunks = CHUNKS if any(monitors[index].wants_reports for index in group) else QUIET_CHUNKS
    train_hits = tf.zeros((len(points), loop.rows), tf.int32)
    test_hits = tf.zeros((len(points), loop.rows), tf.int32)
    first_bad = tf.zeros((loop.rows,), tf.int32)
    live = set(group)
    seconds: list[float] = []
    bounds = chunk_bounds(epochs, chunks)
    for begin, end in bounds:
        tick = time.perf_counter()
        train_hits, test_hits, first_bad, test_now = loop.train(begin, end, train_hits, test_hits, first_bad)
        bad, test_now_np = first_bad.numpy(), test_now.numpy()
        seconds.append(time.perf_counter() - tick)
        recorded = sum(1 for e in points if e <= end)
        train_np, test_np = train_hits.numpy(), test_hits.numpy()
        for slot, index in enumerate(group):
            if index not in live:
                continue
            rows = slice(slot * n_seeds, (slot + 1) * n_seeds)
            mine = bad[rows]
            try:
                if mine.any():
                    k = int(np.argmin(np.where(mine > 0, mine, np.iinfo(np.int32).max)))
                    raise NonFiniteLoss(seeds[k], int(mine[k]))
                monitor = monitors[index]
                monitor.on_epochs(end * n_seeds, epochs * n_seeds)
                monitor.on_curves(
                    points[:recorded], train_np[:recorded, rows].T / len(data.y_train), test_np[:recorded, rows].T / len(data.y_test)
                )
                monitor.report(end, float(np.mean(test_now_np[rows] / len(data.y_test))))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - pruned or diverged: this trial ends, the others go on
                live.discard(index)
                done(index, exc)
        if not live:
            break
    # Counts of correct predictions divided here, in float64, as metrics.accuracy does.
    slots = range(len(group))
    return Chunks(
        live=live,
        train=[train_hits.numpy()[:, s * n_seeds : (s + 1) * n_seeds].T / len(data.y_train) for s in slots],
        test=[test_hits.numpy()[:, s * n_seeds : (s + 1) * n_seeds].T / len(data.y_test) for s in slots],
        compile_s=_setup_seconds(seconds, bounds),
    )


def _setup_seconds(seconds: list[float], bounds: list[tuple[int, int]]) -> float:
    """The first chunk's time beyond what its epochs took in the later chunks: tracing and compiling, when it did."""
    if len(seconds) < 2:
        return seconds[0]
    per_epoch = sum(seconds[1:]) / sum(end - begin for begin, end in bounds[1 : len(seconds)])
    return max(0.0, seconds[0] - per_epoch * (bounds[0][1] - bounds[0][0]))


def chunk_bounds(epochs: int, chunks: int = CHUNKS) -> list[tuple[int, int]]:
    """Split ``epochs`` into about ``chunks`` ranges ``[begin, end)``.

    Every boundary but the last falls on a curve epoch, so the value reported
    after a chunk is the one on the curve.

    Args:
        epochs: Total epochs.
        chunks: About how many ranges.

    Returns:
        Consecutive 0-based ranges covering ``range(epochs)``.
    """
    points = curve_epochs(epochs)
    length = points[0] * math.ceil(len(points) / chunks)
    starts = range(0, epochs, length)
    return [(begin, min(begin + length, epochs)) for begin in starts]


__all__ = ["CHUNKS", "QUIET_CHUNKS", "Chunks", "chunk_bounds", "run_chunks"]
