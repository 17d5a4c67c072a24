"""A model's marked layers, kept with the model; which of them carry the trial's penalty."""

from __future__ import annotations

import keras
import pytest

from actreg_search.models.marks import Mark, carries, kind_of, marks_of, placements_of, set_marks
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement, Regularizer


def test_a_model_keeps_its_marks_and_a_foreign_model_has_none() -> None:
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="h")(inputs), name="plain")
    with pytest.raises(ValueError, match="model 'plain' has no marked layers"):
        marks_of(model)
    mark = Mark(name="h", kind="Dense", output="h", sized=True, penalized=False)
    assert set_marks(model, [mark]) is model
    assert marks_of(model).layers == (mark,) and marks_of(model).names == ("h",)


def test_marked_layer_types_and_their_placements() -> None:
    assert kind_of(keras.layers.Dense(2)) == "Dense" and kind_of(keras.layers.LSTM(2)) == "LSTM"
    assert kind_of(keras.layers.Dropout(0.1)) is None
    assert placements_of("LSTM") == Family.RNN.placements and Placement.RECURRENT in placements_of("LSTM")


def test_which_marked_layers_carry_the_penalty() -> None:
    every = TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=4)
    some = TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=4, layers=("b",))
    none = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, hidden_units=4)
    assert carries(every, "a") and carries(some, "b") and not carries(some, "a") and not carries(none, "a")
