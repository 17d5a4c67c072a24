"""kl_sparsity and decov in [space]: parsing, their parameters, labels and the refusals (no TensorFlow)."""

from __future__ import annotations

import optuna
import pytest

from actreg_search.errors import SpecError
from actreg_search.search.space import grid_size, suggest_config
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import ON_TEST, Choice, Range, spec_to_raw
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer

HEAD = '[study]\nname = "p"\n'


def _spec(space: str, model: str = "", sampler: str = "random"):
    return parse_spec(f'{HEAD}sampler = "{sampler}"\n[model]\n{model}\n[space]\n{space}\n', source="/s/study.toml")


def test_the_default_space_is_still_the_tutorials_four():
    spec = _spec("")
    assert spec.space.regularizer == Choice((Regularizer.NONE, Regularizer.L1, Regularizer.L2, Regularizer.L1_L2))
    assert spec.space.rho is None


def test_kl_sparsity_gets_rho_in_its_default_range_and_round_trips():
    spec = _spec('regularizer = ["none", "kl_sparsity", "decov"]')
    assert spec.space.rho == Range(0.01, 0.2, log=False, integer=False)
    assert parse_raw(spec_to_raw(spec)) == spec.resolved(ON_TEST)
    given = _spec('regularizer = ["kl_sparsity"]\nrho = [0.05, 0.1]')
    assert given.space.rho == Choice((0.05, 0.1))
    assert _spec('regularizer = ["kl_sparsity"]\ncoefficient = [1e-3]', sampler="grid").space.rho == Choice((0.05,))


def test_activated_kinds_draw_no_placement_and_kl_draws_rho():
    spec = _spec('regularizer = ["kl_sparsity", "decov", "l1"]\nrho = { low = 0.02, high = 0.3 }')
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        config = suggest_config(trial, spec)
        seen.add(config.regularizer)
        if config.regularizer.activated:
            assert config.placement is Placement.POST_ACTIVATION and "placement" not in trial.params
            assert config.coefficient == trial.params["coefficient"] and config.l1 == config.l2 == 0.0
        if config.regularizer is Regularizer.KL_SPARSITY:
            assert config.rho == trial.params["rho"] and 0.02 <= config.rho <= 0.3
        else:
            assert config.rho is None and "rho" not in trial.params
        study.tell(trial, 0.5)
    assert seen == {Regularizer.KL_SPARSITY, Regularizer.DECOV, Regularizer.L1}


def test_the_rnn_puts_decov_on_its_output_and_a_grid_counts_rho():
    rnn = _spec('regularizer = ["decov"]', model='family = "rnn"')
    config = suggest_config(optuna.create_study().ask(), rnn)
    assert config.placement is Placement.OUTPUT
    tar = suggest_config(optuna.create_study().ask(), _spec('regularizer = ["tar"]', model='family = "rnn"'))
    assert tar.placement is Placement.SEQUENCE  # the rnn built to return its sequence, where tar applies
    grid = _spec('regularizer = ["none", "kl_sparsity", "decov"]\ncoefficient = [1e-3, 1e-2]\nrho = [0.05, 0.1, 0.2]', sampler="grid")
    assert grid_size(grid) == 1 + 2 * 3 + 2


def test_labels_and_the_space_block_name_the_kind_its_weight_and_rho():
    config = TrialConfig(Regularizer.KL_SPARSITY, Placement.POST_ACTIVATION, 0.0, 0.0, 64, coefficient=0.01, rho=0.05)
    assert config.label() == "kl_sparsity · post_activation 1.0e-02, rho 0.05, 64 units"
    assert config.space_values()["coefficient"] == 0.01 and config.space_values()["rho"] == 0.05
    assert TrialConfig.from_dict(config.to_dict()) == config
    decov = TrialConfig(Regularizer.DECOV, Placement.POST_ACTIVATION, 0.0, 0.0, 64, coefficient=0.5)
    assert decov.label() == "decov · post_activation 5.0e-01, 64 units"
    old = {k: v for k, v in TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-4, 0.0, 8).to_dict().items() if k not in ("coefficient", "rho")}
    assert TrialConfig.from_dict(old).coefficient == 0.0  # a config stored before these kinds


@pytest.mark.parametrize(
    ("space", "model", "message"),
    [
        ('regularizer = ["kl_sparsity"]\nrho = 1.0', "", r"\[space\] rho: must be in \(0, 1\) \(a mean activation\), got 1.0"),
        ('regularizer = ["kl_sparsity"]\nrho = { low = 0.0, high = 0.2 }', "", r"\[space\] rho.low: must be in \(0, 1\)"),
        ('regularizer = ["l1", "decov"]\nrho = 0.1', "", r"\[space\] rho: applies to regularizer kl_sparsity only"),
        ('regularizer = ["kl_sparsity"]', 'family = "rnn"', r"kl_sparsity does not apply to family 'rnn'"),
        ('regularizer = ["kl_sparsity"]', 'activation = "tanh"', r"kl_sparsity needs a relu or sigmoid activation .* uses 'tanh'"),
        ('regularizer = ["kl_sparsity"]\nactivation = ["relu", "elu"]', "", r"uses 'elu'"),
        ('regularizer = ["kl"]', "", r"\[space\] regularizer: unknown value 'kl'; allowed: .*kl_sparsity, decov, tar"),
        ('regularizer = ["none", "tar"]', 'family = "cnn"', r"tar applies to an LSTM's sequence output: family 'rnn', or a builder's"),
    ],
)
def test_bad_penalty_kinds_are_refused_in_one_line(space: str, model: str, message: str):
    with pytest.raises(SpecError, match=message) as caught:
        _spec(space, model)
    assert "\n" not in str(caught.value)
