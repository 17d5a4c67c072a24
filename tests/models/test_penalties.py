"""The penalties of the literature against independent NumPy computations, and their round trip through a saved model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from actreg_search.models.penalties import TAR, DeCov, KLSparsity, UserPenalty

RNG = np.random.default_rng(0)
RELU = np.maximum(RNG.normal(0.3, 1.0, (16, 5)), 0).astype(np.float32)  # some units mostly zero, some above 1
SIGMOID = (1 / (1 + np.exp(-RNG.normal(-1.0, 1.5, (16, 5))))).astype(np.float32)


def kl_numpy(a: np.ndarray, rho: float) -> float:
    """Σ_j KL(ρ ‖ ρ̂_j), written out unit by unit in float64."""
    total = 0.0
    for j in range(a.shape[1]):
        r = min(max(float(np.mean(a[:, j].astype(np.float64))), 1e-7), 1 - 1e-7)
        total += rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))
    return total


def decov_numpy(a: np.ndarray) -> float:
    """½ Σ_{j≠k} C_jk² with C the biased covariance (np.cov, bias=True)."""
    c = np.cov(a.astype(np.float64), rowvar=False, bias=True)
    return 0.5 * float(sum(c[j, k] ** 2 for j in range(c.shape[0]) for k in range(c.shape[1]) if j != k))


def test_kl_sparsity_on_a_sigmoid_equals_numpy_times_the_batch():
    penalty = KLSparsity(0.3, rho=0.05)
    expected = 0.3 * 16 * kl_numpy(SIGMOID, 0.05)
    assert float(penalty(keras.ops.convert_to_tensor(SIGMOID))) == pytest.approx(expected, rel=1e-5)
    # a target met exactly costs nothing; a mean of 0 (a dead unit) is held at 1e-7: finite, ρ log(ρ / 1e-7) a unit
    met = np.full((4, 3), 0.05, np.float32)
    assert float(KLSparsity(1.0, 0.05)(keras.ops.convert_to_tensor(met))) == pytest.approx(0.0, abs=1e-5)
    dead = float(KLSparsity(1.0, 0.05)(keras.ops.convert_to_tensor(np.zeros((4, 3), np.float32))))
    assert dead == pytest.approx(4 * 3 * (0.05 * np.log(0.05 / 1e-7) + 0.95 * np.log(0.95)), rel=1e-4)


def test_kl_sparsity_on_a_relu_reads_tanh_of_the_activations():
    value = float(KLSparsity(1.0, rho=0.1, squash=True)(keras.ops.convert_to_tensor(RELU)))
    assert value == pytest.approx(16 * kl_numpy(np.tanh(RELU), 0.1), rel=1e-5)
    assert value != pytest.approx(16 * kl_numpy(np.clip(RELU, 0, 1), 0.1), rel=1e-3)  # not a clip


def test_kl_sparsity_averages_over_every_axis_but_the_units():
    images = RNG.uniform(0, 1, (3, 4, 4, 2)).astype(np.float32)  # a Conv2D output: units are channels
    value = float(KLSparsity(1.0, 0.2)(keras.ops.convert_to_tensor(images)))
    assert value == pytest.approx(3 * kl_numpy(images.reshape(-1, 2), 0.2), rel=1e-5)


def test_decov_equals_half_the_squared_off_diagonal_covariance():
    value = float(DeCov(0.5)(keras.ops.convert_to_tensor(RELU)))
    assert value == pytest.approx(0.5 * 16 * decov_numpy(RELU), rel=1e-5)
    independent = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.float32)  # uncorrelated units: zero
    assert float(DeCov(1.0)(keras.ops.convert_to_tensor(independent))) == pytest.approx(0.0, abs=1e-7)


def test_tar_sums_the_squared_steps_of_a_sequence_and_refuses_a_vector():
    seq = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    expected = sum(np.sum((seq[i, t + 1] - seq[i, t]) ** 2) for i in range(2) for t in range(4))
    assert float(TAR(0.1)(keras.ops.convert_to_tensor(seq))) == pytest.approx(0.1 * expected, rel=1e-5)
    with pytest.raises(ValueError, match="tar needs a sequence"):
        TAR(0.1)(keras.ops.convert_to_tensor(RELU))


def test_a_user_penalty_is_scaled_and_must_be_a_scalar():
    penalty = UserPenalty(2.0, lambda x: keras.ops.mean(keras.ops.abs(x)), "p.py:mean_abs")
    assert float(penalty(keras.ops.convert_to_tensor(RELU))) == pytest.approx(2.0 * np.mean(np.abs(RELU)), rel=1e-6)
    with pytest.raises(ValueError, match="p.py:rows returned shape \\(16,\\); it must return a scalar"):
        UserPenalty(1.0, lambda x: keras.ops.sum(x, axis=1), "p.py:rows")(keras.ops.convert_to_tensor(RELU))


def test_kl_sparsity_refuses_a_target_outside_0_1():
    with pytest.raises(ValueError, match="rho must be in"):
        KLSparsity(1.0, rho=1.0)


def test_a_model_carrying_each_penalty_loads_with_safe_mode(tmp_path):
    inputs = keras.Input((4,))
    h = keras.layers.Dense(3, activation="sigmoid", activity_regularizer=KLSparsity(0.1, 0.05))(inputs)
    h = keras.layers.Dense(3, activity_regularizer=DeCov(0.2))(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    kl, dc = loaded.layers[1].activity_regularizer, loaded.layers[2].activity_regularizer
    assert (type(kl), kl.get_config()) == (KLSparsity, {"coefficient": 0.1, "rho": 0.05, "squash": False})
    assert (type(dc), dc.get_config()) == (DeCov, {"coefficient": 0.2})
