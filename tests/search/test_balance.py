"""``[space] balance``: the penalty groups take turns by trial number; the sampler draws the rest."""

from __future__ import annotations

import collections
from pathlib import Path

import optuna
import pytest

from actreg_search.errors import SpecError
from actreg_search.results.suite import group_of
from actreg_search.search.balance import Design, Kind
from actreg_search.search.sampling import make_sampler
from actreg_search.search.space import suggest_config
from actreg_search.search.study import run_study
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import spec_to_raw
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_storage
from tests.fakes import FakeEngine
from tests.search.test_per_layer import BUILDERS

SPACE = """
[study]
name = "balanced"
sampler = "{sampler}"
seed = 3
[space]
balance = true
regularizer = ["none", "l1", "l2", "decov"]
placement = ["pre_activation", "kernel"]
coefficient = {{ low = 1e-6, high = 1e-2, log = true }}
hidden_units = {{ low = 4, high = 64 }}
"""


def _spec(sampler: str = "tpe", **extra: str):
    return parse_spec(SPACE.format(sampler=sampler) + "".join(f"{k} = {v}\n" for k, v in extra.items()))


def _drawn(spec, n: int) -> list:
    """Ask ``n`` trials of an in-memory study with the study's sampler and draw each one's config, as a run does."""
    study = optuna.create_study(sampler=make_sampler(spec), direction="maximize")
    configs = []
    for _ in range(n):
        trial = study.ask()
        config = suggest_config(trial, spec)
        study.tell(trial, float(config.hidden_units))  # any figure: TPE learns from it
        configs.append(config)
    return configs


def test_the_groups_take_turns_none_first_in_the_spaces_order():
    spec = _spec()
    groups = Design(spec).groups()
    assert [g[0] for g in groups] == [
        (Kind("none"),), (Kind("l1", "pre_activation"),), (Kind("l1", "kernel"),),
        (Kind("l2", "pre_activation"),), (Kind("l2", "kernel"),), (Kind("decov"),),
    ]
    assert [Design(spec).assignment(n)[0] for n in (0, 1, 5, 6, 13)] == [
        Kind("none"), Kind("l1", "pre_activation"), Kind("decov"), Kind("none"), Kind("l1", "pre_activation"),
    ]


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_every_group_gets_the_same_budget_and_the_sampler_draws_the_rest(sampler: str):
    configs = _drawn(_spec(sampler), 24)
    counts = collections.Counter(group_of(c) for c in configs)
    assert counts == {g: 4 for g in ("none", "l1/pre_activation", "l1/kernel", "l2/pre_activation", "l2/kernel", "decov")}
    assert [group_of(c) for c in configs[:6]] == [group_of(c) for c in configs[6:12]]  # in turn, by trial number
    assert len({c.hidden_units for c in configs}) > 10 and len({c.coefficient for c in configs[5::6]}) == 4


def test_without_balance_the_sampler_chooses_the_budget():
    spec = parse_spec(SPACE.format(sampler="tpe").replace("balance = true", "balance = false"))
    counts = collections.Counter(group_of(c) for c in _drawn(spec, 24))
    assert counts != {g: 4 for g in counts}  # TPE's own split (seeded: the same every run)


def test_the_group_is_a_recorded_parameter_with_the_whole_choice():
    study = optuna.create_study(sampler=make_sampler(_spec()), direction="maximize")
    trial = study.ask()
    suggest_config(trial, _spec())
    frozen = study.get_trials()[0]
    assert frozen.params["regularizer"] == "none"
    assert frozen.distributions["regularizer"].choices == ("none", "l1", "l2", "decov")


PER_LAYER = """
[study]
name = "per-layer"
sampler = "tpe"
[model]
hidden_layers = 2
[space]
balance = true
per_layer = true
regularizer = ["none", "l2", "tar"]
placement = "pre_activation"
coefficient = { low = 1e-6, high = 1e-2, log = true }
"""


def test_per_layer_groups_are_the_penalties_the_layers_carry_and_their_layouts_take_turns():
    spec = parse_spec(PER_LAYER.replace('"tar"', '"decov"'))
    design = Design(spec)
    groups = design.groups(2)
    assert len(groups) == 4  # none, l2, decov, l2 + decov
    assert [len(g) for g in groups] == [1, 3, 3, 2]
    configs = _drawn(spec, 16)
    counts = collections.Counter(group_of(c) for c in configs)
    assert counts == {"none": 4, "l2/pre_activation": 4, "decov": 4, "l2/pre_activation + decov": 4}
    layouts = {tuple(own.regularizer.value for _, own in c.per_layer) for c in configs if group_of(c) == "decov"}
    assert layouts == {("decov", "none"), ("none", "decov"), ("decov", "decov")}


def test_a_searched_depth_balances_over_each_trials_own_layers():
    spec = parse_spec(PER_LAYER.replace('"tar"', '"decov"').replace("[space]\n", "[space]\nhidden_layers = [2, 3]\n"))
    for config in _drawn(spec, 12):
        names = [name for name, _ in config.per_layer]
        assert names == ["hidden", "hidden_2", "hidden_3"][: config.hidden_layers]


def test_balance_is_stored_with_the_study_and_read_back():
    spec = _spec()
    raw = spec_to_raw(spec)
    assert raw["space"]["balance"] is True and parse_raw(raw).space.balance
    assert "balance" not in spec_to_raw(parse_spec(SPACE.format(sampler="tpe").replace("balance = true\n", "")))["space"]


@pytest.mark.parametrize(
    ("sampler", "space", "message"),
    [
        ("grid", 'regularizer = ["none", "l1"]\ncoefficient = [1e-4]', "the grid sampler tries every penalty equally already"),
        ("tpe", 'regularizer = ["none", "l1"]\nbalance = 1', "must be true or false, got 1"),
        ("tpe", 'regularizer = "l1"\nplacement = "kernel"', "needs more than one penalty"),
        ("tpe", 'regularizer = "decov"', "needs more than one penalty"),
    ],
)
def test_bad_balance_is_refused_in_one_line(sampler: str, space: str, message: str):
    text = f'[study]\nname = "b"\nsampler = "{sampler}"\n[space]\n{space}\n'
    if "balance" not in space:
        text += "balance = true\n"
    with pytest.raises(SpecError, match=rf"^<memory>: \[space\] balance: {message}") as error:
        parse_spec(text)
    assert "\n" not in str(error.value)


def test_a_run_and_its_resume_keep_the_turns(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    spec = _spec().with_overrides(n_trials=7)
    run_study(spec, url, engine=FakeEngine())
    run_study(spec.with_overrides(n_trials=12), url, engine=FakeEngine())
    trials = sorted(load_results(open_storage(url, create=False), "balanced").trials, key=lambda t: t.number)
    assert [group_of(t.config) for t in trials] == [group_of(c) for c in _drawn(spec, 12)]
    assert collections.Counter(group_of(t.config) for t in trials) == {g: 2 for g in collections.Counter(
        group_of(t.config) for t in trials)}


def test_a_builders_layers_are_balanced_once_it_is_built(tmp_path: Path):
    (tmp_path / "b.py").write_text(BUILDERS)  # its "two" marks h1 and h2
    (tmp_path / "s.toml").write_text(
        '[study]\nname = "b"\nn_trials = 8\nseeds = 1\n[model]\nbuilder = "b.py:two"\nepochs = 2\n[space]\nbalance = true\n'
        'per_layer = true\nregularizer = ["none", "l1"]\nplacement = "kernel"\nhidden_units = [3, 5]\n'
    )
    from actreg_search.spec.parser import load_spec

    url = f"sqlite:///{tmp_path / 's.db'}"
    run_study(load_spec(tmp_path / "s.toml"), url, engine=FakeEngine())
    trials = sorted(load_results(open_storage(url, create=False), "b").trials, key=lambda t: t.number)
    layouts = [tuple(own.regularizer.value for _, own in t.config.per_layer) for t in trials]
    assert layouts == [  # none, then l1 on h2, on h1, on both in turn
        ("none", "none"), ("none", "l1"), ("none", "none"), ("l1", "none"),
        ("none", "none"), ("l1", "l1"), ("none", "none"), ("none", "l1"),
    ]
