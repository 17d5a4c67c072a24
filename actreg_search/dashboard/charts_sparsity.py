"""Drawing of the sparsity charts: the headline figure (accuracy, RMSE...) against activation sparsity, and
sparsity per marked layer.

:mod:`actreg_search.dashboard.charts` imports both, so every chart of ours is
drawn by a name there.
"""

from __future__ import annotations

import plotly.graph_objects as go

from actreg_search.dashboard.data import LayerData, SparsityData, words
from actreg_search.dashboard.style import (
    INTERVAL,
    PLACEMENT_PATTERNS,
    error_bars,
    group_label,
    group_style,
    layout,
)

ACCURACY = "mean test accuracy"
"""A classification's axis of its headline figure (:func:`headline_title` of ``test_accuracy``)."""

__all__ = ["ACCURACY", "headline_title", "layers_figure", "sparsity_figure"]


def headline_title(metric: str) -> str:
    """The axis of a mean of the headline figure: ``mean test accuracy``, ``mean test RMSE``, ``mean test reconstruction MSE``."""
    return f"mean {words(metric)}"


# --------------------------------------------------------------------------- 5. headline × sparsity


def sparsity_figure(data: SparsityData) -> go.Figure:
    """Mean headline figure on test (:attr:`SparsityData.metric`) against activation sparsity, one trace per group,
    the Pareto front marked.

    A front chosen on the test figures drawn is a staircase through them; one
    chosen on validation figures is rings on its trials, without a line.
    """
    fig = go.Figure()
    by_number = {p.number: p for p in data.points}
    front = [by_number[n] for n in data.pareto if n in by_number]
    on_test = data.front_on == "test"  # else chosen on validation: rings only, no staircase through test figures
    fig.add_trace(
        go.Scatter(
            x=[p.sparsity for p in front],
            y=[p.accuracy for p in front],
            mode="lines+markers" if on_test else "markers",
            line={"color": "#222", "width": 2, "shape": "hv"},
            marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "#222", "width": 2}},
            name="Pareto front" if on_test else "Pareto front on validation",
            hoverinfo="skip",
        )
    )
    for group in sorted({p.group for p in data.points}, key=lambda g: g.order):
        members = [p for p in data.points if p.group == group]
        color, symbol = group_style(group)
        sparsity = [p.sparsity for p in members]
        accuracy = [p.accuracy for p in members]
        fig.add_trace(
            go.Scatter(
                x=sparsity,
                y=accuracy,
                error_x=error_bars(
                    sparsity, [p.sparsity_low for p in members], [p.sparsity_high for p in members],
                    thickness=1, color=color,
                ),
                error_y=error_bars(
                    accuracy, [p.accuracy_low for p in members], [p.accuracy_high for p in members],
                    thickness=1, color=color,
                ),
                mode="markers",
                marker={"color": color, "symbol": symbol, "size": 9},
                name=group_label(group),
                text=[p.label for p in members],
                hovertemplate=f"%{{text}}<br>sparsity %{{x:.3f}}<br>{words(data.metric)} %{{y:.4f}}<extra></extra>",
            )
        )
    return layout(
        fig,
        xaxis_title="activation sparsity (fraction of zero hidden activations, mean over seeds)",
        yaxis_title=headline_title(data.metric),
    )


# --------------------------------------------------------------------------- 5b. sparsity per layer


def layers_figure(data: LayerData) -> go.Figure:
    """Each marked layer's mean sparsity (bars, with their 95% intervals), one bar per group's best trial.

    Bars are coloured by regularizer and hatched by placement; a trial's hover
    gives its layer's figure and its sparsity over every marked layer pooled.
    """
    fig = go.Figure()
    for trial in data.trials:
        color, _ = group_style(trial.group)
        overall = "" if trial.overall is None else f"<br>all marked layers pooled {trial.overall:.3f}"
        fig.add_trace(
            go.Bar(
                x=list(data.layers),
                y=list(trial.means),
                error_y=error_bars(trial.means, trial.lows, trial.highs, thickness=1, color="#333"),
                marker={
                    "color": color,
                    "pattern": {"shape": PLACEMENT_PATTERNS[trial.group.placement], "fillmode": "overlay"},
                },
                name=f"{group_label(trial.group)} (trial {trial.number})",
                customdata=list(zip(trial.lows, trial.highs, strict=True)),
                hovertemplate=(
                    f"{trial.label}<br>layer %{{x}}: sparsity %{{y:.3f}} "
                    f"[%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]{overall}<extra></extra>"
                ),
            )
        )
    return layout(
        fig,
        barmode="group",
        xaxis={"title": {"text": "marked layer"}, "type": "category"},
        yaxis={"title": {"text": f"activation sparsity in the layer (mean, {INTERVAL})"}, "rangemode": "tozero"},
        legend={"title": {"text": "best trial of"}},
    )
