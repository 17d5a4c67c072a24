"""Sparsity per marked layer: each layer's own mean over seeds, never the pooled figure, for models with several."""

from __future__ import annotations

import math
import statistics

import pytest

from actreg_search.dashboard import data as d
from actreg_search.spec.vocab import Placement, Regularizer
from tests.dashboard.studies import LAYERED, layered_study


def test_each_layer_is_its_own_mean_not_the_pooled_one():
    results = layered_study()
    data = d.layer_sparsity(results)
    assert isinstance(data, d.LayerData) and data.layers == ("h1", "h2")
    # The best trial of each group, unregularized first: #1 (none), then #0 (the better l1 · kernel, not #2).
    assert [(t.number, t.group) for t in data.trials] == [
        (1, d.Group(Regularizer.NONE)),
        (0, d.Group(Regularizer.L1, Placement.KERNEL)),
    ]
    for shown in data.trials:
        _, layers, pooled, _ = LAYERED[shown.number]
        expected = [statistics.fmean(layers[name]) for name in data.layers]
        assert shown.means == pytest.approx(expected)
        assert shown.overall == pytest.approx(statistics.fmean(pooled))
        assert all(low <= m <= high for low, m, high in zip(shown.lows, shown.means, shown.highs, strict=True))
    best = data.trials[1]
    assert best.means == pytest.approx((0.2, 0.8)) and best.overall == pytest.approx(0.5)  # right and wrong differ
    assert "best trial (on mean test accuracy)" in data.note


def test_the_helpers_give_every_layer_in_order(study_factory, trial_factory):
    results = layered_study()
    assert d.layer_names(results.trials) == ("h1", "h2")
    assert d.layer_means(results.trial(0)) == pytest.approx({"h1": 0.2, "h2": 0.8})
    assert d.layer_values(results.trial(1)) == {"h1": (0.05, 0.05), "h2": (0.2, 0.4)}
    plain = study_factory(trial_factory())
    assert d.layer_names(plain.trials) == () and d.layer_means(plain.trials[0]) == {}


def test_a_layer_a_trial_did_not_record_has_no_bar(study_factory, trial_factory):
    results = study_factory(
        trial_factory(layer_sparsity={"h1": (0.1, 0.2), "h2": (0.3, 0.4)}),
        trial_factory(regularizer="none", layer_sparsity={"h2": (0.5, 0.5), "h3": (0.6, 0.8)}),
    )
    data = d.layer_sparsity(results)
    assert data.layers == ("h1", "h2", "h3")
    plain, l1 = data.trials
    assert math.isnan(plain.means[0]) and plain.means[1:] == pytest.approx((0.5, 0.7))
    assert l1.means[:2] == pytest.approx((0.15, 0.35)) and math.isnan(l1.means[2])


def test_one_marked_layer_or_no_trial_gives_a_note(study_factory, trial_factory):
    single = d.layer_sparsity(study_factory(trial_factory()))
    assert isinstance(single, d.Unavailable) and "one marked layer" in single.reason
    assert d.layer_sparsity(study_factory()) == d.Unavailable("The study has no trials yet.")
