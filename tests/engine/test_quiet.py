"""TensorFlow's start-up lines never reach the terminal of ``run``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from actreg_search.engine.quiet import silenced_stderr

NOISE = ("absl", "onednn", "tensorflow/", "cuda")


def test_silenced_stderr_hides_descriptor_2_then_restores_it(capfd):
    print("before", file=sys.stderr)
    with silenced_stderr():
        os.write(2, b"from C++\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


@pytest.mark.parametrize("recycle_mb", ["150", "0"], ids=["worker", "in-process"])
def test_run_prints_no_tensorflow_lines(write_study, storage_url, recycle_mb):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    done = subprocess.run(
        [sys.executable, "-m", "actreg_search.cli", "run", str(write_study(n_trials=1, seeds=1, epochs=2)),
         "--storage", storage_url, "--recycle-mb", recycle_mb],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "1/1 finished" in done.stdout
    noisy = [line for line in done.stderr.splitlines() if any(word in line.lower() for word in NOISE)]
    assert noisy == []
