"""The dashboard under a validation protocol: selection on validation, test beside it, bounded bars, width shown."""

from __future__ import annotations

import math
import statistics

import plotly.graph_objects as go
import pytest

from actreg_search.api.views import VIEWS, draw_view
from actreg_search.dashboard import build_sections, render_report
from actreg_search.dashboard import data as d
from actreg_search.dashboard import charts as f
from actreg_search.dashboard.page import best_html, meta_html, summary_html
from actreg_search.dashboard.table import VALIDATION_COLUMN, table_html, trial_table
from actreg_search.errors import UserError
from actreg_search.results.records import SplitCounts

from .conftest import make_spec


def disagreeing_study(study_factory, trial_factory, **kwargs):
    """Three trials where the best validation mean and the best test mean are different trials.

    #0: validation 0.95, test 0.80 (the chosen one); #1: validation 0.90, test 0.97 (best on test);
    #2 (unregularized): validation 0.85, test 0.86.
    """
    return study_factory(
        trial_factory(coefficient=1e-4, validation=(0.96, 0.94), test=(0.81, 0.79), hidden_units=33),
        trial_factory(coefficient=1e-3, validation=(0.91, 0.89), test=(0.98, 0.96), hidden_units=957),
        trial_factory(regularizer="none", validation=(0.86, 0.84), test=(0.87, 0.85), hidden_units=64),
        validation=True,
        **kwargs,
    )


# --------------------------------------------------------------------------- 3. validation against test


def test_validation_against_test_points_and_the_chosen_trial(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    assert results.selection_metric == "validation_accuracy" and not results.selects_on_test
    data = d.validation_vs_test(results)
    assert isinstance(data, d.SelectionData)

    expected = {
        t.number: (statistics.fmean(t.per_seed["validation_accuracy"]), statistics.fmean(t.per_seed["test_accuracy"]))
        for t in results.trials
    }
    assert [p.number for p in data.points] == sorted(expected)
    for point in data.points:
        assert (point.validation, point.test) == pytest.approx(expected[point.number])
    best_on_test = max(expected, key=lambda n: expected[n][1])
    best_on_validation = max(expected, key=lambda n: expected[n][0])
    assert (best_on_test, best_on_validation) == (1, 0)  # right and wrong differ here
    assert data.best_number == best_on_validation == results.best_trial.number
    assert data.best.difference == pytest.approx(0.80 - 0.95)
    assert "validation 0.9500, test 0.8000 (-15.0 points)" in data.note
    assert data.protocol == "20% of the training split held out per seed"

    figure = f.selection_figure(data)
    star = next(t for t in figure.data if t.name.startswith("chosen"))
    assert (star.x[0], star.y[0]) == pytest.approx(expected[0])
    diagonal = next(t for t in figure.data if t.name == "test = validation")
    assert list(diagonal.x) == list(diagonal.y)
    assert "validation" in figure.layout.xaxis.title.text and "test" in figure.layout.yaxis.title.text


def test_validation_against_test_is_unavailable_without_validation_figures(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9, 0.8)))
    assert results.selects_on_test
    data = d.validation_vs_test(results)
    assert isinstance(data, d.Unavailable)
    assert "selects on the test set" in data.reason and "optimistic" in data.reason
    assert isinstance(d.validation_vs_test(study_factory()), d.Unavailable)
    with pytest.raises(UserError, match="view 'selection' .* cannot be drawn: This study selects on the test set"):
        draw_view(results, "selection")


def test_the_selection_view_is_registered(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    assert list(VIEWS)[:2] == ["history", "selection"]
    figure = draw_view(results, "selection")
    assert isinstance(figure, go.Figure) and "chosen trial" in figure.layout.title.text
    charts = {c.key: c for s in build_sections(results) for c in s.charts}
    assert charts["selection"].figure is not None and charts["selection"].note == d.validation_vs_test(results).note


def test_a_big_validation_study_keeps_the_chosen_trial(big_study_factory):
    results = big_study_factory(3000, validation=True)
    data = d.validation_vs_test(results, limit=100)
    assert len(data.points) == 100 and data.best_number == results.best_trial.number
    assert "Drawn from 100 of" in data.note


# --------------------------------------------------------------------------- 1. history on the selection figure


def test_history_plots_the_selection_figure(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    history = d.optimization_history(results)
    assert history.metric == "validation_accuracy" and not history.on_test
    assert history.means == pytest.approx((0.95, 0.90, 0.85))
    assert history.tests == pytest.approx((0.80, 0.97, 0.86))
    assert history.best_so_far == pytest.approx((0.95, 0.95, 0.95))
    assert history.best_number == 0  # not #1, the best on test
    assert history.stds[0] == pytest.approx(statistics.stdev((0.96, 0.94)))

    figure = f.history_figure(history)
    assert figure.layout.yaxis.title.text == "mean validation accuracy (what the study selects on)"
    star = next(t for t in figure.data if t.name.startswith("best: trial"))
    assert star.x == (0,) and star.y[0] == pytest.approx(0.95)
    assert "test accuracy 0.8000" in star.customdata[0]

    test_history = d.optimization_history(study_factory(trial_factory(test=(0.9, 0.8))))
    assert f.history_figure(test_history).layout.yaxis.title.text == "mean test accuracy (selected on the test set)"


def test_the_table_lists_validation_beside_test(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    table = trial_table(results)
    assert table.columns.index(VALIDATION_COLUMN) == table.columns.index("test accuracy (mean ± std)") + 1
    row = table.rows[0]
    assert row[table.columns.index(VALIDATION_COLUMN)].text == "0.9500 ± 0.0141"
    assert table.columns.index(VALIDATION_COLUMN) in table.numeric
    assert table_html(table).count("<th ") == len(table.columns) == 13

    plain = trial_table(study_factory(trial_factory()))
    assert VALIDATION_COLUMN not in plain.columns and len(plain.rows[0]) == len(plain.columns)


# --------------------------------------------------------------------------- 2. selection bias in the summary


def test_summary_gives_validation_test_and_their_difference(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    summary = summary_html(results)
    assert "<b>Protocol</b>: 20% of the training split held out per seed." in summary
    assert "never used to choose" in summary and "optimistic" not in summary
    best = best_html("Best trial", results.best_trial, results)
    assert "test accuracy <span class=\"value\">0.8000 ± 0.0141</span>" in best
    assert "validation accuracy <span class=\"value\">0.9500 ± 0.0141</span>" in best
    assert 'data-figure="selection-bias">-15.0 points</span>' in best


def test_summary_says_plainly_when_the_test_set_chose(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9, 0.8)), trial_factory(regularizer="none", test=(0.7, 0.8)))
    summary = summary_html(results)
    assert "selected on the test set (the tutorial&#x27;s protocol)" in summary
    assert "These figures were selected on the test set" in summary and "optimistic" in summary
    assert "selection-bias" not in summary  # no validation figure to compare with


# --------------------------------------------------------------------------- 4. learning curves


def test_learning_curves_show_validation_beside_train_and_test(study_factory, trial_factory):
    results = disagreeing_study(study_factory, trial_factory)
    curves = d.learning_curves(results)
    best = curves.trials[0]
    assert best.number == 0 and best.validation is not None
    assert best.validation.high[-1] == pytest.approx(0.96) and best.validation.low[-1] == pytest.approx(0.94)
    names = {t.name for t in f.curves_figure(curves).data}
    assert {"train (mean)", "validation (mean)", "test (mean)"} <= names

    plain = d.learning_curves(study_factory(trial_factory()))
    assert plain.trials[0].validation is None
    assert "validation (mean)" not in {t.name for t in f.curves_figure(plain).data}


# --------------------------------------------------------------------------- 5. the path shows width


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
    assert markers.mode == "markers"  # the trials themselves are not joined
    assert list(markers.marker.color) == pytest.approx([math.log10(w) for w in line.hidden_units])
    assert markers.marker.colorbar.title.text == "hidden<br>units"


def test_the_sparsity_front_is_chosen_on_validation(study_factory, trial_factory):
    """#0 dominates #1 on validation, #1 dominates #0 on test: the front marked is #0's, as rings."""
    results = study_factory(
        trial_factory(validation=(0.95, 0.95), test=(0.80, 0.80), sparsity=(0.2, 0.2), validation_sparsity=(0.3, 0.3)),
        trial_factory(validation=(0.90, 0.90), test=(0.97, 0.97), sparsity=(0.2, 0.2), validation_sparsity=(0.3, 0.3)),
        validation=True,
    )
    data = d.sparsity_tradeoff(results)
    assert data.front_on == "validation" and data.pareto == (0,) and "validation" in data.note
    front = f.sparsity_figure(data).data[0]
    assert front.mode == "markers" and front.name == "Pareto front on validation"

    on_test = d.sparsity_tradeoff(study_factory(trial_factory(test=(0.8, 0.8)), trial_factory(test=(0.97, 0.97))))
    assert on_test.front_on == "test" and on_test.pareto == (1,) and on_test.note is None
    assert f.sparsity_figure(on_test).data[0].mode == "lines+markers"


# --------------------------------------------------------------------------- 6. bounded error bars


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


def test_one_seed_has_no_bar(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9,), train=(1.0,), sparsity=(0.5,)))
    history = d.optimization_history(results)
    assert history.lows == history.highs == history.means == (pytest.approx(0.9),)


# --------------------------------------------------------------------------- 7. the header's split


def test_the_header_gives_the_recorded_split_and_the_protocol(study_factory, trial_factory):
    spec = make_spec(data='name = "npz"\npath = "arrays.npz"')
    counted = study_factory(trial_factory(), spec=spec, split=SplitCounts(train=124, validation=0, test=54))
    assert "<span>npz: 124 train / 54 test</span>" in meta_html(counted)
    assert "<span>selected on the test set (the tutorial&#x27;s protocol)</span>" in meta_html(counted)
    assert "<span>npz: 50% train / 50% test</span>" in meta_html(study_factory(trial_factory(), spec=spec))  # no counts

    results = disagreeing_study(study_factory, trial_factory, split=SplitCounts(train=24, validation=6, test=70))
    header = meta_html(results)
    assert "<span>circles: 24 train / 6 validation / 70 test</span>" in header
    assert "<span>validation: 20% of the training split held out per seed</span>" in header
    assert "24 train / 6 validation / 70 test" in render_report(results)


# --------------------------------------------------------------------------- in a browser


def test_a_validation_study_in_headless_chromium(study_factory, trial_factory, chromium, tmp_path):
    """Every chart of a validation study draws (the new one included), with no browser error."""
    from actreg_search.dashboard import write_report

    results = study_factory(
        trial_factory(coefficient=1e-4, validation=(0.96, 0.94), test=(0.81, 0.79), hidden_units=33),
        trial_factory(coefficient=1e-3, validation=(0.91, 0.89), test=(0.98, 0.96), hidden_units=957),
        trial_factory(coefficient=1e-2, validation=(0.99, 1.0), test=(1.0, 0.99), hidden_units=33),
        trial_factory(regularizer="l2", coefficient=1e-3, validation=(0.9, 0.8), test=(0.85, 0.8), hidden_units=128),
        trial_factory(regularizer="none", validation=(0.86, 0.84), test=(0.87, 0.85), hidden_units=64),
        validation=True,
        split=SplitCounts(train=24, validation=6, test=70),
    )
    path = tmp_path / "validation.html"
    write_report(results, path)
    check = chromium.check_page(path, tmp_path / "validation.png")
    assert check.errors == () and check.notes == ()
    assert {"chart-history", "chart-selection", "chart-path", "chart-sparsity", "chart-curves"} <= set(check.plots)
    for plot, (svgs, traces) in check.plots.items():
        assert svgs >= 1 and traces >= 1, f"{plot}: {svgs} svg, {traces} traces drawn"


def test_a_real_study_under_the_default_protocol(real_study):
    """The tiny real study names no protocol: it holds out 20% per seed, and every view says so."""
    results = real_study.results()
    assert results.selection_metric == "validation_accuracy" and results.split is not None
    data = d.validation_vs_test(results)
    assert len(data.points) == len(results.completed) and data.best_number == results.best_trial.number
    for point in data.points:
        trial = results.trial(point.number)
        assert point.validation == pytest.approx(statistics.fmean(trial.per_seed["validation_accuracy"]))
        assert point.test == pytest.approx(statistics.fmean(trial.per_seed["test_accuracy"]))
    history = d.optimization_history(results)
    assert history.means == pytest.approx(tuple(t.mean("validation_accuracy") for t in results.completed))
    assert f"<span>circles: {results.split.describe()}</span>" in meta_html(results)
    curves = d.learning_curves(results)
    assert curves.trials[0].validation is not None
