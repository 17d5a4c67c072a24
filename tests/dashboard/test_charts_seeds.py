"""The per-seed charts: learning curves with validation beside train and test, and the boxes of every seed run."""

from __future__ import annotations

import pytest

from actreg_search.dashboard import charts as f
from actreg_search.dashboard import data as d
from actreg_search.dashboard.charts_seeds import PLACEMENT_BOX, box_color
from actreg_search.dashboard.style import REGULARIZER_COLORS
from actreg_search.spec.vocab import Regularizer
from tests.dashboard.studies import disagreeing_study, rnn_study


def test_learning_curves_show_validation_beside_train_and_test(study_factory, trial_factory):
    curves = d.learning_curves(disagreeing_study())
    best = curves.trials[0]
    assert best.number == 0 and best.validation is not None
    assert best.validation.high[-1] == pytest.approx(0.96) and best.validation.low[-1] == pytest.approx(0.94)
    names = {t.name for t in f.curves_figure(curves).data}
    assert {"train (mean)", "validation (mean)", "test (mean)"} <= names

    plain = d.learning_curves(study_factory(trial_factory()))
    assert plain.trials[0].validation is None
    assert "validation (mean)" not in {t.name for t in f.curves_figure(plain).data}


def test_boxes_are_labelled_and_coloured_from_their_keys():
    """An rnn study: a box per placement (output and recurrent included), grey for none, by regularizer colour."""
    boxes = d.seed_distributions(rnn_study())
    figure = f.boxes_figure(boxes)
    by_axis: dict[str, list[str]] = {}
    for trace in figure.data:
        by_axis.setdefault(trace.xaxis, []).append(trace.name)
    assert by_axis == {
        "x": ["none<br>(1 trials)", "kernel<br>(1 trials)", "output<br>(2 trials)", "recurrent<br>(2 trials)"],
        "x2": ["none<br>(1 trials)", "l1<br>(3 trials)", "l2<br>(2 trials)"],
        "x3": ["none<br>(1 trials)", "kernel<br>(1 trials)", "output<br>(2 trials)", "recurrent<br>(2 trials)"],
    }
    recurrent = next(t for t in figure.data if t.name.startswith("recurrent"))
    assert sorted(recurrent.y) == pytest.approx(sorted([0.88, 0.86, 0.80, 0.78]))
    colors = [box_color(g) for g in boxes.accuracy_by_regularizer]
    assert colors == [REGULARIZER_COLORS[r] for r in (Regularizer.NONE, Regularizer.L1, Regularizer.L2)]
    assert [box_color(g) for g in boxes.accuracy_by_placement] == [REGULARIZER_COLORS[Regularizer.NONE]] + [
        PLACEMENT_BOX
    ] * 3
