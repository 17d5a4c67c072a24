from __future__ import annotations

import optuna
import pytest

from actreg_search.spec.parser import parse_spec
from actreg_search.spec.vocab import Placement, Regularizer
from actreg_search.search.space import grid_size, suggest_config

SPEC = parse_spec(
    """
[study]
name = "s"
[model]
epochs = 7
[space]
regularizer = ["none", "l1", "l2", "l1_l2"]
placement = ["pre_activation", "post_activation", "kernel"]
coefficient = { low = 1e-6, high = 1e-2, log = true }
hidden_units = { low = 32, high = 1024, log = true }
"""
)


def test_none_asks_for_no_placement_or_coefficient():
    trial = optuna.trial.FixedTrial({"regularizer": "none", "hidden_units": 64})
    config = suggest_config(trial, SPEC)
    assert config.regularizer is Regularizer.NONE and config.placement is None
    assert (config.l1, config.l2, config.hidden_units, config.epochs) == (0.0, 0.0, 64, 7)


@pytest.mark.parametrize(("regularizer", "l1", "l2"), [("l1", 1e-4, 0.0), ("l2", 0.0, 1e-4)])
def test_single_coefficient(regularizer, l1, l2):
    params = {"regularizer": regularizer, "placement": "kernel", "coefficient": 1e-4, "hidden_units": 100}
    config = suggest_config(optuna.trial.FixedTrial(params), SPEC)
    assert config.placement is Placement.KERNEL and (config.l1, config.l2) == (l1, l2)


def test_l1_l2_searches_two_coefficients():
    params = {"regularizer": "l1_l2", "placement": "pre_activation", "l1_coefficient": 1e-5, "l2_coefficient": 1e-3, "hidden_units": 32}
    config = suggest_config(optuna.trial.FixedTrial(params), SPEC)
    assert (config.l1, config.l2) == (1e-5, 1e-3)


def test_sampled_params_are_conditional():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    for _ in range(40):
        trial = study.ask()
        config = suggest_config(trial, SPEC)
        study.tell(trial, 0.5)
        if config.regularizer is Regularizer.NONE:
            assert set(trial.params) == {"regularizer", "hidden_units"}
        assert 32 <= config.hidden_units <= 1024


def test_fixed_values_are_not_params():
    spec = parse_spec('[study]\nname = "f"\n[space]\nregularizer = "l1"\nplacement = "kernel"\ncoefficient = 1e-4\n')
    trial = optuna.create_study().ask()
    config = suggest_config(trial, spec)
    assert trial.params == {}
    assert (config.regularizer, config.placement, config.l1, config.hidden_units) == (Regularizer.L1, Placement.KERNEL, 1e-4, 500)


def test_grid_size_counts_none_once():
    spec = parse_spec(
        '[study]\nname = "g"\nsampler = "grid"\n[space]\nregularizer = ["none", "l1", "l1_l2"]\n'
        'placement = ["pre_activation", "post_activation"]\ncoefficient = [1e-4, 1e-3]\nhidden_units = [8, 16]\n'
    )
    # per width: none 1 + l1 2×2 + l1_l2 2×2×2 = 13
    assert grid_size(spec) == 13 * 2


def test_the_size_parameter_is_named_for_the_family():
    spec = parse_spec('[study]\nname = "r"\n[model]\nfamily = "rnn"\n[space]\nregularizer = "l1"\nunits = {low = 4, high = 64}\n')
    params = {"placement": "recurrent", "coefficient": 1e-4, "units": 17}
    config = suggest_config(optuna.trial.FixedTrial(params), spec)
    assert (config.placement, config.hidden_units) == (Placement.RECURRENT, 17)


def test_a_trial_on_every_marked_layer_says_so():
    """``[space] layers = [..., "all"]``: a trial that draws ``all`` is labelled "on all" and penalizes every layer."""
    from pathlib import Path

    from actreg_search.spec.parser import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "studies" / "custom_builder.toml")
    drawn = {}
    for layer in ("h1", "all"):
        trial = optuna.trial.FixedTrial({"regularizer": "l2", "placement": "kernel", "coefficient": 1e-3, "hidden_units": 8, "layers": layer})
        drawn[layer] = suggest_config(trial, spec)
    assert ", on h1" in drawn["h1"].label() and ", on all" in drawn["all"].label()
    assert [drawn["all"].penalizes(name) for name in ("h1", "h2")] == [True, True]
    assert [drawn["h1"].penalizes(name) for name in ("h1", "h2")] == [True, False]
    unregularized = suggest_config(optuna.trial.FixedTrial({"regularizer": "none", "hidden_units": 8}), spec)
    assert not unregularized.penalizes("h1") and ", on " not in unregularized.label()
