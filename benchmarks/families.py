"""The families benchmark (issue 19): the same trials of the cnn, rnn and a Dropout + BatchNormalization MLP on both engines.

Studies:

* ``cnn``: ``studies/digits_cnn.toml`` as shipped (Conv2D, digits as 8x8x1 images);
* ``rnn``: ``studies/digits_rnn.toml`` as shipped (LSTM, digits as 8 rows of 8 pixels);
* ``mlp``: a builder MLP on the flat digits, input -> ``reg.Dense(name="hidden")``
  -> BatchNormalization -> Dropout(0.2) -> softmax head
  (``studies/models/dropout_bn_mlp.py:build``), and, as a comparison row, the
  same MLP without BatchNormalization and Dropout (``:build_plain``); both are
  made here with ``actreg_search.make_spec``, with digits_cnn's data and
  search space (width 16-256 in place of filters).

Each study runs ``--trials`` trials x ``--seeds`` seeds x ``--epochs`` epochs
(default 9 x 3 x 30) on the fused engine, then the same trials on the keras
engine: the fused run draws its trials with the study's sampler (TPE, seed 0),
and every other run of the study (keras; for the MLP also both runs of the
plain model) is given exactly those parameters, queued in trial order
(``optuna.Study.enqueue_trial``), so trial n is the same config in every run;
the script checks that and says so. Every run is ``actreg_search.run`` in this
process (``jobs=1``, never recycled), in a fresh SQLite file under a temporary
folder, with a fresh engine (so the fused engine compiles its programs anew in
each run), ``--batch`` trials at a time (default 1: each trial's stored time is
its own; trials trained together in one program share that program's time).

Printed per study and engine, from each trial's stored training time (user
attribute ``wall_time_s``: the engine's time for all seeds, results included,
not storage or sampling): the cold trial (trial 0: the fused engine compiles
its program there; TensorFlow is already initialised, by a warm-up before the
first run), the warm trial (median over trials 3-8, i.e. trials 3 to the
last), the run's wall time and, for the fused engine, the programs it compiled
and the longest compile (``compile_s`` of the engine's profile records: the
script gives each fused engine a ``profile_path``, what ``ACTREG_PROFILE``
sets for a plain run; compile_s is the first chunk's time beyond what its epochs took in the
later chunks). A trial in 3-8 may compile too (a width bucket new to the
run): where the profile has one record per trial (batch 1), the per-trial
times mark the trials that compiled with ``*`` and the table adds the warm
median of those that did not. Then keras / fused of the warm trials, and for
the MLP the Dropout + BN model's warm trial over the plain one's on the fused
engine (issue 19 asks <= 1.5x). Not a test: it measures. Run from the
repository root::

    .venv/bin/python benchmarks/families.py                       # the issue's figures: 9 trials x 3 seeds x 30 epochs
    .venv/bin/python benchmarks/families.py --only mlp            # a part: any of cnn,rnn,mlp
    .venv/bin/python benchmarks/families.py --trials 3 --epochs 2 # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna  # noqa: E402

import actreg_search  # noqa: E402
from actreg_search.spec.specs import StudySpec, spec_to_raw  # noqa: E402
from actreg_search.store.keys import ENGINE as ENGINE_ATTR  # noqa: E402
from actreg_search.store.keys import SPEC as SPEC_ATTR  # noqa: E402

STUDIES = ROOT / "studies"
BUILDER = STUDIES / "models" / "dropout_bn_mlp.py"
WARM_FROM = 3
"""The warm trial is the median over trials ``WARM_FROM`` to the last (the issue: 3-8 of 9)."""
ISSUE_BN_RATIO = 1.5
"""Issue 19: the Dropout + BN MLP's warm trial at most this many times the plain MLP's, on the fused engine."""
ENGINES = ("fused", "keras")


@dataclass(frozen=True)
class Case:
    """One study of the benchmark, run on both engines.

    Attributes:
        key: The ``--only`` name of its group (cnn, rnn, mlp).
        label: Its row label.
        spec: The study, at the benchmark's trials, seeds and epochs.
        source: The case whose fused run's trials this one trains (``None``: its own fused run draws them).
    """

    key: str
    label: str
    spec: StudySpec
    source: str | None = None


@dataclass(frozen=True)
class Run:
    """One case on one engine: its trials as stored, and what the fused engine's profile says."""

    case: Case
    engine: str
    url: str
    wall_s: float
    trials: tuple  # TrialRecord, by number
    trained_by: tuple[str, ...]  # the engine each trial's result says trained it
    compiles: int | None  # programs the fused engine compiled (None: no profile)
    max_compile_s: float | None
    compiled: tuple[bool, ...] | None  # per completed trial, whether it compiled (None: not known)

    def times(self) -> list[float | None]:
        """Each trial's stored training time, by trial number (``None``: it did not complete)."""
        return [t.wall_time_s if t.state.name == "COMPLETE" else None for t in self.trials]

    def cold(self) -> float | None:
        times = self.times()
        return times[0] if times else None

    def warm(self, uncompiled: bool = False) -> tuple[float | None, int]:
        """The median training time of trials ``WARM_FROM``.. (fewer trials: 1..), and how many it is over;
        ``uncompiled``: of those that compiled no program only (``None`` when that is not known)."""
        times = self.times()
        first = WARM_FROM if len(times) > WARM_FROM else 1
        if uncompiled:
            flags = self.compile_flags()
            if flags is None:
                return None, 0
            times = [None if compiled else t for t, compiled in zip(times, flags)]
        done = [t for t in times[first:] if t is not None]
        return (statistics.median(done) if done else None), len(done)

    def compile_flags(self) -> list[bool] | None:
        """Per trial (by number), whether it compiled a program; ``None`` when the profile cannot say."""
        if self.compiled is None:
            return None
        flags = iter(self.compiled)
        return [next(flags) if t.state.name == "COMPLETE" else False for t in self.trials]

    def listed(self) -> str:
        """Each trial's time, ``*`` after those that compiled."""
        flags = self.compile_flags() or [False] * len(self.trials)
        return ", ".join(_s(t) + ("*" if compiled else "") for t, compiled in zip(self.times(), flags))


def mlp_spec(name: str, function: str) -> StudySpec:
    """The builder MLP's study: digits_cnn's data, sampler and space, its width searched 16-256."""
    return actreg_search.make_spec(
        name,
        builder=f"{BUILDER}:{function}",
        data={"name": "digits", "train_size": 0.3, "random_state": 1, "validation": 0.2},
        model={"hidden_units": 64, "activation": "relu", "epochs": 100, "batch_size": 64, "optimizer": "adam"},
        space={
            "regularizer": ["none", "l1", "l2", "l1_l2"],
            "placement": ["pre_activation", "post_activation", "kernel"],
            "coefficient": {"low": 1e-6, "high": 1e-2, "log": True},
            "hidden_units": {"low": 16, "high": 256, "log": True},
        },
        sampler="tpe", n_trials=20, seeds=5, seed=0,
    )


def cases(only: set[str], trials: int, seeds: int, epochs: int, batch: int) -> list[Case]:
    """The benchmark's studies, in the order they run (a case's source before it)."""
    out = []

    def add(key: str, label: str, spec: StudySpec, source: str | None = None) -> None:
        if key in only:
            out.append(Case(key, label, spec.with_overrides(n_trials=trials, seeds=seeds, epochs=epochs, batch=batch), source))

    add("cnn", "digits_cnn (Conv2D)", actreg_search.load_spec(STUDIES / "digits_cnn.toml"))
    add("rnn", "digits_rnn (LSTM)", actreg_search.load_spec(STUDIES / "digits_rnn.toml"))
    add("mlp", "mlp + BN + Dropout", mlp_spec("digits-mlp-dropout-bn", "build"))
    add("mlp", "mlp plain", mlp_spec("digits-mlp-plain", "build_plain"), source="mlp + BN + Dropout")
    return out


def replay(source: Run, spec: StudySpec, url: str) -> None:
    """Create ``spec``'s study at ``url`` with the trials of ``source`` queued in trial order (their parameters).

    The study stores ``spec`` as ``run`` would, so ``run`` resumes it and trains the queued trials first.
    """
    trained = optuna.load_study(study_name=source.case.spec.study.name, storage=source.url)
    target = optuna.create_study(
        study_name=spec.study.name, storage=url, directions=["maximize"] * len(spec.study.objectives)
    )
    target.set_user_attr(SPEC_ATTR, spec_to_raw(actreg_search.check_spec(spec)))
    for trial in sorted(trained.trials, key=lambda t: t.number):
        if trial.params:
            target.enqueue_trial(trial.params)


def run_case(case: Case, engine_name: str, folder: Path, source: Run | None) -> Run:
    """Run one case on one engine (a fresh engine, in this process) and read back its trials and profile."""
    from actreg_search.engine import make_fused_engine, make_keras_engine

    stem = f"{case.spec.study.name}-{engine_name}"
    url = f"sqlite:///{folder / stem}.db"
    profile = folder / f"{stem}.jsonl"
    if source is not None:
        replay(source, case.spec, url)
    engine = make_fused_engine(profile_path=str(profile)) if engine_name == "fused" else make_keras_engine()
    start = time.perf_counter()
    actreg_search.run(case.spec, url, engine=engine, jobs=1, recycle_mb=None, progress=False)
    wall = time.perf_counter() - start
    results = actreg_search.load(case.spec.study.name, storage=url, curves=False)
    trials = tuple(sorted(results.trials, key=lambda t: t.number))
    failed = [t for t in trials if t.state.name != "COMPLETE"]
    if failed:
        first = failed[0]
        reason = first.fail_reason.splitlines()[0][:160] if first.fail_reason else "-"
        print(f"  ({case.label}, {engine_name}: {len(failed)} trial(s) did not complete, "
              f"e.g. trial {first.number}, {first.state.name}: {reason})", flush=True)
    stored = optuna.load_study(study_name=case.spec.study.name, storage=url)
    trained_by = tuple(sorted({str(t.user_attrs.get(ENGINE_ATTR)) for t in stored.trials if ENGINE_ATTR in t.user_attrs}))
    compiles, max_compile, compiled = None, None, None
    if profile.exists():
        records = [json.loads(line) for line in profile.read_text().splitlines() if line.strip()]
        compiles = sum(1 for r in records if r.get("compiled"))
        compile_times = [r["compile_s"] for r in records if r.get("compiled") and r.get("compile_s") is not None]
        max_compile = max(compile_times, default=None)
        # One record a program call: with one trial a call (batch 1) and every completed trial trained by the
        # fused engine, the records are the completed trials in order, so each says whether its trial compiled.
        done = [t for t in trials if t.state.name == "COMPLETE"]
        if len(records) == len(done) and all(r.get("trials", 1) == 1 for r in records):
            compiled = tuple(bool(r.get("compiled")) for r in records)
    return Run(case, engine_name, url, wall, trials, trained_by, compiles, max_compile, compiled)


def same_configs(a: Run, b: Run) -> str:
    """Whether two runs trained the same configs, trial by trial, in words."""
    ours = [(t.number, t.config) for t in a.trials]
    theirs = [(t.number, t.config) for t in b.trials]
    if ours == theirs:
        return f"same {len(ours)} configs, trial by trial"
    differ = [n for (n, c), (_, d) in zip(ours, theirs) if c != d]
    return f"CONFIGS DIFFER ({len(ours)} vs {len(theirs)} trials; trials {differ[:5]} differ)"


def _s(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def machine() -> str:
    """The machine and the versions, as benchmarks/engine.py prints them (imports TensorFlow, runs a warm-up op)."""
    import keras
    import numpy as np
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    names = []
    for gpu in gpus:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
        except Exception:  # noqa: BLE001 - only for the label
            names.append(gpu.name)
    tf.get_logger().setLevel("ERROR")  # no retracing warnings between the rows: the profile counts the compiles
    float(tf.reduce_sum(tf.matmul(tf.ones((64, 64)), tf.ones((64, 64)))))  # TensorFlow's first use: not any trial's
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"GPUs visible to TF: {len(gpus)}{' (' + ', '.join(names) + ')' if names else ''}\n"
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"numpy {np.__version__}, optuna {optuna.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=9, help="trials per study (default 9; the warm trial is the median of 3..)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per trial (default 3)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per seed (default 30)")
    parser.add_argument("--batch", type=int, default=1, help="trials a run trains together (default 1: per-trial times)")
    parser.add_argument("--only", default="cnn,rnn,mlp", help="which studies, comma-separated: cnn, rnn, mlp (default all)")
    parser.add_argument("--keep", type=Path, help="write the SQLite files and profiles here (default: a temporary folder)")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - {"cnn", "rnn", "mlp"}
    if unknown or not only:
        parser.error(f"--only: unknown {sorted(unknown)}; choose from cnn, rnn, mlp")
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    print(machine())
    print(f"each study: {args.trials} trials x {args.seeds} seeds x {args.epochs} epochs, batch {args.batch}, "
          f"jobs 1 in this process, fused engine first, then the same trials on the keras engine\n", flush=True)
    todo = cases(only, args.trials, args.seeds, args.epochs, args.batch)
    runs: dict[tuple[str, str], Run] = {}
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for case in todo:
            for engine in ENGINES:
                source = None
                if case.source is not None:
                    source = runs[(case.source, "fused")]
                elif engine != "fused":
                    source = runs[(case.label, "fused")]
                run = runs[(case.label, engine)] = run_case(case, engine, folder, source)
                warm, n_warm = run.warm()
                compiled = "" if run.compiles is None else f", compiles {run.compiles}, longest compile {_s(run.max_compile_s)} s"
                print(f"{case.label:<20} {engine:<5}: {len(run.trials)} trials in {run.wall_s:6.1f} s wall; "
                      f"cold {_s(run.cold())} s, warm {_s(warm)} s (median of {n_warm}){compiled}; "
                      f"trained by {', '.join(run.trained_by) or '-'}", flush=True)
                marked = ", * compiled a program" if run.compiled is not None else ""
                print(f"{'':<28}per trial (s{marked}): {run.listed()}", flush=True)
        if args.keep:
            print(f"\nstudies and profiles kept in {folder}")

    print("\nsame trials on both engines:")
    for case in todo:
        fused, keras_run = runs[(case.label, "fused")], runs[(case.label, "keras")]
        print(f"  {case.label:<20} fused vs keras: {same_configs(fused, keras_run)}")
        if case.source is not None:
            print(f"  {case.label:<20} vs {case.source}: {same_configs(runs[(case.source, 'fused')], fused)}")

    print(f"\nwarm: median of trials {WARM_FROM if args.trials > WARM_FROM else 1}..{args.trials - 1}; warm, no compile: of those that compiled no program "
          f"(fused engine, from its profile); compile: the longest compile_s of the fused engine's profile")
    print(f"{'study':<20} {'engine':<6} {'cold s':>8} {'warm s':>8} {'warm, no compile s':>19} {'compile s':>10} "
          f"{'keras/fused (warm)':>19}")
    for case in todo:
        fused_warm = runs[(case.label, "fused")].warm()[0]
        for engine in ENGINES:
            run = runs[(case.label, engine)]
            warm = run.warm()[0]
            uncompiled = _s(run.warm(uncompiled=True)[0]) if engine == "fused" else ""
            ratio = _ratio(warm, fused_warm) if engine == "keras" else ""
            print(f"{case.label:<20} {engine:<6} {_s(run.cold()):>8} {_s(warm):>8} {uncompiled:>19} "
                  f"{_s(run.max_compile_s):>10} {ratio:>19}")
    if ("mlp + BN + Dropout", "fused") in runs and ("mlp plain", "fused") in runs:
        with_bn = runs[("mlp + BN + Dropout", "fused")].warm()[0]
        plain = runs[("mlp plain", "fused")].warm()[0]
        verdict = "" if with_bn is None or plain is None else (
            f"  (issue 19 asks <= {ISSUE_BN_RATIO}x: {'met' if with_bn / plain <= ISSUE_BN_RATIO else 'NOT met'})"
        )
        print(f"\nfused engine, warm trial: mlp + BN + Dropout / mlp plain = {_ratio(with_bn, plain)}{verdict}")
        bn_quiet = runs[("mlp + BN + Dropout", "fused")].warm(uncompiled=True)[0]
        plain_quiet = runs[("mlp plain", "fused")].warm(uncompiled=True)[0]
        print(f"fused engine, warm trial that compiled nothing: mlp + BN + Dropout / mlp plain = {_ratio(bn_quiet, plain_quiet)}")
        keras_bn, keras_plain = runs[("mlp + BN + Dropout", "keras")].warm()[0], runs[("mlp plain", "keras")].warm()[0]
        print(f"keras engine, warm trial: mlp + BN + Dropout / mlp plain = {_ratio(keras_bn, keras_plain)}")
    if args.trials <= WARM_FROM:
        print(f"(only {args.trials} trials: the warm trial is the median of trials 1.., not {WARM_FROM}..)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
