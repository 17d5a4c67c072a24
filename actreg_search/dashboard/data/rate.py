"""Coefficient × learning rate: where the penalty's strength and the learning rate do well together, per placement.

A study that searches the learning rate (``[space] learning_rate``) may find
that a strong penalty wants another rate than a weak one. This chart puts
each completed regularized trial at its coefficient (x) and learning rate
(y), both on log axes, filled by the figure the study selects on (the mean
over seeds of its first objective, in its direction: ``log_loss`` is better
lower), one panel per placement. The coefficient is :func:`strength`'s, as on
the regularization path: the coefficient of ``l1`` and ``l2``, ``l1 + l2`` for
``l1_l2``. Unregularized trials have no coefficient: they are their own strip
(:attr:`RateData.unregularized`), at their learning rates, on the same colour
scale. A study that does not search the learning rate gets
:class:`Unavailable` (and the report leaves the chart out).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    PLACEMENTS,
    Unavailable,
    describe,
    finite,
    nothing_completed,
    selection_values,
    strength,
    usable,
    words,
)
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import maximized
from actreg_search.spec.specs import Choice, Range
from actreg_search.spec.vocab import Placement, Regularizer

#: The Optuna parameter of a searched learning rate.
LEARNING_RATE = "learning_rate"


@dataclass(frozen=True)
class RatePoint:
    """One completed trial on the coefficient × learning rate plane.

    Attributes:
        number: The trial.
        coefficient: :func:`strength` of its penalty (``l1 + l2`` for ``l1_l2``); ``None`` if unregularized.
        learning_rate: The rate it trained at.
        figure: The mean over seeds of the figure the study selects on (:attr:`RateData.metric`).
        regularizer: Its penalty.
        label: :func:`describe` of it.
    """

    number: int
    coefficient: float | None
    learning_rate: float
    figure: float
    regularizer: Regularizer
    label: str


@dataclass(frozen=True)
class RatePanel:
    """The regularized trials of one placement.

    Attributes:
        placement: Where their penalty is applied.
        points: The drawn trials, by number.
    """

    placement: Placement
    points: tuple[RatePoint, ...]


@dataclass(frozen=True)
class RateData:
    """Coefficient × learning rate, one panel per placement, filled by the selection figure.

    Attributes:
        panels: One per placement with a drawn regularized trial, in :class:`Placement` order.
        unregularized: The drawn unregularized trials (no coefficient: a strip of their own), by number.
        metric: The per-seed figure the colour is the mean of (:attr:`StudyResults.selection_metric`).
        maximize: Whether higher is better for it (``False`` for ``log_loss``).
        best_number: The chosen trial (:attr:`StudyResults.best`), if it is drawn.
        note: Said under the chart.
    """

    panels: tuple[RatePanel, ...]
    unregularized: tuple[RatePoint, ...]
    metric: str
    maximize: bool
    best_number: int | None
    note: str | None

    @property
    def color_title(self) -> str:
        """The colour scale's title: the figure, and which way it is better."""
        return f"mean {words(self.metric)}" + ("" if self.maximize else " (lower is better)")

    @property
    def points(self) -> tuple[RatePoint, ...]:
        """Every drawn point, the unregularized strip's first."""
        return (*self.unregularized, *(p for panel in self.panels for p in panel.points))


def searches_learning_rate(results: StudyResults) -> bool:
    """Whether the study searches the learning rate: its ``[space]`` does, or its trials' rates differ.

    A stored study without its spec counts as searching it when a trial has the
    Optuna parameter ``learning_rate`` or its trials trained at several rates.
    """
    space = results.spec.space if results.spec is not None else None
    param = getattr(space, LEARNING_RATE, None)
    if isinstance(param, Range) or (isinstance(param, Choice) and not param.fixed):
        return True
    if any(LEARNING_RATE in t.params for t in results.trials):
        return True
    return len({t.config.learning_rate for t in results.trials if t.config is not None}) > 1


def _fixed_rate(results: StudyResults) -> str:
    rates = {t.config.learning_rate for t in results.trials if t.config is not None}
    if not rates and results.spec is not None:
        rates = {results.spec.model.learning_rate}
    return f" (every trial trains at {rates.pop():.1e})" if len(rates) == 1 else ""


def coefficient_learning_rate(results: StudyResults, limit: int = MAX_POINTS) -> RateData | Unavailable:
    """Data of the coefficient × learning rate chart (at most ``limit`` trials, the chosen one always).

    Args:
        results: The study.
        limit: The most trials drawn, the strip's included.

    Returns:
        The panels and the unregularized strip, or why there is no chart: the
        learning rate is not searched, no trial has completed, or none of the
        completed ones is regularized.
    """
    if not searches_learning_rate(results):
        return Unavailable(
            f"The learning rate is not searched here{_fixed_rate(results)}; "
            "[space] learning_rate searches it with the penalty."
        )
    scored = [(t, f) for t in usable(results) if finite(f := _figure(results, t))]
    if not scored:
        return nothing_completed(results)
    regularized = [t for t, _ in scored if strength(t.config) is not None]  # type: ignore[arg-type]
    unregularized = [t for t, _ in scored if t.config.placement is None]  # type: ignore[union-attr]
    if not regularized:
        return Unavailable(
            "No regularized trial has completed, so there is no coefficient to plot"
            + (f" ({len(unregularized)} unregularized {'trial has' if len(unregularized) == 1 else 'trials have'})."
               if unregularized else ".")
        )
    figures = {t.number: f for t, f in scored}
    best = results.best
    keep = [best.number] if best is not None else []
    drawn = sample(sorted([*regularized, *unregularized], key=lambda t: t.number), limit, keep=keep)
    shown = {t.number for t in drawn.trials}
    points = {t.number: _point(t, figures[t.number]) for t in drawn.trials}
    by_placement: dict[Placement, list[RatePoint]] = {}
    for trial in (t for t in regularized if t.number in shown):
        placement = trial.config.placement  # type: ignore[union-attr]
        by_placement.setdefault(placement, []).append(points[trial.number])  # type: ignore[arg-type]
    panels = tuple(RatePanel(p, tuple(by_placement[p])) for p in PLACEMENTS if p in by_placement)
    notes = ["Each panel is one placement; l1_l2 trials are placed at l1 + l2."]
    notes.append(
        "Unregularized trials have no coefficient: they are the strip on the left, at their learning rates."
        if unregularized
        else "No unregularized trial has completed: there is no strip of them."
    )
    zero = len(scored) - len(regularized) - len(unregularized)
    if zero:
        notes.append(f"{zero} regularized trials with a zero coefficient are left out (no place on a log axis).")
    if drawn.thinned:
        notes.append(drawn.note("completed trials") or "")
    return RateData(
        panels=panels,
        unregularized=tuple(points[t.number] for t in unregularized if t.number in shown),
        metric=results.selection_metric,
        maximize=maximized(results.selection_metric),
        best_number=best.number if best is not None and best.number in shown else None,
        note=" ".join(notes),
    )


def _figure(results: StudyResults, trial: TrialRecord) -> float | None:
    """The mean over seeds of the figure the study selects on (the trial's first objective value without seeds)."""
    values = selection_values(results, trial)
    return statistics.fmean(values) if values else trial.value


def _point(trial: TrialRecord, figure: float) -> RatePoint:
    config = trial.config
    assert config is not None
    return RatePoint(
        number=trial.number,
        coefficient=strength(config),
        learning_rate=config.learning_rate,
        figure=figure,
        regularizer=config.regularizer,
        label=describe(trial),
    )

