"""Sampling a penalty per marked layer (``[space] per_layer``): conditional parameters named by layer, and the marked
layers of a user's model known from one build."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from actreg_search.errors import SpecError
from actreg_search.spec.parser import parse_spec
from actreg_search.spec.trial import LayerPenalty, TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer
from actreg_search.search.space import suggest_config

SPEC = parse_spec(
    """
[study]
name = "per-layer"
sampler = "random"
[model]
hidden_layers = 2
[space]
per_layer = true
regularizer = ["none", "l1", "l1_l2", "kl_sparsity", "decov"]
placement = ["pre_activation", "kernel"]
coefficient = { low = 1e-6, high = 1e-2, log = true }
hidden_units = [8, 64]
"""
)
PENALTY_PARAMS = ("regularizer", "placement", "coefficient", "l1_coefficient", "l2_coefficient", "rho")


def test_each_layer_draws_its_own_penalty_under_its_own_names():
    params = {
        "hidden.regularizer": "l1", "hidden.placement": "kernel", "hidden.coefficient": 1e-4,
        "hidden_2.regularizer": "kl_sparsity", "hidden_2.coefficient": 1e-2, "hidden_2.rho": 0.05, "hidden_units": 8,
    }
    config = suggest_config(optuna.trial.FixedTrial(params), SPEC)
    assert config.per_layer == (
        ("hidden", LayerPenalty(Regularizer.L1, Placement.KERNEL, l1=1e-4)),
        ("hidden_2", LayerPenalty(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, coefficient=1e-2, rho=0.05)),
    )
    assert (config.regularizer, config.placement, config.l1, config.layers) == (Regularizer.L1, Placement.KERNEL, 1e-4, None)
    assert (config.hidden_units, config.hidden_layers) == (8, 2)
    assert config.label() == "hidden: l1 · kernel 1.0e-04; hidden_2: kl_sparsity · post_activation 1.0e-02, rho 0.05, 8 units × 2 layers"


def test_a_layer_that_draws_none_asks_for_nothing_more_and_the_top_holds_the_next():
    params = {"hidden.regularizer": "none", "hidden_2.regularizer": "l1_l2", "hidden_2.placement": "pre_activation",
              "hidden_2.l1_coefficient": 1e-5, "hidden_2.l2_coefficient": 1e-3, "hidden_units": 64}
    config = suggest_config(optuna.trial.FixedTrial(params), SPEC)
    assert config.penalties[0] == LayerPenalty() and (config.regularizer, config.l1, config.l2) == (Regularizer.L1_L2, 1e-5, 1e-3)
    assert [config.penalizes(name) for name in ("hidden", "hidden_2")] == [False, True]


def test_sampled_per_layer_params_are_conditional():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    kinds = set()
    for _ in range(60):
        trial = study.ask()
        config = suggest_config(trial, SPEC)
        study.tell(trial, 0.5)
        assert [name for name, _ in config.per_layer] == ["hidden", "hidden_2"]
        assert not any(p in trial.params for p in PENALTY_PARAMS)  # no single-penalty parameter
        for name, own in config.per_layer:
            asked = {p.removeprefix(f"{name}.") for p in trial.params if p.startswith(f"{name}.")}
            kinds.add(own.regularizer)
            if own.regularizer is Regularizer.NONE:
                assert asked == {"regularizer"}
            elif own.regularizer is Regularizer.KL_SPARSITY:
                assert asked == {"regularizer", "coefficient", "rho"}  # activated: no placement
            elif own.regularizer is Regularizer.DECOV:
                assert asked == {"regularizer", "coefficient"}
            elif own.regularizer is Regularizer.L1_L2:
                assert asked == {"regularizer", "placement", "l1_coefficient", "l2_coefficient"}
            else:
                assert asked == {"regularizer", "placement", "coefficient"}
        assert TrialConfig.from_dict(config.to_dict()) == config
    assert kinds == {Regularizer.NONE, Regularizer.L1, Regularizer.L1_L2, Regularizer.KL_SPARSITY, Regularizer.DECOV}


def test_a_searched_depth_names_the_layers_it_builds():
    spec = parse_spec('[study]\nname = "d"\n[space]\nper_layer = true\nregularizer = "l2"\nplacement = "kernel"\n'
                      'coefficient = 1e-3\nhidden_layers = [1, 3]\nhidden_units = 8\n')
    for depth in (1, 3):
        config = suggest_config(optuna.trial.FixedTrial({"hidden_layers": depth}), spec)
        assert [name for name, _ in config.per_layer] == ["hidden", "hidden_2", "hidden_3"][:depth]
        assert all(own == LayerPenalty(Regularizer.L2, Placement.KERNEL, l2=1e-3) for _, own in config.per_layer)


def test_the_single_penalty_space_is_unchanged():
    spec = parse_spec('[study]\nname = "s"\n[model]\nhidden_layers = 2\n[space]\nregularizer = ["none", "l1"]\nhidden_units = [8]\n')
    config = suggest_config(optuna.trial.FixedTrial({"regularizer": "l1", "placement": "kernel", "coefficient": 1e-4}), spec)
    assert config.per_layer == () and config.label() == "l1 · kernel 1.0e-04, 8 units × 2 layers"


BUILDERS = """
import keras

def two(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = reg.Dense(name="h1")(inputs)
    x = reg.Dense(4, name="h2")(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))

def one(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(reg.Dense(name="only")(inputs)))
"""


def _builder_spec(tmp_path: Path, function: str):
    (tmp_path / "b.py").write_text(BUILDERS)
    return parse_spec(
        f'[study]\nname = "b"\n[model]\nbuilder = "b.py:{function}"\n[space]\nper_layer = true\nregularizer = ["none", "l1"]\n'
        'placement = "kernel"\ncoefficient = 1e-4\nhidden_units = [3, 5]\n',
        source=str(tmp_path / "s.toml"),
    )


def test_a_builders_marked_layers_come_from_one_build_or_from_the_caller(tmp_path: Path):
    from actreg_search.data.datasets import load_dataset
    from actreg_search.search.modelcheck import check_model, with_marked_layers

    spec = _builder_spec(tmp_path, "two")
    params = {"h1.regularizer": "l1", "h2.regularizer": "none", "hidden_units": 3}
    with pytest.raises(ValueError, match="marked layers of .* are not known"):
        suggest_config(optuna.trial.FixedTrial(params), spec)
    assert suggest_config(optuna.trial.FixedTrial(params), spec, marked=("h1", "h2")).label().startswith("h1: l1 · kernel 1.0e-04; h2: none")
    data = load_dataset(spec.data)
    check_model(spec, data)
    marked = with_marked_layers(spec, data)
    assert marked.marked == ("h1", "h2") and marked == spec  # not part of what the spec says
    config = suggest_config(optuna.trial.FixedTrial(params), marked)
    assert [name for name, _ in config.per_layer] == ["h1", "h2"] and config.regularizer is Regularizer.L1


def test_a_builder_with_one_marked_layer_is_refused(tmp_path: Path):
    from actreg_search.data.datasets import load_dataset
    from actreg_search.search.modelcheck import check_model

    spec = _builder_spec(tmp_path, "one")
    with pytest.raises(SpecError, match=r"^\[space\] per_layer: needs a model with several marked layers; .*b.py:one has one: 'only'$"):
        check_model(spec, load_dataset(spec.data))
