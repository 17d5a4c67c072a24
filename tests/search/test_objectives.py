"""What is optimized: balanced accuracy, macro F1, ROC AUC or log loss as the objective, each in its direction.

The parser's rules and one-line refusals (an unknown name, a pruner on a
figure other than accuracy, ``roc_auc`` or ``log_loss`` on a model without
probabilities: exit 2, nothing written); the direction stored with the Optuna
study and read everywhere a trial is called better (the best, the ranking,
the Pareto front, the live best value, the paired wins, the dashboard's
history); and the figures in ``show``, the trials table, the summary and
the export. The fake engine here records a log loss that rises with its
accuracy (no real model's), so a rule that maximized it, or ranked on
accuracy, would pick another trial.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Generator, Sequence
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner
from optuna.study import StudyDirection
from optuna.trial import TrialState

import actreg_search
from actreg_search.cli import app
from actreg_search.dashboard.data import optimization_history, optuna_input
from actreg_search.dashboard.page import best_html
from actreg_search.dashboard.table import trial_table
from actreg_search.engine.base import Monitor, TrialResult
from actreg_search.errors import SpecError
from actreg_search.results.records import StudyResults, TrialRecord
from actreg_search.search.opening import open_study
from actreg_search.spec.parser import parse_raw, parse_spec
from actreg_search.spec.specs import spec_to_raw
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Task, Metric, Placement, Regularizer
from actreg_search.store.storage import open_storage
from tests.fakes import FakeEngine, unit

LINEAR = """
import keras

def build(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1)(reg.Dense(name="h1")(inputs)))

def probabilities(reg, input_shape, n_classes):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(reg.Dense(name="h1")(inputs)))
"""


def study_file(objectives: str, extra: str = "", model: str = "") -> str:
    return (
        f'[study]\nname = "obj"\nobjectives = {objectives}\nseeds = 5\nn_trials = 6\nsampler = "random"\n{extra}'
        '[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\n'
        f'[model]\nhidden_units = 4\nepochs = 2\nengine = "keras"\n{model}'
        '[space]\nregularizer = ["none", "l1"]\ncoefficient = { low = 1e-4, high = 1e-1, log = true }\n'
    )


# --------------------------------------------------------------------------- the parser


@pytest.mark.parametrize("name", ["balanced_accuracy", "macro_f1", "roc_auc", "log_loss"])
def test_each_new_figure_may_be_the_only_objective_and_round_trips(name: str):
    spec = parse_spec(study_file(f'["{name}"]'))
    assert spec.study.objectives == (Metric(name),)
    assert spec.selection_fields() == (f"validation_{name}",)
    assert parse_raw(spec_to_raw(spec.resolved(None))).study == spec.study
    on_test = parse_spec(study_file(f'"{name}"').replace("train_size = 30\n", 'train_size = 30\nvalidation = "test"\n'))
    assert on_test.selection_fields() == (f"test_{name}",)


def test_sparsity_follows_a_new_figure_but_never_leads():
    spec = parse_spec(study_file('["log_loss", "sparsity"]'))
    assert spec.selection_fields() == ("validation_log_loss", "validation_sparsity")
    with pytest.raises(SpecError, match=r"the first objective must be a figure of the predictions \(accuracy, .*log_loss\), got 'sparsity'"):
        parse_spec(study_file('["sparsity", "log_loss"]'))


@pytest.mark.parametrize(("text", "fragment"), [
    (study_file('["auc"]'), "[study] objectives: unknown value 'auc'; allowed: accuracy, sparsity, balanced_accuracy, macro_f1, roc_auc, log_loss"),
    (study_file('["log_loss"]', 'pruner = "median"\n'), "[study] pruner: a pruner compares the accuracy the engines report while training"),
    (study_file('["roc_auc"]', model='builder = "b.py:build"\n'), "[study] objectives: 'roc_auc' read predicted probabilities"),
    (study_file('["log_loss", "sparsity"]', model='builder = "b.py:build"\n'), "'log_loss' read predicted probabilities, but the output layer"),
], ids=["unknown", "pruner", "roc_auc-linear", "log_loss-linear"])
def test_bad_objectives_through_the_cli_exit_2_in_one_line_and_write_nothing(text: str, fragment: str, tmp_path: Path):
    (tmp_path / "b.py").write_text(LINEAR)
    study = tmp_path / "study.toml"
    study.write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = CliRunner().invoke(app, ["run", str(study), "--storage", f"sqlite:///{tmp_path / 'o.db'}"], catch_exceptions=False)
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("actreg-search: error: ")
    assert fragment in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no database


def test_a_builder_ending_in_a_sigmoid_may_optimize_the_roc_auc(tmp_path: Path):
    from actreg_search.data.datasets import load_dataset
    from actreg_search.search.modelcheck import check_model

    (tmp_path / "b.py").write_text(LINEAR)
    spec = parse_spec(study_file('["roc_auc"]', model='builder = "b.py:probabilities"\n'), source=str(tmp_path / "s.toml"))
    assert check_model(spec, load_dataset(spec.data)) is not None  # a note of how it trains, no refusal
    linear = parse_spec(study_file('["balanced_accuracy"]', model='builder = "b.py:build"\n'), source=str(tmp_path / "s.toml"))
    assert check_model(linear, load_dataset(linear.data)) is not None  # figures of the predicted class need no probabilities


# --------------------------------------------------------------------------- directions


@pytest.mark.parametrize(("objectives", "directions"), [
    ('["accuracy"]', [StudyDirection.MAXIMIZE]),
    ('["log_loss"]', [StudyDirection.MINIMIZE]),
    ('["roc_auc"]', [StudyDirection.MAXIMIZE]),
    ('["log_loss", "sparsity"]', [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]),
])
def test_the_study_is_stored_with_each_objectives_direction(objectives: str, directions: list, tmp_path: Path):
    storage = open_storage(f"sqlite:///{tmp_path / 'd.db'}", create=True)
    extra = 'sampler = "nsga2"\n' if "," in objectives else ""
    spec = parse_spec(study_file(objectives, extra).replace('sampler = "random"\n', "" if extra else 'sampler = "random"\n'))
    open_study(spec.resolved(None), storage)
    assert optuna.load_study(study_name="obj", storage=storage).directions == directions


def trial(number: int, log_loss: Sequence[float], accuracy: Sequence[float], sparsity: float = 0.5) -> TrialRecord:
    mean = sum(log_loss) / len(log_loss)
    return TrialRecord(
        number=number, state=TrialState.COMPLETE, params={}, config=TrialConfig(Regularizer.L1, Placement.KERNEL, 1e-3, 0.0, hidden_units=8), values=(mean, sparsity),
        seeds=tuple(range(len(log_loss))),
        per_seed={"validation_log_loss": tuple(log_loss), "validation_accuracy": tuple(accuracy), "test_accuracy": tuple(accuracy)},
        wall_time_s=None, duration_s=None, fail_reason=None,
    )


def test_the_lowest_log_loss_is_the_best_where_maximizing_would_pick_the_other_trial():
    low, high = trial(0, (0.30, 0.32), (0.6, 0.6)), trial(1, (0.70, 0.72), (0.9, 0.9))
    results = StudyResults("s", (high, low), None, objectives=("validation_log_loss",))
    assert results.best.number == 0 and [t.number for t in results.ranked] == [0, 1]
    as_if_maximized = StudyResults("s", (high, low), None, objectives=("validation_accuracy",))
    assert as_if_maximized.best.number == 1  # the same trials ranked on a maximized figure


def test_the_pareto_front_minimizes_log_loss_and_maximizes_sparsity():
    # 0: low loss, low sparsity; 1: high loss, high sparsity; 2: low loss, high sparsity (dominates both); 3: worst
    trials = (trial(0, (0.3,), (0.5,), 0.2), trial(1, (0.7,), (0.5,), 0.8), trial(2, (0.3,), (0.5,), 0.8), trial(3, (0.7,), (0.5,), 0.2))
    results = StudyResults("s", trials, None, objectives=("validation_log_loss", "validation_sparsity"))
    assert results.maximizes == (False, True)
    assert results.pareto_numbers == {2}
    maximized = StudyResults("s", trials, None, objectives=("validation_accuracy", "validation_sparsity"))
    assert maximized.pareto_numbers == {1}  # both maximized: the high-loss, high-sparsity trial


# --------------------------------------------------------------------------- a stored log-loss study, on a fake engine


class LossFake(FakeEngine):
    """The fake engine, with figures of the predictions besides accuracy: a log loss that rises with accuracy."""

    name = "keras"

    def _steps(
        self, config: TrialConfig, seeds: Sequence[int], monitor: Monitor, validates: bool = False, task: Task = Task.CLASSIFICATION
    ) -> Generator[None, None, TrialResult]:
        result = yield from super()._steps(config, seeds, monitor, validates, task)
        figures = []
        for s in result.seeds:
            extra = {"test_log_loss": s.test_accuracy + unit(config, s.seed, "loss") / 100, "test_roc_auc": unit(config, s.seed, "auc")}
            if validates:
                extra |= {"validation_log_loss": 2 * s.validation_accuracy, "validation_roc_auc": unit(config, s.seed, "v auc")}
            figures.append(dataclasses.replace(s, **extra))
        return dataclasses.replace(result, seeds=tuple(figures))


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, actreg_search.Results, actreg_search.RunSummary]:
    url = f"sqlite:///{tmp_path_factory.mktemp('loss') / 'loss.db'}"
    spec = actreg_search.make_spec(
        "loss", model={"hidden_units": 4, "epochs": 2}, objectives=["log_loss"], n_trials=8, seeds=5, sampler="random",
        space={"regularizer": ["none", "l1"], "coefficient": {"low": 1e-4, "high": 1e-1, "log": True}},
    )
    summary = actreg_search.run(spec, url, engine=LossFake(), progress=False)
    return url, actreg_search.load("loss", url), summary


def test_a_stored_log_loss_study_is_minimized_and_its_best_is_the_lowest(stored):
    url, results, summary = stored
    assert optuna.load_study(study_name="loss", storage=url).direction is StudyDirection.MINIMIZE
    done = [t for t in results.trials if t.complete]
    lowest = min(done, key=lambda t: t.mean("validation_log_loss"))
    highest_accuracy = max(done, key=lambda t: t.mean("validation_accuracy"))
    assert lowest.number != highest_accuracy.number  # the fake's log loss rises with its accuracy
    assert results.objectives == ("validation_log_loss",)
    assert results.best.number == lowest.number
    assert results.best.value == pytest.approx(lowest.mean("validation_log_loss"))
    assert [t.value for t in results.top(8)] == sorted(t.value for t in done)
    assert (summary.best_trial, summary.best_value) == (lowest.number, pytest.approx(lowest.value))
    assert summary.selects_on == "validation_log_loss"
    assert actreg_search.studies(url)[0].best_trial == lowest.number


def test_the_live_best_value_is_the_lowest_so_far(stored):
    from actreg_search.search.loop import _best_value

    url, results, _ = stored
    study = optuna.load_study(study_name="loss", storage=url)
    assert _best_value(study, results.spec) == pytest.approx(min(t.value for t in results.trials if t.complete))


def test_paired_wins_count_the_lower_log_loss(stored):
    _, results, _ = stored
    a, b = results.best, results.top(8)[-1]  # a is better: lower
    comparison = results.compare(b, a, metric="log_loss", on="validation")
    assert comparison.metric == "validation_log_loss" and comparison.mean_difference < 0
    lower = sum(x < y for x, y in zip(a.per_seed["validation_log_loss"], b.per_seed["validation_log_loss"]))
    assert comparison.wins == lower > 0  # seeds where a (b of the comparison) is lower, so better
    assert comparison.describe().startswith(f"trial {a.number} beats trial {b.number} on validation log loss by")


def test_show_lists_the_log_loss_on_both_splits_best_first(stored, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "400")  # a table wide enough that no heading wraps
    url, results, _ = stored
    done = CliRunner().invoke(app, ["show", "loss", "--storage", url, "--top", "3"], catch_exceptions=False)
    assert done.exit_code == 0
    assert "val. log loss" in done.stdout and "test log loss" in done.stdout
    assert "by validation log loss" in done.stdout
    best = results.best
    assert f"{best.mean('validation_log_loss'):.4f} ± {best.std('validation_log_loss'):.4f}" in done.stdout
    assert "best trial's objective figures: validation log loss" in done.stdout
    rows = [done.stdout.index(f"│ {t.number} ") for t in results.top(3)]
    assert rows == sorted(rows)  # listed best (lowest) first
    assert [t.value for t in results.top(3)] == sorted(t.value for t in results.top(3))


def test_the_dashboard_draws_the_log_loss_in_its_direction(stored, tmp_path: Path):
    _, loaded, _ = stored
    results = loaded.results
    table = trial_table(results)
    at = table.columns.index("validation log loss (mean ± std)")
    assert table.columns[at + 1] == "test log loss (mean ± std)"
    best = results.best
    assert "validation log loss" in best_html("Best trial", best, results)
    history = optimization_history(results)
    assert history.axis_title == "mean validation log loss (what the study selects on, lower is better)"
    assert list(history.best_so_far) == sorted(history.best_so_far, reverse=True)  # the lowest so far
    assert history.best_so_far[-1] == pytest.approx(best.value)
    assert all(low <= mean <= high for low, mean, high in zip(history.lows, history.means, history.highs))
    assert optuna_input(results).study.directions == [StudyDirection.MINIMIZE]
    assert loaded.figure("parallel", objective="log_loss").data  # the objective by its study-file name
    page = loaded.write_dashboard(tmp_path / "report.html").read_text()
    assert "validation log loss" in page and "mean validation log loss, lower is better" in page


def test_the_export_carries_the_figures_mean_and_std(stored):
    _, results, _ = stored
    (entry,) = results.best_configs(1)
    assert entry["trial"] == results.best.number
    assert entry["validation_log_loss_mean"] == pytest.approx(results.best.mean("validation_log_loss"))
    assert entry["test_log_loss_mean"] == pytest.approx(results.best.mean("test_log_loss"))
    assert "test_log_loss_mean" in results.frame().columns


def test_a_figure_a_seed_lacks_fails_the_trial_with_its_reason(tmp_path: Path):
    """The plain fake records no log loss: every trial fails, saying which figure was not measured."""
    spec = actreg_search.make_spec("none", model={"hidden_units": 4, "epochs": 2}, objectives=["log_loss"], n_trials=1, seeds=2)
    url = f"sqlite:///{tmp_path / 'f.db'}"
    actreg_search.run(spec, url, engine=FakeEngine(), progress=False)
    (failed,) = actreg_search.load("none", url).trials
    assert failed.state is TrialState.FAIL
    assert failed.fail_reason == "ValueError: validation_log_loss was not measured on every seed, so the trial has no mean of it"


# --------------------------------------------------------------------------- end to end, on the real engines


def test_a_log_loss_study_through_the_cli_on_the_keras_engine(tmp_path: Path):
    study = tmp_path / "study.toml"
    study.write_text(study_file('["log_loss"]').replace("seeds = 5", "seeds = 2").replace("n_trials = 6", "n_trials = 2"))
    url = f"sqlite:///{tmp_path / 'k.db'}"
    done = CliRunner().invoke(app, ["run", str(study), "--storage", url, "--recycle-mb", "0"], catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    results = actreg_search.load("obj", url)
    stored = optuna.load_study(study_name="obj", storage=url)
    assert stored.direction is StudyDirection.MINIMIZE
    assert [t.state for t in results.trials] == [TrialState.COMPLETE] * 2
    lowest = min(results.trials, key=lambda t: t.mean("validation_log_loss"))
    assert results.best.number == lowest.number == stored.best_trial.number
    assert f"best log loss {lowest.value:.4f} on validation (trial {lowest.number})" in done.stdout
    for t in results.trials:
        assert t.value == pytest.approx(t.mean("validation_log_loss"))
        for name in ("test_balanced_accuracy", "test_macro_f1", "test_roc_auc", "validation_roc_auc", "test_log_loss"):
            assert len(t.per_seed[name]) == 2 and all(math.isfinite(v) for v in t.per_seed[name])


def test_a_log_loss_study_through_the_python_api_on_the_fused_engine(tmp_path: Path):
    spec = actreg_search.make_spec(
        "api", model={"hidden_units": 4, "epochs": 3, "engine": "fused"}, objectives="log_loss", n_trials=3, seeds=2,
        sampler="random", space={"regularizer": ["none", "l1"], "coefficient": {"low": 1e-4, "high": 1e-1, "log": True}},
    )
    url = f"sqlite:///{tmp_path / 'f.db'}"
    summary = actreg_search.run(spec, url, progress=False)
    results = actreg_search.load("api", url)
    assert optuna.load_study(study_name="api", storage=url).directions == [StudyDirection.MINIMIZE]
    lowest = min(results.trials, key=lambda t: t.mean("validation_log_loss"))
    assert results.best.number == lowest.number == summary.best_trial
    assert summary.best_value == pytest.approx(lowest.mean("validation_log_loss"))
    assert results.selection_metric == "validation_log_loss" and results.objectives == ("validation_log_loss",)
