"""The fused engine: all of a trial's seeds trained together in one compiled loop.

The K seeds are K copies of the trial's model, each initialised exactly as the
keras engine initialises it for that seed. Their weights are stacked on a
leading seed axis and trained jointly on the sum of their losses: each seed's
loss depends only on its own weights, so the gradient of the sum with respect
to seed k's weights is seed k's own gradient, and the optimizers Keras offers
here (Adam, SGD, RMSprop) update every weight elementwise, so one Keras
optimizer over the stacked weights takes the same steps as K over K models.

A model whose layers form one chain of layers with a row form (Dense,
Activation, Conv2D, pooling, Flatten, global pooling, Dropout,
BatchNormalization, LayerNormalization, LSTM, GRU, SimpleRNN: the three
built-in families and most builders) is computed on rows
(:mod:`~actreg_search.engine.rowwise`): every layer batched over the row axis,
the whole training XLA-compiled; Dropout draws each row's masks from its own
seed, BatchNormalization keeps each row's statistics. Any other model runs one
traced copy of Keras' ``stateless_call`` per row in a plain TensorFlow graph,
and :meth:`FusedEngine.path_of` names the layer that keeps it off the rows (a
run prints it once). A model neither path can take (see
:meth:`FusedEngine.unfit_reason`) is trained by the keras engine instead, and
its result says so (``engine = "keras"``).

The program is shared (:mod:`actreg_search.engine.programs`): the model it
traces is *probed*, its penalty an input, and built at the width's bucket, so
every later trial of the same shape, on this worker, trains in it without
compiling; :meth:`FusedEngine.train_many` trains the trials of a batch that
share a program as one program of trials × seeds rows.

On every path the epochs run inside one ``tf.function`` call per chunk of about
a twentieth of the training (a quarter when no monitor reads the reports, see
:data:`~actreg_search.engine.chunks.QUIET_CHUNKS`); after each chunk the engine
reports progress and the mean test accuracy (which may prune the trial) and
checks for non-finite losses. Curves are counted inside the loop; a trial's
final figures after it, on the program's own model (:meth:`StackedLoop.evaluate`),
with each row's best epoch's values back under early stopping. The trained
weights are copied into the seeds' Keras models only when they are asked for
(:meth:`FusedEngine.fit_models`, ``export --model``).

With a ``profile_path`` (``ACTREG_PROFILE``) each trained program appends a JSON line
there (what it compiled, where its time went), as ``benchmarks/study.py`` reads.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np

from actreg_search.data.datasets import Dataset
from actreg_search.data.splits import Fold
from actreg_search.engine import get_engine
from actreg_search.engine.base import Engine, Monitor, TrialDone, TrialResult, curve_epochs
from actreg_search.engine.chunks import run_chunks
from actreg_search.engine.metrics import Counted, counted_seed_result, mean_of_folds
from actreg_search.engine.programs import ProgramCache, bucket_of
from actreg_search.engine.quiet import sees_gpu
from actreg_search.engine.seeds import build_models, seeds_tensorflow
from actreg_search.engine.rows import RowInputs
from actreg_search.engine.rowwise import unsupported, vectorizes
from actreg_search.engine.stacked import StackedLoop
from actreg_search.models.build import prepare_model
from actreg_search.models.marks import marks_of
from actreg_search.spec.specs import ModelSpec, StudySpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import EngineName, Regularizer

ACCELERATOR_BATCH = 8
"""Trials trained together by default on a GPU (on a CPU: one, see :meth:`FusedEngine.default_batch`)."""


@dataclass(frozen=True)
class FusedFit:
    """The outcome of :meth:`FusedEngine.fit_models`.

    Attributes:
        models: One trained Keras model per seed, in the order of the seeds
            (under k-fold, one per fold: seed-major).
        train_curves: Train accuracy, shape ``(n_seeds, n_curve_epochs)`` (a seed's folds averaged).
        test_curves: Test accuracy, likewise.
        validation_curves: Validation accuracy, likewise (``None`` under ``validation = "test"``).
    """

    models: list[keras.Model]
    train_curves: np.ndarray
    test_curves: np.ndarray
    validation_curves: np.ndarray | None = None

    def curves(self, k: int) -> dict[str, tuple[float, ...]]:
        """Seed ``k``'s curves, as :class:`~actreg_search.engine.base.SeedResult` fields."""
        validation = () if self.validation_curves is None else tuple(self.validation_curves[k].tolist())
        return {
            "train_curve": tuple(self.train_curves[k].tolist()),
            "test_curve": tuple(self.test_curves[k].tolist()),
            "validation_curve": validation,
        }


class FusedEngine(Engine):
    """Trains all seeds of a trial at once, and several trials in one program, in compiled TensorFlow loops.

    Programs are shared across trials (:mod:`~actreg_search.engine.programs`):
    the penalty an input, the width bucketed, each program compiled once per
    worker.

    Args:
        merge: How a batch's trials of one model but different widths train:
            ``True``: all in one program, padded to the widest one's bucket;
            ``False``: one program per bucket. ``None``: merge on a GPU, where
            one program of many rows costs about what one of few does, not on
            a CPU, where time grows with rows × width.
        profile_path: A file to append one JSON timing record to per trained
            program (``None``: none is written).

    Attributes:
        cache: The worker's compiled programs.
        builds: Trials whose models this engine has built: decides which
            builds set TensorFlow's seed too (:func:`~actreg_search.engine.seeds.seeds_tensorflow`).
    """

    name = EngineName.FUSED.value

    def __init__(self, merge: bool | None = None, profile_path: str | None = None) -> None:
        self.merge = merge
        self.profile_path = profile_path
        self.cache = ProgramCache()
        self.builds = 0

    def __reduce__(self) -> tuple[object, tuple[bool | None, str | None]]:
        from actreg_search.engine import make_fused_engine  # a worker builds its own programs; the factory imports TF quietly

        return make_fused_engine, (self.merge, self.profile_path)

    def prepare(self, spec: StudySpec) -> None:
        """A study that searches ``kl_sparsity`` trains every elementwise trial in programs carrying its terms (one program)."""
        self.cache.kl_study = Regularizer.KL_SPARSITY in spec.space.regularizer.values

    def default_batch(self) -> int:
        """Trials asked for and trained together by default.

        On a GPU :data:`ACCELERATOR_BATCH`, trained as one program; on a CPU
        one: there a program of several trials trains each no faster than
        alone from a few hundred units and every other number of trials
        compiles a program of its own (docs/performance.md).
        """
        return ACCELERATOR_BATCH if sees_gpu() else 1

    def unfit_reason(self, model: keras.Model) -> str | None:
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

    def path_of(self, model: keras.Model) -> str:
        """Vectorised over rows (:mod:`~actreg_search.engine.rowwise`), or one row at a time, naming the layer that
        keeps the model off the rows and why."""
        if (off := unsupported(model)) is None:
            return "the fused engine trains it vectorised over rows (seeds × trials), XLA-compiled"
        return f"the fused engine trains it one row at a time, not vectorised: layer {off[0]!r}: {off[1]}"

    def train(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> TrialResult:
        """See :meth:`Engine.train`; a model that cannot be fused is trained by the keras engine."""
        ended: list[TrialResult | Exception] = []
        self.train_many([config], data, seeds, [monitor or Monitor()], lambda _, outcome: ended.append(outcome), model)
        if isinstance(ended[0], Exception):
            raise ended[0]
        return ended[0]

    def train_many(
        self,
        configs: Sequence[TrialConfig],
        data: Dataset,
        seeds: Sequence[int],
        monitors: Sequence[Monitor],
        done: TrialDone,
        model: ModelSpec | None = None,
    ) -> None:
        """See :meth:`Engine.train_many`: the trials that share a program (:class:`ProgramKey`) train in one."""

        def finish(index: int, trained: _Trained, wall_time_s: float) -> None:
            config, fit = configs[index], trained.fit
            folds = len(trained.counted) // len(seeds)
            try:  # each seed's fold models' figures averaged, with the seed's curves (averaged in the program's loop)
                results = tuple(
                    replace(
                        mean_of_folds(
                            [counted_seed_result(net, config, data, seed, c) for c in trained.counted[k * folds : (k + 1) * folds]]
                        ),
                        **fit.curves(k),
                    )
                    for k, (net, seed) in enumerate(zip(fit.models, seeds))
                )
            except Exception as exc:  # noqa: BLE001 - NonFiniteLoss on the final loss: this trial's ending
                done(index, exc)
                return
            layers = marks_of(fit.models[0]).names
            done(index, TrialResult(results, curve_epochs(config.epochs), wall_time_s, self.name, layers))

        def fallback(index: int, _: str) -> None:  # the keras engine's own train_many reports its ending
            keras_engine = get_engine(EngineName.KERAS)
            keras_engine.train_many([configs[index]], data, seeds, [monitors[index]], lambda __, end: done(index, end), model)

        self._train(configs, data, seeds, monitors, done, finish, fallback, model, keep_models=False)

    def fit_models(
        self,
        config: TrialConfig,
        data: Dataset,
        seeds: Sequence[int],
        monitor: Monitor | None = None,
        model: ModelSpec | None = None,
    ) -> FusedFit:
        """Train ``config`` as :meth:`train` would and return its trained models (``export --model``).

        Args:
            config: What to train.
            data: The worker's dataset.
            seeds: The seeds; seed ``s`` gives the model that
                ``keras.utils.set_random_seed(s)`` followed by ``build_model``
                gives, and its own minibatch order.
            monitor: Receives the training's progress.
            model: The study's ``[model]`` (``None``: the built-in family).

        Returns:
            The trained models and their accuracy curves.

        Raises:
            ValueError: The model cannot be fused (:meth:`unfit_reason`).
            NonFiniteLoss: A seed's loss became NaN or infinite (or what else
                ended the training, e.g. ``optuna.TrialPruned`` from the monitor).
        """
        fits: list[FusedFit] = []
        ended: list[Exception] = []

        def unfusable(_: int, reason: str) -> None:
            ended.append(ValueError(f"the fused engine cannot train this model: {reason}"))

        def finish(_: int, trained: _Trained, __: float) -> None:
            fits.append(trained.fit)

        self._train([config], data, seeds, [monitor or Monitor()], lambda _, exc: ended.append(exc), finish, unfusable, model, keep_models=True)
        if ended:
            raise ended[0]
        return fits[0]

    def _train(
        self,
        configs: Sequence[TrialConfig],
        data: Dataset,
        seeds: Sequence[int],
        monitors: Sequence[Monitor],
        done: TrialDone,
        finish: Callable[[int, _Trained, float], None],
        fallback: Callable[[int, str], None],
        model: ModelSpec | None,
        keep_models: bool,
    ) -> None:
        """Group the trials by program and train each group; ``finish`` gets each trial trained to the end.

        A trial whose model cannot be built, diverges or is pruned goes to
        ``done``; one the fused engine cannot train goes to ``fallback``, with
        :meth:`unfit_reason`'s reason. ``keep_models``: copy the trained
        weights into each trial's Keras models (else they keep their initial ones).
        """
        prepare_model(model)
        merge = sees_gpu() if self.merge is None else self.merge
        groups: dict[object, list[int]] = {}
        for index, config in enumerate(configs):
            groups.setdefault(self._group_key(config, data, seeds, model, merge), []).append(index)
        for members in groups.values():
            built = {}
            # The trained models are wanted: one per row (a seed's fold models start alike); else one per seed.
            model_seeds = [seed for seed in seeds for _ in data.folds(seed)] if keep_models else seeds
            for index in members:
                seed_tensorflow = seeds_tensorflow(self.builds)
                self.builds += 1
                try:
                    built[index] = build_models(configs[index], data, model_seeds, model, seed_tensorflow=seed_tensorflow)
                except Exception as exc:  # noqa: BLE001 - a user's builder failed: this trial's ending
                    done(index, exc)
            reasons = {i: self.unfit_reason(nets[0]) for i, nets in built.items()}
            fusable = [i for i in built if reasons[i] is None]
            for index in (i for i in built if reasons[i] is not None):
                fallback(index, str(reasons[index]))
            together = fusable and vectorizes(built[fusable[0]][0])  # several trials in one program pay only then
            for group in [fusable] if together else [[i] for i in fusable]:
                self._train_group(group, configs, built, data, seeds, monitors, done, finish, model, keep_models)

    def _group_key(self, config: TrialConfig, data: Dataset, seeds: Sequence[int], model: ModelSpec | None, merge: bool) -> object:
        """What the trials of a batch that train in one program share: a :class:`~actreg_search.engine.programs.ProgramKey`
        (with ``merge``, its family: any width)."""
        rows = sum(len(data.folds(seed)) for seed in seeds)  # a trial's: k fold models a seed under k-fold
        key = self.cache.key(config, data, model, 1, rows)
        return key.family() if merge else key

    def _program(
        self, group: list[int], configs: Sequence[TrialConfig], data: Dataset, model: ModelSpec | None, folds: Sequence[Fold]
    ) -> tuple[StackedLoop, RowInputs, bool, int]:
        """The program of the trials ``group`` (``folds``: a trial's rows): ``(loop, rows' inputs, whether new, width)``."""
        widest = max(bucket_of(configs[i].hidden_units) for i in group)
        key = self.cache.key(configs[group[0]], data, model, len(group), len(folds), widest)
        loop, probes, compiled = self.cache.get(key, data)
        inputs = RowInputs.of([configs[i] for i in group for _ in folds], probes)
        return loop, inputs, compiled, key.config.hidden_units

    def _train_group(
        self,
        group: list[int],
        configs: Sequence[TrialConfig],
        built: dict[int, list[keras.Model]],
        data: Dataset,
        seeds: Sequence[int],
        monitors: Sequence[Monitor],
        done: TrialDone,
        finish: Callable[[int, _Trained, float], None],
        model: ModelSpec | None,
        keep_models: bool,
    ) -> None:
        """Train the trials ``group`` in one program: rows ``(slot × seeds + k) × folds + f``."""
        start = time.perf_counter()
        folds = [fold for seed in seeds for fold in data.folds(seed)]
        per_seed = len(folds) // len(seeds)
        # A seed's fold models all start from the seed's model: its one model in every fold's row, or one model a row.
        repeat = 1 if keep_models else per_seed
        rows = [net for index in group for net in built[index] for _ in range(repeat)]
        loop, inputs, compiled, width = self._program(group, configs, data, model, folds)
        loop.load(rows, [seed for _ in group for seed in seeds for _ in range(per_seed)], inputs, folds * len(group))
        chunks = run_chunks(loop, group, configs, data, seeds, monitors, done)
        if loop.stopping is not None:
            loop.stopping.restore()
        trained = time.perf_counter()
        n = len(folds)
        live = [k for k in range(len(rows)) if group[k // n] in chunks.live]
        counted: dict[int, Counted] = {}
        if keep_models:  # the trained weights into the models: one read of the program's values
            loop.write_back([net if group[k // n] in chunks.live else None for k, net in enumerate(rows)])
        else:  # the final figures counted on the program's model: one read too
            counted = dict(zip(live, loop.evaluate(live)))
        for slot, index in enumerate(group):
            if index in chunks.live:
                validation = None if chunks.validation is None else chunks.validation[slot]
                fit = FusedFit(built[index], chunks.train[slot], chunks.test[slot], validation)
                mine = [] if keep_models else [counted[k] for k in range(slot * n, (slot + 1) * n)]
                finish(index, _Trained(fit, mine), trained - start)
        self._profile(
            {
                "trials": len(group),
                "rows": len(rows),
                "width": width,
                "compiled": compiled,
                "compile_s": chunks.compile_s,
                "train_s": trained - start,
                "results_s": time.perf_counter() - trained,
                **({} if loop.stopping is None else {"masked_row_epochs": loop.stopping.masked(configs[group[0]].epochs)}),
            }
        )

    def _profile(self, event: dict[str, Any]) -> None:
        """Append one timing record to :attr:`profile_path` (nothing without one)."""
        if self.profile_path:
            with open(self.profile_path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"pid": os.getpid(), "time": time.time(), **event}) + "\n")


@dataclass(frozen=True)
class _Trained:
    """One trial trained to the end: its models and curves, and each seed's final figures as the program counted them
    (none when the models were given the trained weights instead, :meth:`FusedEngine.fit_models`)."""

    fit: FusedFit
    counted: list[Counted]


__all__ = ["ACCELERATOR_BATCH", "FusedEngine", "FusedFit"]
