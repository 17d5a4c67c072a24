"""The suite page: several studies side by side in one self-contained, offline HTML page.

:func:`write_suite_page` draws :func:`~actreg_search.results.suite.side_by_side`'s
table of the studies three ways: a heatmap of each penalty's paired difference
with none, study by study, oriented so that better than none is blue in every
row (:func:`~actreg_search.dashboard.data.suite.heatmap_data`); one small
optimization history per study (the best-so-far of the figure it selects on);
and the table itself (:func:`~actreg_search.results.suite.suite_markdown`)
rendered as HTML, with its Markdown below. plotly.js is embedded once, in the
page's head, so the file works offline. Nothing here trains or imports TensorFlow.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import plotly.graph_objects as go

from actreg_search.dashboard.assets import CSS
from actreg_search.dashboard.data.base import Unavailable
from actreg_search.dashboard.data.suite import (
    HeatCell,
    HeatmapData,
    StudyHistory,
    heatmap_data,
    history_axis,
    study_histories,
)
from actreg_search.dashboard.page import document_head, figure_html
from actreg_search.dashboard.style import integer_axis, layout
from actreg_search.results.figures import difference_text, words
from actreg_search.results.paired import format_p
from actreg_search.results.records import StudyResults
from actreg_search.results.suite import side_by_side, suite_markdown

logger = logging.getLogger(__name__)

__all__ = ["heatmap_figure", "markdown_html", "render_suite_page", "small_history_figure", "write_suite_page"]

#: The heatmap's diverging colours: red worse than none, white no difference, blue better.
COLOURS = "RdBu"
#: How a cell whose interval includes 0 is faded.
FADED = 0.35
#: Colour of a cell without a difference (not searched, not compared).
EMPTY = "#eceff3"
#: Height of one small history.
SMALL_HEIGHT = 260
SUITE_CSS = """
.histories .note { align-self: start; }
.histories { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px 16px; }
table.suite { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
table.suite th { background: #eef2f6; text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
table.suite td { padding: 5px 8px; border-bottom: 1px solid #eef1f4; vertical-align: top; min-width: 90px; }
details pre { background: #f7f9fb; padding: 8px; overflow-x: auto; font-size: 12px; }
"""


# --------------------------------------------------------------------------- the heatmap


def _said(cell: HeatCell, value: float) -> str:
    """An oriented difference in its row's unit, signed, without the unit's name (``+8.0``, ``+0.3300``)."""
    return difference_text(cell.figure, value / 100 if cell.unit == "points" else value).removesuffix(" points")


def _hover(cell: HeatCell, level: str) -> str:
    """What hovering a cell says: the oriented difference, its unit and figure, how it was signed, the tests."""
    name = html.escape(f"{cell.study} · {cell.group}")
    if not cell.compared:
        trial = "" if cell.trial is None else f" (trial {cell.trial})"
        return f"<b>{name}</b>{trial}<br>{html.escape(cell.status)}"
    assert cell.better is not None and cell.low is not None and cell.high is not None and cell.raw is not None
    sign = (
        f"{words(cell.figure)} is better lower: penalty − none = {difference_text(cell.figure, cell.raw)}, "
        "sign flipped so that + is better"
        if cell.flipped
        else f"penalty − none on {words(cell.figure)}, + is better"
    )
    if cell.winner:
        verdict = "the row's winner: its choice on validation, and beats none after Holm's correction"
    elif cell.beats_none:
        verdict = "beats none after Holm's correction, but is not the row's choice on validation"
    else:
        verdict = "worse than none" if cell.high < 0 else "does not beat none after Holm's correction"
        verdict += "; the row's choice on validation" if cell.chosen else ""
    lines = [
        f"<b>{name}</b> (trial {cell.trial})",
        f"Δ {_said(cell, cell.better)} {cell.unit} [{_said(cell, cell.low)}, {_said(cell, cell.high)}] ({level} CI), "
        "+ is better than none",
        f"in {cell.unit} of {words(cell.figure)}; {sign}",
        f"Wilcoxon {_p(cell.wilcoxon_p)}" + ("" if cell.holm_p is None else f", Holm {_p(cell.holm_p)}"),
        "n.s.: the interval includes 0" if cell.includes_zero else "the interval excludes 0",
        verdict,
    ]
    return "<br>".join(lines)


def _p(p: float | None) -> str:
    """``p=0.062``, ``p<0.0001``."""
    said = format_p(p) if p is not None else "n/a"
    return f"p{said}" if said.startswith("<") else f"p={said}"


def _label(cell: HeatCell, limit: float) -> dict[str, object]:
    """A cell's annotation: the difference (bold for the winner), its interval, ``n.s.`` where it includes 0."""
    if not cell.compared:
        return {"text": "—", "font": {"color": "#8a96a3", "size": 12}}
    assert cell.better is not None and cell.low is not None and cell.high is not None
    value = _said(cell, cell.better)
    text = f"<b>{value}</b>" if cell.winner else value
    text += f"<br><span style='font-size:9px'>[{_said(cell, cell.low)}, {_said(cell, cell.high)}]</span>"
    if cell.includes_zero:
        text += "<br><i>n.s.</i>"
    elif cell.winner:
        text += "<br><b>winner</b>"
    if cell.chosen and not cell.winner:
        text += "<br><i>chosen</i>"
    strong = cell.colour is not None and not cell.includes_zero and abs(cell.colour) > 0.6 * limit
    return {"text": text, "font": {"color": "white" if strong else "#1d2733", "size": 11}}


def heatmap_figure(data: HeatmapData) -> go.Figure:
    """Studies (rows) × penalties (columns): each cell its difference with none, better than none blue.

    A cell whose interval includes 0 is faded and marked ``n.s.``; the row's winner is outlined and bold, its choice
    on validation where that is not the winner outlined dotted and marked ``chosen``; a cell
    without a difference (not searched, not compared) is light grey with a dash. Hovering a cell says its unit
    (points of accuracy, RMSE units...) and whether its sign was flipped (a figure better lower).
    """
    level = f"{data.confidence:.0%}"
    xs, ys = list(range(len(data.groups))), list(range(len(data.rows)))
    cells = [row.cells for row in data.rows]

    def grid(keep: Callable[[HeatCell], bool], value: Callable[[HeatCell], float | None]) -> list[list[float | None]]:
        return [[value(c) if keep(c) else None for c in row] for row in cells]

    hover = [[_hover(c, level) for c in row] for row in cells]
    common = dict(x=xs, y=ys, text=hover, hovertemplate="%{text}<extra></extra>", xgap=3, ygap=3, hoverongaps=False)
    scale = dict(colorscale=COLOURS, zmid=0, zmin=-data.limit, zmax=data.limit)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        z=grid(lambda c: not c.compared, lambda c: 0.0), colorscale=[[0, EMPTY], [1, EMPTY]], showscale=False,
        name="no difference", **common,
    ))
    fig.add_trace(go.Heatmap(
        z=grid(lambda c: c.compared and not c.includes_zero, lambda c: c.colour), name="interval excludes 0",
        colorbar={"title": {"text": data.colour_title, "side": "right"}, "thickness": 14}, **scale, **common,
    ))
    fig.add_trace(go.Heatmap(
        z=grid(lambda c: c.includes_zero, lambda c: c.colour), opacity=FADED, showscale=False,
        name="n.s.: interval includes 0", **scale, **common,
    ))
    for y, row in enumerate(cells):
        for x, cell in enumerate(row):
            fig.add_annotation(x=x, y=y, showarrow=False, **_label(cell, data.limit))  # type: ignore[arg-type]
            if cell.chosen:  # the winner solid, a choice that does not beat none dotted
                line = {"color": "#111", "width": 3} if cell.winner else {"color": "#111", "width": 2, "dash": "dot"}
                fig.add_shape(type="rect", x0=x - 0.48, x1=x + 0.48, y0=y - 0.48, y1=y + 0.48, line=line)
    ticks = [
        f"{html.escape(r.study)}<br><span style='font-size:10px'>{html.escape(r.dataset)} · {words(r.figure)}"
        f"{' (chosen on test)' if r.chosen_on_test else ''}</span>"
        for r in data.rows
    ]
    return layout(
        fig,
        height=max(260, 110 + 64 * len(data.rows)),
        margin={"l": 190, "r": 20, "t": 30, "b": 110 if len(xs) > 4 else 50},
        xaxis={"tickmode": "array", "tickvals": xs, "ticktext": [html.escape(g) for g in data.groups],
               "tickangle": -30 if len(xs) > 4 else 0, "showgrid": False, "zeroline": False, "side": "bottom"},
        yaxis={"tickmode": "array", "tickvals": ys, "ticktext": ticks, "autorange": "reversed",
               "showgrid": False, "zeroline": False},
        plot_bgcolor="white",
    )


# --------------------------------------------------------------------------- the small histories


def small_history_figure(history: StudyHistory) -> go.Figure | None:
    """A study's best-so-far of the figure it selects on, by trial number, with each trial faint; ``None`` if it
    cannot be drawn (:attr:`StudyHistory.data` is :class:`Unavailable`)."""
    data = history.data
    if isinstance(data, Unavailable):
        return None
    said = words(data.metric)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=data.numbers, y=data.means, mode="markers", marker={"color": "#9fb3c8", "size": 5}, name="trial",
        text=data.labels, hovertemplate=f"%{{text}}<br>{said} %{{y:.4f}}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=data.numbers, y=data.best_so_far, mode="lines", line={"color": "#d62728", "shape": "hv"}, name="best so far",
        hovertemplate=f"trial %{{x}}: best {said} so far %{{y:.4f}}<extra></extra>",
    ))
    best = data.numbers.index(data.best_number)
    fig.add_trace(go.Scatter(
        x=[data.best_number], y=[data.means[best]], mode="markers", name=f"best: trial {data.best_number}",
        marker={"symbol": "star", "size": 12, "color": "#d62728", "line": {"width": 1, "color": "#222"}},
        text=[data.labels[best]], hovertemplate=f"%{{text}}<br>{said} %{{y:.4f}}<extra>best</extra>",
    ))
    return layout(
        fig,
        height=SMALL_HEIGHT,
        margin={"l": 60, "r": 10, "t": 36, "b": 40},
        title={"text": html.escape(history.study), "font": {"size": 14}, "x": 0.02},
        showlegend=False,
        xaxis={"title": {"text": "trial"}, "zeroline": False, **integer_axis(data.numbers, max_ticks=6)},
        yaxis={"title": {"text": history_axis(data), "font": {"size": 10}}},
    )


# --------------------------------------------------------------------------- the table


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _inline(text: str) -> str:
    """The table's Markdown inline: ``**bold**``, ``*italic*``, ```code```, ``<br>`` and ``\\|``; the rest escaped."""
    text = html.escape(text.replace("\\|", "|"), quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<i>\1</i>", text)
    return text.replace("&lt;br&gt;", "<br>")


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip() for cell in _CELL_SPLIT.split(inner)]


def markdown_html(text: str) -> str:
    """:func:`~actreg_search.results.suite.suite_markdown`'s text as HTML: its paragraphs, its table, its list."""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if all(line.startswith("|") for line in lines) and len(lines) >= 2:
            head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(lines[0]))
            body = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(line)) + "</tr>" for line in lines[2:]
            )
            parts.append(f'<div class="table-wrap"><table class="suite"><thead><tr>{head}</tr></thead>'
                         f"<tbody>{body}</tbody></table></div>")
        elif all(line.startswith("- ") for line in lines):
            parts.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        else:
            parts.append(f'<p class="caption">{_inline(" ".join(lines))}</p>')
    return "\n".join(parts)


# --------------------------------------------------------------------------- the page


def _drawn(key: str, draw: Callable[[], go.Figure | None], note: str) -> str:
    """A chart's ``<div>``, or a note in its place (also when drawing fails: one chart never takes the page down)."""
    try:
        figure = draw()
    except Exception as exc:  # noqa: BLE001
        logger.warning("suite chart %s could not be drawn", key, exc_info=True)
        figure, note = None, f"This chart could not be drawn ({type(exc).__name__}: {exc})."
    if figure is None:
        return f'<div class="note" data-note="{key}">{html.escape(note)}</div>'
    return f'<div class="chart" data-chart="{key}">{figure_html(figure, f"chart-{key}")}</div>'


def _heatmap_caption(data: HeatmapData | Unavailable, level: str) -> str:
    scaled = isinstance(data, HeatmapData) and data.scaled
    return (
        "Each cell is a penalty's best trial (chosen on its study's selection figure, on validation) against the "
        "study's best unregularized trial (none), on the study's test figure, seed by seed: the mean paired difference "
        f"and its {level} interval. Signs are oriented so that blue is better than none in every row: an accuracy's "
        "difference as it is, in percentage points; a figure better lower (RMSE, reconstruction MSE) with its sign "
        "flipped, in its own units. Faded cells marked n.s. have an interval that includes 0; the outlined, bold cell "
        "is the row's winner: the penalty of its study's best trial on validation, better than none on test after "
        "Holm's correction over its row; a dotted outline marks the row's choice where it does not beat none (none "
        "chosen: no outline). A dash: the study did not search "
        "that penalty, or it could not be compared (hover for why)."
        + (" The studies' figures differ in units, so each figure's colours are scaled to its largest difference "
           "(±1); the numbers are in each row's own unit." if scaled else "")
    )


def render_suite_page(studies: Sequence[StudyResults], confidence: float = 0.95) -> str:
    """The suite page as one self-contained HTML text (plotly.js embedded once; works offline).

    Args:
        studies: The studies, one row each, in this order.
        confidence: The intervals' level (:func:`~actreg_search.results.suite.side_by_side`).
    """
    table = side_by_side(studies, confidence)
    level = f"{confidence:.0%}"
    heat = heatmap_data(table)
    heat_html = _drawn(
        "heatmap", lambda: heatmap_figure(heat) if isinstance(heat, HeatmapData) else None,
        heat.reason if isinstance(heat, Unavailable) else "",
    )
    histories = "\n".join(
        _drawn(f"history-{i}", lambda h=h: small_history_figure(h),
               f"{h.study}: {h.data.reason}" if isinstance(h.data, Unavailable) else "")
        for i, h in enumerate(study_histories(studies))
    )
    text = suite_markdown(table)
    meta = "".join(
        f"<span>{html.escape(r.study)}: {html.escape(r.dataset)}, {r.task.value}, {len(s.completed)} completed</span>"
        for r, s in zip(table.rows, studies, strict=True)
    )
    title = f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'} side by side — actreg-search suite"
    return f"""{document_head(title, CSS + SUITE_CSS)}
<body>
<header>
<h1>{html.escape(title.split(" — ")[0])}</h1>
<div class="meta">{meta}</div>
</header>
<nav><a href="#heatmap">1. Each penalty against none</a><a href="#histories">2. Optimization histories</a><a href="#table">3. The table</a></nav>
<main>
<section id="heatmap"><h2>1. Each penalty against none</h2>
<p class="caption">{html.escape(_heatmap_caption(heat, level))}</p>
{heat_html}
</section>
<section id="histories"><h2>2. Optimization histories</h2>
<p class="caption">Each study's best-so-far of the figure it selects on, by trial number (the highest accuracy, the
lowest RMSE or log loss so far), each completed trial a faint dot and the best trial a star.</p>
<div class="histories">
{histories}
</div>
</section>
<section id="table"><h2>3. The table</h2>
{markdown_html(text)}
<details><summary>Markdown</summary><pre>{html.escape(text)}</pre></details>
</section>
</main>
<footer>actreg-search suite, generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC.</footer>
</body>
</html>
"""


def write_suite_page(studies: Sequence[StudyResults], path: Path) -> None:
    """Write :func:`render_suite_page` to ``path`` atomically (a temporary file, then replaced; a failed write
    leaves no file).

    Args:
        studies: The studies, one row each, in this order.
        path: The HTML file to write.

    Raises:
        UserError: The folder of ``path`` does not exist.
    """
    from actreg_search.results.export import check_out_path, write_text

    path = Path(path)
    check_out_path(path)
    write_text(path, render_suite_page(studies))
