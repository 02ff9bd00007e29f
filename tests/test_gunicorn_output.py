"""What gunicorn itself writes is shaped like the rest of the wallet: its answers to
requests it cannot parse are JSON, and so is the 404 of a path with a doubled slash
(which werkzeug would otherwise redirect, or serve as another path); its log lines are
JSON objects, one per line, like the app's."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from tests.live import Server, start_gunicorn, worker_pids

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(settings) -> Iterator[Server]:
    env = {key: str(value) for key, value in settings.items()}
    with start_gunicorn(env, workers=1, threads=2) as started:
        yield started


def exchange(server: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes the connection."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"BAD REQUEST LINE\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: wallet\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: wallet\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n", 431),
        (b"POST /igpx/transaction HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    ],
    ids=["malformed request line", "URI too long", "header too large", "bad Content-Length"],
)
def test_gunicorns_own_refusals_are_json(server, request_bytes, status):
    answered, headers, body = exchange(server, request_bytes)
    assert answered == status
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    refusal = json.loads(body)
    assert refusal["error"] == "INVALID_REQUEST"
    assert refusal["message"]


@pytest.mark.parametrize("path", ["//igpx/transaction", "/igpx//transaction", "//healthz"])
def test_a_doubled_slash_is_a_json_404_not_a_redirect(server, path):
    request = f"POST {path} HTTP/1.1\r\nHost: wallet\r\nConnection: close\r\n"
    status, headers, body = exchange(server, f"{request}Content-Length: 2\r\n\r\n{{}}".encode())
    assert status == 404
    assert "location" not in headers
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "Not Found"


def test_gunicorns_log_lines_are_json_objects(settings):
    env = {key: str(value) for key, value in settings.items()}
    with start_gunicorn({**env, "LOG_LEVEL": "INFO"}, workers=1, threads=2) as server:
        exchange(server, b"BAD REQUEST LINE\r\n\r\n")
        (killed,) = worker_pids(server.process.pid)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while worker_pids(server.process.pid) in ([], [killed]):
            assert time.monotonic() < deadline, "no worker was started in the killed one's place"
            time.sleep(0.1)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        lines = server.output().splitlines()

    records = [json.loads(line) for line in lines]  # each line is one JSON object
    gunicorn = {r["event"]: r for r in records if r.get("logger") == "gunicorn.error"}
    assert {"timestamp", "level"} <= set(next(iter(gunicorn.values())))
    events = "\n".join(gunicorn)
    for expected in ("Starting gunicorn", "Booting worker", "was sent SIGKILL", "Shutting down"):
        assert expected in events
    (invalid,) = [r for event, r in gunicorn.items() if event.startswith("Invalid request")]
    assert invalid["level"] == "warning"
    assert "request_id" not in invalid  # a line between requests carries no request's fields
