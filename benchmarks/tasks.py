"""Activity regularization beyond classification: the tutorial's two open questions, answered by searches (issue 21).

* **Regression** (scikit-learn's diabetes table: 221 patients train, 221
  test; each seed holds out 20% of its training patients to validate): does
  activity regularization help, and where? A random search of regularizer
  (none, l1, l2, l1_l2, kl_sparsity, decov), placement (before or after the
  ReLU, or the kernel) and coefficient (log-uniform 1e-6..1e-1) at widths
  16..256, 5 seeds a trial. For every group (none, each regularizer ×
  placement) its best trial on validation RMSE is compared seed by seed with
  the best ``none`` on *test* RMSE (paired mean difference, 95% t-interval;
  negative is better).
* **Autoencoder** (digits, 30% train with a 20% hold-out per seed; the
  built-in mlp autoencoder with a 32-unit ReLU code layer): which penalty
  gives the sparsest code at a reconstruction error within 5% of the
  unregularized one? Among the trials whose validation reconstruction MSE is
  within 5% of the best ``none``'s, each group's trial with the sparsest code
  on validation (fraction of exact zeros) is read on test: its test MSE
  against the 5% bound, its test code sparsity, and the paired difference in
  sparsity against the best ``none``.

Nothing is chosen on the test figures printed. Run from the repository root
(about 20 minutes on the 2-core VM)::

    .venv/bin/python benchmarks/tasks.py --trials 120 --jobs 2
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
from actreg_search.results.suite import group_of  # noqa: E402

KINDS: dict[str, Any] = {
    "regularizer": ["none", "l1", "l2", "l1_l2", "kl_sparsity", "decov"],
    "placement": ["pre_activation", "post_activation", "kernel"],
    "coefficient": {"low": 1e-6, "high": 1e-1, "log": True},
}


def group(trial: TrialRecord) -> str:
    """``none``, ``regularizer/placement``, or a kind that reads the activated output by its name (the suite's groups)."""
    assert trial.config is not None
    return group_of(trial.config)


def regression(trials: int) -> actreg_search.StudySpec:
    return actreg_search.make_spec(
        "tasks-diabetes", task="regression",
        data={"name": "diabetes", "train_size": 0.5, "random_state": 1, "validation": 0.2},
        model={"family": "mlp", "hidden_units": 64, "epochs": 300, "batch_size": 32},
        space={**KINDS, "hidden_units": {"low": 16, "high": 256, "log": True}},
        n_trials=trials, seeds=5, sampler="random", seed=0,
    )


def autoencoder(trials: int) -> actreg_search.StudySpec:
    return actreg_search.make_spec(
        "tasks-digits-autoencoder", task="autoencoder",
        data={"name": "digits", "train_size": 0.3, "random_state": 1, "validation": 0.2},
        model={"family": "mlp", "hidden_units": 32, "epochs": 200, "batch_size": 64},
        space=KINDS, n_trials=trials, seeds=5, sampler="random", seed=0,
    )


def bests(trials: list[TrialRecord], key) -> dict[str, TrialRecord]:
    """Each group's best trial by ``key`` (lower first), and how many trials it has."""
    best: dict[str, TrialRecord] = {}
    for trial in sorted(trials, key=key):
        best.setdefault(group(trial), trial)
    return best


def report_regression(results: actreg_search.Results) -> None:
    completed = results.top(len(results.trials))
    best = bests(completed, key=lambda t: t.mean("validation_rmse"))
    base = best["none"]
    winner = min(completed, key=lambda t: t.mean("validation_rmse"))
    print(f"\nregression (diabetes): {len(completed)} completed trials; winner on validation: trial {winner.number}, "
          f"{group(winner)}, {winner.config.label()}")
    print(f"{'group':<24} {'trials':>6} {'val RMSE':>9} {'test RMSE':>9} {'test R2':>7} {'test - none [95% CI]':>24} {'w/t/l':>7}  config")
    counts = {g: sum(1 for t in completed if group(t) == g) for g in best}
    for name, trial in sorted(best.items(), key=lambda item: item[1].mean("validation_rmse")):
        line = (f"{name:<24} {counts[name]:>6} {trial.mean('validation_rmse'):>9.2f} {trial.mean('test_rmse'):>9.2f} "
                f"{trial.mean('test_r2'):>7.3f} ")
        if trial is base:
            line += f"{'(the baseline)':>24} {'':>7}"
        else:
            c = paired_comparison(base, trial, "test_rmse")
            line += f"{f'{c.mean_difference:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}]':>24} {c.wins}/{c.ties}/{c.losses:<3}"
        print(f"{line}  {trial.config.label()}")


def report_autoencoder(results: actreg_search.Results) -> None:
    completed = results.top(len(results.trials))
    nones = [t for t in completed if group(t) == "none"]
    base = min(nones, key=lambda t: t.mean("validation_mse"))
    bound = 1.05 * base.mean("validation_mse")
    within = [t for t in completed if t.mean("validation_mse") <= bound]
    best = bests(within, key=lambda t: -t.mean("validation_sparsity"))
    print(f"\nautoencoder (digits): {len(completed)} completed trials; best none: trial {base.number}, validation MSE "
          f"{base.mean('validation_mse'):.5f} (bound {bound:.5f}), test MSE {base.mean('test_mse'):.5f}; "
          f"{len(within)} trials within the bound on validation")
    print(f"{'group':<24} {'within':>6} {'val MSE':>8} {'val sparsity':>12} {'test MSE':>8} {'/ none':>7} "
          f"{'test sparsity':>13} {'sparsity - none [95% CI]':>26}  config")
    counts = {g: sum(1 for t in within if group(t) == g) for g in best}
    for name, trial in sorted(best.items(), key=lambda item: -item[1].mean("validation_sparsity")):
        ratio = trial.mean("test_mse") / base.mean("test_mse")
        line = (f"{name:<24} {counts[name]:>6} {trial.mean('validation_mse'):>8.5f} {trial.mean('validation_sparsity'):>12.3f} "
                f"{trial.mean('test_mse'):>8.5f} {ratio:>7.3f} {trial.mean('sparsity'):>13.3f} ")
        if trial is base:
            line += f"{'(the baseline)':>26}"
        else:
            c = paired_comparison(base, trial, "sparsity")
            line += f"{f'{100 * c.mean_difference:+.1f} [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]':>26}"
        print(f"{line}  {trial.config.label()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120, help="trials a study (default 120)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=("regression", "autoencoder"), help="one of the two")
    parser.add_argument("--storage", help="keep the studies here (default: a temporary SQLite file)")
    args = parser.parse_args()
    studies = {"regression": (regression, report_regression), "autoencoder": (autoencoder, report_autoencoder)}
    with tempfile.TemporaryDirectory() as folder:
        storage = args.storage or f"sqlite:///{folder}/tasks.db"
        for name in [args.only] if args.only else list(studies):
            make, report = studies[name]
            spec = make(args.trials)
            start = time.perf_counter()
            actreg_search.run(spec, storage, jobs=args.jobs, progress=False)
            print(f"\n{name}: {args.trials} trials in {time.perf_counter() - start:.0f} s")
            report(actreg_search.load(spec.study.name, storage))
    print("\nRegression: test - none is the group's best trial (on validation RMSE) minus the best unregularized trial, "
          "test RMSE in the target's units (negative: better), mean over the 5 seeds with a 95% t-interval. "
          "Autoencoder: sparsity - none in points of exact zeros in the code on test.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
