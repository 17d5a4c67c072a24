"""Paired statistics on hand-written per-seed figures, checked against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from optuna.trial import TrialState
from scipy import stats

from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer
from actreg_search.errors import UserError
from actreg_search.results.records import TrialRecord
from actreg_search.results.paired import CONSTANT_NOTE, format_d, format_p, paired_comparison
from actreg_search.spec.measures import TEST_ACCURACY

SEEDS = tuple(range(10))
A = (0.80, 0.82, 0.79, 0.85, 0.81, 0.78, 0.84, 0.80, 0.83, 0.82)
B = (0.84, 0.85, 0.79, 0.88, 0.80, 0.83, 0.86, 0.84, 0.86, 0.85)  # b - a: 8 up, 1 tie, 1 down


def record(
    number: int,
    values: tuple[float, ...] = A,
    seeds: tuple[int, ...] = SEEDS,
    regularizer: Regularizer = Regularizer.L2,
    state: TrialState = TrialState.COMPLETE,
    **extra: tuple[float, ...],
) -> TrialRecord:
    """A stored trial built by hand (test accuracy ``values``, plus any other per-seed figures)."""
    placement = None if regularizer is Regularizer.NONE else Placement.KERNEL
    config = TrialConfig(regularizer=regularizer, placement=placement, l1=1e-4, l2=1e-4, hidden_units=8)
    complete = state is TrialState.COMPLETE
    return TrialRecord(
        number=number,
        state=state,
        params={},
        config=config,
        values=(float(np.mean(values)),) if complete else (),
        seeds=seeds,
        per_seed={TEST_ACCURACY: values, **extra} if complete else {},
        wall_time_s=None,
        duration_s=None,
        fail_reason=None,
    )


def expected(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """The figures computed independently, straight from numpy and scipy."""
    d = b - a
    n = len(d)
    sd = d.std(ddof=1)
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * sd / np.sqrt(n)
    return {
        "mean": d.mean(),
        "low": d.mean() - half,
        "high": d.mean() + half,
        "wilcoxon": stats.wilcoxon(b, a).pvalue,
        "t": stats.ttest_rel(b, a).pvalue,
        "d_z": d.mean() / sd,
    }


def assert_matches(c, a, b, confidence=0.95):
    want = expected(np.array(a), np.array(b), confidence)
    assert c.mean_difference == pytest.approx(want["mean"], rel=1e-12)
    assert c.ci_low == pytest.approx(want["low"], rel=1e-12)
    assert c.ci_high == pytest.approx(want["high"], rel=1e-12)
    assert c.wilcoxon_p == pytest.approx(want["wilcoxon"], rel=1e-12)
    assert c.t_p == pytest.approx(want["t"], rel=1e-12)
    assert c.d_z == pytest.approx(want["d_z"], rel=1e-12)


# --------------------------------------------------------------------------- paired_comparison


def test_figures_match_scipy():
    c = paired_comparison(record(1, A), record(2, B))
    assert (c.a, c.b, c.n, c.seeds) == (1, 2, 10, SEEDS)
    assert_matches(c, A, B)
    # the hand-computed values, as a check on the checker
    assert c.mean_difference == pytest.approx(0.026)
    assert c.d_z == pytest.approx(1.41468, rel=1e-5)
    assert c.wilcoxon_p == pytest.approx(0.0078125)
    assert (c.wins, c.ties, c.losses) == (8, 1, 1)
    assert c.differences == pytest.approx(np.subtract(B, A))
    assert c.ci_excludes_zero and not c.identical


def test_other_confidence_level():
    wide = paired_comparison(record(1, A), record(2, B), confidence=0.99)
    assert_matches(wide, A, B, confidence=0.99)
    narrow = paired_comparison(record(1, A), record(2, B))
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_seeds_are_matched_by_value_not_position():
    shuffled = (3, 9, 0, 5, 1, 8, 2, 7, 6, 4)
    b = record(2, tuple(B[s] for s in shuffled), seeds=shuffled)
    c = paired_comparison(record(1, A), b)
    assert c.seeds == SEEDS
    assert_matches(c, A, B)
    assert (c.wins, c.ties, c.losses) == (8, 1, 1)


def test_only_shared_seeds_are_compared():
    b_seeds = tuple(range(4, 14))  # shares 4..9 with A's 0..9
    b_values = tuple(B[s] if s < 10 else 0.5 for s in b_seeds)
    c = paired_comparison(record(1, A), record(2, b_values, seeds=b_seeds))
    assert c.seeds == (4, 5, 6, 7, 8, 9)
    assert_matches(c, A[4:], B[4:])
    assert (c.wins, c.ties, c.losses) == (5, 0, 1)


def test_refuses_too_few_shared_seeds():
    a = record(3, A[:6], seeds=(0, 1, 2, 3, 4, 5))
    b = record(7, B[:6], seeds=(3, 4, 5, 6, 7, 8))
    with pytest.raises(UserError) as info:
        paired_comparison(a, b)
    message = str(info.value)
    assert "\n" not in message
    assert "trial 3 and trial 7 share 3 seed(s)" in message
    assert "trial 3 has 6, trial 7 has 6" in message
    assert "at least 5" in message
    assert paired_comparison(a, b, min_shared=3).n == 3


def test_all_ties():
    c = paired_comparison(record(1, A), record(2, A))
    assert (c.wins, c.ties, c.losses) == (0, 10, 0)
    assert c.identical and not c.ci_excludes_zero
    assert c.mean_difference == 0.0 and c.sd_difference == 0.0
    assert (c.ci_low, c.ci_high) == (0.0, 0.0)
    assert c.wilcoxon_p == 1.0
    assert math.isnan(c.t_p) and math.isnan(c.d_z)


def test_identical_nonzero_differences():
    shifted = tuple(x + 0.25 for x in A)  # floating point: differences equal only to ~1e-16
    c = paired_comparison(record(1, A), record(2, shifted))
    assert c.sd_difference == 0.0
    assert c.ci_low == c.ci_high == pytest.approx(0.25)
    assert math.isnan(c.t_p)
    assert c.d_z == math.inf
    assert c.wilcoxon_p == pytest.approx(stats.wilcoxon(shifted, A).pvalue)
    assert c.wins == 10
    assert c.constant_difference and not c.identical


def test_describe_a_constant_difference_without_nan_or_inf():
    """Every seed one test sample (1/70) apart: the t-test is undefined, d_z is shown as a signed infinity."""
    up = tuple(x + 1 / 70 for x in A[:5])
    seeds = (0, 1, 2, 3, 4)
    better = paired_comparison(record(1, A[:5], seeds=seeds), record(2, up, seeds=seeds)).describe()
    assert better == (
        "trial 2 beats trial 1 on test accuracy by 1.4 points, 95% CI [1.4, 1.4] (excludes 0), ahead in 5 of 5 seeds "
        "(Wilcoxon p=0.062, paired t p=n/a, d_z=+∞; constant difference on every seed: the t-test is undefined)"
    )
    worse = paired_comparison(record(2, up, seeds=seeds), record(1, A[:5], seeds=seeds)).describe()
    assert worse.startswith("trial 1 trails trial 2 on test accuracy by 1.4 points")
    assert worse.endswith("paired t p=n/a, d_z=-∞; constant difference on every seed: the t-test is undefined)")
    for line in (better, worse):
        assert "nan" not in line and "inf" not in line


def test_identical_trials_keep_their_wording():
    c = paired_comparison(record(1, A), record(2, A))
    assert not c.constant_difference
    assert CONSTANT_NOTE not in c.describe()


@pytest.mark.parametrize(
    ("p", "digits", "text"),
    [(math.nan, 2, "n/a"), (0.0, 2, "<0.0001"), (5e-5, 4, "<0.0001"), (0.012345, 2, "0.012"), (0.012345, 4, "0.01235"), (1.0, 2, "1")],
)
def test_format_p(p, digits, text):
    assert format_p(p, digits) == text


@pytest.mark.parametrize(("d", "text"), [(math.nan, "n/a"), (math.inf, "+∞"), (-math.inf, "-∞"), (1.414, "1.41"), (-0.5, "-0.50")])
def test_format_d(d, text):
    assert format_d(d) == text


def test_lower_is_better_metrics_count_a_drop_as_a_win():
    loss_a = (0.5, 0.6, 0.55, 0.7, 0.65)
    loss_b = (0.4, 0.5, 0.56, 0.6, 0.6)
    seeds = (0, 1, 2, 3, 4)
    a = record(1, A[:5], seeds=seeds, train_loss=loss_a)
    b = record(2, B[:5], seeds=seeds, train_loss=loss_b)
    c = paired_comparison(a, b, metric="train_loss")
    assert_matches(c, loss_a, loss_b)
    assert (c.wins, c.ties, c.losses) == (4, 0, 1)
    assert c.describe().startswith("trial 2 beats trial 1 on train loss by 0.068, 95% CI [0.00755, 0.128] (excludes 0), ahead in 4 of 5 seeds")


def test_bad_arguments():
    a, b = record(1, A), record(2, B)
    with pytest.raises(UserError, match="unknown metric 'accuracy'"):
        paired_comparison(a, b, metric="accuracy")
    with pytest.raises(UserError, match="confidence must be between 0 and 1"):
        paired_comparison(a, b, confidence=95)
    with pytest.raises(UserError, match="min_shared must be at least 2"):
        paired_comparison(a, b, min_shared=1)
    with pytest.raises(UserError, match="trial 5 \\(FAIL\\) has no per-seed test_accuracy"):
        paired_comparison(a, record(5, state=TrialState.FAIL))
    with pytest.raises(UserError, match="trial 1 \\(COMPLETE\\) has no per-seed train_loss"):
        paired_comparison(a, b, metric="train_loss")


def test_describe_a_win():
    line = paired_comparison(record(3, A), record(7, B)).describe()
    assert line == (
        "trial 7 beats trial 3 on test accuracy by 2.6 points, 95% CI [1.3, 3.9] (excludes 0), "
        "ahead in 8 of 10 seeds, behind in 1, tied in 1 (Wilcoxon p=0.0078, paired t p=0.0015, d_z=1.41)"
    )


def test_describe_a_loss():
    c = paired_comparison(record(7, B), record(3, A))
    assert c.mean_difference < 0 and (c.wins, c.ties, c.losses) == (1, 1, 8)
    assert c.describe() == (
        "trial 3 trails trial 7 on test accuracy by 2.6 points, 95% CI [1.3, 3.9] (excludes 0), "
        "behind in 8 of 10 seeds, ahead in 1, tied in 1 (Wilcoxon p=0.0078, paired t p=0.0015, d_z=-1.41)"
    )


def test_describe_an_interval_including_zero():
    noisy = (0.82, 0.80, 0.79, 0.86, 0.80, 0.79, 0.83, 0.81, 0.82, 0.83)
    c = paired_comparison(record(3, A), record(7, noisy))
    assert not c.ci_excludes_zero
    assert c.describe().startswith("trial 7 beats trial 3 on test accuracy by 0.1 points, 95% CI [-0.8, 1.0] (includes 0)")


def test_describe_a_tie():
    assert paired_comparison(record(3, A), record(7, A)).describe() == (
        "no difference: trial 7 and trial 3 have the same test accuracy in all 10 seeds "
        "(Wilcoxon p=1, paired t p=n/a, d_z=n/a)"
    )


def test_describe_no_difference_on_average():
    c = paired_comparison(record(3, (0.5,) * 10), record(7, (0.75,) + (0.5,) * 8 + (0.25,)))
    assert c.mean_difference == 0.0
    assert c.describe().startswith(
        "no difference on average between trial 7 and trial 3 on test accuracy: 0.0 points, 95% CI ["
    )
    assert "trial 7 ahead in 1 of 10 seeds, behind in 1, tied in 8" in c.describe()


def test_describe_metric_without_direction():
    a = record(1, A[:5], seeds=(0, 1, 2, 3, 4), sparsity=(0.1, 0.2, 0.3, 0.4, 0.5))
    b = record(2, B[:5], seeds=(0, 1, 2, 3, 4), sparsity=(0.2, 0.3, 0.3, 0.5, 0.7))
    line = paired_comparison(a, b, metric="sparsity", min_shared=5).describe()
    assert line.startswith("trial 2 is above trial 1 on sparsity by 10.0 points")
    assert "higher in 4 of 5 seeds, tied in 1" in line


def test_the_p_value_a_correction_uses():
    assert paired_comparison(record(1, A), record(2, B)).p_value == pytest.approx(stats.ttest_rel(B, A).pvalue)
    shifted = paired_comparison(record(1, A), record(2, tuple(x + 0.25 for x in A)))
    assert math.isnan(shifted.t_p) and shifted.p_value == shifted.wilcoxon_p  # the t-test undefined: Wilcoxon
    assert paired_comparison(record(1, A), record(2, A)).p_value == 1.0


def test_differences_that_cancel_but_for_round_off_are_a_tie() -> None:
    """Fold-mean test accuracies on 70 samples whose per-seed differences sum to zero: no lead of 6.7e-15 points
    (two trials of a 5-fold circles study, as stored)."""
    a = record(0, (0.7285714285714285, 0.7542857142857142, 0.7142857142857142, 0.7085714285714285, 0.7428571428571429), seeds=(0, 1, 2, 3, 4))
    b = record(1, (0.7257142857142858, 0.74, 0.7142857142857143, 0.7171428571428572, 0.7514285714285714), seeds=(0, 1, 2, 3, 4))
    assert float(np.mean(np.subtract(b.per_seed["test_accuracy"], a.per_seed["test_accuracy"]))) != 0.0  # the round-off
    comparison = paired_comparison(a, b)
    assert comparison.mean_difference == 0.0
    assert "e-" not in comparison.describe() and "no difference on average" in comparison.describe()
