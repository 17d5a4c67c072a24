"""Does searching the learning rate and dropout with the penalty change which regularizer and placement win? (issue 20)

Four studies, each searched by the random sampler (so every regularizer and
placement gets its share of trials, whatever the others score), chosen on
validation and reported on test:

* ``circles``: ``studies/circles_tutorial.toml`` (4000 epochs, 5 seeds,
  5-fold cross-validation in the 30 training samples, widths 32-1024), once
  searching the penalty only (regularizer, placement, coefficient, width: the
  learning rate fixed at Adam's 0.001, no dropout), once searching the learning
  rate (log-uniform 1e-4..3e-2) and dropout (0..0.5) as well;
* ``digits``: the built-in mlp on scikit-learn's digits (30% train, of which a
  20% hold-out validates each seed; 100 epochs, batch 64, widths 16-256,
  5 seeds), the same two searches.

For each study and each group (``none``, and every regularizer × placement),
the group's best trial by the study's own rule (mean validation accuracy over
seeds) is compared on *test* accuracy, seed by seed, with the best ``none``
trial: the paired mean difference and its 95% t-interval
(:func:`actreg_search.results.paired.paired_comparison`). Each study's winner
is its best trial overall. Nothing is chosen on the test figures printed.

Run from the repository root (about 25 minutes on the 2-core VM)::

    .venv/bin/python benchmarks/knob_winners.py --trials 150 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import actreg_search  # noqa: E402
from actreg_search.results.paired import paired_comparison  # noqa: E402
from actreg_search.results.records import TrialRecord  # noqa: E402
from actreg_search.spec.measures import TEST_ACCURACY, VALIDATION_ACCURACY  # noqa: E402

PENALTY: dict[str, Any] = {
    "regularizer": ["none", "l1", "l2", "l1_l2"],
    "placement": ["pre_activation", "post_activation", "kernel"],
    "coefficient": {"low": 1e-6, "high": 1e-2, "log": True},
}
KNOBS: dict[str, Any] = {
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.5},
}
PROBLEMS: dict[str, dict[str, Any]] = {
    "circles": {
        "data": {"name": "circles", "n_samples": 100, "noise": 0.1, "random_state": 1, "train_size": 30,
                 "validation": {"folds": 5}},
        "model": {"family": "mlp", "hidden_units": 500, "epochs": 4000, "batch_size": 32},
        "width": {"low": 32, "high": 1024, "log": True},
    },
    "digits": {
        "data": {"name": "digits", "train_size": 0.3, "random_state": 1, "validation": 0.2},
        "model": {"family": "mlp", "hidden_units": 64, "epochs": 100, "batch_size": 64},
        "width": {"low": 16, "high": 256, "log": True},
    },
}


def group(trial: TrialRecord) -> str:
    """``none`` or ``regularizer/placement``."""
    config = trial.config
    assert config is not None
    if config.regularizer.value == "none":
        return "none"
    assert config.placement is not None
    return f"{config.regularizer.value}/{config.placement.value}"


def study(problem: str, knobs: bool, trials: int) -> actreg_search.StudySpec:
    """One of the four studies."""
    setup = PROBLEMS[problem]
    space = {**PENALTY, "hidden_units": setup["width"], **(KNOBS if knobs else {})}
    name = f"winners-{problem}-{'knobs' if knobs else 'penalty'}"
    return actreg_search.make_spec(
        name, data=setup["data"], model=setup["model"], space=space, n_trials=trials, seeds=5, sampler="random", seed=0
    )


def report(results: actreg_search.Results, title: str) -> None:
    """Each group's best (on validation) against the best ``none``, on test, paired by seed."""
    best: dict[str, TrialRecord] = {}
    counts: dict[str, int] = {}
    for trial in results.top(len(results.trials)):
        counts[group(trial)] = counts.get(group(trial), 0) + 1
        best.setdefault(group(trial), trial)
    winner = results.best
    assert winner is not None and "none" in best
    base = best["none"]
    print(f"\n{title}: {len(results.top(len(results.trials)))} completed trials; winner (on validation): trial "
          f"{winner.number}, {group(winner)}, {winner.config.label()}")
    print(f"{'group':<24} {'trials':>6} {'best':>5} {'validation':>10} {'test':>7} "
          f"{'test - none [95% CI]':>26} {'w/t/l':>7}  config")
    for name in sorted(best, key=lambda g: -best[g].mean(VALIDATION_ACCURACY)):
        trial = best[name]
        line = (f"{name:<24} {counts[name]:>6} {trial.number:>5} {trial.mean(VALIDATION_ACCURACY):>10.4f} "
                f"{trial.mean(TEST_ACCURACY):>7.4f} ")
        if trial is base:
            line += f"{'(the baseline)':>26} {'':>7}"
        else:
            c = paired_comparison(base, trial, TEST_ACCURACY)
            ci = f"{100 * c.mean_difference:+.1f} [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]"
            line += f"{ci:>26} {c.wins}/{c.ties}/{c.losses:<3}"
        print(f"{line}  {trial.config.label()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=150, help="trials a study (default 150)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=sorted(PROBLEMS), help="one problem")
    parser.add_argument("--storage", help="keep the studies here (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        storage = args.storage or f"sqlite:///{folder}/winners.db"
        for problem in [args.only] if args.only else list(PROBLEMS):
            for knobs in (False, True):
                spec = study(problem, knobs, args.trials)
                start = time.perf_counter()
                actreg_search.run(spec, storage, jobs=args.jobs, progress=False)
                results = actreg_search.load(spec.study.name, storage)
                searched = "penalty, learning rate and dropout" if knobs else "penalty only"
                report(results, f"{problem}, {searched} ({time.perf_counter() - start:.0f} s)")
    print("\ntest - none: the group's best trial (chosen on validation) minus the best unregularized trial, test accuracy "
          "in points, mean over the 5 seeds with a 95% t-interval; w/t/l: seeds won, tied, lost.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
