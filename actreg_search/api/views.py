"""The dashboard's views by short name, each as one plotly figure.

A view is what the dashboard (:mod:`actreg_search.dashboard`) draws in one of
its charts, drawn here on its own: the chart's data from
:mod:`actreg_search.dashboard.data` and its drawing from
:mod:`actreg_search.dashboard.charts` or, for Optuna's own charts,
:mod:`actreg_search.dashboard.optuna_charts`. Nothing is computed twice: this
module only names the pairs. plotly and Optuna's charts are imported when a
figure is drawn, not when this module is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actreg_search.errors import UserError
from actreg_search.results.records import StudyResults

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass(frozen=True)
class View:
    """One dashboard view.

    Attributes:
        name: Its short name, e.g. ``"history"``.
        title: What it shows, in a few words.
        data: The name of its data function in :mod:`actreg_search.dashboard.data`
            (ours), or of its drawing function in
            :mod:`actreg_search.dashboard.optuna_charts` (Optuna's).
        draw: The name of its drawing function in :mod:`actreg_search.dashboard.charts`; empty for Optuna's.
        min_trials: Completed trials Optuna's chart needs (0 for ours).
    """

    name: str
    title: str
    data: str
    draw: str = ""
    min_trials: int = 0

    @property
    def optuna(self) -> bool:
        """Whether this is one of Optuna's charts (drawn per objective)."""
        return not self.draw


#: Every view, in the dashboard's order.
VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View("history", "optimization history", "optimization_history", "history_figure"),
        View("selection", "validation against test of the headline figure (accuracy, RMSE...)", "validation_vs_test", "selection_figure"),
        View("importance", "hyperparameter importances (Optuna)", "importance_figure", min_trials=2),
        View("parallel", "parallel coordinates (Optuna)", "parallel_figure", min_trials=1),
        View("path", "regularization path", "regularization_path", "path_figure"),
        View("sparsity", "headline figure (accuracy, RMSE...) against activation sparsity", "sparsity_tradeoff", "sparsity_figure"),
        View("layers", "sparsity of each marked layer (models with several)", "layer_sparsity", "layers_figure"),
        View("pareto", "Pareto front of the objectives (Optuna; multi-objective studies)", "pareto_figure"),
        View("curves", "learning curves of the best and best unregularized trials", "learning_curves", "curves_figure"),
        View("seeds", "per-seed spread by placement and regularizer", "seed_distributions", "boxes_figure"),
        View("width", "coefficient × hidden width", "coefficient_width", "width_figure"),
        View(
            "learning_rate",
            "coefficient × learning rate per placement (studies searching the learning rate)",
            "coefficient_learning_rate",
            "rate_figure",
        ),
        View("slice", "slice plot (Optuna)", "slice_figure", min_trials=1),
    )
}


def view_named(name: str) -> View:
    """The view of that short name.

    Raises:
        UserError: No view has that name (the message lists the names).
    """
    try:
        return VIEWS[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown view {name!r}; allowed: {', '.join(VIEWS)}") from None


def draw_view(results: StudyResults, name: str, objective: str | None = None) -> go.Figure:
    """One view of a study as a plotly figure.

    Args:
        results: The study, with the curves of the drawn trials for ``"curves"``
            (:func:`~actreg_search.store.reader.load_results` with ``curves="drawn"``).
        name: A key of :data:`VIEWS`.
        objective: For Optuna's per-objective views (importance, parallel,
            slice) of a multi-objective study, which objective; default the first.

    Returns:
        The figure, as the dashboard draws it.

    Raises:
        UserError: An unknown view or objective, or a view this study cannot
            be drawn in (the message says why, as the dashboard's note does).
    """
    from actreg_search.dashboard import data as d

    view = view_named(name)
    if view.optuna:
        return _optuna_view(results, view, objective)
    if objective is not None:
        raise UserError(f"view {name!r} has no objective to choose; only importance, parallel and slice have")
    from actreg_search.dashboard import charts as f

    data = getattr(d, view.data)(results)
    _check_drawable(results, view, data)
    figure: go.Figure = getattr(f, view.draw)(data)
    return _with_note(figure, getattr(data, "note", None))


def _optuna_view(results: StudyResults, view: View, objective: str | None) -> go.Figure:
    from actreg_search.dashboard import data as d
    from actreg_search.dashboard import optuna_charts as oc
    from actreg_search.results.figures import words

    draw: Callable[..., Any] = getattr(oc, view.data)
    if view.name == "pareto":
        if not results.multi_objective:
            raise UserError(
                f"view 'pareto' of study {results.name!r}: the study has one objective, so no Pareto front of "
                f"objectives; view 'sparsity' draws {words(results.headline('test'))} against sparsity with its front"
            )
        if objective is not None:
            raise UserError("view 'pareto' draws every objective; it has no objective to choose")
        source = d.optuna_input(results)
        _check_drawable(results, view, source)
        return _with_note(draw(source).figure, source.note)
    targets = d.targets(results)
    by_key = {t.key: t for t in targets}
    # An objective by the name the study file gives it (accuracy, log_loss, rmse, sparsity), or by the figure it selects on.
    spelled = {o.removeprefix("validation_").removeprefix("test_"): o for o in results.objectives}
    objective = spelled.get(objective, objective) if objective is not None else None
    if objective is not None and objective not in by_key:
        raise UserError(f"study {results.name!r} has no objective {objective!r}; allowed: {', '.join(by_key)}")
    target = by_key[objective] if objective is not None else targets[0]
    _check_drawable(results, view, d.param_chart_check(results, min_trials=view.min_trials))
    source = d.optuna_input(results)
    _check_drawable(results, view, source)
    return _with_note(draw(source, target).figure, source.note)


def _check_drawable(results: StudyResults, view: View, data: object) -> None:
    """Refuse a view whose data says it cannot be drawn, with the dashboard's reason."""
    from actreg_search.dashboard.data import Unavailable

    if isinstance(data, Unavailable):
        raise UserError(f"view {view.name!r} of study {results.name!r} cannot be drawn: {data.reason}")


def _with_note(figure: go.Figure, note: str | None) -> go.Figure:
    """The figure, with the note (e.g. how many trials are drawn) under its title when there is one."""
    if note:
        title = figure.layout.title.text
        figure.update_layout(title={"text": f"{title}<br><sup>{note}</sup>" if title else f"<sup>{note}</sup>"})
    return figure
