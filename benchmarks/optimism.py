"""How optimistic is each protocol's reported figure? Selection on the test set against selection on validation.

For each of several draws of the tutorial's data (``make_circles``'s
``random_state``), the circles study (``studies/circles_tutorial.toml``) is
searched twice: under the tutorial's protocol (``validation = "test"``: chosen
on the test set) and under the study file's own validation protocol. For each
search the best trial's *claimed* accuracy (its mean test accuracy over
seeds, the figure ``show`` reports) is set against its accuracy on 10,000 fresh
samples of the same generator (another ``random_state``): each seed's model is
trained again exactly as in the search (same seed, same training samples) and
scored on the fresh samples; the mean over seeds (and folds) is the trial's true
accuracy. claimed − fresh is the protocol's optimism in points; the mean over
draws gets a t-interval over the draws (the draws are independent). A last column retrains the chosen config on the
whole training split, as ``export --model`` makes the final model, and scores
it on the fresh samples: which protocol *chooses* better.

A second part does the same for scikit-learn's ``digits`` with the mlp, where no
fresh draw exists: there the chosen trial's validation figure (what it was
chosen on) is set against its test figure (which it was not).

Usage::

    .venv/bin/python benchmarks/optimism.py [--draws 5] [--n-trials 60] [--jobs 2] [--digits-trials 30]

Prints one row per search and the summary; nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats
from sklearn.datasets import make_circles

import actreg_search
from actreg_search.spec.measures import TEST_ACCURACY, VALIDATION_ACCURACY
from actreg_search.spec.parser import load_spec
from actreg_search.spec.specs import ON_TEST, StudySpec

ROOT = Path(__file__).resolve().parent.parent
FRESH = 10_000


def _search(spec: StudySpec, storage: str, n_trials: int, jobs: int) -> actreg_search.Results:
    actreg_search.run(spec, storage=storage, n_trials=n_trials, jobs=jobs, progress=False)
    return actreg_search.load(spec.study.name, storage=storage)


def _fresh_accuracy(spec: StudySpec, config: object, x: np.ndarray, y: np.ndarray, final: bool = False) -> float:
    """Each seed's models trained again as in the search (``final``: on the whole training split, as
    ``export --model`` trains the final model), scored on fresh samples; the mean over seeds and folds."""
    from actreg_search.data.datasets import dataset_for  # noqa: PLC0415 - TensorFlow only once the searches ran
    from actreg_search.engine.fused import FusedEngine  # noqa: PLC0415
    from actreg_search.engine.metrics import accuracy  # noqa: PLC0415

    data = dataset_for(spec)
    fit = FusedEngine().fit_models(config, data.without_validation() if final else data, spec.study.seeds)
    return float(np.mean([accuracy(net, x, y) for net in fit.models]))


def _ci(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = scipy_stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return mean, mean - half, mean + half


def circles(draws: range, n_trials: int, jobs: int, storage: str) -> None:
    base = load_spec(ROOT / "studies" / "circles_tutorial.toml")
    protocols = {"test": ON_TEST, "validation": base.data.validation}
    optimism: dict[str, list[float]] = {name: [] for name in protocols}
    chosen_on: dict[str, list[float]] = {name: [] for name in protocols}
    finals: dict[str, list[float]] = {name: [] for name in protocols}
    print(f"circles: {len(draws)} draws x {len(protocols)} protocols, {n_trials} TPE trials each, fresh sample of {FRESH}")
    print(
        f"{'draw':>4} {'protocol':<28} {'best':>5} {'selected on':>11} {'claimed':>8} {'fresh':>7} {'optimism':>9} "
        f"{'final fresh':>11} {'wall s':>7}"
    )
    for draw in draws:
        x_fresh, y_fresh = make_circles(n_samples=FRESH, noise=base.data.noise, random_state=1000 + draw)
        for name, validation in protocols.items():
            data = dataclasses.replace(base.data, random_state=draw, validation=validation)
            study = dataclasses.replace(base.study, name=f"optimism-{name}-{draw}")
            spec = dataclasses.replace(base, data=data, study=study)
            start = time.perf_counter()
            results = _search(spec, storage, n_trials, jobs)
            best = results.best
            assert best is not None and best.config is not None
            claimed = best.mean(TEST_ACCURACY)
            x, y = x_fresh.astype("float32"), y_fresh.astype("float32")
            fresh = _fresh_accuracy(spec, best.config, x, y)
            final = _fresh_accuracy(spec, best.config, x, y, final=True)
            finals[name].append(100 * final)
            optimism[name].append(100 * (claimed - fresh))
            chosen_on[name].append(100 * (best.value - fresh))
            print(
                f"{draw:>4} {validation.describe()[:28]:<28} {best.number:>5} {best.value:>11.4f} {claimed:>8.4f} "
                f"{fresh:>7.4f} {100 * (claimed - fresh):>+8.1f}p {final:>11.4f} {time.perf_counter() - start:>7.1f}"
            )
    for name, values in optimism.items():
        mean, low, high = _ci(values)
        print(f"optimism of the reported (test) figure, {name:<10}: {mean:+.1f} points, 95% CI over {len(values)} draws [{low:+.1f}, {high:+.1f}]")
    for name, values in chosen_on.items():
        mean, low, high = _ci(values)
        print(f"optimism of the figure chosen on,      {name:<10}: {mean:+.1f} points, 95% CI over {len(values)} draws [{low:+.1f}, {high:+.1f}]")
    for name, values in finals.items():
        mean, low, high = _ci(values)
        print(f"the chosen config retrained on all training samples, fresh accuracy, {name:<10}: {mean:.1f}% [{low:.1f}, {high:.1f}]")
    better = [a - b for a, b in zip(finals["test"], finals["validation"])]
    mean, low, high = _ci(better)
    print(f"final models: test-set choice minus validation choice, paired by draw: {mean:+.1f} points [{low:+.1f}, {high:+.1f}]")
    difference = [a - b for a, b in zip(optimism["test"], optimism["validation"])]
    mean, low, high = _ci(difference)
    print(f"test-set selection overstates by {mean:+.1f} points more than validation selection, paired by draw [{low:+.1f}, {high:+.1f}]")


def digits(n_trials: int, jobs: int, storage: str) -> None:
    spec = actreg_search.make_spec(
        name="optimism-digits",
        data={"name": "digits", "train_size": 0.5, "validation": 0.2},
        model={"family": "mlp", "hidden_units": 64, "epochs": 150},
        space={"hidden_units": {"low": 16, "high": 256, "log": True}},
        seeds=5,
    )
    start = time.perf_counter()
    results = _search(spec, storage, n_trials, jobs)
    best = results.best
    assert best is not None
    val, test = best.mean(VALIDATION_ACCURACY), best.mean(TEST_ACCURACY)
    print(
        f"digits (mlp, {n_trials} trials, 20% hold-out): best trial {best.number}: validation {val:.4f} (chosen on), "
        f"test {test:.4f}, test - validation {100 * (test - val):+.1f} points; {time.perf_counter() - start:.0f} s"
    )
    rows = [(t.mean(VALIDATION_ACCURACY), t.mean(TEST_ACCURACY)) for t in results.trials if t.complete]
    gaps = [100 * (t - v) for v, t in rows]
    print(f"  over all {len(rows)} trials: test - validation {statistics.fmean(gaps):+.1f} points on average (the chosen trial's is selection)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--first-draw", type=int, default=1, help="random_state of the first draw (the fresh sample's: 1000 + it)")
    parser.add_argument("--n-trials", type=int, default=60)
    parser.add_argument("--digits-trials", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/optimism.db"
        circles(range(args.first_draw, args.first_draw + args.draws), args.n_trials, args.jobs, storage)
        if args.digits_trials:
            digits(args.digits_trials, args.jobs, storage)


if __name__ == "__main__":
    main()
