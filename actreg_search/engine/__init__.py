"""Training engines, by name."""

from __future__ import annotations

from actreg_search.vocab import EngineName
from actreg_search.engine.base import Engine, Monitor, NonFiniteLoss, SeedResult, TrialResult


def get_engine(name: EngineName) -> Engine:
    """The engine registered under ``name``.

    Engines import TensorFlow, so they are imported here, on first use.
    """
    if name is EngineName.KERAS:
        from actreg_search.engine.keras_engine import KerasEngine

        return KerasEngine()
    if name is EngineName.FUSED:
        from actreg_search.engine.fused import FusedEngine

        return FusedEngine()
    raise ValueError(f"unknown engine {name!r}")


__all__ = ["Engine", "Monitor", "NonFiniteLoss", "SeedResult", "TrialResult", "get_engine"]
