"""Each chart's data, computed by a pure function over :class:`StudyResults`.

Every function here takes the study's results and returns a frozen dataclass
holding exactly what its chart draws, or :class:`Unavailable` with the reason
the chart cannot be drawn (no completed trial, one trial, no unregularized
trial...). Nothing here renders, reads storage or raises for a study's shape,
so the data of every chart is tested without a browser.

Coefficients are compared on one axis, ``log10`` of the penalty's strength:
the coefficient of ``l1`` and ``l2``, and ``l1 + l2`` for ``l1_l2``
(:func:`strength`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from optuna.trial import TrialState

from actreg_search.config import TrialConfig
from actreg_search.vocab import Placement, Regularizer
from actreg_search.figures import mean_std as _mean_std
from actreg_search.figures import sample_std
from actreg_search.results import StudyResults, TrialRecord

#: Label of the unregularized model where a placement is expected.
UNREGULARIZED = "none"
REGULARIZERS = tuple(r.value for r in Regularizer)
PLACEMENTS = tuple(p.value for p in Placement)
#: Points per axis of the interpolated coefficient × width surface.
GRID_POINTS = 60


@dataclass(frozen=True)
class Unavailable:
    """Why a chart cannot be drawn; the report shows the reason in its place.

    Attributes:
        reason: One or two sentences for the reader.
    """

    reason: str


# --------------------------------------------------------------------------- trials


def strength(config: TrialConfig) -> float | None:
    """The penalty's strength on one axis: ``l1``, ``l2``, or ``l1 + l2``; ``None`` if unregularized."""
    if config.regularizer is Regularizer.NONE:
        return None
    value = config.l1 + config.l2
    return value if value > 0 and math.isfinite(value) else None


def group_of(config: TrialConfig) -> str:
    """A config's regularizer and placement, e.g. ``l1 · pre_activation`` (``none`` if unregularized)."""
    if config.placement is None:
        return UNREGULARIZED
    return f"{config.regularizer.value} · {config.placement.value}"


def describe(trial: TrialRecord) -> str:
    """A short description of a trial, e.g. ``#4 l1 · kernel 1.0e-04, 500 units``."""
    if trial.config is None:
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        return f"#{trial.number} {params}".rstrip()
    return f"#{trial.number} {trial.config.label()}"


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def usable(results: StudyResults) -> list[TrialRecord]:
    """Completed trials with a config and per-seed test accuracies, by number."""
    return [t for t in results.completed if t.config is not None and t.per_seed.get("test_accuracy")]


def rank(trials: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Completed trials best first, as :attr:`StudyResults.ranked` ranks them."""
    return sorted(trials, key=lambda t: t.rank_key)


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


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# --------------------------------------------------------------------------- 1. history


@dataclass(frozen=True)
class HistoryData:
    """Optimization history: each completed trial's mean ± std test accuracy, and the best so far.

    Attributes:
        numbers: Completed trials' numbers, ascending.
        means: Mean test accuracy over seeds (the objective).
        stds: Sample std of test accuracy over seeds (0 for one seed).
        labels: :func:`describe` of each trial.
        best_so_far: Best mean up to and including each trial.
        best_number: Number of the best trial (ties: lower std, then earlier).
        not_completed: Trials that failed, were pruned or are still running.
    """

    numbers: tuple[int, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    labels: tuple[str, ...]
    best_so_far: tuple[float, ...]
    best_number: int
    not_completed: int


def optimization_history(results: StudyResults) -> HistoryData | Unavailable:
    """Data of the optimization history chart."""
    trials = [t for t in results.completed if _finite(t.value)]
    if not trials:
        return nothing_completed(results)
    means = tuple(float(t.value) for t in trials)  # type: ignore[arg-type]
    best, best_so_far = -math.inf, []
    for mean in means:
        best = max(best, mean)
        best_so_far.append(best)
    return HistoryData(
        numbers=tuple(t.number for t in trials),
        means=means,
        stds=tuple(t.std("test_accuracy") or 0.0 for t in trials),
        labels=tuple(describe(t) for t in trials),
        best_so_far=tuple(best_so_far),
        best_number=rank(trials)[0].number,
        not_completed=len(results.trials) - len(trials),
    )


# --------------------------------------------------------------------------- 2. Optuna's charts


def searched_params(results: StudyResults) -> dict[str, int]:
    """Each parameter the sampler chose in completed trials, with its number of distinct values."""
    seen: dict[str, set[object]] = {}
    for trial in results.completed:
        for name, value in trial.params.items():
            seen.setdefault(name, set()).add(value)
    return {name: len(values) for name, values in seen.items()}


def param_chart_check(results: StudyResults, min_trials: int = 1) -> Unavailable | None:
    """Whether Optuna's parameter charts (importances, parallel coordinates, slice) can be drawn.

    Args:
        results: The study.
        min_trials: Completed trials the chart needs (2 for importances).

    Returns:
        ``None`` if the chart can be drawn, else why not.
    """
    completed = results.completed
    if not completed:
        return nothing_completed(results)
    if len(completed) < min_trials:
        return Unavailable(
            f"Needs at least {min_trials} completed trials; the study has {len(completed)}."
        )
    params = searched_params(results)
    if not params:
        return Unavailable("The sampler chose no parameter: every value is fixed by the study file.")
    if min_trials > 1 and max(params.values()) < 2:
        return Unavailable("Every completed trial has the same parameters, so none can matter more than another.")
    return None


# --------------------------------------------------------------------------- 3. regularization path


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
        note: Said under the chart (e.g. that there is no reference).
    """

    lines: tuple[PathLine, ...]
    reference: ReferenceBand | None
    note: str | None


def regularization_path(results: StudyResults) -> PathData | Unavailable:
    """Data of the regularization path chart."""
    trials = usable(results)
    if not trials:
        return nothing_completed(results)
    points: dict[tuple[str, str], list[tuple[float, TrialRecord]]] = {}
    reference_runs: list[float] = []
    n_reference = 0
    for trial in trials:
        assert trial.config is not None
        value = strength(trial.config)
        if trial.config.placement is None:
            reference_runs.extend(trial.per_seed["test_accuracy"])
            n_reference += 1
        elif value is not None:
            key = (trial.config.regularizer.value, trial.config.placement.value)
            points.setdefault(key, []).append((math.log10(value), trial))
    reference = None
    if reference_runs:
        mean, std = _mean_std(reference_runs)
        reference = ReferenceBand(mean=mean, std=std, n_trials=n_reference, n_runs=len(reference_runs))
    if not points:
        band = (
            f" (the {n_reference} unregularized trials score {reference.mean:.3f} ± {reference.std:.3f})"
            if reference
            else ""
        )
        return Unavailable(f"No regularized trial has completed, so there is no path to draw{band}.")
    lines = []
    for key in sorted(points, key=lambda k: (REGULARIZERS.index(k[0]), PLACEMENTS.index(k[1]))):
        ordered = sorted(points[key], key=lambda p: (p[0], p[1].number))
        lines.append(
            PathLine(
                regularizer=key[0],
                placement=key[1],
                log10_strength=tuple(x for x, _ in ordered),
                means=tuple(statistics.fmean(t.per_seed["test_accuracy"]) for _, t in ordered),
                stds=tuple(sample_std(t.per_seed["test_accuracy"]) for _, t in ordered),
                numbers=tuple(t.number for _, t in ordered),
                hidden_units=tuple(t.config.hidden_units for _, t in ordered),  # type: ignore[union-attr]
            )
        )
    note = None if reference else "No unregularized trial has completed: there is no reference band."
    return PathData(lines=tuple(lines), reference=reference, note=note)


# --------------------------------------------------------------------------- 4. sparsity


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
        points: Every completed trial with a recorded sparsity, by number.
        pareto: Numbers of the trials on the front, by ascending sparsity: no
            other trial is at least as sparse and at least as accurate, and
            strictly better in one.
    """

    points: tuple[SparsityPoint, ...]
    pareto: tuple[int, ...]


def sparsity_tradeoff(results: StudyResults) -> SparsityData | Unavailable:
    """Data of the accuracy × sparsity chart."""
    trials = [t for t in usable(results) if t.per_seed.get("sparsity")]
    if not trials:
        if usable(results):
            return Unavailable("No completed trial recorded its activation sparsity.")
        return nothing_completed(results)
    points = []
    for trial in trials:
        assert trial.config is not None
        sparsity, sparsity_std = _mean_std(trial.per_seed["sparsity"])
        accuracy, accuracy_std = _mean_std(trial.per_seed["test_accuracy"])
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
    return SparsityData(points=tuple(points), pareto=pareto_front((p.number, p.sparsity, p.accuracy) for p in points))


def pareto_front(points: Iterable[tuple[int, float, float]]) -> tuple[int, ...]:
    """Numbers of the non-dominated ``(number, x, y)`` points, both maximized, by ascending ``x``."""
    items = list(points)
    front = [
        (x, y, n)
        for n, x, y in items
        if not any(ox >= x and oy >= y and (ox > x or oy > y) for _, ox, oy in items)
    ]
    return tuple(n for _, _, n in sorted(front))


# --------------------------------------------------------------------------- 5. learning curves


@dataclass(frozen=True)
class CurveBand:
    """One accuracy curve over seeds: the mean and the min–max band, per recorded epoch."""

    epochs: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class TrialCurves:
    """Train and test accuracy per epoch of one trial.

    Attributes:
        number: The trial.
        title: What it is, e.g. ``best trial #4 l1 · kernel 1.0e-04, 500 units``.
        train: Train accuracy.
        test: Test accuracy.
        n_seeds: Seeds in the band.
    """

    number: int
    title: str
    train: CurveBand
    test: CurveBand
    n_seeds: int


@dataclass(frozen=True)
class CurvesData:
    """Learning curves of the best trial and of the best unregularized trial.

    Attributes:
        trials: The best trial first, then the best unregularized one (if another).
        note: Said under the chart (no unregularized trial, or the best is unregularized).
    """

    trials: tuple[TrialCurves, ...]
    note: str | None


def learning_curves(results: StudyResults) -> CurvesData | Unavailable:
    """Data of the learning-curves chart."""
    trials = [t for t in usable(results) if _has_curves(t)]
    if not trials:
        if usable(results):
            return Unavailable("No completed trial recorded learning curves.")
        return nothing_completed(results)
    ranked = rank(trials)
    best = ranked[0]
    chosen = [_curves(best, "best trial")]
    plain = [t for t in ranked if t.config is not None and t.config.regularizer is Regularizer.NONE]
    note = None
    if not plain:
        note = "No unregularized trial has completed: only the best trial is shown."
    elif plain[0].number == best.number:
        note = "The best trial is unregularized."
    else:
        chosen.append(_curves(plain[0], "best unregularized trial"))
    return CurvesData(trials=tuple(chosen), note=note)


def _has_curves(trial: TrialRecord) -> bool:
    return bool(trial.curves)


def _curves(trial: TrialRecord, role: str) -> TrialCurves:
    assert trial.curves is not None
    return TrialCurves(
        number=trial.number,
        title=f"{role} {describe(trial)}",
        train=_band(trial.curves.epochs, trial.curves.train),
        test=_band(trial.curves.epochs, trial.curves.test),
        n_seeds=len(trial.curves.test),
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


# --------------------------------------------------------------------------- 6. per-seed boxes


@dataclass(frozen=True)
class BoxGroup:
    """Every seed run of the trials in one group.

    Attributes:
        name: The group (a placement, a regularizer, or ``none``).
        values: One value per seed per trial.
        n_trials: Trials in the group.
    """

    name: str
    values: tuple[float, ...]
    n_trials: int


@dataclass(frozen=True)
class BoxData:
    """Per-seed distributions: test accuracy by placement and by regularizer, gap by placement.

    Groups keep the order of :class:`Placement` and :class:`Regularizer`; the
    unregularized trials are the placement group ``none``; empty groups are left out.
    """

    accuracy_by_placement: tuple[BoxGroup, ...]
    accuracy_by_regularizer: tuple[BoxGroup, ...]
    gap_by_placement: tuple[BoxGroup, ...]


def seed_distributions(results: StudyResults) -> BoxData | Unavailable:
    """Data of the per-seed box plots."""
    trials = usable(results)
    if not trials:
        return nothing_completed(results)

    def placement(t: TrialRecord) -> str:
        return t.config.placement.value if t.config and t.config.placement else UNREGULARIZED

    def regularizer(t: TrialRecord) -> str:
        return t.config.regularizer.value if t.config else UNREGULARIZED

    placements = (UNREGULARIZED, *PLACEMENTS)
    return BoxData(
        accuracy_by_placement=_groups(trials, placement, placements, "test_accuracy"),
        accuracy_by_regularizer=_groups(trials, regularizer, REGULARIZERS, "test_accuracy"),
        gap_by_placement=_groups(trials, placement, placements, "gap"),
    )


def _groups(
    trials: Sequence[TrialRecord], key: Callable[[TrialRecord], str], order: Sequence[str], figure: str
) -> tuple[BoxGroup, ...]:
    groups = []
    for name in order:
        members = [t for t in trials if key(t) == name and t.per_seed.get(figure)]
        if members:
            values = tuple(v for t in members for v in t.per_seed[figure])
            groups.append(BoxGroup(name=name, values=values, n_trials=len(members)))
    return tuple(groups)


# --------------------------------------------------------------------------- 7. coefficient × width


@dataclass(frozen=True)
class WidthPoint:
    """One completed regularized trial on the coefficient × width plane."""

    number: int
    log10_strength: float
    hidden_units: int
    accuracy: float
    regularizer: str
    placement: str
    label: str


@dataclass(frozen=True)
class SurfaceGrid:
    """Mean test accuracy linearly interpolated between the trials, on ``log10`` axes.

    ``z[i][j]`` is at ``x[j]`` (``log10`` strength) and ``log10_width[i]``;
    ``None`` outside the trials' convex hull.
    """

    x: tuple[float, ...]
    log10_width: tuple[float, ...]
    z: tuple[tuple[float | None, ...], ...]


@dataclass(frozen=True)
class WidthData:
    """Coefficient × hidden width: every regularized trial, and the interpolated surface.

    Attributes:
        points: Completed regularized trials, by number.
        grid: The surface, or ``None`` where the trials do not span an area.
        note: Said under the chart.
    """

    points: tuple[WidthPoint, ...]
    grid: SurfaceGrid | None
    note: str | None


def coefficient_width(results: StudyResults) -> WidthData | Unavailable:
    """Data of the coefficient × hidden width chart."""
    trials = usable(results)
    if not trials:
        return nothing_completed(results)
    points = []
    for trial in trials:
        assert trial.config is not None
        value = strength(trial.config)
        if value is None:
            continue
        points.append(
            WidthPoint(
                number=trial.number,
                log10_strength=math.log10(value),
                hidden_units=trial.config.hidden_units,
                accuracy=statistics.fmean(trial.per_seed["test_accuracy"]),
                regularizer=trial.config.regularizer.value,
                placement=trial.config.placement.value,  # type: ignore[union-attr]
                label=describe(trial),
            )
        )
    if not points:
        return Unavailable("No regularized trial has completed, so there is no coefficient to plot.")
    widths = {p.hidden_units for p in points}
    if len(widths) == 1:
        return Unavailable(
            f"The hidden width is not searched here (every regularized trial has {widths.pop()} units); "
            "the regularization path above shows accuracy against the coefficient."
        )
    grid = interpolate_surface(points)
    note = (
        "The surface is interpolated between trials of every regularizer and placement; the markers are the trials."
        if grid
        else "Too few distinct points to interpolate a surface; the markers are the trials."
    )
    return WidthData(points=tuple(points), grid=grid, note=note)


def interpolate_surface(points: Sequence[WidthPoint], size: int = GRID_POINTS) -> SurfaceGrid | None:
    """Linear interpolation of mean test accuracy over ``(log10 strength, log10 width)``.

    Returns ``None`` when the points do not span an area (fewer than three
    distinct points, or all on one line).
    """
    import numpy as np
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    merged: dict[tuple[float, float], list[float]] = {}
    for p in points:
        merged.setdefault((p.log10_strength, math.log10(p.hidden_units)), []).append(p.accuracy)
    if len(merged) < 3:
        return None
    xy = np.array(list(merged))
    z = np.array([statistics.fmean(v) for v in merged.values()])
    gx = np.linspace(xy[:, 0].min(), xy[:, 0].max(), size)
    gy = np.linspace(xy[:, 1].min(), xy[:, 1].max(), size)
    try:
        gz = griddata(xy, z, tuple(np.meshgrid(gx, gy)), method="linear")
    except (QhullError, ValueError):
        return None
    if np.isnan(gz).all():
        return None
    rows = tuple(tuple(None if math.isnan(v) else float(v) for v in row) for row in gz)
    return SurfaceGrid(x=tuple(gx.tolist()), log10_width=tuple(gy.tolist()), z=rows)
