"""Memory soak: many short trials in one worker; resident memory must stay flat.

Usage: python benchmarks/memory.py [--trials 500] [--engine fused|keras] [--epochs 20] [--recycle-mb 0]

Runs the study as ``actreg-search run`` does, in one process that is never
replaced (``--recycle-mb 0``, the default here; a number: one worker process,
replaced once its memory grew that much past its size after its first trial).
Widths 16–512 (10 buckets: 10 programs compiled, each reused). Prints the
resident set size of the process that ran each trial (recorded on the trial as
``worker_rss_mb``) every 50 trials, and the growth after the first 10 trials
(target: under 100 MB). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import optuna

from actreg_search.spec.parser import parse_spec
from actreg_search.results.records import TrialRecord
from actreg_search.search.study import RunObserver, run_study

STUDY = """
[study]
name = "memory-soak"
sampler = "random"
n_trials = {trials}
seeds = 3
[data]
validation = "test"  # one model a seed, as the figures in docs/ were measured
[model]
epochs = {epochs}
engine = "{engine}"
[space]
regularizer = ["none", "l1", "l2", "l1_l2"]
placement = ["pre_activation", "post_activation", "kernel"]
coefficient = {{ low = 1e-6, high = 1e-2, log = true }}
hidden_units = {{ low = 16, high = 512, log = true }}
"""


class MemoryProbe(RunObserver):
    """Collects the worker's resident memory recorded on every trial."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.rss_mb: list[float] = []
        self.workers: list[str] = []
        self.start = time.perf_counter()

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        if record.worker_rss_mb is None or record.worker is None:
            return
        self.rss_mb.append(record.worker_rss_mb)
        self.workers.append(record.worker)
        n = len(self.rss_mb)
        if n % self.every == 0 or n == 10:
            print(
                f"  trial {n:>4}: worker {self.workers[-1]:<24} RSS {self.rss_mb[-1]:8.1f} MB"
                f"  ({time.perf_counter() - self.start:6.1f} s)",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused")
    parser.add_argument("--recycle-mb", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    spec = parse_spec(STUDY.format(trials=args.trials, epochs=args.epochs, engine=args.engine))
    recycle = f"recycled past +{args.recycle_mb} MB" if args.recycle_mb else "never recycled, in this process"
    print(f"memory soak: {args.trials} trials x 3 seeds x {args.epochs} epochs, widths 16-512, engine {args.engine}, one worker ({recycle})")
    probe = MemoryProbe(every=50)
    with tempfile.TemporaryDirectory() as folder:
        run_study(spec, f"sqlite:///{folder}/soak.db", probe, jobs=1, recycle_mb=args.recycle_mb or None)
    print(f"worker processes used: {len(set(probe.workers))}")
    after_10 = probe.rss_mb[9]
    growth = probe.rss_mb[-1] - after_10
    peak_growth = max(probe.rss_mb[10:], default=after_10) - after_10
    print(f"RSS after trial 10: {after_10:.1f} MB; after trial {len(probe.rss_mb)}: {probe.rss_mb[-1]:.1f} MB")
    print(f"growth after the first 10 trials: {growth:+.1f} MB (peak {peak_growth:+.1f} MB); target < 100 MB: {'met' if peak_growth < 100 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
