"""TensorFlow's start-up lines never reach the terminal: not the command line's ``run``, not the Python API's."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys


from actreg_search.engine import get_engine
from actreg_search.engine.quiet import silenced_stderr

NOISE = ("absl", "onednn", "cpu_feature_guard", "tensorflow/", "cuda")

API_RUN = """
import pickle
import sys
from pathlib import Path

import actreg_search

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    engine = pickle.loads((folder / "engine.pickle").read_bytes())  # first: TensorFlow not imported yet
    print(type(engine).__name__)
    spec = actreg_search.make_spec("quiet", model={"hidden_units": 4, "epochs": 2}, n_trials=1, seeds=1, sampler="random")
    print(actreg_search.run(spec, f"sqlite:///{folder}/quiet.db", progress=False).finished)
"""


def clean_environment() -> dict[str, str]:
    """This process's environment without the logging variables the test set-up sets."""
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}


def noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(word in line.lower() for word in NOISE)]


def test_silenced_stderr_hides_descriptor_2_then_restores_it(capfd):
    print("before", file=sys.stderr)
    with silenced_stderr():
        os.write(2, b"from C++\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_run_in_a_worker_prints_no_tensorflow_lines(write_study, storage_url):
    """The command line's ``run`` with a worker process (in-process runs are the Python API's, below)."""
    done = subprocess.run(
        [sys.executable, "-m", "actreg_search.cli", "run", str(write_study(n_trials=1, seeds=1, epochs=2)),
         "--storage", storage_url, "--recycle-mb", "150"],
        capture_output=True, text=True, env=clean_environment(), timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "1/1 finished" in done.stdout
    assert noise(done.stderr) == []


def test_the_python_api_and_an_unpickled_engine_print_no_tensorflow_lines(tmp_path):
    """In a fresh process with no logging variable set: an engine unpickled there (what a spawned worker does with
    the engine it is given) imports TensorFlow quietly, and ``actreg_search.run`` trains in that process quietly."""
    (tmp_path / "engine.pickle").write_bytes(pickle.dumps(get_engine("keras")))
    script = tmp_path / "api_run.py"
    script.write_text(API_RUN)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, env=clean_environment(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["KerasEngine", "1"]
    assert noise(done.stderr) == []
