"""Memory soak: many short trials in one worker; resident memory must stay flat.

Usage: python benchmarks/memory.py [--study mlp|cnn|knobs] [--trials N] [--epochs E] [--seeds S]
                                   [--engine fused|keras] [--recycle-mb 0]

Runs the study as ``actreg-search run`` does, in one process that is never
replaced (``--recycle-mb 0``, the default here; a number: one worker process,
replaced once its memory grew that much past its size after its first trial).
Prints the resident set size of the process that ran each trial (recorded on
the trial as ``worker_rss_mb``) after trial 10 and every 50 trials (cnn: every
25), and the growth after the first 10 trials to the end. Not a test: it measures.

Studies (``--study``):

* ``mlp`` (the default): the built-in mlp on circles, 500 trials x 3 seeds x
  20 epochs, random sampler, widths 16-512 (6 buckets: 6 programs compiled,
  each reused); target: growth under 100 MB.
* ``cnn``: ``studies/digits_cnn.toml`` as shipped (TPE, every regularizer and
  placement, filters 4-32, its 5 seeds and validation split), 200 trials, but
  10 epochs a seed where the file says 100: what grows is what each trial
  leaves behind (programs, models, objects), which the epochs do not change,
  so the default measures 200 trials of that in a tenth of the time; target
  (issue 19): growth under 150 MB.

* ``knobs``: the mlp study above searching the training too (issue 20): batch
  size 8, 16 or 32, activation relu, tanh or elu, learning rate 1e-4..1e-2 and
  dropout 0..0.5, widths 16-512: 3 × 3 × 6 = 54 programs (the rates are
  inputs, not programs), under the cache's 64; 300 trials x 3 seeds x 20
  epochs; target: growth under 150 MB after the first 10 trials (programs
  still compile after them: each keeps its code, which the growth counts).
  Missed in one process (about +1 GB: XLA's compiled code is never freed);
  ``--recycle-mb 400`` bounds it by replacing the worker (docs/performance.md
  has both runs and what the recompiles cost).

``--trials``, ``--epochs`` and ``--seeds`` shorten a run (a smoke run:
``--study cnn --trials 12 --epochs 2``). With 10 trials or fewer the growth is
counted from the first trial instead, which includes the warm-up and says little.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import optuna

from actreg_search.spec.parser import load_spec, parse_spec
from actreg_search.spec.specs import StudySpec
from actreg_search.spec.vocab import EngineName
from actreg_search.results.records import TrialRecord
from actreg_search.search.study import RunObserver, run_study

ROOT = Path(__file__).resolve().parents[1]
BASELINE_TRIAL = 10
"""Growth is counted from the RSS after this trial (the programs of the first trials compiled, caches warm)."""

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


@dataclasses.dataclass(frozen=True)
class Soak:
    """One soak's defaults and target."""

    describe: str
    trials: int
    epochs: int
    every: int
    target_mb: float


SOAKS = {
    "mlp": Soak("built-in mlp on circles, widths 16-512, random sampler", trials=500, epochs=20, every=50, target_mb=100),
    "cnn": Soak("studies/digits_cnn.toml (Conv2D, filters 4-32, TPE)", trials=200, epochs=10, every=25, target_mb=150),
    "knobs": Soak("built-in mlp on circles searching batch size, activation, rates and widths", trials=300, epochs=20, every=25,
                  target_mb=150),
}

KNOBS = """
batch_size = [8, 16, 32]
activation = ["relu", "tanh", "elu"]
learning_rate = {{ low = 1e-4, high = 1e-2, log = true }}
dropout = {{ low = 0.0, high = 0.5 }}
"""


class MemoryProbe(RunObserver):
    """Collects the worker's resident memory recorded on every trial."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.rss_mb: list[float] = []
        self.workers: list[str] = []
        self.start = time.perf_counter()
        self.failed: list[TrialRecord] = []

    def on_trial_end(self, record: TrialRecord, best_value: float | None) -> None:
        if record.state.name != "COMPLETE":
            self.failed.append(record)
        if record.worker_rss_mb is None or record.worker is None:
            return
        self.rss_mb.append(record.worker_rss_mb)
        self.workers.append(record.worker)
        n = len(self.rss_mb)
        if n % self.every == 0 or n == BASELINE_TRIAL:
            print(
                f"  trial {n:>4}: worker {self.workers[-1]:<24} RSS {self.rss_mb[-1]:8.1f} MB"
                f"  ({time.perf_counter() - self.start:6.1f} s)",
                flush=True,
            )


def soak_spec(study: str, trials: int, epochs: int, seeds: int | None, engine: str) -> StudySpec:
    """The soak's study at the asked size, on ``engine``."""
    if study in ("mlp", "knobs"):
        text = STUDY + (KNOBS if study == "knobs" else "")
        spec = parse_spec(text.format(trials=trials, epochs=epochs, engine=engine))
        return spec.with_overrides(seeds=seeds, name=None if study == "mlp" else "memory-soak-knobs")
    spec = load_spec(ROOT / "studies" / "digits_cnn.toml")
    spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model, engine=EngineName(engine)))
    return spec.with_overrides(n_trials=trials, epochs=epochs, seeds=seeds, name="memory-soak-cnn")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=sorted(SOAKS), default="mlp", help="mlp (default), cnn (digits_cnn.toml) or knobs (mlp searching the training)")
    parser.add_argument("--trials", type=int, help="trials (default: mlp 500, cnn 200, knobs 300)")
    parser.add_argument("--epochs", type=int, help="epochs a seed (default: mlp 20, cnn 10, knobs 20)")
    parser.add_argument("--seeds", type=int, help="seeds a trial (default: the study's: mlp 3, cnn 5)")
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused")
    parser.add_argument("--recycle-mb", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    soak = SOAKS[args.study]
    trials, epochs = args.trials or soak.trials, args.epochs or soak.epochs
    spec = soak_spec(args.study, trials, epochs, args.seeds, args.engine)
    recycle = f"recycled past +{args.recycle_mb} MB" if args.recycle_mb else "never recycled, in this process"
    print(
        f"memory soak ({args.study}: {soak.describe}): {trials} trials x {len(spec.study.seeds)} seeds x {epochs} epochs, "
        f"engine {args.engine}, one worker ({recycle})",
        flush=True,
    )
    probe = MemoryProbe(every=soak.every)
    with tempfile.TemporaryDirectory() as folder:
        run_study(spec, f"sqlite:///{folder}/soak.db", probe, jobs=1, recycle_mb=args.recycle_mb or None)
    if not probe.rss_mb:
        print("no trial recorded its worker's memory")
        return 1
    print(f"worker processes used: {len(set(probe.workers))}")
    if probe.failed:  # no RSS recorded for these: the figures below are over the completed trials only
        first = probe.failed[0]
        reason = first.fail_reason.splitlines()[0][:160] if first.fail_reason else "-"
        print(f"{len(probe.failed)} trial(s) did not complete (e.g. trial {first.number}, {first.state.name}: {reason})")
    base = BASELINE_TRIAL - 1 if len(probe.rss_mb) > BASELINE_TRIAL else 0  # an index: after trial 10, else trial 1
    at_base = probe.rss_mb[base]
    growth = probe.rss_mb[-1] - at_base
    peak_growth = max(probe.rss_mb[base + 1 :], default=at_base) - at_base
    print(f"RSS after trial {base + 1}: {at_base:.1f} MB; after trial {len(probe.rss_mb)}: {probe.rss_mb[-1]:.1f} MB")
    verdict = "met" if peak_growth < soak.target_mb else "MISSED"
    if len(probe.rss_mb) <= BASELINE_TRIAL:
        verdict += f"; only {len(probe.rss_mb)} trials: counted from trial 1, warm-up included"
    print(
        f"growth after the first {base + 1} trials: {growth:+.1f} MB (peak {peak_growth:+.1f} MB); "
        f"target < {soak.target_mb:.0f} MB: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
