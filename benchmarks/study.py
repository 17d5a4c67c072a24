"""Whole-study wall time: ``actreg-search run`` with --jobs 1 and --jobs 2 on the same trials.

Usage: python benchmarks/study.py [--n-trials 100] [--study studies/circles_tutorial.toml]

Runs the study's first N trials with the first --jobs value, then enqueues
exactly those trials' parameters into a fresh study for each other --jobs
value, so every run trains the same configs; prints the wall times and ratios.
Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(study: Path, n_trials: int, jobs: int, url: str) -> tuple[float, str]:
    script = Path(sys.executable).parent / "actreg-search"
    command = [str(script), "run", str(study), "--n-trials", str(n_trials), "--jobs", str(jobs), "--storage", url]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"run failed: {done.stderr[-2000:]}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def replay(study: Path, source_url: str, url: str) -> None:
    """Create the study at ``url`` with the trials of ``source_url`` queued, in order."""
    import optuna

    from actreg_search.parser import load_spec
    from actreg_search.attrs import SPEC as SPEC_ATTR

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_spec(study)
    source = optuna.load_study(study_name=spec.study.name, storage=source_url)
    target = optuna.create_study(study_name=spec.study.name, storage=url, direction="maximize")
    target.set_user_attr(SPEC_ATTR, source.user_attrs[SPEC_ATTR])
    for trial in source.trials:
        if trial.state.is_finished() and trial.state.name != "FAIL":
            target.enqueue_trial(trial.params)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "circles_tutorial.toml")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"study {args.study.name}, {args.n_trials} trials, CPUs: {os.cpu_count()}")
    times = {}
    with tempfile.TemporaryDirectory() as folder:
        first_url = f"sqlite:///{folder}/jobs{args.jobs[0]}.db"
        for jobs in args.jobs:
            url = f"sqlite:///{folder}/jobs{jobs}.db"
            if jobs != args.jobs[0]:
                replay(args.study, first_url, url)
            elapsed, summary = run(args.study, args.n_trials, jobs, url)
            times[jobs] = elapsed
            print(f"--jobs {jobs}: {elapsed:7.1f} s  ({elapsed / args.n_trials:.2f} s/trial)  | {summary}", flush=True)
    base = times[args.jobs[0]]
    for jobs in args.jobs[1:]:
        print(f"speed-up --jobs {jobs} vs --jobs {args.jobs[0]}: {base / times[jobs]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
