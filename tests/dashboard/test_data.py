"""Each chart's data on the shapes a study can take, built directly (no training) and from one real study."""

from __future__ import annotations

import math
import statistics

import pytest
from optuna.trial import TrialState

from actreg_search.dashboard import data as d
from actreg_search.spec.vocab import Placement, Regularizer
from tests.dashboard.studies import RNN_TRIALS, disagreeing_study, rnn_study

P, R = Placement, Regularizer

CHARTS = (
    d.optimization_history,
    d.regularization_path,
    d.sparsity_tradeoff,
    d.learning_curves,
    d.seed_distributions,
    d.coefficient_width,
    d.layer_sparsity,
)


def test_no_trials_gives_a_note_for_every_chart(study_factory):
    results = study_factory()
    for chart in CHARTS:
        data = chart(results)
        assert isinstance(data, d.Unavailable), chart.__name__
        assert data.reason == "The study has no trials yet."
    assert d.param_chart_check(results) == d.Unavailable("The study has no trials yet.")


def test_no_finished_trial_says_what_the_trials_are_doing(study_factory, trial_factory):
    results = study_factory(trial_factory(TrialState.RUNNING), trial_factory(TrialState.RUNNING))
    for chart in CHARTS:
        data = chart(results)
        assert isinstance(data, d.Unavailable)
        assert "No completed trial yet (2 running)" in data.reason


def test_only_failed_trials(study_factory, trial_factory):
    results = study_factory(
        trial_factory(TrialState.FAIL, fail_reason="non-finite loss on seed 0 at epoch 3"),
        trial_factory(TrialState.FAIL, fail_reason="ValueError: boom"),
        trial_factory(TrialState.PRUNED),
    )
    for chart in CHARTS:
        data = chart(results)
        assert isinstance(data, d.Unavailable)
        assert "2 failed, 1 pruned" in data.reason and "why it failed" in data.reason
    assert isinstance(d.param_chart_check(results, min_trials=2), d.Unavailable)


def test_one_trial(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.8, 0.9), sparsity=(0.4, 0.6), hidden_units=64))
    history = d.optimization_history(results)
    assert isinstance(history, d.HistoryData)
    assert history.numbers == (0,) and history.best_so_far == (pytest.approx(0.85),) and history.best_number == 0
    assert history.stds[0] == pytest.approx(math.sqrt(0.005))

    assert d.param_chart_check(results) is None  # parallel coordinates, slice: one trial is a line
    assert d.param_chart_check(results, min_trials=2) == d.Unavailable(
        "Needs at least 2 completed trials; the study has 1."
    )

    path = d.regularization_path(results)
    assert isinstance(path, d.PathData) and path.reference is None and "no reference band" in path.note
    (line,) = path.lines
    assert line.regularizer is R.L1 and line.placement is P.KERNEL and line.numbers == (0,)
    assert line.log10_strength == (pytest.approx(-4.0),)

    sparsity = d.sparsity_tradeoff(results)
    assert sparsity.pareto == (0,) and sparsity.points[0].sparsity == pytest.approx(0.5)

    curves = d.learning_curves(results)
    assert [c.number for c in curves.trials] == [0] and "only the best trial" in curves.note
    band = curves.trials[0].test
    assert band.epochs == (1, 2, 3, 4) and band.high[-1] == pytest.approx(0.9) and band.low[-1] == pytest.approx(0.8)

    boxes = d.seed_distributions(results)
    assert [(g.key, g.values) for g in boxes.accuracy_by_placement] == [(P.KERNEL, (0.8, 0.9))]

    width = d.coefficient_width(results)
    assert isinstance(width, d.Unavailable) and "every regularized trial has 64 units" in width.reason


def test_grid_study_with_fixed_coefficient_and_width(study_factory, trial_factory):
    """The tutorial grid: none, l1 1e-4 before and after the activation, width fixed at 500."""
    results = study_factory(
        trial_factory(regularizer="none", grid=True, hidden_units=500, test=(0.90, 0.92)),
        trial_factory(regularizer="l1", placement="pre_activation", grid=True, hidden_units=500, test=(0.95, 0.93)),
        trial_factory(regularizer="l1", placement="post_activation", grid=True, hidden_units=500, test=(0.91, 0.91)),
    )
    assert d.searched_params(results) == {"regularizer": 2, "placement": 2}
    assert d.param_chart_check(results, min_trials=2) is None

    path = d.regularization_path(results)
    assert [(line.placement, line.log10_strength) for line in path.lines] == [
        (P.PRE_ACTIVATION, (pytest.approx(-4.0),)),
        (P.POST_ACTIVATION, (pytest.approx(-4.0),)),
    ]
    assert all(isinstance(line.placement, Placement) for line in path.lines)
    assert path.reference.mean == pytest.approx(0.91) and path.reference.n_runs == 2 and path.note == d.PATH_ENCODING

    curves = d.learning_curves(results)
    assert [c.number for c in curves.trials] == [1, 0] and curves.note is None
    assert curves.trials[1].title.startswith("best unregularized trial #0 none")

    boxes = d.seed_distributions(results)
    assert [g.key for g in boxes.accuracy_by_placement] == [None, P.PRE_ACTIVATION, P.POST_ACTIVATION]
    assert [g.key for g in boxes.accuracy_by_regularizer] == [R.NONE, R.L1]
    assert all(isinstance(g.key, Regularizer) for g in boxes.accuracy_by_regularizer)

    assert isinstance(d.coefficient_width(results), d.Unavailable)


def test_no_unregularized_trial(study_factory, trial_factory):
    results = study_factory(
        trial_factory(regularizer="l2", placement="pre_activation", coefficient=1e-3, hidden_units=16),
        trial_factory(regularizer="l2", placement="pre_activation", coefficient=1e-5, hidden_units=64),
        trial_factory(regularizer="l1_l2", placement="kernel", coefficient=1e-4, l2_coefficient=3e-4, hidden_units=256),
    )
    path = d.regularization_path(results)
    assert path.reference is None and "no reference band" in path.note
    l2, l1_l2 = path.lines
    assert l2.log10_strength == (pytest.approx(-5), pytest.approx(-3)) and l2.numbers == (1, 0)
    assert l1_l2.log10_strength == (pytest.approx(math.log10(4e-4)),)  # l1 + l2

    curves = d.learning_curves(results)
    assert len(curves.trials) == 1 and "No unregularized trial" in curves.note
    assert None not in [g.key for g in d.seed_distributions(results).accuracy_by_placement]

    width = d.coefficient_width(results)
    assert isinstance(width, d.WidthData) and [p.hidden_units for p in width.points] == [16, 64, 256]
    assert width.grid is not None
    cells = [v for row in width.grid.z for v in row if v is not None]
    assert min(cells) >= 0.91 - 1e-9 and max(cells) <= 0.91 + 1e-9  # every trial scored 0.91
    assert len(width.grid.x) == len(width.grid.log10_width) == d.GRID_POINTS


def test_regularized_trials_missing_gives_path_note_with_reference(study_factory, trial_factory):
    results = study_factory(trial_factory(regularizer="none", test=(0.9, 0.8)))
    path = d.regularization_path(results)
    assert isinstance(path, d.Unavailable) and "0.850 ± 0.071" in path.reason
    assert isinstance(d.coefficient_width(results), d.Unavailable)
    assert d.learning_curves(results).note == "The best trial is unregularized."


def test_history_best_so_far_and_failed_trials_in_between(study_factory, trial_factory):
    results = study_factory(
        trial_factory(test=(0.7, 0.7)),
        trial_factory(TrialState.FAIL, fail_reason="x"),
        trial_factory(test=(0.9, 0.9)),
        trial_factory(test=(0.8, 0.8)),
    )
    history = d.optimization_history(results)
    assert history.numbers == (0, 2, 3)
    assert history.best_so_far == pytest.approx((0.7, 0.9, 0.9))
    assert history.best_number == 2 and history.not_completed == 1


def test_identical_params_block_importances(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9, 0.9)), trial_factory(test=(0.8, 0.8)))
    assert "same parameters" in d.param_chart_check(results, min_trials=2).reason
    assert d.param_chart_check(results, min_trials=1) is None


def test_sparsity_front_by_ascending_sparsity(study_factory, trial_factory):
    points = [(0.1, 0.9), (0.5, 0.8), (0.4, 0.7), (0.9, 0.5), (0.9, 0.4), (0.5, 0.8)]  # (sparsity, accuracy)
    results = study_factory(*(trial_factory(test=(a, a), sparsity=(s, s)) for s, a in points))
    assert d.sparsity_tradeoff(results).pareto == (0, 1, 5, 3)


def test_strength_and_describe(study_factory, trial_factory):
    results = study_factory(
        trial_factory(regularizer="l1_l2", placement="kernel", coefficient=1e-3, l2_coefficient=1e-4, hidden_units=8),
        trial_factory(regularizer="none", hidden_units=500),
    )
    both, plain = results.trials
    assert d.strength(both.config) == pytest.approx(1.1e-3) and d.strength(plain.config) is None
    assert d.describe(both) == "#0 l1_l2 · kernel l1 1.0e-03 + l2 1.0e-04, 8 units"
    assert d.describe(plain) == "#1 none, 500 units"


def test_collinear_trials_give_no_surface(study_factory, trial_factory):
    results = study_factory(
        *(trial_factory(coefficient=1e-4, hidden_units=w) for w in (8, 16, 32)),
    )
    width = d.coefficient_width(results)
    assert isinstance(width, d.WidthData) and width.grid is None and "Too few" in width.note


def test_real_study(real_study):
    results = real_study.results()
    completed = [t.number for t in results.completed]
    assert len(completed) == real_study.n_trials

    history = d.optimization_history(results)
    assert history.numbers == tuple(completed) and history.best_number == results.top(1)[0].number
    assert history.best_so_far[-1] == max(history.means)

    boxes = d.seed_distributions(results)
    assert sum(g.n_trials for g in boxes.accuracy_by_regularizer) == len(completed)
    assert sum(len(g.values) for g in boxes.gap_by_placement) == 2 * len(completed)

    curves = d.learning_curves(results)
    assert curves.trials[0].number == history.best_number
    assert curves.trials[0].train.epochs == (1, 2, 3, 4) and curves.trials[0].n_seeds == 2

    sparsity = d.sparsity_tradeoff(results)
    assert set(sparsity.pareto) <= set(completed) and sparsity.pareto
    assert all(0.0 <= p.sparsity <= 1.0 for p in sparsity.points)

    path = d.regularization_path(results)
    plain = [t for t in results.completed if t.config.placement is None]
    assert (path.reference is not None) == bool(plain)
    assert sum(len(line.numbers) for line in path.lines) == len(completed) - len(plain)


# --------------------------------------------------------------------------- multi-objective, drawn trials, big studies


def multi_objective_study(study_factory, trial_factory):
    """Four trials of a ["test_accuracy", "sparsity"] study: #0, #1 and #3 on the front, #2 dominated by #1."""
    points = [(0.95, 0.2), (0.90, 0.6), (0.85, 0.5), (0.80, 0.9)]  # (accuracy, sparsity)
    return study_factory(
        *(
            trial_factory(
                regularizer="none" if i == 0 else "l1",
                coefficient=10 ** -(5 - i),
                hidden_units=8 * 2**i,
                test=(a, a),
                sparsity=(s, s),
                objectives=2,
            )
            for i, (a, s) in enumerate(points)
        ),
        objectives=("test_accuracy", "sparsity"),
    )


def test_multi_objective_study_gives_optuna_one_target_per_objective(study_factory, trial_factory):
    results = multi_objective_study(study_factory, trial_factory)
    assert results.multi_objective and results.pareto_numbers == {0, 1, 3}

    source = d.optuna_input(results)
    assert isinstance(source, d.OptunaInput) and source.note is None
    assert [(t.index, t.key, t.name) for t in source.targets] == [
        (0, "test_accuracy", "mean test accuracy"),
        (1, "sparsity", "mean sparsity"),
    ]
    assert len(source.study.directions) == 2
    trials = source.study.get_trials()
    assert [t.user_attrs["trial"] for t in trials] == [0, 1, 2, 3]
    assert [source.targets[1](t) for t in trials] == pytest.approx([0.2, 0.6, 0.5, 0.9])
    assert trials[1].params == results.trials[1].params

    sparsity = d.sparsity_tradeoff(results)  # the study's own front, by ascending sparsity
    assert sparsity.pareto == (0, 1, 3)


def test_learning_curves_are_the_best_and_best_unregularized_trials(study_factory, trial_factory):
    """The best trial has no curves: a note says so; another trial's curves are not passed off as the best's."""
    results = study_factory(
        trial_factory(test=(0.95, 0.95), curves=False),
        trial_factory(test=(0.90, 0.90)),
        trial_factory(regularizer="none", test=(0.85, 0.85)),
    )
    assert results.best.number == 0 and results.best_unregularized.number == 2
    curves = d.learning_curves(results)
    assert [c.number for c in curves.trials] == [2]
    assert curves.trials[0].title.startswith("best unregularized trial #2")
    assert "The best trial #0 l1 · kernel" in curves.note and "has no learning curves recorded" in curves.note

    results = study_factory(trial_factory(test=(0.95, 0.95), curves=False), trial_factory(test=(0.9, 0.9)))
    none = d.learning_curves(results)
    assert isinstance(none, d.Unavailable) and "has no learning curves recorded" in none.reason


# --------------------------------------------------------------------------- under a validation protocol


def test_history_plots_the_selection_figure():
    history = d.optimization_history(disagreeing_study())
    assert history.metric == "validation_accuracy" and not history.on_test
    assert history.means == pytest.approx((0.95, 0.90, 0.85))
    assert history.tests == pytest.approx((0.80, 0.97, 0.86))
    assert history.best_so_far == pytest.approx((0.95, 0.95, 0.95))
    assert history.best_number == 0  # not #1, the best on test
    assert history.stds[0] == pytest.approx(statistics.stdev((0.96, 0.94)))
    assert history.axis_title == "mean validation accuracy (what the study selects on)"


def test_one_seed_has_no_bar(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9,), train=(1.0,), sparsity=(0.5,)))
    history = d.optimization_history(results)
    assert history.lows == history.highs == history.means == (pytest.approx(0.9),)


def test_a_real_study_under_the_default_protocol(real_study):
    """The tiny real study names no protocol: it holds out 20% per seed, and every view says so."""
    results = real_study.results()
    assert results.selection_metric == "validation_accuracy" and results.split is not None
    data = d.validation_vs_test(results)
    assert len(data.points) == len(results.completed) and data.best_number == results.best.number
    for point in data.points:
        trial = results.trial(point.number)
        assert point.validation == pytest.approx(statistics.fmean(trial.per_seed["validation_accuracy"]))
        assert point.test == pytest.approx(statistics.fmean(trial.per_seed["test_accuracy"]))
    history = d.optimization_history(results)
    assert history.means == pytest.approx(tuple(t.mean("validation_accuracy") for t in results.completed))
    curves = d.learning_curves(results)
    assert curves.trials[0].validation is not None


# --------------------------------------------------------------------------- groups: enums, every placement


def test_groups_are_enums_ordered_as_the_enums_list_them():
    groups = [d.Group(R.L2, P.RECURRENT), d.Group(R.L1, P.OUTPUT), d.Group(R.NONE), d.Group(R.L1, P.PRE_ACTIVATION)]
    assert sorted(groups, key=lambda g: g.order) == [
        d.Group(R.NONE),
        d.Group(R.L1, P.PRE_ACTIVATION),
        d.Group(R.L1, P.OUTPUT),
        d.Group(R.L2, P.RECURRENT),
    ]
    assert d.REGULARIZERS == tuple(Regularizer) and d.PLACEMENTS == tuple(Placement)


def test_an_rnn_study_shows_its_output_and_recurrent_trials_in_every_view_by_placement():
    """Trials penalizing an rnn's output or recurrent kernel are grouped as such, not dropped or merged."""
    results = rnn_study()
    groups = {d.Group(R(reg), P(place) if place else None) for reg, place, *_ in RNN_TRIALS}
    output, recurrent = d.Group(R.L1, P.OUTPUT), d.Group(R.L2, P.RECURRENT)
    assert {output, recurrent} <= groups

    path = d.regularization_path(results)
    assert [line.group for line in path.lines] == [d.Group(R.L1, P.KERNEL), output, recurrent]
    assert [line.numbers for line in path.lines] == [(4,), (0, 1), (2, 3)]
    assert path.reference is not None and path.reference.n_trials == 1

    sparsity = d.sparsity_tradeoff(results)
    assert {p.number: p.group for p in sparsity.points} == {
        n: d.Group(R(reg), P(place) if place else None) for n, (reg, place, *_) in enumerate(RNN_TRIALS)
    }

    selection = d.validation_vs_test(results)
    assert {p.group for p in selection.points} == groups

    width = d.coefficient_width(results)
    assert [(p.number, p.placement) for p in width.points] == [
        (0, P.OUTPUT), (1, P.OUTPUT), (2, P.RECURRENT), (3, P.RECURRENT), (4, P.KERNEL)
    ]

    boxes = d.seed_distributions(results)
    for panel in (boxes.accuracy_by_placement, boxes.gap_by_placement):
        assert [(g.key, g.n_trials) for g in panel] == [(None, 1), (P.KERNEL, 1), (P.OUTPUT, 2), (P.RECURRENT, 2)]
    by_placement = {g.key: g.values for g in boxes.accuracy_by_placement}
    assert sorted(by_placement[P.RECURRENT]) == pytest.approx(sorted([0.88, 0.86, 0.80, 0.78]))
    assert [g.key for g in boxes.accuracy_by_regularizer] == [R.NONE, R.L1, R.L2]
