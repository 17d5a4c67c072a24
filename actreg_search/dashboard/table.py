"""The table of all trials: its rows (pure data) and its sortable HTML.

Every trial is a row, whatever its state; failed and pruned trials carry their
reason. A study that searches training knobs with the penalty gets a column
of each after the hidden units (:data:`KNOB_COLUMNS`: learning rate, dropout,
batch size, activation) and one per builder hyperparameter (``builder.blocks``).
The figure columns are the study's task's headline (accuracy; a
regression's RMSE, an autoencoder's reconstruction MSE:
:meth:`~actreg_search.results.records.StudyResults.headline`) on test and on
the training samples, and the gap for a classification only
(:func:`headline_columns`). A study with validation figures gets a validation
column beside the test one; the best trials listed are those it ranks best (on
validation). A study whose objective is another figure of the predictions
(``log_loss``, ``roc_auc``...) gets a column of it on each split after those
(:attr:`~actreg_search.results.records.StudyResults.objective_figures`). A study whose models have several marked layers gets a column of
each layer's mean sparsity after the pooled one (:data:`LAYER_COLUMN`). A big
study lists its best :data:`MAX_TABLE_ROWS` completed trials and its latest
:data:`MAX_OTHER_ROWS` others, and says that ``actreg-search export NAME
--trials trials.csv`` writes every trial. Each cell has the text shown and the
key it sorts by, so the page's small inline sorter (:data:`SORTER_JS`) needs
no library and works offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from optuna.trial import TrialState

from actreg_search.dashboard.data.base import words
from actreg_search.dashboard.data.layers import layer_means, layer_names
from actreg_search.dashboard.data.thinning import MAX_OTHER_ROWS, MAX_TABLE_ROWS
from actreg_search.results.figures import has_gap
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import BY_NAME, GAP, SPARSITY, TEST_ACCURACY, TRAIN_ACCURACY, VALIDATION_ACCURACY, headline
from actreg_search.spec.vocab import SIZE_KEYS, Regularizer, Task

#: The validation column, listed only for a study with validation figures (not under ``validation = "test"``).
VALIDATION_COLUMN = f"{words(VALIDATION_ACCURACY)} (mean ± std)"
#: The column of one marked layer's mean sparsity, e.g. ``sparsity [h2]`` (models with several marked layers).
LAYER_COLUMN = words(SPARSITY) + " [{layer}]"
#: Every column a classification's table can have, in order (the per-layer columns follow ``sparsity``; another
#: task's headline figure replaces accuracy, and it has no gap: :func:`headline_columns`).
ALL_COLUMNS = (
    "trial",
    "state",
    "regularizer",
    "placement",
    "coefficient",
    "hidden units",
    f"{words(TEST_ACCURACY)} (mean ± std)",
    VALIDATION_COLUMN,
    words(TRAIN_ACCURACY),
    words(GAP),
    words(SPARSITY),
    "time (s)",
    "note",
)
#: The column of each training knob a study may search (its Optuna parameter -> column), listed after
#: ``hidden units`` when searched; a builder's own hyperparameters follow, each by its parameter name.
KNOB_COLUMNS: dict[str, str] = {
    "learning_rate": "learning rate",
    "dropout": "dropout",
    "batch_size": "batch size",
    "activation": "activation",
}
#: How a builder hyperparameter's Optuna parameter begins (``builder.blocks``: :mod:`actreg_search.search.space`).
BUILDER_PREFIX = "builder."
#: The columns of a study without validation figures.
COLUMNS = tuple(c for c in ALL_COLUMNS if c != VALIDATION_COLUMN)
#: The columns whose cells sort as text; every other column (a :data:`LAYER_COLUMN` too) sorts as numbers.
TEXT_COLUMNS = frozenset({"state", "regularizer", "placement", "note"})
#: Names of the columns of :data:`ALL_COLUMNS` whose cells sort as numbers.
NUMERIC_COLUMNS = frozenset(c for c in ALL_COLUMNS if c not in TEXT_COLUMNS)
#: Positions in :data:`COLUMNS` of the columns whose cells sort as numbers.
NUMERIC = frozenset(i for i, c in enumerate(COLUMNS) if c in NUMERIC_COLUMNS)


@dataclass(frozen=True)
class Cell:
    """One table cell.

    Attributes:
        text: What is shown.
        key: What it sorts by (a number for numeric columns; ``None`` sorts last).
    """

    text: str
    key: float | str | None


@dataclass(frozen=True)
class TrialTable:
    """The trials listed, each a row of :attr:`columns`, by number.

    Attributes:
        rows: The cells of each trial.
        states: Each row's state name (for its style).
        note: Which trials are listed, when not all of them.
        columns: The columns: :data:`COLUMNS` (:func:`headline_columns` of the study's task), a
            :data:`KNOB_COLUMNS` column per searched training knob
            and a ``builder.<name>`` column per searched builder hyperparameter after ``hidden units``,
            :data:`VALIDATION_COLUMN`
            after test accuracy for a study with validation figures, then a
            column of each objective figure (``validation log loss (mean ± std)``...), and a
            :data:`LAYER_COLUMN` per marked layer after sparsity for a study
            whose models have several.
        layers: The marked layers with a column, in the model's order.
        text_columns: The columns besides :data:`TEXT_COLUMNS` whose cells sort as text (``activation``, a
            builder hyperparameter taking strings or booleans).
    """

    rows: tuple[tuple[Cell, ...], ...]
    states: tuple[str, ...]
    note: str | None = None
    columns: tuple[str, ...] = COLUMNS
    layers: tuple[str, ...] = ()
    text_columns: frozenset[str] = frozenset()

    @property
    def numeric(self) -> frozenset[int]:
        """Positions of the columns whose cells sort as numbers."""
        text = TEXT_COLUMNS | self.text_columns
        return frozenset(i for i, c in enumerate(self.columns) if c not in text)


def trial_table(
    results: StudyResults,
    pruner: str | None = None,
    max_rows: int = MAX_TABLE_ROWS,
    max_other: int = MAX_OTHER_ROWS,
) -> TrialTable:
    """The table's rows: every trial, or for a big study the best completed ones and the latest others.

    Args:
        results: The study.
        pruner: The study's pruner name, named in pruned trials' note.
        max_rows: Completed trials listed at most (the best, :attr:`StudyResults.ranked`).
        max_other: Trials in other states listed at most (the latest).
    """
    if pruner is None and results.spec is not None:
        pruner = results.spec.study.pruner.value
    trials, note = list(results.trials), None
    completed, others = results.ranked, [t for t in results.trials if not t.complete]
    if len(completed) > max_rows or len(others) > max_other:
        listed = {t.number for t in completed[:max_rows]} | {t.number for t in others[-max_other:] if max_other}
        trials = [t for t in results.trials if t.number in listed]
        note = (
            f"Listing {min(len(completed), max_rows):,} of {len(completed):,} completed trials (the best) and "
            f"{min(len(others), max_other):,} of {len(others):,} others (the latest); "
            f"actreg-search export {results.name} --trials trials.csv writes every trial."
        )
    validation = any(results.headline("validation") in t.per_seed for t in results.trials)
    columns = headline_columns(results.task, ALL_COLUMNS if validation else COLUMNS)
    extra = results.objective_figures
    at = columns.index(words(results.headline("train")))
    columns = (*columns[:at], *(f"{words(name)} (mean ± std)" for name in extra), *columns[at:])
    knobs = searched_knobs(results)
    at = columns.index("hidden units") + 1
    columns = (*columns[:at], *(KNOB_COLUMNS.get(name, name) for name in knobs), *columns[at:])
    layers = layer_names(results.trials)
    at = columns.index(words(SPARSITY)) + 1
    columns = (*columns[:at], *(LAYER_COLUMN.format(layer=layer) for layer in layers), *columns[at:])
    rows = tuple(_row(t, pruner, validation, layers, extra, knobs, results.task) for t in trials)
    text = frozenset(
        KNOB_COLUMNS.get(name, name)
        for name in knobs
        if any(isinstance(knob_value(t, name), (str, bool)) for t in results.trials)
    )
    return TrialTable(
        rows=rows,
        states=tuple(t.state.name for t in trials),
        note=note,
        columns=columns,
        layers=layers,
        text_columns=text,
    )


def headline_columns(task: Task, columns: tuple[str, ...]) -> tuple[str, ...]:
    """A classification's columns for a study of ``task``: its headline figure's (``test RMSE (mean ± std)``,
    ``train RMSE``...) in place of accuracy's, and no gap but a classification's."""
    renamed = {
        f"{words(old)}{tail}": f"{words(headline(task, split))}{tail}"
        for old, split, tail in (
            (TEST_ACCURACY, "test", " (mean ± std)"),
            (VALIDATION_ACCURACY, "validation", " (mean ± std)"),
            (TRAIN_ACCURACY, "train", ""),
        )
    }
    return tuple(renamed.get(c, c) for c in columns if has_gap(task) or c != words(GAP))


def searched_knobs(results: StudyResults) -> tuple[str, ...]:
    """The training knobs and builder hyperparameters the sampler chose in any trial, as Optuna parameters:
    those of :data:`KNOB_COLUMNS` in its order, then ``builder.<name>`` by name."""
    names = {name for t in results.trials for name in t.params}
    builder = sorted(name for name in names if name.startswith(BUILDER_PREFIX))
    return (*(name for name in KNOB_COLUMNS if name in names), *builder)


def knob_value(t: TrialRecord, name: str) -> object:
    """A trial's value of a training knob or builder hyperparameter (``builder.<name>``): its config's, else the
    sampler's (a trial that failed before its config was made); ``None`` if it has none."""
    config = t.config
    if config is None:
        return t.params.get(name)
    if name.startswith(BUILDER_PREFIX):
        return config.builder_kwargs.get(name.removeprefix(BUILDER_PREFIX))
    return getattr(config, name, None)


def _row(
    t: TrialRecord,
    pruner: str | None,
    validation: bool,
    layers: tuple[str, ...],
    extra: tuple[str, ...] = (),
    knobs: tuple[str, ...] = (),
    task: Task = Task.CLASSIFICATION,
) -> tuple[Cell, ...]:
    config = t.config
    test, on_validation, train = (headline(task, split) for split in ("test", "validation", "train"))
    regularizer = config.regularizer.value if config else t.params.get("regularizer")
    placement = (config.placement.value if config.placement else "") if config else t.params.get("placement")
    return (
        Cell(str(t.number), t.number),
        Cell(t.state.name, t.state.name),
        _text(regularizer),
        _text(placement),
        _coefficient(t),
        _number(config.hidden_units if config else _size_param(t), "{:d}"),
        *(_knob(knob_value(t, name), name) for name in knobs),
        _mean_std(t, test),
        *((_mean_std(t, on_validation),) if validation else ()),
        *(_mean_std(t, name) for name in extra),
        _figure(t.mean(train), train),
        *((_figure(t.mean(GAP), GAP, sign=True),) if has_gap(task) else ()),
        _figure(t.mean(SPARSITY), SPARSITY),
        *(_figure(means.get(layer), SPARSITY) for means in [layer_means(t)] for layer in layers),
        _number(t.wall_time_s if t.wall_time_s is not None else t.duration_s, "{:.1f}"),
        _text(_note(t, pruner)),
    )


def _size_param(t: TrialRecord) -> object:
    """The regularized layer's size the sampler chose (``hidden_units``, ``filters`` or ``units``), if any."""
    return next((t.params[key] for key in SIZE_KEYS if key in t.params), None)


def _note(t: TrialRecord, pruner: str | None) -> str | None:
    if t.state is TrialState.PRUNED:
        return t.fail_reason or (f"pruned by the {pruner} pruner" if pruner else "pruned")
    if t.state is TrialState.FAIL:
        return t.fail_reason or "failed (no reason recorded)"
    if t.state is TrialState.RUNNING:
        return "running"
    return t.fail_reason


def _coefficient(t: TrialRecord) -> Cell:
    config = t.config
    if config is None:
        value = t.params.get("coefficient")
        return _number(value, "{:.2e}")
    if config.regularizer is Regularizer.NONE:
        return Cell("", None)
    if config.regularizer is Regularizer.L1_L2:
        return Cell(f"l1 {config.l1:.2e} + l2 {config.l2:.2e}", config.l1 + config.l2)
    if config.regularizer is Regularizer.KL_SPARSITY:
        return Cell(f"{config.coefficient:.2e}, rho {config.rho:.3g}", config.coefficient)
    value = config.coefficient if config.regularizer.activated else config.l1 or config.l2
    return Cell(f"{value:.2e}", value)


#: How each training knob's value is printed (a builder hyperparameter's number: ``{:.4g}``).
_KNOB_FORMATS = {"learning_rate": "{:.2e}", "dropout": "{:.3g}", "batch_size": "{:d}"}


def _knob(value: object, name: str) -> Cell:
    """A training knob's or builder hyperparameter's cell: a number sorts as one, a string or boolean as text."""
    if isinstance(value, (str, bool)):
        return Cell(str(value), str(value))
    fmt = _KNOB_FORMATS.get(name, "{:.4g}")
    if fmt == "{:d}" and isinstance(value, float):
        value, fmt = (int(value), fmt) if value.is_integer() else (value, "{:g}")
    return _number(value, fmt)  # type: ignore[arg-type]


def _mean_std(t: TrialRecord, name: str) -> Cell:
    mean, std = t.mean(name), t.std(name)
    if mean is None:
        return Cell("", None)
    digits = BY_NAME[name].digits
    return Cell(f"{mean:.{digits}f} ± {std or 0.0:.{digits}f}", mean)


def _figure(value: float | None, name: str, sign: bool = False) -> Cell:
    """A mean of the per-seed figure ``name``, printed with the figure's digits."""
    return _number(value, f"{{:{'+' if sign else ''}.{BY_NAME[name].digits}f}}")


def _number(value: float | int | None, fmt: str) -> Cell:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return Cell("" if value is None else str(value), None)
    return Cell(fmt.format(value), float(value))


def _text(value: object) -> Cell:
    return Cell("", None) if value is None else Cell(str(value), str(value))


# --------------------------------------------------------------------------- HTML


def table_html(table: TrialTable, table_id: str = "trials") -> str:
    """The table as HTML; headers sort it with :data:`SORTER_JS` (click again to reverse)."""
    numeric = table.numeric
    head = "".join(
        f'<th data-numeric="{int(i in numeric)}" title="sort by {html.escape(name)}">{html.escape(name)}</th>'
        for i, name in enumerate(table.columns)
    )
    body = []
    for cells, state in zip(table.rows, table.states, strict=True):
        tds = "".join(
            f'<td data-key="{html.escape("" if c.key is None else str(c.key))}">{html.escape(c.text)}</td>'
            for c in cells
        )
        body.append(f'<tr class="state-{state.lower()}">{tds}</tr>')
    rows = "\n".join(body)
    return (
        f'<table id="{html.escape(table_id)}" class="trials sortable">\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    )


#: Sorts every ``table.sortable`` by the clicked column's ``data-key``; empty keys last.
SORTER_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var numeric = th.dataset.numeric === "1";
      var ascending = th.dataset.order !== "asc";
      table.querySelectorAll("th").forEach(function (other) { delete other.dataset.order; });
      th.dataset.order = ascending ? "asc" : "desc";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.key, y = b.cells[column].dataset.key;
        if (x === "" || y === "") { return (x === "") - (y === ""); }
        var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""
