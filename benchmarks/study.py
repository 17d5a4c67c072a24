"""Whole-study wall time: today's path against shared programs, each with --jobs 1 and --jobs 2, on the same trials.

Usage: python benchmarks/study.py [--n-trials 100] [--study studies/circles_tutorial.toml]
                                  [--jobs 1 2] [--batch 4] [--marginal-trials 10]
       python benchmarks/study.py --penalty-terms 7

``--penalty-terms R`` measures only what ``kl_sparsity`` and ``decov`` cost a
plain L1/L2 study (issue 21): a warm width-500 L1 trial's engine time with the
probes' penalty as it was before them (L1 and L2 only) and as it is now, R
interleaved repeats each, medians and their ratio.

Paths:

* ``one program per trial``: a program of its own for every trial, its penalty
  and width baked in (``_engine_helpers.OwnProgramEngine``), batch 1, workers replaced
  every 150 MB (the defaults before programs were shared);
* ``shared programs``: the defaults now (programs shared, the engine's
  default batch, ``--recycle-mb 1000``: with ``--jobs 1`` too, the trials
  run in one worker process, as ``actreg-search run`` runs them);
* with ``--batch T``: shared programs, T trials asked and trained together.

The first run draws its trials with the study's sampler; every other run is
given exactly those trials' parameters, queued, so every run trains the same
configs. Each run is ``run_study`` in this process (as ``actreg-search run``
calls it), workers as the CLI starts them. The engine appends a line per
trained group to a profile file (its ``profile_path``, ``ACTREG_PROFILE``): compiled or not, the
compile time (the first chunk's time beyond what its epochs took in the later
chunks: tracing and XLA compilation), training, final figures. From those and the run's wall time it prints per run:
the compile count, the split of the workers' time (start-up: a worker's start
to its first trial; compile; training; the rest, mostly storage and sampling)
and the per-trial marginal cost (median engine time of a trial that did not
compile, and wall time per trial). Last, the warm marginal cost of a width-500
trial in one process: ``--marginal-trials`` more trials of a study fixed at 500
units, after three that warm the program up, timed as a whole (loop, engine
and storage). Not a test: it measures.
"""

from __future__ import annotations

import dataclasses

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import optuna

from actreg_search.store.keys import SPEC as SPEC_ATTR
from actreg_search.spec.parser import load_spec
from actreg_search.spec.specs import ON_TEST
from actreg_search.spec.specs import Choice, StudySpec
from actreg_search.search.study import run_study
from actreg_search.spec.vocab import DEFAULT_RECYCLE_MB

ROOT = Path(__file__).resolve().parents[1]
OLD_RECYCLE_MB = 150


@dataclass(frozen=True)
class Path_:
    """One way of running the study."""

    label: str
    share: bool
    batch: int | None
    recycle_mb: int | None


@dataclass(frozen=True)
class Measured:
    label: str
    jobs: int
    wall_s: float
    compiles: int
    startup_s: float
    compile_s: float
    train_s: float
    other_s: float
    warm_trial_s: float
    summary: str


def replay(spec: StudySpec, source_url: str, url: str) -> None:
    """Create the study at ``url`` with the finished trials of ``source_url`` queued, in order."""
    source = optuna.load_study(study_name=spec.study.name, storage=source_url)
    target = optuna.create_study(study_name=spec.study.name, storage=url, direction="maximize")
    target.set_user_attr(SPEC_ATTR, source.user_attrs[SPEC_ATTR])
    for trial in source.trials:
        if trial.state.is_finished() and trial.state.name != "FAIL":
            target.enqueue_trial(trial.params)


def fused_engine(share: bool, profile_path: str | None = None) -> object:
    """The fused engine (``share``: today's shared programs; else a program of its own for every trial)."""
    from actreg_search.engine import make_fused_engine

    if share:
        return make_fused_engine(profile_path=profile_path)
    from _engine_helpers import OwnProgramEngine

    return OwnProgramEngine(profile_path=profile_path)


def measure(spec: StudySpec, path: Path_, jobs: int, url: str, folder: str) -> Measured:
    """Run the study one way and split its time from the engine's profile."""
    profile = Path(folder) / f"profile-{path.label.replace(' ', '-')}-{jobs}.jsonl"
    start_wall, start = time.time(), time.perf_counter()
    summary = run_study(
        spec.with_overrides(batch=path.batch) if path.batch else spec,
        url,
        jobs=jobs,
        recycle_mb=path.recycle_mb,
        engine=fused_engine(path.share, str(profile)),
    )
    wall = time.perf_counter() - start
    groups = [json.loads(line) for line in profile.read_text().splitlines()] if profile.exists() else []
    workers: dict[int, list[dict]] = {}
    for group in groups:
        workers.setdefault(group["pid"], []).append(group)
    # A worker's start-up: from the run's start (a replacement: from the last group of a worker
    # that had stopped by then) to the start of its first group.
    startup, ended = 0.0, []
    for i, mine in enumerate(sorted(workers.values(), key=lambda groups_: groups_[0]["time"])):
        first = mine[0]
        began = first["time"] - first["train_s"] - first["results_s"]
        since = start_wall if i < jobs else max([end for end in ended if end < began], default=start_wall)
        startup += max(0.0, began - since)
        ended.append(mine[-1]["time"])
    compiled = [g for g in groups if g["compiled"]]
    compile_s = sum(g["compile_s"] for g in compiled)
    train_s = sum(g["train_s"] + g["results_s"] for g in groups) - compile_s
    warm = [(g["train_s"] + g["results_s"]) / g["trials"] for g in groups if not g["compiled"]]
    busy = wall * jobs
    return Measured(
        label=path.label,
        jobs=jobs,
        wall_s=wall,
        compiles=len(compiled),
        startup_s=startup,
        compile_s=compile_s,
        train_s=train_s,
        other_s=busy - startup - compile_s - train_s,
        warm_trial_s=statistics.median(warm) if warm else float("nan"),
        summary=f"{summary.finished}/{summary.target} finished, best {summary.best_value:.4f}" if summary.best_value else "",
    )


def marginal_500(spec: StudySpec, trials: int, folder: str) -> tuple[float, float]:
    """Seconds per trial of ``trials`` width-500 trials in a warm process, shared programs and one program per trial."""
    fixed = replace(spec, space=replace(spec.space, hidden_units=Choice((500,))))
    out = []
    for share in (True, False):
        engine = fused_engine(share)
        url = f"sqlite:///{folder}/marginal-{share}.db"
        run_study(fixed.with_overrides(n_trials=3, name=f"marginal-{share}"), url, engine=engine)  # compiles, warms up
        start = time.perf_counter()
        run_study(fixed.with_overrides(n_trials=3 + trials, name=f"marginal-{share}"), url, engine=engine)
        out.append((time.perf_counter() - start) / trials)
    return out[0], out[1]


def penalty_terms(repeats: int) -> dict[str, list[float]]:
    """A warm L1 trial (500 units, 5 seeds × 4000 epochs, circles): with the probes' penalty before issue 21 (L1 and L2
    only), now in a study of L1 and L2, and now in a study that also searches kl_sparsity (its programs carry KL's
    terms); each in its own engine, interleaved."""
    import actreg_search.engine.rowwise as rowwise  # noqa: PLC0415
    from _engine_helpers import plain_probe_penalty  # noqa: PLC0415
    from actreg_search.data.datasets import load_dataset  # noqa: PLC0415
    from actreg_search.spec.parser import parse_spec  # noqa: PLC0415
    from actreg_search.spec.specs import DataSpec  # noqa: PLC0415
    from actreg_search.spec.trial import TrialConfig  # noqa: PLC0415
    from actreg_search.spec.vocab import Placement, Regularizer  # noqa: PLC0415

    data = load_dataset(DataSpec(validation=ON_TEST))
    config = TrialConfig(Regularizer.L1, Placement.PRE_ACTIVATION, 1e-4, 0.0, 500)
    study = '[study]\nname = "p"\n[space]\nregularizer = {}\n'
    current = rowwise.probe_penalty
    runs = {
        "before": (plain_probe_penalty, '["none", "l1", "l2"]'),
        "now, L1/L2 study": (current, '["none", "l1", "l2"]'),
        "now, study with kl_sparsity": (current, '["none", "l1", "kl_sparsity"]'),
    }
    engines = {}
    for name, (function, kinds) in runs.items():
        rowwise.probe_penalty = function  # read when the program is traced: each engine's program keeps its own
        engines[name] = fused_engine(True)
        engines[name].prepare(parse_spec(study.format(kinds)))
        engines[name].train(config, data, range(5))  # compiles
    rowwise.probe_penalty = current
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.train(config, data, range(5))
            times[name].append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=100)
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "circles_tutorial.toml")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, nargs="*", default=[4], help="shared-program runs with these batches too")
    parser.add_argument("--marginal-trials", type=int, default=10)
    parser.add_argument(
        "--as-shipped", action="store_true",
        help='the study file\'s own validation protocol (default: validation = "test", one model a seed, as docs/ measured)',
    )
    parser.add_argument(
        "--penalty-terms", type=int, metavar="REPEATS",
        help="only compare a warm L1 trial's engine time with the probes' penalty before kl_sparsity and decov and now",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.penalty_terms:
        times = penalty_terms(args.penalty_terms)
        print("L1 trial, 500 units, 5 seeds x 4000 epochs, warm, engine time (s):")
        before = statistics.median(times["before"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:<28} median {median:.3f}, / before {median / before:.3f}: " + ", ".join(f"{t:.3f}" for t in values))
        return 0
    spec = load_spec(args.study).with_overrides(n_trials=args.n_trials)
    if not args.as_shipped:
        spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, validation=ON_TEST))
    paths = [
        Path_("one program per trial", share=False, batch=1, recycle_mb=OLD_RECYCLE_MB),
        Path_("shared programs", share=True, batch=None, recycle_mb=DEFAULT_RECYCLE_MB),
        *[Path_(f"shared, batch {b}", share=True, batch=b, recycle_mb=DEFAULT_RECYCLE_MB) for b in args.batch],
    ]
    print(f"study {args.study.name}, {args.n_trials} trials x {len(spec.study.seeds)} seeds x {spec.model.epochs} epochs, CPUs: {os.cpu_count()}")
    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as folder:
        first_url = None
        for path in paths:
            for jobs in args.jobs:
                url = f"sqlite:///{folder}/{len(results)}.db"
                if first_url is None:
                    first_url = url
                else:
                    replay(spec, first_url, url)
                m = measure(spec, path, jobs, url, folder)
                results.append(m)
                print(
                    f"{m.label:<22} --jobs {jobs}: {m.wall_s:7.1f} s wall ({m.wall_s / args.n_trials:.2f} s/trial), "
                    f"{m.compiles:3d} compiles | worker time: start-up {m.startup_s:5.1f} s, compile {m.compile_s:5.1f} s, "
                    f"training {m.train_s:6.1f} s, rest (storage, sampler, loop) {m.other_s:6.1f} s | "
                    f"warm trial (engine) {m.warm_trial_s:.2f} s | {m.summary}",
                    flush=True,
                )
        shared, alone = marginal_500(spec, args.marginal_trials, folder)
    base = {m.jobs: m.wall_s for m in results if m.label == paths[0].label}
    print()
    for m in results[len(args.jobs):]:
        print(f"{m.label} --jobs {m.jobs}: {base[m.jobs] / m.wall_s:.2f}x faster than one program per trial --jobs {m.jobs}")
    print(f"width-500 trial in a warm process (loop, engine, storage): shared programs {shared:.2f} s, one program per trial {alone:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
