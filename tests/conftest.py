"""Shared test set-up: quiet TensorFlow, small and deterministic."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import gc
import textwrap
from pathlib import Path

import optuna
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fewer, cheaper garbage collections in a test process: a test's own objects are not its subject.

    Once TensorFlow, Keras and the rest are imported a test process holds over 350,000 objects, and tracing a
    program or a Keras model allocates many more: with Python's default thresholds the collector ran often and
    walked them all.
    :func:`gc.freeze` moves what collection imported out of the collector's sight, and a young generation of
    50,000 objects (the default is 700) makes collections rarer. test_fused.py with test_programs.py, two runs
    each in one process: 52.2 and 48.2 s of CPU as before, 47.1 and 47.4 s with the freeze alone, 43.1 and
    43.5 s with both (about 70 MB more memory); the whole suite, back to back, 293 s against 304 s (within the
    VM's run-to-run noise). The processes ``run`` starts (workers) are not affected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


TINY = """
[study]
name = "{name}"
sampler = "{sampler}"
n_trials = {n_trials}
seeds = {seeds}
seed = 0

[data]
name = "circles"
n_samples = 100
noise = 0.1
random_state = 1
train_size = 30

[model]
family = "mlp"
hidden_units = 8
epochs = {epochs}
batch_size = 32
engine = "{engine}"

[space]
{space}
"""

TINY_SPACE = """
regularizer = ["none", "l1", "l2", "l1_l2"]
placement = ["pre_activation", "post_activation", "kernel"]
coefficient = { low = 1e-5, high = 1e-2, log = true }
hidden_units = { low = 4, high = 16, log = true }
"""


def tiny_study_text(
    name: str = "tiny",
    sampler: str = "random",
    n_trials: int = 3,
    seeds: int = 2,
    epochs: int = 4,
    engine: str = "keras",
    space: str = TINY_SPACE,
) -> str:
    """A small, fast study file (width 8, a few epochs)."""
    return TINY.format(
        name=name, sampler=sampler, n_trials=n_trials, seeds=seeds, epochs=epochs, engine=engine,
        space=textwrap.dedent(space),
    )


@pytest.fixture(scope="session")
def study_text():
    """The :func:`tiny_study_text` factory, for module-scoped fixtures."""
    return tiny_study_text


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a tiny study file and return its path."""

    def write(filename: str = "study.toml", **kwargs) -> Path:
        path = tmp_path / filename
        path.write_text(tiny_study_text(**kwargs))
        return path

    return write


@pytest.fixture
def storage_url(tmp_path: Path) -> str:
    """A fresh SQLite storage URL in the test's folder."""
    return f"sqlite:///{tmp_path / 'test.db'}"
