"""Test helpers for the fused engine: the trained models of a batch of trials that trained in one program."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import Monitor, TrialResult
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.seeds import build_models
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig


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
