"""The sparsity charts: the Pareto front where the study chooses, and each marked layer's own sparsity."""

from __future__ import annotations

import math
import statistics

import pytest

from actreg_search.dashboard import charts as f
from actreg_search.dashboard import data as d
from actreg_search.dashboard.style import PLACEMENT_PATTERNS, REGULARIZER_COLORS
from actreg_search.spec.vocab import Placement, Regularizer
from tests.dashboard.studies import LAYERED, layered_study


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
    assert front.x == (pytest.approx(0.2),) and front.y == (pytest.approx(0.8),)  # drawn at its test figures

    on_test = d.sparsity_tradeoff(study_factory(trial_factory(test=(0.8, 0.8)), trial_factory(test=(0.97, 0.97))))
    assert on_test.front_on == "test" and on_test.pareto == (1,) and on_test.note is None
    assert f.sparsity_figure(on_test).data[0].mode == "lines+markers"


def test_the_sparsity_chart_has_one_trace_per_group(study_factory, trial_factory):
    results = study_factory(
        trial_factory(regularizer="l2", placement="post_activation", sparsity=(0.1, 0.3)),
        trial_factory(regularizer="none"),
        trial_factory(regularizer="l2", placement="post_activation", sparsity=(0.7, 0.7)),
    )
    figure = f.sparsity_figure(d.sparsity_tradeoff(results))
    traces = {t.name: t for t in figure.data[1:]}
    assert list(traces) == ["none", "l2 · post_activation"]
    assert traces["l2 · post_activation"].x == pytest.approx((0.2, 0.7))
    assert traces["l2 · post_activation"].marker.color == REGULARIZER_COLORS[Regularizer.L2]


def test_each_layer_bar_is_that_layers_mean_not_the_pooled_one():
    data = d.layer_sparsity(layered_study())
    figure = f.layers_figure(data)
    assert figure.layout.barmode == "group" and figure.layout.xaxis.type == "category"
    bars = {t.name: t for t in figure.data}
    assert list(bars) == ["none (trial 1)", "l1 · kernel (trial 0)"]
    for name, number in (("none (trial 1)", 1), ("l1 · kernel (trial 0)", 0)):
        _, layers, pooled, _ = LAYERED[number]
        bar = bars[name]
        assert bar.x == ("h1", "h2")
        assert bar.y == pytest.approx(tuple(statistics.fmean(layers[layer]) for layer in ("h1", "h2")))
        assert f"all marked layers pooled {statistics.fmean(pooled):.3f}" in bar.hovertemplate
    best = bars["l1 · kernel (trial 0)"]
    assert best.y == pytest.approx((0.2, 0.8))  # not the pooled 0.5
    assert all(y + up <= 1.0 + 1e-12 and y - down >= -1e-12 for y, up, down in zip(
        best.y, best.error_y.array, best.error_y.arrayminus, strict=True
    ))
    assert best.marker.pattern.shape == PLACEMENT_PATTERNS[Placement.KERNEL]
    assert bars["none (trial 1)"].marker.pattern.shape == PLACEMENT_PATTERNS[None]


def test_a_missing_layer_draws_no_bar(study_factory, trial_factory):
    results = study_factory(
        trial_factory(layer_sparsity={"h1": (0.1, 0.2), "h2": (0.3, 0.4)}),
        trial_factory(regularizer="none", layer_sparsity={"h2": (0.5, 0.5)}),
    )
    plain = next(t for t in f.layers_figure(d.layer_sparsity(results)).data if t.name.startswith("none"))
    assert math.isnan(plain.y[0]) and plain.error_y.array[0] == 0.0
