"""One trial's figure summarized, and which trials and which figure a comparison is about.

:func:`summary` describes one trial's per-seed figure (mean, std, interval);
:func:`figure_on` turns a figure named without a split (``accuracy``) and a
split (``on="test"`` or ``"validation"``) into the per-seed figure's name, the
one rule of ``compare --on``, ``report --on`` and the Python API's ``on=``;
the selection helpers pick the trials the ``compare`` modes talk about. The
comparison itself is :mod:`actreg_search.results.paired`'s. Nothing here prints.

Intervals of a mean over seeds, and Holm's correction: :mod:`actreg_search.results.intervals`
(fractions get a logit-scale t-interval that stays in [0, 1], everything else
and every paired difference the t-interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actreg_search.errors import UserError
from actreg_search.results.intervals import accuracy_interval, check_level, t_interval
from actreg_search.results.paired import PairedComparison, by_seed, paired_comparison
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import BOUNDED, METRICS, ON_SPLIT, PER_SEED, SPLIT_OF, TEST_ACCURACY, task_of
from actreg_search.spec.specs import ON_TEST

#: The splits ``on`` may name: the test set, or each seed's validation samples.
SPLITS = ("test", "validation")


@dataclass(frozen=True)
class MetricSummary:
    """One trial's per-seed figure, summarized.

    Attributes:
        trial: The trial's number.
        metric: The per-seed figure (one of ``PER_SEED``).
        n: Number of seeds.
        mean: Mean over seeds.
        std: Sample standard deviation (ddof=1); 0.0 for a single seed, as
            :meth:`TrialRecord.std`.
        ci_low: Lower bound of the confidence interval of the mean (``nan``
            for a single seed): :func:`accuracy_interval`'s for a fraction
            (:data:`BOUNDED`), so it stays within [0, 1]; the t-interval for
            any other figure.
        ci_high: Upper bound of that interval.
        confidence: Level of the interval.
        method: How the interval was made: ``"logit"`` (:func:`accuracy_interval`) or ``"t"``.
    """

    trial: int
    metric: str
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str = "t"


def summary(trial: TrialRecord, metric: str = TEST_ACCURACY, confidence: float = 0.95) -> MetricSummary:
    """Mean, sample std and confidence interval of one trial's figure over its seeds.

    The interval is :func:`accuracy_interval`'s for a fraction (:data:`BOUNDED`:
    accuracies and sparsities), the t-interval for any other figure (see the
    module's "Intervals of a mean over seeds").

    Raises:
        UserError: An unknown metric, a bad ``confidence``, or a trial without that metric.
    """
    check_level(confidence)
    values = np.array(list(by_seed(trial, metric).values()), dtype=float)
    n = len(values)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    if metric in BOUNDED:
        low, high = accuracy_interval(values, confidence)
        method = "logit"
    else:
        low, high = t_interval(values, confidence)
        method = "t"
    return MetricSummary(
        trial=trial.number,
        metric=metric,
        n=n,
        mean=mean,
        std=std,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        method=method,
    )


# --------------------------------------------------------------------------- splits


def figure_on(metric: str = "accuracy", on: str | None = None) -> str:
    """The per-seed figure a comparison uses: ``metric`` on the split ``on``.

    The rule of ``compare --metric/--on``, ``report --on`` and the API's
    ``metric=``/``on=``: ``on`` picks the split of ``accuracy`` and
    ``sparsity`` (``"test"``, the default, or ``"validation"``); any other
    name is a per-seed figure (:data:`~actreg_search.spec.measures.PER_SEED`) and is
    used as named, so an ``on`` that names another split than its own
    (:data:`SPLIT_OF`) is refused rather than ignored.

    Examples: ``("accuracy", None)`` is ``test_accuracy``; ``("accuracy",
    "validation")`` is ``validation_accuracy``; ``("sparsity", "validation")``
    is ``validation_sparsity``; ``("train_loss", None)`` is ``train_loss``;
    ``("train_loss", "validation")`` and ``(TEST_ACCURACY, "validation")``
    are errors.

    Raises:
        UserError: An unknown metric or split, or a split the figure is not measured on.
    """
    if on is not None and on not in SPLITS:
        raise UserError(f"unknown split {on!r}; choose one of {', '.join(SPLITS)}")
    if metric in ON_SPLIT:
        return ON_SPLIT[metric][on or "test"]
    if metric not in PER_SEED:
        raise UserError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    own = SPLIT_OF[metric]
    if on is not None and on != own:
        where = {"train": "the training samples", "test": "the test set", "validation": "the validation samples"}[own]
        raise UserError(
            f"{metric} is measured on {where}, not on the {on} split; a split is chosen for accuracy and "
            f"sparsity only (metric accuracy or sparsity on {on})"
        )
    return metric


def require_figure(results: StudyResults, figure: str) -> None:
    """Refuse, in one line, a figure no completed trial of the study recorded (validation figures under ``"test"``,
    a figure of another task: a regression's accuracy).

    Raises:
        UserError: No completed trial has ``figure``.
    """
    if any(figure in t.per_seed for t in results.completed):
        return
    if results.task not in task_of(figure):
        split = SPLIT_OF.get(figure, "test")
        raise UserError(
            f"study {results.name!r} is a {results.task.value} study: it records no {figure} (a figure of "
            f"{' or '.join(t.value for t in task_of(figure))}); its headline figure is {results.headline(split)}"
        )
    if SPLIT_OF.get(figure) == "validation":
        how = f"it was {ON_TEST.describe()}" if results.selects_on_test else f"its protocol: {results.validation.describe()}"
        raise UserError(
            f"study {results.name!r} has no validation figures to compare ({how}); "
            "use the test split"
        )
    raise UserError(f"study {results.name!r} has no completed trial with per-seed {figure} recorded")


# --------------------------------------------------------------------------- selection


def trial_by_number(results: StudyResults, number: int) -> TrialRecord:
    """The completed trial with that number.

    Raises:
        UserError: No such trial, or it did not complete.
    """
    trial = results.trial(number)
    if trial is not None:
        if not trial.complete:
            raise UserError(
                f"trial {number} of study {results.name!r} is {trial.state.name}, not COMPLETE; "
                "only completed trials can be compared"
            )
        return trial
    numbers = [t.number for t in results.trials]
    known = f"trials {min(numbers)}-{max(numbers)}" if numbers else "no trials"
    raise UserError(f"study {results.name!r} has no trial {number} (it has {known})")


def best_vs_baseline(results: StudyResults) -> tuple[TrialRecord, TrialRecord]:
    """The best unregularized trial and the best regularized one, in that order.

    "Best" is :attr:`StudyResults.ranked`'s order. The regularized trial is the
    best one *with* a regularizer even when an unregularized trial ranks first
    overall, so the pair always answers "does regularization help here?" and
    a comparison of the two (``b - a``) is negative when it does not.

    Returns:
        ``(baseline, challenger)``: pass them to :func:`paired_comparison` in that order.

    Raises:
        UserError: The study has no completed unregularized trial, or no completed regularized one.
    """
    plain, regularized = results.best_unregularized, results.best_regularized
    if plain is None:
        raise UserError(
            f"study {results.name!r} has no completed trial with regularizer 'none' to use as the baseline"
        )
    if regularized is None:
        raise UserError(f"study {results.name!r} has no completed regularized trial to compare with the baseline")
    return plain, regularized


def top_k_vs_best(
    results: StudyResults,
    k: int,
    metric: str = TEST_ACCURACY,
    confidence: float = 0.95,
    min_shared: int = 5,
) -> list[PairedComparison]:
    """Each of the runners-up among the top ``k`` against the best trial.

    The top ``k`` are :meth:`StudyResults.top`'s (by the objective, whatever
    ``metric`` is compared); the best is the reference ``a`` of every
    comparison, so the list has ``k - 1`` entries (fewer if fewer trials
    completed), ranks 2, 3, ... in order.

    Raises:
        UserError: ``k`` below 2, fewer than two completed trials, or any
            error of :func:`paired_comparison`.
    """
    if k < 2:
        raise UserError(f"k must be at least 2 to compare the top trials with the best, got {k}")
    ranked = results.top(k)
    if len(ranked) < 2:
        raise UserError(f"study {results.name!r} has {len(ranked)} completed trial(s); need at least 2 to compare")
    best = ranked[0]
    return [paired_comparison(best, t, metric, confidence, min_shared) for t in ranked[1:]]
