"""A real local HTTP server that plays a provider's API, for outbound-client tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[["Received"], tuple[int, Any]]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProvider:
    url: str
    routes: dict[tuple[str, str], Handler]
    received: list[Received] = field(default_factory=list)

    def calls(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def serve(routes: dict[tuple[str, str], Handler]) -> Iterator[FakeProvider]:
    """``routes`` maps (METHOD, path) to a function returning (status, JSON body)."""
    provider: FakeProvider

    class RequestHandler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            received = Received(
                self.command, path, dict(self.headers), json.loads(raw) if raw else None
            )
            provider.received.append(received)
            handler = provider.routes.get((self.command, path))
            status, body = handler(received) if handler else (404, {"error": "not found"})
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    provider = FakeProvider(f"http://127.0.0.1:{server.server_address[1]}", routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
