"""A study's figures as its readers show them: named in words, printed, and chosen by the study's task.

Each task leads with one figure (:meth:`~actreg_search.results.records.StudyResults.headline`:
accuracy, a regression's RMSE, an autoencoder's reconstruction MSE); every
reader (``show``, ``report``, ``export``, the dashboard, the live progress
line) shows it where a classification study shows accuracy, in the direction
and the units the registry (:mod:`actreg_search.spec.measures`) gives it: a
fraction (accuracy, sparsity) in percent and its differences in percentage
points, any other figure (RMSE, R², log loss) in its own units. The gap
(train minus test accuracy) is a classification's only (:func:`has_gap`).

:func:`show_table` is ``show``'s table: the task's figures as columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.spec.measures import BY_NAME, GAP, POINTS, SPARSITY, headline, maximized
from actreg_search.spec.vocab import Metric, Task

#: How a metric is named in words where its name with spaces for underscores would not do.
_NAMES: dict[Metric, str] = {Metric.RMSE: "RMSE", Metric.MAE: "MAE", Metric.R2: "R²", Metric.MSE: "reconstruction MSE"}
#: Shorter names for narrow columns (``show``'s): ``val. acc``, ``test RMSE``, ``train MSE``.
_SHORT: dict[Metric, str] = {**_NAMES, Metric.ACCURACY: "acc", Metric.MSE: "MSE"}
_SPLITS_SHORT = {"validation": "val."}
_BY_VALUE = {metric.value: said for metric, said in _NAMES.items()}


def words(name: str) -> str:
    """A figure's name in words: its split, then its metric (``validation accuracy``, ``test log loss``,
    ``test RMSE``, ``validation R²``, ``test reconstruction MSE``); a metric named without a split alone (``rmse``
    is ``RMSE``); any other name with spaces for underscores (``train loss``)."""
    measure = BY_NAME.get(name)
    if measure is not None and measure.metric in _NAMES:
        return f"{measure.split.value} {_NAMES[measure.metric]}"
    return _BY_VALUE.get(name) or name.replace("_", " ")


def short_words(name: str) -> str:
    """:func:`words` for a narrow column: ``val. acc``, ``test acc``, ``val. log loss``, ``test RMSE``, ``train MSE``."""
    measure = BY_NAME.get(name)
    if measure is None or measure.metric is None:
        return words(name)
    split = _SPLITS_SHORT.get(measure.split.value, measure.split.value)
    return f"{split} {_SHORT.get(measure.metric, measure.metric.value.replace('_', ' '))}"


def metric_words(name: str) -> str:
    """A per-seed figure's metric alone, in words, as a learning curve's axis names it: ``accuracy``, ``RMSE``,
    ``reconstruction MSE``."""
    metric = getattr(BY_NAME.get(name), "metric", None)
    return words(name) if metric is None else _NAMES.get(metric, metric.value.replace("_", " "))


def has_gap(task: Task) -> bool:
    """Whether a task records the gap, train minus test accuracy: a classification's only."""
    return task is Task.CLASSIFICATION


def trial_task(trial: TrialRecord) -> Task:
    """The task a trial's figures are of (the first whose headline figure it recorded; classification if none), for
    a record read without its study (a running worker's)."""
    recorded = (task for task in Task for split in ("test", "validation") if headline(task, split) in trial.per_seed)
    return next(recorded, Task.CLASSIFICATION)


def extreme(name: str) -> str:
    """The best value of a figure, in a word: ``highest``, or ``lowest`` for one better lower (RMSE, log loss)."""
    return "highest" if maximized(name) else "lowest"


def value_text(name: str, value: float) -> str:
    """A mean (or std) of a figure for a sentence: a fraction in percent (``77.8%``), else in its own units with its
    registry digits (``0.5123``)."""
    if name in POINTS:
        return f"{100 * value:.1f}%"
    return f"{value:.{_digits(name)}f}"


def difference_text(name: str, difference: float) -> str:
    """A signed difference of a figure: of a fraction in percentage points (``-6.0 points``), else in its own units
    (``+0.0210``)."""
    if name in POINTS:
        return f"{100 * difference + 0.0:+.1f} points"
    return f"{difference + 0.0:+.{_digits(name)}f}"


def _digits(name: str) -> int:
    measure = BY_NAME.get(name)
    return measure.digits if measure is not None else 4


def mean_std_text(trial: TrialRecord, name: str) -> str:
    """``0.9857 ± 0.0120`` (the figure's digits), or ``-`` for a figure the trial did not record."""
    mean, std = trial.mean(name), trial.std(name)
    if mean is None or std is None:
        return "-"
    digits = _digits(name)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def show_table(results: StudyResults, shown: Sequence[TrialRecord]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """``show``'s columns and rows: each trial's headline figure (mean ± std) on validation (where measured) and on
    test, the objective's other figures, the headline on the training samples, the gap (a classification's), sparsity
    (by layer, for models with several marked layers), activation mean and training time."""
    head = results.headline
    validation = any(head("validation") in t.per_seed for t in shown)
    figures = (*((head("validation"),) if validation else ()), head("test"), *results.objective_figures)
    gap = has_gap(results.task)
    layered = any(len(t.per_layer.get(SPARSITY, {})) > 1 for t in shown)
    columns = (
        "trial", "config", *(short_words(f) for f in figures), short_words(head("train")), *(("gap",) if gap else ()),
        "sparsity", *(("sparsity by layer",) if layered else ()), "act. mean", "time s",
    )
    rows = [
        (
            str(t.number),
            t.label(),
            *(mean_std_text(t, f) for f in figures),
            _mean_text(t, head("train")),
            *((_mean_text(t, GAP, "+"),) if gap else ()),
            _mean_text(t, SPARSITY),
            *((_by_layer(t),) if layered else ()),
            _mean_text(t, "activation_mean"),
            f"{t.wall_time_s:.1f}" if t.wall_time_s is not None else "-",
        )
        for t in shown
    ]
    return columns, rows


def _mean_text(trial: TrialRecord, name: str, sign: str = "") -> str:
    """A figure's mean over seeds with its registry digits (``+`` for a signed one), ``-`` if not recorded."""
    mean = trial.mean(name)
    return "-" if mean is None else f"{mean:{sign}.{_digits(name)}f}"


def _by_layer(trial: TrialRecord) -> str:
    """Each marked layer's mean sparsity over seeds: ``h1 0.412 · h2 0.530`` (``-`` for none recorded)."""
    layers = trial.per_layer.get(SPARSITY, {})
    return " · ".join(f"{layer} {sum(values) / len(values):.3f}" for layer, values in layers.items() if values) or "-"
