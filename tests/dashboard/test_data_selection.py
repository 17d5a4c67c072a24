"""Validation against test accuracy: the chosen trial is the best on validation, its test figure beside it."""

from __future__ import annotations

import statistics

import pytest

from actreg_search.api.views import draw_view
from actreg_search.dashboard import data as d
from actreg_search.errors import UserError
from actreg_search.spec.vocab import Placement, Regularizer
from tests.dashboard.studies import disagreeing_study

P, R = Placement, Regularizer


def test_validation_against_test_points_and_the_chosen_trial():
    results = disagreeing_study()
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
    assert data.best_number == best_on_validation == results.best.number
    assert data.best.difference == pytest.approx(0.80 - 0.95)
    assert "validation 0.9500, test 0.8000 (-15.0 points)" in data.note
    assert data.protocol == "20% of the training split held out per seed"
    assert [p.group for p in data.points] == [d.Group(R.L1, P.KERNEL), d.Group(R.L1, P.KERNEL), d.Group(R.NONE)]


def test_validation_against_test_is_unavailable_without_validation_figures(study_factory, trial_factory):
    results = study_factory(trial_factory(test=(0.9, 0.8)))
    assert results.selects_on_test
    data = d.validation_vs_test(results)
    assert isinstance(data, d.Unavailable)
    assert "selects on the test set" in data.reason and "optimistic" in data.reason
    assert isinstance(d.validation_vs_test(study_factory()), d.Unavailable)
    with pytest.raises(UserError, match="view 'selection' .* cannot be drawn: This study selects on the test set"):
        draw_view(results, "selection")


def test_a_big_validation_study_keeps_the_chosen_trial(big_study_factory):
    results = big_study_factory(3000, validation=True)
    data = d.validation_vs_test(results, limit=100)
    assert len(data.points) == 100 and data.best_number == results.best.number
    assert "Drawn from 100 of" in data.note
