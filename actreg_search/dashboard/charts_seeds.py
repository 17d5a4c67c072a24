"""Drawing of the per-seed charts: the learning curves and the per-seed boxes.

:mod:`actreg_search.dashboard.charts` imports both, so every chart of ours is
drawn by a name there.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from actreg_search.dashboard.data import BoxData, BoxGroup, CurveBand, CurvesData, words
from actreg_search.dashboard.style import (
    REGULARIZER_COLORS,
    TEST_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    integer_axis,
    layout,
    member_label,
    rgba,
    wrap,
)
from actreg_search.results.figures import metric_words
from actreg_search.spec.vocab import Regularizer

#: Colour of a placement's box (the unregularized model's is :data:`REGULARIZER_COLORS`' ``none``).
PLACEMENT_BOX = "#4c72b0"

__all__ = ["box_color", "boxes_figure", "curves_figure"]


# --------------------------------------------------------------------------- 6. learning curves


def curves_figure(data: CurvesData) -> go.Figure:
    """Train, validation (where measured) and test figure per epoch, the task's headline (accuracy, RMSE, reconstruction
    MSE: :attr:`CurvesData.metric`, named on the y axis): mean and min–max band over seeds, per trial."""
    metric = metric_words(data.metric)
    fig = make_subplots(
        rows=1,
        cols=len(data.trials),
        shared_yaxes=True,
        subplot_titles=[wrap(t.title) for t in data.trials],
        horizontal_spacing=0.06,
    )
    for col, trial in enumerate(data.trials, start=1):
        bands = (("train", trial.train, TRAIN_COLOR), ("validation", trial.validation, VALIDATION_COLOR))
        for name, band, color in (*bands, ("test", trial.test, TEST_COLOR)):
            if band is not None:
                _add_band(fig, band, name, color, col, show_legend=col == 1, seeds=trial.n_seeds, metric=metric)
        fig.update_xaxes(title_text="epoch", row=1, col=col, **integer_axis(trial.train.epochs))
    fig.update_yaxes(title_text=metric, row=1, col=1)
    fig.update_annotations(font_size=12)
    return layout(fig, margin={"l": 60, "r": 20, "t": 70, "b": 60})


def _add_band(
    fig: go.Figure, band: CurveBand, name: str, color: str, col: int, *, show_legend: bool, seeds: int, metric: str
) -> None:
    """One curve's min–max band over seeds and its mean line, in subplot ``col``; ``metric`` names the figure."""
    fig.add_trace(
        go.Scatter(
            x=list(band.epochs) + list(reversed(band.epochs)),
            y=list(band.high) + list(reversed(band.low)),
            fill="toself",
            mode="lines",
            fillcolor=rgba(color, 0.15),
            line={"width": 0},
            hoverinfo="skip",
            name=f"{name} (min–max over {seeds} seeds)",
            legendgroup=f"{name}-band",
            showlegend=show_legend,
        ),
        row=1,
        col=col,
    )
    fig.add_trace(
        go.Scatter(
            x=band.epochs,
            y=band.mean,
            mode="lines",
            line={"color": color, "width": 2},
            name=f"{name} (mean)",
            legendgroup=name,
            showlegend=show_legend,
            hovertemplate=f"epoch %{{x}}<br>{name} {metric} %{{y:.4f}}<extra></extra>",
        ),
        row=1,
        col=col,
    )


# --------------------------------------------------------------------------- 7. per-seed boxes


def boxes_figure(data: BoxData) -> go.Figure:
    """Per-seed headline figure on test (accuracy, RMSE...) by placement and by regularizer, and (a classification's)
    the generalization gap by placement."""
    figure = words(data.metric)
    panels: Sequence[tuple[str, tuple[BoxGroup, ...]]] = (
        (f"{figure} by placement", data.accuracy_by_placement),
        (f"{figure} by regularizer", data.accuracy_by_regularizer),
        *((("generalization gap (train − test) by placement", data.gap_by_placement),) if data.gap_by_placement else ()),
    )
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.07)
    for col, (_, groups) in enumerate(panels, start=1):
        for group in groups:
            fig.add_trace(
                go.Box(
                    y=group.values,
                    name=f"{member_label(group.key)}<br>({group.n_trials} trials)",
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                    marker={"color": box_color(group), "size": 4, "opacity": 0.6},
                    line={"color": box_color(group)},
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(title_text=f"{figure} per seed", row=1, col=1)
    if data.gap_by_placement:
        fig.update_yaxes(title_text="train − test accuracy per seed", row=1, col=3)
    fig.update_annotations(font_size=12)
    return layout(fig)


def box_color(group: BoxGroup) -> str:
    """A box's colour: its regularizer's, grey for the unregularized model, one blue for every placement."""
    if group.key is None:
        return REGULARIZER_COLORS[Regularizer.NONE]
    if isinstance(group.key, Regularizer):
        return REGULARIZER_COLORS[group.key]
    return PLACEMENT_BOX
