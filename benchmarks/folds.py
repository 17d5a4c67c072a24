"""What cross-validation costs: a 5-seed × 5-fold trial against a 5-seed hold-out trial, warm, in the fused engine.

The tutorial's circles (30 training samples), a width-500 mlp with L1 before
the ReLU, 4000 epochs, 5 seeds. Under ``validation = 0.2`` a trial is one
program of 5 rows (each seed's model trains on 24 samples); under ``{folds =
5}`` one program of 25 rows (each fold model trains on 24). Both programs are
compiled first; then the two kinds of trial alternate (interleaved repeats, so
the machine's drift falls on both alike) and the medians are compared. The
compile counts come from the engine's program cache: k-fold needs no program
of its own beyond the one its row count makes.

Usage::

    .venv/bin/python benchmarks/folds.py [--repeats 5] [--width 500] [--epochs 4000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from actreg_search.engine.quiet import import_tensorflow

import_tensorflow()

from actreg_search.spec.trial import TrialConfig  # noqa: E402
from actreg_search.data.datasets import load_dataset  # noqa: E402
from actreg_search.engine.fused import FusedEngine  # noqa: E402
from actreg_search.spec.specs import DEFAULT_VALIDATION, DataSpec, Validation  # noqa: E402
from actreg_search.spec.vocab import Placement, Protocol, Regularizer  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=4000)
    args = parser.parse_args()
    protocols = {"hold-out 0.2": DEFAULT_VALIDATION, "5-fold": Validation(Protocol.KFOLD, folds=5)}
    engines = {name: FusedEngine() for name in protocols}
    datasets = {name: load_dataset(DataSpec(validation=v)) for name, v in protocols.items()}
    times: dict[str, list[float]] = {name: [] for name in protocols}
    first: dict[str, float] = {}
    for repeat in range(args.repeats + 1):
        for name in protocols:
            coefficient = 1e-4 * (1 + repeat)  # another trial each time: same program, other penalty
            config = TrialConfig(
                Regularizer.L1, Placement.PRE_ACTIVATION, l1=coefficient, l2=0.0, hidden_units=args.width, epochs=args.epochs
            )
            start = time.perf_counter()
            engines[name].train(config, datasets[name], SEEDS)
            seconds = time.perf_counter() - start
            if repeat == 0:
                first[name] = seconds
            else:
                times[name].append(seconds)
    print(f"fused engine, circles, width {args.width}, {args.epochs} epochs, {len(SEEDS)} seeds, {args.repeats} interleaved repeats")
    print(f"{'protocol':<14} {'rows':>5} {'programs':>9} {'first s':>8} {'warm median s':>14} {'warm runs s':<40}")
    for name in protocols:
        rows = sum(len(datasets[name].folds(seed)) for seed in SEEDS)
        runs = " ".join(f"{t:.2f}" for t in times[name])
        print(
            f"{name:<14} {rows:>5} {len(engines[name].cache.programs):>9} {first[name]:>8.2f} "
            f"{statistics.median(times[name]):>14.3f} {runs:<40}"
        )
    ratio = statistics.median(times["5-fold"]) / statistics.median(times["hold-out 0.2"])
    print(f"5-fold / hold-out, warm medians: {ratio:.2f}x (target <= 4x)")


if __name__ == "__main__":
    main()
