"""A builder's own hyperparameters ([space.builder]): parsed, sampled as builder.<name>, passed as keyword
arguments, run end to end from the CLI and the API, exported as a .keras file that loads with safe_mode."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import optuna
import pytest
from click.testing import CliRunner

import actreg_search
from actreg_search.cli import app
from actreg_search.errors import SpecError
from actreg_search.search.space import suggest_config
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import ON_TEST, Choice, Range, spec_to_raw

BUILDER = """
import keras

def build(reg, input_shape, n_classes, *, blocks=1, kernel_size=3):
    inputs = keras.Input(input_shape)
    x = inputs
    for k in range(blocks):
        x = reg.Conv2D(kernel_size=kernel_size, padding="same", name=f"conv_{k + 1}")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))

def fixed(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(reg.Conv2D(name="c")(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))
"""


def _study(tmp_path: Path, builder: str = "build", space_builder: str = "blocks = [1, 2]\nkernel_size = [1, 3]") -> Path:
    (tmp_path / "b.py").write_text(BUILDER)
    study = tmp_path / "study.toml"
    study.write_text(
        f'[study]\nname = "blocks"\nsampler = "random"\nn_trials = 2\nseeds = 1\n'
        f'[data]\nname = "digits"\ntrain_size = 0.2\nvalidation = 0.25\n'
        f'[model]\nbuilder = "b.py:{builder}"\nfamily = "cnn"\nfilters = 2\nepochs = 2\nbatch_size = 64\nengine = "keras"\n'
        f'[space]\nregularizer = ["none", "l1"]\nplacement = "kernel"\n'
        f"[space.builder]\n{space_builder}\n"
    )
    return study


def test_space_builder_parses_stores_and_samples_as_builder_names(tmp_path):
    spec = parse_spec(_study(tmp_path, space_builder='blocks = { low = 1, high = 3 }\nkernel_size = [1, 3]\nnorm = "batch"').read_text(),
                      source=str(tmp_path / "study.toml"))
    assert spec.space.builder == (("blocks", Range(1, 3, log=False, integer=True)), ("kernel_size", Choice((1, 3))), ("norm", Choice(("batch",))))
    assert parse_raw(spec_to_raw(spec)) == spec.resolved(ON_TEST)
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    config = suggest_config(trial, spec)
    assert set(trial.params) >= {"builder.blocks", "builder.kernel_size"} and "builder.norm" not in trial.params
    assert config.builder_kwargs == {"blocks": trial.params["builder.blocks"], "kernel_size": trial.params["builder.kernel_size"], "norm": "batch"}
    assert config.space_values()["builder"] == config.builder_kwargs


def test_make_spec_takes_space_builder(tmp_path):
    (tmp_path / "b.py").write_text(BUILDER)
    spec = actreg_search.make_spec(
        "p", builder=f"{tmp_path}/b.py:build", model={"family": "cnn", "filters": 2},
        data={"name": "digits"}, space={"builder": {"blocks": [1, 2], "kernel_size": {"low": 1, "high": 3}}},
    )
    assert dict(spec.space.builder) == {"blocks": Choice((1, 2)), "kernel_size": Range(1, 3, log=False, integer=True)}


@pytest.mark.parametrize(
    ("builder", "space_builder", "message"),
    [
        ("build", "learning_rate = [1, 2]", "[space.builder] learning_rate: is a built-in name"),
        ("build", "n_classes = 3", "[space.builder] n_classes: is a built-in name"),
        ("build", "blocks = { low = 0.0, high = 1.0, log = true }", "[space.builder] blocks.low: a log range must start above 0"),
        ("fixed", "blocks = [1, 2]", "[space.builder] blocks: [model] builder "),
    ],
)
def test_bad_builder_hyperparameters_are_one_line_exit_2_and_nothing_written(tmp_path, builder, space_builder, message):
    study = _study(tmp_path, builder, space_builder)
    database = tmp_path / "out.db"
    result = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{database}"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and message in lines[0], result.output
    if builder == "fixed":
        assert "b.py:fixed takes no argument 'blocks'" in lines[0]
    assert not database.exists()


def test_space_builder_is_refused_without_a_builder():
    with pytest.raises(SpecError, match=r"\[space.builder\]: a builder's own hyperparameters; the built-in families take none"):
        parse_spec('[study]\nname = "x"\n[space.builder]\nblocks = 2\n', source="s.toml")


def test_a_builder_with_blocks_and_kernel_size_runs_from_the_cli_and_the_api_and_exports(tmp_path):
    study = _study(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ran = CliRunner().invoke(app, ["run", str(study), "--storage", url, "--recycle-mb", "0"])
    assert ran.exit_code == 0, ran.output
    done = [t for t in actreg_search.load("blocks", storage=url).trials if t.state.name == "COMPLETE"]
    assert len(done) == 2
    for trial in done:
        assert trial.config.builder_kwargs == {"blocks": trial.params["builder.blocks"], "kernel_size": trial.params["builder.kernel_size"]}
    # the API: the same study from Python, under another name
    spec = actreg_search.load_spec(study).with_overrides(name="blocks-api", n_trials=1)
    actreg_search.run(spec, url, progress=False)
    assert [t.state.name for t in actreg_search.load("blocks-api", storage=url).trials] == ["COMPLETE"]
    # export: the best config's space block carries the hyperparameters; the .keras file has that many blocks
    out, model = tmp_path / "best.json", tmp_path / "best.keras"
    exported = CliRunner().invoke(app, ["export", "blocks", "--storage", url, "--out", str(out), "--model", str(model)])
    assert exported.exit_code == 0, exported.output
    best = json.loads(out.read_text())[0]
    blocks = best["space"]["builder"]["blocks"]
    loaded = keras.saving.load_model(model, safe_mode=True)
    convs = [layer for layer in loaded.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == blocks
    assert all(layer.kernel_size == (best["space"]["builder"]["kernel_size"],) * 2 for layer in convs)
