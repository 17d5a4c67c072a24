"""The trial's penalty on a marked layer: the reg object's layers and a loaded model cloned with the penalty."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from actreg_search.models.marks import marks_of
from actreg_search.models.regularize import Reg, clone_with_penalty
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _config(placement: Placement | None, **extra: object) -> TrialConfig:
    regularizer = Regularizer.NONE if placement is None else Regularizer.L1
    return TrialConfig(regularizer, placement, 1e-3 if placement else 0.0, 0.0, hidden_units=5, **extra)


def test_reg_dense_takes_the_trials_size_and_splits_a_pre_activation():
    reg = Reg(_config(Placement.PRE_ACTIVATION, activation="tanh"))
    inputs = keras.Input((2,))
    x = reg.Dense(name="a")(inputs)
    x = reg.Dense(3, activation="relu")(x)
    model = keras.Model(inputs, x)
    a, act, b = (model.get_layer(n) for n in ("a", "a_activation", "reg_dense_1"))
    assert a.units == 5 and a.activation is keras.activations.linear and a.activity_regularizer is not None
    assert act.activation is keras.activations.tanh
    assert b.units == 3 and b.activity_regularizer is not None
    assert [(m.name, m.output, m.sized) for m in reg.marks] == [
        ("a", "a_activation", True),
        ("reg_dense_1", "reg_dense_1_activation", False),
    ]


def test_only_the_chosen_layers_carry_the_penalty():
    reg = Reg(_config(Placement.KERNEL, layers=("b",)))
    inputs = keras.Input((2,))
    hidden = reg.Dense(name="a")(inputs)
    keras.Model(inputs, reg.Dense(name="b")(hidden))
    assert [m.penalized for m in reg.marks] == [False, True]
    with pytest.raises(TypeError, match="do not pass kernel_regularizer"):
        reg.Dense(kernel_regularizer="l2")


def test_a_reg_layers_activation_is_the_studys_unless_given_and_the_docs_say_so():
    reg = Reg(_config(Placement.KERNEL, activation="elu"))
    inputs = keras.Input((6, 6, 1))
    assert reg.Conv2D(2, name="c")(inputs) is not None
    assert reg.Dense(name="d").layer.activation is keras.activations.elu
    assert reg.Dense(activation="sigmoid").layer.activation is keras.activations.sigmoid
    assert reg.Dense(activation=None).layer.activation is keras.activations.linear
    assert reg.LSTM(name="l").layer.activation is keras.activations.tanh
    assert reg.layers[0].layer.activation is keras.activations.elu
    text = " ".join((DOCS / "study-file.md").read_text().split())
    assert "An activation left out of `reg.Dense` or `reg.Conv2D` is the study's `[model] activation`" in text


def test_a_reg_layer_is_named_by_its_repr():
    reg = Reg(_config(Placement.KERNEL))
    made = reg.Dense(name="h1")
    assert repr(made) == "<reg.Dense 'h1'>"
    assert reg.named_in(f"Only instances of `keras.Layer` can be added. Received: {made!r} (of type ...)") is made
    assert reg.named_in("something else went wrong") is None


def test_a_loaded_models_named_layers_get_the_penalty_and_fresh_weights():
    base = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="relu", name="h1"), keras.layers.Dense(1, name="out")])
    clone = clone_with_penalty(base, ["h1"], _config(Placement.PRE_ACTIVATION))
    assert [layer.name for layer in clone.layers][1:] == ["h1", "h1_activation", "out"]
    assert clone.get_layer("h1").activity_regularizer is not None and clone.get_layer("out").activity_regularizer is None
    assert marks_of(clone).names == ("h1",) and marks_of(clone).layers[0].output == "h1_activation"
    assert not (clone.get_layer("h1").get_weights()[0] == base.get_layer("h1").get_weights()[0]).all()
    with pytest.raises(ValueError, match="placement 'output' does not apply to a Dense layer"):
        clone_with_penalty(base, ["out"], _config(Placement.OUTPUT))
