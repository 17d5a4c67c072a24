"""The read model: a stored study as typed, immutable records.

:mod:`actreg_search.store.reader` builds these from storage; every reader of results
(``run``'s summary, ``list``, ``show``, ``compare``, ``report``, ``export``, the
dashboard and the live page) asks :class:`StudyResults` for the best trial, the
top ``k``, the best unregularized trial, the state counts and the Pareto front,
so there is one rule for each, and one tie rule (:func:`rank_key`).
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from actreg_search.results.counts import SplitCounts, StateCounts
from actreg_search.spec.measures import BY_NAME, ON_SPLIT, PER_SEED, SPLIT_OF, TEST_ACCURACY, headline, maximized, sample_std
from actreg_search.spec.specs import ON_TEST, StudySpec, Validation
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Regularizer, Task

__all__ = [
    "PER_SEED",
    "Curves",
    "SplitCounts",
    "StateCounts",
    "StudyResults",
    "StudySummary",
    "TrialRecord",
    "pareto_numbers",
    "rank_key",
]


def rank_key(number: int, value: float | None, accuracies: Sequence[float], maximize: bool = True) -> tuple[float, float, int]:
    """The one ranking of completed trials: better value (higher, or lower where ``maximize`` is false: ``log_loss``),
    then lower std over seeds, then earlier.

    ``value`` is the first objective, the mean of its figure where the study
    selects (validation, or test under ``validation = "test"``), and
    ``accuracies`` that figure's per-seed values: under a validation protocol
    nothing measured on the test set enters the ranking. Accuracy on a few
    samples ties often (70 samples: steps of 1/70), so the tie rule decides
    which trial is "the best" in every command. A trial without a value ranks last.
    """
    if value is None:
        return (float("inf"), sample_std(accuracies), number)
    return (-value if maximize else value, sample_std(accuracies), number)


def pareto_numbers(points: Sequence[tuple[int, Sequence[float]]], maximize: Sequence[bool] | None = None) -> frozenset[int]:
    """Numbers of the non-dominated points, every value maximized (or, where ``maximize`` says false, minimized).

    A point is dominated when another is at least as good in every value and
    better in one. Points are swept best-first by their first value, each checked
    against the front so far (numpy over the front), so 10,000 points take
    milliseconds when the front is small.
    """
    if not points:
        return frozenset()
    numbers = np.array([n for n, _ in points])
    values = np.array([list(v) for _, v in points], dtype=float)
    if maximize is not None:  # a minimized value, negated, is maximized
        values = values * np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    order = np.lexsort(tuple(-values[:, i] for i in reversed(range(values.shape[1]))))
    front: list[int] = []
    for i in order:
        if front:
            kept = values[front]
            if np.any(np.all(kept >= values[i], axis=1) & np.any(kept > values[i], axis=1)):
                continue
        front.append(int(i))
    return frozenset(int(numbers[i]) for i in front)


@dataclass(frozen=True)
class Curves:
    """A trial's learning curves, of its task's headline figure (accuracy, RMSE, reconstruction MSE: :meth:`StudyResults.headline`).

    Attributes:
        epochs: The 1-based epochs at which the figure was recorded.
        train: Per seed, the figure on the training samples at each of ``epochs``.
        test: Per seed, on the test set at each of ``epochs``.
        validation: Per seed, on the validation samples at each of ``epochs`` (empty under ``validation = "test"``).
    """

    epochs: tuple[int, ...]
    train: tuple[tuple[float, ...], ...]
    test: tuple[tuple[float, ...], ...]
    validation: tuple[tuple[float, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.epochs and self.train and self.test)


@dataclass(frozen=True)
class TrialRecord:
    """One stored trial, typed.

    Attributes:
        number: Optuna's trial number.
        state: COMPLETE, FAIL, PRUNED, RUNNING or WAITING.
        params: What the sampler chose.
        config: The full config trained (``None`` if the trial failed before sampling).
        values: Every objective's value, if complete (one for single-objective studies).
        seeds: The seeds trained.
        per_seed: Each of :data:`PER_SEED` to its per-seed values (``sparsity`` and
            ``activation_mean`` over every marked layer together).
        per_layer: ``sparsity`` and ``activation_mean`` of each marked layer: figure -> layer -> per-seed values.
        wall_time_s: Training time of all seeds.
        duration_s: Optuna's start-to-end time.
        fail_reason: Why the trial failed or was pruned, if it did.
        worker: The process that trained it, ``host:pid`` (``None`` if it failed before training).
        worker_rss_mb: That process's resident memory after the trial, in MiB (complete trials).
        distributions: The sampler's distribution of each parameter.
        curves: The learning curves, where they were read (see :func:`actreg_search.store.reader.load_results`).
        ranked_on: The per-seed figure its study ranks by (:attr:`StudyResults.selection_metric`, which the
            reader sets); ``None``: the headline figure on validation where recorded, else on test (:attr:`selection_metric`).
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    config: TrialConfig | None
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    per_seed: dict[str, tuple[float, ...]]
    wall_time_s: float | None
    duration_s: float | None
    fail_reason: str | None
    distributions: Mapping[str, BaseDistribution] = field(default_factory=dict, repr=False)
    curves: Curves | None = field(default=None, repr=False)
    per_layer: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict, repr=False)
    worker: str | None = None
    worker_rss_mb: float | None = None
    ranked_on: str | None = None

    def label(self) -> str:
        """The config in a few words (``l1 · pre_activation 1.0e-04, 500 units``); the sampler's values if it has none."""
        return self.config.label() if self.config is not None else str(self.params)

    @property
    def value(self) -> float | None:
        """The first objective: mean of its figure over seeds where the study selects (validation, or test), if complete."""
        return self.values[0] if self.values else None

    @property
    def selection_metric(self) -> str:
        """The per-seed figure this trial is ranked by: :attr:`ranked_on`, else its task's headline figure (accuracy,
        RMSE, reconstruction MSE, whichever it recorded) on validation where measured, else on test."""
        if self.ranked_on is not None:
            return self.ranked_on
        recorded = (headline(task, split) for task in Task for split in ("validation", "test"))
        return next((name for name in recorded if name in self.per_seed), TEST_ACCURACY)

    @property
    def complete(self) -> bool:
        """Whether the trial finished with a value."""
        return self.state is TrialState.COMPLETE and bool(self.values)

    @property
    def regularized(self) -> bool | None:
        """Whether a penalty was applied (``None`` without a config)."""
        return None if self.config is None else self.config.regularizer is not Regularizer.NONE

    def mean(self, name: str) -> float | None:
        """Mean over seeds of a per-seed figure, if recorded."""
        values = self.per_seed.get(name)
        return statistics.fmean(values) if values else None

    def std(self, name: str) -> float | None:
        """Sample std over seeds of a per-seed figure, if recorded."""
        values = self.per_seed.get(name)
        return sample_std(values) if values else None

    @functools.cached_property
    def rank_key(self) -> tuple[float, float, int]:
        """This trial's place in :func:`rank_key`'s order, in its figure's direction (:func:`~actreg_search.spec.measures.maximized`)."""
        figure = self.selection_metric
        return rank_key(self.number, self.value, self.per_seed.get(figure, ()), maximized(figure))


@dataclass(frozen=True)
class StudyResults:
    """A stored study, read back.

    Attributes:
        name: The study's name.
        trials: Every trial, by number.
        spec: The study file the study was created from (``None`` for studies
            not made by actreg_search).
        objectives: The per-seed figure each objective selects on, e.g.
            the validation accuracy and sparsity, or the test accuracy and
            sparsity under ``validation = "test"`` (:func:`~actreg_search.spec.specs.StudySpec.selection_fields`).
        split: Samples per split (``None`` for a study stored before they were recorded).
    """

    name: str
    trials: tuple[TrialRecord, ...]
    spec: StudySpec | None
    objectives: tuple[str, ...] = (TEST_ACCURACY,)
    split: SplitCounts | None = None

    @property
    def validation(self) -> Validation:
        """The study's validation protocol (a study not made by actreg_search, or made before validation existed: the test set)."""
        return self.spec.validation if self.spec is not None else ON_TEST

    @property
    def task(self) -> Task:
        """What the study's models learn (a study without a spec: classification)."""
        return self.spec.study.task if self.spec is not None else Task.CLASSIFICATION

    def headline(self, split: str = "test") -> str:
        """The per-seed figure the study's task leads with on ``split`` (:func:`~actreg_search.spec.measures.headline`):
        ``test_accuracy``, ``validation_rmse``, ``train_mse``..."""
        return headline(self.task, split)

    @property
    def selection_metric(self) -> str:
        """The per-seed figure the study selects on: the validation accuracy (or ``validation_log_loss``,
        ``validation_rmse``...), or the test one under ``"test"``."""
        return self.objectives[0]

    @property
    def selects_on_test(self) -> bool:
        """Whether the study chose its best trial on the test set (its test figures are then optimistic)."""
        return SPLIT_OF.get(self.selection_metric, "test") == "test"

    @property
    def objective_figures(self) -> tuple[str, ...]:
        """The per-seed figures of the objectives besides the task's headline figure and sparsity (``log_loss``, a
        regression's ``r2``...), on the validation samples (where measured) and on the test set: the columns ``show``
        and the trials table add after the headline's."""
        metrics = [m for name in self.objectives if (m := getattr(BY_NAME.get(name), "metric", None)) is not None]
        splits = ("test",) if self.selects_on_test else ("validation", "test")
        return tuple(ON_SPLIT[m.value][s] for m in metrics if m.of_predictions and m is not self.task.headline for s in splits)

    @property
    def maximizes(self) -> tuple[bool, ...]:
        """Per objective, whether it is maximized (``False``: minimized, ``log_loss``), as the study was made."""
        return tuple(maximized(name) for name in self.objectives)

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives."""
        return len(self.objectives) > 1

    @functools.cached_property
    def counts(self) -> StateCounts:
        """Trials by state."""
        return StateCounts.of([t.state for t in self.trials])

    def count(self, state: TrialState) -> int:
        """Number of trials in a state."""
        return self.counts.of_state(state)

    @functools.cached_property
    def completed(self) -> list[TrialRecord]:
        """Completed trials, by number."""
        return [t for t in self.trials if t.complete]

    @functools.cached_property
    def ranked(self) -> list[TrialRecord]:
        """Completed trials, best first (:func:`rank_key`, on :attr:`selection_metric` in its direction)."""
        figure, up = self.selection_metric, maximized(self.selection_metric)
        return sorted(
            self.completed, key=lambda t: rank_key(t.number, t.value, t.per_seed.get(figure) or t.per_seed.get(t.selection_metric, ()), up)
        )

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial by the study's selection figure (:func:`rank_key`), if any."""
        return self.ranked[0] if self.ranked else None

    def top(self, k: int) -> list[TrialRecord]:
        """The ``k`` best completed trials, best first."""
        return self.ranked[:k]

    def leading(self, k: int) -> list[TrialRecord]:
        """The trials ``show`` lists: the top ``k``; for a multi-objective study, the Pareto front's first ``k``."""
        return self.top(k) if not self.multi_objective else self.pareto_front()[:k]

    @property
    def best_unregularized(self) -> TrialRecord | None:
        """The best completed trial without a penalty, if any."""
        return next((t for t in self.ranked if t.regularized is False), None)

    @property
    def best_regularized(self) -> TrialRecord | None:
        """The best completed trial with a penalty, if any."""
        return next((t for t in self.ranked if t.regularized), None)

    def pareto_front(self) -> list[TrialRecord]:
        """The Pareto-optimal completed trials (each objective in its direction, :attr:`maximizes`), ranked; empty
        for one objective."""
        return [t for t in self.ranked if t.number in self.pareto_numbers]

    @functools.cached_property
    def pareto_numbers(self) -> frozenset[int]:
        """Numbers of the Pareto-optimal completed trials (each objective in its direction); empty for one objective."""
        if not self.multi_objective:
            return frozenset()
        points = [(t.number, t.values) for t in self.completed if len(t.values) == len(self.objectives)]
        return pareto_numbers(points, self.maximizes)

    @functools.cached_property
    def _by_number(self) -> dict[int, TrialRecord]:
        return {t.number: t for t in self.trials}

    def trial(self, number: int) -> TrialRecord | None:
        """The trial with this number, if any."""
        return self._by_number.get(number)


@dataclass(frozen=True)
class StudySummary:
    """A study in brief: its trial counts and its best trial, read without loading trials.

    Attributes:
        name: The study.
        counts: Trials by state.
        best_value: The best trial's first objective (:func:`rank_key`).
        best_trial: Its number.
    """

    name: str
    counts: StateCounts
    best_value: float | None
    best_trial: int | None
