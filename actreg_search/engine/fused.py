"""The fused engine: all of a trial's seeds trained together in one compiled loop.

The K seeds are K copies of the trial's model, each initialised exactly as the
keras engine initialises it for that seed. Their weights are stacked on a
leading seed axis and trained jointly on the sum of their losses: each seed's
loss depends only on its own weights, so the gradient of the sum with respect
to seed k's weights is seed k's own gradient, and the optimizers Keras offers
here (Adam, SGD, RMSprop) update every weight elementwise, so one optimizer over
the stacked weights takes the same steps as K optimizers over K models. The
forward pass, losses and regularizers are Keras' own (``stateless_call`` of the
trial's model) and the update is the Keras optimizer's.

Models made of Dense and Activation layers (the mlp family, a user's Dense
stack) are vectorised over the seed axis with ``tf.vectorized_map`` and
compiled with XLA; other models (Conv2D, LSTM, Dropout, ...) run one traced
copy per seed in a plain TensorFlow graph (see :data:`VECTORIZED_LAYERS`).
Random layers keep their seed generators' state with the other non-trainable
variables, so each seed draws its own dropout masks, the same every run. A
model neither path can take (see :func:`unfusable_reason`) is trained by the
keras engine instead, and its result says so (``engine = "keras"``).

Either way the epochs run inside one ``tf.function`` call per chunk of about
a twentieth of the training; after each chunk the engine reports progress,
reports the mean test accuracy (which may prune the trial) and checks for
non-finite losses. Train and test accuracies at
the curve epochs are computed inside the loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from actreg_search.config import TrialConfig
from actreg_search.data import Dataset
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, TrialResult, curve_epochs
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.engine.metrics import seed_result
from actreg_search.models import build_model, prepare_model
from actreg_search.engine.stacked import VECTORIZED_LAYERS, StackedLoop, permutations
from actreg_search.regularize import marks_of
from actreg_search.spec import ModelSpec

CHUNKS = 20
"""About how many compiled calls a trial's training is split into."""


@dataclass(frozen=True)
class FusedFit:
    """The outcome of :meth:`FusedEngine.fit_models`.

    Attributes:
        models: One trained Keras model per seed, in the order of the seeds.
        train_curves: Train accuracy, shape ``(n_seeds, n_curve_epochs)``.
        test_curves: Test accuracy, shape ``(n_seeds, n_curve_epochs)``.
    """

    models: list[keras.Model]
    train_curves: np.ndarray
    test_curves: np.ndarray


class FusedEngine(Engine):
    """Trains all seeds of a trial at once in a compiled TensorFlow loop."""

    name = "fused"

    def train(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> TrialResult:
        """See :meth:`Engine.train`; a model that cannot be fused is trained by the keras engine."""
        start = time.perf_counter()
        models = build_models(config, data, seeds, model)
        if unfusable_reason(models[0]) is not None:
            return KerasEngine().train(config, data, seeds, monitor, model)
        fitted = self.fit_built(models, config, data, seeds, monitor)
        results = tuple(
            seed_result(net, config, data, seed, fitted.train_curves[i].tolist(), fitted.test_curves[i].tolist())
            for i, (net, seed) in enumerate(zip(fitted.models, seeds))
        )
        return TrialResult(
            seeds=results,
            curve_epochs=curve_epochs(config.epochs),
            wall_time_s=time.perf_counter() - start,
            engine=self.name,
            layers=marks_of(models[0]).names,
        )

    def fit_models(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> FusedFit:
        """Build one model per seed, train them jointly and return them trained.

        Args:
            config: What to train.
            data: The worker's dataset.
            seeds: The seeds; seed ``s`` gives the model that
                ``keras.utils.set_random_seed(s)`` followed by ``build_model``
                gives, and its own minibatch order.
            monitor: Gets progress and the mean test accuracy after each chunk.
            model: The study's ``[model]`` (``None``: the built-in family).

        Returns:
            The trained models and their accuracy curves.

        Raises:
            NonFiniteLoss: A seed's loss became NaN or infinite.
            optuna.TrialPruned: Raised by ``monitor.report``.
            ValueError: The model cannot be fused (:func:`unfusable_reason`).
        """
        models = build_models(config, data, seeds, model)
        reason = unfusable_reason(models[0])
        if reason is not None:
            raise ValueError(f"the fused engine cannot train this model: {reason}")
        return self.fit_built(models, config, data, seeds, monitor)

    def fit_built(
        self,
        models: list[keras.Model],
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
    ) -> FusedFit:
        """Train models built by :func:`build_models` jointly (see :meth:`fit_models`)."""
        monitor = monitor or Monitor()
        loop = StackedLoop(config, data, models, seeds)
        run = tf.function(loop.chunk, jit_compile=loop.vectorize, autograph=False)
        n_points, n_seeds = len(curve_epochs(config.epochs)), len(seeds)
        train_hits = tf.zeros((n_points, n_seeds), tf.int32)
        test_hits = tf.zeros((n_points, n_seeds), tf.int32)
        first_bad = tf.zeros((n_seeds,), tf.int32)
        for begin, end in chunk_bounds(config.epochs):
            train_hits, test_hits, first_bad, test_now = run(
                tf.constant(begin), tf.constant(end), train_hits, test_hits, first_bad
            )
            bad = first_bad.numpy()
            if bad.any():
                seed_index = int(np.argmin(np.where(bad > 0, bad, np.iinfo(np.int32).max)))
                raise NonFiniteLoss(seeds[seed_index], int(bad[seed_index]))
            monitor.on_epochs(end * n_seeds, config.epochs * n_seeds)
            recorded = sum(1 for e in curve_epochs(config.epochs) if e <= end)
            monitor.on_curves(
                curve_epochs(config.epochs)[:recorded],
                train_hits.numpy()[:recorded].T / len(data.y_train),
                test_hits.numpy()[:recorded].T / len(data.y_test),
            )
            monitor.report(end, float(np.mean(test_now.numpy() / len(data.y_test))))
        loop.write_back(models)
        # Counts of correct predictions divided here, in float64, as metrics.accuracy does.
        return FusedFit(
            models=models,
            train_curves=train_hits.numpy().T / len(data.y_train),
            test_curves=test_hits.numpy().T / len(data.y_test),
        )


def build_models(config: TrialConfig, data: Dataset, seeds: Sequence[int], model: ModelSpec | None) -> list[keras.Model]:
    """One model per seed, each built right after ``keras.utils.set_random_seed(seed)``."""
    # Keras' state from the last trial goes; its collection is left to the
    # garbage collector's own schedule (a forced one costs ~0.25 s a trial).
    prepare_model(model)
    keras.backend.clear_session(free_memory=False)
    models = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        models.append(build_model(config, data.input_shape, data.n_classes, model))
    return models


def unfusable_reason(model: keras.Model) -> str | None:
    """Why the fused engine cannot train ``model``, or ``None`` when it can.

    The fused engine needs one input and one output, and layers whose whole
    state is Keras variables: Keras' own layers. A layer of another module
    (the user's own subclass) may keep state or randomness outside them, so
    such a model trains on the keras engine.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return f"it has {len(model.inputs)} inputs and {len(model.outputs)} outputs (the fused engine takes one of each)"
    pending = list(model.layers)
    while pending:
        layer = pending.pop()
        module = type(layer).__module__
        if not module.startswith("keras."):
            return f"layer {layer.name!r} is a {type(layer).__name__} from {module}, not a Keras layer"
        pending.extend(getattr(layer, "layers", []))
    return None


def chunk_bounds(epochs: int, chunks: int = CHUNKS) -> list[tuple[int, int]]:
    """Split ``epochs`` into about ``chunks`` ranges ``[begin, end)``.

    Every boundary but the last falls on a curve epoch, so the value reported
    after a chunk is the one on the curve.

    Args:
        epochs: Total epochs.
        chunks: About how many ranges.

    Returns:
        Consecutive 0-based ranges covering ``range(epochs)``.
    """
    points = curve_epochs(epochs)
    length = points[0] * math.ceil(len(points) / chunks)
    starts = range(0, epochs, length)
    return [(begin, min(begin + length, epochs)) for begin in starts]


__all__ = ["VECTORIZED_LAYERS", "FusedEngine", "FusedFit", "build_models", "chunk_bounds", "permutations", "unfusable_reason"]
