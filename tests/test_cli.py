from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from actreg_search.cli import main


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def test_end_to_end(write_study, storage_url, tmp_path, capsys):
    study = write_study(n_trials=2)
    assert run_cli("run", study, "--storage", storage_url) == 0
    assert "2/2 finished" in capsys.readouterr().out
    assert run_cli("run", study, "--storage", storage_url, "--n-trials", "3") == 0
    assert "3/3 finished, 1 run now" in capsys.readouterr().out

    assert run_cli("list", "--storage", storage_url) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "3" in listing

    assert run_cli("show", "tiny", "--storage", storage_url, "--top", "2") == 0
    shown = capsys.readouterr().out
    assert "top 2" in shown and "±" in shown

    best = tmp_path / "best.json"
    assert run_cli("export", "tiny", "--storage", storage_url, "--top", "2", "--out", best, "--trials", tmp_path / "t.csv") == 0
    entries = json.loads(best.read_text())
    assert len(entries) == 2 and len(entries[0]["per_seed"]) == 2
    assert (tmp_path / "t.csv").exists()


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
    (["frobnicate"], "No such command 'frobnicate'"),
    (["show", "tiny", "--storage", "sqlite:///{tmp}/notes.txt"], "file is not a database"),
    (["run", "{study}", "--storage", "postgresql://u:secret@127.0.0.1:1/db"], "storage postgresql://u:***@127.0.0.1:1/db"),
    (["run", "{bad_key}"], "[model] widht: unknown key; allowed: family"),
    (["run", "{bad_type}"], "[model] epochs: must be an integer, got '10' (str)"),
    (["run", "{bad_range}"], "[space] coefficient: low must be ≤ high"),
    (["run", "{non_finite}"], "[data] noise: must be finite, got nan"),
    (["run", "{empty_list}"], "[space] regularizer: must not be an empty list"),
    (["run", "{unknown_name}"], "[space] placement: unknown value 'inside'; allowed: pre_activation"),
    (["run", "{study}", "--seeds", "0"], "0 is not in the range x>=1"),
    (["list", "--storage", "sqlite:///{tmp}/no/such/dir.db"], "no database at"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_ARGS, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in enumerate(BAD_ARGS)])
def test_bad_input_is_one_line_and_exit_2(args, fragment, write_study, storage_url, tmp_path, capsys):
    import optuna

    optuna.create_study(study_name="tiny", storage=storage_url)
    (tmp_path / "notes.txt").write_text("not a database " * 200)
    good = write_study().read_text()
    variants = {
        "bad_key": good.replace("[model]\n", "[model]\nwidht = 3\n"),
        "bad_type": good.replace("epochs = 4", 'epochs = "10"'),
        "bad_range": good.replace("low = 1e-5, high = 1e-2", "low = 1e-2, high = 1e-5"),
        "non_finite": good.replace("noise = 0.1", "noise = nan"),
        "empty_list": good.replace('regularizer = ["none", "l1", "l2", "l1_l2"]', "regularizer = []"),
        "unknown_name": good.replace('placement = ["pre_activation", "post_activation", "kernel"]', 'placement = ["inside"]'),
    }
    values = {"study": tmp_path / "study.toml", "missing": tmp_path / "missing.toml", "url": storage_url, "tmp": tmp_path}
    for key, text in variants.items():
        (tmp_path / f"{key}.toml").write_text(text)
        values[key] = tmp_path / f"{key}.toml"
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert run_cli(*[a.format(**values) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("actreg-search: error: ")
    assert fragment in err
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert after == before


def test_console_script_and_optuna_cli_read_the_study(write_study, tmp_path):
    """A real subprocess: the installed script, then Optuna's own CLI on the same storage."""
    script = shutil.which("actreg-search", path=str(Path(sys.executable).parent))
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = {**os.environ, "ACTREG_STORAGE": url}
    done = subprocess.run([script, "run", write_study(n_trials=2, seeds=1, epochs=2)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    optuna_cli = shutil.which("optuna", path=str(Path(sys.executable).parent))
    listed = subprocess.run([optuna_cli, "trials", "--study-name", "tiny", "--storage", url, "-f", "json"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    bad = subprocess.run([script, "run", tmp_path / "nope.toml"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0


@pytest.mark.parametrize(("columns", "width"), [(None, "160"), ("100", "100")])
def test_tables_are_not_wrapped_at_80_columns_when_piped(columns, width):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    code = "from actreg_search import cli; print(cli.out.width)"
    printed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == width


def test_trial_lines_are_not_wrapped_when_stderr_is_not_a_terminal(write_study, storage_url, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    space = 'regularizer = "l1_l2"\nplacement = "post_activation"\ncoefficient = { low = 1e-5, high = 1e-2, log = true }\n'
    study = write_study(n_trials=1, seeds=1, epochs=2, space=space)
    assert run_cli("run", study, "--storage", storage_url) == 0
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("trial 0 ") and "sparsity" in line]
    assert len(line) > 80 and "l1_l2 · post_activation" in line


def test_reading_a_study_does_not_load_the_training_stack():
    """list/show/compare read results only: no TensorFlow, Keras or scikit-learn to import (seconds each)."""
    code = (
        "import sys, actreg_search.cli, actreg_search.results, actreg_search.stats\n"
        "print(sorted(m for m in ('sklearn', 'tensorflow', 'keras', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
