"""What every chart of ours shares: the template, colours and symbols, axes, error bars, the layout.

:mod:`actreg_search.dashboard.charts` draws each chart with these.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
HEIGHT = 440
REGULARIZER_COLORS = {"none": "#7f7f7f", "l1": "#1f77b4", "l2": "#ff7f0e", "l1_l2": "#2ca02c"}
PLACEMENT_DASHES = {"pre_activation": "solid", "post_activation": "dash", "kernel": "dot"}
PLACEMENT_SYMBOLS = {"none": "x", "pre_activation": "circle", "post_activation": "diamond", "kernel": "square"}
TRAIN_COLOR, VALIDATION_COLOR, TEST_COLOR = "#1f77b4", "#9467bd", "#d62728"
#: What every error bar of ours is (:func:`actreg_search.dashboard.data.base.interval`).
INTERVAL = "95% interval over seeds"


def layout(fig: go.Figure, **kwargs: object) -> go.Figure:
    """Our template, height, margins and legend, then ``kwargs``."""
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


def error_bars(
    values: Sequence[float], lows: Sequence[float], highs: Sequence[float], **style: object
) -> dict[str, object]:
    """Plotly's asymmetric error bars from each value to its interval's ends (``error_y`` or ``error_x``).

    The bars end exactly at ``lows`` and ``highs`` (within [0, 1] for our
    intervals), never at ``value ± std``.
    """
    return {
        "type": "data",
        "symmetric": False,
        "array": [max(0.0, h - v) for v, h in zip(values, highs, strict=True)],
        "arrayminus": [max(0.0, v - lo) for v, lo in zip(values, lows, strict=True)],
        "visible": True,
        **style,
    }


def rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r,g,b,alpha)``."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def group_style(group: str) -> tuple[str, str]:
    """Color (by regularizer) and marker symbol (by placement) of ``l1 · kernel`` or ``none``."""
    regularizer, _, placement = group.partition(" · ")
    return REGULARIZER_COLORS.get(regularizer, "#444"), PLACEMENT_SYMBOLS.get(placement or "none", "circle")


def group_order(group: str) -> tuple[int, int]:
    """``none`` first, then by regularizer and placement as :class:`Regularizer` and :class:`Placement` list them."""
    regularizer, _, placement = group.partition(" · ")
    regularizers, placements = list(REGULARIZER_COLORS), list(PLACEMENT_DASHES)
    return (
        regularizers.index(regularizer) if regularizer in regularizers else len(regularizers),
        placements.index(placement) if placement in placements else -1,
    )


def wrap(text: str, width: int = 60) -> str:
    """``text`` broken once with ``<br>`` near ``width`` characters (a subplot title)."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    return text[:cut] + "<br>" + text[cut:].lstrip()


def width_ticks(widths: Sequence[int]) -> list[int]:
    """Powers of two spanning the widths, plus the extremes."""
    low, high = min(widths), max(widths)
    ticks = {low, high} | {2**k for k in range(0, 16) if low <= 2**k <= high}
    return sorted(ticks)
