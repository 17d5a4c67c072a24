"""Test accuracy across trials: the optimization history, the regularization path, and accuracy × sparsity."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    PLACEMENTS,
    REGULARIZERS,
    Unavailable,
    describe,
    finite,
    group_of,
    nothing_completed,
    rank,
    strength,
    usable,
)
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.figures import mean_std, sample_std
from actreg_search.results import StudyResults, TrialRecord, pareto_numbers
from actreg_search.vocab import Metric

# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryData:
    """Optimization history: each completed trial's mean ± std test accuracy, and the best so far.

    Attributes:
        numbers: The drawn completed trials' numbers, ascending.
        means: Mean test accuracy over seeds (the first objective).
        stds: Sample std of test accuracy over seeds (0 for one seed).
        labels: :func:`describe` of each trial.
        best_so_far: Best mean up to and including each trial (over every completed trial).
        best_number: Number of the best trial (:attr:`StudyResults.best_trial`).
        not_completed: Trials that failed, were pruned or are still running.
        note: Said under the chart (how many trials are drawn).
    """

    numbers: tuple[int, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    labels: tuple[str, ...]
    best_so_far: tuple[float, ...]
    best_number: int
    not_completed: int
    note: str | None = None


def optimization_history(results: StudyResults, limit: int = MAX_POINTS) -> HistoryData | Unavailable:
    """Data of the optimization history chart.

    Every trial that set a new best is drawn, so the best-so-far line is exact
    when the rest is thinned to ``limit`` markers.
    """
    trials = [t for t in results.completed if finite(t.value)]
    if not trials:
        return nothing_completed(results)
    best, records, so_far = -math.inf, [], {}
    for trial in trials:
        if trial.value > best:  # type: ignore[operator]
            best = trial.value  # type: ignore[assignment]
            records.append(trial.number)
        so_far[trial.number] = best
    top = results.best_trial if results.best_trial is not None and finite(results.best_trial.value) else rank(trials)[0]
    drawn = sample(trials, limit, keep=[top.number, *reversed(records)])
    return HistoryData(
        numbers=tuple(t.number for t in drawn.trials),
        means=tuple(float(t.value) for t in drawn.trials),  # type: ignore[arg-type]
        stds=tuple(t.std("test_accuracy") or 0.0 for t in drawn.trials),
        labels=tuple(describe(t) for t in drawn.trials),
        best_so_far=tuple(so_far[t.number] for t in drawn.trials),
        best_number=top.number,
        not_completed=len(results.trials) - len(trials),
        note=drawn.note("completed trials"),
    )


# --------------------------------------------------------------------------- regularization path


@dataclass(frozen=True)
class PathLine:
    """One regularizer × placement along the coefficient axis, by ascending coefficient.

    Attributes:
        regularizer: ``l1``, ``l2`` or ``l1_l2``.
        placement: Where the penalty is applied.
        log10_strength: ``log10`` of :func:`strength` of each trial.
        means: Mean test accuracy over seeds.
        stds: Its sample std over seeds.
        numbers: The trials.
        hidden_units: Each trial's width.
    """

    regularizer: str
    placement: str
    log10_strength: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    numbers: tuple[int, ...]
    hidden_units: tuple[int, ...]

    @property
    def name(self) -> str:
        """Legend label."""
        return f"{self.regularizer} · {self.placement}"


@dataclass(frozen=True)
class ReferenceBand:
    """The unregularized trials, pooled: every seed of every ``none`` trial.

    Attributes:
        mean: Mean test accuracy of all their seeds.
        std: Sample std of all their seeds.
        n_trials: How many unregularized trials.
        n_runs: How many seed runs in all.
    """

    mean: float
    std: float
    n_trials: int
    n_runs: int


@dataclass(frozen=True)
class PathData:
    """Regularization path: test accuracy against ``log10`` coefficient.

    Attributes:
        lines: One per regularizer × placement with a completed trial.
        reference: The unregularized trials, or ``None`` if there is none.
        note: Said under the chart (no reference; how many trials are drawn).
    """

    lines: tuple[PathLine, ...]
    reference: ReferenceBand | None
    note: str | None


def regularization_path(results: StudyResults, limit: int = MAX_POINTS) -> PathData | Unavailable:
    """Data of the regularization path chart (at most ``limit`` trials, shared between the lines)."""
    trials = usable(results)
    if not trials:
        return nothing_completed(results)
    groups: dict[tuple[str, str], list[TrialRecord]] = {}
    reference_runs: list[float] = []
    n_reference = 0
    for trial in trials:
        assert trial.config is not None
        if trial.config.placement is None:
            reference_runs.extend(trial.per_seed["test_accuracy"])
            n_reference += 1
        elif strength(trial.config) is not None:
            key = (trial.config.regularizer.value, trial.config.placement.value)
            groups.setdefault(key, []).append(trial)
    reference = None
    if reference_runs:
        mean, std = mean_std(reference_runs)
        reference = ReferenceBand(mean=mean, std=std, n_trials=n_reference, n_runs=len(reference_runs))
    if not groups:
        band = (
            f" (the {n_reference} unregularized trials score {reference.mean:.3f} ± {reference.std:.3f})"
            if reference
            else ""
        )
        return Unavailable(f"No regularized trial has completed, so there is no path to draw{band}.")
    lines, drawn, total = [], 0, 0
    per_line = max(2, limit // len(groups))
    for key in sorted(groups, key=lambda k: (REGULARIZERS.index(k[0]), PLACEMENTS.index(k[1]))):
        chosen = sample(groups[key], per_line)
        drawn, total = drawn + len(chosen.trials), total + chosen.total
        ordered = sorted(chosen.trials, key=lambda t: (strength(t.config), t.number))  # type: ignore[arg-type]
        lines.append(
            PathLine(
                regularizer=key[0],
                placement=key[1],
                log10_strength=tuple(math.log10(strength(t.config)) for t in ordered),  # type: ignore[arg-type]
                means=tuple(statistics.fmean(t.per_seed["test_accuracy"]) for t in ordered),
                stds=tuple(sample_std(t.per_seed["test_accuracy"]) for t in ordered),
                numbers=tuple(t.number for t in ordered),
                hidden_units=tuple(t.config.hidden_units for t in ordered),  # type: ignore[union-attr]
            )
        )
    notes = [] if reference else ["No unregularized trial has completed: there is no reference band."]
    if drawn < total:
        notes.append(
            f"Drawn from {drawn:,} of {total:,} regularized trials: the best of each line and an evenly spaced "
            "sample of the rest; the reference band pools every unregularized trial."
        )
    return PathData(lines=tuple(lines), reference=reference, note=" ".join(notes) or None)


# --------------------------------------------------------------------------- accuracy × sparsity


@dataclass(frozen=True)
class SparsityPoint:
    """One completed trial on the accuracy × sparsity plane (means and stds over seeds)."""

    number: int
    sparsity: float
    sparsity_std: float
    accuracy: float
    accuracy_std: float
    group: str
    label: str


@dataclass(frozen=True)
class SparsityData:
    """Test accuracy against activation sparsity, with the Pareto front of both maximized.

    Attributes:
        points: The drawn completed trials with a recorded sparsity, by number
            (the front among them: at least one trial per point of it).
        pareto: Numbers of the drawn trials on the front, by ascending
            sparsity: no other trial is at least as sparse and at least as
            accurate, and strictly better in one.
        note: Said under the chart (how many trials are drawn).
    """

    points: tuple[SparsityPoint, ...]
    pareto: tuple[int, ...]
    note: str | None = None


def sparsity_tradeoff(results: StudyResults, limit: int = MAX_POINTS) -> SparsityData | Unavailable:
    """Data of the accuracy × sparsity chart.

    The front is the study's (:attr:`StudyResults.pareto_front`) when its
    objectives are test accuracy and sparsity; otherwise the front of the two
    means, by the same rule (:func:`~actreg_search.results.pareto_numbers`).
    """
    trials = [t for t in usable(results) if t.per_seed.get("sparsity")]
    if not trials:
        if usable(results):
            return Unavailable("No completed trial recorded its activation sparsity.")
        return nothing_completed(results)
    means = {t.number: (t.mean("sparsity"), t.mean("test_accuracy")) for t in trials}
    if results.objectives == (Metric.TEST_ACCURACY.value, Metric.SPARSITY.value):
        front = results.pareto_front & means.keys()
    else:
        front = pareto_numbers([(n, (acc, sp)) for n, (sp, acc) in means.items()])  # type: ignore[misc]
    ordered_front = sorted(front, key=lambda n: (means[n][0], n))
    corners: dict[tuple[float | None, float | None], int] = {}  # one trial per point of the front first
    for n in ordered_front:
        corners.setdefault(means[n], n)
    drawn = sample(trials, limit, keep=[*corners.values(), *ordered_front])
    shown = {t.number for t in drawn.trials}
    points = []
    for trial in drawn.trials:
        assert trial.config is not None
        sparsity, sparsity_std = mean_std(trial.per_seed["sparsity"])
        accuracy, accuracy_std = mean_std(trial.per_seed["test_accuracy"])
        points.append(
            SparsityPoint(
                number=trial.number,
                sparsity=sparsity,
                sparsity_std=sparsity_std,
                accuracy=accuracy,
                accuracy_std=accuracy_std,
                group=group_of(trial.config),
                label=describe(trial),
            )
        )
    pareto = tuple(n for n in ordered_front if n in shown)
    return SparsityData(points=tuple(points), pareto=pareto, note=drawn.note("completed trials"))
