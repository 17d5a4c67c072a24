"""Validation against test: how far the figure a study selects on is from the figure it reports.

Under a validation protocol each trial is chosen on its mean validation
figure, and its test figure, never used to choose, is what is reported: the
task's headline (accuracy, a regression's RMSE, an autoencoder's
reconstruction MSE: :meth:`StudyResults.headline`). Every completed trial is
a point (x: its mean on validation, y: on test); on the ``y = x`` line the two
agree. The chosen trial sits at the best end by construction (the far right
for accuracy, the far left for an RMSE), so its distance from the line,
towards worse, is the selection bias the validation split absorbs; a study
selecting on the test set (``validation = "test"``) has no validation figures
and no such chart.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from actreg_search.dashboard.data.base import Group, Unavailable, describe, group_of, nothing_completed, rank, usable, words
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.results.figures import difference_text
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import TEST_ACCURACY, VALIDATION_ACCURACY

#: The per-seed figures a classification sets against each other.
VALIDATION, TEST = VALIDATION_ACCURACY, TEST_ACCURACY


@dataclass(frozen=True)
class SelectionPoint:
    """One completed trial: its mean validation and mean test figure (the task's headline) over seeds.

    Attributes:
        number: The trial.
        validation: Mean over seeds on validation (what the study selects on).
        test: Mean over seeds on test (what is reported).
        group: Regularizer and placement (:func:`group_of`).
        label: :func:`describe` of the trial.
    """

    number: int
    validation: float
    test: float
    group: Group
    label: str

    @property
    def difference(self) -> float:
        """Test minus validation (for accuracy, negative: the test set scores it lower)."""
        return self.test - self.validation


@dataclass(frozen=True)
class SelectionData:
    """Validation against test of the headline figure of every completed trial, the chosen one marked.

    Attributes:
        points: The drawn completed trials with validation figures, by number.
        best_number: The chosen trial: :attr:`StudyResults.best`, ranked
            on validation (never on test).
        protocol: The study's validation protocol in words.
        note: Said under the chart: the chosen trial's two figures, how many trials are drawn.
        figures: The per-seed figures set against each other: on validation and on test
            (``validation_accuracy`` and ``test_accuracy``; a regression's ``validation_rmse`` and ``test_rmse``...).
    """

    points: tuple[SelectionPoint, ...]
    best_number: int
    protocol: str
    note: str | None = None
    figures: tuple[str, str] = (VALIDATION, TEST)

    @property
    def best(self) -> SelectionPoint:
        """The chosen trial's point."""
        return next(p for p in self.points if p.number == self.best_number)


def validation_vs_test(results: StudyResults, limit: int = MAX_POINTS) -> SelectionData | Unavailable:
    """Data of the validation-against-test chart (at most ``limit`` trials; the chosen one always).

    Unavailable for a study without validation figures: one that selects on
    the test set, or whose completed trials recorded none.
    """
    done = usable(results)
    validation, test = results.headline("validation"), results.headline("test")
    trials = [t for t in done if t.per_seed.get(validation)]
    if not trials:
        if not done:
            return nothing_completed(results)
        if results.selects_on_test:
            return Unavailable(
                f"This study selects on the test set ({results.validation.describe()}): it has no validation "
                f"figures to set against {words(test)}, and its test figures, having chosen the best trial, are "
                "optimistic. A study with [data] validation (a held-out fraction or k folds) gets this chart."
            )
        return Unavailable(f"No completed trial recorded {words(validation)}.")
    chosen = results.best
    if chosen is None or chosen.number not in {t.number for t in trials}:
        chosen = rank(trials)[0]
    drawn = sample(trials, limit, keep=[chosen.number])
    points = tuple(_point(t, validation, test) for t in drawn.trials)
    best = next(p for p in points if p.number == chosen.number)
    notes = [
        f"The chosen trial {best.label}: validation {best.validation:.4f}, test {best.test:.4f} "
        f"({difference_text(test, best.difference)})."
    ]
    if drawn.thinned:
        notes.append(drawn.note("completed trials") or "")
    return SelectionData(
        points=points,
        best_number=chosen.number,
        protocol=results.validation.describe(),
        note=" ".join(notes),
        figures=(validation, test),
    )


def _point(trial: TrialRecord, validation: str, test: str) -> SelectionPoint:
    assert trial.config is not None
    return SelectionPoint(
        number=trial.number,
        validation=statistics.fmean(trial.per_seed[validation]),
        test=statistics.fmean(trial.per_seed[test]),
        group=group_of(trial.config),
        label=describe(trial),
    )
