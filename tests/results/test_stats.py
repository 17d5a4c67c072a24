"""One trial's figure summarized (mean, std, interval), figure_on, and the trials a comparison picks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optuna.trial import TrialState
from scipy import stats

from actreg_search.errors import UserError
from actreg_search.results.paired import paired_comparison
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.results.stats import (
    best_vs_baseline,
    figure_on,
    require_figure,
    summary,
    top_k_vs_best,
    trial_by_number,
)
from actreg_search.spec.measures import BOUNDED
from actreg_search.spec.vocab import Regularizer
from tests.results.test_intervals import logit_interval  # the logit interval computed another way
from tests.results.test_paired import A, B, assert_matches, record


def test_summary_of_an_unbounded_figure_is_the_t_interval():
    losses = (0.31, 0.42, 0.28, 0.55, 0.37, 0.33, 0.46, 0.29, 0.51, 0.40)
    s = summary(record(4, A, train_loss=losses), "train_loss", confidence=0.9)
    values = np.array(losses)
    half = stats.t.ppf(0.95, 9) * values.std(ddof=1) / np.sqrt(10)
    assert (s.trial, s.metric, s.n, s.confidence, s.method) == (4, "train_loss", 10, 0.9, "t")
    assert s.mean == pytest.approx(values.mean())
    assert s.std == pytest.approx(values.std(ddof=1))
    assert (s.ci_low, s.ci_high) == pytest.approx((values.mean() - half, values.mean() + half))


def test_summary_of_a_fraction_is_the_logit_interval():
    s = summary(record(4, A), "test_accuracy", confidence=0.9)
    values = np.array(A)
    assert (s.metric, s.method) == ("test_accuracy", "logit")
    assert s.mean == pytest.approx(values.mean()) and s.std == pytest.approx(values.std(ddof=1))
    assert (s.ci_low, s.ci_high) == pytest.approx(logit_interval(A, 0.9), rel=1e-12)
    t_low, t_high = values.mean() + np.array([-1, 1]) * stats.t.ppf(0.95, 9) * values.std(ddof=1) / np.sqrt(10)
    assert (s.ci_low, s.ci_high) != pytest.approx((t_low, t_high), rel=1e-6)  # not the plain t-interval
    assert s.ci_low < s.mean < s.ci_high


@pytest.mark.parametrize(("metric", "method"), [
    ("test_accuracy", "logit"), ("train_accuracy", "logit"), ("validation_accuracy", "logit"),
    ("sparsity", "logit"), ("validation_sparsity", "logit"),
    ("train_loss", "t"), ("gap", "t"), ("activation_mean", "t"),
])
def test_which_figures_get_which_interval(metric, method):
    figures = {name: (0.2, 0.25, 0.3, 0.22, 0.27) for name in
               ("train_accuracy", "validation_accuracy", "sparsity", "validation_sparsity", "train_loss", "activation_mean")}
    figures["gap"] = (-0.02, 0.01, -0.03, 0.0, 0.02)  # train minus test: a difference, below 0 at times
    seeds = (0, 1, 2, 3, 4)
    s = summary(record(1, A[:5], seeds=seeds, **figures), metric)
    assert s.method == method and (metric in BOUNDED) == (method == "logit")
    values = np.array(A[:5] if metric == "test_accuracy" else figures[metric])
    if method == "t":
        half = stats.t.ppf(0.975, 4) * values.std(ddof=1) / np.sqrt(5)
        assert (s.ci_low, s.ci_high) == pytest.approx((values.mean() - half, values.mean() + half))
    else:
        assert (s.ci_low, s.ci_high) == pytest.approx(logit_interval(values), rel=1e-12)


def test_summary_of_one_seed():
    s = summary(record(4, (0.8,), seeds=(0,)))
    assert (s.n, s.mean, s.std) == (1, 0.8, 0.0)
    assert math.isnan(s.ci_low) and math.isnan(s.ci_high)


@pytest.mark.parametrize(("metric", "on", "figure"), [
    ("accuracy", None, "test_accuracy"),
    ("accuracy", "test", "test_accuracy"),
    ("accuracy", "validation", "validation_accuracy"),
    ("sparsity", None, "sparsity"),
    ("sparsity", "validation", "validation_sparsity"),
    ("test_accuracy", None, "test_accuracy"),
    ("test_accuracy", "test", "test_accuracy"),
    ("validation_accuracy", None, "validation_accuracy"),
    ("validation_sparsity", "validation", "validation_sparsity"),
    ("train_loss", None, "train_loss"),
    ("gap", "test", "gap"),
])
def test_figure_on(metric, on, figure):
    assert figure_on(metric, on) == figure


@pytest.mark.parametrize(("metric", "on", "message"), [
    ("test_accuracy", "validation", "test_accuracy is measured on the test set, not on the validation split"),
    ("validation_accuracy", "test", "validation_accuracy is measured on the validation samples, not on the test split"),
    ("train_loss", "validation", "train_loss is measured on the training samples"),
    ("train_accuracy", "test", "train_accuracy is measured on the training samples"),
    ("accuracy", "train", "unknown split 'train'; choose one of test, validation"),
    ("loss", None, "unknown metric 'loss'; choose one of accuracy, balanced_accuracy, macro_f1, roc_auc, log_loss, rmse, mae, r2, "
     "mse, test_accuracy"),
])
def test_figure_on_refuses(metric, on, message):
    with pytest.raises(UserError, match=message):
        figure_on(metric, on)


def test_validation_figures_compare_like_test_ones():
    seeds = (0, 1, 2, 3, 4)
    a = record(1, A[:5], seeds=seeds, validation_accuracy=A[5:])
    b = record(2, B[:5], seeds=seeds, validation_accuracy=B[5:])
    c = paired_comparison(a, b, "validation_accuracy")
    assert_matches(c, A[5:], B[5:])
    assert c.describe().startswith("trial 2 beats trial 1 on validation accuracy by 3.4 points")
    require_figure(study(a, b), "validation_accuracy")  # recorded: no error


def test_require_figure_on_a_study_selected_on_the_test_set():
    with pytest.raises(UserError) as info:
        require_figure(make_results(), "validation_accuracy")
    assert str(info.value) == (
        "study 's' has no validation figures to compare (it was selected on the test set (the tutorial's protocol)); "
        "use the test split"
    )
    require_figure(make_results(), "test_accuracy")




def study(*trials: TrialRecord) -> StudyResults:
    return StudyResults(name="s", trials=trials, spec=None)


def make_results() -> StudyResults:
    return study(
        record(0, tuple(x - 0.02 for x in A), regularizer=Regularizer.NONE),
        record(1, B, regularizer=Regularizer.L2),  # best overall
        record(2, tuple(x + 0.01 for x in A), regularizer=Regularizer.L1),
        record(3, A, regularizer=Regularizer.NONE),  # best unregularized
        record(4, state=TrialState.FAIL),
        record(5, state=TrialState.RUNNING, regularizer=Regularizer.NONE),
    )


def test_best_vs_baseline():
    baseline, best = best_vs_baseline(make_results())
    assert (baseline.number, best.number) == (3, 1)


def test_best_vs_baseline_when_an_unregularized_trial_is_best():
    results = study(
        record(0, B, regularizer=Regularizer.NONE),
        record(1, A, regularizer=Regularizer.L1),
        record(2, tuple(x - 0.01 for x in A), regularizer=Regularizer.L2),
    )
    baseline, best = best_vs_baseline(results)
    assert (baseline.number, best.number) == (0, 1)
    assert paired_comparison(baseline, best).describe().startswith("trial 1 trails trial 0")


def test_best_vs_baseline_errors():
    with pytest.raises(UserError, match="no completed trial with regularizer 'none'"):
        best_vs_baseline(study(record(0), record(1, B), record(2, state=TrialState.FAIL, regularizer=Regularizer.NONE)))
    with pytest.raises(UserError, match="no completed regularized trial"):
        best_vs_baseline(study(record(0, regularizer=Regularizer.NONE)))


def test_top_k_vs_best():
    comparisons = top_k_vs_best(make_results(), 3)
    assert [(c.a, c.b) for c in comparisons] == [(1, 2), (1, 3)]
    assert all(c.mean_difference < 0 for c in comparisons)
    assert_matches(comparisons[1], B, A)
    assert len(top_k_vs_best(make_results(), 50)) == 3
    with pytest.raises(UserError, match="k must be at least 2"):
        top_k_vs_best(make_results(), 1)
    with pytest.raises(UserError, match="1 completed trial"):
        top_k_vs_best(study(record(0)), 3)


def test_trial_by_number():
    results = make_results()
    assert trial_by_number(results, 2).number == 2
    with pytest.raises(UserError, match="study 's' has no trial 42 \\(it has trials 0-5\\)"):
        trial_by_number(results, 42)
    with pytest.raises(UserError, match="trial 4 of study 's' is FAIL, not COMPLETE"):
        trial_by_number(results, 4)
