"""The live page: a small local web server showing the report while trials finish.

``GET /`` is the report of the study as it is now (re-rendered only when a
trial has finished, failed or been pruned since the last rendering) and
``GET /state`` a small JSON summary with a fingerprint of the finished trials.
``HEAD`` is answered as ``GET`` is, with the same status and headers
(``Content-Length`` included) and no body.
The page polls ``/state`` every couple of seconds, shows the counts, and
reloads itself, keeping its scroll position, when the fingerprint changes.

The server binds 127.0.0.1 by default and answers only requests addressed to a
loopback name then (no DNS rebinding). It has no authentication: binding any
other address prints a warning to stderr.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import ipaddress
import json
import socket
import sys
import threading
import webbrowser
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO
from urllib.parse import urlsplit

from optuna.trial import TrialState

from actreg_search.dashboard.html import LivePage, render_report
from actreg_search.errors import UserError
from actreg_search.store.reader import Source, load_results, trial_states
from actreg_search.results.records import StateCounts
from actreg_search.store.storage import open_reader, redact

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
STATE_PATH = "/state"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class StudyState:
    """What ``/state`` answers: trial counts and a fingerprint of the finished trials.

    Attributes:
        fingerprint: Changes whenever a trial finishes, fails or is pruned (or is added finished).
        trials: All trials, any state.
        complete: Completed trials.
        running: Running trials.
        failed: Failed trials.
        pruned: Pruned trials.
        last_complete: When the latest trial finished (ISO 8601), if any.
    """

    fingerprint: str
    trials: int
    complete: int
    running: int
    failed: int
    pruned: int
    last_complete: str | None


def fingerprint(trials: Iterable[tuple[int, TrialState]]) -> str:
    """A short hash of the finished trials' numbers and states."""
    finished = sorted((number, state.name) for number, state in trials if state.is_finished())
    return hashlib.sha1(json.dumps(finished).encode()).hexdigest()[:16]


def study_state(trials: Iterable[tuple[int, TrialState, dt.datetime | None]]) -> StudyState:
    """The :class:`StudyState` of a study's trials, as ``(number, state, end time)`` (:func:`reader.trial_states`)."""
    trials = list(trials)
    ends = [end for _, _, end in trials if end is not None]
    counts = StateCounts.of([state for _, state, _ in trials])
    return StudyState(
        fingerprint=fingerprint((number, state) for number, state, _ in trials),
        trials=counts.total,
        complete=counts.complete,
        running=counts.running,
        failed=counts.failed,
        pruned=counts.pruned,
        last_complete=max(ends).isoformat() if ends else None,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is only reachable from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Dashboard:
    """Renders a study's report on demand, once per state of its finished trials."""

    def __init__(self, storage: Source, name: str, poll_ms: int) -> None:
        self.storage = storage
        self.name = name
        self.poll_ms = poll_ms
        self._lock = threading.Lock()
        self._page: tuple[str, str] | None = None  # (fingerprint, html)

    def state(self) -> StudyState:
        return study_state(trial_states(self.storage, self.name))

    def page(self) -> str:
        with self._lock:
            state = self.state()  # one small query; the study is read and rendered only when it changed
            if self._page is not None and self._page[0] == state.fingerprint:
                return self._page[1]
            results = load_results(self.storage, self.name, curves="drawn")
            page = render_report(results, live=LivePage(state.fingerprint, STATE_PATH, self.poll_ms))
            self._page = (state.fingerprint, page)
            return page


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    dashboard: _Dashboard
    allowed_hosts: frozenset[str] | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server  # HTTP/1.0: one request per connection, so nothing outlives shutdown()
    _with_body = True  # False while answering HEAD

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        """As ``GET``, without the body: the same status and headers, ``Content-Length`` the body's."""
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        self._with_body = with_body
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8", b"forbidden: not a loopback host\n")
            return
        path = urlsplit(self.path).path
        try:
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", self.server.dashboard.page().encode())
            elif path == STATE_PATH:
                body = json.dumps(asdict(self.server.dashboard.state())).encode()
                self._send(HTTPStatus.OK, "application/json", body)
            elif path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, "image/x-icon", b"")
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            message = f"cannot read study {self.server.dashboard.name!r}: {type(exc).__name__}: {exc}"
            if path == STATE_PATH:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "application/json", json.dumps({"error": message}).encode())
            else:
                page = (
                    '<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="5">'
                    f"<title>dashboard error</title><p>{html.escape(message)}</p><p>Retrying every 5 s.</p>"
                )
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/html; charset=utf-8", page.encode())

    def _host_allowed(self) -> bool:
        allowed = self.server.allowed_hosts
        if allowed is None:
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.strip("[]").lower() in allowed

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self._with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        """Quiet: the page polls every few seconds."""


class DashboardServer:
    """A running live page; stop it with :meth:`shutdown` (or use it as a context manager)."""

    def __init__(self, httpd: _Server, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread

    @property
    def host(self) -> str:
        """The address bound."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The port bound (the real one when asked for port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The page's URL (a loopback one when bound to every interface)."""
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises ``KeyboardInterrupt`` here)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def shutdown(self) -> None:
        """Stop serving and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def start_server(
    storage_url: str,
    name: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    poll_s: float = 2.0,
    stderr: IO[str] | None = None,
) -> DashboardServer:
    """Start the live page in a background thread and return at once.

    Args:
        storage_url: Where the study lives.
        name: The study.
        host: Address to bind; anything but a loopback address prints a
            warning that the page has no authentication.
        port: Port to bind; 0 picks a free one (see :attr:`DashboardServer.port`).
        poll_s: How often the page checks for finished trials.
        stderr: Where the warning goes (default ``sys.stderr``).

    Returns:
        The running server.

    Raises:
        StorageError: The storage or the study does not exist.
        UserError: The address cannot be bound (e.g. the port is in use).
    """
    storage = open_reader(storage_url)
    trial_states(storage, name)  # no such study: fail now, not on the first request
    if not is_loopback(host):
        print(
            f"warning: the dashboard has no authentication; binding {host}:{port} lets anyone who can reach "
            f"this machine read study {name!r} (bind 127.0.0.1, the default, to keep it local)",
            file=stderr or sys.stderr,
        )
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        httpd: _Server = server_class((host, port), _Handler)
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    httpd.dashboard = _Dashboard(storage, name, poll_ms=max(100, int(poll_s * 1000)))
    httpd.allowed_hosts = frozenset({*LOOPBACK_NAMES, host.lower()}) if is_loopback(host) else None
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.name = f"actreg-dashboard-{name}"
    thread.start()
    return DashboardServer(httpd, thread)


def serve(
    storage_url: str,
    name: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    open_browser: bool = False,
    poll_s: float = 2.0,
) -> None:
    """Serve the live page until Ctrl-C (for ``actreg-search dashboard --serve``).

    Args:
        storage_url: Where the study lives.
        name: The study.
        host: Address to bind (default loopback; others print a no-authentication warning).
        port: Port to bind.
        open_browser: Open the page in the default browser once serving.
        poll_s: How often the page checks for finished trials.

    Raises:
        StorageError: The storage or the study does not exist.
        UserError: The address cannot be bound.
    """
    server = start_server(storage_url, name, host, port, poll_s=poll_s)
    print(f"dashboard of study {name!r} ({redact(storage_url)}): {server.url}  (Ctrl-C to stop)", file=sys.stderr)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DashboardServer",
    "StudyState",
    "fingerprint",
    "is_loopback",
    "serve",
    "start_server",
    "study_state",
]
