"""The fence around Keras' and TensorFlow's private or undocumented behaviour: every use the package makes of it is here.

Checked against the versions ``pyproject.toml`` allows, ``keras>=3.15,<4``
and ``tensorflow`` (``tensorflow-cpu`` on x86-64) ``>=2.21,<3``, and tested on
the installed keras 3.15.1 and tensorflow-cpu 2.21.0. Each function names what
it relies on; ``tests/internals/test_keras_private.py`` has one test per
function that fails with the API's name and these versions when an upgrade
breaks it. :data:`PRIVATE_NAMES` lists the names used here, which no other
module of the package spells.

* :func:`reset_optimizer`: a Keras optimizer's learning-rate variable
  (``Optimizer._learning_rate``), left alone while the rest restart;
* :func:`apply_without_all_reduce`: TensorFlow's replica context
  (``merge_call``), in which Keras' TensorFlow optimizer skips its gradient
  all-reduce;
* :func:`keras_seeding_only`: ``keras.utils.set_random_seed`` without its call
  of TensorFlow's ``set_seed``;
* :func:`attach_marks` and :func:`attached_marks`: an attribute of the
  package's own set on a Keras model (``actreg_marks``).

Nothing here imports TensorFlow or Keras at module level: the functions run
in an engine, which has imported them quietly
(:func:`actreg_search.engine.quiet.import_tensorflow`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

CHECKED_ON = "keras 3.15.1 and tensorflow-cpu 2.21.0 (pyproject.toml: keras>=3.15,<4, tensorflow>=2.21,<3)"
"""The versions this module was checked against, for the tests' messages."""

LEARNING_RATE_ATTRIBUTE = "_learning_rate"
MARKS_ATTRIBUTE = "actreg_marks"

PRIVATE_NAMES = (LEARNING_RATE_ATTRIBUTE, "merge_call", "get_replica_context", "set_seed", MARKS_ATTRIBUTE)
"""The private or undocumented names this module uses; no other module of the package names them."""


def reset_optimizer(optimizer: Any) -> None:
    """Restart a built Keras optimizer: its iteration count and every slot (momentums, velocities) back to zero, its rate kept.

    A zeroed optimizer takes the steps a fresh one takes, so one compiled
    program trains trial after trial with the optimizer it was traced with.
    Relies on ``Optimizer._learning_rate`` being the learning-rate variable
    among ``optimizer.variables`` (the public ``learning_rate`` property reads
    it, but promises a value, not the variable).
    """
    rate = getattr(optimizer, LEARNING_RATE_ATTRIBUTE)
    for variable in optimizer.variables:
        if variable is not rate:
            variable.assign(np.zeros(variable.shape, variable.dtype))


def apply_without_all_reduce(optimizer: Any, grads: Sequence[Any], variables: Sequence[Any]) -> None:
    """``optimizer.apply(grads, variables)`` in TensorFlow's cross-replica context, inside a traced function.

    Keras' TensorFlow optimizer all-reduces the gradients over the replicas
    when it finds a replica context: the identity on one replica, but in graph
    mode it registers a custom gradient that keeps every trial's graphs alive.
    ``get_replica_context().merge_call`` runs the update in cross-replica
    context, where it finds none and applies the gradients as they are.
    """
    import tensorflow as tf

    tf.distribute.get_replica_context().merge_call(lambda _: optimizer.apply(grads, variables))


@contextlib.contextmanager
def keras_seeding_only() -> Iterator[None]:
    """While active, ``keras.utils.set_random_seed`` seeds Python, NumPy and Keras, not TensorFlow.

    ``set_random_seed`` calls TensorFlow's ``tf.random.set_seed`` by attribute
    at every call, which also empties TensorFlow's kernel caches; here that
    attribute is a no-op for the duration. It is TensorFlow's module
    attribute, so this is for the whole process: use it where nothing else
    runs TensorFlow meanwhile (an engine building a trial's models).
    """
    import tensorflow as tf

    real: Callable[[Any], None] = tf.random.set_seed
    tf.random.set_seed = lambda seed: None
    try:
        yield
    finally:
        tf.random.set_seed = real


def attach_marks(model: Any, marks: object) -> None:
    """Keep ``marks`` on a Keras model, as its ``actreg_marks`` attribute.

    Keras lets a model take attributes of its own; its tracker passes an
    object that is not a variable, layer, list or dict through unchanged, and
    neither saving nor cloning the model copies it.
    """
    setattr(model, MARKS_ATTRIBUTE, marks)


def attached_marks(model: Any) -> object | None:
    """What :func:`attach_marks` kept on ``model``, or ``None``."""
    return getattr(model, MARKS_ATTRIBUTE, None)


__all__ = [
    "CHECKED_ON",
    "PRIVATE_NAMES",
    "apply_without_all_reduce",
    "attach_marks",
    "attached_marks",
    "keras_seeding_only",
    "reset_optimizer",
]
