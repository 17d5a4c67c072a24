"""A trial's config: its label, which layers it penalizes, and its stored form."""

from __future__ import annotations

import pytest

from actreg_search.spec.trial import ALL_LAYERS, TrialConfig
from actreg_search.spec.vocab import Family, Placement, Regularizer


def _config(**kwargs) -> TrialConfig:
    base = {"regularizer": Regularizer.L1, "placement": Placement.PRE_ACTIVATION, "l1": 1e-4, "l2": 0.0, "hidden_units": 500}
    return TrialConfig(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("config", "label"),
    [
        (_config(), "l1 · pre_activation 1.0e-04, 500 units"),
        (_config(regularizer=Regularizer.L1_L2, l2=2e-3), "l1_l2 · pre_activation l1 1.0e-04 + l2 2.0e-03, 500 units"),
        (_config(regularizer=Regularizer.NONE, placement=None, l1=0.0), "none, 500 units"),
        (_config(family=Family.CNN, hidden_units=8), "l1 · pre_activation 1.0e-04, 8 filters"),
        (_config(hidden_layers=3), "l1 · pre_activation 1.0e-04, 500 units × 3 layers"),
        (_config(layers=("h2",)), "l1 · pre_activation 1.0e-04, 500 units, on h2"),
        (_config(layers=(ALL_LAYERS,)), "l1 · pre_activation 1.0e-04, 500 units, on all"),
    ],
)
def test_label(config, label):
    assert config.label() == label


def test_which_layers_carry_the_penalty():
    assert _config().penalizes("anything")  # no layers said: every marked layer
    assert _config(layers=(ALL_LAYERS,)).penalizes("h1")
    assert [_config(layers=("h2",)).penalizes(n) for n in ("h1", "h2")] == [False, True]
    assert not _config(regularizer=Regularizer.NONE, placement=None, l1=0.0).penalizes("h1")


def test_a_config_round_trips_through_its_stored_form():
    for config in (_config(), _config(layers=(ALL_LAYERS,), family=Family.RNN, placement=Placement.RECURRENT)):
        assert TrialConfig.from_dict(config.to_dict()) == config


def test_a_config_stored_before_per_layer_still_loads():
    stored = _config().to_dict()
    assert "per_layer" not in stored  # a single-penalty config stores no per_layer key
    assert TrialConfig.from_dict({**stored, "per_layer": None}) == _config() == TrialConfig.from_dict(stored)
