from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.config import Placement, Regularizer, TrialConfig
from actreg_search.models import HIDDEN, HIDDEN_ACTIVATION, activation_layer_name, build_model


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
    assert dense.name == HIDDEN and act.name == HIDDEN_ACTIVATION
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
    assert activation_layer_name(_config(regularizer, Placement.POST_ACTIVATION)) == HIDDEN


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
