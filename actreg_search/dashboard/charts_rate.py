"""Drawing of the coefficient × learning rate chart: one panel per placement, the unregularized trials a strip.

:mod:`actreg_search.dashboard.charts` imports it, so every chart of ours is
drawn by a name there.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from actreg_search.dashboard.data import RateData, RatePoint
from actreg_search.dashboard.style import (
    OTHER_COLOR,
    PLACEMENT_SYMBOLS,
    REGULARIZER_COLORS,
    layout,
    wrap,
)
from actreg_search.spec.vocab import Placement, Regularizer

__all__ = ["rate_figure"]

#: The colour scale of the selection figure; reversed for a figure better lower, so the best is always yellow.
COLORSCALE = "Viridis"
#: The strip's one x position (the unregularized trials have no coefficient).
STRIP = "none"


def rate_figure(data: RateData) -> go.Figure:
    """The regularized trials on coefficient × learning rate (both log axes), a panel per placement.

    Fill is the mean selection figure (one colour scale for every panel, the
    best end yellow whatever the figure's direction), outline the regularizer,
    shape the placement; the unregularized trials are a strip of their own on
    the left; an open star rings the chosen trial.
    """
    strip = bool(data.unregularized)
    columns: list[tuple[Placement | None, tuple[RatePoint, ...]]] = [(None, data.unregularized)] if strip else []
    columns += [(panel.placement, panel.points) for panel in data.panels]
    fig = make_subplots(
        rows=1,
        cols=len(columns),
        shared_yaxes=True,
        horizontal_spacing=0.04 if len(columns) < 5 else 0.02,
        column_widths=[0.35 if placement is None else 1.0 for placement, _ in columns],
        subplot_titles=["unregularized" if placement is None else placement.value for placement, _ in columns],
    )
    figures = [p.figure for p in data.points]
    low, high = min(figures), max(figures)
    if high - low < 1e-12:
        low, high = low - 0.005, high + 0.005
    shown_legend: set[Regularizer] = set()
    scale_shown = False
    for col, (placement, points) in enumerate(columns, start=1):
        for regularizer in dict.fromkeys(p.regularizer for p in points):
            members = [p for p in points if p.regularizer is regularizer]
            fig.add_trace(
                go.Scatter(
                    x=[STRIP if p.coefficient is None else p.coefficient for p in members],
                    y=[p.learning_rate for p in members],
                    mode="markers",
                    marker={
                        "color": [p.figure for p in members],
                        "colorscale": COLORSCALE,
                        "reversescale": not data.maximize,
                        "cmin": low,
                        "cmax": high,
                        "symbol": PLACEMENT_SYMBOLS[placement],
                        "size": 11,
                        "line": {"color": REGULARIZER_COLORS.get(regularizer, OTHER_COLOR), "width": 2},
                        "showscale": not scale_shown,
                        "colorbar": {"title": {"text": wrap(data.color_title, 16)}},
                    },
                    name=regularizer.value,
                    legendgroup=regularizer.value,
                    showlegend=regularizer not in shown_legend,
                    text=[p.label for p in members],
                    customdata=[p.number for p in members],
                    hovertemplate=(
                        "%{text}<br>"
                        + ("" if placement is None else "coefficient %{x:.2e}<br>")
                        + f"learning rate %{{y:.2e}}<br>{data.color_title} %{{marker.color:.4f}}<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
            shown_legend.add(regularizer)
            scale_shown = True
        best = [p for p in points if p.number == data.best_number]
        if best:
            fig.add_trace(
                go.Scatter(
                    x=[STRIP if best[0].coefficient is None else best[0].coefficient],
                    y=[best[0].learning_rate],
                    mode="markers",
                    marker={"symbol": "star-open", "size": 22, "color": "#d62728", "line": {"width": 2}},
                    name=f"chosen: trial {best[0].number}",
                    text=[best[0].label],
                    hovertemplate="%{text}<extra>chosen</extra>",
                ),
                row=1,
                col=col,
            )
        if placement is None:
            fig.update_xaxes(type="category", showticklabels=False, row=1, col=col)
        else:
            fig.update_xaxes(type="log", exponentformat="power", title_text="coefficient", row=1, col=col)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="learning rate (log scale)", row=1, col=1)
    first_panel = 2 if strip else 1
    fig.update_xaxes(title_text="coefficient (log scale; l1_l2: l1 + l2)", row=1, col=first_panel)
    return layout(fig, legend={"title": {"text": "regularizer (outline)"}, "x": 1.18})
