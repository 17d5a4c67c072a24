"""A figure in words and numbers, and which figures a study of each task leads with and ranks by."""

from __future__ import annotations

import dataclasses

import pytest

from actreg_search.results.figures import difference_text, short_words, trial_task, value_text, words
from actreg_search.results.records import StudyResults
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.vocab import Task
from actreg_search.store.reader import record_of
from tests.fakes import stored_trial


@pytest.mark.parametrize(("name", "said", "short"), [
    ("test_accuracy", "test accuracy", "test acc"),
    ("validation_accuracy", "validation accuracy", "val. acc"),
    ("validation_log_loss", "validation log loss", "val. log loss"),
    ("test_rmse", "test RMSE", "test RMSE"),
    ("validation_r2", "validation R²", "val. R²"),
    ("test_mae", "test MAE", "test MAE"),
    ("train_mse", "train reconstruction MSE", "train MSE"),
    ("rmse", "RMSE", "RMSE"),
    ("train_loss", "train loss", "train loss"),
])
def test_words(name, said, short):
    assert (words(name), short_words(name)) == (said, short)


def test_a_fraction_reads_in_percent_and_points_any_other_figure_in_its_units():
    assert (value_text("test_accuracy", 0.778), difference_text("test_accuracy", -0.06)) == ("77.8%", "-6.0 points")
    assert (value_text("test_rmse", 0.5123), difference_text("test_rmse", 0.05)) == ("0.5123", "+0.0500")


def test_a_regression_ranks_lowest_rmse_first_and_shows_r2_when_it_optimizes_it():
    spec = parse_spec(
        '[study]\nname = "r"\nseeds = 2\ntask = "regression"\nobjectives = ["r2"]\n'
        '[data]\nname = "diabetes"\nvalidation = 0.2\n[model]\nhidden_units = 4\nepochs = 3\n'
    )
    trials = tuple(  # validation RMSE 0.9, 0.5, 0.7
        dataclasses.replace(record_of(stored_trial("regression", (0.6, 0.6), (0.5, 0.5), (v, v))), number=i)
        for i, v in enumerate((0.9, 0.5, 0.7))
    )
    assert trial_task(trials[0]) is Task.REGRESSION and trials[0].selection_metric == "validation_rmse"  # read alone
    assert [t.number for t in sorted(trials, key=lambda t: t.rank_key)] == [1, 2, 0]

    rmse = StudyResults("r", trials, spec, ("validation_rmse",))
    assert rmse.task is Task.REGRESSION and rmse.objective_figures == () and rmse.best.number == 1
    r2 = dataclasses.replace(rmse, objectives=spec.selection_fields())
    assert r2.objectives == ("validation_r2",) and r2.objective_figures == ("validation_r2", "test_r2")
