"""Headless Chromium driven over the DevTools protocol, for the dashboard's browser tests (no port, no download)."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def keep_screenshot(check: PageCheck, name: str) -> None:
    """Copy a page's screenshot to ``$ACTREG_SCREENSHOT_DIR/name`` when that variable is set (to look at it)."""
    target = os.environ.get("ACTREG_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(check.screenshot, Path(target) / name)


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
