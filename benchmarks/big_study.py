"""Reading big studies: ``list``, ``show``, ``compare``, ``export`` and ``dashboard`` on a study of N trials.

Usage: python benchmarks/big_study.py [--trials 10000] [--source-trials 6] [--keep FOLDER]

Builds a study of real trials: runs ``studies/circles_tutorial.toml`` for
``--source-trials`` trials (5 seeds × 4000 epochs, fused engine, with their
curves), then copies those trials into a new study with Optuna's ``add_trials``
until it holds ``--trials`` trials (a few failed and pruned ones among them, as
in a real search). Then times each reading command in its own process, as a user
runs it, and prints the figures side by side with Optuna's own reading of the
same study (``optuna studies`` and loading every trial), and the dashboard
page's size. Not a test: it measures.
"""

from __future__ import annotations

import dataclasses

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "big"


def build(folder: Path, n_trials: int, source_trials: int) -> str:
    """The big study's storage URL: real trials of the tutorial study, copied until there are ``n_trials``."""
    import optuna
    from optuna.trial import TrialState

    from actreg_search.store import keys as attrs
    from actreg_search.spec.parser import load_spec
    from actreg_search.spec.specs import ON_TEST, spec_to_raw
    from actreg_search.search.study import run_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_spec(ROOT / "studies" / "circles_tutorial.toml").with_overrides(n_trials=source_trials, name="source")
    spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, validation=ON_TEST))  # one model a seed, as measured
    source_url = f"sqlite:///{folder / 'source.db'}"
    start = time.perf_counter()
    run_study(spec, source_url)
    print(f"source: {source_trials} real trials of circles_tutorial.toml in {time.perf_counter() - start:.1f} s")
    source = [t for t in optuna.load_study(study_name="source", storage=source_url).trials if t.state is TrialState.COMPLETE]
    url = f"sqlite:///{folder / 'big.db'}"
    target = optuna.create_study(study_name=NAME, storage=url, direction="maximize")
    target.set_user_attr(attrs.SPEC, spec_to_raw(spec.with_overrides(name=NAME)))
    start = time.perf_counter()
    batch: list[optuna.trial.FrozenTrial] = []
    for i in range(n_trials):
        trial = source[i % len(source)]
        state = TrialState.FAIL if i % 50 == 49 else TrialState.PRUNED if i % 50 == 48 else TrialState.COMPLETE
        batch.append(
            optuna.trial.create_trial(
                state=state,
                value=trial.value if state is TrialState.COMPLETE else None,
                params=trial.params,
                distributions=trial.distributions,
                user_attrs=trial.user_attrs if state is not TrialState.FAIL else {attrs.FAIL_REASON: "copied failure"},
            )
        )
        if len(batch) == 500:
            target.add_trials(batch)
            batch = []
    target.add_trials(batch)
    size = (folder / "big.db").stat().st_size / 2**20
    print(f"big study: {n_trials} trials copied in {time.perf_counter() - start:.1f} s; SQLite file {size:.0f} MB")
    return url


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def load_all_with_optuna(url: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", f"import optuna; optuna.load_study(study_name={NAME!r}, storage={url!r}).get_trials()"],
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--source-trials", type=int, default=6)
    parser.add_argument(
        "--keep", type=Path, help="Build the study in this folder and keep it, or reuse the one there (default: a temporary one)."
    )
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    cli, optuna_cli = str(bin_dir / "actreg-search"), str(bin_dir / "optuna")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        built = folder / "big.db"
        if args.keep and built.exists():  # built by an earlier run with --keep
            url = f"sqlite:///{built}"
            print(f"reusing {built}")
        else:
            url = build(folder, args.trials, args.source_trials)
        page = folder / "report.html"
        rows = [
            ("actreg-search list", [cli, "list", "--storage", url]),
            ("actreg-search show", [cli, "show", NAME, "--storage", url]),
            ("actreg-search compare --top 5", [cli, "compare", NAME, "--storage", url, "--top", "5"]),
            ("actreg-search export --trials", [cli, "export", NAME, "--storage", url, "--trials", str(folder / "t.csv")]),
            ("actreg-search dashboard", [cli, "dashboard", NAME, "--storage", url, "--out", str(page)]),
            ("optuna studies (reference)", [optuna_cli, "studies", "--storage", url]),
        ]
        print(f"\n{args.trials} trials, {os.cpu_count()} CPUs; each command in its own process, imports included")
        for label, command in rows:
            elapsed, _ = timed(command)
            print(f"  {label:<34} {elapsed:6.2f} s")
        print(f"  {'optuna: load every trial (reference)':<34} {load_all_with_optuna(url):6.2f} s")
        print(f"  dashboard page: {page.stat().st_size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
