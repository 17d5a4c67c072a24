from __future__ import annotations

import json

import keras
import pandas as pd
import pytest
import yaml

from actreg_search.parser import load_spec
from actreg_search.errors import UserError
from actreg_search.export import Format, best_entries, render_best, save_best_model, write_trials
from actreg_search.reader import load_results
from actreg_search.storage import open_storage
from actreg_search.study import run_study


@pytest.fixture(scope="module")
def stored(tmp_path_factory, study_text):
    folder = tmp_path_factory.mktemp("export")
    path = folder / "study.toml"
    path.write_text(study_text(n_trials=3, seeds=2))
    url = f"sqlite:///{folder / 'e.db'}"
    run_study(load_spec(path), url)
    return load_results(open_storage(url, create=False), "tiny")


def test_best_entries_are_ranked_with_per_seed_figures(stored):
    entries = best_entries(stored, 2)
    assert [e["rank"] for e in entries] == [1, 2]
    assert entries[0]["test_accuracy_mean"] >= entries[1]["test_accuracy_mean"]
    seeds = entries[0]["per_seed"]
    assert [s["seed"] for s in seeds] == [0, 1]
    assert {"test_accuracy", "train_accuracy", "train_loss", "gap", "sparsity"} <= set(seeds[0])
    assert entries[0]["space"]["hidden_units"] == entries[0]["config"]["hidden_units"]


def test_formats(stored):
    entries = best_entries(stored, 3)
    assert json.loads(render_best(entries, Format.JSON)) == entries
    assert yaml.safe_load(render_best(entries, Format.YAML)) == entries
    from io import StringIO

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
    path = tmp_path / "best.keras"
    trial = save_best_model(stored, path)
    model = keras.saving.load_model(path, safe_mode=True)
    assert model.get_layer("hidden").units == trial.config.hidden_units
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras"]


def test_written_files_follow_the_umask(tmp_path):
    import os

    from actreg_search.export import write_text

    path = tmp_path / "x.json"
    write_text(path, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
