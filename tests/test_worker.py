"""The gunicorn worker of ``make run`` (app.worker.BufferingWorker), over real sockets.

Each test starts gunicorn as ``make run`` does, with one worker and two threads, and talks
HTTP/1.1 to it on raw sockets, so that which connection carries which request is the
test's to decide. The last ones pin the framing by which the worker decides that a
request is whole (``request_end``).
"""

from __future__ import annotations

import email.utils
import signal
import socket
import time

import pytest

from app.worker import request_end
from tests.live import start_gunicorn, worker_pids

THREADS = 2


def request_bytes(path: str = "/healthz") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: wallet\r\n\r\n".encode()


class Client:
    """One keep-alive connection that reads whole responses (Content-Length bodies)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def closed_by_server(self) -> bool:
        """Whether the server closed the connection (reads end of stream)."""
        return self.sock.recv(1) == b""

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def env(settings):
    return {key: str(value) for key, value in settings.items()}


@pytest.mark.slow
def test_more_keep_alive_connections_than_threads_take_turns(env):
    with start_gunicorn(env, workers=1, threads=THREADS) as server:
        clients = [Client(server.url) for _ in range(3 * THREADS)]
        for _ in range(5):
            for client in clients:
                client.send(request_bytes())
            statuses = [client.response()[0] for client in clients]
            assert statuses == [200] * len(clients)
        for client in clients:
            client.close()


@pytest.mark.slow
def test_pipelined_requests_are_all_answered_in_order(env):
    with start_gunicorn(env, workers=1, threads=THREADS) as server:
        client = Client(server.url)
        client.send(request_bytes() + request_bytes("/nowhere") + request_bytes())
        assert [client.response()[0] for _ in range(3)] == [200, 404, 200]
        client.send(request_bytes())  # and the connection is still usable
        assert client.response()[0] == 200
        client.close()


@pytest.mark.slow
def test_the_date_header_is_the_time_of_the_answer(env):
    with start_gunicorn(env, workers=1, threads=THREADS) as server:
        client = Client(server.url)
        for _ in range(3):
            client.send(request_bytes())
            _, headers, _ = client.response()
            answered = email.utils.parsedate_to_datetime(headers["date"]).timestamp()
            assert abs(answered - time.time()) < 2
            time.sleep(1.1)
        client.close()


@pytest.mark.slow
def test_an_idle_connection_is_closed_after_the_keepalive_timeout(env):
    with start_gunicorn({**env, "GUNICORN_KEEPALIVE": "1"}, workers=1, threads=THREADS) as server:
        idle, busy = Client(server.url), Client(server.url)
        idle.send(request_bytes())
        assert idle.response()[0] == 200
        started = time.monotonic()
        for _ in range(8):  # the other connection keeps being served meanwhile
            busy.send(request_bytes())
            assert busy.response()[0] == 200
            time.sleep(0.25)
        assert idle.closed_by_server()
        assert time.monotonic() - started < 5
        busy.close()
        idle.close()


@pytest.mark.slow
def test_a_busy_worker_keeps_telling_the_arbiter_it_is_alive(env):
    """gunicorn restarts a worker that does not check in within GUNICORN_TIMEOUT."""
    with start_gunicorn({**env, "GUNICORN_TIMEOUT": "2"}, workers=1, threads=THREADS) as server:
        before = worker_pids(server.process.pid)
        client = Client(server.url)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            client.send(request_bytes())
            assert client.response()[0] == 200
        assert worker_pids(server.process.pid) == before
        client.close()


@pytest.mark.slow
def test_sigterm_answers_a_request_on_a_kept_connection_then_exits(env):
    with start_gunicorn(env, workers=1, threads=THREADS) as server:
        client, idle = Client(server.url), Client(server.url)
        for kept in (client, idle):
            kept.send(request_bytes())
            assert kept.response()[0] == 200
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        client.send(request_bytes())
        status, headers, _ = client.response()
        assert (status, headers["connection"]) == (200, "close")
        assert client.closed_by_server()
        # The idle connection does not hold the worker up to its graceful timeout (20 s).
        assert server.process.wait(timeout=10) == 0
        assert time.monotonic() - stopping < 6
        assert idle.closed_by_server()
        client.close()
        idle.close()


@pytest.mark.slow
def test_a_request_sent_in_pieces_is_answered_once_whole(env):
    """Clients write the head and the body separately; a pipelined request may arrive
    half behind a whole one, its rest later."""
    post = b"POST /nowhere HTTP/1.1\r\nHost: wallet\r\nContent-Length: 10\r\n\r\n"
    with start_gunicorn(env, workers=1, threads=THREADS) as server:
        client = Client(server.url)
        for piece in (post[:20], post[20:], b"01234", b"56789"):
            client.send(piece)
            time.sleep(0.1)
        assert client.response()[0] == 404
        client.send(request_bytes() + post + b"01234")
        assert client.response()[0] == 200
        time.sleep(0.2)
        client.send(b"56789")
        assert client.response()[0] == 404
        client.close()


HEAD = b"POST /igpx/transaction HTTP/1.1\r\nHost: wallet\r\n"


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"GET / HTTP/1.1\r\nHost: wallet\r\n\r\n", 32),
        (b"GET / HTTP/1.1\r\nHost: wallet\r\n\r\nGET /next", 32),  # the first of two
        (b"GET / HTTP/1.1\r\nHost: wallet\r\n", None),  # the head is not over
        (HEAD + b"Content-Length: 4\r\n\r\n{}", None),  # half the body
        (HEAD + b"content-length:  4 \r\n\r\n{}{}", 74),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", None),  # no last chunk
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n", 93),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\nTrailer: 1\r\n\r\n", 94),
        # Framing gunicorn refuses: handed over at once, for gunicorn's 400.
        (HEAD + b"Content-Length: 4\r\nContent-Length: 4\r\n\r\n", 87),
        (HEAD + b"Content-Length: -4\r\n\r\n", 69),
        (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 96),
        (HEAD + b"Transfer-Encoding: gzip\r\n\r\n", 74),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n-2\r\n", 81),
    ],
)
def test_a_request_is_whole_where_gunicorn_ends_it(data, end):
    assert request_end(data, limit=1000) == end


@pytest.mark.parametrize(
    "data",
    [
        b"GET /" + b"a" * 2000,  # a head that never ends
        HEAD + b"Content-Length: 100000\r\n\r\n" + b"{" * 2000,  # a body beyond the limit
    ],
)
def test_past_the_limit_a_request_is_handed_over_as_it_stands(data):
    """gunicorn refuses the head (414, 431) or the app the body (413) from what came."""
    assert request_end(data, limit=1000) == len(data)
    assert request_end(data[:900], limit=1000) is None
