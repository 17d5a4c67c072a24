"""Exports of a loaded study: best configs, the trials table, a retrained model's refusals."""

from __future__ import annotations

import pytest

import actreg_search
from tests.api.stored import SPACE, arrays


def test_exports_write_what_export_writes(stored, tmp_path):
    import json

    _, results = stored
    results.write_best(tmp_path / "best.json", k=2)
    assert json.loads((tmp_path / "best.json").read_text()) == results.best_configs(2)
    results.write_trials(tmp_path / "trials.csv")
    assert (tmp_path / "trials.csv").read_text().count("\n") == 7
    with pytest.raises(actreg_search.UserError, match="allowed: .json, .yaml, .yml, .csv"):
        results.write_best(tmp_path / "best.txt")


def test_retraining_arrays_the_storage_kept_by_name_needs_their_spec(stored, tmp_path):
    _, results = stored
    with pytest.raises(actreg_search.UserError, match=r"\[data\] loader was a Python function or arrays .*save_model\(path, spec=spec\)"):
        results.save_model(tmp_path / "best.keras")
    other = actreg_search.make_spec(
        "arrays", data={"loader": arrays(seed=1), "train_size": 0.7}, model={"hidden_units": 8, "epochs": 4},
        space=SPACE, n_trials=6, seeds=5, sampler="random",
    )
    with pytest.raises(actreg_search.UserError, match=r"not the one study 'arrays' was run with \(\[data\] loader differ\)"):
        results.save_model(tmp_path / "best.keras", spec=other)
    assert not (tmp_path / "best.keras").exists()


def test_best_configs_in_each_format_are_export_s_text(stored, tmp_path):
    import csv
    import io
    import json

    import yaml

    _, results = stored
    assert json.loads(results.best_text(2, "json")) == results.best_configs(2)
    assert yaml.safe_load(results.best_text(2, "yaml")) == json.loads(results.best_text(2, "json"))
    rows = list(csv.DictReader(io.StringIO(results.best_text(2, "csv"))))
    assert [int(r["trial"]) for r in rows] == [c["trial"] for c in results.best_configs(2)]
    written = results.write_best(tmp_path / "best.txt", 2, format="yaml")  # the format named, whatever the suffix
    assert written.read_text() == results.best_text(2, "yaml")
    with pytest.raises(actreg_search.UserError, match="unknown format 'xml'; allowed: json, yaml, csv"):
        results.best_text(1, "xml")


def test_a_regressions_exported_model_predicts_in_the_targets_units(tmp_path):
    """Trained on targets standardized with the training split's mean (about 14) and spread (about 5), the saved
    model ends in a Rescaling back: its predictions on test sit on the targets' scale, where the standardized ones
    would centre on 0."""
    import keras
    import numpy as np
    from sklearn.datasets import make_friedman1

    spec = actreg_search.make_spec(
        "friedman", task="regression", data={"name": "friedman1", "n_samples": 60, "train_size": 40, "validation": 0.25},
        model={"hidden_units": 16, "epochs": 60, "learning_rate": 0.01}, space={"regularizer": "none"}, n_trials=1, seeds=1,
    )
    storage = f"sqlite:///{tmp_path}/f.db"
    actreg_search.run(spec, storage, progress=False)
    results = actreg_search.load("friedman", storage)
    results.save_model(tmp_path / "best.keras")
    model = keras.saving.load_model(tmp_path / "best.keras", safe_mode=True)
    x, y = make_friedman1(n_samples=60, noise=1.0, random_state=1)
    predicted = np.asarray(model(x[40:].astype("float32"))).reshape(-1)
    assert model.layers[-1].name == "target_units"
    assert abs(predicted.mean() - y[:40].mean()) < y[:40].std()
    assert np.sqrt(np.mean((predicted - y[40:]) ** 2)) < 1.2 * y[40:].std()
