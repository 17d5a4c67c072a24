"""Is a plain classification study slower than at an earlier commit? A warm trial's engine time, then and now.

Issue 21 put regression and autoencoder tasks and a penalty per layer on the
training path (each row's targets standardized, per-sample scores summed in
float32 where correct predictions were counted in int32, each layer's own
penalty looked up); a classification study pays for none of it if its trials
train as fast as before. This measures it: a width-500 L1 trial of the
tutorial's problem (circles, 30 training samples, 5 seeds × 4000 epochs, the
test protocol, before the ReLU), trained warm on the fused engine by the code
at ``--against`` (a ``git worktree`` of that commit) and by this tree, in
alternating fresh processes (``--repeats`` each); each process trains three
trials to warm its program up, then times ``--trials`` more; the medians over
processes and their ratio are printed side by side.

Run from the repository root::

    .venv/bin/python benchmarks/against.py --against af9db09 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh process with the tree to measure first on sys.path: prints the median engine time of the trials.
PROBE = """
import os, sys, json, statistics, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, sys.argv[1])
from actreg_search.spec.specs import ON_TEST, DataSpec
from actreg_search.data.datasets import load_dataset
from actreg_search.engine.fused import FusedEngine
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.vocab import Placement, Regularizer
import actreg_search
assert actreg_search.__file__.startswith(sys.argv[1]), actreg_search.__file__
data, engine = load_dataset(DataSpec(validation=ON_TEST)), FusedEngine()
times = []
for k in range(3 + int(sys.argv[2])):
    config = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4 * (1 + k), 0.0, 500, epochs=4000)
    start = time.perf_counter()
    engine.train(config, data, [0, 1, 2, 3, 4])
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times[3:])))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="af9db09", help="the earlier commit (default af9db09, before issue 21's tasks)")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per tree (default 5)")
    parser.add_argument("--trials", type=int, default=5, help="timed warm trials per process (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        then = Path(folder) / "then"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(then), args.against], check=True, capture_output=True)
        try:
            trees = {f"at {args.against}": then, "this tree": ROOT}
            medians: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    done = subprocess.run([sys.executable, "-c", PROBE, str(tree), str(args.trials)], capture_output=True, text=True, check=True)
                    medians[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(then)], check=False, capture_output=True)
    base = statistics.median(medians[f"at {args.against}"])
    print(f"warm width-500 L1 trial, circles, 5 seeds x 4000 epochs, fused engine; {args.repeats} processes x {args.trials} trials each")
    print(f"{'code':<16} {'median':>8} {'ratio':>6}  per process")
    for name, values in medians.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:>7.3f}s {median / base:>6.3f}  {' '.join(f'{v:.3f}' for v in values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
