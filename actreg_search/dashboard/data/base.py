"""What every chart's data shares: the "cannot be drawn" note, groups, trial labels and the usable trials.

Coefficients are compared on one axis, ``log10`` of the penalty's strength:
the coefficient of ``l1`` and ``l2``, and ``l1 + l2`` for ``l1_l2``
(:func:`strength`). Trials are grouped by :class:`Group`, their
:class:`Regularizer` and :class:`Placement` as enum members: the data never
holds a group's label, which is written when drawing
(:func:`actreg_search.dashboard.style.group_label`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optuna.trial import TrialState

from actreg_search.results import figures
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import maximized
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

#: Every regularizer, in the order charts list them.
REGULARIZERS: tuple[Regularizer, ...] = tuple(Regularizer)
#: Every placement of every family, in the order charts list them (an rnn's ``output`` and ``recurrent`` included).
PLACEMENTS: tuple[Placement, ...] = tuple(Placement)


@dataclass(frozen=True)
class Group:
    """A regularizer and where it is applied: what a chart's legend entry stands for.

    Attributes:
        regularizer: The penalty.
        placement: Where it is applied; ``None`` for the unregularized model.
    """

    regularizer: Regularizer
    placement: Placement | None = None

    @property
    def order(self) -> tuple[int, int]:
        """Its place among groups: unregularized first, then in :class:`Regularizer` and :class:`Placement` order."""
        placement = -1 if self.placement is None else PLACEMENTS.index(self.placement)
        return REGULARIZERS.index(self.regularizer), placement


@dataclass(frozen=True)
class Unavailable:
    """Why a chart cannot be drawn; the report shows the reason in its place.

    Attributes:
        reason: One or two sentences for the reader.
    """

    reason: str


def strength(config: TrialConfig) -> float | None:
    """The penalty's strength on one axis: ``l1``, ``l2``, or ``l1 + l2``; ``None`` if unregularized."""
    if config.regularizer is Regularizer.NONE:
        return None
    value = config.l1 + config.l2
    return value if value > 0 and math.isfinite(value) else None


def group_of(config: TrialConfig) -> Group:
    """A config's regularizer and placement (no placement if unregularized)."""
    return Group(config.regularizer, config.placement)


def describe(trial: TrialRecord) -> str:
    """A short description of a trial, e.g. ``#4 l1 · kernel 1.0e-04, 500 units``."""
    if trial.config is None:
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        return f"#{trial.number} {params}".rstrip()
    return f"#{trial.number} {trial.config.label()}"


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def selection_words(results: StudyResults) -> str:
    """The figure the study selects on, in words: ``validation accuracy``, or ``test accuracy`` under ``"test"``;
    one better lower says so (``validation log loss, lower is better``, ``validation RMSE, lower is better``)."""
    said = words(results.selection_metric)
    return said if maximized(results.selection_metric) else f"{said}, lower is better"


def words(figure: str) -> str:
    """A per-seed figure's name in words (``validation accuracy``, ``test RMSE``, ``validation R²``, ``test
    reconstruction MSE``: :func:`actreg_search.results.figures.words`)."""
    return figures.words(figure)


def selection_values(results: StudyResults, trial: TrialRecord) -> tuple[float, ...]:
    """A trial's per-seed values of the figure the study selects on (those its value is the mean of)."""
    return trial.per_seed.get(results.selection_metric) or trial.per_seed.get(trial.selection_metric, ())


def interval(values: Sequence[float], bounded: bool = True) -> tuple[float, float]:
    """The 95% interval of a mean accuracy (or any fraction) over seeds, within [0, 1].

    :func:`actreg_search.results.intervals.accuracy_interval` (a t-interval on the logit
    scale), so an error bar never passes 1.0 or 0.0; a figure not bounded to [0, 1]
    (``bounded=False``: ``log_loss``) gets the plain t-interval. A single seed has no
    spread: its interval is the value itself. Values that are not fractions
    (never stored by actreg-search) give ``(nan, nan)``, drawn as no bar.
    """
    import numpy as np

    from actreg_search.errors import UserError
    from actreg_search.results.intervals import accuracy_interval, t_interval

    if len(values) < 2:
        value = float(values[0]) if values else math.nan
        return value, value
    try:
        low, high = accuracy_interval(values) if bounded else t_interval(np.asarray(values, dtype=float), 0.95)
    except UserError:
        return math.nan, math.nan
    return float(low), float(high)


def usable(results: StudyResults) -> list[TrialRecord]:
    """Completed trials with a config and per-seed values of the study's headline figure on the test set (accuracy, a
    regression's RMSE, an autoencoder's reconstruction MSE: :meth:`StudyResults.headline`), by number."""
    test = results.headline("test")
    return [t for t in results.completed if t.config is not None and t.per_seed.get(test)]


def rank(trials: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Trials best first, by :attr:`TrialRecord.rank_key` (the order of :attr:`StudyResults.ranked`)."""
    return sorted(trials, key=lambda t: t.rank_key)


def finite(value: float | None) -> bool:
    """Whether ``value`` is a finite number."""
    return value is not None and math.isfinite(value)


def nothing_completed(results: StudyResults) -> Unavailable:
    """The note for a study with no usable completed trial, naming what the trials did instead."""
    if not results.trials:
        return Unavailable("The study has no trials yet.")
    counts = [
        f"{n} {label}"
        for state, label in (
            (TrialState.FAIL, "failed"),
            (TrialState.PRUNED, "pruned"),
            (TrialState.RUNNING, "running"),
            (TrialState.WAITING, "waiting"),
        )
        if (n := results.count(state))
    ]
    done = len(results.completed)
    if done:
        counts.insert(0, f"{done} completed without recorded seeds (not made by actreg-search?)")
    what = ", ".join(counts) if counts else "none finished"
    return Unavailable(f"No completed trial yet ({what}); the table below lists every trial and why it failed.")
