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
