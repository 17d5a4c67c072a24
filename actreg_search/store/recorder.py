"""The one writer of stored attributes: a study's file and splits; what a trial trained, how it ended, its figures.

:func:`record_study` and :class:`TrialRecorder` are the only code that sets
actreg_search's attributes on an Optuna study or trial (keys in
:mod:`actreg_search.store.keys`, precision in :mod:`actreg_search.spec.measures`);
:mod:`actreg_search.store.reader` reads them back.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import socket
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np
import optuna

from actreg_search.spec import measures as figures
from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.engine.base import TrialResult
from actreg_search.results.records import SplitCounts
from actreg_search.spec.specs import StudySpec, spec_to_raw
from actreg_search.store.storage import one_transaction

_PACKAGES = ("actreg-search", "keras", "tensorflow-cpu", "tensorflow", "optuna", "numpy", "scikit-learn")


@cache
def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that decide a trial's numbers."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def record_study(study: optuna.Study, spec: StudySpec, split: SplitCounts | None = None) -> None:
    """Store a study's study file and (given by the run, not a worker) its samples per split, the first time only:
    a rerun, whose run settings may differ, keeps what the study was made with."""
    stored = study.user_attrs
    if attrs.SPEC not in stored:
        study.set_user_attr(attrs.SPEC, spec_to_raw(spec))
    if split is not None and attrs.SPLIT not in stored:
        study.set_user_attr(attrs.SPLIT, dataclasses.asdict(split))


def completed_attrs(result: TrialResult) -> dict[str, Any]:
    """The attributes recording a completed trial's result (per-seed figures, curves, time, versions)."""
    values: dict[str, Any] = {
        attrs.SEEDS: [s.seed for s in result.seeds],
        attrs.ENGINE: result.engine,
        attrs.REGULARIZED_LAYER: result.layers[0] if len(result.layers) == 1 else list(result.layers),
        attrs.CURVE_EPOCHS: list(result.curve_epochs),
        attrs.TRAIN_CURVE: [figures.curve(s.train_curve) for s in result.seeds],
        attrs.TEST_CURVE: [figures.curve(s.test_curve) for s in result.seeds],
        **({attrs.VALIDATION_CURVE: [figures.curve(s.validation_curve) for s in result.seeds]}
           if result.seeds and result.seeds[0].validation_curve else {}),
        attrs.WALL_TIME: figures.seconds(result.wall_time_s),
        attrs.VERSIONS: library_versions(),
    }
    for key, field in ((attrs.LAYER_SPARSITY, "layer_sparsity"), (attrs.LAYER_ACTIVATION_MEAN, "layer_activation_mean")):
        per_layer = result.layer_values(field)
        if len(per_layer) > 1:  # one marked layer: its figures are the overall ones, stored once
            values[key] = per_layer
    for name in figures.PER_SEED:
        per_seed = result.values(name)
        if not per_seed:  # not measured: the validation figures under validation = "test"
            continue
        mean, std = figures.mean_std(per_seed)
        values[name] = per_seed
        values[f"{name}_mean"] = mean
        values[f"{name}_std"] = std
    return values


class TrialRecorder:
    """Writes one trial's attributes as it runs: start, result, partial curves, failure.

    Args:
        trial: The running trial.
        storage: Its study's RDB storage, to write each call's attributes in
            one transaction (:func:`~actreg_search.store.storage.one_transaction`);
            ``None``: one commit per attribute.
    """

    def __init__(self, trial: optuna.Trial, storage: optuna.storages.BaseStorage | None = None) -> None:
        self.trial = trial
        self.storage = storage

    def _set(self, values: dict[str, Any]) -> None:
        with one_transaction(self.storage):
            for key, value in values.items():
                self.trial.set_user_attr(key, value)

    def started(self, config: TrialConfig, seeds: Sequence[int]) -> None:
        """The config about to train, on which seeds, and where."""
        values: dict[str, Any] = {attrs.WORKER: f"{socket.gethostname()}:{os.getpid()}"}
        if hasattr(os, "sched_getaffinity"):
            values[attrs.WORKER_CPUS] = sorted(os.sched_getaffinity(0))
        values[attrs.CONFIG] = config.to_dict()
        values[attrs.SEEDS] = list(seeds)
        self._set(values)

    def completed(self, result: TrialResult, worker_rss_mb: float) -> None:
        """The trial's per-seed results and the worker's memory after it."""
        self._set({**completed_attrs(result), attrs.WORKER_RSS_MB: figures.megabytes(worker_rss_mb)})

    def partial_curves(self, epochs: Sequence[int], train: np.ndarray, test: np.ndarray, validation: np.ndarray | None = None) -> None:
        """The curves so far of a trial that stops early (pruned)."""
        values = {
            attrs.CURVE_EPOCHS: list(epochs),
            attrs.TRAIN_CURVE: [figures.curve(row) for row in train],
            attrs.TEST_CURVE: [figures.curve(row) for row in test],
        }
        if validation is not None:
            values[attrs.VALIDATION_CURVE] = [figures.curve(row) for row in validation]
        self._set(values)

    def failed(self, reason: str, *, seed: int | None = None, interrupted: bool = False) -> None:
        """Why the trial failed; ``seed`` where one seed diverged, ``interrupted`` for Ctrl-C."""
        values: dict[str, Any] = {attrs.FAIL_REASON: reason}
        if seed is not None:
            values[attrs.FAIL_SEED] = seed
        if interrupted:
            values[attrs.INTERRUPTED] = True
        self._set(values)
