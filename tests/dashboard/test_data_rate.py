"""Coefficient × learning rate: its data against a hand computation, its drawing, its place in the report and views.

Also that the views listing parameters (Optuna's importances, parallel
coordinates, slice; the trials table) carry the training knobs and a
builder's hyperparameters when a study searches them.
"""

from __future__ import annotations

import dataclasses
import statistics

import pytest
from optuna.trial import TrialState

from actreg_search.api.views import VIEWS, draw_view
from actreg_search.dashboard import build_sections, render_report
from actreg_search.dashboard import charts as f
from actreg_search.dashboard import data as d
from actreg_search.dashboard.table import trial_table
from actreg_search.errors import UserError
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.vocab import Placement, Regularizer
from tests.dashboard.studies import make_study, make_trial

#: Hand-made trials: (regularizer, placement, l1 or the coefficient, l2 of l1_l2, learning rate, validation, test).
#: The test accuracies rank the trials the other way round from validation, and no coefficient equals a learning
#: rate, so a chart coloured by test accuracy, with its axes swapped or a trial in the wrong panel differs.
TRIALS = (
    ("l1", "kernel", 1e-4, None, 1e-2, (0.90, 0.94), (0.60, 0.62)),
    ("l2", "pre_activation", 1e-3, None, 1e-4, (0.70, 0.80), (0.95, 0.97)),
    ("l1_l2", "kernel", 2e-4, 3e-4, 3e-3, (0.85, 0.87), (0.70, 0.72)),
    ("none", None, 0.0, None, 1e-3, (0.80, 0.82), (0.90, 0.90)),
    ("l1", "pre_activation", 1e-5, None, 5e-2, (0.60, 0.62), (0.99, 0.97)),
    ("l2", "post_activation", 1e-2, None, 2e-4, (0.75, 0.77), (0.80, 0.80)),
)


def rate_trials(trials=TRIALS):
    made = [
        make_trial(
            regularizer=reg,
            placement=placement,
            coefficient=first or 1e-4,
            l2_coefficient=second,
            validation=validation,
            test=test,
            knobs={"learning_rate": rate},
        )
        for reg, placement, first, second, rate, validation, test in trials
    ]
    made.append(make_trial(TrialState.FAIL, fail_reason="boom", knobs={"learning_rate": 0.5}))  # never drawn
    return made


def expected(trials=TRIALS):
    """By hand: placement -> {number: (coefficient, learning rate, mean validation accuracy)}; ``None``: the strip."""
    out: dict[str | None, dict[int, tuple[float | None, float, float]]] = {}
    for number, (reg, placement, first, second, rate, validation, _) in enumerate(trials):
        coefficient = None if reg == "none" else first + (second or 0.0)
        mean = sum(validation) / len(validation)
        out.setdefault(placement, {})[number] = (coefficient, rate, mean)
    return rounded(out)


def rounded(value):
    """Floats to 10 significant digits, in nested dicts and tuples (l1 + l2 and means are not exact)."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(rounded(v) for v in value)
    return float(f"{value:.10g}") if isinstance(value, float) else value


def drawn(data: d.RateData):
    out: dict[str | None, dict[int, tuple[float | None, float, float]]] = {}
    for placement, points in [(None, data.unregularized), *((p.placement.value, p.points) for p in data.panels)]:
        if points:
            out[placement] = {p.number: (p.coefficient, p.learning_rate, p.figure) for p in points}
    return rounded(out)


def test_the_points_are_those_computed_by_hand():
    results = make_study(*rate_trials(), validation=True)
    data = d.coefficient_learning_rate(results)
    assert isinstance(data, d.RateData)
    assert drawn(data) == expected()
    # one panel per placement, in the Placement order; l1_l2 at l1 + l2 = 5e-4
    assert [p.placement for p in data.panels] == [Placement.PRE_ACTIVATION, Placement.POST_ACTIVATION, Placement.KERNEL]
    kernel = {p.number: p for p in data.panels[2].points}
    assert kernel[2].coefficient == pytest.approx(5e-4) and kernel[2].regularizer is Regularizer.L1_L2
    assert [p.number for p in data.unregularized] == [3] and data.unregularized[0].coefficient is None
    assert data.metric == "validation_accuracy" and data.maximize
    assert data.best_number == 0  # best on validation (0.92); trial 4 is best on test
    assert data.color_title == "mean validation accuracy"
    assert "strip on the left" in data.note and "l1 + l2" in data.note


def test_the_drawing_puts_each_trial_in_its_panel_on_log_axes():
    results = make_study(*rate_trials(), validation=True)
    data = d.coefficient_learning_rate(results)
    fig = f.rate_figure(data)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["unregularized", "pre_activation", "post_activation", "kernel"]
    by_axis: dict[str, set[tuple[object, float]]] = {}
    for trace in fig.data:
        if trace.name.startswith("chosen"):
            continue
        by_axis.setdefault(trace.xaxis, set()).update(rounded(tuple(zip(trace.x, trace.y, strict=True))))
    assert by_axis == {
        "x": {("none", 1e-3)},
        "x2": {(1e-3, 1e-4), (1e-5, 5e-2)},
        "x3": {(1e-2, 2e-4)},
        "x4": {(1e-4, 1e-2), (5e-4, 3e-3)},
    }
    assert fig.layout.xaxis.type == "category"
    assert {fig.layout[f"xaxis{i}"].type for i in (2, 3, 4)} == {"log"}
    assert fig.layout.yaxis.type == "log"
    colors = [c for t in fig.data if not t.name.startswith("chosen") for c in t.marker.color]
    assert sorted(colors) == pytest.approx(sorted(statistics.fmean(t[5]) for t in TRIALS))
    scales = [t.marker for t in fig.data if not t.name.startswith("chosen")]
    assert sum(bool(m.showscale) for m in scales) == 1 and not any(m.reversescale for m in scales)
    (star,) = [t for t in fig.data if t.name.startswith("chosen")]
    assert star.name == "chosen: trial 0" and star.xaxis == "x4" and (star.x[0], star.y[0]) == (1e-4, 1e-2)


def test_a_figure_better_lower_says_so_and_reverses_the_scale():
    """``log_loss``: the best trial is the lowest, the colour bar says lower is better and is reversed."""
    losses = {0: (0.40, 0.44), 1: (0.20, 0.22), 2: (0.90, 0.80)}
    trials = rate_trials(TRIALS[:3])
    results = make_study(*trials, objectives=("log_loss",), validation=True)
    records = []
    for t in results.trials:
        if t.number in losses:
            per_seed = {**t.per_seed, "validation_log_loss": losses[t.number]}
            t = dataclasses.replace(t, per_seed=per_seed, values=(statistics.fmean(losses[t.number]),))
        records.append(t)
    results = dataclasses.replace(results, trials=tuple(records))
    assert results.selection_metric == "validation_log_loss"
    data = d.coefficient_learning_rate(results)
    assert data.best_number == 1 and not data.maximize
    assert data.color_title == "mean validation log loss (lower is better)"
    assert {n: v[2] for points in drawn(data).values() for n, v in points.items()} == rounded(
        {n: statistics.fmean(v) for n, v in losses.items()}
    )
    fig = f.rate_figure(data)
    assert all(t.marker.reversescale for t in fig.data if not t.name.startswith("chosen"))
    assert "lower is better" in next(t.marker.colorbar.title.text for t in fig.data if t.marker.showscale)


def test_a_study_not_searching_the_learning_rate_has_no_such_chart():
    results = make_study(
        make_trial(coefficient=1e-4, test=(0.9, 0.92)),
        make_trial(regularizer="none", test=(0.8, 0.82)),
    )
    assert not d.searches_learning_rate(results)
    data = d.coefficient_learning_rate(results)
    assert data == d.Unavailable(
        "The learning rate is not searched here (every trial trains at 1.0e-03); "
        "[space] learning_rate searches it with the penalty."
    )
    keys = {c.key for s in build_sections(results) for c in s.charts}
    assert "learning_rate" not in keys and "width" in keys
    page = render_report(results)
    assert 'id="chart-learning_rate"' not in page and 'data-chart="learning_rate"' not in page
    assert "learning_rate" in VIEWS
    with pytest.raises(UserError, match=r"view 'learning_rate' .* cannot be drawn: The learning rate is not searched"):
        draw_view(results, "learning_rate")


def test_a_study_searching_the_learning_rate_shows_the_chart():
    results = make_study(*rate_trials(), validation=True)
    sections = {s.key: s for s in build_sections(results)}
    width = sections["width"]
    assert [c.key for c in width.charts][:2] == ["width", "learning_rate"]
    assert width.title == "8. Coefficient × hidden width and learning rate"
    assert "the coefficient against the learning rate" in width.caption
    page = render_report(results)
    assert 'id="chart-learning_rate"' in page and "could not be drawn" not in page
    figure = draw_view(results, "learning_rate")
    assert len(figure.layout.annotations) == 4  # the strip and three placements


def test_searched_in_the_study_file_before_any_trial_shows_why_there_is_nothing_yet():
    spec = parse_spec(
        '[study]\nname = "rates"\nsampler = "random"\nseeds = [0, 1]\n'
        '[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\nvalidation = 0.2\n'
        '[model]\nfamily = "mlp"\nhidden_units = 32\nepochs = 4\n'
        "[space]\nlearning_rate = { low = 1e-4, high = 1e-2, log = true }\n"
    )
    results = make_study(name="rates", spec=spec)
    assert d.searches_learning_rate(results)
    assert d.coefficient_learning_rate(results) == d.Unavailable("The study has no trials yet.")
    chart = next(c for s in build_sections(results) for c in s.charts if c.key == "learning_rate")
    assert chart.figure is None and chart.note == "The study has no trials yet."


def test_only_unregularized_trials_have_no_coefficient_to_plot():
    results = make_study(*rate_trials(TRIALS[3:4]), validation=True)
    assert d.coefficient_learning_rate(results) == d.Unavailable(
        "No regularized trial has completed, so there is no coefficient to plot (1 unregularized trial has)."
    )


def test_a_big_study_is_thinned_keeping_the_chosen_trial():
    trials = [
        ("l1", "kernel", 10 ** (-6 + i / 10), None, 10 ** (-4 + i / 20), (0.5 + i / 100, 0.5 + i / 100), (0.5, 0.5))
        for i in range(30)
    ]
    results = make_study(*rate_trials(tuple(trials)), validation=True)
    data = d.coefficient_learning_rate(results, limit=5)
    assert len(data.points) == 5 and data.best_number == 29
    assert "Drawn from 5 of 30 completed trials" in data.note


# --------------------------------------------------------------------------- the parameters' views


PARAMS = {"learning_rate", "dropout", "batch_size", "activation", "builder.blocks", "builder.norm"}


def knob_study():
    values = [
        {"dropout": 0.2, "batch_size": 64, "activation": "elu", "builder.blocks": 2, "builder.norm": "batch"},
        {"dropout": 0.1, "batch_size": 16, "activation": "relu", "builder.blocks": 3, "builder.norm": "layer"},
        {"dropout": 0.0, "batch_size": 32, "activation": "tanh", "builder.blocks": 1, "builder.norm": "none"},
        {"dropout": 0.5, "batch_size": 8, "activation": "gelu", "builder.blocks": 4, "builder.norm": "batch"},
    ]
    made = [
        make_trial(
            regularizer=reg, placement=placement, coefficient=first or 1e-4, l2_coefficient=second,
            validation=validation, test=test, knobs={"learning_rate": rate, **knobs},
        )
        for (reg, placement, first, second, rate, validation, test), knobs in zip(TRIALS, values, strict=False)
    ]
    return make_study(*made, validation=True), values


def test_optuna_charts_carry_the_training_knobs_and_builder_hyperparameters():
    results, _ = knob_study()
    parallel = draw_view(results, "parallel")
    assert PARAMS <= set(parallel.layout.xaxis.ticktext)
    importance = draw_view(results, "importance")
    assert PARAMS <= {name for trace in importance.data for name in trace.y}
    slices = draw_view(results, "slice")
    assert PARAMS <= {slices.layout[k].title.text for k in slices.layout if k.startswith("xaxis")}


def test_the_trials_table_lists_the_searched_knobs():
    results, values = knob_study()
    table = trial_table(results)
    at = table.columns.index("hidden units")
    assert table.columns[at + 1 : at + 7] == (
        "learning rate", "dropout", "batch size", "activation", "builder.blocks", "builder.norm"
    )
    assert table.text_columns == {"activation", "builder.norm"}
    numeric = {table.columns[i] for i in table.numeric}
    assert {"learning rate", "dropout", "batch size", "builder.blocks"} <= numeric
    assert not {"activation", "builder.norm"} & numeric
    for row, (knobs, trial) in zip(table.rows, zip(values, TRIALS, strict=False), strict=True):
        cells = dict(zip(table.columns, row, strict=True))
        assert cells["learning rate"].key == pytest.approx(trial[4])
        assert cells["learning rate"].text == f"{trial[4]:.2e}"
        assert cells["dropout"].key == pytest.approx(knobs["dropout"])
        assert cells["batch size"].text == str(knobs["batch_size"]) and cells["batch size"].key == knobs["batch_size"]
        assert cells["activation"].text == knobs["activation"]
        assert cells["builder.blocks"].key == knobs["builder.blocks"]
        assert cells["builder.norm"].text == knobs["builder.norm"]


def test_a_table_without_searched_knobs_keeps_its_columns():
    results = make_study(make_trial(), make_trial(regularizer="none"))
    table = trial_table(results)
    assert not {"learning rate", "dropout", "batch size", "activation"} & set(table.columns)
    assert table.text_columns == frozenset()
