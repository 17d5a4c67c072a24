"""Coefficient × hidden width: the regularized trials, and the mean of the task's headline figure on the test set
(accuracy, a regression's RMSE, an autoencoder's reconstruction MSE) interpolated between them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from actreg_search.dashboard.data.base import Unavailable, describe, nothing_completed, strength, usable, words
from actreg_search.dashboard.data.thinning import MAX_POINTS, sample
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import TEST_ACCURACY
from actreg_search.spec.vocab import Placement, Regularizer

#: Points per axis of the interpolated coefficient × width surface.
GRID_POINTS = 60


@dataclass(frozen=True)
class WidthPoint:
    """One completed regularized trial on the coefficient × width plane; ``accuracy`` is its mean headline figure on test
    (:attr:`WidthData.metric`)."""

    number: int
    log10_strength: float
    hidden_units: int
    accuracy: float
    regularizer: Regularizer
    placement: Placement
    label: str


@dataclass(frozen=True)
class SurfaceGrid:
    """The mean headline figure on test linearly interpolated between the trials, on ``log10`` axes.

    ``z[i][j]`` is at ``x[j]`` (``log10`` strength) and ``log10_width[i]``;
    ``None`` outside the trials' convex hull.
    """

    x: tuple[float, ...]
    log10_width: tuple[float, ...]
    z: tuple[tuple[float | None, ...], ...]


@dataclass(frozen=True)
class WidthData:
    """Coefficient × hidden width: the regularized trials, and the interpolated surface.

    Attributes:
        points: The drawn completed regularized trials, by number.
        grid: The surface (from every trial), or ``None`` where the trials do not span an area.
        note: Said under the chart.
        metric: The figure: ``test_accuracy``, a regression's ``test_rmse``, an autoencoder's ``test_mse``.
    """

    points: tuple[WidthPoint, ...]
    grid: SurfaceGrid | None
    note: str | None
    metric: str = TEST_ACCURACY


def coefficient_width(results: StudyResults, limit: int = MAX_POINTS) -> WidthData | Unavailable:
    """Data of the coefficient × hidden width chart (at most ``limit`` markers; the surface uses every trial)."""
    trials = [t for t in usable(results) if strength(t.config) is not None]  # type: ignore[arg-type]
    if not trials:
        if usable(results):
            return Unavailable("No regularized trial has completed, so there is no coefficient to plot.")
        return nothing_completed(results)
    widths = {t.config.hidden_units for t in trials}  # type: ignore[union-attr]
    if len(widths) == 1:
        return Unavailable(
            f"The hidden width is not searched here (every regularized trial has {widths.pop()} units); "
            f"the regularization path above shows {words(results.headline('test'))} against the coefficient."
        )
    metric = results.headline("test")
    points = [_point(t, metric) for t in trials]
    grid = interpolate_surface(points)
    drawn = sample(trials, limit)
    shown = {t.number for t in drawn.trials}
    notes = [
        "The surface is interpolated between trials of every regularizer and placement; the markers are the trials."
        if grid
        else "Too few distinct points to interpolate a surface; the markers are the trials."
    ]
    if drawn.thinned:
        notes.append(f"{drawn.note('regularized trials')} The surface uses every trial.")
    return WidthData(points=tuple(p for p in points if p.number in shown), grid=grid, note=" ".join(notes), metric=metric)


def _point(trial: TrialRecord, metric: str) -> WidthPoint:
    config = trial.config
    return WidthPoint(
        number=trial.number,
        log10_strength=math.log10(strength(config)),  # type: ignore[arg-type]
        hidden_units=config.hidden_units,
        accuracy=statistics.fmean(trial.per_seed[metric]),
        regularizer=config.regularizer,
        placement=config.placement,
        label=describe(trial),
    )


def interpolate_surface(points: Sequence[WidthPoint], size: int = GRID_POINTS) -> SurfaceGrid | None:
    """Linear interpolation of the points' figure over ``(log10 strength, log10 width)``.

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
