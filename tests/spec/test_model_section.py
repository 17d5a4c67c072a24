"""A user's model and the new [model]/[space] keys in study files: parsing, storing, sampling (no TensorFlow)."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest

from actreg_search.spec.trial import TrialConfig
from actreg_search.errors import SpecError, UserCodeError
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.search.space import grid_size, suggest_config
from actreg_search.spec.specs import ON_TEST, spec_to_raw
from actreg_search.usercode import call_user, load_function
from actreg_search.spec.vocab import Family

HEAD = '[study]\nname = "u"\n'


def _spec(model: str, space: str = "", source: str = "/somewhere/study.toml"):
    return parse_spec(f"{HEAD}[model]\n{model}\n[space]\n{space}\n", source=source)


def test_builder_path_is_resolved_against_the_study_file_and_stored_as_text():
    spec = _spec('builder = "models/two.py:build"')
    assert spec.model.builder == "/somewhere/models/two.py:build" and spec.model.user
    raw = spec_to_raw(spec)
    assert raw["model"]["builder"] == "/somewhere/models/two.py:build"
    # a stored spec reads back without importing or checking anything (without a protocol: as selected on the test set)
    assert parse_raw(raw) == spec.resolved(ON_TEST)


def test_file_model_stores_no_size_and_reads_back():
    spec = _spec('file = "enc.keras"\nregularize = ["h1", "h2"]', 'layers = ["h1", "all"]')
    assert spec.model.file == "/somewhere/enc.keras" and spec.model.regularize == ("h1", "h2")
    raw = spec_to_raw(spec)
    assert "hidden_units" not in raw["model"] and "hidden_units" not in raw["space"]
    assert parse_raw(raw) == spec.resolved(ON_TEST)


def test_family_of_a_builder_follows_the_size_key():
    assert _spec('builder = "b.py:build"', "filters = [4, 8]").model.family is Family.CNN
    assert _spec('builder = "b.py:build"\nunits = 8').model.family is Family.RNN
    assert _spec('builder = "b.py:build"').model.family is Family.MLP


def test_a_callable_builder_is_stored_as_its_name():
    spec = parse_raw({"study": {"name": "u"}, "model": {"builder": _builder}}, source="<memory>")
    assert spec.model.builder is _builder
    assert spec_to_raw(spec)["model"]["builder"] == f"{__name__}:_builder"


def _builder(reg, input_shape, n_classes):  # pragma: no cover - only named
    raise AssertionError


@pytest.mark.parametrize(
    ("model", "space", "message"),
    [
        ('builder = "b.py:build"\nfile = "m.keras"\nregularize = ["a"]', "", "give builder or file, not both"),
        ('builder = "b.py"', "", "must be 'file.py:function'"),
        ('file = "m.h5"\nregularize = ["a"]', "", "must be a .keras file"),
        ('file = "m.keras"', "", "needs the names of the layers"),
        ('regularize = ["a"]', "", "applies to a model from a .keras file"),
        ('file = "m.keras"\nregularize = ["all"]', "", "'all' is not a layer name"),
        ('file = "m.keras"\nregularize = ["a"]', 'layers = ["b"]', "'b' is not a regularized layer; allowed: a, all"),
        ('file = "m.keras"\nregularize = ["a"]', "hidden_units = [4, 8]", "the file fixes every size"),
        ('family = "mlp"', 'layers = ["h1"]', "[space] layers: applies to a builder's"),
        ('builder = "b.py:build"\nhidden_layers = 2', "", "applies to the built-in mlp only"),
        ('family = "cnn"', "hidden_layers = [1, 2]", "applies to the built-in mlp only"),
        ("hidden_layers = 0", "", "must be ≥ 1"),
    ],
)
def test_bad_model_keys_are_one_line(model, space, message):
    with pytest.raises(SpecError) as refused:
        _spec(model, space)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_builder_may_use_any_placement_until_it_is_built():
    spec = _spec('builder = "b.py:build"\nunits = 4', 'placement = ["output", "recurrent"]')
    assert [p.value for p in spec.space.placement.values] == ["output", "recurrent"]


def test_layers_and_hidden_layers_are_sampled():
    spec = _spec("hidden_units = 4", 'regularizer = "l1"\nhidden_layers = [1, 3]')
    config = suggest_config(optuna.trial.FixedTrial({"placement": "kernel", "coefficient": 1e-3, "hidden_layers": 3}), spec)
    assert config.hidden_layers == 3 and config.layers is None
    spec = _spec('builder = "b.py:build"', 'regularizer = ["none", "l1"]\nlayers = ["h1", "all"]')
    params = {"regularizer": "l1", "placement": "kernel", "coefficient": 1e-3}
    assert suggest_config(optuna.trial.FixedTrial({**params, "layers": "h1"}), spec).layers == ("h1",)
    assert suggest_config(optuna.trial.FixedTrial({**params, "layers": "all"}), spec).layers == ("all",)  # kept: "on all"
    unregularized = suggest_config(optuna.trial.FixedTrial({"regularizer": "none"}), spec)
    assert unregularized.layers is None  # no layer question for a trial without a penalty


def test_grid_size_counts_layers_and_depths():
    spec = parse_spec(
        f'{HEAD}sampler = "grid"\n[model]\nbuilder = "b.py:build"\n[space]\nregularizer = ["none", "l1"]\n'
        'placement = ["kernel", "pre_activation"]\ncoefficient = [1e-3]\nlayers = ["h1", "h2", "all"]\n',
        source="/x/s.toml",
    )
    assert grid_size(spec) == 1 + 2 * 3
    mlp = parse_spec(f'{HEAD}sampler = "grid"\n[space]\nregularizer = ["none"]\ncoefficient = [1e-3]\nhidden_layers = [1, 2, 3]\n')
    assert grid_size(mlp) == 3


def test_old_stored_configs_read_without_layers_or_depth():
    raw = {
        "regularizer": "none", "placement": None, "l1": 0.0, "l2": 0.0, "hidden_units": 4, "activation": "relu",
        "family": "mlp", "epochs": 5, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.001,
    }  # fmt: skip
    old = TrialConfig.from_dict(raw)
    assert old.layers is None and old.hidden_layers == 1
    new = TrialConfig.from_dict({**raw, "regularizer": "l1", "placement": "kernel", "layers": ["h1"], "hidden_layers": 2})
    assert new.layers == ("h1",) and new.hidden_layers == 2
    assert TrialConfig.from_dict(new.to_dict()) == new
    assert new.space_values()["layers"] == "h1" and new.space_values()["hidden_layers"] == 2


def test_load_function_names_what_is_missing(tmp_path: Path):
    with pytest.raises(SpecError, match="no such file"):
        load_function(f"{tmp_path}/none.py:build", "[model] builder")
    (tmp_path / "m.py").write_text("def build(reg, shape, n):\n    raise ValueError('no\\nway')\nvalue = 3\n")
    with pytest.raises(SpecError, match="has no function 'other'"):
        load_function(f"{tmp_path}/m.py:other", "[model] builder")
    with pytest.raises(SpecError, match="is a int, not a function"):
        load_function(f"{tmp_path}/m.py:value", "[model] builder")
    build = load_function(f"{tmp_path}/m.py:build", "[model] builder")
    with pytest.raises(UserCodeError) as raised:
        call_user(build, f"{tmp_path}/m.py:build", "[model] builder", None, (2,), 2)
    assert str(raised.value) == f"[model] builder {tmp_path}/m.py:build raised ValueError: no way"
    (tmp_path / "broken.py").write_text("import nonexistent_module_xyz\n")
    with pytest.raises(UserCodeError, match="importing .*broken.py raised ModuleNotFoundError"):
        load_function(f"{tmp_path}/broken.py:build", "[model] builder")
    assert load_function(f"{__name__}:_builder", "[model] builder") is sys.modules[__name__]._builder


def test_a_keras_file_trial_names_no_size():
    """A .keras file fixes every size: the label and the pasteable [space] values leave the unused width out."""
    from actreg_search.spec.trial import TrialConfig
    from actreg_search.spec.vocab import Placement, Regularizer

    config = TrialConfig(Regularizer.L2, Placement.KERNEL, l1=0.0, l2=1e-3, hidden_units=500, layers=("h2",), sized=False)
    assert config.label() == "l2 · kernel 1.0e-03, on h2"
    assert "hidden_units" not in config.space_values()
    assert TrialConfig(Regularizer.NONE, None, l1=0.0, l2=0.0, hidden_units=500, sized=False).label() == "none"
    assert TrialConfig.from_dict(config.to_dict()) == config
    from pathlib import Path

    import optuna

    from actreg_search.spec.parser import load_spec
    from actreg_search.search.space import suggest_config

    spec = load_spec(Path(__file__).resolve().parents[2] / "studies" / "keras_file.toml")
    trial = optuna.trial.FixedTrial({"regularizer": "l2", "placement": "kernel", "coefficient": 1e-3, "layers": "h2"})
    assert suggest_config(trial, spec).sized is False
