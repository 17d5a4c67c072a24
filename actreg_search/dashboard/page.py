"""The report's HTML pieces: a chart's ``<div>``, a section, the header, the summary and the trial table."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from actreg_search.dashboard import data as d
from actreg_search.dashboard.charts import HEIGHT
from actreg_search.dashboard.table import table_html, trial_table
from actreg_search.errors import UserError
from actreg_search.results import stats
from actreg_search.results.figures import difference_text, has_gap
from actreg_search.results.records import SplitCounts, StudyResults, TrialRecord
from actreg_search.spec.measures import BY_NAME, GAP, SPARSITY, headline
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.vocab import Task

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
#: Pareto-optimal trials listed in the summary of a multi-objective study.
SUMMARY_FRONT = 5
#: The heading of the table of all trials, the report's last section.
TRIALS_TITLE = "9. All trials"


@dataclass(frozen=True)
class Chart:
    """One chart of the report, drawn or explained.

    Attributes:
        key: HTML id suffix, e.g. ``history`` or ``slice-sparsity``.
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


def figure_html(figure: go.Figure, div_id: str) -> str:
    """One figure as a ``<div>`` and the script drawing it (plotly.js is in the page's head)."""
    height = figure.layout.height or HEIGHT
    return pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{height}px",
    )


def section_html(section: Section) -> str:
    """A section: its heading, caption, and each chart or the note in its place."""
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


def trials_html(results: StudyResults) -> str:
    """The table of all trials (the best ones, for a big study), with its caption."""
    table = trial_table(results)
    note = "" if results.trials else '<div class="note" data-note="trials">The study has no trials yet.</div>'
    if table.note:
        note = f'<p class="chart-note" id="trials-note">{html.escape(table.note)}</p>'
    return (
        f'<section id="trials"><h2>{TRIALS_TITLE}</h2>'
        '<p class="caption">Every trial in any state; click a column heading to sort (again to reverse). '
        "Figures are means over seeds; time is the training time of all seeds. Failed and pruned trials "
        "say why in the last column.</p>"
        f'{note}<div class="table-wrap">{table_html(table)}</div></section>'
    )


def meta_html(results: StudyResults) -> str:
    """The header's facts: trial counts, the study file's sampler, seeds and model, the data split and the protocol."""
    counts = results.counts
    items = [f"{counts.total} trials", f"{counts.complete} complete"]
    for label, n in (("pruned", counts.pruned), ("failed", counts.failed), ("running", counts.running)):
        if n:
            items.append(f"{n} {label}")
    if results.multi_objective:
        items.append("objectives " + " + ".join(results.objectives))
    spec = results.spec
    if spec is not None:
        items.append(f"sampler {spec.study.sampler.value}")
        items.append(f"{len(spec.study.seeds)} seeds")
        model = spec.model
        items.append(f"{model.epochs} epochs, {model.activation}, engine {model.engine.value}")
    data_split = split(spec, results.split)
    if data_split:
        items.append(data_split)
    items.append(protocol(results))
    return "".join(f"<span>{html.escape(str(i))}</span>" for i in items)


def split(spec: StudySpec | None, counts: SplitCounts | None = None) -> str | None:
    """The data and its split, e.g. ``npz: 124 train / 54 test`` or ``digits: 30% train / 70% test``.

    The sample counts the study recorded (``counts``, :attr:`StudyResults.split`)
    where it has them, else what the study file says; ``None`` when neither is known.
    """
    name = f"{spec.data.name.value}: " if spec is not None else ""
    if counts is not None:
        return name + counts.describe()
    if spec is None:
        return None
    data = spec.data
    if isinstance(data.train_size, float) and data.train_size < 1:
        return f"{name}{data.train_size:.0%} train / {1 - data.train_size:.0%} test"
    if data.n_samples is not None:
        return f"{name}{int(data.train_size)} train / {data.n_samples - int(data.train_size)} test"
    return f"{name}{int(data.train_size)} train, the rest test"


def protocol(results: StudyResults) -> str:
    """The validation protocol in a few words, e.g. ``validation: 20% of the training split held out per seed``."""
    text = results.validation.describe()
    return text if results.selects_on_test else f"validation: {text}"


def summary_html(results: StudyResults) -> str:
    """The protocol, the best trial, the best unregularized one, the paired comparison; the Pareto front if several."""
    best, plain = results.best, results.best_unregularized
    if best is None or not d.usable(results):
        reason = html.escape(d.nothing_completed(results).reason)
        return f'<section id="summary"><div class="note">{reason}</div></section>'
    rows = [selection_html(results), best_html("Best trial", best, results)]
    if plain is not None and plain.number != best.number:
        rows.append(best_html("Best unregularized trial", plain, results))
    elif plain is None:
        rows.append('<div class="best">No unregularized trial has completed.</div>')
    if results.multi_objective:
        rows.append(front_html(results, results.leading(SUMMARY_FRONT)))
    rows.append(comparison_html(results))
    return f'<section id="summary"><div class="summary">{"".join(rows)}</div></section>'


def selection_html(results: StudyResults) -> str:
    """The protocol (:meth:`Validation.describe`), and whether the figures below are optimistic."""
    protocol_text, test = results.validation.describe(), d.words(results.headline("test"))
    if results.selects_on_test:
        text = (
            f"{protocol_text}. These figures were selected on the test set: the best trial was chosen on the same "
            f"{test} reported here, so they are optimistic (selection bias). A study with [data] validation "
            "(a held-out fraction or k folds) chooses on validation data and reports an unbiased test figure."
        )
    else:
        text = (
            f"{protocol_text}. Trials are ranked on mean {d.selection_words(results)}; {test}, measured "
            "for every trial and never used to choose, is the figure reported."
        )
    return f'<div class="best" id="selection"><b>Protocol</b>: {html.escape(text)}</div>'


def front_html(results: StudyResults, front: Sequence[TrialRecord]) -> str:
    """The Pareto front's size and its best few trials (by the selection figure) with every objective."""
    items = "".join(
        "<li>{}: {}</li>".format(
            html.escape(d.describe(t)),
            ", ".join(f"{name} {value:.4f}" for name, value in zip(results.objectives, t.values, strict=False)),
        )
        for t in front
    )
    size = len(results.pareto_numbers)
    best = "most accurate" if results.task is Task.CLASSIFICATION else f"best by {d.words(results.selection_metric)}"
    shown = f", the {len(front)} {best}:" if size > len(front) else ":"
    return f'<div class="best" id="pareto-front"><b>Pareto front</b>: {size} trials{shown}<ul>{items}</ul></div>'


def comparison_html(results: StudyResults) -> str:
    """The best regularized trial against the best unregularized one, seed by seed."""
    try:
        baseline, challenger = stats.best_vs_baseline(results)
        line = stats.paired_comparison(baseline, challenger, results.headline("test")).describe()
    except UserError as exc:
        line = f"not available: {exc}"
    return f'<div class="best" id="best-vs-baseline"><b>Best vs baseline, paired over seeds</b>: {html.escape(line)}</div>'


def best_html(label: str, trial: TrialRecord, results: StudyResults | None = None) -> str:
    """One trial's mean ± std over seeds of the study's headline figure on test (accuracy, a regression's RMSE, an
    autoencoder's reconstruction MSE), beside it on validation; the study's objective figures besides the headline
    (``validation log loss``, ``test log loss``); its gap (a classification's) and sparsity.

    Where the trial has validation figures, the difference test − validation
    follows (in points for accuracy, in its units for another figure): how much the validation figure the trial was
    chosen on overstates or understates the test figure. A model with several
    marked layers has each layer's mean sparsity after the pooled one.
    """
    task = results.task if results is not None else Task.CLASSIFICATION
    test, on_validation = headline(task, "test"), headline(task, "validation")
    digits = BY_NAME[test].digits
    mean, std = trial.mean(test), trial.std(test) or 0.0
    seeds = f"over {len(trial.seeds)} seeds"
    if mean is None:
        words = d.selection_words(results) if results is not None else "value"
        figures = f'{words} <span class="value">{trial.value:.{digits}f}</span> {seeds}'
    else:
        figures = f'{d.words(test)} <span class="value">{mean:.{digits}f} ± {std:.{digits}f}</span> {seeds}'
    validation = trial.mean(on_validation)
    if validation is not None and mean is not None:
        v_std = trial.std(on_validation) or 0.0
        figures += (
            f', {d.words(on_validation)} <span class="value">{validation:.{digits}f} ± {v_std:.{digits}f}</span>'
            f' (test − validation <span class="value" data-figure="selection-bias">'
            f"{difference_text(test, mean - validation)}</span>)"
        )
    for name in results.objective_figures if results is not None else ():  # the objective, when not accuracy
        if (value := trial.mean(name)) is not None:
            places = BY_NAME[name].digits
            figures += f', {d.words(name)} <span class="value">{value:.{places}f} ± {trial.std(name) or 0.0:.{places}f}</span>'
    gap, sparsity = trial.mean(GAP) if has_gap(task) else None, trial.mean(SPARSITY)
    if gap is not None:
        figures += f', {d.words(GAP)} <span class="value">{gap:+.{BY_NAME[GAP].digits}f}</span>'
    if sparsity is not None:
        places = BY_NAME[SPARSITY].digits
        figures += f', {d.words(SPARSITY)} <span class="value">{sparsity:.{places}f}</span>'
        layers = d.layer_means(trial)
        if layers:
            each = ", ".join(f"{html.escape(layer)} {value:.{places}f}" for layer, value in layers.items())
            figures += f' (by layer: <span class="value" data-figure="layer-sparsity">{each}</span>)'
    return f'<div class="best"><b>{html.escape(label)}</b>: {html.escape(d.describe(trial))}<br>{figures}</div>'


def document_head(title: str, css: str) -> str:
    """An offline page's opening, ``<!DOCTYPE html>`` to ``</head>``: its title, its style and plotly.js inlined
    (no network), as the study report and the suite page both begin."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="actreg-search dashboard">
<title>{html.escape(title)}</title>
<style>{css}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>"""
