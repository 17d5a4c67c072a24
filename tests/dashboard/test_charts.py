"""Our charts as plotly figures: what each trace draws, its labels written from the enums, bounded bars."""

from __future__ import annotations

import math
import statistics

import pytest

from actreg_search.dashboard import charts as f
from actreg_search.dashboard import data as d
from actreg_search.dashboard.style import PLACEMENT_DASHES, PLACEMENT_SYMBOLS
from actreg_search.spec.vocab import Placement
from tests.dashboard.studies import disagreeing_study, rnn_study


def test_history_figure_plots_the_selection_figure_and_stars_the_chosen_trial(study_factory, trial_factory):
    figure = f.history_figure(d.optimization_history(disagreeing_study()))
    assert figure.layout.yaxis.title.text == "mean validation accuracy (what the study selects on)"
    star = next(t for t in figure.data if t.name.startswith("best: trial"))
    assert star.x == (0,) and star.y[0] == pytest.approx(0.95)
    assert "test accuracy 0.8000" in star.customdata[0]
    assert "validation accuracy %{y:.4f}" in figure.data[0].hovertemplate

    test_history = d.optimization_history(study_factory(trial_factory(test=(0.9, 0.8))))
    assert f.history_figure(test_history).layout.yaxis.title.text == "mean test accuracy (selected on the test set)"


def test_selection_figure_stars_the_chosen_trial_beside_the_diagonal():
    results = disagreeing_study()
    figure = f.selection_figure(d.validation_vs_test(results))
    chosen = results.trial(0)
    star = next(t for t in figure.data if t.name.startswith("chosen"))
    assert (star.x[0], star.y[0]) == pytest.approx(
        (statistics.fmean(chosen.per_seed["validation_accuracy"]), statistics.fmean(chosen.per_seed["test_accuracy"]))
    )
    diagonal = next(t for t in figure.data if t.name == "test = validation")
    assert list(diagonal.x) == list(diagonal.y)
    assert "validation" in figure.layout.xaxis.title.text and "test" in figure.layout.yaxis.title.text
    assert [t.name for t in figure.data[1:-1]] == ["none", "l1 · kernel"]  # labels written when drawing


def test_the_path_never_joins_trials_of_different_widths(study_factory, trial_factory):
    """l1 · kernel at widths 33 and 957 (two trials each): two lines of one width each, colour is the width."""
    results = study_factory(
        trial_factory(coefficient=1e-5, hidden_units=33, test=(0.9, 0.9)),
        trial_factory(coefficient=1e-4, hidden_units=957, test=(0.7, 0.7)),
        trial_factory(coefficient=1e-3, hidden_units=33, test=(0.8, 0.8)),
        trial_factory(coefficient=1e-2, hidden_units=957, test=(0.6, 0.6)),
        trial_factory(coefficient=3e-3, hidden_units=500, test=(0.6, 0.6)),
    )
    (line,) = d.regularization_path(results).lines
    assert line.hidden_units == (33, 957, 33, 500, 957)  # by ascending coefficient
    assert line.joined == ((0, 2), (1, 4))  # 33 units, 957 units; 500 alone
    assert d.regularization_path(results).note.startswith(d.PATH_ENCODING)

    figure = f.path_figure(d.regularization_path(results))
    width_of = {round(x, 6): w for x, w in zip(line.log10_strength, line.hidden_units, strict=True)}
    lines = [t for t in figure.data if "lines" in (t.mode or "")]
    assert len(lines) == 2
    for trace in lines:
        assert len({width_of[round(x, 6)] for x in trace.x}) == 1, trace.name
    (markers,) = [t for t in figure.data if t.mode == "markers"]
    assert markers.name == "l1 · kernel"
    assert list(markers.marker.color) == pytest.approx([math.log10(w) for w in line.hidden_units])
    assert markers.marker.colorbar.title.text == "hidden<br>units"


def test_error_bars_near_one_stay_within_one(study_factory, trial_factory):
    seeds = (1.0, 0.99, 1.0, 0.98, 1.0)
    results = study_factory(
        trial_factory(test=seeds, train=(1.0,) * 5, sparsity=(0.99, 1.0, 1.0, 0.97, 1.0), hidden_units=16),
        trial_factory(coefficient=1e-3, test=seeds, train=(1.0,) * 5, sparsity=(0.5,) * 5, hidden_units=16),
        trial_factory(regularizer="none", test=seeds, train=(1.0,) * 5, sparsity=(0.5,) * 5),
    )
    mean = statistics.fmean(seeds)
    assert mean + statistics.stdev(seeds) > 1.0  # the old ±1 std bar passed 1.0

    history = d.optimization_history(results)
    assert all(low <= m <= high <= 1.0 for low, m, high in zip(history.lows, history.means, history.highs))
    bars = f.history_figure(history).data[0].error_y
    assert bars.symmetric is False
    assert all(m + up <= 1.0 + 1e-12 for m, up in zip(history.means, bars.array))
    assert all(m - down >= 0.0 for m, down in zip(history.means, bars.arrayminus))

    path = d.regularization_path(results)
    assert path.reference.high <= 1.0 and path.reference.low <= path.reference.mean
    markers = next(t for t in f.path_figure(path).data if t.mode == "markers")
    assert all(m + up <= 1.0 + 1e-12 for m, up in zip(markers.y, markers.error_y.array))

    sparsity = f.sparsity_figure(d.sparsity_tradeoff(results))
    for trace in sparsity.data[1:]:
        assert all(y + up <= 1.0 + 1e-12 for y, up in zip(trace.y, trace.error_y.array))
        assert all(x + right <= 1.0 + 1e-12 for x, right in zip(trace.x, trace.error_x.array))


def test_an_rnn_study_draws_output_and_recurrent_as_their_own_groups():
    """Each placement of an rnn has its own legend entry, marker and line; none is drawn as another's."""
    results = rnn_study()
    expected = ["l1 · kernel", "l1 · output", "l2 · recurrent"]

    path = f.path_figure(d.regularization_path(results))
    markers = [t for t in path.data if t.mode == "markers"]
    assert [t.name for t in markers] == expected
    symbols = [t.marker.symbol for t in markers]
    assert symbols == [PLACEMENT_SYMBOLS[p] for p in (Placement.KERNEL, Placement.OUTPUT, Placement.RECURRENT)]
    assert len(set(symbols)) == 3
    dashes = {t.legendgroup: t.line.dash for t in path.data if t.mode == "lines"}  # each pair shares a width
    assert dashes == {
        "l1 · output": PLACEMENT_DASHES[Placement.OUTPUT],
        "l2 · recurrent": PLACEMENT_DASHES[Placement.RECURRENT],
    }
    assert len(set(dashes.values())) == 2

    for figure in (f.sparsity_figure(d.sparsity_tradeoff(results)), f.selection_figure(d.validation_vs_test(results))):
        groups = {t.name: t.marker.symbol for t in figure.data if t.name in {"none", *expected}}
        assert list(groups) == ["none", *expected]
        assert len(set(groups.values())) == 4

    width = f.width_figure(d.coefficient_width(results))
    l1 = next(t for t in width.data if t.name == "l1")
    assert list(l1.marker.symbol) == [PLACEMENT_SYMBOLS[Placement.OUTPUT]] * 2 + [PLACEMENT_SYMBOLS[Placement.KERNEL]]
