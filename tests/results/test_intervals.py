"""Intervals of a mean over seeds and Holm's correction, each against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logit

from actreg_search.errors import UserError
from actreg_search.results.intervals import accuracy_interval, holm

A = (0.80, 0.82, 0.79, 0.85, 0.81, 0.78, 0.84, 0.80, 0.83, 0.82)


def logit_interval(values, confidence=0.95):
    """The logit interval computed another way: scipy's t.interval on the logit scale, by hand."""
    x = np.array(values, dtype=float)
    n, m = len(x), x.mean()
    se = x.std(ddof=1) / np.sqrt(n) / (m * (1 - m))  # delta method: d logit(m) / dm = 1 / (m (1 - m))
    low, high = stats.t.interval(confidence, n - 1, loc=logit(m), scale=se)
    return expit(low), expit(high)


def test_accuracy_interval_matches_an_independent_computation():
    values = (0.6, 0.7, 0.8, 0.9, 1.0)
    assert accuracy_interval(values) == pytest.approx(logit_interval(values), rel=1e-12)
    # by hand: m = 0.8, se = √0.025/√5 = 0.0707107, on the logit scale 0.0707107 / 0.16 = 0.441942,
    # t(0.975, 4) = 2.776445, so ln 4 ± 1.227027 = [0.159267, 2.613321], mapped back:
    assert accuracy_interval(values) == pytest.approx((0.539733, 0.931714), abs=1e-6)
    assert accuracy_interval(A, 0.99) == pytest.approx(logit_interval(A, 0.99), rel=1e-12)


def test_accuracy_interval_stays_within_0_and_1_where_the_t_interval_does_not():
    """The circles case: four seeds at 100%, one at 69/70; the t-interval passes 100%."""
    values = (1.0, 1.0, 1.0, 1.0, 69 / 70)
    x = np.array(values)
    t_half = stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5)
    assert x.mean() + t_half > 1  # [98.9%, 100.5%]
    low, high = accuracy_interval(values)
    assert 0 < low < x.mean() < high < 1
    assert (low, high) == pytest.approx(logit_interval(values), rel=1e-12)
    assert (low, high) == pytest.approx((0.955667, 0.999823), abs=1e-6)
    assert x.mean() - low > t_half  # not the t-interval shrunk to fit: longer away from the bound
    assert high - x.mean() < t_half  # and shorter toward it

    mirrored = accuracy_interval(tuple(1 - v for v in values))  # near 0: the same interval, reflected
    assert x.mean() - t_half - 1 < 0 < mirrored[0]
    assert mirrored == pytest.approx((1 - high, 1 - low), rel=1e-9)


def test_accuracy_interval_near_one_half_is_almost_the_t_interval():
    values = (0.49, 0.51, 0.50, 0.52, 0.48)
    x = np.array(values)
    half = stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5)
    assert accuracy_interval(values) == pytest.approx((x.mean() - half, x.mean() + half), abs=2e-4)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.75])
def test_accuracy_interval_without_spread_is_the_value(value):
    """Every seed the same, at a bound or not: no spread, as the t-interval; no smoothing, no nan."""
    assert accuracy_interval((value,) * 5) == (value, value)


def test_accuracy_interval_edge_cases():
    low, high = accuracy_interval((0.8,))
    assert math.isnan(low) and math.isnan(high)
    assert accuracy_interval((0.0, 1.0)) == pytest.approx(logit_interval((0.0, 1.0)))  # seeds at both bounds
    for bad in ((), (0.5, 1.2), (0.5, -0.1), (0.5, math.nan)):
        with pytest.raises(UserError):
            accuracy_interval(bad)
    with pytest.raises(UserError, match="confidence must be between 0 and 1"):
        accuracy_interval(A, confidence=95)


def test_holm_against_a_hand_computed_example():
    """m = 4: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, each at least the one before."""
    p = [0.01, 0.04, 0.03, 0.005]
    adjusted = holm(p)
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert sum(x <= 0.05 for x in p) == 4  # uncorrected: all four "significant"
    assert sum(x <= 0.05 for x in adjusted) == 2  # Holm: two
    bonferroni = [min(1.0, 4 * x) for x in p]
    assert all(h <= b for h, b in zip(adjusted, bonferroni, strict=True)) and adjusted != bonferroni


def test_holm_edges():
    assert holm([]) == []
    assert holm([0.2]) == [0.2]
    assert holm([0.5, 0.5, 0.001]) == pytest.approx([1.0, 1.0, 0.003])  # capped at 1; ties stay equal
    for bad in ([0.1, math.nan], [1.5], [-0.1]):
        with pytest.raises(UserError, match="p-values in \\[0, 1\\]"):
            holm(bad)
