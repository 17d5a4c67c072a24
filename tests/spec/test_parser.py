from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.parser import load_spec, parse_raw, parse_spec
from actreg_search.spec.specs import Choice, Range, spec_to_raw
from actreg_search.spec.vocab import Placement, Regularizer, SamplerName
from actreg_search.errors import SpecError

STUDIES = Path(__file__).resolve().parents[2] / "studies"

VALID = """
[study]
name = "x"
"""


def test_shipped_studies_parse():
    tutorial = load_spec(STUDIES / "circles_tutorial.toml")
    assert tutorial.study.n_trials == 60
    assert tutorial.study.seeds == (0, 1, 2, 3, 4)
    assert tutorial.space.coefficient == Range(1e-6, 1e-2, log=True, integer=False)
    assert tutorial.space.hidden_units == Range(32, 1024, log=True, integer=True)
    grid = load_spec(STUDIES / "tutorial_grid.toml")
    assert grid.study.sampler is SamplerName.GRID
    assert grid.space.regularizer == Choice((Regularizer.NONE, Regularizer.L1))
    assert grid.space.hidden_units == Choice((500,))



@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_study_parses(path):
    assert load_spec(path).study.name


@pytest.mark.parametrize("path", sorted(STUDIES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_study_says_its_validation_protocol(path):
    """A shipped study chooses its protocol; the tutorial's reproductions keep selecting on the test set."""
    spec = load_spec(path)
    assert spec.data.validation is not None
    assert spec.data.validation.on_test == path.name.startswith("tutorial_")


def test_summed_case_study_differs_only_in_the_coefficient():
    """The tutorial's L1 1e-4 summed over its one 30-sample batch, in Keras 3.15's per-sample terms."""
    case = load_spec(STUDIES / "tutorial_case_study.toml")
    summed = load_spec(STUDIES / "tutorial_case_study_summed.toml")
    assert case.space.coefficient == Choice((1e-4,))
    assert summed.space.coefficient == Choice((pytest.approx(1e-4 * case.data.train_size),))
    assert case.data.train_size <= case.model.batch_size  # one batch per epoch
    assert dataclasses.replace(summed, study=case.study, space=case.space, source=case.source) == case


def test_defaults_follow_the_tutorial():
    spec = parse_spec(VALID)
    assert (spec.data.n_samples, spec.data.noise, spec.data.train_size) == (100, 0.1, 30)
    assert (spec.model.hidden_units, spec.model.epochs, spec.model.batch_size) == (500, 4000, 32)


def test_seed_list_and_fixed_values():
    spec = parse_spec(VALID.replace('"x"', '"x"\nseeds = [3, 1, 4]') + '[space]\nregularizer = "l1"\ncoefficient = 1e-4\n')
    assert spec.study.seeds == (3, 1, 4)
    assert spec.space.regularizer.fixed and spec.space.coefficient == Choice((1e-4,))


def test_overrides():
    spec = parse_spec(VALID).with_overrides(n_trials=7, epochs=30, seeds=3)
    assert (spec.study.n_trials, spec.model.epochs, spec.study.seeds) == (7, 30, (0, 1, 2))
    with pytest.raises(SpecError, match="--epochs"):
        parse_spec(VALID).with_overrides(epochs=0)


def test_batch_is_optional_and_overridden():
    assert parse_spec(VALID).study.batch is None  # the engine's default_batch
    spec = parse_spec(VALID.replace('"x"', '"x"\nbatch = 8'))
    assert spec.study.batch == 8 and spec_to_raw(spec)["study"]["batch"] == 8
    assert "batch" not in spec_to_raw(parse_spec(VALID))["study"]
    assert spec.with_overrides(batch=2).study.batch == 2 and spec.with_overrides().study.batch == 8
    with pytest.raises(SpecError, match="--batch: must be ≥ 1, got 0"):
        spec.with_overrides(batch=0)


def test_round_trip_through_raw():
    spec = load_spec(STUDIES / "circles_tutorial.toml")
    back = parse_raw(spec_to_raw(spec))
    assert dataclasses.replace(back, source=spec.source) == dataclasses.replace(spec, study=dataclasses.replace(spec.study, storage=None))


def test_trial_config_round_trip():
    config = TrialConfig(Regularizer.L1_L2, Placement.KERNEL, 1e-4, 2e-4, 64)
    assert TrialConfig.from_dict(config.to_dict()) == config
    assert config.space_values() == {
        "regularizer": "l1_l2", "placement": "kernel", "l1_coefficient": 1e-4, "l2_coefficient": 2e-4, "hidden_units": 64,
        "learning_rate": 0.001, "batch_size": 32, "activation": "relu",
    }


def test_exported_space_values_parse_back_as_fixed_values():
    config = TrialConfig(Regularizer.L1_L2, Placement.KERNEL, 1e-4, 2e-4, 64)
    lines = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in config.space_values().items())
    spec = parse_spec(VALID + "[space]\n" + lines)
    assert spec.space.l1_l2_params() == (Choice((1e-4,)), Choice((2e-4,)))


BAD = [
    # (toml, fragment the message must contain)
    ("not toml [", "not valid TOML"),
    ("[data]\nname='circles'", "[study]: missing table"),
    ('[study]\nname = "x"\n[extra]\n', "[extra]: unknown table"),
    ('[study]\nname = "x"\nsampler = "tpe"\nbogus = 1', "[study] bogus: unknown key; allowed: name, sampler"),
    ('[study]\nname = ""', "[study] name: must be a non-empty string"),
    ('[study]\nname = 3', "[study] name: must be a non-empty string"),
    ('[study]\nname = "x"\nsampler = "bayes"', "unknown value 'bayes'; allowed: tpe, random, grid, cmaes"),
    ('[study]\nname = "x"\nn_trials = 0', "[study] n_trials: must be ≥ 1"),
    ('[study]\nname = "x"\nn_trials = "5"', "[study] n_trials: must be an integer"),
    ('[study]\nname = "x"\nn_trials = 2.5', "[study] n_trials: must be an integer"),
    ('[study]\nname = "x"\nbatch = 0', "[study] batch: must be ≥ 1, got 0"),
    ('[study]\nname = "x"\nbatch = "4"', "[study] batch: must be an integer, got '4' (str)"),
    ('[study]\nname = "x"\nbatch = true', "[study] batch: must be an integer, got True (bool)"),
    ('[study]\nname = "x"\nseeds = []', "[study] seeds: must not be an empty list"),
    ('[study]\nname = "x"\nseeds = [1, 1]', "seeds must be distinct"),
    ('[study]\nname = "x"\nseeds = [-1]', "seeds must be integers ≥ 0"),
    ('[study]\nname = "x"\nseeds = 0', "[study] seeds: must be ≥ 1"),
    ('[study]\nname = "x"\nseeds = true', "[study] seeds: must be a count or a list"),
    ('[study]\nname = "x"\npruner = "asha"', "[study] pruner: unknown value 'asha'; allowed: none, median, hyperband"),
    ('[study]\nname = "x"\n[data]\nname = "mnist"', "[data] name: unknown value 'mnist'; allowed: circles, moons"),
    ('[study]\nname = "x"\n[data]\nnoise = nan', "[data] noise: must be finite"),
    ('[study]\nname = "x"\n[data]\nnoise = -0.1', "[data] noise: must be ≥ 0"),
    ('[study]\nname = "x"\n[data]\ntrain_size = 99', "[data] train_size: must leave at least 2 test samples"),
    ('[study]\nname = "x"\n[model]\nfamily = "transformer"', "[model] family: unknown value 'transformer'; allowed: mlp"),
    ('[study]\nname = "x"\n[model]\nactivation = "relu6"', "[model] activation: unknown value"),
    ('[study]\nname = "x"\n[model]\nepochs = -5', "[model] epochs: must be ≥ 1"),
    ('[study]\nname = "x"\n[model]\nlearning_rate = inf', "[model] learning_rate: must be finite"),
    ('[study]\nname = "x"\n[model]\nlearning_rate = 0', "[model] learning_rate: must be > 0"),
    ('[study]\nname = "x"\n[model]\noptimizer = "lbfgs"', "allowed: adam, sgd, rmsprop"),
    ('[study]\nname = "x"\n[model]\nengine = "jax"', "[model] engine: unknown value 'jax'; allowed: keras, fused"),
    ('[study]\nname = "x"\n[space]\nregularizer = ["l3"]', "[space] regularizer: unknown value 'l3'; allowed: none, l1, l2, l1_l2"),
    ('[study]\nname = "x"\n[space]\nregularizer = []', "[space] regularizer: must not be an empty list"),
    ('[study]\nname = "x"\n[space]\nplacement = ["kernal"]', "allowed: pre_activation, post_activation, kernel"),
    ('[study]\nname = "x"\n[space]\nplacement = 3', "[space] placement: must be a string"),
    ('[study]\nname = "x"\n[space]\ncoefficient = 0', "[space] coefficient: must be > 0"),
    ('[study]\nname = "x"\n[space]\ncoefficient = -1e-4', "[space] coefficient: must be > 0"),
    ('[study]\nname = "x"\n[space]\ncoefficient = []', "[space] coefficient: must not be an empty list"),
    ('[study]\nname = "x"\n[space]\ncoefficient = "1e-4"', "[space] coefficient: must be a number"),
    ('[study]\nname = "x"\n[space]\ncoefficient = {low = 1e-2, high = 1e-6}', "low must be ≤ high"),
    ('[study]\nname = "x"\n[space]\ncoefficient = {low = 0.0, high = 1e-2}', "coefficient.low: must be > 0"),
    ('[study]\nname = "x"\n[space]\ncoefficient = {low = 1e-6}', "a range needs 'high'"),
    ('[study]\nname = "x"\n[space]\ncoefficient = {low = 1e-6, high = 1e-2, step = 2}', "coefficient.step: unknown key"),
    ('[study]\nname = "x"\n[space]\ncoefficient = {low = 1e-6, high = 1e-2, log = "yes"}', "coefficient.log: must be true or false"),
    ('[study]\nname = "x"\n[space]\nhidden_units = {low = 0, high = 8}', "hidden_units.low: must be ≥ 1"),
    ('[study]\nname = "x"\n[space]\nhidden_units = [8, 8.5]', "[space] hidden_units: must be an integer"),
    ('[study]\nname = "x"\n[space]\nwidth = 8', "[space] width: unknown key"),
    ('[study]\nname = "x"\nsampler = "grid"\n[space]\ncoefficient = {low = 1e-6, high = 1e-2}', "grid sampler needs a list of values"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_input_is_one_line_naming_file_and_key(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(text, source="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    assert fragment in message
    assert "\n" not in message


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(SpecError, match="no such study file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="cannot read study file"):
        load_spec(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot read study file"):
        load_spec(binary)


FAMILY_BAD = [
    ('[model]\nfamily = "rnn"\n[space]\nplacement = ["pre_activation"]', "'pre_activation' does not apply to family 'rnn'; allowed: output, kernel, recurrent"),
    ('[model]\nfamily = "cnn"\n[space]\nplacement = "recurrent"', "allowed: pre_activation, post_activation, kernel"),
    ('[model]\nfamily = "cnn"\nhidden_units = 8', "[model] hidden_units: does not apply to family 'cnn'; use filters"),
    ('[model]\nfamily = "rnn"\n[space]\nfilters = [4, 8]', "[space] filters: does not apply to family 'rnn'; use units"),
    ('[model]\nfamily = "cnn"\n[data]\nname = "csv"\npath = "x.csv"\ntarget = "y"', "csv data is tabular: family must be mlp"),
    ('[data]\nname = "digits"\nnoise = 0.2', "[data] noise: does not apply to dataset 'digits'"),
    ('[data]\nname = "circles"\npath = "x.csv"', "[data] path: does not apply to dataset 'circles'"),
    ('[data]\nname = "csv"\ntarget = "y"', "[data] path: must be a non-empty string"),
    ('[data]\nname = "csv"\npath = "x.csv"\ntarget = "y"\nfeatures = []', "[data] features: must be a non-empty list"),
    ('[data]\nname = "csv"\npath = "x.csv"\ntarget = "y"\nfeatures = ["y"]', "must not include the target column"),
    ('[data]\nname = "digits"\ntrain_size = 1.5', "a fraction must be in (0, 1)"),
]


@pytest.mark.parametrize(("text", "fragment"), FAMILY_BAD, ids=[b[1][:40] for b in FAMILY_BAD])
def test_family_and_dataset_errors(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec(VALID + text, source="bad.toml")
    assert fragment in str(info.value)


def test_family_defaults_and_size_keys():
    from actreg_search.spec.vocab import Family

    rnn = parse_spec(VALID + '[model]\nfamily = "rnn"\nunits = 12\n[space]\nunits = [8, 16]\n')
    assert rnn.space.placement.values == Family.RNN.placements
    assert rnn.model.hidden_units == 12 and rnn.space.hidden_units == Choice((8, 16))
    assert spec_to_raw(rnn)["space"]["units"] == [8, 16] and "hidden_units" not in spec_to_raw(rnn)["space"]
    config = TrialConfig(Regularizer.L1, Placement.OUTPUT, 1e-4, 0.0, 12, family=Family.RNN)
    assert config.space_values()["units"] == 12


def test_csv_path_is_relative_to_the_study_file(tmp_path):
    (tmp_path / "sub").mkdir()
    study = tmp_path / "sub" / "s.toml"
    study.write_text(VALID + '[data]\nname = "csv"\npath = "data/t.csv"\ntarget = "y"\n')
    assert load_spec(study).data.path == str(tmp_path / "sub" / "data" / "t.csv")


def test_labels_name_the_size_by_family():
    from actreg_search.spec.vocab import Family

    assert TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500).label() == "l1 · pre_activation 1.0e-04, 500 units"
    assert TrialConfig(Regularizer.NONE, None, 0.0, 0.0, 16, family=Family.CNN).label() == "none, 16 filters"


# -- [study] task

from actreg_search.spec.vocab import Metric, Task


def test_a_task_defaults_its_objective_to_its_headline_and_round_trips_through_storage():
    spec = parse_spec('[study]\nname = "r"\ntask = "regression"\n[data]\nname = "diabetes"\n')
    assert spec.study.task is Task.REGRESSION and spec.study.objectives == (Metric.RMSE,)
    assert spec.selection_fields() == ("validation_rmse",)
    assert parse_raw(spec_to_raw(spec)).study == spec.study
    spec = parse_spec('[study]\nname = "r"\ntask = "regression"\nobjectives = ["r2", "sparsity"]\nsampler = "nsga2"\n[data]\nname = "friedman1"\n')
    assert spec.study.objectives == (Metric.R2, Metric.SPARSITY) and spec.data.n_samples == 200
    ae = parse_spec('[study]\nname = "a"\ntask = "autoencoder"\n[data]\nname = "digits"\n')
    assert ae.study.objectives == (Metric.MSE,) and parse_spec('[study]\nname = "c"\n').study.task is Task.CLASSIFICATION


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('task = "regression"\n[data]\nname = "circles"', "[study] task: 'regression' does not fit dataset 'circles', whose task is \"classification\""),
        ('[data]\nname = "diabetes"', "[study] task: 'classification' does not fit dataset 'diabetes', whose task is \"regression\""),
        ('task = "regression"\nobjectives = ["accuracy"]\n[data]\nname = "diabetes"', "'accuracy' is not a figure of a regression task (its figures: sparsity, rmse, mae, r2)"),
        ('objectives = ["rmse"]', "'rmse' is not a figure of a classification task"),
        ('objectives = ["r2"]', 'for \'r2\' set [study] task = "regression"'),
        ('task = "autoencoder"\n[data]\nname = "digits"\n[model]\nfamily = "cnn"', "the built-in autoencoder is an mlp, not 'cnn'"),
        ('task = "ranking"', "[study] task: unknown value 'ranking'; allowed: classification, regression, autoencoder"),
    ],
)
def test_a_task_its_data_or_objectives_cannot_serve_is_one_line(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_spec('[study]\nname = "t"\n' + text + "\n", source="s.toml")
    assert fragment in str(info.value) and "\n" not in str(info.value)


ATLAS = STUDIES / "atlas"


@pytest.mark.parametrize("path", sorted(ATLAS.glob("*.toml")), ids=lambda p: p.name)
def test_every_atlas_study_parses_with_ten_seeds_and_a_validation_protocol(path):
    spec = load_spec(path)
    assert len(spec.study.seeds) == 10 and spec.data.validation is not None and not spec.data.validation.on_test
