"""gunicorn's ``gthread`` worker, reading each request whole before a thread serves it.

In ``gthread`` a serving thread reads its request from the socket and waits as long as
the client takes to send it: a few connections that send a header byte every half
second, or trickle the body, hold every thread, and nothing else is answered. Here the
worker's main thread, which already waits on every idle connection, also reads requests
as their bytes arrive, without waiting, and hands a connection to a thread only once
its whole request (head and body) is in. The thread parses it from memory and never
waits on a client. A connection whose request is not whole ``REQUEST_READ_TIMEOUT_S``
after it began is closed. A buffering proxy in front does the same for the whole site
(docs/deployment.md, "Behind a TLS proxy"); this bounds the wallet without one.

Requests are framed as gunicorn frames them (``Content-Length`` or chunked). A head
gunicorn refuses, or a request larger than ``MAX_BODY_BYTES`` plus room for the head,
is handed over as far as it came, and gunicorn or the app refuses it. The main thread
reads raw bytes, so TLS has to end in front of gunicorn.

gunicorn's own answers to requests it cannot parse (400, 414, 431, …) are JSON here,
like every other answer of the wallet.
"""

from __future__ import annotations

import re
import selectors
import socket
import time
from functools import partial
from typing import Any

import orjson
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

# Room for the request line and headers on top of MAX_BODY_BYTES.
HEAD_BYTES = 64 * 1024
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")


def request_end(data: bytes | bytearray, limit: int) -> int | None:
    """Where the first request in ``data`` ends; None while it is not all there.

    Framing gunicorn refuses, and anything past ``limit`` bytes, ends where the data
    ends: gunicorn or the app then refuses the request from what arrived.
    """
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return len(data) if len(data) > limit else None
    body = head_end + 4
    lengths, codings = [], []
    for line in bytes(data[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            lengths.append(value.strip())
        elif name.lower() == b"transfer-encoding":
            codings += [coding.strip().lower() for coding in value.split(b",")]
    if codings and (lengths or codings[-1] != b"chunked"):
        return len(data)  # gunicorn refuses both
    if codings:
        end = _chunked_end(data, body)
    elif lengths:
        if len(lengths) > 1 or not lengths[0].isdigit():
            return len(data)  # gunicorn refuses these too
        end = body + int(lengths[0])
    else:
        end = body
    if end is None or end > len(data):
        return len(data) if len(data) > limit else None
    return end


def _chunked_end(data: bytes | bytearray, position: int) -> int | None:
    """The end of a chunked body starting at ``position`` (trailers included)."""
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = bytes(data[position:line_end]).split(b";")[0].strip()
        if not _CHUNK_SIZE.fullmatch(size):
            return len(data)  # a chunk size gunicorn refuses
        if int(size, 16) == 0:
            trailers_end = data.find(b"\r\n\r\n", line_end)
            return None if trailers_end < 0 else trailers_end + 4
        position = line_end + 2 + int(size, 16) + 2


class _Buffered:
    """A client socket as its serving thread sees it: reads return the bytes the main
    thread read, up to the end of one whole request, and never wait (past that end they
    return nothing, which gunicorn takes as the end of the stream); writes and the rest
    go to the socket. The main thread and the serving thread never hold it at once."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()  # read from the socket, not yet taken by the parser
        self.ready = 0  # how many of them make the next whole request
        self.deadline = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    def recv(self, size: int) -> bytes:
        data = bytes(self.pending[: min(size, self.ready)])
        del self.pending[: len(data)]
        self.ready -= len(data)
        return data

    def fill(self) -> bool:
        """Read what has arrived, without waiting; False once the client has gone."""
        try:
            data = self.sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError:
            return False
        self.pending += data
        return bool(data)

    def next_request(self, limit: int) -> bool:
        """Whether a whole request is here; if so, reads stop at its end."""
        end = request_end(self.pending, limit)
        self.ready = end or 0
        return end is not None


class BufferingWorker(ThreadWorker):
    """``gthread``, with requests read whole by the main thread and errors in JSON."""

    # gunicorn.conf.py's post_fork sets both from the settings.
    read_timeout_s: float = 10.0
    max_body_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: set[Any] = set()  # connections whose request is still arriving

    def enqueue_req(self, conn: Any) -> None:
        """On the main thread, for a new connection or a kept-alive one that became
        readable: read its request before a thread takes it."""
        if not isinstance(conn.sock, _Buffered):
            conn.sock = _Buffered(conn.sock)
            conn.init()  # the parser reads the buffer; the thread need not wait for data
        conn.sock.deadline = time.monotonic() + self.read_timeout_s
        self._read(conn)

    def _read(self, conn: Any, _sock: Any = None) -> None:
        alive = conn.sock.fill()
        if conn.sock.next_request(self.max_body_bytes + HEAD_BYTES):
            self._stop_reading(conn)
            super().enqueue_req(conn)
        elif not alive:
            self._close(conn)
        elif conn not in self.reading:
            self.reading.add(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read, conn))

    def handle(self, conn: Any) -> Any:
        """Serve the request, then any whole ones the client sent behind it."""
        keep = super().handle(conn)
        while keep is True and conn.sock.next_request(self.max_body_bytes + HEAD_BYTES):
            keep = super().handle(conn)
        return keep

    def murder_pending(self) -> None:
        """gthread's sweep of waiting connections, and of requests past their deadline."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [conn for conn in self.reading if conn.sock.deadline <= now]:
            self.log.info(
                "Request not whole within %s s from %s: closed", self.read_timeout_s, conn.client
            )
            self._close(conn)

    def _stop_reading(self, conn: Any) -> None:
        if conn in self.reading:
            self.reading.remove(conn)
            self.poller.unregister(conn.sock)

    def _close(self, conn: Any) -> None:
        self._stop_reading(conn)
        self.nr_conns -= 1
        conn.close()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's answer to a request it could not parse or serve, as JSON: gunicorn
        picks the status and logs the error as usual; only its HTML page is replaced."""
        page = _ErrorPage()
        super().handle_error(req, page, addr, exc)
        if not page.status:
            return
        code, _, reason = page.status.partition(" ")
        if code == "500":  # a failure of ours: its text stays in the log
            answer = {"error": "INTERNAL_ERROR", "message": "internal error"}
        else:
            answer = {"error": "INVALID_REQUEST", "message": str(exc)}
        body = orjson.dumps(answer)
        head = (
            f"HTTP/1.1 {code} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")


class _ErrorPage:
    """Stands in for the client while gunicorn writes its HTML error page: keeps the
    status line ("400 Bad Request")."""

    status = ""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.status = data.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")[2]
