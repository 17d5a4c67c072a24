"""The engine registry (``actreg_search.engine``): engines by name, their settings, and pickling through the factories."""

from __future__ import annotations

import pickle

import pytest

from actreg_search.engine import ENGINES, get_engine, make_fused_engine
from actreg_search.engine.fused import FusedEngine
from actreg_search.engine.keras_engine import KerasEngine
from actreg_search.spec.vocab import EngineName


def test_every_engine_name_has_a_factory_and_an_unknown_name_is_refused() -> None:
    assert set(ENGINES) == set(EngineName)
    assert isinstance(get_engine("keras"), KerasEngine) and isinstance(get_engine(EngineName.FUSED), FusedEngine)
    with pytest.raises(ValueError, match="unknown engine 'jax'; allowed: keras, fused"):
        get_engine("jax")


def test_the_profile_path_reaches_the_fused_engine(tmp_path) -> None:
    engine = get_engine("fused", profile_path=str(tmp_path / "p.jsonl"))
    assert isinstance(engine, FusedEngine) and engine.profile_path == str(tmp_path / "p.jsonl")
    assert get_engine("fused").profile_path is None


def test_engines_pickle_through_the_registry_with_their_settings() -> None:
    """A worker gets its engine unpickled: through the factories, which import TensorFlow quietly."""
    fused = pickle.loads(pickle.dumps(make_fused_engine(merge=True, profile_path="p.jsonl")))
    assert isinstance(fused, FusedEngine) and (fused.merge, fused.profile_path) == (True, "p.jsonl")
    assert fused.cache.programs == {} and fused.builds == 0
    assert KerasEngine().__reduce__() == (get_engine, ("keras",))
    assert isinstance(pickle.loads(pickle.dumps(KerasEngine())), KerasEngine)
