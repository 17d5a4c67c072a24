"""Training engines, by name: a registry of lazy factories.

Importing this package imports no TensorFlow: an engine module (and with it
TensorFlow, quietly, see :mod:`actreg_search.engine.quiet`) is imported only when
its factory is called. A new engine is one :class:`Engine` subclass and one
entry in :data:`ENGINES`. Engines pickle through their factories (a worker
process gets its engine so), so unpickling one imports TensorFlow quietly too.
"""

from __future__ import annotations

from collections.abc import Callable

from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialDone, TrialResult
from actreg_search.engine.quiet import import_tensorflow
from actreg_search.spec.vocab import EngineName


def make_keras_engine(profile_path: str | None = None) -> Engine:
    """A :class:`~actreg_search.engine.keras_engine.KerasEngine`, TensorFlow imported quietly.

    Args:
        profile_path: Unused: the keras engine keeps no timing log.
    """
    import_tensorflow()
    from actreg_search.engine.keras_engine import KerasEngine

    return KerasEngine()


def make_fused_engine(merge: bool | None = None, profile_path: str | None = None) -> Engine:
    """A :class:`~actreg_search.engine.fused.FusedEngine` (its arguments), TensorFlow imported quietly."""
    import_tensorflow()
    from actreg_search.engine.fused import FusedEngine

    return FusedEngine(merge=merge, profile_path=profile_path)


ENGINES: dict[EngineName, Callable[..., Engine]] = {
    EngineName.KERAS: make_keras_engine,
    EngineName.FUSED: make_fused_engine,
}
"""Each engine name's factory, called with ``profile_path=``; calling one imports the engine (and TensorFlow)."""


def get_engine(name: EngineName | str, profile_path: str | None = None) -> Engine:
    """A new engine of the kind registered under ``name``.

    Args:
        name: ``"fused"`` or ``"keras"``.
        profile_path: A file the engine appends one JSON timing record to per
            program it trains (``Settings.profile_path``, ``ACTREG_PROFILE``;
            the fused engine's); ``None``: none is written.

    Raises:
        ValueError: No engine has that name.
    """
    try:
        factory = ENGINES[EngineName(name)]
    except (KeyError, ValueError):
        raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(e.value for e in ENGINES)}") from None
    return factory(profile_path=profile_path)


__all__ = [
    "ENGINES",
    "Engine",
    "Monitor",
    "NonFiniteLoss",
    "SeedResult",
    "TrialDone",
    "TrialResult",
    "make_fused_engine",
    "get_engine",
    "make_keras_engine",
]
