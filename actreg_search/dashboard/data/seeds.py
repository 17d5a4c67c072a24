"""Per-seed data: the learning curves of the drawn trials, and every seed run grouped in boxes.

Both show the task's headline figure (accuracy, a regression's RMSE, an
autoencoder's reconstruction MSE: :meth:`StudyResults.headline`): the boxes
on the test set, the figure reported; the learning curves on train,
validation (where the study measures it) and test, as the curves were stored.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    PLACEMENTS,
    REGULARIZERS,
    Unavailable,
    describe,
    nothing_completed,
    usable,
)
from actreg_search.dashboard.data.thinning import MAX_BOX_POINTS, quantile_sample
from actreg_search.results.figures import has_gap
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import GAP, TEST_ACCURACY
from actreg_search.spec.vocab import Placement, Regularizer

#: What a box groups by: a placement (``None``: the unregularized model) or a regularizer.
BoxKey = Placement | Regularizer | None

# --------------------------------------------------------------------------- learning curves


@dataclass(frozen=True)
class CurveBand:
    """One learning curve over seeds: the mean and the min–max band, per recorded epoch."""

    epochs: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class TrialCurves:
    """The headline figure (:attr:`CurvesData.metric`) on train, validation and test per epoch of one trial.

    Attributes:
        number: The trial.
        title: What it is, e.g. ``best trial #4 l1 · kernel 1.0e-04, 500 units``.
        train: On the training samples.
        test: On the test set.
        n_seeds: Seeds in the band.
        validation: On the validation samples, where the study measured it (``None`` under ``validation = "test"``).
    """

    number: int
    title: str
    train: CurveBand
    test: CurveBand
    n_seeds: int
    validation: CurveBand | None = None


@dataclass(frozen=True)
class CurvesData:
    """Learning curves of the best trial and of the best unregularized trial.

    Attributes:
        trials: The best trial first, then the best unregularized one (if another), each if it has curves.
        note: Said under the chart (no unregularized trial, the best is unregularized, a trial without curves).
        metric: The figure the curves hold, on the test set: ``test_accuracy``, a regression's ``test_rmse``, an
            autoencoder's ``test_mse``.
    """

    trials: tuple[TrialCurves, ...]
    note: str | None
    metric: str = TEST_ACCURACY


def learning_curves(results: StudyResults) -> CurvesData | Unavailable:
    """Data of the learning-curves chart: :attr:`StudyResults.best` and :attr:`StudyResults.best_unregularized`.

    These are the trials whose curves :func:`actreg_search.store.reader.load_results`
    reads with ``curves="drawn"``; a drawn trial without curves is a note.
    """
    best, plain = results.best, results.best_unregularized
    if best is None or not usable(results):
        return nothing_completed(results)
    drawn = [(best, "best trial")]
    notes = []
    if plain is None:
        notes.append("No unregularized trial has completed: only the best trial is shown.")
    elif plain.number == best.number:
        notes.append("The best trial is unregularized.")
    else:
        drawn.append((plain, "best unregularized trial"))
    chosen = []
    for trial, role in drawn:
        if trial.curves:
            chosen.append(_curves(trial, role))
        else:
            notes.append(f"The {role} {describe(trial)} has no learning curves recorded.")
    if not chosen:
        return Unavailable(" ".join(notes))
    return CurvesData(trials=tuple(chosen), note=" ".join(notes) or None, metric=results.headline("test"))


def _curves(trial: TrialRecord, role: str) -> TrialCurves:
    assert trial.curves is not None
    curves = trial.curves
    return TrialCurves(
        number=trial.number,
        title=f"{role} {describe(trial)}",
        train=_band(curves.epochs, curves.train),
        test=_band(curves.epochs, curves.test),
        n_seeds=len(curves.test),
        validation=_band(curves.epochs, curves.validation) if curves.validation else None,
    )


def _band(epochs: Sequence[int], curves: Sequence[Sequence[float]]) -> CurveBand:
    n = min(len(epochs), *(len(c) for c in curves))
    columns = [[c[i] for c in curves] for i in range(n)]
    return CurveBand(
        epochs=tuple(epochs[:n]),
        mean=tuple(statistics.fmean(c) for c in columns),
        low=tuple(min(c) for c in columns),
        high=tuple(max(c) for c in columns),
    )


# --------------------------------------------------------------------------- per-seed boxes


@dataclass(frozen=True)
class BoxGroup:
    """Every seed run of the trials in one group.

    Attributes:
        key: The group: a placement (``None`` for the unregularized model) or a regularizer.
        values: One value per seed per trial, or at most :data:`MAX_BOX_POINTS`
            of them at evenly spaced ranks (the same quartiles, fewer points).
        n_trials: Trials in the group.
        n_runs: Seed runs in the group (``len(values)`` unless thinned).
    """

    key: BoxKey
    values: tuple[float, ...]
    n_trials: int
    n_runs: int = 0


@dataclass(frozen=True)
class BoxData:
    """Per-seed distributions: the headline figure on test (:attr:`metric`) by placement and by regularizer, and
    (a classification's) the gap by placement.

    Groups keep the order of :class:`Placement` and :class:`Regularizer`; the
    unregularized trials are the first placement group (key ``None``); empty groups are left out
    (every gap group of a task without accuracy).
    """

    accuracy_by_placement: tuple[BoxGroup, ...]
    accuracy_by_regularizer: tuple[BoxGroup, ...]
    gap_by_placement: tuple[BoxGroup, ...]
    metric: str = TEST_ACCURACY

    @property
    def note(self) -> str | None:
        """Said under the chart when a box's points were thinned."""
        groups = (*self.accuracy_by_placement, *self.accuracy_by_regularizer, *self.gap_by_placement)
        if all(len(g.values) == g.n_runs for g in groups):
            return None
        return (
            f"Boxes with more than {MAX_BOX_POINTS:,} seed runs are drawn from {MAX_BOX_POINTS:,} of them at evenly "
            "spaced ranks (the same quartiles, fewer points)."
        )


def seed_distributions(results: StudyResults) -> BoxData | Unavailable:
    """Data of the per-seed box plots."""
    trials = usable(results)
    if not trials:
        return nothing_completed(results)

    def placement(t: TrialRecord) -> BoxKey:
        return t.config.placement if t.config else None

    def regularizer(t: TrialRecord) -> BoxKey:
        return t.config.regularizer if t.config else Regularizer.NONE

    placements, test = (None, *PLACEMENTS), results.headline("test")
    return BoxData(
        accuracy_by_placement=_groups(trials, placement, placements, test),
        accuracy_by_regularizer=_groups(trials, regularizer, REGULARIZERS, test),
        gap_by_placement=_groups(trials, placement, placements, GAP) if has_gap(results.task) else (),
        metric=test,
    )


def _groups(
    trials: Sequence[TrialRecord], key: Callable[[TrialRecord], BoxKey], order: Sequence[BoxKey], figure: str
) -> tuple[BoxGroup, ...]:
    groups = []
    for member in order:
        members = [t for t in trials if key(t) is member and t.per_seed.get(figure)]
        if members:
            values = [v for t in members for v in t.per_seed[figure]]
            groups.append(
                BoxGroup(key=member, values=quantile_sample(values), n_trials=len(members), n_runs=len(values))
            )
    return tuple(groups)
