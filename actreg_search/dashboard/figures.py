"""Drawing: each of our charts' data (from :mod:`actreg_search.dashboard.data`) as a plotly figure.

Optuna's own charts (importances, parallel coordinates, slice, Pareto front)
are drawn in :mod:`actreg_search.dashboard.optuna_charts`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from actreg_search.dashboard.data import (
    BoxData,
    BoxGroup,
    CurveBand,
    CurvesData,
    HistoryData,
    PathData,
    SparsityData,
    WidthData,
)

TEMPLATE = "plotly_white"
HEIGHT = 440
ACCURACY = "mean test accuracy"
REGULARIZER_COLORS = {"none": "#7f7f7f", "l1": "#1f77b4", "l2": "#ff7f0e", "l1_l2": "#2ca02c"}
PLACEMENT_DASHES = {"pre_activation": "solid", "post_activation": "dash", "kernel": "dot"}
PLACEMENT_SYMBOLS = {"none": "x", "pre_activation": "circle", "post_activation": "diamond", "kernel": "square"}
TRAIN_COLOR, TEST_COLOR = "#1f77b4", "#d62728"


def _layout(fig: go.Figure, **kwargs: object) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE,
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 40, "b": 60},
        legend={"orientation": "v"},
        hoverlabel={"namelength": -1},
    )
    fig.update_layout(**kwargs)
    return fig


def integer_axis(values: Sequence[int], max_ticks: int = 10) -> dict[str, object]:
    """An axis of whole numbers (trials, epochs): ticks at a 1-2-5 step of at least 1, never at 0.5."""
    span = max(values, default=0) - min(values, default=0)
    step = 1
    while span / step > max_ticks:
        for factor in (2, 5 / 2, 2):
            step = round(step * factor)
            if span / step <= max_ticks:
                break
    return {"tickmode": "linear", "tick0": 0, "dtick": step, "tickformat": "d"}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _group_style(group: str) -> tuple[str, str]:
    """Color (by regularizer) and marker symbol (by placement) of ``l1 · kernel`` or ``none``."""
    regularizer, _, placement = group.partition(" · ")
    return REGULARIZER_COLORS.get(regularizer, "#444"), PLACEMENT_SYMBOLS.get(placement or "none", "circle")


def _group_order(group: str) -> tuple[int, int]:
    """``none`` first, then by regularizer and placement as :class:`Regularizer` and :class:`Placement` list them."""
    regularizer, _, placement = group.partition(" · ")
    regularizers, placements = list(REGULARIZER_COLORS), list(PLACEMENT_DASHES)
    return (
        regularizers.index(regularizer) if regularizer in regularizers else len(regularizers),
        placements.index(placement) if placement in placements else -1,
    )


# --------------------------------------------------------------------------- 1. history


def history_figure(data: HistoryData) -> go.Figure:
    """Each completed trial's mean test accuracy with ±std error bars, and the best-so-far line."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=data.numbers,
            y=data.means,
            error_y={"type": "data", "array": data.stds, "visible": True, "thickness": 1, "color": "#9ab"},
            mode="markers",
            marker={"color": "#1f77b4", "size": 7},
            name="trial (mean ± std over seeds)",
            text=data.labels,
            customdata=data.stds,
            hovertemplate="%{text}<br>test accuracy %{y:.4f} ± %{customdata:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=data.numbers,
            y=data.best_so_far,
            mode="lines",
            line={"color": "#d62728", "shape": "hv"},
            name="best so far",
            hovertemplate="best so far %{y:.4f}<extra></extra>",
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
            hovertemplate="%{text}<br>test accuracy %{y:.4f}<extra>best</extra>",
        )
    )
    return _layout(
        fig, xaxis={"title": {"text": "trial"}, "zeroline": False, **integer_axis(data.numbers)}, yaxis_title=ACCURACY
    )


# --------------------------------------------------------------------------- 3. regularization path


def path_figure(data: PathData) -> go.Figure:
    """Mean test accuracy against log10 coefficient, a line and ±std band per regularizer × placement."""
    fig = go.Figure()
    if data.reference is not None:
        ref = data.reference
        fig.add_hrect(y0=ref.mean - ref.std, y1=ref.mean + ref.std, fillcolor="#7f7f7f", opacity=0.18, line_width=0)
        fig.add_hline(
            y=ref.mean,
            line={"color": "#555", "dash": "dash"},
            annotation_text=f"unregularized: {ref.mean:.3f} ± {ref.std:.3f} ({ref.n_trials} trials, {ref.n_runs} runs)",
            annotation_position="bottom left",
        )
    for line in data.lines:
        color = REGULARIZER_COLORS.get(line.regularizer, "#444")
        upper = [m + s for m, s in zip(line.means, line.stds, strict=True)]
        lower = [m - s for m, s in zip(line.means, line.stds, strict=True)]
        if len(line.means) > 1:
            fig.add_trace(
                go.Scatter(
                    x=list(line.log10_strength) + list(reversed(line.log10_strength)),
                    y=upper + lower[::-1],
                    fill="toself",
            mode="lines",
                    fillcolor=_rgba(color, 0.12),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=line.name,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=line.log10_strength,
                y=line.means,
                error_y=None
                if len(line.means) > 1
                else {"type": "data", "array": line.stds, "visible": True, "color": color},
                mode="lines+markers",
                line={"color": color, "dash": PLACEMENT_DASHES.get(line.placement, "solid")},
                marker={"symbol": PLACEMENT_SYMBOLS.get(line.placement, "circle"), "size": 8},
                name=line.name,
                legendgroup=line.name,
                customdata=list(zip(line.numbers, line.hidden_units, line.stds, strict=True)),
                hovertemplate=(
                    "trial %{customdata[0]}, %{customdata[1]} units<br>log10 coefficient %{x:.2f}"
                    "<br>test accuracy %{y:.4f} ± %{customdata[2]:.4f}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    return _layout(fig, xaxis_title="log10(coefficient)   [l1_l2: log10(l1 + l2)]", yaxis_title=ACCURACY)


# --------------------------------------------------------------------------- 4. sparsity


def sparsity_figure(data: SparsityData) -> go.Figure:
    """Mean test accuracy against activation sparsity, one trace per group, the Pareto front drawn."""
    fig = go.Figure()
    by_number = {p.number: p for p in data.points}
    front = [by_number[n] for n in data.pareto if n in by_number]
    fig.add_trace(
        go.Scatter(
            x=[p.sparsity for p in front],
            y=[p.accuracy for p in front],
            mode="lines+markers",
            line={"color": "#222", "width": 2, "shape": "hv"},
            marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "#222", "width": 2}},
            name="Pareto front",
            hoverinfo="skip",
        )
    )
    groups = sorted({p.group for p in data.points}, key=_group_order)
    for group in groups:
        members = [p for p in data.points if p.group == group]
        color, symbol = _group_style(group)
        fig.add_trace(
            go.Scatter(
                x=[p.sparsity for p in members],
                y=[p.accuracy for p in members],
                error_x={"type": "data", "array": [p.sparsity_std for p in members], "thickness": 1, "color": color},
                error_y={"type": "data", "array": [p.accuracy_std for p in members], "thickness": 1, "color": color},
                mode="markers",
                marker={"color": color, "symbol": symbol, "size": 9},
                name=group,
                text=[p.label for p in members],
                hovertemplate="%{text}<br>sparsity %{x:.3f}<br>test accuracy %{y:.4f}<extra></extra>",
            )
        )
    return _layout(
        fig,
        xaxis_title="activation sparsity (fraction of zero hidden activations, mean over seeds)",
        yaxis_title=ACCURACY,
    )


# --------------------------------------------------------------------------- 5. learning curves


def curves_figure(data: CurvesData) -> go.Figure:
    """Train and test accuracy per epoch, mean and min–max band over seeds, one panel per trial."""
    fig = make_subplots(
        rows=1,
        cols=len(data.trials),
        shared_yaxes=True,
        subplot_titles=[_wrap(t.title) for t in data.trials],
        horizontal_spacing=0.06,
    )
    for col, trial in enumerate(data.trials, start=1):
        for name, band, color in (("train", trial.train, TRAIN_COLOR), ("test", trial.test, TEST_COLOR)):
            _add_band(fig, band, name, color, col, show_legend=col == 1, seeds=trial.n_seeds)
        fig.update_xaxes(title_text="epoch", row=1, col=col, **integer_axis(trial.train.epochs))
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    fig.update_annotations(font_size=12)
    return _layout(fig, margin={"l": 60, "r": 20, "t": 70, "b": 60})


def _add_band(fig: go.Figure, band: CurveBand, name: str, color: str, col: int, show_legend: bool, seeds: int) -> None:
    fig.add_trace(
        go.Scatter(
            x=list(band.epochs) + list(reversed(band.epochs)),
            y=list(band.high) + list(reversed(band.low)),
            fill="toself",
            mode="lines",
            fillcolor=_rgba(color, 0.15),
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
            hovertemplate=f"epoch %{{x}}<br>{name} accuracy %{{y:.4f}}<extra></extra>",
        ),
        row=1,
        col=col,
    )


def _wrap(text: str, width: int = 60) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return text[:cut] + "<br>" + text[cut:].lstrip()


# --------------------------------------------------------------------------- 6. per-seed boxes


def boxes_figure(data: BoxData) -> go.Figure:
    """Per-seed test accuracy by placement and by regularizer, and the generalization gap by placement."""
    panels: Sequence[tuple[str, tuple[BoxGroup, ...], str]] = (
        ("test accuracy by placement", data.accuracy_by_placement, "placement"),
        ("test accuracy by regularizer", data.accuracy_by_regularizer, "regularizer"),
        ("generalization gap (train − test) by placement", data.gap_by_placement, "placement"),
    )
    fig = make_subplots(rows=1, cols=3, subplot_titles=[p[0] for p in panels], horizontal_spacing=0.07)
    for col, (_, groups, kind) in enumerate(panels, start=1):
        for group in groups:
            color = REGULARIZER_COLORS.get(group.name, "#1f77b4") if kind == "regularizer" else "#4c72b0"
            if group.name == "none":
                color = REGULARIZER_COLORS["none"]
            fig.add_trace(
                go.Box(
                    y=group.values,
                    name=f"{group.name}<br>({group.n_trials} trials)",
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                    marker={"color": color, "size": 4, "opacity": 0.6},
                    line={"color": color},
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(title_text="test accuracy per seed", row=1, col=1)
    fig.update_yaxes(title_text="train − test accuracy per seed", row=1, col=3)
    fig.update_annotations(font_size=12)
    return _layout(fig)


# --------------------------------------------------------------------------- 7. coefficient × width


def width_figure(data: WidthData) -> go.Figure:
    """The interpolated accuracy surface over log10 coefficient × hidden width, with the trials on top."""
    fig = go.Figure()
    colorscale = "Viridis"
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
                colorbar={"title": {"text": "mean test<br>accuracy"}},
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
                    "symbol": [PLACEMENT_SYMBOLS.get(p.placement, "circle") for p in members],
                    "size": 11,
                    "line": {"color": REGULARIZER_COLORS.get(regularizer, "#222"), "width": 2},
                    "showscale": data.grid is None and regularizer == data.points[0].regularizer,
                    "colorbar": {"title": {"text": "mean test<br>accuracy"}},
                },
                name=regularizer,
                text=[p.label for p in members],
                hovertemplate="%{text}<br>test accuracy %{marker.color:.4f}<extra></extra>",
            )
        )
    ticks = _width_ticks([p.hidden_units for p in data.points])
    return _layout(
        fig,
        xaxis_title="log10(coefficient)   [l1_l2: log10(l1 + l2)]",
        yaxis={
            "title": {"text": "hidden units (log scale)"},
            "tickvals": [math.log10(t) for t in ticks],
            "ticktext": [str(t) for t in ticks],
        },
        legend={"title": {"text": "regularizer (outline)"}, "x": 1.18},
    )


def _width_ticks(widths: Sequence[int]) -> list[int]:
    """Powers of two spanning the widths, plus the extremes."""
    low, high = min(widths), max(widths)
    ticks = {low, high} | {2**k for k in range(0, 16) if low <= 2**k <= high}
    return sorted(ticks)
