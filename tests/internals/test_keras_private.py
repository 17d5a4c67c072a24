"""The private Keras and TensorFlow behaviour the package relies on, one test per fenced function.

Each test first checks the API is still there and then runs the fenced
function for real on a tiny model; a failure names the API, the versions it
was checked on and the function to update (``actreg_search/internals/keras_private.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from actreg_search.internals import keras_private
from actreg_search.internals.keras_private import (
    CHECKED_ON,
    apply_without_all_reduce,
    attach_marks,
    attached_marks,
    keras_seeding_only,
    reset_optimizer,
)


def broken(api: str, function: str) -> str:
    return f"{api} (checked on {CHECKED_ON}): update internals/keras_private.{function}"


def one_variable(rate: float = 0.1) -> tuple[keras.optimizers.Optimizer, keras.Variable, list[tf.Tensor]]:
    optimizer = keras.optimizers.Adam(rate)
    variable = keras.Variable(np.ones(3, np.float32))
    optimizer.build([variable])
    return optimizer, variable, [tf.constant(np.full(3, 0.5, np.float32))]


def test_reset_optimizer_keeps_the_rate_and_restarts_the_rest() -> None:
    optimizer, variable, grads = one_variable()
    assert hasattr(optimizer, "_learning_rate"), broken("keras Optimizer._learning_rate is gone", "reset_optimizer")
    assert any(v is optimizer._learning_rate for v in optimizer.variables), broken(  # noqa: SLF001
        "keras Optimizer._learning_rate is no longer the rate's variable among optimizer.variables", "reset_optimizer"
    )
    optimizer.apply(grads, [variable])
    first = variable.numpy().copy()
    optimizer.apply(grads, [variable])
    variable.assign(np.ones(3, np.float32))
    reset_optimizer(optimizer)
    assert int(optimizer.iterations.numpy()) == 0 and float(optimizer.learning_rate.numpy()) == np.float32(0.1)
    optimizer.apply(grads, [variable])
    np.testing.assert_array_equal(variable.numpy(), first, err_msg=broken("a zeroed keras optimizer is not a fresh one", "reset_optimizer"))


def test_apply_without_all_reduce_updates_without_the_all_reduce() -> None:
    context = tf.distribute.get_replica_context()
    assert context is not None and hasattr(context, "merge_call"), broken(
        "tf.distribute.get_replica_context().merge_call is gone", "apply_without_all_reduce"
    )
    optimizer, variable, grads = one_variable()
    reference, same, _ = one_variable()
    reference.apply(grads, [same])
    with mock.patch.object(tf.distribute.ReplicaContext, "all_reduce", side_effect=AssertionError("all-reduced")) as all_reduce:
        tf.function(lambda: apply_without_all_reduce(optimizer, grads, [variable]), autograph=False)()
        assert all_reduce.call_count == 0, broken("keras' TensorFlow optimizer all-reduces in cross-replica context", "apply_without_all_reduce")
        try:  # the plain apply does all-reduce: what the fence avoids
            tf.function(lambda: optimizer.apply(grads, [variable]), autograph=False)()
        except AssertionError:
            pass
        assert all_reduce.call_count == 1, broken("keras' TensorFlow optimizer no longer all-reduces its gradients", "apply_without_all_reduce")
    np.testing.assert_allclose(same.numpy(), np.full(3, 0.9, np.float32), rtol=1e-5)


def test_keras_seeding_only_leaves_tensorflows_seed_alone() -> None:
    with mock.patch.object(tf.random, "set_seed") as tensorflow_seed:
        keras.utils.set_random_seed(3)
    assert [c.args for c in tensorflow_seed.call_args_list] == [(3,)], broken(
        "keras.utils.set_random_seed no longer calls tf.random.set_seed", "keras_seeding_only"
    )
    keras.utils.set_random_seed(3)
    first = tf.random.uniform((4,)).numpy()
    keras.utils.set_random_seed(3)
    assert np.array_equal(tf.random.uniform((4,)).numpy(), first)  # TensorFlow's seed set: the same draws again
    real = tf.random.set_seed
    with keras_seeding_only():
        keras.utils.set_random_seed(3)
        numpy_draw = np.random.random()
        assert not np.array_equal(tf.random.uniform((4,)).numpy(), first), broken(
            "tf.random.set_seed is not replaced for the duration", "keras_seeding_only"
        )
    assert tf.random.set_seed is real
    keras.utils.set_random_seed(3)
    assert np.random.random() == numpy_draw  # NumPy (and Python, Keras) still seeded inside


@dataclass(frozen=True)
class Marks:
    names: tuple[str, ...]


def test_marks_stay_on_a_model_as_given_and_are_not_saved(tmp_path: Path) -> None:
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="h")(inputs))
    before = model.get_config()
    marks = Marks(("h",))
    attach_marks(model, marks)
    assert attached_marks(model) is marks, broken("keras no longer keeps an attribute set on a model as given", "attach_marks")
    assert model.get_config() == before and len(model.weights) == 2
    assert keras_private.MARKS_ATTRIBUTE not in before
    model.save(tmp_path / "m.keras")
    assert attached_marks(keras.saving.load_model(tmp_path / "m.keras")) is None
    assert attached_marks(keras.models.clone_model(model)) is None
