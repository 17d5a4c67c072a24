"""The command line, through Click's CliRunner: tiny stored studies, the fake engine, no TensorFlow.

Two tests spawn real processes, where a process is the point: the installed
console script (read by Optuna's own CLI too), and a clean interpreter showing
that reading a study imports no training stack.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import optuna

import actreg_search
import pytest
from click.testing import CliRunner, Result
from optuna.distributions import CategoricalDistribution

from actreg_search import console as streams
from actreg_search.store import keys as attrs
from actreg_search.cli import app, main
from actreg_search.spec.trial import TrialConfig
from actreg_search.engine import ENGINES
from actreg_search.engine.base import SeedResult, TrialResult
from actreg_search.spec.parser import parse_spec
from actreg_search.store.recorder import completed_attrs
from actreg_search.spec.specs import spec_to_raw
from actreg_search.results.paired import CONSTANT_NOTE
from actreg_search.store.storage import open_storage
from actreg_search.spec.vocab import EngineName, Placement, Regularizer
from tests.fakes import FakeEngine

NAN_OR_INF = re.compile(r"\b(nan|inf)\b", re.IGNORECASE)


def invoke(*args: object, input: str | None = None) -> Result:
    """Run the app in-process, as the console script would, and return what it printed and its exit code."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials of a study file with ``engine = "keras"`` train on the fake engine, in this process."""
    monkeypatch.setitem(ENGINES, EngineName.KERAS, FakeEngine)


# --------------------------------------------------------------------------- stored studies, written by hand

SPEC = parse_spec(
    '[study]\nname = "tiny"\nseeds = 5\n[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\n'
    '[model]\nhidden_units = 4\nepochs = 3\nengine = "keras"\n'
    '[space]\nregularizer = ["none", "l1"]\nplacement = ["pre_activation"]\ncoefficient = [1e-4]\n'
)
SPEC_HOLDOUT = parse_spec(
    '[study]\nname = "val"\nseeds = 5\n[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\nvalidation = 0.2\n'
    '[model]\nhidden_units = 4\nepochs = 3\nengine = "keras"\n'
    '[space]\nregularizer = ["none", "l1"]\nplacement = ["pre_activation"]\ncoefficient = [1e-4]\n'
)
REGULARIZER = CategoricalDistribution(["none", "l1"])


def stored_trial(tests: Sequence[float], regularized: bool, validations: Sequence[float] | None = None) -> optuna.trial.FrozenTrial:
    """A completed trial with these per-seed test (and validation) accuracies, as the recorder writes one.

    Its value, what the study ranks on, is the mean validation accuracy where given, else the mean test accuracy.
    """
    config = TrialConfig(
        regularizer=Regularizer.L1 if regularized else Regularizer.NONE,
        placement=Placement.PRE_ACTIVATION if regularized else None,
        l1=1e-4 if regularized else 0.0, l2=0.0, hidden_units=4, epochs=3,
    )
    measured = [None] * len(tests) if validations is None else list(validations)
    seeds = tuple(
        SeedResult(seed=i, train_accuracy=1.0, test_accuracy=t, train_loss=0.1, activation_mean=0.2, sparsity=0.5,
                   train_curve=(0.5, 1.0), test_curve=(0.4, t), validation_accuracy=v,
                   validation_sparsity=None if v is None else 0.4 + 0.01 * i, validation_curve=() if v is None else (0.4, v))
        for i, (t, v) in enumerate(zip(tests, measured, strict=True))
    )
    result = TrialResult(seeds=seeds, curve_epochs=(1, 3), wall_time_s=0.5, engine="keras")
    ranked_on = tests if validations is None else validations
    return optuna.trial.create_trial(
        value=sum(ranked_on) / len(ranked_on),
        params={"regularizer": config.regularizer.value},
        distributions={"regularizer": REGULARIZER},
        user_attrs={attrs.CONFIG: config.to_dict(), **completed_attrs(result)},
    )


def store(url: str, *trials: tuple, name: str = "tiny", spec=SPEC, split: dict[str, int] | None = None) -> str:
    """A study of completed trials ``(per-seed test accuracies, regularized[, validation accuracies])`` in ``url``.

    Returns its name.
    """
    study = optuna.create_study(study_name=name, storage=open_storage(url, create=True), direction="maximize")
    study.set_user_attr(attrs.SPEC, spec_to_raw(spec))
    if split is not None:
        study.set_user_attr(attrs.SPLIT, split)
    for trial in trials:
        study.add_trial(stored_trial(*trial))
    return name


BASE = (0.70, 0.74, 0.71, 0.76, 0.73)
THREE = ((BASE, False), (tuple(x + 0.05 for x in BASE), True), ((0.74, 0.72, 0.77, 0.73, 0.76), True))
#: Ranked on validation: trial 1 is the best there (80%), trial 2 the best on test (76.4%).
VALIDATED = (
    (BASE, False, (0.72, 0.70, 0.74, 0.71, 0.73)),
    ((0.72, 0.75, 0.74, 0.77, 0.72), True, (0.80, 0.78, 0.82, 0.79, 0.81)),
    ((0.75, 0.77, 0.76, 0.79, 0.75), True, (0.76, 0.75, 0.78, 0.74, 0.77)),
)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Database files made once (creating Optuna's schema takes a while): an empty study, :data:`THREE`, :data:`VALIDATED`."""
    folder = tmp_path_factory.mktemp("templates")
    empty, three, validated = folder / "empty.db", folder / "three.db", folder / "validated.db"
    optuna.create_study(study_name="tiny", storage=open_storage(f"sqlite:///{empty}", create=True))
    store(f"sqlite:///{three}", *THREE)
    split = {"train": 24, "validation": 6, "test": 70, "folds": 1}
    store(f"sqlite:///{validated}", *VALIDATED, name="val", spec=SPEC_HOLDOUT, split=split)
    return {"empty": empty, "three": three, "validated": validated}


@pytest.fixture
def three(templates: dict[str, Path], storage_url: str) -> str:
    """A stored 3-trial study named ``tiny`` at ``storage_url``: trial 1 is the best, trial 0 plus 5 points on every seed.

    Made before validation existed: it reads back as selected on the test set.
    """
    shutil.copyfile(templates["three"], storage_url.removeprefix("sqlite:///"))
    return "tiny"


@pytest.fixture
def validated(templates: dict[str, Path], storage_url: str) -> str:
    """A stored 3-trial study named ``val`` with 20% held out per seed (:data:`VALIDATED`)."""
    shutil.copyfile(templates["validated"], storage_url.removeprefix("sqlite:///"))
    return "val"


# --------------------------------------------------------------------------- run, list, show, export


def test_end_to_end(write_study, storage_url, fake_engine):
    study = write_study(n_trials=2)
    done = invoke("run", study, "--storage", storage_url, "--recycle-mb", "0", "--batch", "2")
    assert done.exit_code == 0, done.output
    assert "2/2 finished" in done.stdout
    assert optuna.load_study(study_name="tiny", storage=storage_url).user_attrs[attrs.SPEC]["study"]["batch"] == 2
    done = invoke("run", study, "--storage", storage_url, "--recycle-mb", "0", "--n-trials", "3")  # another batch: resumes
    assert done.exit_code == 0 and "3/3 finished, 1 run now" in done.stdout

    listing = invoke("list", "--storage", storage_url)
    assert listing.exit_code == 0 and re.search(r"tiny\s.*\b3\b", listing.stdout)
    shown = invoke("show", "tiny", "--storage", storage_url, "--top", "2")
    assert shown.exit_code == 0 and "tiny: top 2 of 3 complete" in shown.stdout and "±" in shown.stdout


def test_show_says_how_many_it_shows(three, storage_url):
    shown = invoke("show", "tiny", "--storage", storage_url)  # --top 10 by default
    assert "tiny: top 3 of 3 complete" in shown.stdout and "top 10" not in shown.stdout


#: ``show tiny`` of :data:`THREE` as it printed before validation existed (a study selected on the test set).
SHOW_THREE = """\
tiny: top 3 of 3 complete
┏━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━┓
┃ trial ┃ config                               ┃ test acc        ┃ train acc ┃ gap     ┃ sparsity ┃ act. mean ┃ time s ┃
┡━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━┩
│ 1     │ l1 · pre_activation 1.0e-04, 4 units │ 0.7780 ± 0.0239 │ 1.0000    │ +0.2220 │ 0.500    │ 0.2000    │ 0.5    │
│ 2     │ l1 · pre_activation 1.0e-04, 4 units │ 0.7440 ± 0.0207 │ 1.0000    │ +0.2560 │ 0.500    │ 0.2000    │ 0.5    │
│ 0     │ none, 4 units                        │ 0.7280 ± 0.0239 │ 1.0000    │ +0.2720 │ 0.500    │ 0.2000    │ 0.5    │
└───────┴──────────────────────────────────────┴─────────────────┴───────────┴─────────┴──────────┴───────────┴────────┘
3 complete, 0 failed, 0 pruned, 0 running
"""


def test_show_of_a_study_selected_on_the_test_set_keeps_its_table_and_says_how_it_selected(three, storage_url, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table's own width, whatever terminal the tests run in
    shown = invoke("show", "tiny", "--storage", storage_url)
    assert shown.exit_code == 0
    assert shown.stdout == SHOW_THREE + (
        "protocol: selected on the test set (the tutorial's protocol): trials are ranked on test accuracy, the figure "
        "reported, so the best trial's test accuracy is optimistic (it was chosen for being the highest); there is no "
        "validation figure to set beside it.\n"
        "best trial by test accuracy: trial 1 (l1 · pre_activation 1.0e-04, 4 units): test 77.8% ± 2.4%, selected on "
        "the test set.\n"
    )


def test_show_of_a_validation_study_has_a_validation_column_and_the_best_trials_two_figures(validated, storage_url, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table's own width, whatever terminal the tests run in
    shown = invoke("show", "val", "--storage", storage_url)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "val: top 3 of 3 complete, by validation accuracy"
    header = [cell.strip() for cell in lines[2].split("┃")[1:-1]]
    assert header == ["trial", "config", "val. acc", "test acc", "train acc", "gap", "sparsity", "act. mean", "time s"]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("1", "0.8000 ± 0.0158", "0.7400 ± 0.0212"),  # best on validation, though trial 2 is better on test
        ("2", "0.7600 ± 0.0158", "0.7640 ± 0.0167"),
        ("0", "0.7200 ± 0.0158", "0.7280 ± 0.0239"),
    ]
    assert lines[-2:] == [
        "protocol: 20% of the training split held out per seed (24 train / 6 validation / 70 test): trials are ranked on "
        "validation accuracy; test accuracy is measured for every trial and never used to choose.",
        "best trial by validation accuracy: trial 1 (l1 · pre_activation 1.0e-04, 4 units): validation 80.0% ± 1.6%, "
        "test 74.0% ± 2.1%; test − validation: -6.0 points.",
    ]


def test_export_prints_the_best_configs_only_when_nothing_else_is_asked_for(three, storage_url, tmp_path):
    printed = invoke("export", "tiny", "--storage", storage_url, "--top", "2")
    assert printed.exit_code == 0 and [e["trial"] for e in json.loads(printed.stdout)] == [1, 2]

    table = tmp_path / "t.csv"
    only_table = invoke("export", "tiny", "--storage", storage_url, "--trials", table)
    assert only_table.exit_code == 0 and only_table.stdout == ""
    assert only_table.stderr == f"wrote 3 trials to {table}\n" and table.exists()

    best = tmp_path / "best.json"
    both = invoke("export", "tiny", "--storage", storage_url, "--top", "5", "--out", best, "--trials", table)
    assert both.exit_code == 0 and both.stdout == ""
    assert f"wrote the best 3 config(s) to {best}" in both.stderr
    entries = json.loads(best.read_text())
    assert [e["trial"] for e in entries] == [1, 2, 0] and len(entries[0]["per_seed"]) == 5


def test_export_model_says_what_it_retrains(three, storage_url, tmp_path):
    model = tmp_path / "m.keras"
    done = invoke("export", "tiny", "--storage", storage_url, "--model", model)
    assert done.exit_code == 0, done.output
    assert done.stdout == ""
    first, last = done.stderr.splitlines()[0], done.stderr.splitlines()[-1]
    # a study stored before validation: selected on the test set, its sample counts not kept
    assert first == "retraining trial 1 (l1 · pre_activation 1.0e-04, 4 units) on seed 0, the whole training split, for 3 epochs"
    assert last == f"wrote trial 1's model (seed 0, fused engine) to {model}" and model.exists()


def test_reading_commands_use_the_read_model_without_curves(three, storage_url, tmp_path, monkeypatch):
    """list/show/compare/report/export read through reader.load_results/list_studies, never Optuna's study objects."""
    from actreg_search.store import reader

    calls: list[dict] = []
    real = reader.load_results

    def spy(storage, name, **kwargs):
        calls.append(kwargs)
        return real(storage, name, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("a reading command went around the read model")

    monkeypatch.setattr(reader, "load_results", spy)
    monkeypatch.setattr(optuna, "load_study", refuse)
    monkeypatch.setattr(optuna.Study, "get_trials", refuse)
    for args in (["list"], ["show", "tiny"], ["compare", "tiny"], ["report", "tiny"],
                 ["export", "tiny", "--trials", tmp_path / "t.csv"], ["export", "tiny"]):
        assert invoke(*args, "--storage", storage_url).exit_code == 0, args
    assert len(calls) == 5 and all(kwargs.get("curves", "none") == "none" for kwargs in calls)


def test_show_gives_each_marked_layers_sparsity(storage_url, monkeypatch):
    """A trial penalizing several layers: ``show`` gives each layer's mean sparsity over seeds beside the pooled one."""
    import dataclasses

    monkeypatch.setenv("COLUMNS", "200")  # the table at full width, whatever the test process's terminal

    trial = stored_trial(BASE, True)
    seeds = tuple(
        dataclasses.replace(s, layer_sparsity=(("h1", 0.5 + i / 10), ("h2", 0.25)), layer_activation_mean=(("h1", 0.1), ("h2", 0.2)))
        for i, s in enumerate(TrialResult(seeds=_seed_results(BASE), curve_epochs=(1, 3), wall_time_s=0.5, engine="keras").seeds)
    )
    result = TrialResult(seeds=seeds, curve_epochs=(1, 3), wall_time_s=0.5, engine="keras", layers=("h1", "h2"))
    trial = optuna.trial.create_trial(
        value=trial.value, params=trial.params, distributions=trial.distributions,
        user_attrs={attrs.CONFIG: trial.user_attrs[attrs.CONFIG], **completed_attrs(result)},
    )
    study = optuna.create_study(study_name="layered", storage=open_storage(storage_url, create=True), direction="maximize")
    study.set_user_attr(attrs.SPEC, spec_to_raw(SPEC))
    study.add_trial(trial)
    done = invoke("show", "layered", "--storage", storage_url)
    assert done.exit_code == 0, done.output
    h1 = sum(0.5 + i / 10 for i in range(len(BASE))) / len(BASE)  # 0.7: seeds 0.5 ... 0.9
    assert "sparsity by layer" in done.stdout
    assert f"h1 {h1:.3f} · h2 0.250" in done.stdout
    plain = storage_url.replace(".db", "-plain.db")
    store(plain, *THREE)
    assert "sparsity by layer" not in invoke("show", "tiny", "--storage", plain).stdout


def _seed_results(tests: Sequence[float]) -> tuple[SeedResult, ...]:
    return tuple(
        SeedResult(seed=i, train_accuracy=1.0, test_accuracy=x, train_loss=0.1, activation_mean=0.2, sparsity=0.5,
                   train_curve=(0.5, 1.0), test_curve=(0.4, x))
        for i, x in enumerate(tests)
    )


# --------------------------------------------------------------------------- compare and report


def test_compare_never_prints_nan_or_inf_for_a_constant_difference(three, storage_url):
    done = invoke("compare", "tiny", "--storage", storage_url, "--trials", "0", "1")
    assert done.exit_code == 0
    assert not NAN_OR_INF.search(done.stdout), done.stdout
    row = next(line for line in done.stdout.splitlines() if re.match(r"\s*│?\s*0\s*│\s*1\s*│", line))
    assert "n/a" in row and "+∞" in row
    assert f"{CONSTANT_NOTE}: the t-test is undefined" in done.stdout.replace("\n", " ")
    assert "trial 1 beats trial 0 on test accuracy by 5.0 points" in done.stdout


def test_compare_identical_trials(storage_url):
    store(storage_url, (BASE, False), (BASE, True))
    done = invoke("compare", "tiny", "--storage", storage_url, "--trials", "0", "1")
    assert done.exit_code == 0 and not NAN_OR_INF.search(done.stdout)
    assert "no difference: trial 1 and trial 0 have the same test accuracy in all 5 seeds" in done.stdout


def test_compare_modes_and_errors(three, storage_url):
    for args in ([], ["--best-vs-baseline"], ["--top", "3"], ["--metric", "sparsity", "--trials", "0", "2"]):
        done = invoke("compare", "tiny", "--storage", storage_url, *args)
        assert done.exit_code == 0 and "Wilcoxon" in done.stdout and "95% CI" in done.stdout, args
    missing = invoke("compare", "tiny", "--storage", storage_url, "--trials", "0", "9")
    assert missing.exit_code == 2 and "has no trial 9" in missing.stderr
    both = invoke("compare", "tiny", "--storage", storage_url, "--top", "2", "--best-vs-baseline")
    assert both.exit_code == 2 and "give one of" in both.stderr


def test_compare_names_the_trials_it_took_as_baseline_and_challenger(validated, storage_url):
    """The default mode says which trial is the baseline and which the challenger, and why those two."""
    trials = actreg_search.load("val", storage_url).trials
    plain = [t for t in trials if not t.regularized]
    regularized = sorted((t for t in trials if t.regularized), key=lambda t: -sum(t.per_seed["validation_accuracy"]))
    assert len(plain) == 1 and [t.number for t in regularized] == [1, 2]  # trial 1 leads on validation, 2 on test
    done = invoke("compare", "val", "--storage", storage_url)
    assert done.exit_code == 0, done.output
    assert (
        f"baseline A: trial {plain[0].number} ({plain[0].config.label()}), the best unregularized; "
        f"B: trial 1 ({regularized[0].config.label()}), the best regularized"
    ) in done.stdout.replace("\n", "")
    pair = invoke("compare", "val", "--storage", storage_url, "--trials", "0", "1")
    assert "baseline A:" not in pair.stdout


def test_compare_on_either_split(validated, storage_url):
    by_default = invoke("compare", "val", "--storage", storage_url)  # best regularized (1) against the baseline (0)
    assert by_default.exit_code == 0, by_default.output
    assert by_default.stdout.splitlines()[0].strip() == "test accuracy (test split), paired by seed"
    assert "trial 1 beats trial 0 on test accuracy by 1.2 points" in by_default.stdout
    assert "note:" not in by_default.stdout  # ranked on validation: the test figures did not choose

    on_validation = invoke("compare", "val", "--storage", storage_url, "--on", "validation")
    assert on_validation.exit_code == 0, on_validation.output
    assert on_validation.stdout.splitlines()[0].strip() == "validation accuracy (validation split), paired by seed"
    assert "trial 1 beats trial 0 on validation accuracy by 8.0 points" in on_validation.stdout
    assert on_validation.stdout.splitlines()[-1] == (
        "note: validation accuracy is the figure this study ranked its trials on, so the best trial's lead on it is "
        "optimistic (it was chosen for being ahead); protocol: 20% of the training split held out per seed"
    )
    named = invoke("compare", "val", "--storage", storage_url, "--metric", "validation_accuracy")
    assert named.stdout == on_validation.stdout

    top = invoke("compare", "val", "--storage", storage_url, "--top", "3", "--on", "validation")
    assert re.findall(r"trial (\d) trails trial (\d) on validation accuracy", top.stdout) == [("2", "1"), ("0", "1")]
    sparsity = invoke("compare", "val", "--storage", storage_url, "--metric", "sparsity", "--on", "validation", "--trials", "0", "2")
    assert sparsity.exit_code == 0 and "validation sparsity (validation split)" in sparsity.stdout
    assert "no difference: trial 2 and trial 0 have the same validation sparsity in all 5 seeds" in sparsity.stdout


def test_metric_and_on_that_disagree_are_one_line_and_exit_2(validated, storage_url):
    for metric, on, message in (
        ("test_accuracy", "validation", "test_accuracy is measured on the test set, not on the validation split"),
        ("train_loss", "validation", "train_loss is measured on the training samples, not on the validation split"),
        ("validation_accuracy", "test", "validation_accuracy is measured on the validation samples, not on the test split"),
    ):
        done = invoke("compare", "val", "--storage", storage_url, "--metric", metric, "--on", on)
        assert done.exit_code == 2 and done.stdout == ""
        assert done.stderr.startswith("actreg-search: error: ") and done.stderr.count("\n") == 1
        assert message in done.stderr
    bad = invoke("compare", "val", "--storage", storage_url, "--on", "train")
    assert bad.exit_code == 2 and "'train' is not one of 'test', 'validation'" in bad.stderr


@pytest.mark.parametrize("command", ["compare", "report"])
def test_on_validation_without_validation_figures_is_one_line_and_exit_2(three, storage_url, command):
    done = invoke(command, "tiny", "--storage", storage_url, "--on", "validation")
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr == (
        "actreg-search: error: study 'tiny' has no validation figures to compare (it was selected on the test set "
        "(the tutorial's protocol)); use the test split\n"
    )


def test_compare_and_report_say_how_metric_and_on_combine():
    text = " ".join(invoke("compare", "--help").stdout.split())
    assert "--on [test|validation]" in text
    assert (
        "The figure compared (default: the study's headline, accuracy, a regression's rmse, an autoencoder's mse): "
        "accuracy, balanced_accuracy, macro_f1, roc_auc, log_loss, rmse, mae, mse (lower is better), r2 or sparsity, "
        "on the split --on names; or a per-seed figure by its full name" in text
    )
    assert "a --on naming another split than the figure's own is an error" in text
    assert "--on [test|validation]" in " ".join(invoke("report", "--help").stdout.split())


def test_report_on_either_split(validated, storage_url):
    on_test = invoke("report", "val", "--storage", storage_url)
    assert on_test.exit_code == 0, on_test.output
    assert "- Best trial by validation accuracy: trial 1 (l1 · pre_activation 1.0e-04, 4 units): validation 80.0% ± 1.6%, " \
        "test 74.0% ± 2.1%; test − validation: -6.0 points." in on_test.stdout
    assert "### Comparisons on test accuracy (test split), seed by seed" in on_test.stdout
    on_validation = invoke("report", "val", "--storage", storage_url, "--on", "validation")
    assert on_validation.exit_code == 0, on_validation.output
    assert "### Comparisons on validation accuracy (validation split), seed by seed" in on_validation.stdout
    assert "Holm's step-down correction over all 3 comparisons listed" in on_validation.stdout


def test_compare_refuses_too_few_shared_seeds(storage_url):
    store(storage_url, ((0.7, 0.8, 0.9), False), ((0.8, 0.8, 0.8), True))
    done = invoke("compare", "tiny", "--storage", storage_url, "--trials", "0", "1")
    assert done.exit_code == 2 and "share 3 seed(s)" in done.stderr


def test_report_writes_markdown_without_nan(three, storage_url, tmp_path):
    printed = invoke("report", "tiny", "--storage", storage_url)
    assert printed.exit_code == 0 and printed.stdout.startswith("## tiny: 3 models, 5 seeds each")
    assert not NAN_OR_INF.search(printed.stdout) and CONSTANT_NOTE in printed.stdout
    out = tmp_path / "report.md"
    written = invoke("report", "tiny", "--storage", storage_url, "--out", out)
    assert written.exit_code == 0 and written.stdout == "" and out.read_text() == printed.stdout


# --------------------------------------------------------------------------- delete


def test_delete_asks_and_deletes(three, storage_url):
    done = invoke("delete", "tiny", "--storage", storage_url, input="y\n")
    assert done.exit_code == 0
    assert "Delete study 'tiny' (3 trials: 3 complete" in done.stderr
    assert done.stdout == f"deleted study 'tiny' (3 trials: 3 complete, 0 failed, 0 pruned, 0 running) from {storage_url}\n"
    assert optuna.get_all_study_names(storage_url) == []
    assert invoke("list", "--storage", storage_url).stdout == f"no studies in {storage_url}\n"


@pytest.mark.parametrize("answer", [None, "", "n\n", "no\n"], ids=["no stdin", "end of input", "n", "no"])
def test_delete_without_a_yes_deletes_nothing(three, storage_url, answer):
    done = invoke("delete", "tiny", "--storage", storage_url, input=answer)
    assert done.exit_code == 1
    assert "nothing deleted; study 'tiny' is still there" in done.stderr.splitlines()[-1]
    assert optuna.get_all_study_names(storage_url) == ["tiny"]


def test_delete_yes_and_a_missing_study(three, storage_url):
    store(storage_url, (BASE, False), name="other")
    missing = invoke("delete", "nope", "--storage", storage_url, "--yes")
    assert missing.exit_code == 2
    assert missing.stderr == "actreg-search: error: no study named 'nope' in this storage; studies there: other, tiny\n"
    done = invoke("delete", "other", "--storage", storage_url, "--yes")
    assert done.exit_code == 0 and done.stdout.startswith("deleted study 'other' (1 trials:")
    assert optuna.get_all_study_names(storage_url) == ["tiny"]


# --------------------------------------------------------------------------- bad input

BAD_ARGS = [
    (["run", "{missing}"], "no such study file"),
    (["run", "{study}", "--epochs", "0"], "0 is not in the range x>=1"),
    (["run", "{study}", "--n-trials", "many"], "'many' is not a valid integer"),
    (["run", "{study}", "--storage", "nonsense"], "malformed"),
    (["show", "nope", "--storage", "{url}"], "no study named 'nope'"),
    (["show", "tiny", "--storage", "sqlite:///{tmp}/absent.db"], "no database at"),
    (["export", "tiny", "--storage", "{url}", "--format", "xml"], "'xml' is not one of 'json', 'yaml', 'csv'"),
    (["export", "tiny", "--storage", "{url}", "--model", "{tmp}/m.h5"], "must end in .keras"),
    (["export", "tiny", "--storage", "{url}", "--trials", "{tmp}/t.xlsx"], "allowed: .csv, .parquet"),
    (["export", "tiny", "--storage", "{url}", "--model", "{tmp}/m.keras"], "not created by actreg-search"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["show", "--bogus"], "error: show: No such option '--bogus'"),
    (["show", "tiny", "--storage", "sqlite:///{tmp}/notes.txt"], "file is not a database"),
    (["run", "{study}", "--storage", "postgresql://u:secret@127.0.0.1:1/db"], "storage postgresql://u:***@127.0.0.1:1/db"),
    (["run", "{bad_key}"], "[model] widht: unknown key; allowed: family"),
    (["run", "{bad_type}"], "[model] epochs: must be an integer, got '10' (str)"),
    (["run", "{bad_range}"], "[space] coefficient: low must be ≤ high"),
    (["run", "{non_finite}"], "[data] noise: must be finite, got nan"),
    (["run", "{empty_list}"], "[space] regularizer: must not be an empty list"),
    (["run", "{unknown_name}"], "[space] placement: unknown value 'inside'; allowed: pre_activation"),
    (["run", "{study}", "--seeds", "0"], "0 is not in the range x>=1"),
    (["run", "{study}", "--batch", "0"], "Invalid value for '--batch': 0 is not in the range x>=1"),
    (["run", "{study}", "--batch", "two"], "Invalid value for '--batch': 'two' is not a valid integer"),
    (["run", "{bad_batch}"], "[study] batch: must be ≥ 1, got 0"),
    (["list", "--storage", "sqlite:///{tmp}/no/such/dir.db"], "no database at"),
    (["delete", "tiny", "--storage", "sqlite:///{tmp}/absent.db", "--yes"], "no database at"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_ARGS, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(BAD_ARGS)])
def test_bad_input_is_one_line_and_exit_2(args, fragment, write_study, storage_url, tmp_path, templates):
    shutil.copyfile(templates["empty"], storage_url.removeprefix("sqlite:///"))  # an empty study named tiny
    (tmp_path / "notes.txt").write_text("not a database " * 200)
    good = write_study().read_text()
    variants = {
        "bad_key": good.replace("[model]\n", "[model]\nwidht = 3\n"),
        "bad_type": good.replace("epochs = 4", 'epochs = "10"'),
        "bad_range": good.replace("low = 1e-5, high = 1e-2", "low = 1e-2, high = 1e-5"),
        "non_finite": good.replace("noise = 0.1", "noise = nan"),
        "empty_list": good.replace('regularizer = ["none", "l1", "l2", "l1_l2"]', "regularizer = []"),
        "bad_batch": good.replace("seed = 0\n", "seed = 0\nbatch = 0\n"),
        "unknown_name": good.replace('placement = ["pre_activation", "post_activation", "kernel"]', 'placement = ["inside"]'),
    }
    values = {"study": tmp_path / "study.toml", "missing": tmp_path / "missing.toml", "url": storage_url, "tmp": tmp_path}
    for key, text in variants.items():
        (tmp_path / f"{key}.toml").write_text(text)
        values[key] = tmp_path / f"{key}.toml"
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    done = invoke(*[a.format(**values) for a in args])
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("actreg-search: error: ")
    assert fragment in done.stderr and done.stdout == ""
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert after == before


# --------------------------------------------------------------------------- pipes and widths


@pytest.fixture
def reader_gone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """A function pointing ``sys.stdout`` or ``sys.stderr`` (by name) at a pipe whose reader has exited."""

    def broken(name: str) -> None:
        read, write = os.pipe()
        os.close(read)
        stream = io.TextIOWrapper(io.FileIO(write, "w"), write_through=False)
        monkeypatch.setattr(sys, name, stream)
        opened.append(stream)

    opened: list[io.TextIOWrapper] = []
    yield broken
    for stream in opened:
        try:
            stream.close()
        except OSError:
            pass


def test_a_reader_that_goes_away_costs_no_traceback_and_keeps_the_exit_code(three, storage_url, reader_gone):
    reader_gone("stdout")
    assert main(["list", "--storage", storage_url]) == 0  # actreg-search list | head -0
    assert main(["report", "tiny", "--storage", storage_url]) == 0
    reader_gone("stderr")
    assert main(["show", "nope", "--storage", storage_url]) == 2  # its one-line error has nowhere to go


def test_an_interrupted_run_printing_to_a_dead_pipe_still_exits_130(write_study, storage_url, reader_gone, monkeypatch):
    from actreg_search.search import study

    def interrupted(spec, url, *args, **kwargs):
        return types.SimpleNamespace(
            study_name=spec.study.name, storage=url, target=3, finished=1, ran=1, failed=0,
            best_value=0.5, best_trial=0, reason=study.StopReason.INTERRUPTED, selects_on="validation_accuracy",
        )

    monkeypatch.setattr(study, "run_study", interrupted)
    reader_gone("stdout")
    assert main(["run", str(write_study()), "--storage", storage_url]) == 130


@pytest.mark.parametrize(("columns", "width"), [(None, 160), ("100", 100)])
def test_tables_are_not_wrapped_at_80_columns_when_piped(columns, width, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    assert streams.PipeSafeConsole(width=streams.width(io.StringIO())).width == width


def test_trial_lines_are_not_wrapped_when_stderr_is_not_a_terminal(write_study, storage_url, fake_engine, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    space = 'regularizer = "l1_l2"\nplacement = "post_activation"\ncoefficient = { low = 1e-5, high = 1e-2, log = true }\n'
    study = write_study(n_trials=1, seeds=1, epochs=2, space=space)
    done = invoke("run", study, "--storage", storage_url, "--recycle-mb", "0")
    assert done.exit_code == 0, done.output
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("trial 0 ") and "sparsity" in line]
    assert len(line) > 80 and "l1_l2 · post_activation" in line


# --------------------------------------------------------------------------- real processes


def test_console_script_and_optuna_cli_read_the_study(write_study, tmp_path, fake_engine):
    """The installed script and Optuna's own CLI read a study that ``run`` wrote (in this process, fake engine)."""
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert invoke("run", write_study(n_trials=2, seeds=1, epochs=2), "--storage", url, "--recycle-mb", "0").exit_code == 0
    env = {**os.environ, "ACTREG_STORAGE": url}
    script = shutil.which("actreg-search", path=str(Path(sys.executable).parent))
    shown = subprocess.run([script, "show", "tiny"], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "top 2 of 2 complete" in shown.stdout, shown.stderr
    optuna_cli = shutil.which("optuna", path=str(Path(sys.executable).parent))
    listed = subprocess.run([optuna_cli, "trials", "--study-name", "tiny", "--storage", url, "-f", "json"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    bad = subprocess.run([script, "run", tmp_path / "nope.toml"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0


def test_reading_a_study_does_not_load_the_training_stack():
    """list/show/compare read results only: no TensorFlow, Keras or scikit-learn to import (seconds each)."""
    code = (
        "import sys, actreg_search.cli, actreg_search.results.records, actreg_search.results.stats\n"
        "print(sorted(m for m in ('sklearn', 'tensorflow', 'keras', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_importing_the_command_line_imports_no_heavy_library():
    """The CLI imports the API, whose names are lazy: ``list`` pays for Optuna's tables, not for scipy or pandas."""
    import subprocess
    import sys

    code = (
        "import sys, actreg_search.cli; "
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'plotly', 'optuna', 'scipy', 'sqlalchemy') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
