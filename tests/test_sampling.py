"""The per-trial seeded sampler: no repeats on resume or across workers, and reproducible sequences."""

from __future__ import annotations

import optuna
import pytest

from actreg_search.parser import load_spec
from actreg_search.vocab import SamplerName
from actreg_search.sampling import _BUILDERS, TrialSeededSampler, make_sampler, trial_seed
from actreg_search.space import suggest_config

# Every config has a continuous coefficient, so two draws from different streams never coincide.
SPACE = """
regularizer = ["l1", "l2"]
placement = ["pre_activation", "post_activation", "kernel"]
coefficient = { low = 1e-5, high = 1e-2, log = true }
hidden_units = { low = 4, high = 64, log = true }
"""
GRID_SPACE = """
regularizer = ["none", "l1", "l2"]
placement = ["pre_activation", "kernel"]
coefficient = [1e-4, 1e-3]
"""


def _params(spec, storage: optuna.storages.BaseStorage, n_trials: int) -> list[dict]:
    """Run ``n_trials`` trials (no training: the objective only samples) in a study opened afresh, as ``run`` does."""
    study = optuna.create_study(
        study_name="s", storage=storage, sampler=make_sampler(spec), direction="maximize", load_if_exists=True
    )

    def objective(trial: optuna.Trial) -> float:
        return suggest_config(trial, spec).hidden_units / 64

    study.optimize(objective, n_trials=n_trials)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("sampler", ["random", "tpe", "cmaes"])
def test_resume_draws_new_params_and_the_same_sequence(write_study, sampler):
    spec = load_spec(write_study(sampler=sampler, space=SPACE))
    straight = _params(spec, optuna.storages.InMemoryStorage(), 12)

    storage = optuna.storages.InMemoryStorage()
    _params(spec, storage, 6)
    resumed = _params(spec, storage, 6)  # a new sampler, built from the same study file

    assert resumed == straight
    drawn = [tuple(sorted(p.items())) for p in resumed]
    assert len(set(drawn)) == len(drawn)


def test_a_plainly_seeded_sampler_would_repeat_itself(write_study):
    """The failure this module exists for: Optuna's own seeded sampler, rebuilt on resume, repeats."""
    spec = load_spec(write_study(sampler="random", space=SPACE))
    storage = optuna.storages.InMemoryStorage()
    for _ in range(2):
        study = optuna.create_study(
            study_name="s", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0), load_if_exists=True
        )
        study.optimize(lambda t: suggest_config(t, spec).hidden_units, n_trials=3)
    params = [t.params for t in study.trials]
    assert params[:3] == params[3:]


def test_concurrent_samplers_do_not_share_a_stream(write_study):
    """Two workers (two sampler objects on one storage) taking turns still draw distinct params."""
    spec = load_spec(write_study(sampler="random", space=SPACE))
    storage = optuna.storages.InMemoryStorage()
    studies = [
        optuna.create_study(study_name="s", storage=storage, sampler=make_sampler(spec), load_if_exists=True)
        for _ in range(2)
    ]
    for _ in range(4):
        for study in studies:
            study.optimize(lambda t: suggest_config(t, spec).hidden_units, n_trials=1)
    drawn = [tuple(sorted(t.params.items())) for t in studies[0].trials]
    assert len(drawn) == 8 and len(set(drawn)) == 8


def test_grid_still_enumerates_every_config_once(write_study):
    spec = load_spec(write_study(sampler="grid", space=GRID_SPACE))
    storage = optuna.storages.InMemoryStorage()
    first = _params(spec, storage, 4)
    both = first + _params(spec, storage, 20)[len(first) :]  # resumed; brute force stops when exhausted
    drawn = {tuple(sorted(p.items())) for p in both}
    assert len(both) == len(drawn) == 1 + 2 * 2 * 2


def test_nsga2_runs_through_the_wrapper(write_study):
    spec = load_spec(write_study(sampler="nsga2", space=SPACE))
    study = optuna.create_study(sampler=make_sampler(spec), directions=["maximize", "maximize"])
    study.optimize(lambda t: (suggest_config(t, spec).hidden_units, 1.0), n_trials=5)
    assert len(study.trials) == 5


def test_every_sampler_name_has_a_builder():
    assert set(SamplerName) == set(_BUILDERS)


def test_trial_seeds_differ_by_trial_and_by_study_seed():
    seeds = {trial_seed(seed, number) for seed in range(3) for number in range(100)}
    assert len(seeds) == 300
    assert trial_seed(0, 5) == trial_seed(0, 5)


def test_the_current_sampler_is_rebuilt_per_trial(write_study):
    sampler = make_sampler(load_spec(write_study(sampler="tpe", space=SPACE)))
    assert isinstance(sampler, TrialSeededSampler)
    study = optuna.create_study(sampler=sampler)
    seen = []
    study.optimize(lambda t: seen.append(sampler.sampler) or 0.0, n_trials=2)
    assert isinstance(seen[0], optuna.samplers.TPESampler) and seen[0] is not seen[1]
