"""Drawing: each of our charts' data (from :mod:`actreg_search.dashboard.data`) as a plotly figure.

Optuna's own charts (importances, parallel coordinates, slice, Pareto front)
are drawn in :mod:`actreg_search.dashboard.optuna_charts`; the per-seed charts
(learning curves, boxes) in :mod:`actreg_search.dashboard.charts_seeds`,
the sparsity charts (headline figure × sparsity, per layer) in
:mod:`actreg_search.dashboard.charts_sparsity` and the coefficient × learning
rate panels in :mod:`actreg_search.dashboard.charts_rate`, imported here so that every
chart of ours is named here; the colours, symbols, labels, axes, error bars
and layout every chart shares are in :mod:`actreg_search.dashboard.style`.
Every error bar is a 95% interval over seeds (within [0, 1] for a fraction),
drawn asymmetric. Each chart names the figure its data holds: the task's
headline (accuracy, a regression's RMSE, an autoencoder's reconstruction MSE).
The data carries regularizers and placements as enum members; their labels
are written here, when drawing.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from actreg_search.dashboard.charts_rate import rate_figure
from actreg_search.dashboard.charts_seeds import boxes_figure, curves_figure
from actreg_search.dashboard.charts_sparsity import ACCURACY, headline_title, layers_figure, sparsity_figure
from actreg_search.dashboard.data import HistoryData, PathData, SelectionData, WidthData, words
from actreg_search.spec.measures import BOUNDED, POINTS, maximized
from actreg_search.dashboard.style import (
    HEIGHT,
    INTERVAL,
    OTHER_COLOR,
    PLACEMENT_DASHES,
    PLACEMENT_SYMBOLS,
    REGULARIZER_COLORS,
    TEMPLATE,
    error_bars,
    group_label,
    group_style,
    integer_axis,
    layout,
    rgba,
    width_ticks,
)

__all__ = [
    "ACCURACY",
    "HEIGHT",
    "TEMPLATE",
    "boxes_figure",
    "curves_figure",
    "headline_title",
    "history_figure",
    "integer_axis",
    "layers_figure",
    "path_figure",
    "rate_figure",
    "selection_figure",
    "sparsity_figure",
    "width_figure",
]


# --------------------------------------------------------------------------- 1. history


def history_figure(data: HistoryData) -> go.Figure:
    """Each completed trial's selection figure with its 95% interval, the best-so-far line, a star on the best."""
    figure = words(data.metric)
    tests = ["" if t is None else f"<br>{words(data.test_metric)} {t:.4f}" for t in data.tests]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=data.numbers,
            y=data.means,
            error_y=error_bars(data.means, data.lows, data.highs, thickness=1, color="#9ab"),
            mode="markers",
            marker={"color": "#1f77b4", "size": 7},
            name=f"trial (mean, {INTERVAL})",
            text=data.labels,
            customdata=list(zip(data.lows, data.highs, tests, strict=True)),
            hovertemplate=(
                f"%{{text}}<br>{figure} %{{y:.4f}} [%{{customdata[0]:.4f}}, %{{customdata[1]:.4f}}]"
                "%{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=data.numbers,
            y=data.best_so_far,
            mode="lines",
            line={"color": "#d62728", "shape": "hv"},
            name="best so far",
            hovertemplate=f"best {figure} so far %{{y:.4f}}<extra></extra>",
        )
    )
    best = data.numbers.index(data.best_number)
    fig.add_trace(
        go.Scatter(
            x=[data.best_number],
            y=[data.means[best]],
            mode="markers",
            marker={"symbol": "star", "size": 16, "color": "#d62728", "line": {"width": 1, "color": "#222"}},
            name=f"best: trial {data.best_number}",
            text=[data.labels[best]],
            customdata=[tests[best]],
            hovertemplate=f"%{{text}}<br>{figure} %{{y:.4f}}%{{customdata}}<extra>best</extra>",
        )
    )
    return layout(
        fig,
        xaxis={"title": {"text": "trial"}, "zeroline": False, **integer_axis(data.numbers)},
        yaxis_title=data.axis_title,
    )


# --------------------------------------------------------------------------- 2. validation against test


def selection_figure(data: SelectionData) -> go.Figure:
    """Mean test against mean validation of the headline figure (accuracy, RMSE...) of every completed trial, the
    ``y = x`` line, the chosen trial; the difference of a fraction in points, of another figure in its units."""
    fig = go.Figure()
    on_validation, on_test = (words(f) for f in data.figures)
    values = [v for p in data.points for v in (p.validation, p.test)]
    low, high = min(values), max(values)
    bounded = data.figures[1] in BOUNDED  # a fraction's axes stay within [0, 1]
    pad = max((high - low) * 0.05, 0.01 if bounded else 0.01 * max(abs(low), abs(high)) or 0.01)
    span = [max(0.0, low - pad), min(1.0, high + pad)] if bounded else [low - pad, high + pad]
    scale, unit = (100, "%{customdata:+.1f} points") if data.figures[1] in POINTS else (1, "%{customdata:+.4f}")
    hover = f"%{{text}}<br>{on_validation} %{{x:.4f}}<br>{on_test} %{{y:.4f}}<br>test − validation {unit}"
    fig.add_trace(
        go.Scatter(
            x=span,
            y=span,
            mode="lines",
            line={"color": "#888", "dash": "dash", "width": 1},
            name="test = validation",
            hoverinfo="skip",
        )
    )
    for group in sorted({p.group for p in data.points}, key=lambda g: g.order):
        members = [p for p in data.points if p.group == group]
        color, symbol = group_style(group)
        fig.add_trace(
            go.Scatter(
                x=[p.validation for p in members],
                y=[p.test for p in members],
                mode="markers",
                marker={"color": color, "symbol": symbol, "size": 9, "opacity": 0.8},
                name=group_label(group),
                text=[p.label for p in members],
                customdata=[scale * p.difference for p in members],
                hovertemplate=f"{hover}<extra></extra>",
            )
        )
    best = data.best
    fig.add_trace(
        go.Scatter(
            x=[best.validation],
            y=[best.test],
            mode="markers",
            marker={"symbol": "star", "size": 18, "color": "#d62728", "line": {"width": 1, "color": "#222"}},
            name=f"chosen: trial {best.number}",
            text=[best.label],
            customdata=[scale * best.difference],
            hovertemplate=f"{hover}<extra>chosen</extra>",
        )
    )
    return layout(
        fig,
        xaxis={"title": {"text": f"mean {on_validation} (what the study selects on)"}, "range": span},
        yaxis={"title": {"text": f"mean {on_test} (reported)"}, "range": span},
    )


# --------------------------------------------------------------------------- 3. regularization path


def path_figure(data: PathData) -> go.Figure:
    """Mean headline figure on test (accuracy, RMSE...) against log10 coefficient: markers coloured by width, lines
    only within one width.

    Each regularizer × placement is one legend entry (outline: regularizer,
    shape: placement); a line joins only trials of the same width
    (:attr:`PathLine.joined`), so width is never mixed into the coefficient's effect.
    """
    fig = go.Figure()
    if data.reference is not None:
        ref = data.reference
        fig.add_hrect(y0=ref.low, y1=ref.high, fillcolor="#7f7f7f", opacity=0.18, line_width=0)
        fig.add_hline(
            y=ref.mean,
            line={"color": "#555", "dash": "dash"},
            annotation_text=(
                f"unregularized: {ref.mean:.3f}, 95% interval [{ref.low:.3f}, {ref.high:.3f}] "
                f"({ref.n_trials} trials, {ref.n_runs} runs)"
            ),
            annotation_position="bottom left",
        )
    widths = [w for line in data.lines for w in line.hidden_units]
    ticks = width_ticks(widths)
    low, high = math.log10(min(widths)), math.log10(max(widths))
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    for index, line in enumerate(data.lines):
        color = REGULARIZER_COLORS.get(line.regularizer, OTHER_COLOR)
        name = group_label(line.group)
        for run in line.joined:
            fig.add_trace(
                go.Scatter(
                    x=[line.log10_strength[i] for i in run],
                    y=[line.means[i] for i in run],
                    mode="lines",
                    line={
                        "color": rgba(color, 0.6),
                        "dash": PLACEMENT_DASHES[line.placement],
                        "width": 1.5,
                    },
                    name=f"{name}, {line.hidden_units[run[0]]} units",
                    legendgroup=name,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=line.log10_strength,
                y=line.means,
                error_y=error_bars(line.means, line.lows, line.highs, thickness=1, color=rgba(color, 0.7)),
                mode="markers",
                marker={
                    "color": [math.log10(w) for w in line.hidden_units],
                    "colorscale": "Viridis",
                    "cmin": low,
                    "cmax": high,
                    "symbol": PLACEMENT_SYMBOLS[line.placement],
                    "size": 10,
                    "line": {"color": color, "width": 2},
                    "showscale": index == 0,
                    "colorbar": {
                        "title": {"text": "hidden<br>units"},
                        "tickvals": [math.log10(t) for t in ticks],
                        "ticktext": [str(t) for t in ticks],
                    },
                },
                name=name,
                legendgroup=name,
                customdata=list(zip(line.numbers, line.hidden_units, line.lows, line.highs, strict=True)),
                hovertemplate=(
                    "trial %{customdata[0]}, %{customdata[1]} units<br>log10 coefficient %{x:.2f}"
                    f"<br>{words(data.metric)} %{{y:.4f}} [%{{customdata[2]:.4f}}, %{{customdata[3]:.4f}}]"
                    "<extra>%{fullData.name}</extra>"
                ),
            )
        )
    return layout(
        fig,
        xaxis_title="log10(coefficient)   [l1_l2: log10(l1 + l2)]",
        yaxis_title=headline_title(data.metric),
        legend={"title": {"text": "regularizer · placement"}, "x": 1.18},
    )


# --------------------------------------------------------------------------- 8. coefficient × width


def width_figure(data: WidthData) -> go.Figure:
    """The interpolated surface of the headline figure on test over log10 coefficient × hidden width, with the trials
    on top; the colour scale reversed for a figure better lower (RMSE), so that better is the same colour."""
    fig = go.Figure()
    colorscale = "Viridis" if maximized(data.metric) else "Viridis_r"
    scale_title = {"title": {"text": f"mean {words(data.metric).replace(' ', '<br>', 1)}"}}
    accuracies = [p.accuracy for p in data.points]
    if data.grid is not None:
        cells = [v for row in data.grid.z for v in row if v is not None]
        accuracies += cells
    low, high = min(accuracies), max(accuracies)
    if data.grid is not None:
        surface = {
            "x": data.grid.x,
            "y": data.grid.log10_width,
            "z": [list(row) for row in data.grid.z],
            "customdata": [[10**v] * len(data.grid.x) for v in data.grid.log10_width],
        }
        fig.add_trace(
            go.Heatmap(
                **surface,
                colorscale=colorscale,
                zmin=low,
                zmax=high,
                zsmooth="best",
                opacity=0.8,
                colorbar=scale_title,
                hovertemplate="log10 coefficient %{x:.2f}<br>%{customdata:.0f} units<br>interpolated %{z:.4f}"
                "<extra></extra>",
                name="interpolated",
            )
        )
        fig.add_trace(
            go.Contour(
                **surface,
                contours={"coloring": "none"},
                line={"color": "rgba(40,40,40,0.35)", "width": 1},
                showscale=False,
                showlegend=False,
                hoverinfo="skip",
                name="contours",
            )
        )
    for regularizer in dict.fromkeys(p.regularizer for p in data.points):
        members = [p for p in data.points if p.regularizer == regularizer]
        fig.add_trace(
            go.Scatter(
                x=[p.log10_strength for p in members],
                y=[math.log10(p.hidden_units) for p in members],
                mode="markers",
                marker={
                    "color": [p.accuracy for p in members],
                    "colorscale": colorscale,
                    "cmin": low,
                    "cmax": high,
                    "symbol": [PLACEMENT_SYMBOLS[p.placement] for p in members],
                    "size": 11,
                    "line": {"color": REGULARIZER_COLORS.get(regularizer, OTHER_COLOR), "width": 2},
                    "showscale": data.grid is None and regularizer == data.points[0].regularizer,
                    "colorbar": scale_title,
                },
                name=regularizer.value,
                text=[p.label for p in members],
                hovertemplate=f"%{{text}}<br>{words(data.metric)} %{{marker.color:.4f}}<extra></extra>",
            )
        )
    ticks = width_ticks([p.hidden_units for p in data.points])
    return layout(
        fig,
        xaxis_title="log10(coefficient)   [l1_l2: log10(l1 + l2)]",
        yaxis={
            "title": {"text": "hidden units (log scale)"},
            "tickvals": [math.log10(t) for t in ticks],
            "ticktext": [str(t) for t in ticks],
        },
        legend={"title": {"text": "regularizer (outline)"}, "x": 1.18},
    )
