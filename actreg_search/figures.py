"""Per-seed figures: their names, how they are summarized, and how they are rounded.

Every figure a trial records per seed, its mean and sample standard deviation,
and the precision it is stored at are decided here, once, for the writer
(:mod:`actreg_search.recorder`) and every reader.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

#: Per-seed figures stored for every completed trial (each also as ``_mean`` and ``_std``); the
#: validation ones only under a validation protocol (:data:`VALIDATION`).
PER_SEED = (
    "test_accuracy", "train_accuracy", "train_loss", "gap", "activation_mean", "sparsity",
    "validation_accuracy", "validation_sparsity",
)
#: The per-seed figures measured on each seed's validation samples (absent under ``validation = "test"``).
VALIDATION = ("validation_accuracy", "validation_sparsity")

CURVE_DIGITS = 4
"""Learning curves are stored to 4 decimals (an accuracy on up to 10,000 samples is exact)."""
SECONDS_DIGITS = 3
MEGABYTES_DIGITS = 1


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1), 0 for fewer than two values.

    Two-pass in plain floats: for a trial's handful of seeds (accuracies in
    [0, 1]) it agrees with ``statistics.stdev`` to about 1e-16, and is about
    50 times faster, which counts when 10,000 trials are ranked.
    """
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) * (v - mean) for v in values) / (n - 1))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation."""
    return sum(values) / len(values), sample_std(values)


def curve(values: Iterable[float]) -> list[float]:
    """A learning curve as stored."""
    return [round(float(v), CURVE_DIGITS) for v in values]


def seconds(value: float) -> float:
    """A duration as stored."""
    return round(float(value), SECONDS_DIGITS)


def megabytes(value: float) -> float:
    """A memory size as stored."""
    return round(float(value), MEGABYTES_DIGITS)
