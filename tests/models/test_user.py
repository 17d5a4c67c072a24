"""A user's model: the reg object's layers, and bad input refused by ``run`` before storage is touched.

The bad-input table runs the real command line (CliRunner): each case is one
line ``actreg-search: error: ...``, exit code 2, and no database file.
"""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from click.testing import CliRunner

from actreg_search.cli import app
from actreg_search.errors import UserCodeError
from actreg_search.models.build import build_model
from actreg_search.spec.specs import ModelSpec
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

GOOD = """
import keras

def build(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="h1")(inputs)
    x = reg.Dense(4, name="h2")(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))

def raises(reg, input_shape, n_classes):
    raise RuntimeError("my own message")

def not_a_model(reg, input_shape, n_classes):
    return 42

def unmarked(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))

def lstm(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Reshape((2, 1))(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(reg.LSTM(3, name="seq")(x)))

def two_types(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="h1")(inputs)
    x = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(x))
    x = keras.layers.Flatten()(reg.Conv2D(kernel_size=1, name="c1")(x))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))

def three_outputs(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(reg.Dense(name="h1")(inputs)))

def sequential(reg, input_shape, n_classes):
    return keras.Sequential([keras.Input(input_shape), reg.Dense(name="h1"), keras.layers.Dense(1, activation="sigmoid")])

def dropped(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = reg.Dropout(name="drop")(reg.Dense(name="h1")(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))

class Scale(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0

def own_layer(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(Scale(name="scale")(reg.Dense(name="h1")(inputs))))
"""


def _config(placement: Placement | None, **extra: object) -> TrialConfig:
    regularizer = Regularizer.NONE if placement is None else Regularizer.L1
    return TrialConfig(regularizer, placement, 1e-3 if placement else 0.0, 0.0, hidden_units=5, **extra)


def _lambda_model(path: Path) -> None:
    inputs = keras.Input((2,))
    x = keras.layers.Dense(3, name="h1")(inputs)
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)).save(path)


def _plain_model(path: Path) -> None:
    inputs = keras.Input((2,))
    x = keras.layers.Dense(3, name="h1")(inputs)
    x = keras.layers.Flatten(name="flat")(x)
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="out")(x)).save(path)


# (model table, space table, files to make, what the one line says)
CASES = {
    "missing builder file": ('builder = "nope.py:build"', "", None, "[model] builder: no such file"),
    "missing function": ('builder = "b.py:nothing"', "", None, "has no function 'nothing'"),
    "builder raises": ('builder = "b.py:raises"', "", None, "b.py:raises raised RuntimeError: my own message"),
    "not a model": ('builder = "b.py:not_a_model"', "", None, "returned a int, not a keras.Model"),
    "no marked layer": ('builder = "b.py:unmarked"', "", None, "marks no layer"),
    "placement for the layer type": (
        'builder = "b.py:lstm"',
        'placement = ["output", "pre_activation"]',
        None,
        "'pre_activation' does not apply to the LSTM layer 'seq'",
    ),
    "sizes of two types": ('builder = "b.py:two_types"', "", None, "a study searches one size"),
    "unknown space layer": ('builder = "b.py:build"', 'layers = ["h1", "h9"]', None, "'h9' is not a marked layer"),
    "size searched by no layer": ('builder = "b.py:lstm"\nunits = 3', 'placement = "output"\nunits = [2, 3]', None, "no marked layer"),
    "output that does not fit": ('builder = "b.py:three_outputs"', "", None, "2 classes need 1 sigmoid unit"),
    "missing keras file": ('file = "none.keras"\nregularize = ["h1"]', "", None, "[model] file: no such file"),
    "unknown regularize layer": (
        'file = "m.keras"\nregularize = ["h1", "h7"]',
        "",
        _plain_model,
        "no layer 'h7' in",
    ),
    "regularize a flatten": ('file = "m.keras"\nregularize = ["flat"]', "", _plain_model, "is a Flatten"),
    "safe_mode refuses": ('file = "m.keras"\nregularize = ["h1"]', "", _lambda_model, "safe_mode=True refuses"),
    "reg.Dropout with no dropout": (
        'builder = "b.py:dropped"',
        "",
        None,
        "b.py:dropped: reg.Dropout needs the trial's rate: set [model] dropout or search [space] dropout",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_user_models_are_one_line_exit_2_and_nothing_written(tmp_path: Path, case: str):
    model, space, make, expected = CASES[case]
    (tmp_path / "b.py").write_text(GOOD)
    if make is not None:
        make(tmp_path / "m.keras")
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "bad"\nn_trials = 1\nseeds = 1\n[model]\n{model}\nepochs = 1\n'
        f'[space]\nregularizer = ["none", "l1"]\n{space}\n'
    )
    database = tmp_path / "out.db"
    result = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{database}"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("actreg-search: error: "), result.output
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert not database.exists()


def test_a_builder_that_gives_a_reg_layer_to_keras_sequential_is_told_to_use_the_functional_api(tmp_path: Path):
    (tmp_path / "b.py").write_text(GOOD)
    spec = ModelSpec(builder=f"{tmp_path}/b.py:sequential")
    with pytest.raises(UserCodeError) as error:
        build_model(_config(Placement.KERNEL), (2,), 2, spec)
    message = str(error.value)
    assert "b.py:sequential" in message and "reg.Dense layer 'h1'" in message
    assert "functional API" in message and "Only instances" not in message
    with pytest.raises(UserCodeError, match="raised RuntimeError: my own message"):  # other errors are the builder's own
        build_model(_config(Placement.KERNEL), (2,), 2, ModelSpec(builder=f"{tmp_path}/b.py:raises"))


def test_reg_dropout_takes_the_trial_rate_and_is_kept_in_the_marks(tmp_path: Path):
    from actreg_search.models.marks import marks_of

    (tmp_path / "b.py").write_text(GOOD)
    model = build_model(_config(Placement.KERNEL, dropout=0.3), (2,), 2, ModelSpec(builder=f"{tmp_path}/b.py:dropped"))
    assert model.get_layer("drop").rate == 0.3
    assert marks_of(model).dropouts == ("drop",)
