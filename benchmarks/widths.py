"""Training time of a compiled program by width: what the width buckets (``engine.programs.bucket_of``) are chosen from.

For each width, a probed mlp program of that exact width (circles, the
tutorial's settings: 5 seeds × 4000 epochs, full batch) is compiled, warmed up
by one training, and then timed over ``--repeats`` more trainings; the best
is printed, with its time per unit of width. Only the
compiled training is timed (no model building, no final figures). Not a test:
it measures. Run from the repository root::

    .venv/bin/python benchmarks/widths.py
    .venv/bin/python benchmarks/widths.py --widths 64 128 256 512
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from actreg_search.spec.trial import TrialConfig
from actreg_search.data.datasets import load_dataset
from actreg_search.engine.base import curve_epochs
from actreg_search.engine.chunks import chunk_bounds
from actreg_search.engine.programs import ProgramCache, ProgramKey, template_config
from actreg_search.engine.seeds import build_models
from actreg_search.models.probes import penalty_rows
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.spec.vocab import Placement, Regularizer


def time_width(width: int, repeats: int, seeds: list[int]) -> float:
    """Best seconds of ``repeats`` warm trainings of a ``width``-unit program."""
    data = load_dataset(DataSpec(validation=ON_TEST))  # the tutorial's trial: all 30 training samples
    config = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, width)
    key = ProgramKey(None, template_config(config, width), id(data), len(seeds), padded=True)
    loop, probes, _ = ProgramCache().get(key, data)
    models = build_models(config, data, seeds, None, seed_tensorflow=False)
    coefs = np.stack([penalty_rows(config, probes.points) for _ in seeds])
    points = len(curve_epochs(config.epochs))
    best = float("inf")
    for attempt in range(repeats + 1):  # the first compiles
        loop.load(models, seeds, coefs)
        hits = tuple(tf.zeros((points, len(seeds)), tf.int32) for _ in range(3))
        first_bad = tf.zeros((len(seeds),), tf.int32)
        start = time.perf_counter()
        for begin, end in chunk_bounds(config.epochs):
            *hits, first_bad, _ = loop.train(begin, end, hits, first_bad)
        hits[0].numpy()
        if attempt:
            best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 192, 256, 320, 384, 400, 512, 640, 768, 800, 1024])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    seeds = [0, 1, 2, 3, 4]
    print(f"warm training of one trial (5 seeds x 4000 epochs, circles, probed mlp), best of {args.repeats}; CPUs: {os.cpu_count()}")
    for width in args.widths:
        seconds = time_width(width, args.repeats, seeds)
        print(f"{width:5d} units: {seconds:6.3f} s  ({seconds / width * 1000:.2f} ms per unit)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
