"""Import TensorFlow without its start-up lines on the terminal.

``import tensorflow`` writes, straight to file descriptor 2 from C++, lines
that ``TF_CPP_MIN_LOG_LEVEL`` does not silence (TensorFlow 2.21 prints them
even at level 3)::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. ...

They break a live progress bar and tell a user nothing actionable (the oneDNN
note is about round-off; turning oneDNN off would change the numbers, so it
stays on). :func:`import_tensorflow` points descriptor 2 at ``/dev/null``
while TensorFlow and Keras load, then puts it back: warnings and errors after
start-up still show. Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

LOG_LEVEL_VARS = {"TF_CPP_MIN_LOG_LEVEL": "2", "GRPC_VERBOSITY": "ERROR"}
"""Environment defaults for TensorFlow's C++ logging (a user's own settings win)."""


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 (C/C++ writes included) to ``/dev/null`` for the duration.

    Python-level ``sys.stderr`` is flushed first, so nothing written before is
    lost; where descriptor 2 cannot be duplicated (closed, or no ``dup``),
    nothing changes.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_environment() -> None:
    """Set TensorFlow's logging variables (:data:`LOG_LEVEL_VARS`) unless already set."""
    for name, value in LOG_LEVEL_VARS.items():
        os.environ.setdefault(name, value)


def import_tensorflow() -> ModuleType:
    """Import TensorFlow and Keras with their start-up lines silenced; return ``tensorflow``.

    Once TensorFlow is imported, this only returns it. Use it before anything
    else imports TensorFlow (an engine, ``keras``, a model module).
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    quiet_environment()
    with silenced_stderr():
        importlib.import_module("keras")  # imports TensorFlow, its backend
        tf = importlib.import_module("tensorflow")
        # TensorFlow's CUDA build looks for a GPU on its first device query; without one it writes a
        # "failed call to cuInit" line: asked here, silenced, so no later query writes it.
        tf.config.list_physical_devices()
        return tf


def sees_gpu() -> bool:
    """Whether TensorFlow sees a GPU (TensorFlow imported quietly first)."""
    tf = import_tensorflow()
    with silenced_stderr():
        return bool(tf.config.list_physical_devices("GPU"))
