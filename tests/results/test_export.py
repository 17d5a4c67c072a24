"""Exports of a study read back: in-memory records, as the reader builds them from stored trials."""

from __future__ import annotations

import json
from io import StringIO

import optuna
import pandas as pd
import pytest
import yaml
from optuna.distributions import CategoricalDistribution

from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.engine.base import SeedResult, TrialResult
from actreg_search.errors import UserError
from actreg_search.results.export import Format, best_entries, model_trial, render_best, save_best_model, write_trials
from actreg_search.spec.parser import parse_spec
from actreg_search.store.reader import record_of
from actreg_search.store.recorder import completed_attrs
from actreg_search.results.records import StudyResults
from actreg_search.spec.vocab import Placement, Regularizer

SPEC = parse_spec(
    '[study]\nname = "tiny"\nseeds = 2\n[data]\nname = "circles"\nn_samples = 100\ntrain_size = 30\n'
    '[model]\nhidden_units = 4\nepochs = 3\nengine = "keras"\n'
)


def trial(
    number: int, tests: tuple[float, float], regularizer: Regularizer = Regularizer.L2, vals: tuple[float, float] | None = None
):
    """A completed trial as the reader returns it, with these per-seed test accuracies (and validation ones, if given:
    the trial's value is then their mean, as the objective stores it)."""
    config = TrialConfig(
        regularizer=regularizer, placement=None if regularizer is Regularizer.NONE else Placement.KERNEL,
        l1=0.0, l2=0.0 if regularizer is Regularizer.NONE else 1e-3, hidden_units=4 + number, epochs=3,
    )
    seeds = tuple(
        SeedResult(seed=i, train_accuracy=0.9, test_accuracy=t, train_loss=0.2, activation_mean=0.3, sparsity=0.4,
                   train_curve=(0.9,), test_curve=(t,), validation_accuracy=None if vals is None else vals[i],
                   validation_sparsity=None if vals is None else 0.5)
        for i, t in enumerate(tests)
    )
    frozen = optuna.trial.create_trial(
        value=sum(vals or tests) / 2,
        params={"regularizer": regularizer.value},
        distributions={"regularizer": CategoricalDistribution([r.value for r in Regularizer])},
        user_attrs={attrs.CONFIG: config.to_dict(), **completed_attrs(TrialResult(seeds, (3,), 0.1, "keras"))},
    )
    frozen.number = number
    return record_of(frozen)


@pytest.fixture(scope="module")
def stored() -> StudyResults:
    trials = (trial(0, (0.7, 0.8)), trial(1, (0.9, 0.8)), trial(2, (0.6, 0.7), Regularizer.NONE))
    return StudyResults(name="tiny", trials=trials, spec=SPEC)


def test_best_entries_are_ranked_with_per_seed_figures(stored):
    entries = best_entries(stored, 2)
    assert [e["rank"] for e in entries] == [1, 2] and [e["trial"] for e in entries] == [1, 0]
    assert entries[0]["test_accuracy_mean"] >= entries[1]["test_accuracy_mean"]
    seeds = entries[0]["per_seed"]
    assert [s["seed"] for s in seeds] == [0, 1]
    assert {"test_accuracy", "train_accuracy", "train_loss", "gap", "sparsity"} <= set(seeds[0])
    assert entries[0]["space"]["hidden_units"] == entries[0]["config"]["hidden_units"]


def test_a_validation_study_exports_its_best_by_validation_with_both_figures():
    trials = (trial(0, (0.9, 0.9), vals=(0.6, 0.6)), trial(1, (0.5, 0.5), vals=(0.8, 0.7)))
    results = StudyResults(name="tiny", trials=trials, spec=SPEC, objectives=("validation_accuracy",))
    (entry,) = best_entries(results, 1)
    assert entry["trial"] == 1  # the better validation accuracy, not the better test accuracy
    assert entry["validation_accuracy_mean"] == pytest.approx(0.75) and entry["test_accuracy_mean"] == pytest.approx(0.5)
    assert entry["per_seed"][0]["validation_accuracy"] == 0.8
    assert "validation_accuracy_mean" not in best_entries(StudyResults(name="old", trials=(trial(2, (0.7, 0.7)),), spec=SPEC), 1)[0]


def test_formats(stored):
    entries = best_entries(stored, 3)
    assert json.loads(render_best(entries, Format.JSON)) == entries
    assert yaml.safe_load(render_best(entries, Format.YAML)) == entries
    frame = pd.read_csv(StringIO(render_best(entries, Format.CSV)))
    assert len(frame) == 3 and "test_accuracy.seed1" in frame.columns


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_trials_table(stored, tmp_path, suffix):
    path = tmp_path / f"trials{suffix}"
    assert write_trials(stored, path) == 3
    frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert list(frame["number"]) == [0, 1, 2]
    assert {"test_accuracy_mean", "test_accuracy_std", "sparsity_mean", "test_accuracy_seed0", "params_regularizer"} <= set(frame.columns)


def test_unknown_table_suffix_writes_nothing(stored, tmp_path):
    with pytest.raises(UserError, match="allowed: .csv, .parquet"):
        write_trials(stored, tmp_path / "trials.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_best_model_loads_in_safe_mode(stored, tmp_path):
    import keras

    path = tmp_path / "best.keras"
    saved = save_best_model(stored, path)
    assert saved.number == 1
    model = keras.saving.load_model(path, safe_mode=True)
    assert model.get_layer("hidden").units == saved.config.hidden_units == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]


def test_the_model_trial_is_the_best_and_needs_the_studys_spec(stored):
    assert model_trial(stored).number == stored.leading(1)[0].number == 1
    with pytest.raises(UserError, match="not created by actreg-search"):
        model_trial(StudyResults(name="x", trials=stored.trials, spec=None))
    with pytest.raises(UserError, match="no completed trial to export"):
        model_trial(StudyResults(name="x", trials=(), spec=SPEC))


def test_written_files_follow_the_umask(tmp_path):
    import os

    from actreg_search.results.export import write_text

    path = tmp_path / "x.json"
    write_text(path, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_trials_table_has_each_marked_layers_figures():
    from optuna.trial import TrialState

    from actreg_search.results.export import trials_frame
    from actreg_search.results.records import TrialRecord

    record = TrialRecord(
        number=0, state=TrialState.COMPLETE, params={}, config=None, values=(0.7,), seeds=(0, 1),
        per_seed={"test_accuracy": (0.6, 0.8), "sparsity": (0.4, 0.6)}, wall_time_s=1.0, duration_s=1.0,
        fail_reason=None, per_layer={"sparsity": {"h1": (0.2, 0.4), "h2": (0.6, 0.8)}},
    )
    row = trials_frame(StudyResults("s", (record,), None)).iloc[0]
    assert row["sparsity_mean"] == pytest.approx(0.5)
    assert (row["sparsity[h1]_mean"], row["sparsity[h2]_mean"]) == (pytest.approx(0.3), pytest.approx(0.7))
