"""Dashboard test set-up: synthetic studies (no training), one tiny real study, headless Chromium."""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import functools
import json
import os
import queue
import random
import shutil
import signal
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from actreg_search.store import keys as attrs
from actreg_search.spec.trial import TrialConfig
from actreg_search.spec.parser import load_spec, parse_spec
from actreg_search.store.reader import load_results, record_of
from actreg_search.results.records import Curves, SplitCounts, StudyResults, TrialRecord
from actreg_search.spec.specs import StudySpec
from actreg_search.store.storage import open_storage
from actreg_search.search.study import run_study
from tests.fakes import FakeEngine
from actreg_search.spec.vocab import Placement, Regularizer

# --------------------------------------------------------------------------- synthetic studies

REGULARIZERS = CategoricalDistribution([r.value for r in Regularizer])
PLACEMENTS = CategoricalDistribution([p.value for p in Placement])
COEFFICIENT = FloatDistribution(1e-6, 1e-2, log=True)
WIDTH = IntDistribution(4, 1024, log=True)


def make_trial(
    state: TrialState = TrialState.COMPLETE,
    regularizer: str = "l1",
    placement: str | None = "kernel",
    coefficient: float = 1e-4,
    l2_coefficient: float | None = None,
    hidden_units: int = 32,
    test: Sequence[float] = (0.90, 0.92),
    train: Sequence[float] = (1.0, 1.0),
    sparsity: Sequence[float] = (0.5, 0.6),
    epochs: int = 4,
    fail_reason: str | None = None,
    grid: bool = False,
    objectives: int = 1,
    curves: bool = True,
    validation: Sequence[float] | None = None,
    validation_sparsity: Sequence[float] | None = None,
) -> FrozenTrial:
    """A stored trial as actreg-search records it, without training.

    ``grid`` leaves coefficient and width out of the params (fixed by the study
    file), as in ``studies/tutorial_grid.toml``; ``l1_l2`` uses ``coefficient``
    as l1 and ``l2_coefficient`` as l2. ``objectives=2`` gives the values of a
    ``["test_accuracy", "sparsity"]`` study; ``curves=False`` records no learning curves.
    ``validation`` gives per-seed validation accuracies (a study under a
    validation protocol): the values are then the validation means (with
    ``validation_sparsity``, default ``sparsity``), and a validation curve is recorded.
    """
    reg = Regularizer(regularizer)
    if reg is Regularizer.NONE:
        placement = None
    l1 = coefficient if reg in (Regularizer.L1, Regularizer.L1_L2) else 0.0
    l2 = (l2_coefficient or coefficient) if reg is Regularizer.L1_L2 else coefficient if reg is Regularizer.L2 else 0.0
    config = TrialConfig(
        regularizer=reg,
        placement=Placement(placement) if placement else None,
        l1=l1,
        l2=l2,
        hidden_units=hidden_units,
        epochs=epochs,
    )
    params: dict[str, Any] = {"regularizer": regularizer}
    dists: dict[str, Any] = {"regularizer": REGULARIZERS}
    if placement:
        params["placement"], dists["placement"] = placement, PLACEMENTS
        if not grid:
            if reg is Regularizer.L1_L2:
                params.update(l1_coefficient=l1, l2_coefficient=l2)
                dists.update(l1_coefficient=COEFFICIENT, l2_coefficient=COEFFICIENT)
            else:
                params["coefficient"], dists["coefficient"] = coefficient, COEFFICIENT
    if not grid:
        params["hidden_units"], dists["hidden_units"] = hidden_units, WIDTH
    user_attrs: dict[str, Any] = {attrs.CONFIG: config.to_dict(), attrs.SEEDS: list(range(len(test)))}
    if fail_reason:
        user_attrs[attrs.FAIL_REASON] = fail_reason
    values = None
    if state is TrialState.COMPLETE:
        gap = [a - b for a, b in zip(train, test, strict=True)]
        per_seed = {
            "test_accuracy": list(test),
            "train_accuracy": list(train),
            "train_loss": [0.1] * len(test),
            "gap": gap,
            "activation_mean": [0.2] * len(test),
            "sparsity": list(sparsity),
        }
        if validation is not None:
            per_seed["validation_accuracy"] = list(validation)
            per_seed["validation_sparsity"] = list(validation_sparsity or sparsity)
        for name, values in per_seed.items():
            user_attrs[name] = values
            user_attrs[f"{name}_mean"] = statistics.fmean(values)
        if curves:
            epochs_seen = list(range(1, epochs + 1))
            user_attrs[attrs.CURVE_EPOCHS] = epochs_seen
            user_attrs[attrs.TRAIN_CURVE] = [[t * e / epochs for e in epochs_seen] for t in train]
            user_attrs[attrs.TEST_CURVE] = [[t * e / epochs for e in epochs_seen] for t in test]
            if validation is not None:
                user_attrs[attrs.VALIDATION_CURVE] = [[v * e / epochs for e in epochs_seen] for v in validation]
        user_attrs[attrs.WALL_TIME] = 1.5
        if validation is not None:
            values = [statistics.fmean(validation), statistics.fmean(validation_sparsity or sparsity)][:objectives]
        else:
            values = [statistics.fmean(test), statistics.fmean(sparsity)][:objectives]
    return optuna.trial.create_trial(
        state=state, values=values, params=params, distributions=dists, user_attrs=user_attrs
    )


SPEC = """
[study]
name = "{name}"
sampler = "{sampler}"
seeds = [0, 1]
pruner = "{pruner}"
objectives = {objectives}

[data]
{data}

[model]
family = "mlp"
hidden_units = 32
epochs = 4
"""


#: ``[data] validation`` of a study selecting on validation data (:func:`make_study` with ``validation=True``).
HOLDOUT = "0.2"


@functools.lru_cache(maxsize=64)
def make_spec(
    name: str = "synthetic",
    pruner: str = "none",
    objectives: tuple[str, ...] = ("test_accuracy",),
    data: str = 'name = "circles"\nn_samples = 100\ntrain_size = 30',
    validation: str = '"test"',
) -> StudySpec:
    """A typed spec from a small study file (nsga2 for several objectives).

    ``validation`` is the ``[data] validation`` value as written in the file:
    by default ``"test"`` (the tutorial's protocol, that of every study stored
    before validation existed, under which ``test_accuracy`` is the objective's name).
    """
    sampler = "nsga2" if len(objectives) > 1 else "random"
    data = f"{data}\nvalidation = {validation}"
    text = SPEC.format(name=name, sampler=sampler, pruner=pruner, objectives=json.dumps(list(objectives)), data=data)
    return parse_spec(text)


def make_study(
    *trials: FrozenTrial,
    name: str = "synthetic",
    pruner: str = "none",
    objectives: tuple[str, ...] = ("test_accuracy",),
    spec: StudySpec | None | str = "default",
    validation: bool = False,
    split: SplitCounts | None = None,
) -> StudyResults:
    """The :class:`StudyResults` of these trials, numbered from 0, as :func:`record_of` reads them.

    ``spec`` is the study's typed spec (``None``: a study not made by
    actreg-search); by default :func:`make_spec` of ``name``, ``pruner`` and
    ``objectives``, selecting on the test set, or with ``validation`` on a
    held-out 20% (give its trials ``validation=`` figures; ``test_accuracy``
    is then named ``accuracy``). The results' objectives are the spec's
    selection fields, as the reader gives them.
    """
    if spec == "default":
        if validation:
            names = tuple("accuracy" if o == "test_accuracy" else o for o in objectives)
            spec = make_spec(name, pruner, names, validation=HOLDOUT)
        else:
            spec = make_spec(name, pruner, tuple(objectives))
    fields = spec.selection_fields() if isinstance(spec, StudySpec) else tuple(objectives)
    records = tuple(dataclasses.replace(record_of(t), number=i) for i, t in enumerate(trials))
    return StudyResults(name=name, trials=records, spec=spec, objectives=fields, split=split)


def make_big_study(
    n: int, objectives: tuple[str, ...] = ("test_accuracy",), seeds: int = 5, seed: int = 0, validation: bool = False
) -> StudyResults:
    """A synthetic study of ``n`` trials (about 5% failed or pruned), built as records directly (fast).

    Accuracy falls and sparsity rises with the coefficient, plus noise; the
    best trial and the best unregularized one have learning curves, as
    ``load_results(..., curves="drawn")`` reads them. With ``validation`` the
    study selects on a held-out 20%: each trial also has validation figures
    (test accuracy plus noise), and its values are their means.
    """
    rng = random.Random(seed)
    records = []
    for number in range(n):
        reg = rng.choice(list(Regularizer))
        placement = None if reg is Regularizer.NONE else rng.choice(list(Placement))
        coefficient, units = 10 ** rng.uniform(-6, -2), int(2 ** rng.uniform(2, 10))
        config = TrialConfig(
            regularizer=reg,
            placement=placement,
            l1=coefficient if reg in (Regularizer.L1, Regularizer.L1_L2) else 0.0,
            l2=coefficient if reg in (Regularizer.L2, Regularizer.L1_L2) else 0.0,
            hidden_units=units,
            epochs=10,
        )
        params: dict[str, Any] = {"regularizer": reg.value, "hidden_units": units}
        dists: dict[str, Any] = {"regularizer": REGULARIZERS, "hidden_units": WIDTH}
        if placement is not None:
            params.update(placement=placement.value, coefficient=coefficient)
            dists.update(placement=PLACEMENTS, coefficient=COEFFICIENT)
        state = TrialState.COMPLETE if rng.random() < 0.95 else rng.choice([TrialState.FAIL, TrialState.PRUNED])
        complete = state is TrialState.COMPLETE
        level = 0.9 - 5 * coefficient + rng.gauss(0, 0.02)
        test = tuple(min(1.0, level + rng.gauss(0, 0.01)) for _ in range(seeds))
        sparsity = tuple(min(1.0, max(0.0, 0.3 + 30 * coefficient + rng.gauss(0, 0.05))) for _ in range(seeds))
        per_seed = {
            "test_accuracy": test,
            "train_accuracy": tuple(min(1.0, t + 0.05) for t in test),
            "gap": tuple(0.05 for _ in test),
            "sparsity": sparsity,
        }
        values = (statistics.fmean(test), statistics.fmean(sparsity))[: len(objectives)]
        if validation:
            per_seed["validation_accuracy"] = tuple(min(1.0, t + rng.gauss(0, 0.02)) for t in test)
            per_seed["validation_sparsity"] = sparsity
            values = (statistics.fmean(per_seed["validation_accuracy"]), statistics.fmean(sparsity))[: len(objectives)]
        records.append(
            TrialRecord(
                number=number,
                state=state,
                params=params,
                config=config,
                values=values if complete else (),
                seeds=tuple(range(seeds)),
                per_seed=per_seed if complete else {},
                wall_time_s=1.0,
                duration_s=1.0,
                fail_reason=None if complete else "ValueError: boom",
                distributions=dists,
            )
        )
    if validation:
        names = tuple("accuracy" if o == "test_accuracy" else o for o in objectives)
        spec = make_spec("big", "none", names, validation=HOLDOUT)
    else:
        spec = make_spec("big", "none", tuple(objectives))
    results = StudyResults("big", tuple(records), spec, spec.selection_fields())
    epochs = tuple(range(1, 11))
    curves = Curves(epochs, ((0.9,) * 10,) * seeds, ((0.85,) * 10,) * seeds)
    drawn = {t.number for t in (results.best_trial, results.best_unregularized) if t is not None}
    trials = tuple(dataclasses.replace(t, curves=curves) if t.number in drawn else t for t in records)
    return dataclasses.replace(results, trials=trials)


@pytest.fixture(scope="session")
def big_study_factory() -> Callable[..., StudyResults]:
    """:func:`make_big_study`."""
    return make_big_study


@pytest.fixture(scope="session")
def trial_factory() -> Callable[..., FrozenTrial]:
    """:func:`make_trial`."""
    return make_trial


@pytest.fixture(scope="session")
def study_factory() -> Callable[..., StudyResults]:
    """:func:`make_study`."""
    return make_study


# --------------------------------------------------------------------------- a tiny real study


@dataclass(frozen=True)
class RealStudy:
    """A tiny study trained for real, stored in SQLite."""

    folder: Path
    study_file: Path
    url: str
    name: str
    n_trials: int

    def results(self) -> StudyResults:
        """The study's results, with the curves the dashboard draws."""
        return load_results(open_storage(self.url, create=False), self.name, curves="drawn")

    def study(self) -> optuna.Study:
        return optuna.load_study(study_name=self.name, storage=self.url)

    def copy(self, folder: Path) -> RealStudy:
        """The same study in another database, to add trials to."""
        db = folder / "copy.db"
        shutil.copy(self.folder / "real.db", db)
        return RealStudy(folder, self.study_file, f"sqlite:///{db}", self.name, self.n_trials)


@pytest.fixture(scope="session")
def real_study(tmp_path_factory: pytest.TempPathFactory, study_text) -> RealStudy:
    """Four trials (random sampler, seed 0: three regularized, one not), two seeds, four epochs.

    The study runs for real (sampler, study loop, recorder, SQLite); only the
    training is the fake engine's, since the dashboard checks what is stored,
    not how it was trained (tests/engine does that).
    """
    folder = tmp_path_factory.mktemp("dashboard-real")
    study_file = folder / "study.toml"
    study_file.write_text(study_text(name="dash", n_trials=4, seeds=2, epochs=4))
    url = f"sqlite:///{folder / 'real.db'}"
    run_study(load_spec(study_file), url, engine=FakeEngine())
    return RealStudy(folder, study_file, url, "dash", 4)


# --------------------------------------------------------------------------- headless Chromium

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """A Chromium binary: ``$CHROMIUM`` if set, else the first of :data:`CHROMIUM_NAMES` on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw.

    Attributes:
        errors: Uncaught exceptions, ``console.error`` calls and error log entries.
        plots: Per plotly div id: the number of drawn ``svg.main-svg`` and of trace groups.
        notes: ``data-note`` of each note shown in place of a chart.
        screenshot: The full-page PNG.
    """

    errors: tuple[str, ...]
    plots: dict[str, tuple[int, int]]
    notes: tuple[str, ...]
    screenshot: Path


_INSPECT = """JSON.stringify({
  plots: Array.from(document.querySelectorAll(".plotly-graph-div")).map(function (div) {
    return [div.id, div.querySelectorAll("svg.main-svg").length, div.querySelectorAll("g.trace, g.barlayer g.point").length];
  }),
  notes: Array.from(document.querySelectorAll("[data-note]")).map(function (n) { return n.dataset.note; }),
  ready: Array.from(document.querySelectorAll(".plotly-graph-div")).every(function (div) {
    return div.classList.contains("js-plotly-plot") && div.querySelector("svg.main-svg");
  })
})"""


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe: no port, no download.

    The browser reads commands on fd 3 and writes replies on fd 4, each a JSON
    message ended by a NUL byte (``--remote-debugging-pipe``).
    """

    FLAGS = (
        "--headless",
        "--remote-debugging-pipe",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        "--hide-scrollbars",
    )

    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # posix_spawn (no Python runs in the child, safe with threads) makes the pipe ends fds 3 and 4;
        # copies at fds >= 5 first, so that no dup2 overwrites the other end.
        read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 5)
        write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 5)
        self.log = log
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            self.pid = os.posix_spawn(
                binary,
                [binary, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log_fd, 1),
                    (os.POSIX_SPAWN_DUP2, log_fd, 2),
                    (os.POSIX_SPAWN_DUP2, read_end, 3),
                    (os.POSIX_SPAWN_DUP2, write_end, 4),
                ],
            )
        finally:
            for fd in (to_browser_r, from_browser_w, read_end, write_end, log_fd):
                os.close(fd)
        self.returncode: int | None = None
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self._id = 0

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))
        self._messages.put(None)

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError("Chromium did not answer in time") from None
        if message is None:
            raise RuntimeError(f"Chromium exited (code {self.poll()}); see {self.log}")
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        """Send one command and wait for its reply; events meanwhile go to :attr:`events`."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        """The first event named ``event`` (already seen or coming)."""
        deadline = time.monotonic() + timeout
        for seen in self.events:
            if seen.get("method") == event:
                return seen
        while True:
            message = self._next(deadline)
            self.events.append(message)
            if message.get("method") == event:
                return message

    def check_page(self, page: Path | str, screenshot: Path, width: int = 1400, timeout: float = 60) -> PageCheck:
        """Open a local file or a URL, wait for every plot to draw; report errors, plots, notes and a screenshot."""
        self.events.clear()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.session = session
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        url = page.resolve().as_uri() if isinstance(page, Path) else page
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            found = json.loads(self._evaluate(_INSPECT, session))
            if found["ready"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # let late console errors arrive
        found = json.loads(self._evaluate(_INSPECT, session))
        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            },
            session=session,
            timeout=timeout,
        )
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        return PageCheck(
            errors=tuple(self.errors()),
            plots={pid: (svgs, traces) for pid, svgs, traces in found["plots"]},
            notes=tuple(found["notes"]),
            screenshot=screenshot,
        )

    def _evaluate(self, expression: str, session: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return reply["result"].get("value")

    def evaluate(self, expression: str) -> Any:
        """The JSON-able value of a JavaScript expression in the page last checked."""
        return self._evaluate(expression, self.session)

    def errors(self) -> list[str]:
        """Errors of the page last checked so far: exceptions, console errors, error log entries."""
        errors = []
        for event in self.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
        return errors

    def poll(self) -> int | None:
        """The browser's exit status, ``None`` while it runs."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def close(self) -> None:
        """Close the browser (politely, then by force) and the pipes."""
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        deadline = time.monotonic() + 10
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        os.close(self._to_browser)
        self._reader.join(timeout=5)
        os.close(self._from_browser)


@pytest.fixture
def chromium(tmp_path: Path):
    """A headless Chromium; the test is skipped only when no binary is installed."""
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary found (Debian: apt-get install -y chromium; or set $CHROMIUM)")
    browser = Chromium(binary, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        yield browser
    finally:
        browser.close()
