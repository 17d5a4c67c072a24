"""Wall time of one trial of the tutorial's case, four ways.

The case: circles (30 train / 70 test), Dense(500) with L1 1e-4 activity
regularization before the ReLU, Adam 0.001, batch 32 (so full batch),
5 seeds × 4000 epochs, train and test accuracy recorded.

1. The tutorial's way: one ``model.fit(..., validation_data=...)`` per seed.
2. The ``keras`` engine.
3. The ``fused`` engine.
4. A hand-written fused TensorFlow loop: the floor.

1 and 2 take minutes per seed, so they are timed on short fits and scaled
linearly (a fixed cost per seed plus a cost per epoch, both measured); 3 and 4
run the whole trial, compile included, and the best of ``--repeats`` runs is
kept. Run from the repository root::

    .venv/bin/python benchmarks/engine.py            # the figures in docs/performance.md
    .venv/bin/python benchmarks/engine.py --quick    # smoke run, 400 epochs
    .venv/bin/python benchmarks/engine.py --families # also the three example studies (cnn, rnn, csv)
    .venv/bin/python benchmarks/engine.py --builder-only # the two-layer builder model (studies/custom_builder.toml)

``--builder`` times the issue's two-layer builder model (studies/models/two_layer.py)
at studies/custom_builder.toml's settings: one whole trial on the keras engine
and one on the fused engine, in the same run, with its Dropout and without it
(both on rows since issue 19; the Dropout one took the per-seed graph path before).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from actreg_search.spec.trial import TrialConfig  # noqa: E402
from actreg_search.spec.parser import load_spec  # noqa: E402
from actreg_search.spec.specs import ON_TEST, DataSpec, ModelSpec  # noqa: E402
from actreg_search.spec.vocab import Placement, Regularizer  # noqa: E402
from actreg_search.data.datasets import Dataset, load_dataset  # noqa: E402
from actreg_search.engine.base import curve_epochs  # noqa: E402
from actreg_search.engine.fused import FusedEngine  # noqa: E402
from actreg_search.engine.keras_engine import KerasEngine  # noqa: E402
from actreg_search.spec.measures import TEST_ACCURACY  # noqa: E402

SEEDS = 5
WIDTH = 500
L1 = 1e-4


def tutorial_fit(data: Dataset, epochs: int, seed: int) -> None:
    """One seed the tutorial's way: build, compile with accuracy, fit with validation data."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(WIDTH, activation="linear", activity_regularizer=keras.regularizers.L1(L1)),
            keras.layers.Activation("relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(
        data.x_train, data.y_train, validation_data=(data.x_test, data.y_test), epochs=epochs, verbose=0
    )


def keras_engine_fit(config: TrialConfig, data: Dataset, epochs: int, seed: int) -> None:
    """One seed through the keras engine, recording curves as often as a full trial does."""
    every = curve_epochs(config.epochs)[0]
    short = dataclasses.replace(config, epochs=epochs)
    KerasEngine.fit_recorded(short, data, seed, tuple(range(every, epochs + 1, every)))


def scaled(fit: Callable[[int, int], None], short: int, long: int, epochs: int) -> tuple[float, str]:
    """Estimate a whole trial from two fresh fits of ``short`` and ``long`` epochs.

    Args:
        fit: Trains one fresh model: ``fit(epochs, seed)``.
        short: Epochs of the first timed fit.
        long: Epochs of the second.
        epochs: Epochs per seed of the trial being estimated.

    Returns:
        Seconds for ``SEEDS`` seeds × ``epochs``, and how that was obtained.
    """
    fit(2, 99)  # warm-up: first use of TensorFlow, tracing machinery, data adapters
    start = time.perf_counter()
    fit(short, 0)
    t_short = time.perf_counter() - start
    start = time.perf_counter()
    fit(long, 0)
    t_long = time.perf_counter() - start
    per_epoch = (t_long - t_short) / (long - short)
    per_seed = t_short + (epochs - short) * per_epoch
    how = (
        f"measured: 1 seed x {short} epochs = {t_short:.2f} s, 1 seed x {long} epochs = {t_long:.2f} s "
        f"-> {per_epoch * 1e3:.1f} ms/epoch; scaled linearly to {SEEDS} seeds x {epochs} epochs"
    )
    return SEEDS * per_seed, how


def floor_trial(data: Dataset, epochs: int) -> float:
    """The floor: a hand-written stacked loop; returns its wall time, compile included.

    Five seeds' weights stacked on a leading axis, full-batch Adam (Keras'
    update), binary cross-entropy from logits, L1 on the pre-activations divided
    by the batch size, train and test accuracy every epoch, all in one
    ``tf.function(jit_compile=True)``.
    """
    start = time.perf_counter()
    rng = np.random.default_rng(0)

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (SEEDS, fan_in, fan_out)).astype("float32")

    params = [
        glorot(2, WIDTH),
        np.zeros((SEEDS, 1, WIDTH), "float32"),
        glorot(WIDTH, 1),
        np.zeros((SEEDS, 1, 1), "float32"),
    ]
    x_train, x_test = tf.constant(data.x_train), tf.constant(data.x_test)
    y_train, y_test = tf.constant(data.y_train)[None, :, None], tf.constant(data.y_test)[None, :, None]
    n_train = float(len(data.x_train))
    lr, beta_1, beta_2, epsilon = 1e-3, 0.9, 0.999, 1e-7

    def forward(p: list[tf.Tensor], x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pre = tf.einsum("nd,kdh->knh", x, p[0]) + p[1]
        return pre, tf.matmul(tf.nn.relu(pre), p[2]) + p[3]

    def accuracy(p: list[tf.Tensor], x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        _, logits = forward(p, x)
        return tf.reduce_mean(tf.cast(tf.cast(logits > 0, tf.float32) == y, tf.float32), axis=[1, 2])

    @tf.function(jit_compile=True, autograph=False)
    def run(p0: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        def body(
            t: tf.Tensor,
            p: list[tf.Tensor],
            m: list[tf.Tensor],
            v: list[tf.Tensor],
            train: tf.TensorArray,
            test: tf.TensorArray,
        ) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor], list[tf.Tensor], tf.TensorArray, tf.TensorArray]:
            with tf.GradientTape() as tape:
                tape.watch(p)
                pre, logits = forward(p, x_train)
                labels = tf.broadcast_to(y_train, logits.shape)
                bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
                data_loss = tf.reduce_mean(bce, [1, 2])
                loss = tf.reduce_sum(data_loss + L1 * tf.reduce_sum(tf.abs(pre), [1, 2]) / n_train)
            grads = tape.gradient(loss, p)
            step = tf.cast(t + 1, tf.float32)
            alpha = lr * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
            m = [mi + (g - mi) * (1 - beta_1) for mi, g in zip(m, grads)]
            v = [vi + (g * g - vi) * (1 - beta_2) for vi, g in zip(v, grads)]
            p = [pi - mi * alpha / (tf.sqrt(vi) + epsilon) for pi, mi, vi in zip(p, m, v)]
            train = train.write(t, accuracy(p, x_train, y_train))
            test = test.write(t, accuracy(p, x_test, y_test))
            return t + 1, p, m, v, train, test

        zeros = [tf.zeros_like(q) for q in p0]
        curves = (tf.TensorArray(tf.float32, epochs), tf.TensorArray(tf.float32, epochs))
        out = tf.while_loop(lambda t, *_: t < epochs, body, (tf.constant(0), p0, zeros, list(zeros), *curves))
        return out[4].stack(), out[5].stack()

    _, test = run([tf.constant(p) for p in params])
    test.numpy()
    return time.perf_counter() - start


def fused_trial(config: TrialConfig, data: Dataset) -> float:
    """One real trial through the fused engine; returns its wall time."""
    start = time.perf_counter()
    FusedEngine().train(config, data, range(SEEDS))
    return time.perf_counter() - start


def fused_warm_trial(config: TrialConfig, data: Dataset) -> float:
    """A trial whose program another trial (another coefficient, placement and width of its bucket) compiled."""
    engine = FusedEngine()
    engine.train(dataclasses.replace(config, l1=config.l1 * 3, hidden_units=config.hidden_units - 7), data, range(SEEDS))
    start = time.perf_counter()
    engine.train(config, data, range(SEEDS))
    return time.perf_counter() - start


EXAMPLE_STUDIES = ("digits_cnn.toml", "digits_rnn.toml", "csv_example.toml")


def family_trials(short: int, long: int, quick: bool) -> None:
    """The three example studies: keras engine (scaled) against fused, one trial each.

    Each trial is the study's own setting (data, family, default size, epochs,
    batch size) with L1 1e-4 at the family's first placement.
    """
    studies = Path(__file__).resolve().parents[1] / "studies"
    for name in EXAMPLE_STUDIES:
        spec = load_spec(studies / name)
        model = spec.model
        epochs = 20 if quick else model.epochs
        data = load_dataset(spec.data, model.family)
        config = TrialConfig(
            regularizer=Regularizer.L1, placement=model.family.placements[0], l1=1e-4, l2=0.0,
            hidden_units=model.hidden_units, family=model.family, epochs=epochs, batch_size=model.batch_size,
            activation=model.activation, optimizer=model.optimizer, learning_rate=model.learning_rate,
        )
        fit = functools.partial(keras_engine_fit, config, data)
        keras_time, keras_how = scaled(fit, short, long, epochs)
        fused = fused_trial(config, data)
        print(f"{name} ({model.family.value}, {config.placement.value}): {SEEDS} seeds x {epochs} epochs, "
              f"{len(data.x_train)} train, batch {model.batch_size}, size {model.hidden_units}: "
              f"keras engine {keras_time:.1f} s [{keras_how}], fused {fused:.1f} s (full trial), "
              f"keras / fused = {keras_time / fused:.1f}x")


BUILDER_STUDY = "custom_builder.toml"


def builder_trials(quick: bool) -> None:
    """The two-layer builder model: one whole trial on each engine, with and without its Dropout.

    The trial is studies/custom_builder.toml's setting (its data, width, epochs,
    batch size, learning rate, 5 seeds) with L1 1e-4 pre_activation on both
    marked layers. Neither time is scaled: both engines train the whole trial.
    """
    studies = Path(__file__).resolve().parents[1] / "studies"
    spec = load_spec(studies / BUILDER_STUDY)
    model = spec.model
    epochs = 20 if quick else model.epochs
    data = load_dataset(spec.data, model.family)
    config = TrialConfig(
        regularizer=Regularizer.L1, placement=Placement.PRE_ACTIVATION, l1=1e-4, l2=0.0,
        hidden_units=model.hidden_units, epochs=epochs, batch_size=model.batch_size,
        activation=model.activation, optimizer=model.optimizer, learning_rate=model.learning_rate,
    )
    seeds = range(SEEDS)
    assert isinstance(model.builder, str)
    for function, path in (("build", "on rows, with Dropout"), ("build_without_dropout", "on rows")):
        builder = ModelSpec(builder=model.builder.rsplit(":", 1)[0] + f":{function}")
        start = time.perf_counter()
        keras_result = KerasEngine().train(config, data, seeds, model=builder)
        keras_time = time.perf_counter() - start
        start = time.perf_counter()
        fused_result = FusedEngine().train(config, data, seeds, model=builder)
        fused_time = time.perf_counter() - start
        print(f"two-layer builder, {function} ({path}): {SEEDS} seeds x {epochs} epochs, {len(data.x_train)} train, "
              f"batch {model.batch_size}, h1 {model.hidden_units} + h2 8 units, L1 1e-4 pre_activation: "
              f"keras engine {keras_time:.1f} s, fused {fused_time:.1f} s ({fused_result.engine}), "
              f"keras / fused = {keras_time / fused_time:.1f}x; "
              f"test accuracy {keras_result.mean(TEST_ACCURACY):.3f} vs {fused_result.mean(TEST_ACCURACY):.3f}")


def _listed(times: list[float]) -> str:
    """Times as "1.23, 1.45"."""
    return ", ".join(f"{t:.2f}" for t in times)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 epochs and shorter scaled fits (smoke run)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of the fused engine and the floor (best kept)")
    parser.add_argument("--families", action="store_true", help="also time the example studies (digits cnn, digits rnn, csv)")
    parser.add_argument("--families-only", action="store_true", help="only the example studies")
    parser.add_argument("--builder", action="store_true", help="also time the two-layer builder model (custom_builder.toml)")
    parser.add_argument("--builder-only", action="store_true", help="only the two-layer builder model")
    args = parser.parse_args()
    if args.builder_only:
        builder_trials(quick=args.quick)
        return
    if args.families_only:
        family_trials(*((2, 6) if args.quick else (5, 15)), quick=args.quick)
        return
    epochs = 400 if args.quick else 4000
    short, long = (5, 25) if args.quick else (20, 120)

    data = load_dataset(DataSpec(validation=ON_TEST))  # the tutorial's trial: all 30 training samples
    config = TrialConfig(
        regularizer=Regularizer.L1, placement=Placement.PRE_ACTIVATION, l1=L1, l2=0.0, hidden_units=WIDTH, epochs=epochs
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
          f"GPUs visible to TF: {len(tf.config.list_physical_devices('GPU'))}")
    print(f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
          f"numpy {np.__version__}")
    print(f"trial: {SEEDS} seeds x {epochs} epochs, width {WIDTH}, L1 {L1} pre_activation, "
          f"{len(data.x_train)} train / {len(data.x_test)} test, batch 32 (full batch), curves recorded\n")

    tutorial, tutorial_how = scaled(lambda e, s: tutorial_fit(data, e, s), short, long, epochs)
    print(f"1. tutorial's way (model.fit per seed)  {tutorial:10.1f} s   [{tutorial_how}]")
    keras_time, keras_how = scaled(lambda e, s: keras_engine_fit(config, data, e, s), short, long, epochs)
    print(f"2. keras engine                        {keras_time:10.1f} s   [{keras_how}]")

    fused_runs, floor_runs, warm_runs = [], [], []
    for _ in range(args.repeats):
        fused_runs.append(fused_trial(config, data))
        floor_runs.append(floor_trial(data, epochs))
        warm_runs.append(fused_warm_trial(config, data))
    fused, floor, warm = min(fused_runs), min(floor_runs), min(warm_runs)
    print(f"3. fused engine                        {fused:10.2f} s   [full trial, best of: {_listed(fused_runs)} s]")
    print(f"3b. fused engine, program compiled     {warm:10.2f} s   [by a trial of another coefficient and width; best of: {_listed(warm_runs)} s]")
    print(f"4. floor (hand-written fused loop)     {floor:10.2f} s   [full trial, best of: {_listed(floor_runs)} s]\n")

    speedup, overhead = tutorial / fused, fused / floor
    print(f"tutorial / fused = {speedup:7.0f}x   (target >= 400x: {'met' if speedup >= 400 else 'NOT met'})")
    print(f"keras / fused    = {keras_time / fused:7.0f}x")
    print(f"tutorial / fused, program compiled = {tutorial / warm:7.0f}x")
    print(f"fused / floor    = {overhead:7.2f}x   (target <= 1.5x: {'met' if overhead <= 1.5 else 'NOT met'})")
    if args.quick:
        print("(smoke run: the targets are for the full 4000-epoch trial, where compile time weighs less)")
    if args.families:
        print()
        family_trials(*((2, 6) if args.quick else (5, 15)), quick=args.quick)
    if args.builder:
        print()
        builder_trials(quick=args.quick)


if __name__ == "__main__":
    main()
