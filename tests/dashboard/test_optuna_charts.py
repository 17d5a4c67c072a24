"""Optuna's charts treat every objective as maximized, checked against Optuna called the documented way.

Each study here is built so that the right answer (higher is better) and the
wrong one (lower is better, Optuna's convention for any ``target=``) differ:
one parameter drives an objective high, another drives it low.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Iterator

import optuna
import plotly.colors
import plotly.graph_objects as go
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial

from actreg_search.dashboard import optuna_charts as oc
from actreg_search.dashboard.data import OptunaInput, Target, optuna_input

#: Optuna's colour scale for the parallel coordinates (plotly's ``Blues``).
BLUES = plotly.colors.sequential.Blues
OBJECTIVES = ("accuracy", "sparsity")
#: The parameter that drives each objective high (the other one drives it low).
DRIVER = {"accuracy": "a", "sparsity": "b"}
UNIT = FloatDistribution(0.0, 1.0)
LOWER_IS_BETTER = "computes the importances of params to achieve low `target` values"


@pytest.fixture(autouse=True)
def _silence() -> Iterator[None]:
    """Optuna's warnings and log lines are not printed (the views record theirs as caveats)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _values(a: float, b: float) -> list[float]:
    """Objective 0 is high when ``a`` is near 1 and low when ``b`` is; objective 1 the other way round."""
    return [0.5 + 0.4 * a**6 - 0.4 * b**6, 0.5 + 0.4 * b**6 - 0.4 * a**6]


def _two_objective_input(n: int = 100, seed: int = 0) -> OptunaInput:
    """An :class:`OptunaInput` of ``n`` random trials over ``a`` and ``b`` in [0, 1], both objectives maximized."""
    rng = random.Random(seed)
    study = optuna.create_study(directions=["maximize", "maximize"])
    for _ in range(n):
        a, b = rng.random(), rng.random()
        study.add_trial(
            optuna.trial.create_trial(
                params={"a": a, "b": b}, distributions={"a": UNIT, "b": UNIT}, values=_values(a, b)
            )
        )
    targets = tuple(Target(i, key, f"mean {key.replace('_', ' ')}") for i, key in enumerate(OBJECTIVES))
    return OptunaInput(study=study, targets=targets, note=None)


def _maximize_study_of(study: optuna.Study, target: Callable[[FrozenTrial], float]) -> optuna.Study:
    """A single-objective maximize study of ``target``'s values, built here independently of the code under test."""
    single = optuna.create_study(direction="maximize")
    for t in study.trials:
        single.add_trial(
            optuna.trial.create_trial(params=t.params, distributions=t.distributions, values=[target(t)])
        )
    return single


def _bars(figure: go.Figure) -> dict[str, float]:
    """The importance of each parameter, as the bar chart shows it."""
    (bar,) = figure.data
    return dict(zip(bar.y, bar.x, strict=True))


def _top(importances: dict[str, float]) -> str:
    return max(importances, key=importances.__getitem__)


def _rgb(color: str) -> tuple[float, float, float]:
    r, g, b = plotly.colors.unlabel_rgb(color)
    return (float(r), float(g), float(b))


# --------------------------------------------------------------------------- importances


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_importances_rate_what_makes_each_objective_high(objective: str) -> None:
    source = _two_objective_input()
    target = source.targets[OBJECTIVES.index(objective)]
    drawn = oc.importance_figure(source, target)
    shown = _bars(drawn.figure)

    # Optuna's documented ways to rate a maximized objective: negate it in target, or a maximize study.
    negated = optuna.importance.get_param_importances(source.study, target=lambda t: -t.values[target.index])
    maximized = optuna.importance.get_param_importances(_maximize_study_of(source.study, target))
    # Optuna's lower-is-better reading of target=, which the view must not show.
    wrong = optuna.importance.get_param_importances(source.study, target=lambda t: t.values[target.index])

    assert shown == pytest.approx(negated)
    assert shown == pytest.approx(maximized)
    assert _top(shown) == DRIVER[objective] != _top(wrong)
    assert shown[DRIVER[objective]] > 0.8
    assert drawn.figure.data[0].name == target.name
    assert not any(LOWER_IS_BETTER in c for c in drawn.caveats)  # the fix makes that warning untrue


@pytest.mark.parametrize("objectives", [("accuracy",), OBJECTIVES])
def test_importances_from_the_read_model(objectives, trial_factory, study_factory) -> None:
    """Through :func:`optuna_input`: a wide layer gives high accuracy, a strong coefficient low accuracy
    (and the other way round for sparsity)."""
    rng = random.Random(1)
    trials = []
    for _ in range(100):
        u_width, u_coefficient = rng.random(), rng.random()
        accuracy, sparsity = _values(u_width, u_coefficient)
        trials.append(
            trial_factory(
                coefficient=10 ** (-6 + 4 * u_coefficient),
                hidden_units=round(4 * 256**u_width),
                test=(accuracy, accuracy),
                sparsity=(sparsity, sparsity),
                objectives=len(objectives),
            )
        )
    source = optuna_input(study_factory(*trials, objectives=objectives, spec=None))  # spec: not what is tested
    assert isinstance(source, OptunaInput)
    drivers = {"accuracy": "hidden_units", "sparsity": "coefficient"}
    for target in source.targets:
        shown = _bars(oc.importance_figure(source, target).figure)
        expected = optuna.importance.get_param_importances(source.study, target=lambda t, i=target.index: -t.values[i])
        assert shown == pytest.approx(expected), target.key
        assert _top(shown) == drivers[target.key]


# --------------------------------------------------------------------------- parallel coordinates


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_parallel_coordinates_draw_the_best_trial_dark(objective: str) -> None:
    source = _two_objective_input(n=30)
    target = source.targets[OBJECTIVES.index(objective)]
    figure = oc.parallel_figure(source, target).figure
    lines = [trace for trace in figure.data if trace.mode == "lines" and trace.x is not None and trace.x[0] is not None]
    (scale,) = [trace for trace in figure.data if trace.mode == "markers" and trace.marker.showscale]

    assert scale.marker.reversescale is False
    assert [c for _, c in scale.marker.colorscale] == list(BLUES)
    assert scale.marker.colorbar.title.text == target.name
    values = [t.values[target.index] for t in source.study.trials]
    assert (scale.marker.cmin, scale.marker.cmax) == (min(values), max(values))  # natural units, not negated

    # The objective is the first axis, normalized to [0, 1]: 1 is the best trial, 0 the worst.
    best = [line for line in lines if line.y[0] == 1.0]
    worst = [line for line in lines if line.y[0] == 0.0]
    assert len(best) == len(worst) == 1
    assert _rgb(best[0].line.color) == _rgb(BLUES[-1])  # the dark end
    assert _rgb(worst[0].line.color) == _rgb(BLUES[0])  # the pale end
    assert float(best[0].customdata[0][1]) == pytest.approx(max(values), abs=5e-3)

    # The same colours as Optuna gives a maximize study drawn without target=.
    reference = optuna.visualization.plot_parallel_coordinate(
        _maximize_study_of(source.study, target), target_name=target.name
    )
    assert [trace.line.color for trace in reference.data if trace.mode == "lines" and trace.x[0] is not None] == [
        line.line.color for line in lines
    ]


# --------------------------------------------------------------------------- slice


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_slice_shows_each_objective_in_its_own_units(objective: str) -> None:
    source = _two_objective_input(n=30)
    target = source.targets[OBJECTIVES.index(objective)]
    figure = oc.slice_figure(source, target).figure
    reference = optuna.visualization.plot_slice(
        source.study, target=lambda t: t.values[target.index], target_name=target.name
    )

    expected = sorted(t.values[target.index] for t in source.study.trials)
    markers = [trace for trace in figure.data if trace.mode == "markers"]
    assert len(markers) == 2  # one per parameter, a and b
    for trace, ref in zip(markers, [t for t in reference.data if t.mode == "markers"], strict=True):
        assert sorted(trace.y) == pytest.approx(expected)  # not negated
        assert list(trace.x) == list(ref.x) and list(trace.y) == list(ref.y)
        assert list(trace.marker.color) == list(ref.marker.color)  # coloured by trial number
    assert figure.layout.yaxis.title.text == target.name


# --------------------------------------------------------------------------- Pareto front


def test_pareto_front_is_the_front_of_maximized_objectives() -> None:
    study = optuna.create_study(directions=["maximize", "maximize"])
    points = [(0.9, 0.2), (0.6, 0.6), (0.2, 0.9), (0.5, 0.5), (0.1, 0.1), (0.3, 0.05)]
    for i, values in enumerate(points):
        study.add_trial(
            optuna.trial.create_trial(params={"a": i / 10}, distributions={"a": UNIT}, values=list(values))
        )
    targets = tuple(Target(i, key, f"mean {key}") for i, key in enumerate(OBJECTIVES))
    figure = oc.pareto_figure(OptunaInput(study=study, targets=targets, note=None)).figure

    by_kind = {trace.hovertemplate.split("<extra>")[1].removesuffix("</extra>"): trace for trace in figure.data}
    front = set(zip(by_kind["Best Trial"].x, by_kind["Best Trial"].y, strict=True))
    assert front == {(0.9, 0.2), (0.6, 0.6), (0.2, 0.9)}  # minimizing would give (0.1, 0.1) and (0.3, 0.05)
    assert front == {tuple(t.values) for t in study.best_trials}
    assert (figure.layout.xaxis.title.text, figure.layout.yaxis.title.text) == ("mean accuracy", "mean sparsity")


# --------------------------------------------------------------------------- the per-objective study


def test_objective_study_keeps_trials_and_values(trial_factory, study_factory) -> None:
    results = study_factory(
        trial_factory(hidden_units=16, test=(0.7, 0.7), sparsity=(0.2, 0.2), objectives=2),
        trial_factory(hidden_units=64, test=(0.9, 0.9), sparsity=(0.4, 0.4), objectives=2),
        objectives=OBJECTIVES,
        spec=None,  # the specs of conftest.make_spec are not what is tested here
    )
    source = optuna_input(results)
    assert isinstance(source, OptunaInput)
    for target in source.targets:
        single = source.objective_study(target)
        assert single.direction == optuna.study.StudyDirection.MAXIMIZE
        assert single is source.objective_study(target)  # built once
        assert [t.values for t in single.trials] == [[t.values[target.index]] for t in source.study.trials]
        assert [t.params for t in single.trials] == [t.params for t in source.study.trials]
        assert [t.user_attrs for t in single.trials] == [t.user_attrs for t in source.study.trials]
        assert [t.number for t in single.trials] == [t.number for t in source.study.trials]

    one = optuna_input(
        study_factory(trial_factory(), trial_factory(hidden_units=64), objectives=("accuracy",), spec=None)
    )
    assert isinstance(one, OptunaInput)
    assert one.objective_study(one.targets[0]) is one.study
