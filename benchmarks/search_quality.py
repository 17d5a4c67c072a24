"""What batching costs the sampler: best mean test accuracy after 60 and 100 trials, batch 1 against batch T.

Usage: python benchmarks/search_quality.py [--study studies/circles_tutorial.toml]
                                           [--sampler-seeds 0 1 2] [--batches 1 8] [--n-trials 100] [--jobs 1]

For each sampler seed (``[study] seed``) and each batch, runs the study to
``--n-trials`` in a fresh SQLite file, as ``actreg-search run --batch T``
does, and prints the best mean test accuracy (over the study's seeds) among
the first 60 trials and among all of them, by trial number, and the run's wall
time. With TPE, a batch of T draws T configs before any of them is told
(Optuna's constant liar counts the running ones as bad); batch 1 draws each
trial knowing every earlier one. Not a test: it measures.
"""

from __future__ import annotations

import dataclasses

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import optuna

from actreg_search.spec.parser import load_spec
from actreg_search.spec.specs import ON_TEST
from actreg_search.store.reader import load_results
from actreg_search.store.storage import open_reader
from actreg_search.search.study import run_study

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = (60, 100)


def best_after(url: str, name: str, n: int) -> float:
    """Best mean test accuracy among trials numbered below ``n``."""
    reader = open_reader(url)
    try:
        results = load_results(reader, name)
    finally:
        reader.dispose()
    values = [t.value for t in results.trials if t.number < n and t.value is not None]
    return max(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "circles_tutorial.toml")
    parser.add_argument("--sampler-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--as-shipped", action="store_true",
        help='the study file\'s own validation protocol (default: validation = "test", one model a seed, as docs/ measured)',
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    base = load_spec(args.study).with_overrides(n_trials=args.n_trials)
    if not args.as_shipped:
        base = dataclasses.replace(base, data=dataclasses.replace(base.data, validation=ON_TEST))
    checkpoints = [c for c in CHECKPOINTS if c <= args.n_trials] or [args.n_trials]
    print(f"study {args.study.name}: {base.study.sampler.value}, {args.n_trials} trials x {len(base.study.seeds)} seeds x {base.model.epochs} epochs, --jobs {args.jobs}")
    table: dict[int, dict[int, list[float]]] = {b: {c: [] for c in checkpoints} for b in args.batches}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.sampler_seeds:
            for batch in args.batches:
                spec = replace(base, study=replace(base.study, seed=seed)).with_overrides(batch=batch)
                url = f"sqlite:///{folder}/seed{seed}-batch{batch}.db"
                start = time.perf_counter()
                run_study(spec, url, jobs=args.jobs)
                wall = time.perf_counter() - start
                bests = [best_after(url, spec.study.name, c) for c in checkpoints]
                for c, value in zip(checkpoints, bests):
                    table[batch][c].append(value)
                shown = ", ".join(f"after {c}: {v:.4f}" for c, v in zip(checkpoints, bests))
                print(f"sampler seed {seed}, batch {batch:>2}: best mean test accuracy {shown}  ({wall:.0f} s)", flush=True)
    print()
    for batch in args.batches:
        shown = ", ".join(
            f"after {c}: mean {statistics.fmean(v):.4f} (min {min(v):.4f}, max {max(v):.4f})" for c, v in table[batch].items()
        )
        print(f"batch {batch:>2} over {len(args.sampler_seeds)} sampler seeds: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
