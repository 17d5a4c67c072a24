"""Running a loaded program through its chunks: progress, pruning and divergence after each, per trial.

A trial's epochs run in about :data:`CHUNKS` calls of its compiled program
(:data:`QUIET_CHUNKS` when no monitor reads the reports); every boundary but
the last falls on a curve epoch (:func:`chunk_bounds`). After each call
:func:`run_chunks` checks every trial of the program for non-finite losses,
reports its progress and mean headline figure where it selects (accuracy, a
regression's RMSE...) to its monitor (which may prune it) and ends the trials
that diverged or were pruned; the others train on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from actreg_search.spec.trial import TrialConfig
from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import Monitor, NonFiniteLoss, TrialDone, curve_epochs
from actreg_search.engine.stacked import StackedLoop
from actreg_search.engine.targets import headline_of

CHUNKS = 20
"""About how many compiled calls a trial's training is split into when its reports are read (a pruner)."""
QUIET_CHUNKS = 4
"""About how many when they are not: each call costs host work besides the training (progress,
the monitor, the loop), and a warm width-500 trial in a study took 0.59-0.60 s with 4 against
0.63-0.67 s with 20 (two runs each, 2-core VM); a quarter of a trial still shows progress and
answers Ctrl-C within a fraction of a second."""


@dataclass
class Chunks:
    """What :func:`run_chunks` leaves: the trials still live, and each one's curves ``(seeds, points)``
    (a seed's folds averaged; ``validation`` ``None`` under ``validation = "test"``)."""

    live: set[int]
    train: list[np.ndarray]
    test: list[np.ndarray]
    validation: list[np.ndarray] | None
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

    A trial's rows are its seeds' models (``len(seeds) × folds``, seed-major).
    A trial that ends keeps its rows in the program (they train on, unread):
    the program's shape, and the other trials' numbers, do not change.
    """
    config = configs[group[0]]
    epochs, n_seeds = config.epochs, len(seeds)
    per_trial = loop.rows // len(group)
    folds = per_trial // n_seeds
    points = curve_epochs(epochs)
    chunks = CHUNKS if any(monitors[index].wants_reports for index in group) else QUIET_CHUNKS
    hits = tuple(tf.zeros((len(points), loop.rows), tf.float32) for _ in range(3))
    first_bad = tf.zeros((loop.rows,), tf.int32)
    live = set(group)
    seconds: list[float] = []
    bounds = chunk_bounds(epochs, chunks)
    # Summed scores (correct predictions, squared errors...) divided here, in float64, into the task's figure
    # (targets.headline_of), as metrics.figure does; a seed's folds averaged.
    sizes = (loop.n_fit, loop.n_val or 1, len(data.y_test))

    def per_seed(counts: np.ndarray, slot: int, size: int) -> np.ndarray:
        mine = headline_of(loop.task, counts[:, slot * per_trial : (slot + 1) * per_trial].T.astype(np.float64) / size)  # (rows, points)
        return mine.reshape(n_seeds, folds, -1).mean(axis=1)

    for begin, end in bounds:
        tick = time.perf_counter()
        *hits, first_bad, selected = loop.train(begin, end, hits, first_bad)
        bad, selected_np = first_bad.numpy(), selected.numpy()
        seconds.append(time.perf_counter() - tick)
        recorded = sum(1 for e in points if e <= end)
        counts = [h.numpy()[:recorded] for h in hits]
        for slot, index in enumerate(group):
            if index not in live:
                continue
            rows = slice(slot * per_trial, (slot + 1) * per_trial)
            mine = bad[rows]
            try:
                if mine.any():
                    k = int(np.argmin(np.where(mine > 0, mine, np.iinfo(np.int32).max)))
                    raise NonFiniteLoss(seeds[k // folds], int(mine[k]))
                monitor = monitors[index]
                monitor.on_epochs(end * n_seeds, epochs * n_seeds)
                train, val, test = (per_seed(c, slot, size) for c, size in zip(counts, sizes))
                monitor.on_curves(points[:recorded], train, test, val if loop.split else None)
                monitor.report(end, float(np.mean(headline_of(loop.task, selected_np[rows] / (sizes[1] if loop.split else sizes[2])))))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - pruned or diverged: this trial ends, the others go on
                live.discard(index)
                done(index, exc)
        if not live:
            break
    final = [h.numpy() for h in hits]
    slots = range(len(group))
    train, val, test = ([per_seed(c, s, size) for s in slots] for c, size in zip(final, sizes))
    return Chunks(live=live, train=train, test=test, validation=val if loop.split else None, compile_s=_setup_seconds(seconds, bounds))


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
