"""The stored schema: the keys of the attributes actreg_search keeps on Optuna trials and studies.

Written by :mod:`actreg_search.store.recorder` (the only writer) and read by
:mod:`actreg_search.store.reader` (the only reader); nothing else names a key.
Optuna's own attributes (a heartbeat retry's) are read in
:mod:`actreg_search.internals.optuna_private`.
"""

from __future__ import annotations

#: The study's own study file, as the study-file-shaped dict of :func:`actreg_search.spec.specs.spec_to_raw`.
SPEC = "actreg_spec"
#: The study's samples per split: ``{"train", "validation", "test", "folds"}`` (each model's counts).
SPLIT = "actreg_split"

CONFIG = "config"
SEEDS = "seeds"
ENGINE = "engine"
CURVE_EPOCHS = "curve_epochs"
TRAIN_CURVE = "train_curve"
TEST_CURVE = "test_curve"
#: Per seed, validation accuracy at the curve epochs (under a validation protocol only).
VALIDATION_CURVE = "validation_curve"
WALL_TIME = "wall_time_s"
VERSIONS = "versions"
REGULARIZED_LAYER = "regularized_layer"
#: Per marked layer (a dict: layer name -> per-seed list): the sparsity and the activation mean of that layer
#: alone; the per-seed ``sparsity`` and ``activation_mean`` stay the figures of every marked layer pooled.
LAYER_SPARSITY = "layer_sparsity"
LAYER_ACTIVATION_MEAN = "layer_activation_mean"
FAIL_REASON = "fail_reason"
FAIL_SEED = "fail_seed"
#: ``True`` on a trial failed because a stop was requested (Ctrl-C): the next run queues it again.
INTERRUPTED = "interrupted"
WORKER = "worker"
WORKER_RSS_MB = "worker_rss_mb"
WORKER_CPUS = "worker_cpus"

#: Attributes holding learning curves: the big ones, read only for the trials a chart draws.
CURVES = (CURVE_EPOCHS, TRAIN_CURVE, TEST_CURVE, VALIDATION_CURVE)
