from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import pytest

from actreg_search.models.build import HIDDEN, HIDDEN_ACTIVATION, build_model
from actreg_search.models.marks import marks_of
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Family, Placement, Regularizer


def _config(regularizer: Regularizer, placement: Placement | None) -> TrialConfig:
    l1 = 1e-4 if regularizer in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = 2e-4 if regularizer in (Regularizer.L2, Regularizer.L1_L2) else 0.0
    return TrialConfig(regularizer, placement, l1, l2, hidden_units=8)


def _layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


@pytest.mark.parametrize("regularizer", [Regularizer.L1, Regularizer.L2, Regularizer.L1_L2])
def test_pre_activation_regularizes_the_linear_output(regularizer):
    model = build_model(_config(regularizer, Placement.PRE_ACTIVATION), (2,), 2)
    dense, act, out = _layers(model)
    assert dense.name == HIDDEN and act.name == HIDDEN_ACTIVATION == marks_of(model).layers[0].output
    assert dense.activation is keras.activations.linear
    assert isinstance(act, keras.layers.Activation) and act.activation is keras.activations.relu
    assert dense.kernel_regularizer is None
    _check_regularizer(dense.activity_regularizer, regularizer)
    assert out.activation is keras.activations.sigmoid and out.units == 1


@pytest.mark.parametrize("regularizer", [Regularizer.L1, Regularizer.L2, Regularizer.L1_L2])
def test_post_activation_regularizes_the_activated_output(regularizer):
    model = build_model(_config(regularizer, Placement.POST_ACTIVATION), (2,), 2)
    dense, out = _layers(model)
    assert dense.activation is keras.activations.relu
    assert dense.kernel_regularizer is None
    _check_regularizer(dense.activity_regularizer, regularizer)
    assert marks_of(model).layers[0].output == HIDDEN  # the activated output is the layer's own


@pytest.mark.parametrize("regularizer", [Regularizer.L1, Regularizer.L2, Regularizer.L1_L2])
def test_kernel_regularizes_the_weights(regularizer):
    model = build_model(_config(regularizer, Placement.KERNEL), (2,), 2)
    dense, out = _layers(model)
    assert dense.activity_regularizer is None
    _check_regularizer(dense.kernel_regularizer, regularizer)
    assert out.kernel_regularizer is None and out.activity_regularizer is None


def test_none_has_no_regularizer():
    model = build_model(_config(Regularizer.NONE, None), (2,), 2)
    assert all(layer.activity_regularizer is None and getattr(layer, "kernel_regularizer", None) is None for layer in _layers(model))


def test_multiclass_head_is_softmax():
    model = build_model(_config(Regularizer.NONE, None), (4,), 3)
    assert _layers(model)[-1].units == 3 and _layers(model)[-1].activation is keras.activations.softmax


def test_activity_loss_divided_by_batch_size():
    """Keras >= 3.15 divides the activity-regularizer loss by the batch size (keras PR #22021).

    The tutorial's coefficient of 1e-4 assumes this scaling; older Keras sums over
    the batch, which makes the same coefficient 30x stronger on the tutorial's data.
    """
    keras.utils.set_random_seed(0)
    model = build_model(_config(Regularizer.L1, Placement.PRE_ACTIVATION), (2,), 2)
    x = np.random.default_rng(0).normal(size=(30, 2)).astype("float32")
    model(x)
    pre = keras.Model(model.input, model.get_layer(HIDDEN).output)(x)
    expected = 1e-4 * float(np.abs(np.asarray(pre)).sum()) / 30
    (loss,) = model.losses
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def _check_regularizer(reg, kind: Regularizer) -> None:
    config = reg.get_config()
    if kind is Regularizer.L1:
        assert isinstance(reg, keras.regularizers.L1) and config["l1"] == pytest.approx(1e-4)
    elif kind is Regularizer.L2:
        assert isinstance(reg, keras.regularizers.L2) and config["l2"] == pytest.approx(2e-4)
    else:
        assert isinstance(reg, keras.regularizers.L1L2)
        assert (config["l1"], config["l2"]) == (pytest.approx(1e-4), pytest.approx(2e-4))


@pytest.mark.parametrize(
    ("placement", "activity", "kernel", "separate_activation"),
    [
        (Placement.PRE_ACTIVATION, True, False, True),
        (Placement.POST_ACTIVATION, True, False, False),
        (Placement.KERNEL, False, True, False),
    ],
)
def test_cnn_placements_on_the_conv2d_layer(placement, activity, kernel, separate_activation):
    config = TrialConfig(Regularizer.L1, placement, 1e-4, 0.0, hidden_units=4, family=Family.CNN)
    model = build_model(config, (8, 8, 1), 10)
    conv = model.get_layer(HIDDEN)
    assert isinstance(conv, keras.layers.Conv2D) and conv.filters == 4
    assert (conv.activity_regularizer is not None, conv.kernel_regularizer is not None) == (activity, kernel)
    names = [layer.name for layer in _layers(model)]
    assert names == ["hidden", *(["hidden_activation"] if separate_activation else []), "pool", "flatten", "output"]
    assert conv.activation is (keras.activations.linear if separate_activation else keras.activations.relu)
    assert model.get_layer("output").units == 10


@pytest.mark.parametrize(
    ("placement", "attribute"),
    [(Placement.OUTPUT, "activity_regularizer"), (Placement.KERNEL, "kernel_regularizer"), (Placement.RECURRENT, "recurrent_regularizer")],
)
def test_rnn_placements_on_the_lstm_layer(placement, attribute):
    config = TrialConfig(Regularizer.L2, placement, 0.0, 2e-4, hidden_units=6, family=Family.RNN)
    model = build_model(config, (8, 8), 10)
    lstm = model.get_layer(HIDDEN)
    assert isinstance(lstm, keras.layers.LSTM) and lstm.units == 6
    cell = lstm.cell
    found = {
        "activity_regularizer": lstm.activity_regularizer,
        "kernel_regularizer": cell.kernel_regularizer,
        "recurrent_regularizer": cell.recurrent_regularizer,
    }
    for name, reg in found.items():
        if name == attribute:
            _check_regularizer(reg, Regularizer.L2)
        else:
            assert reg is None, name
    assert [layer.name for layer in _layers(model)] == ["hidden", "output"]


def test_the_builtin_mlp_stacks_hidden_layers():
    model = build_model(TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-3, 0.0, hidden_units=5, hidden_layers=3), (2,), 2)
    assert marks_of(model).names == ("hidden", "hidden_2", "hidden_3")
    names = [layer.name for layer in model.layers]
    assert names[1:] == ["hidden", "hidden_activation", "hidden_2", "hidden_2_activation", "hidden_3", "hidden_3_activation", "output"]
    cnn = build_model(TrialConfig(Regularizer.NONE, None, 0, 0, hidden_units=2, family=Family.CNN), (4, 4, 1), 3)
    assert marks_of(cnn).names == ("hidden",)


@pytest.mark.parametrize(
    ("family", "hidden_layers", "dropouts"),
    [(Family.MLP, 2, ["dropout", "dropout_2"]), (Family.CNN, 1, ["dropout"]), (Family.RNN, 1, [])],
)
def test_a_dropout_rate_adds_the_trial_dropout_layers_and_none_adds_none(family, hidden_layers, dropouts):
    shape = {Family.MLP: (4,), Family.CNN: (6, 6, 1), Family.RNN: (3, 2)}[family]
    base = TrialConfig(Regularizer.NONE, None, 0.0, 0.0, hidden_units=4, family=family, hidden_layers=hidden_layers)
    plain = build_model(base, shape, 3)
    assert not [layer for layer in plain.layers if isinstance(layer, keras.layers.Dropout)]
    assert marks_of(plain).dropouts == ()
    for rate in (0.0, 0.4):  # a rate of 0 keeps the layers: the trial shares its program with other rates
        model = build_model(replace(base, dropout=rate), shape, 3)
        made = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
        assert [layer.name for layer in made] == dropouts and all(layer.rate == rate for layer in made)
        if family is Family.RNN:
            assert model.get_layer(HIDDEN).dropout == rate and marks_of(model).dropouts == (HIDDEN,)
        else:
            assert marks_of(model).dropouts == tuple(dropouts)
            # each Dropout follows its hidden layer's activated output (the mlp), the flattened conv block (the cnn)
            outputs = [m.output for m in marks_of(model).layers]
            before = {"dropout": outputs[0] if family is Family.MLP else "flatten", "dropout_2": outputs[-1]}
            for layer in made:
                assert layer.input is model.get_layer(before[layer.name]).output
