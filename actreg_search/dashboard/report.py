"""The report: every chart of a study in one self-contained HTML page.

:func:`build_sections` computes each chart (data from
:mod:`~actreg_search.dashboard.data`, drawing from
:mod:`~actreg_search.dashboard.figures`); a chart that cannot be drawn for this
study becomes a note in its place, and :func:`render_report` never raises for a
study's shape. plotly.js is embedded once, in the page's head, so the file works
offline.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from actreg_search import stats
from actreg_search.dashboard import data as d
from actreg_search.dashboard import figures as f
from actreg_search.dashboard.assets import CSS, LIVE_JS
from actreg_search.dashboard.table import SORTER_JS, table_html, trial_table
from actreg_search.errors import UserError
from actreg_search.results import StudyResults, TrialRecord
from actreg_search.spec import StudySpec

logger = logging.getLogger(__name__)

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
NO_STUDY = "Optuna's charts are drawn from the Optuna study; this report was rendered without it."


@dataclass(frozen=True)
class Chart:
    """One chart of the report, drawn or explained.

    Attributes:
        key: HTML id suffix, e.g. ``history``.
        title: Heading.
        figure: The plotly figure, or ``None`` if it cannot be drawn.
        note: Shown in place of a missing figure, or under a drawn one.
        caveats: Warnings Optuna gave while drawing.
    """

    key: str
    title: str
    figure: go.Figure | None
    note: str | None = None
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A titled group of charts with a caption saying what they show."""

    key: str
    title: str
    caption: str
    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class LivePage:
    """What the live page adds: a poll of the server that reloads when a trial finishes.

    Attributes:
        fingerprint: The study's state this page shows (see ``server.fingerprint``).
        state_url: The JSON endpoint to poll.
        poll_ms: Milliseconds between polls.
    """

    fingerprint: str
    state_url: str = "/state"
    poll_ms: int = 2000


@dataclass(frozen=True)
class _Drawn:
    figure: go.Figure | None
    note: str | None = None
    caveats: tuple[str, ...] = field(default=())


def _chart(key: str, title: str, draw: Callable[[], _Drawn]) -> Chart:
    """Run one chart's drawing; an unexpected error becomes a note, never an exception."""
    try:
        drawn = draw()
    except Exception as exc:  # noqa: BLE001 - one chart must not take the report down
        logger.warning("chart %s could not be drawn", key, exc_info=True)
        return Chart(key, title, None, f"This chart could not be drawn ({type(exc).__name__}: {exc}).")
    return Chart(key, title, drawn.figure, drawn.note, drawn.caveats)


def _from_data(data: object, draw: Callable[[object], go.Figure]) -> _Drawn:
    if isinstance(data, d.Unavailable):
        return _Drawn(None, data.reason)
    return _Drawn(draw(data), getattr(data, "note", None))


def _optuna_chart(
    results: StudyResults, study: optuna.Study | None, min_trials: int, draw: Callable[[optuna.Study], f.OptunaFigure]
) -> _Drawn:
    blocked = d.param_chart_check(results, min_trials=min_trials)
    if blocked is not None:
        return _Drawn(None, blocked.reason)
    if study is None:
        return _Drawn(None, NO_STUDY)
    drawn = draw(study)
    return _Drawn(drawn.figure, None, drawn.caveats)


def build_sections(results: StudyResults, study: optuna.Study | None = None) -> tuple[Section, ...]:
    """Every chart of the report, grouped in sections.

    Args:
        results: The study's trials.
        study: The Optuna study, for Optuna's own charts (importances, parallel
            coordinates, slice); without it those charts are a note.
    """
    return (
        Section(
            "history",
            "1. Optimization history",
            "Each completed trial's mean test accuracy over its seeds, with ±1 std error bars (sample std over "
            "seeds), and the best mean so far. The star is the best trial.",
            (_chart("history", "", lambda: _from_data(d.optimization_history(results), f.history_figure)),),
        ),
        Section(
            "params",
            "2. Hyperparameters",
            "Optuna's hyperparameter importances (optuna.importance.get_param_importances, its default PED-ANOVA "
            "evaluator, which also rates the conditional coefficients) and its parallel coordinates of every "
            "searched parameter against the objective.",
            (
                _chart("importance", "Importances", lambda: _optuna_chart(results, study, 2, f.importance_figure)),
                _chart("parallel", "Parallel coordinates", lambda: _optuna_chart(results, study, 1, f.parallel_figure)),
            ),
        ),
        Section(
            "path",
            "3. Regularization path",
            "Mean test accuracy against log10 of the coefficient, one line per regularizer × placement, each point a "
            "trial with a ±1 std band over seeds; l1_l2 trials are placed at log10(l1 + l2). The grey band is the "
            "unregularized trials (mean ± std over all their seed runs).",
            (_chart("path", "", lambda: _from_data(d.regularization_path(results), f.path_figure)),),
        ),
        Section(
            "sparsity",
            "4. Accuracy against activation sparsity",
            "Mean test accuracy against the fraction of exactly-zero hidden activations on the test set (means over "
            "seeds, ±1 std bars). The black line links the Pareto front: trials no other trial beats on both.",
            (_chart("sparsity", "", lambda: _from_data(d.sparsity_tradeoff(results), f.sparsity_figure)),),
        ),
        Section(
            "curves",
            "5. Learning curves",
            "Train and test accuracy per epoch of the best trial and of the best unregularized trial: the mean over "
            "seeds, with the band from the worst to the best seed.",
            (_chart("curves", "", lambda: _from_data(d.learning_curves(results), f.curves_figure)),),
        ),
        Section(
            "seeds",
            "6. Per-seed spread",
            "Every seed run of every completed trial: test accuracy grouped by placement and by regularizer, and "
            "the generalization gap (train minus test accuracy) by placement. 'none' is the unregularized model.",
            (_chart("boxes", "", lambda: _from_data(d.seed_distributions(results), f.boxes_figure)),),
        ),
        Section(
            "width",
            "7. Coefficient × hidden width",
            "Mean test accuracy over log10 coefficient and hidden width: the trials as markers (fill: accuracy, "
            "outline: regularizer, shape: placement) over a surface linearly interpolated between them. Below, "
            "Optuna's slice plot: the objective against each parameter.",
            (
                _chart("width", "", lambda: _from_data(d.coefficient_width(results), f.width_figure)),
                _chart("slice", "Slice", lambda: _optuna_chart(results, study, 1, f.slice_figure)),
            ),
        ),
    )


# --------------------------------------------------------------------------- HTML


def render_report(
    results: StudyResults, study: optuna.Study | None = None, *, live: LivePage | None = None
) -> str:
    """The report as one self-contained HTML page (plotly.js embedded once; works offline).

    Args:
        results: The study's trials (:func:`actreg_search.results.load_results`).
        study: The Optuna study, for Optuna's own charts; without it they are a note.
        live: For the live page: poll the server and reload when a trial finishes.

    Returns:
        The HTML text. Charts that cannot be drawn for this study (no completed
        trial, a single trial, no unregularized trial...) are a note instead.
    """
    sections = build_sections(results, study)
    body = "\n".join(_section_html(s) for s in sections)
    table = _chart_table(results)
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    nav += '<a href="#trials">8. All trials</a>'
    live_js = ""
    if live is not None:
        live_js = LIVE_JS % {
            "fingerprint": json.dumps(live.fingerprint),
            "state_url": json.dumps(live.state_url),
            "poll_ms": live.poll_ms,
        }
    title = f"{results.name} — actreg-search report"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="actreg-search dashboard">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>{html.escape(results.name)}</h1>
<div class="meta">{_meta_html(results)}</div>
{'<div id="live-status">live: waiting for the first check…</div>' if live else ""}
</header>
<nav>{nav}</nav>
<main>
{_summary_html(results)}
{body}
{table}
</main>
<footer>actreg-search report, generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC.
The same study opens in optuna-dashboard with its storage URL.</footer>
<script>{SORTER_JS}</script>
{f"<script>{live_js}</script>" if live_js else ""}
</body>
</html>
"""


def write_report(results: StudyResults, path: Path, study: optuna.Study | None = None) -> None:
    """Write :func:`render_report` to ``path`` atomically (a failed write leaves no file).

    Raises:
        UserError: The folder of ``path`` does not exist.
    """
    from actreg_search.export import check_out_path, write_text

    path = Path(path)
    check_out_path(path)
    write_text(path, render_report(results, study))


def figure_html(figure: go.Figure, div_id: str) -> str:
    """One figure as a ``<div>`` and the script drawing it (plotly.js is in the page's head)."""
    height = figure.layout.height or f.HEIGHT
    return pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{height}px",
    )


def _section_html(section: Section) -> str:
    parts = [
        f'<section id="{section.key}">',
        f"<h2>{html.escape(section.title)}</h2>",
        f'<p class="caption">{html.escape(section.caption)}</p>',
    ]
    for chart in section.charts:
        parts.append(f'<div class="chart" data-chart="{chart.key}">')
        if chart.title:
            parts.append(f"<h3>{html.escape(chart.title)}</h3>")
        if chart.figure is None:
            parts.append(f'<div class="note" data-note="{chart.key}">{html.escape(chart.note or "Not available.")}</div>')
        else:
            parts.append(figure_html(chart.figure, f"chart-{chart.key}"))
            if chart.note:
                parts.append(f'<p class="chart-note">{html.escape(chart.note)}</p>')
        if chart.caveats:
            items = "".join(f"<li>Optuna: {html.escape(c)}</li>" for c in chart.caveats)
            parts.append(f'<ul class="caveats">{items}</ul>')
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _chart_table(results: StudyResults) -> str:
    note = "" if results.trials else '<div class="note" data-note="trials">The study has no trials yet.</div>'
    return (
        '<section id="trials"><h2>8. All trials</h2>'
        '<p class="caption">Every trial in any state; click a column heading to sort (again to reverse). '
        "Accuracies are means over seeds; time is the training time of all seeds. Failed and pruned trials "
        "say why in the last column.</p>"
        f'{note}<div class="table-wrap">{table_html(trial_table(results))}</div></section>'
    )


def _meta_html(results: StudyResults) -> str:
    counts = results.counts
    items = [f"{counts.total} trials", f"{counts.complete} complete"]
    for label, n in (("pruned", counts.pruned), ("failed", counts.failed), ("running", counts.running)):
        if n:
            items.append(f"{n} {label}")
    spec = results.spec
    if spec is not None:
        items.append(f"sampler {spec.study.sampler.value}")
        items.append(f"{len(spec.study.seeds)} seeds")
        model = spec.model
        items.append(f"{model.epochs} epochs, {model.activation}, engine {model.engine.value}")
        items.append(_split(spec))
    return "".join(f"<span>{html.escape(str(i))}</span>" for i in items)


def _split(spec: StudySpec) -> str:
    """The data and its split, e.g. ``circles: 30 train / 70 test`` or ``digits: 50% train / 50% test``."""
    data = spec.data
    if isinstance(data.train_size, float) and data.train_size < 1:
        return f"{data.name.value}: {data.train_size:.0%} train / {1 - data.train_size:.0%} test"
    if data.n_samples is not None:
        return f"{data.name.value}: {int(data.train_size)} train / {data.n_samples - int(data.train_size)} test"
    return f"{data.name.value}: {int(data.train_size)} train, the rest test"


def _summary_html(results: StudyResults) -> str:
    trials = d.usable(results)
    if not trials:
        reason = html.escape(d.nothing_completed(results).reason)
        return f'<section id="summary"><div class="note">{reason}</div></section>'
    best, plain = d.rank(trials)[0], results.best_unregularized
    rows = [_best_html("Best trial", best)]
    if plain is not None and plain.number != best.number:
        rows.append(_best_html("Best unregularized trial", plain))
    elif plain is None:
        rows.append('<div class="best">No unregularized trial has completed.</div>')
    rows.append(_comparison_html(results))
    return f'<section id="summary"><div class="summary">{"".join(rows)}</div></section>'


def _comparison_html(results: StudyResults) -> str:
    """The best regularized trial against the best unregularized one, seed by seed."""
    try:
        baseline, challenger = stats.best_vs_baseline(results)
        line = stats.paired_comparison(baseline, challenger).describe()
    except UserError as exc:
        line = f"not available: {exc}"
    return f'<div class="best" id="best-vs-baseline"><b>Best vs baseline, paired over seeds</b>: {html.escape(line)}</div>'


def _best_html(label: str, trial: TrialRecord) -> str:
    mean, std = trial.mean("test_accuracy"), trial.std("test_accuracy") or 0.0
    figures = f'test accuracy <span class="value">{mean:.4f} ± {std:.4f}</span> over {len(trial.seeds)} seeds'
    gap, sparsity = trial.mean("gap"), trial.mean("sparsity")
    if gap is not None:
        figures += f', gap <span class="value">{gap:+.4f}</span>'
    if sparsity is not None:
        figures += f', sparsity <span class="value">{sparsity:.3f}</span>'
    return f'<div class="best"><b>{html.escape(label)}</b>: {html.escape(d.describe(trial))}<br>{figures}</div>'
