"""The per-trial seeded sampler: no repeats on resume or across workers, and reproducible sequences."""

from __future__ import annotations

import optuna
import pytest

from actreg_search.spec.parser import load_spec
from actreg_search.spec.vocab import SamplerName
from actreg_search.search.sampling import _BUILDERS, TrialSeededSampler, make_sampler, trial_seed
from actreg_search.search.space import suggest_config

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


def _params(spec, storage: optuna.storages.BaseStorage, n_trials: int, batch: int = 1) -> list[dict]:
    """Run ``n_trials`` trials (no training: only sampling) in a study opened afresh, asked and told as ``run`` does.

    ``batch`` trials are asked (each drawn before the next is asked) before any is told.
    """
    study = optuna.create_study(
        study_name="s", storage=storage, sampler=make_sampler(spec), direction="maximize", load_if_exists=True
    )
    for start in range(0, n_trials, batch):
        asked = []
        for _ in range(min(batch, n_trials - start)):
            trial = study.ask()
            asked.append((trial, suggest_config(trial, spec).hidden_units / 64))
        for trial, value in asked:
            study.tell(trial, value)
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


@pytest.mark.parametrize("batch", [1, 4], ids=["one-by-one", "batches"])
def test_grid_still_enumerates_every_config_once(write_study, batch):
    spec = load_spec(write_study(sampler="grid", space=GRID_SPACE))
    storage = optuna.storages.InMemoryStorage()
    first = _params(spec, storage, 4, batch)
    both = first + _params(spec, storage, 5, batch)[len(first) :]  # resumed; telling the last config raises nothing
    drawn = {tuple(sorted(p.items())) for p in both}
    assert len(both) == len(drawn) == 1 + 2 * 2 * 2


def test_tpe_lies_about_running_trials():
    """A batch's TPE trials see the ones asked before them as bad (constant liar), so a batch spreads out."""
    tpe = _BUILDERS[SamplerName.TPE](0)
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._constant_liar


@pytest.mark.parametrize("sampler", ["random", "tpe", "grid"])
def test_a_batch_takes_queued_trials_first(write_study, sampler):
    spec = load_spec(write_study(sampler=sampler, space=GRID_SPACE))
    study = optuna.create_study(sampler=make_sampler(spec), direction="maximize")
    queued = [{"regularizer": "l2", "placement": "kernel", "coefficient": 1e-3}, {"regularizer": "none"}]
    for params in queued:
        study.enqueue_trial(params)
    batch = [study.ask() for _ in range(3)]
    for trial in batch:
        suggest_config(trial, spec)
    assert [t.params for t in batch[:2]] == queued
    if sampler == "grid":  # brute force counts the running queued trials as taken
        assert batch[2].params not in queued


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
