"""What every chart of ours shares: the template, colours and symbols, labels, axes, error bars, the layout.

:mod:`actreg_search.dashboard.charts` draws each chart with these. The data
carries :class:`~actreg_search.spec.vocab.Regularizer` and
:class:`~actreg_search.spec.vocab.Placement` members; their colours, symbols,
dashes and labels are chosen here, when drawing, for every member of the
enums (an rnn's ``output`` and ``recurrent`` included).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from actreg_search.dashboard.data.base import Group
from actreg_search.spec.vocab import Placement, Regularizer

TEMPLATE = "plotly_white"
HEIGHT = 440
#: Colour of each regularizer (outline, line, box), in :class:`Regularizer`'s order.
REGULARIZER_COLORS: dict[Regularizer, str] = dict(
    zip(Regularizer, ("#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#bcbd22", "#e377c2"), strict=True)
)
_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "hexagon", "star", "pentagon", "cross")
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_PATTERNS = ("/", "\\", "x", ".", "+", "-", "|")
#: Marker symbol of each placement, in :class:`Placement`'s order; the unregularized model (``None``) is an ``x``.
PLACEMENT_SYMBOLS: dict[Placement | None, str] = {
    None: "x",
    **{p: _SYMBOLS[i % len(_SYMBOLS)] for i, p in enumerate(Placement)},
}
#: Line dash of each placement.
PLACEMENT_DASHES: dict[Placement, str] = {p: _DASHES[i % len(_DASHES)] for i, p in enumerate(Placement)}
#: Bar hatching of each placement (the unregularized model's bars are solid).
PLACEMENT_PATTERNS: dict[Placement | None, str] = {
    None: "",
    **{p: _PATTERNS[i % len(_PATTERNS)] for i, p in enumerate(Placement)},
}
OTHER_COLOR = "#444"
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


def group_label(group: Group) -> str:
    """A group's legend label: ``l1 · kernel``, or ``none`` for the unregularized model."""
    if group.placement is None:
        return group.regularizer.value
    return f"{group.regularizer.value} · {group.placement.value}"


def member_label(member: Regularizer | Placement | None) -> str:
    """A regularizer's or placement's label; ``none`` for the unregularized model's missing placement."""
    return Regularizer.NONE.value if member is None else member.value


def group_style(group: Group) -> tuple[str, str]:
    """Colour (by regularizer) and marker symbol (by placement) of a group."""
    return REGULARIZER_COLORS.get(group.regularizer, OTHER_COLOR), PLACEMENT_SYMBOLS[group.placement]


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
