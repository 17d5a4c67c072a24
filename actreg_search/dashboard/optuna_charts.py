"""Optuna's own charts (:mod:`optuna.visualization`), drawn from the in-memory study of the read model.

Importances, parallel coordinates and the slice plot are drawn once per
objective; a multi-objective study also gets Optuna's Pareto front. The
warnings Optuna gives while drawing (e.g. too few trials in a regime) are
returned with the figure as caveats for the report to show.

Every objective of actreg-search is maximized but ``log_loss``, minimized; the
in-memory studies carry each objective's direction, and the conventions of
the calls below follow from that (optuna 5.1):

* The per-objective charts are drawn from
  :meth:`~actreg_search.dashboard.data.OptunaInput.objective_study`, a
  single-objective study in that objective's direction holding its
  values, **without** ``target=``. Optuna treats any ``target=`` as
  lower-is-better: PED-ANOVA (the default evaluator of
  :func:`optuna.importance.get_param_importances`) then takes the trials with
  the *lowest* values as its top quantile, so it would rate what makes a
  trial *bad*, and :func:`optuna.visualization.plot_parallel_coordinate`
  reverses its colour scale for any ``target``, so it would colour the best
  trials at the pale end (``tests/dashboard/test_optuna_charts.py`` checks
  both against Optuna). Without ``target=`` both take the study's direction.
  Negating ``target`` would fix the importances but show negated accuracies
  on the parallel-coordinate and slice axes, so it is not used.
* Importances (:func:`importance_figure`): PED-ANOVA's top quantile is the
  trials with the *best* values of the objective (highest, lowest if minimized).
* Parallel coordinates (:func:`parallel_figure`): ``reversescale`` is
  ``False`` for a maximized objective (Optuna reverses it for a minimized
  one); the worst value maps to the pale end of Optuna's ``Blues`` scale
  and the best trial to the dark end.
* Slice (:func:`slice_figure`): the objective's values as they are on the y
  axis; the colour is the trial number, which does not depend on direction.
* Pareto front (:func:`pareto_figure`): the multi-objective study itself,
  without ``targets=``: the front is computed from ``study.directions`` (the
  stored study's) and the axes show the objective values as they are.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import plotly.graph_objects as go

from actreg_search.dashboard.data import OptunaInput, Target
from actreg_search.dashboard.charts import HEIGHT, TEMPLATE


@dataclass(frozen=True)
class OptunaFigure:
    """One of Optuna's figures, with the warnings Optuna gave while drawing it."""

    figure: go.Figure
    caveats: tuple[str, ...]


def optuna_figure(draw: Callable[..., go.Figure], study: optuna.Study, **kwargs: object) -> OptunaFigure:
    """Draw one of Optuna's plotly figures, collecting its warnings instead of printing them.

    Args:
        draw: E.g. :func:`optuna.visualization.plot_param_importances`.
        study: The Optuna study.
        **kwargs: Passed to ``draw``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            fig = draw(study, **kwargs)
        finally:
            optuna.logging.set_verbosity(verbosity)
    caveats = tuple(dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)))
    fig.update_layout(template=TEMPLATE, height=HEIGHT, width=None, autosize=True)
    return OptunaFigure(figure=fig, caveats=caveats)


def importance_figure(source: OptunaInput, target: Target) -> OptunaFigure:
    """Optuna's hyperparameter importances for reaching a high value of one objective.

    Optuna's default evaluator, PED-ANOVA, on the objective's study (in its
    direction) without ``target=``, so its top quantile is the best trials.
    """
    return optuna_figure(
        optuna.visualization.plot_param_importances, source.objective_study(target), target_name=target.name
    )


def parallel_figure(source: OptunaInput, target: Target) -> OptunaFigure:
    """Optuna's parallel coordinates of every searched parameter against one objective.

    Drawn from the objective's study without ``target=``, so the colour scale
    follows its direction: the best trials are the dark lines.
    """
    return optuna_figure(
        optuna.visualization.plot_parallel_coordinate, source.objective_study(target), target_name=target.name
    )


def slice_figure(source: OptunaInput, target: Target) -> OptunaFigure:
    """Optuna's slice plot: one objective, in its own units, against each parameter."""
    return optuna_figure(optuna.visualization.plot_slice, source.objective_study(target), target_name=target.name)


def pareto_figure(source: OptunaInput) -> OptunaFigure:
    """Optuna's Pareto front of a multi-objective study (the front of ``study.directions``, each objective's own)."""
    return optuna_figure(
        optuna.visualization.plot_pareto_front, source.study, target_names=[t.name for t in source.targets]
    )
