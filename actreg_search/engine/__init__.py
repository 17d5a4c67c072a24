"""Training engines, by name: a registry of lazy factories.

Importing this package imports no TensorFlow: an engine module (and with it
TensorFlow, quietly, see :mod:`actreg_search.engine.quiet`) is imported only when
its factory is called. A new engine is one :class:`Engine` subclass and one
entry in :data:`ENGINES`.
"""

from __future__ import annotations

from collections.abc import Callable

from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialDone, TrialResult
from actreg_search.engine.quiet import import_tensorflow
from actreg_search.spec.vocab import EngineName


def _keras() -> Engine:
    import_tensorflow()
    from actreg_search.engine.keras_engine import KerasEngine

    return KerasEngine()


def fused_engine(share: bool = True, merge: bool | None = None) -> Engine:
    """A :class:`~actreg_search.engine.fused.FusedEngine` (its arguments), TensorFlow imported quietly."""
    import_tensorflow()
    from actreg_search.engine.fused import FusedEngine

    return FusedEngine(share, merge)


ENGINES: dict[EngineName, Callable[[], Engine]] = {
    EngineName.KERAS: _keras,
    EngineName.FUSED: fused_engine,
}
"""Each engine name's factory; calling one imports the engine (and TensorFlow)."""


def get_engine(name: EngineName) -> Engine:
    """A new engine of the kind registered under ``name``.

    Raises:
        ValueError: No engine has that name.
    """
    try:
        factory = ENGINES[EngineName(name)]
    except (KeyError, ValueError):
        raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(e.value for e in ENGINES)}") from None
    return factory()


__all__ = ["ENGINES", "Engine", "fused_engine", "Monitor", "NonFiniteLoss", "SeedResult", "TrialDone", "TrialResult", "get_engine"]
