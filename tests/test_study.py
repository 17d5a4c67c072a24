from __future__ import annotations

import os

import optuna
import pytest
from optuna.trial import TrialState

from actreg_search import attrs
from actreg_search.figures import PER_SEED
from actreg_search.parser import load_spec
from actreg_search.errors import SpecError
from actreg_search.reader import load_results
from actreg_search.storage import open_storage
from actreg_search.study import StopReason, cpu_shares, run_study


def test_resume_counts_toward_the_total(write_study, storage_url):
    spec = load_spec(write_study(n_trials=3))
    first = run_study(spec, storage_url)
    assert (first.finished, first.ran, first.reason) == (3, 3, StopReason.TARGET_REACHED)
    second = run_study(spec.with_overrides(n_trials=5), storage_url)
    assert (second.finished, second.ran) == (5, 2)
    again = run_study(spec.with_overrides(n_trials=5), storage_url)
    assert again.ran == 0
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert len(stored.trials) == 5


def test_trial_attributes(write_study, storage_url):
    run_study(load_spec(write_study(n_trials=1, seeds=2)), storage_url)
    (trial,) = optuna.load_study(study_name="tiny", storage=storage_url).trials
    attrs = trial.user_attrs
    assert attrs["seeds"] == [0, 1]
    for name in PER_SEED:
        assert len(attrs[name]) == 2
        assert f"{name}_mean" in attrs and f"{name}_std" in attrs
    assert trial.value == pytest.approx(sum(attrs["test_accuracy"]) / 2)
    assert len(attrs["train_curve"]) == 2 and len(attrs["train_curve"][0]) == len(attrs["curve_epochs"]) == 4
    assert attrs["versions"]["keras"].startswith("3.")
    assert attrs["wall_time_s"] > 0


def test_a_diverging_trial_fails_and_the_study_goes_on(write_study, storage_url):
    space = '''
regularizer = ["none", "l2"]
placement = "pre_activation"
coefficient = [1e36]
'''
    summary = run_study(load_spec(write_study(sampler="grid", n_trials=2, space=space)), storage_url)
    assert summary.reason is StopReason.GRID_EXHAUSTED
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    states = {t.params["regularizer"]: t for t in stored.trials}
    assert states["none"].state is TrialState.COMPLETE
    failed = states["l2"]
    assert failed.state is TrialState.FAIL
    assert failed.fail_reason.startswith("non-finite loss on seed 0")
    assert failed.user_attrs["fail_seed"] == 0


def test_grid_runs_each_distinct_config_once(write_study, storage_url):
    space = '''
regularizer = ["none", "l1"]
placement = ["pre_activation", "post_activation"]
coefficient = [1e-4]
'''
    summary = run_study(load_spec(write_study(sampler="grid", n_trials=10, space=space)), storage_url)
    assert (summary.target, summary.finished) == (3, 3)
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    configs = {(t.config.regularizer.value, t.config.placement) for t in stored.trials}
    assert len(configs) == 3
    rerun = run_study(load_spec(write_study(sampler="grid", n_trials=10, space=space)), storage_url)
    assert rerun.ran == 0


def test_changed_settings_are_refused_before_any_trial(write_study, storage_url):
    spec = load_spec(write_study(n_trials=1))
    run_study(spec, storage_url)
    with pytest.raises(SpecError, match=r"\[model\] epochs: stored 4, now 9"):
        run_study(spec.with_overrides(epochs=9), storage_url)
    assert len(optuna.load_study(study_name="tiny", storage=storage_url).trials) == 1


def test_interrupted_trial_is_failed_then_retried_with_its_params(write_study, storage_url, monkeypatch):
    from actreg_search.engine.keras_engine import KerasEngine

    spec = load_spec(write_study(n_trials=2))
    original = KerasEngine.train

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(KerasEngine, "train", interrupt)
    summary = run_study(spec, storage_url)
    assert summary.reason is StopReason.INTERRUPTED and summary.finished == 0
    monkeypatch.setattr(KerasEngine, "train", original)
    summary = run_study(spec, storage_url)
    assert summary.finished == 2
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    assert trials[0].state is TrialState.FAIL and trials[0].user_attrs["fail_reason"] == "interrupted"
    assert trials[1].params == trials[0].params and trials[1].state is TrialState.COMPLETE


def test_parallel_workers_share_one_study(write_study, storage_url):
    summary = run_study(load_spec(write_study(n_trials=4, seeds=1, epochs=2)), storage_url, jobs=2)
    assert (summary.reason, summary.finished) == (StopReason.TARGET_REACHED, summary.target)
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) >= 4
    assert len({t.number for t in trials}) == len(trials)
    assert not [t for t in trials if t.state is TrialState.FAIL]
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:  # each worker on its own CPUs
        cpus_of = {t.user_attrs[attrs.WORKER]: frozenset(t.user_attrs[attrs.WORKER_CPUS]) for t in complete}
        assert all(len(cpus) < len(os.sched_getaffinity(0)) for cpus in cpus_of.values())
        assert len(cpus_of) == 1 or not frozenset.intersection(*cpus_of.values())


def test_multi_objective_study_end_to_end(write_study, storage_url, tmp_path, capsys):
    import json

    from actreg_search.cli import main

    path = write_study(n_trials=4, seeds=2)
    path.write_text(path.read_text().replace('sampler = "random"', 'objectives = ["test_accuracy", "sparsity"]'))
    spec = load_spec(path)
    assert spec.study.sampler.value == "nsga2"
    summary = run_study(spec, storage_url)
    assert summary.finished == 4
    study = optuna.load_study(study_name="tiny", storage=storage_url)
    assert len(study.directions) == 2
    for trial in study.trials:
        assert trial.values == [pytest.approx(trial.user_attrs["test_accuracy_mean"]), pytest.approx(trial.user_attrs["sparsity_mean"])]
    stored = load_results(open_storage(storage_url, create=False), "tiny")
    assert stored.pareto_front == {t.number for t in study.best_trials}
    assert {t.number for t in stored.best(10)} == stored.pareto_front

    assert main(["show", "tiny", "--storage", storage_url]) == 0
    assert "Pareto front (test_accuracy, sparsity)" in capsys.readouterr().out
    out = tmp_path / "front.json"
    assert main(["export", "tiny", "--storage", storage_url, "--top", "10", "--out", str(out)]) == 0
    entries = json.loads(out.read_text())
    assert {e["trial"] for e in entries} == stored.pareto_front
    assert all(len(e["objective_values"]) == 2 for e in entries)


def test_pruner_with_several_objectives_is_refused(write_study):
    path = write_study()
    path.write_text(path.read_text().replace('sampler = "random"', 'objectives = ["test_accuracy", "sparsity"]\npruner = "median"'))
    with pytest.raises(SpecError, match="pruning needs a single objective"):
        load_spec(path)


def test_median_pruner_prunes_with_partial_curves(write_study, storage_url):
    """Intermediate values are the mean test accuracy over seeds, after each chunk of epochs."""
    path = write_study(n_trials=12, seeds=2, epochs=40, engine="fused")
    path.write_text(path.read_text().replace('sampler = "random"', 'sampler = "random"\npruner = "median"'))
    spec = load_spec(path)
    assert run_study(spec, storage_url).finished == 12
    trials = optuna.load_study(study_name="tiny", storage=storage_url).trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and all(len(t.intermediate_values) == 20 for t in complete)
    for t in complete:
        assert t.intermediate_values[40] == pytest.approx(t.value)
    for t in pruned:
        last = max(t.intermediate_values)
        assert last < 40 and t.user_attrs["curve_epochs"][-1] == last
        assert len(t.user_attrs["test_curve"]) == 2 and len(t.user_attrs["test_curve"][0]) == len(t.user_attrs["curve_epochs"])


@pytest.mark.parametrize(
    ("usable", "jobs", "expected"),
    [
        ({0, 1}, 1, [({0, 1}, 2)]),
        ({0, 1}, 2, [({0}, 1), ({1}, 1)]),
        ({0, 1, 2, 3, 4}, 2, [({0, 1}, 2), ({2, 3, 4}, 3)]),
        ({2, 5, 7}, 3, [({2}, 1), ({5}, 1), ({7}, 1)]),  # a taskset-restricted run keeps to its CPUs
        ({0, 1}, 3, [(None, 1)] * 3),  # more workers than CPUs: no pinning, one thread each
        ({0, 1, 2, 3}, 5, [(None, 1)] * 5),
    ],
)
def test_cpu_shares_split_the_usable_cpus(monkeypatch, usable, jobs, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(usable), raising=False)
    shares = cpu_shares(jobs)
    assert [(None if s.cpus is None else set(s.cpus), s.threads) for s in shares] == expected
