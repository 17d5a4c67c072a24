"""Test helpers for the fused engine: the trained models of a batch of trials that trained in one program."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import Monitor, TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import seeded_model
from actreg_search.engine.seeds import build_models
from actreg_search.engine.targets import standardized
from actreg_search.models.build import make_loss, make_optimizer
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig


class KeepingEngine(FusedEngine):
    """A fused engine that keeps each trial's result of its last batch (``fit_many`` returns only the trained models)."""

    def train_many(self, configs, data, seeds, monitors, done, model=None) -> None:
        self.results: dict[int, TrialResult | Exception] = {}

        def keep(index: int, outcome: TrialResult | Exception) -> None:
            self.results[index] = outcome
            done(index, outcome)

        super().train_many(configs, data, seeds, monitors, keep, model)


def fit_many(
    engine: FusedEngine, configs: Sequence[TrialConfig], data: Dataset, seeds: Sequence[int], model: ModelSpec | None = None
) -> list[list[keras.Model]]:
    """Train ``configs`` as one batch (:meth:`FusedEngine.train_many`), then each trial's trained models.

    The batch must train in one program (the engine's last used): each row's
    trained values are copied out of it into a fresh model of the row's trial
    (seed-major, a seed's fold models after it).

    Returns:
        Per config, one trained model per row.
    """
    ended: dict[int, TrialResult | Exception] = {}
    engine.train_many(configs, data, seeds, [Monitor() for _ in configs], ended.__setitem__, model)
    assert all(isinstance(outcome, TrialResult) for outcome in ended.values()), ended
    loop, _ = next(reversed(engine.cache.programs.values()))
    rows = [seed for seed in seeds for _ in data.folds(seed)]
    models = [build_models(config, data, rows, model, seed_tensorflow=False) for config in configs]
    assert loop.rows == len(configs) * len(rows), "the batch did not train in one program"
    loop.write_back([net for trial in models for net in trial])
    return models


def keras_full_batch_fit(config: TrialConfig, data: Dataset, seed: int, model: ModelSpec | None = None) -> keras.Model:
    """Keras' own fit for ``config.epochs`` full-batch epochs, without per-epoch overhead.

    With the whole training set in one batch, an epoch is one optimizer step on
    the same batch, so ``config.epochs`` epochs are ``config.epochs`` steps on
    copies of it laid end to end; ``steps_per_execution`` runs them in one call
    instead of paying ``model.fit``'s ~50 ms per epoch. Initialisation is the
    keras engine's (``test_keras_full_batch_fit_is_keras_engine_fit``).
    """
    net = seeded_model(config, data, seed, model)
    net.compile(optimizer=make_optimizer(config), loss=make_loss(data.n_classes), steps_per_execution=config.epochs)
    n = len(data.x_train)
    x = np.tile(data.x_train, (config.epochs, *([1] * (data.x_train.ndim - 1))))
    y = standardized(data.task, data.y_train, data.center, data.spread)  # a regression's, on a fold's view's scale
    y = np.tile(y, (config.epochs, *([1] * (y.ndim - 1))))
    net.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0)
    return net
