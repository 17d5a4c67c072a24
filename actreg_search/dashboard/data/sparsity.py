"""Headline × sparsity: each trial's test accuracy (a regression's RMSE...) against its activation sparsity, and the
Pareto front.

The points are the reported figures: the task's headline figure on the test
set (accuracy, a regression's RMSE, an autoencoder's reconstruction MSE:
:meth:`StudyResults.headline`), and sparsity on the test inputs. The front
marked among them is chosen where the study chooses: on the test figures for a
study selecting on the test set, and on the validation figures (the headline
and sparsity on validation) under a validation protocol, so the chart never
picks trials by their test figures where the study did not. Sparsity is
maximized, the headline in its registry direction (a lower RMSE is better).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    Group,
    Unavailable,
    describe,
    group_of,
    interval,
    nothing_completed,
    usable,
    words,
)
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.results.records import StudyResults, TrialRecord, pareto_numbers
from actreg_search.spec.measures import (
    BOUNDED,
    SPARSITY,
    TEST_ACCURACY,
    VALIDATION_ACCURACY,
    VALIDATION_SPARSITY,
    maximized,
    mean_std,
)

#: The figures a classification draws: accuracy and sparsity on the test set.
DRAWN = (TEST_ACCURACY, SPARSITY)
#: The same two figures measured on the validation samples.
VALIDATION = (VALIDATION_ACCURACY, VALIDATION_SPARSITY)


@dataclass(frozen=True)
class SparsityPoint:
    """One completed trial on the headline × sparsity plane: means, stds and 95% intervals over seeds.

    ``accuracy`` is the task's headline figure on the test set (:attr:`SparsityData.metric`: test accuracy, a
    regression's RMSE...) and sparsity is measured on the test inputs; the
    intervals (``*_low``, ``*_high``) of a fraction stay within [0, 1]; ``group`` is its
    regularizer and placement, ``label`` :func:`describe` of it.
    """

    number: int
    sparsity: float
    sparsity_std: float
    accuracy: float
    accuracy_std: float
    group: Group
    label: str
    sparsity_low: float = math.nan
    sparsity_high: float = math.nan
    accuracy_low: float = math.nan
    accuracy_high: float = math.nan


@dataclass(frozen=True)
class SparsityData:
    """The headline figure on test against activation sparsity, with the Pareto front of the two (each in its direction).

    Attributes:
        points: The drawn completed trials with a recorded sparsity, by number
            (the front among them: at least one trial per point of it).
        pareto: Numbers of the drawn trials on the front, by ascending
            sparsity (of the figures the front is chosen on): no other trial is
            at least as sparse and at least as good on the headline, and strictly better in one.
        front_on: Where the front is chosen: ``"test"`` (the figures drawn, so
            it is a staircase through the points) or ``"validation"`` (the
            validation figures; its trials are marked where their test figures put them).
        note: Said under the chart (which front; how many trials are drawn).
        metric: The headline figure drawn: ``test_accuracy``, ``test_rmse``, ``test_mse``.
    """

    points: tuple[SparsityPoint, ...]
    pareto: tuple[int, ...]
    note: str | None = None
    front_on: str = "test"
    metric: str = TEST_ACCURACY


def sparsity_tradeoff(results: StudyResults, limit: int = MAX_POINTS) -> SparsityData | Unavailable:
    """Data of the headline × sparsity chart.

    The front is the study's own (:attr:`StudyResults.pareto_numbers`) when its
    objectives are the headline figure and sparsity; otherwise the front of the two
    means, by the same rule (:func:`~actreg_search.results.records.pareto_numbers`);
    either way on the validation figures under a validation protocol (where
    every trial drawn has them), else on the test figures drawn.
    """
    trials = [t for t in usable(results) if t.per_seed.get(SPARSITY)]
    if not trials:
        if usable(results):
            return Unavailable("No completed trial recorded its activation sparsity.")
        return nothing_completed(results)
    drawn_figures = (results.headline("test"), SPARSITY)
    validation = (results.headline("validation"), VALIDATION_SPARSITY)
    on_validation = not results.selects_on_test and all(t.per_seed.get(f) for t in trials for f in validation)
    figures = validation if on_validation else drawn_figures
    chosen_on = {t.number: (t.mean(figures[1]), t.mean(figures[0])) for t in trials}  # (sparsity, headline)
    if results.objectives == figures:
        front = results.pareto_numbers & chosen_on.keys()
    else:
        points = [(n, (head, sp)) for n, (sp, head) in chosen_on.items()]
        front = pareto_numbers(points, (maximized(figures[0]), True))  # type: ignore[arg-type]
    ordered_front = sorted(front, key=lambda n: (chosen_on[n][0], n))
    corners: dict[tuple[float | None, float | None], int] = {}  # one trial per point of the front first
    for n in ordered_front:
        corners.setdefault(chosen_on[n], n)
    drawn = sample(trials, limit, keep=[*corners.values(), *ordered_front])
    shown = {t.number for t in drawn.trials}
    notes = []
    if on_validation:
        notes.append(
            f"The ringed trials are the Pareto front of {words(figures[0])} and validation sparsity (where the "
            "study chooses), drawn at their test figures; they need not form a front there."
        )
    if drawn.thinned:
        notes.append(drawn.note("completed trials") or "")
    return SparsityData(
        points=tuple(_point(t, drawn_figures[0]) for t in drawn.trials),
        pareto=tuple(n for n in ordered_front if n in shown),
        note=" ".join(notes) or None,
        front_on="validation" if on_validation else "test",
        metric=drawn_figures[0],
    )


def _point(trial: TrialRecord, metric: str) -> SparsityPoint:
    assert trial.config is not None
    sparsity, sparsity_std = mean_std(trial.per_seed[SPARSITY])
    accuracy, accuracy_std = mean_std(trial.per_seed[metric])
    sparsity_low, sparsity_high = interval(trial.per_seed[SPARSITY])
    accuracy_low, accuracy_high = interval(trial.per_seed[metric], metric in BOUNDED)
    return SparsityPoint(
        number=trial.number,
        sparsity=sparsity,
        sparsity_std=sparsity_std,
        accuracy=accuracy,
        accuracy_std=accuracy_std,
        group=group_of(trial.config),
        label=describe(trial),
        sparsity_low=sparsity_low,
        sparsity_high=sparsity_high,
        accuracy_low=accuracy_low,
        accuracy_high=accuracy_high,
    )
