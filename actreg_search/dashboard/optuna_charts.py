"""Optuna's own charts (:mod:`optuna.visualization`), drawn from the in-memory study of the read model.

Importances, parallel coordinates and the slice plot are drawn once per
objective (``target=`` and ``target_name=``: a multi-objective study has no
single value to plot); a multi-objective study also gets Optuna's Pareto front.
The warnings Optuna gives while drawing (e.g. too few trials in a regime) are
returned with the figure as caveats for the report to show.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import plotly.graph_objects as go

from actreg_search.dashboard.data import OptunaInput, Target
from actreg_search.dashboard.figures import HEIGHT, TEMPLATE


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
    """Optuna's hyperparameter importances for one objective (its default evaluator, PED-ANOVA)."""
    return optuna_figure(
        optuna.visualization.plot_param_importances, source.study, target=target, target_name=target.name
    )


def parallel_figure(source: OptunaInput, target: Target) -> OptunaFigure:
    """Optuna's parallel coordinates of every searched parameter against one objective."""
    return optuna_figure(
        optuna.visualization.plot_parallel_coordinate, source.study, target=target, target_name=target.name
    )


def slice_figure(source: OptunaInput, target: Target) -> OptunaFigure:
    """Optuna's slice plot: one objective against each parameter."""
    return optuna_figure(optuna.visualization.plot_slice, source.study, target=target, target_name=target.name)


def pareto_figure(source: OptunaInput) -> OptunaFigure:
    """Optuna's Pareto front of a multi-objective study (every objective maximized)."""
    return optuna_figure(
        optuna.visualization.plot_pareto_front, source.study, target_names=[t.name for t in source.targets]
    )
