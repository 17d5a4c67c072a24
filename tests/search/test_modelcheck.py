"""The check of a study's model before anything is stored: a good builder passes, an engine's limits are noted."""

from __future__ import annotations

from pathlib import Path

import pytest

from actreg_search.data.datasets import load_dataset
from actreg_search.search.modelcheck import check_model
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.specs import ModelSpec
from tests.models.test_user import GOOD


def test_a_good_builder_passes_the_check(tmp_path: Path):
    (tmp_path / "b.py").write_text(GOOD)
    spec = parse_spec(
        '[study]\nname = "ok"\n[model]\nbuilder = "b.py:build"\n[space]\nlayers = ["h1", "all"]\nhidden_units = [3, 5]\n',
        source=str(tmp_path / "s.toml"),
    )
    path = check_model(spec, load_dataset(spec.data))
    assert path == f"{tmp_path}/b.py:build: the fused engine trains it vectorised over rows (seeds × trials), XLA-compiled"
    assert spec.model == ModelSpec(builder=f"{tmp_path}/b.py:build")


@pytest.mark.parametrize(("engine", "note"), [("fused", "the fused engine cannot train"), ("keras", "the keras engine trains it")])
def test_the_check_notes_a_model_the_studys_engine_cannot_train(tmp_path: Path, engine: str, note: str | None):
    (tmp_path / "b.py").write_text(GOOD)
    spec = parse_spec(
        f'[study]\nname = "own"\n[model]\nbuilder = "b.py:own_layer"\nengine = "{engine}"\n[space]\nhidden_units = [3, 5]\n',
        source=str(tmp_path / "s.toml"),
    )
    found = check_model(spec, load_dataset(spec.data))
    if engine == "keras":
        assert found is not None and found.endswith(note)
    else:
        assert found is not None and found.startswith(note) and "layer 'scale' is a Scale" in found
        assert found.endswith("its trials train on the keras engine")


NOISY = """
import keras

def build(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.GaussianNoise(0.1, name="noise")(inputs)
    x = reg.Dense(name="h1")(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
"""


def test_the_check_names_the_layer_that_keeps_a_model_off_the_rows(tmp_path: Path):
    (tmp_path / "b.py").write_text(NOISY)
    spec = parse_spec(
        '[study]\nname = "noisy"\n[model]\nbuilder = "b.py:build"\n[space]\nhidden_units = [3, 5]\n',
        source=str(tmp_path / "s.toml"),
    )
    found = check_model(spec, load_dataset(spec.data))
    assert found is not None and found.endswith(
        "the fused engine trains it one row at a time, not vectorised: layer 'noise': a GaussianNoise has no row form"
    )


RECURRENT = """
import keras

def build(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = reg.LSTM(name="lstm")(keras.layers.Reshape((8, 8))(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
"""


def test_kl_sparsity_on_a_builders_lstm_is_refused_and_decov_takes_its_output(tmp_path: Path):
    from actreg_search.errors import SpecError

    (tmp_path / "b.py").write_text(RECURRENT)

    def spec(regularizers: str):
        return parse_spec(
            f'[study]\nname = "r"\n[data]\nname = "digits"\n[model]\nbuilder = "b.py:build"\n'
            f"[space]\nregularizer = {regularizers}\nunits = [3]\n",
            source=str(tmp_path / "s.toml"),
        )

    kl = spec('["none", "kl_sparsity"]')
    with pytest.raises(SpecError, match=r"^\[model\] builder .*b.py:build: kl_sparsity does not apply to an LSTM layer"):
        check_model(kl, load_dataset(kl.data))
    decov = spec('["none", "decov"]')  # the default placements (pre_activation, ...) are not asked of decov
    assert check_model(decov, load_dataset(decov.data)) is not None
