"""The live page: served on loopback, follows a study while trials finish, stoppable, warns when exposed."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from optuna.trial import TrialState

from actreg_search.spec.parser import load_spec
from actreg_search.dashboard import start_server
from actreg_search.dashboard.server import fingerprint, is_loopback
from actreg_search.errors import StorageError, UserError
from actreg_search.search.study import run_study
from tests.fakes import FakeEngine


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.read().decode()


def trial_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="state-[a-z]+"><td data-key="(\d+)">', page)


def test_live_page_changes_when_a_trial_finishes(real_study, tmp_path: Path):
    study = real_study.copy(tmp_path)
    with start_server(study.url, study.name, port=0, poll_s=0.2) as server:
        assert server.host == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/"
        before = get(server.url)
        state = json.loads(get(server.url + "state"))
        assert state["complete"] == study.n_trials and state["running"] == 0
        assert f'var fingerprint = "{state["fingerprint"]}"' in before
        assert 'id="live-status"' in before and "pollMs = 200" in before
        assert trial_rows(before) == [str(n) for n in range(study.n_trials)]
        assert get(server.url) == before  # nothing finished: the same rendering, from the cache

        spec = load_spec(study.study_file).with_overrides(n_trials=study.n_trials + 1)
        run_study(spec, study.url, engine=FakeEngine())

        after_state = json.loads(get(server.url + "state"))
        assert after_state["complete"] == study.n_trials + 1
        assert after_state["fingerprint"] != state["fingerprint"]
        after = get(server.url)
        assert trial_rows(after) == [str(n) for n in range(study.n_trials + 1)]
        assert f'var fingerprint = "{after_state["fingerprint"]}"' in after
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=5)  # stopped: the port is closed


def test_only_loopback_host_names_are_answered(real_study):
    with start_server(real_study.url, real_study.name, port=0) as server:
        for host, status in (("evil.example:80", 403), (f"localhost:{server.port}", 200), ("127.0.0.1", 200)):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            connection.request("GET", "/state", headers={"Host": host})
            assert connection.getresponse().status == status, host
            connection.close()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(server.url + "nothing-here", timeout=5)


def raw_request(port: int, method: str, path: str, host: str = "127.0.0.1") -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the exact bytes after the headers of one HTTP/1.0 request (read until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(f"{method} {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def test_head_is_answered_like_get_without_a_body(real_study):
    """HEAD gets GET's status and headers (its Content-Length too) and not one byte of body."""
    with start_server(real_study.url, real_study.name, port=0) as server:
        for path, status in (("/", 200), ("/state", 200), ("/favicon.ico", 204), ("/nothing-here", 404)):
            got_status, got_headers, got_body = raw_request(server.port, "GET", path)
            head_status, head_headers, head_body = raw_request(server.port, "HEAD", path)
            assert got_status == head_status == status, path
            assert head_body == b"", path
            assert int(head_headers["Content-Length"]) == int(got_headers["Content-Length"]) == len(got_body), path
            assert head_headers["Content-Type"] == got_headers["Content-Type"], path
            assert head_headers["Cache-Control"] == "no-store", path
        assert raw_request(server.port, "HEAD", "/", host="evil.example")[0] == 403
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        connection.request("HEAD", "/")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "text/html; charset=utf-8"
        connection.close()


def test_another_address_warns_that_there_is_no_authentication(real_study):
    stderr = io.StringIO()
    with start_server(real_study.url, real_study.name, host="0.0.0.0", port=0, stderr=stderr) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert json.loads(get(server.url + "state"))["trials"] == real_study.n_trials
    assert "no authentication" in stderr.getvalue() and "0.0.0.0" in stderr.getvalue()

    quiet = io.StringIO()
    start_server(real_study.url, real_study.name, port=0, stderr=quiet).shutdown()
    assert quiet.getvalue() == ""


def test_errors_before_serving(real_study, tmp_path: Path):
    with pytest.raises(StorageError, match="no study named 'nope'"):
        start_server(real_study.url, "nope", port=0)
    with pytest.raises(StorageError, match="no database"):
        start_server(f"sqlite:///{tmp_path / 'missing.db'}", "x", port=0)
    with start_server(real_study.url, real_study.name, port=0) as server:
        with pytest.raises(UserError, match=f"cannot serve on 127.0.0.1:{server.port}"):
            start_server(real_study.url, real_study.name, port=server.port)


def test_is_loopback():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_fingerprint_changes_only_when_trials_finish():
    running = fingerprint([(0, TrialState.COMPLETE), (1, TrialState.RUNNING)])
    assert running == fingerprint([(0, TrialState.COMPLETE)])
    assert running != fingerprint([(0, TrialState.COMPLETE), (1, TrialState.COMPLETE)])
    assert fingerprint([(1, TrialState.FAIL)]) != fingerprint([(1, TrialState.PRUNED)])


def test_live_page_in_headless_chromium_reloads_when_a_trial_finishes(real_study, chromium, tmp_path: Path):
    study = real_study.copy(tmp_path)
    with start_server(study.url, study.name, port=0, poll_s=0.2) as server:
        check = chromium.check_page(server.url, tmp_path / "live.png")
        assert check.errors == ()
        assert check.plots and all(svgs and traces for svgs, traces in check.plots.values())
        rows = "document.querySelectorAll('#trials tbody tr').length"
        status = "document.getElementById('live-status').textContent"
        wait_until(lambda: chromium.evaluate(status).startswith(f"live: {study.n_trials} complete, 0 running"))
        assert chromium.evaluate(rows) == study.n_trials

        # A trial finishing elsewhere (here: added straight to the storage) reloads the page.
        optuna_study = study.study()
        optuna_study.add_trial(optuna_study.trials[0])
        wait_until(lambda: chromium.evaluate(rows) == study.n_trials + 1)
        wait_until(lambda: chromium.evaluate(status).startswith(f"live: {study.n_trials + 1} complete"))
        assert chromium.errors() == []


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (RuntimeError, TypeError, AttributeError):
            pass  # the page is reloading
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)
