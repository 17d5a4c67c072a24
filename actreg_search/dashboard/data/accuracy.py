"""The headline figure across trials: the optimization history and the regularization path.

The history plots the figure the study selects on (validation accuracy, or test
accuracy under ``validation = "test"``; a regression's RMSE...); the path plots
the task's headline figure on the test set (accuracy, a regression's RMSE, an
autoencoder's reconstruction MSE: :meth:`StudyResults.headline`), the figure
reported. Every error bar is a 95% interval of the mean over seeds, within
[0, 1] for a fraction (:func:`~actreg_search.dashboard.data.base.interval`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from actreg_search.dashboard.data.base import (
    Group,
    Unavailable,
    describe,
    finite,
    group_of,
    interval,
    nothing_completed,
    rank,
    selection_values,
    strength,
    usable,
    words,
)
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import BOUNDED, TEST_ACCURACY, maximized, mean_std, sample_std
from actreg_search.spec.vocab import Placement, Regularizer

# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryData:
    """Optimization history: each completed trial's selection figure, its 95% interval, and the best so far.

    The selection figure is what the study ranks trials by: mean validation
    accuracy over seeds under a validation protocol, mean test accuracy under
    ``validation = "test"`` (:attr:`StudyResults.selection_metric`).

    Attributes:
        numbers: The drawn completed trials' numbers, ascending.
        means: The selection figure: mean over seeds (the first objective).
        stds: Its sample std over seeds (0 for one seed).
        lows: Lower end of its 95% interval over seeds (:func:`interval`, never below 0).
        highs: Upper end of that interval (never above 1 for a figure bounded to [0, 1]).
        tests: Mean over seeds of the headline figure on the test set, the reported figure (``None`` where not recorded).
        labels: :func:`describe` of each trial.
        best_so_far: Best selection figure up to and including each trial (over every completed trial): the
            highest, the lowest for a figure better lower (``log_loss``).
        best_number: Number of the best trial (:attr:`StudyResults.best`).
        not_completed: Trials that failed, were pruned or are still running.
        metric: The per-seed figure plotted (:attr:`StudyResults.selection_metric`: validation or test accuracy).
        on_test: Whether the study selects on the test set.
        note: Said under the chart (how many trials are drawn).
        test_metric: The reported figure of :attr:`tests` (``test_accuracy``, a regression's ``test_rmse``...).
    """

    numbers: tuple[int, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    tests: tuple[float | None, ...]
    labels: tuple[str, ...]
    best_so_far: tuple[float, ...]
    best_number: int
    not_completed: int
    metric: str = TEST_ACCURACY
    on_test: bool = True
    note: str | None = None
    test_metric: str = TEST_ACCURACY

    @property
    def axis_title(self) -> str:
        """The y axis: which split the plotted figure is measured on (and, for ``log_loss``, that lower is better)."""
        lower = "" if maximized(self.metric) else ", lower is better"
        return f"mean {words(self.metric)}" + (f" (selected on the test set{lower})" if self.on_test else f" (what the study selects on{lower})")


def optimization_history(results: StudyResults, limit: int = MAX_POINTS) -> HistoryData | Unavailable:
    """Data of the optimization history chart, on the figure the study selects on.

    Every trial that set a new best is drawn, so the best-so-far line is exact
    when the rest is thinned to ``limit`` markers.
    """
    trials = [t for t in results.completed if finite(t.value)]
    if not trials:
        return nothing_completed(results)
    sign = 1.0 if maximized(results.selection_metric) else -1.0  # a figure better lower (log_loss): the lowest so far
    best, records, so_far = -math.inf * sign, [], {}
    for trial in trials:
        if sign * trial.value > sign * best:  # type: ignore[operator]
            best = trial.value  # type: ignore[assignment]
            records.append(trial.number)
        so_far[trial.number] = best
    top = results.best if results.best is not None and finite(results.best.value) else rank(trials)[0]
    drawn = sample(trials, limit, keep=[top.number, *reversed(records)])
    spread = [_spread(results, t) for t in drawn.trials]
    return HistoryData(
        numbers=tuple(t.number for t in drawn.trials),
        means=tuple(float(t.value) for t in drawn.trials),  # type: ignore[arg-type]
        stds=tuple(s[0] for s in spread),
        lows=tuple(s[1] for s in spread),
        highs=tuple(s[2] for s in spread),
        tests=tuple(t.mean(results.headline("test")) for t in drawn.trials),
        labels=tuple(describe(t) for t in drawn.trials),
        best_so_far=tuple(so_far[t.number] for t in drawn.trials),
        best_number=top.number,
        not_completed=len(results.trials) - len(trials),
        metric=results.selection_metric,
        on_test=results.selects_on_test,
        note=drawn.note("completed trials"),
        test_metric=results.headline("test"),
    )


def _spread(results: StudyResults, trial: TrialRecord) -> tuple[float, float, float]:
    """Std and 95% interval of a trial's selection figure over seeds (its value itself without per-seed values)."""
    values = selection_values(results, trial)
    if not values:
        value = float(trial.value)  # type: ignore[arg-type]
        return 0.0, value, value
    low, high = interval(values, bounded=results.selection_metric in BOUNDED)
    return sample_std(values), low, high


# --------------------------------------------------------------------------- regularization path

#: Said under the regularization path: how hidden width is drawn.
PATH_ENCODING = (
    "Marker colour is the hidden width (log scale), outline the regularizer, shape the placement. A line joins "
    "only trials of one regularizer × placement and the same width, so trials of different widths are never "
    "joined: a study that searches the width shows mostly unjoined points."
)


@dataclass(frozen=True)
class PathLine:
    """One regularizer × placement along the coefficient axis, by ascending coefficient.

    Attributes:
        regularizer: The penalty (never :attr:`Regularizer.NONE`).
        placement: Where it is applied.
        log10_strength: ``log10`` of :func:`strength` of each trial.
        means: Mean over seeds of the headline figure on the test set (:attr:`PathData.metric`).
        stds: Its sample std over seeds.
        lows: Lower end of its 95% interval over seeds (never below 0).
        highs: Upper end of that interval (never above 1 for a fraction).
        numbers: The trials.
        hidden_units: Each trial's width.
        joined: The points a line may join: per width shared by two or more
            trials, their indices by ascending coefficient. Trials of
            different widths are never joined.
    """

    regularizer: Regularizer
    placement: Placement
    log10_strength: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    numbers: tuple[int, ...]
    hidden_units: tuple[int, ...]
    joined: tuple[tuple[int, ...], ...] = ()

    @property
    def group(self) -> Group:
        """Its regularizer and placement."""
        return Group(self.regularizer, self.placement)


@dataclass(frozen=True)
class ReferenceBand:
    """The unregularized trials, pooled: every seed of every ``none`` trial.

    Attributes:
        mean: Mean of the headline figure on the test set over all their seeds.
        std: Sample std of all their seeds.
        low: Lower end of the 95% interval of that mean (never below 0).
        high: Upper end of that interval (never above 1 for a fraction).
        n_trials: How many unregularized trials.
        n_runs: How many seed runs in all.
    """

    mean: float
    std: float
    low: float
    high: float
    n_trials: int
    n_runs: int


@dataclass(frozen=True)
class PathData:
    """Regularization path: the headline figure on the test set against ``log10`` coefficient, width shown, never
    joined across.

    Attributes:
        lines: One per regularizer × placement with a completed trial.
        reference: The unregularized trials, or ``None`` if there is none.
        note: Said under the chart (how width is drawn; no reference; how many trials are drawn).
        metric: The figure plotted: ``test_accuracy``, a regression's ``test_rmse``, an autoencoder's ``test_mse``.
    """

    lines: tuple[PathLine, ...]
    reference: ReferenceBand | None
    note: str | None
    metric: str = TEST_ACCURACY


def regularization_path(results: StudyResults, limit: int = MAX_POINTS) -> PathData | Unavailable:
    """Data of the regularization path chart (at most ``limit`` trials, shared between the lines).

    The figure is the task's headline on the test set, the reported figure;
    each line's best trials (by the figure the study selects on) are always drawn.
    """
    trials = usable(results)
    metric = results.headline("test")
    bounded = metric in BOUNDED
    if not trials:
        return nothing_completed(results)
    groups: dict[Group, list[TrialRecord]] = {}
    reference_runs: list[float] = []
    n_reference = 0
    for trial in trials:
        assert trial.config is not None
        if trial.config.placement is None:
            reference_runs.extend(trial.per_seed[metric])
            n_reference += 1
        elif strength(trial.config) is not None:
            groups.setdefault(group_of(trial.config), []).append(trial)
    reference = None
    if reference_runs:
        mean, std = mean_std(reference_runs)
        low, high = interval(reference_runs, bounded)
        reference = ReferenceBand(
            mean=mean, std=std, low=low, high=high, n_trials=n_reference, n_runs=len(reference_runs)
        )
    if not groups:
        band = (
            f" (the {n_reference} unregularized trials score {reference.mean:.3f} ± {reference.std:.3f})"
            if reference
            else ""
        )
        return Unavailable(f"No regularized trial has completed, so there is no path to draw{band}.")
    lines, drawn, total = [], 0, 0
    per_line = max(2, limit // len(groups))
    for group in sorted(groups, key=lambda g: g.order):
        chosen = sample(groups[group], per_line)
        drawn, total = drawn + len(chosen.trials), total + chosen.total
        lines.append(_path_line(group, chosen.trials, metric))
    notes = [PATH_ENCODING]
    if not reference:
        notes.append("No unregularized trial has completed: there is no reference band.")
    if drawn < total:
        notes.append(
            f"Drawn from {drawn:,} of {total:,} regularized trials: the best of each line and an evenly spaced "
            "sample of the rest; the reference band pools every unregularized trial."
        )
    return PathData(lines=tuple(lines), reference=reference, note=" ".join(notes), metric=metric)


def _path_line(group: Group, trials: Sequence[TrialRecord], metric: str) -> PathLine:
    assert group.placement is not None
    ordered = sorted(trials, key=lambda t: (strength(t.config), t.number))  # type: ignore[arg-type]
    accuracies = [t.per_seed[metric] for t in ordered]
    bounds = [interval(values, metric in BOUNDED) for values in accuracies]
    widths = tuple(t.config.hidden_units for t in ordered)  # type: ignore[union-attr]
    by_width: dict[int, list[int]] = {}
    for i, width in enumerate(widths):
        by_width.setdefault(width, []).append(i)
    return PathLine(
        regularizer=group.regularizer,
        placement=group.placement,
        log10_strength=tuple(math.log10(strength(t.config)) for t in ordered),  # type: ignore[arg-type]
        means=tuple(statistics.fmean(values) for values in accuracies),
        stds=tuple(sample_std(values) for values in accuracies),
        lows=tuple(b[0] for b in bounds),
        highs=tuple(b[1] for b in bounds),
        numbers=tuple(t.number for t in ordered),
        hidden_units=widths,
        joined=tuple(tuple(run) for width, run in sorted(by_width.items()) if len(run) > 1),
    )
