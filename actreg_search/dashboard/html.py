"""The report: every chart of a study in one self-contained HTML page.

:func:`build_sections` computes each chart (data from
:mod:`~actreg_search.dashboard.data`, drawing from
:mod:`~actreg_search.dashboard.charts` and, for Optuna's own charts,
:mod:`~actreg_search.dashboard.optuna_charts` on an in-memory study built from
the same results); a chart that cannot be drawn for this study becomes a note
in its place, and :func:`render_report` never raises for a study's shape.
Every chart and caption names the study's headline figure (accuracy, a
regression's RMSE, an autoencoder's reconstruction MSE: :meth:`StudyResults.headline`);
the gap, train minus test accuracy, is a classification's only.
A multi-objective study gets Optuna's charts once per objective and Optuna's
Pareto front; a study searching the learning rate gets the coefficient ×
learning rate panels (:func:`~actreg_search.dashboard.data.coefficient_learning_rate`).
plotly.js is embedded once, in the page's head, so the file works offline.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go

from actreg_search.dashboard import data as d
from actreg_search.dashboard import charts as f
from actreg_search.dashboard import optuna_charts as oc
from actreg_search.dashboard.assets import CSS, LIVE_JS
from actreg_search.dashboard.page import (
    TRIALS_TITLE,
    Chart,
    Section,
    document_head,
    meta_html,
    section_html,
    summary_html,
    trials_html,
)
from actreg_search.dashboard.style import INTERVAL
from actreg_search.dashboard.table import SORTER_JS
from actreg_search.results.figures import has_gap, metric_words
from actreg_search.results.records import StudyResults
from actreg_search.spec.measures import BOUNDED, maximized

logger = logging.getLogger(__name__)

__all__ = ["Chart", "LivePage", "Section", "build_sections", "render_report", "write_report"]


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


class _OptunaCharts:
    """Optuna's charts of one report, all drawn from one in-memory study built on first use."""

    def __init__(self, results: StudyResults) -> None:
        self.results = results
        self.targets = d.targets(results)
        self._source: d.OptunaInput | d.Unavailable | None = None

    def source(self) -> d.OptunaInput | d.Unavailable:
        if self._source is None:
            self._source = d.optuna_input(self.results)
        return self._source

    def _draw(self, blocked: d.Unavailable | None, draw: Callable[[d.OptunaInput], oc.OptunaFigure]) -> _Drawn:
        if blocked is not None:
            return _Drawn(None, blocked.reason)
        source = self.source()
        if isinstance(source, d.Unavailable):
            return _Drawn(None, source.reason)
        drawn = draw(source)
        return _Drawn(drawn.figure, source.note, drawn.caveats)

    def per_objective(
        self, key: str, title: str, min_trials: int, draw: Callable[[d.OptunaInput, d.Target], oc.OptunaFigure]
    ) -> tuple[Chart, ...]:
        """One chart per objective (keys ``key-objective`` when there are several)."""
        blocked = d.param_chart_check(self.results, min_trials=min_trials)
        if len(self.targets) == 1:
            target = self.targets[0]
            return (_chart(key, title, lambda: self._draw(blocked, lambda s: draw(s, target))),)
        return tuple(
            _chart(f"{key}-{t.key}", f"{title}: {t.name}", lambda t=t: self._draw(blocked, lambda s: draw(s, t)))
            for t in self.targets
        )

    def pareto(self) -> tuple[Chart, ...]:
        """Optuna's Pareto front, for a multi-objective study only."""
        if not self.results.multi_objective:
            return ()
        return (_chart("pareto", "Pareto front (Optuna)", lambda: self._draw(None, oc.pareto_figure)),)


def build_sections(results: StudyResults) -> tuple[Section, ...]:
    """Every chart of the report, grouped in sections.

    Args:
        results: The study's trials, with the curves of the drawn trials
            (:func:`actreg_search.store.reader.load_results` with ``curves="drawn"``).
    """
    optuna_charts = _OptunaCharts(results)
    several = results.multi_objective
    layered = bool(d.layer_names(results.trials))  # models with several marked layers: sparsity per layer too
    rated = d.searches_learning_rate(results)  # the learning rate searched: coefficient × learning rate too
    objective = "each objective (one chart per objective)" if several else "the objective"
    test = results.headline("test")
    metric, said = metric_words(test), d.words(test)  # "accuracy", "test accuracy"; "RMSE", "test RMSE"...
    below = "below" if maximized(test) else "above"  # where a test figure worse than on validation sits
    return (
        Section(
            "history",
            "1. Optimization history",
            history_caption(results),
            (_chart("history", "", lambda: _from_data(d.optimization_history(results), f.history_figure)),),
        ),
        Section(
            "selection",
            f"2. Validation against test {metric}",
            f"Every completed trial's mean {said} (the figure reported) against its mean "
            f"{d.words(results.headline('validation'))} (the figure the study selects on), with the line "
            f"test = validation. The star is the chosen trial, the one with the best validation {metric}; how far it "
            f"sits {below} the line is how much choosing on validation overstated it.",
            (_chart("selection", "", lambda: _from_data(d.validation_vs_test(results), f.selection_figure)),),
        ),
        Section(
            "params",
            "3. Hyperparameters",
            "Optuna's hyperparameter importances (optuna.importance.get_param_importances, its default PED-ANOVA "
            "evaluator, which also rates the conditional coefficients) and its parallel coordinates of every "
            f"searched parameter against {objective}.",
            (
                *optuna_charts.per_objective("importance", "Importances", 2, oc.importance_figure),
                *optuna_charts.per_objective("parallel", "Parallel coordinates", 1, oc.parallel_figure),
            ),
        ),
        Section(
            "path",
            "4. Regularization path",
            f"Mean {said} against log10 of the coefficient, each point a trial with its {INTERVAL}; l1_l2 "
            "trials are placed at log10(l1 + l2). Colour is the hidden width (log scale), outline the regularizer, "
            "shape the placement; a line joins only trials of the same regularizer, placement and width, so a "
            "change of width is never drawn as an effect of the coefficient. The grey band is the unregularized "
            "trials (the 95% interval of the mean of all their seed runs).",
            (_chart("path", "", lambda: _from_data(d.regularization_path(results), f.path_figure)),),
        ),
        Section(
            "sparsity",
            f"5. {metric[0].upper()}{metric[1:]} against activation sparsity",
            f"Mean {said} against the fraction of exactly-zero hidden activations on the test set (means over "
            f"seeds, bars: {INTERVAL}). "
            + (
                "The black line links the Pareto front of the two figures drawn: trials no other trial beats on both."
                if results.selects_on_test
                else f"The rings mark the Pareto front of {d.words(results.headline('validation'))} and validation "
                "sparsity, where the study chooses: trials no other trial beats on both there, drawn at their test figures."
            )
            + (" Below, Optuna's own Pareto front of the study's objectives." if several else "")
            + (
                " Below, each marked layer's own sparsity, for the best trial of each regularizer × placement."
                if layered
                else ""
            ),
            (
                _chart("sparsity", "", lambda: _from_data(d.sparsity_tradeoff(results), f.sparsity_figure)),
                *optuna_charts.pareto(),
                *((_chart("layers", "Sparsity per layer", lambda: _layers(results)),) if layered else ()),
            ),
        ),
        Section(
            "curves",
            "6. Learning curves",
            "Train"
            + (", validation" if not results.selects_on_test else "")
            + f" and test {metric} per epoch of the best trial and of the best unregularized trial: the mean over "
            "seeds, with the band from the worst to the best seed.",
            (_chart("curves", "", lambda: _from_data(d.learning_curves(results), f.curves_figure)),),
        ),
        Section(
            "seeds",
            "7. Per-seed spread",
            f"Every seed run of every completed trial: {said} grouped by placement and by regularizer"
            + (", and the generalization gap (train minus test accuracy) by placement" if has_gap(results.task) else "")
            + ". 'none' is the unregularized model.",
            (_chart("boxes", "", lambda: _from_data(d.seed_distributions(results), f.boxes_figure)),),
        ),
        Section(
            "width",
            "8. Coefficient × hidden width" + (" and learning rate" if rated else ""),
            f"Mean {said} over log10 coefficient and hidden width: the trials as markers (fill: {metric}, "
            "outline: regularizer, shape: placement) over a surface linearly interpolated between them. "
            + (
                f"Below, the coefficient against the learning rate (both log scales), one panel per placement, "
                f"filled by the figure the study selects on (mean {d.selection_words(results)}); l1_l2 trials at "
                "l1 + l2, "
                "the unregularized trials a strip of their own. "
                if rated
                else ""
            )
            + f"{'Last' if rated else 'Below'}, Optuna's slice plot: {objective} against each parameter.",
            (
                _chart("width", "", lambda: _from_data(d.coefficient_width(results), f.width_figure)),
                *((_chart("learning_rate", "Coefficient × learning rate", lambda: _rate(results)),) if rated else ()),
                *optuna_charts.per_objective("slice", "Slice", 1, oc.slice_figure),
            ),
        ),
    )


def _rate(results: StudyResults) -> _Drawn:
    return _from_data(d.coefficient_learning_rate(results), f.rate_figure)


def _layers(results: StudyResults) -> _Drawn:
    return _from_data(d.layer_sparsity(results), f.layers_figure)


def history_caption(results: StudyResults) -> str:
    """What the history plots: the figure the study selects on, and on which split."""
    chosen = results.selection_metric
    how = "t-interval on the logit scale, within [0, 1]" if chosen in BOUNDED else "t-interval"
    said = d.words(chosen) + ("" if maximized(chosen) else " (lower is better)")
    if results.selects_on_test:
        return (
            f"Each completed trial's mean {said} over its seeds, with its {INTERVAL} ({how}), "
            "and the best mean so far. The star is the best trial. This study selects "
            f"on the test set, so the best trial's {d.words(chosen)} is optimistic."
        )
    return (
        f"Each completed trial's mean {said} over its seeds, the figure the study selects "
        f"on ({results.validation.describe()}), with its {INTERVAL} ({how}), and the best so far. The star is the "
        f"chosen trial; hover a trial for its {d.words(results.headline('test'))}, the figure reported."
    )


def render_report(results: StudyResults, *, live: LivePage | None = None) -> str:
    """The report as one self-contained HTML page (plotly.js embedded once; works offline).

    Args:
        results: The study's trials (:func:`actreg_search.store.reader.load_results`, ``curves="drawn"``).
        live: For the live page: poll the server and reload when a trial finishes.

    Returns:
        The HTML text. Charts that cannot be drawn for this study (no completed
        trial, a single trial, no unregularized trial...) are a note instead.
    """
    sections = build_sections(results)
    body = "\n".join(section_html(s) for s in sections)
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    nav += f'<a href="#trials">{html.escape(TRIALS_TITLE)}</a>'
    live_js = ""
    if live is not None:
        live_js = LIVE_JS % {
            "fingerprint": json.dumps(live.fingerprint),
            "state_url": json.dumps(live.state_url),
            "poll_ms": live.poll_ms,
        }
    title = f"{results.name} — actreg-search report"
    return f"""{document_head(title, CSS)}
<body>
<header>
<h1>{html.escape(results.name)}</h1>
<div class="meta">{meta_html(results)}</div>
{'<div id="live-status">live: waiting for the first check…</div>' if live else ""}
</header>
<nav>{nav}</nav>
<main>
{summary_html(results)}
{body}
{trials_html(results)}
</main>
<footer>actreg-search report, generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC.
The same study opens in optuna-dashboard with its storage URL.</footer>
<script>{SORTER_JS}</script>
{f"<script>{live_js}</script>" if live_js else ""}
</body>
</html>
"""


def write_report(results: StudyResults, path: Path) -> None:
    """Write :func:`render_report` to ``path`` atomically (a failed write leaves no file).

    Raises:
        UserError: The folder of ``path`` does not exist.
    """
    from actreg_search.results.export import check_out_path, write_text

    path = Path(path)
    check_out_path(path)
    write_text(path, render_report(results))
