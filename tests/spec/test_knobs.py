"""The training knobs in [model] and [space]: learning_rate, dropout, batch_size, activation (no TensorFlow)."""

from __future__ import annotations

import optuna
import pytest

from actreg_search.errors import SpecError
from actreg_search.search.space import grid_size, suggest_config
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import ON_TEST, Choice, Range, spec_to_raw
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Regularizer

HEAD = '[study]\nname = "k"\n'


def _spec(model: str = "", space: str = "", sampler: str = "random"):
    return parse_spec(f'{HEAD}sampler = "{sampler}"\n[model]\n{model}\n[space]\n{space}\n', source="/s/study.toml")


def test_knobs_parse_in_their_three_forms_and_store_round_trip():
    spec = _spec(
        "dropout = 0.1",
        'learning_rate = { low = 1e-4, high = 1e-1, log = true }\ndropout = [0.0, 0.2, 0.5]\n'
        'batch_size = 16\nactivation = ["relu", "tanh"]',
    )
    assert spec.model.dropout == 0.1
    assert spec.space.learning_rate == Range(1e-4, 1e-1, log=True, integer=False)
    assert spec.space.dropout == Choice((0.0, 0.2, 0.5))
    assert spec.space.batch_size == Choice((16,))
    assert spec.space.activation == Choice(("relu", "tanh"))
    assert parse_raw(spec_to_raw(spec)) == spec.resolved(ON_TEST)


def test_unsearched_knobs_take_the_model_values_and_ask_no_parameter():
    spec = _spec("learning_rate = 0.01\nbatch_size = 8\nactivation = \"tanh\"")
    trial = optuna.create_study().ask()
    config = suggest_config(trial, spec)
    assert (config.learning_rate, config.batch_size, config.activation, config.dropout) == (0.01, 8, "tanh", None)
    assert not {"learning_rate", "batch_size", "activation", "dropout"} & set(trial.params)


def test_searched_knobs_are_parameters_with_their_own_names():
    spec = _spec(
        "",
        'learning_rate = { low = 1e-4, high = 1e-1, log = true }\ndropout = { low = 0.0, high = 0.5 }\n'
        'batch_size = [16, 32]\nactivation = ["relu", "elu"]',
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        config = suggest_config(trial, spec)
        assert config.learning_rate == trial.params["learning_rate"] and 1e-4 <= config.learning_rate <= 1e-1
        assert config.dropout == trial.params["dropout"] and 0 <= config.dropout <= 0.5
        assert config.batch_size == trial.params["batch_size"] and config.activation == trial.params["activation"]
        seen.add((config.batch_size, config.activation))
        study.tell(trial, 0.5)
    assert len(seen) > 1


def test_grid_size_multiplies_the_knobs():
    spec = _spec("", 'regularizer = ["none", "l1"]\nplacement = "kernel"\ncoefficient = [1e-4, 1e-3]\n'
                 'learning_rate = [1e-3, 1e-2]\ndropout = [0.0, 0.5]\nbatch_size = [8, 16, 32]', sampler="grid")
    assert grid_size(spec) == (1 + 2) * 2 * 2 * 3


def test_a_config_carries_its_knobs_through_dict_and_space_values():
    config = TrialConfig(regularizer=Regularizer.NONE, placement=None,
                         l1=0.0, l2=0.0, hidden_units=8, learning_rate=0.01, batch_size=8, activation="tanh", dropout=0.25)
    assert TrialConfig.from_dict(config.to_dict()) == config
    values = config.space_values()
    assert (values["learning_rate"], values["batch_size"], values["activation"], values["dropout"]) == (0.01, 8, "tanh", 0.25)
    # pasted back as [space], the values are a valid space that fixes this config
    spec = _spec("", "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in values.items()))
    again = suggest_config(optuna.create_study().ask(), spec)
    assert (again.learning_rate, again.batch_size, again.activation, again.dropout) == (0.01, 8, "tanh", 0.25)


@pytest.mark.parametrize(
    ("model", "space", "message"),
    [
        ("learning_rate = 0", "", "[model] learning_rate: must be > 0, got 0"),
        ("", "learning_rate = [0.01, -1e-3]", "[space] learning_rate: must be > 0, got -0.001"),
        ("", "learning_rate = { low = 0.0, high = 0.1 }", "[space] learning_rate.low: must be > 0, got 0.0"),
        ("dropout = 1.0", "", "[model] dropout: must be in [0, 1), got 1.0"),
        ("", "dropout = [0.2, -0.1]", "[space] dropout: must be in [0, 1), got -0.1"),
        ("", "dropout = { low = 0.0, high = 1.0 }", "[space] dropout.high: must be in [0, 1), got 1.0"),
        ("", "dropout = { low = 0.0, high = 0.5, log = true }", "[space] dropout.low: a log range must start above 0"),
        ("batch_size = 0", "", "[model] batch_size: must be ≥ 1, got 0"),
        ("", "batch_size = [32, 0]", "[space] batch_size: must be ≥ 1, got 0"),
        ("", 'activation = ["relu", "mish"]', "[space] activation: unknown value 'mish' (str); allowed: relu, elu"),
        ('file = "m.keras"\nregularize = ["h"]\ndropout = 0.2', "", "[model] dropout: does not apply to a model from a .keras file"),
        ('file = "m.keras"\nregularize = ["h"]', "dropout = [0.1]", "[space] dropout: does not apply to a model from a .keras file"),
    ],
)
def test_bad_knobs_are_one_line_errors(model, space, message):
    with pytest.raises(SpecError) as err:
        _spec(model, space)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_early_stopping_parses_and_round_trips():
    spec = parse_spec(f"{HEAD}[model]\nearly_stopping = {{ patience = 5, min_delta = 0.001 }}\n[data]\nvalidation = 0.25\n", source="s.toml")
    assert (spec.model.early_stopping.patience, spec.model.early_stopping.min_delta) == (5, 0.001)
    assert parse_raw(spec_to_raw(spec)) == spec
    assert _spec("early_stopping = { patience = 2 }").model.early_stopping.min_delta == 0.0


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        ("early_stopping = { patience = 0 }", "", "[model] early_stopping.patience: must be ≥ 1, got 0"),
        ("early_stopping = { min_delta = 0.1 }", "", "[model] early_stopping: needs 'patience'"),
        ("early_stopping = { patience = 3, min_delta = -1 }", "", "[model] early_stopping.min_delta: must be ≥ 0"),
        ("early_stopping = { patience = 3, wait = 1 }", "", "[model] early_stopping.wait: unknown key"),
        ("early_stopping = 3", "", "[model] early_stopping: must be a table"),
        ("early_stopping = { patience = 3 }", '[data]\nvalidation = "test"', "stopping on the test set leaks it"),
    ],
)
def test_bad_early_stopping_is_one_line(model, data, message):
    with pytest.raises(SpecError) as err:
        parse_spec(f'{HEAD}[model]\n{model}\n{data}\n', source="s.toml")
    assert message in str(err.value) and "\n" not in str(err.value)
