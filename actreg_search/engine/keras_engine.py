"""The reference engine: plain ``model.fit``, one seed after another, like the tutorial.

A regression's model fits its targets standardized with the mean and spread of
the samples it trains on (:meth:`~actreg_search.data.datasets.Dataset.fold`
gives them), and its figures are read in the target's units.

Under a validation protocol each seed's model fits the seed's training
samples only (a fold's view of the data, :meth:`~actreg_search.data.datasets.Dataset.fold`);
under k-fold a seed fits one model per fold and its figures are the folds' means.
"""

from __future__ import annotations

import math
from dataclasses import replace
import time
from collections.abc import Callable, Sequence

import keras

from actreg_search.data.datasets import Dataset
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, TrialResult, curve_epochs
from actreg_search.engine.metrics import figure, mean_of_folds, seed_result
from actreg_search.engine.targets import standardized
from actreg_search.models.build import build_model, make_loss, make_optimizer, prepare_model
from actreg_search.models.marks import marks_of
from actreg_search.spec.measures import Split, headline
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import EngineName


def seeded_model(config: TrialConfig, data: Dataset, seed: int, model: ModelSpec | None = None) -> keras.Model:
    """A new, uncompiled model for ``seed``, initialised as the keras engine initialises each seed's model.

    Keras' state (layer-name counters, the default graph, the kernel cache) is
    reset first, but without ``clear_session``'s ``gc.collect()``: Keras'
    docstring advises skipping it in a short loop, and a full collection of a
    process holding TensorFlow cost 0.2 s and more a seed (the keras engine's
    memory soak, 50 trials x 3 seeds x 20 epochs: 164 s against 281 s, RSS
    1482 MB against 1462 MB; docs/performance.md). Then
    ``keras.utils.set_random_seed(seed)`` seeds the weights, the shuffling and
    every random layer.
    """
    prepare_model(model)
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    return build_model(config, data.input_shape, data.n_classes, model)


class _CurveRecorder(keras.callbacks.Callback):
    """Records the train/test headline figure (accuracy, RMSE...) at the curve epochs, stops on a non-finite loss, keeps early stopping's epochs."""

    def __init__(self, data: Dataset, seed: int, epochs: tuple[int, ...], on_epoch: Callable[[int], None]) -> None:
        super().__init__()
        self.data = data
        self.seed = seed
        self.epochs = frozenset(epochs)
        self.on_epoch = on_epoch
        self.train_curve: list[float] = []
        self.test_curve: list[float] = []
        self.validation_curve: list[float] = []
        self.epochs_kept: dict[str, int] = {}  # under early stopping: stopped_epoch, restored_epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(self.seed, done)
        if done in self.epochs:
            data = self.data
            self.train_curve.append(figure(self.model, data.x_train, data.y_train, data))
            self.test_curve.append(figure(self.model, data.x_test, data.y_test, data))
            if data.x_val is not None:
                self.validation_curve.append(figure(self.model, data.x_val, data.y_val, data))
            self.on_epoch(done)

    def stopped(self, callback: keras.callbacks.EarlyStopping, epochs: int) -> None:
        """After an early-stopped fit: the epochs it stopped at and restored, and each curve held at its value
        at the stop for the curve epochs it did not reach (as the fused engine's stopped rows hold theirs)."""
        self.epochs_kept = {
            "stopped_epoch": callback.stopped_epoch + 1 if callback.stopped_epoch else epochs,
            "restored_epoch": callback.best_epoch + 1,
        }
        for curve in (self.train_curve, self.test_curve, self.validation_curve):
            if curve:
                curve.extend([curve[-1]] * (len(self.epochs) - len(curve)))


class KerasEngine(Engine):
    """Trains each seed with ``model.fit``; slow, but the reference for every other engine."""

    name = EngineName.KERAS.value

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # Unpickled (in a worker) through the registry, which imports TensorFlow quietly.
        from actreg_search.engine import get_engine

        return get_engine, (self.name,)

    def train(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> TrialResult:
        """See :meth:`Engine.train`."""
        monitor = monitor or Monitor()
        start = time.perf_counter()
        points = curve_epochs(config.epochs)
        total = config.epochs * len(seeds)  # progress in seed-epochs, a seed's fold models sharing its share
        results = []
        layers: tuple[str, ...] = ()
        for seed in seeds:
            folds, k = [], len(data.folds(seed))
            for f, fold in enumerate(data.folds(seed)):
                begun = (len(results) + f / k) * config.epochs  # seed-epochs before this fold model
                view = data.fold(fold)
                net, recorder = self.fit_recorded(
                    config, view, seed, points, lambda e, b=begun, k=k: monitor.on_epochs(int(b + e / k), total), model
                )
                layers = marks_of(net).names
                result = seed_result(net, config, view, seed, recorder.train_curve, recorder.test_curve, recorder.validation_curve)
                folds.append(replace(result, **recorder.epochs_kept))
            results.append(mean_of_folds(folds))
        field = headline(data.task, Split.TEST if data.validation.on_test else Split.VALIDATION)
        monitor.report(config.epochs, sum(getattr(r, field) for r in results) / len(results))
        return TrialResult(
            seeds=tuple(results),
            curve_epochs=points,
            wall_time_s=time.perf_counter() - start,
            engine=self.name,
            layers=layers,
        )

    @staticmethod
    def fit(config: TrialConfig, data: Dataset, seed: int, model: ModelSpec | None = None) -> keras.Model:
        """Build, seed and fit one model (``export --model``'s for a model the fused engine cannot train).

        ``keras.utils.set_random_seed(seed)`` before the build seeds the
        weights, the shuffling and every random layer (Dropout, noise), so a
        seed's model is the same every time.
        """
        return KerasEngine.fit_recorded(config, data.fold(data.folds(seed)[0]), seed, model=model)[0]

    @staticmethod
    def fit_recorded(
        config: TrialConfig,
        data: Dataset,
        seed: int,
        points: tuple[int, ...] = (),
        on_epoch: Callable[[int], None] = lambda epoch: None,
        model: ModelSpec | None = None,
    ) -> tuple[keras.Model, _CurveRecorder]:
        """:meth:`fit`, with the accuracies recorded at the epochs ``points`` (``on_epoch`` called at each)."""
        net = seeded_model(config, data, seed, model)
        net.compile(optimizer=make_optimizer(config), loss=make_loss(data.n_classes))
        recorder = _CurveRecorder(data, seed, points, on_epoch)
        stopper, stopping = None, {}
        if config.early_stopping is not None and data.x_val is not None:  # on the seed's validation samples, one batch
            rule = config.early_stopping
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=rule.patience, min_delta=rule.min_delta, restore_best_weights=True
            )
            y_val = standardized(data.task, data.y_val, data.center, data.spread)
            stopping = {"validation_data": (data.x_val, y_val), "validation_batch_size": len(data.x_val)}
        net.fit(
            data.x_train,
            standardized(data.task, data.y_train, data.center, data.spread),
            epochs=config.epochs,
            batch_size=config.batch_size,
            shuffle=True,
            verbose=0,
            callbacks=[recorder] if stopper is None else [recorder, stopper],
            **stopping,
        )
        if stopper is not None:
            recorder.stopped(stopper, config.epochs)
        return net, recorder


__all__ = ["KerasEngine"]
