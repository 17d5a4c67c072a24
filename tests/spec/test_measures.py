"""Per-seed figures: summaries and the precision they are stored at."""

from __future__ import annotations

import statistics

import pytest

from actreg_search.spec import measures as figures


def test_sample_std_is_ddof_1_and_zero_for_one_value():
    assert figures.sample_std([0.5, 0.7]) == pytest.approx(statistics.stdev([0.5, 0.7]))
    assert figures.sample_std([0.5]) == 0.0
    assert figures.mean_std([0.5, 0.7]) == (pytest.approx(0.6), pytest.approx(statistics.stdev([0.5, 0.7])))


def test_rounding():
    assert figures.curve([0.123456, 1]) == [0.1235, 1.0]
    assert figures.seconds(2.34567) == 2.346
    assert figures.megabytes(1023.456) == 1023.5
