"""A body over ``MAX_BODY_BYTES`` is refused however it is framed, before it is verified.

With ``Transfer-Encoding: chunked`` there is no ``Content-Length`` to check up front, and
a reader that stops at the limit would see only the body's first ``MAX_BODY_BYTES``:
a body whose first 64 KiB are a complete, signed bet followed by more bytes would be
applied. Each provider answers its own too-large error instead, and nothing moves.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.web.callbacks import callbacks
from tests import hypetech_helpers, igpx_helpers, upside_helpers
from tests.conftest import HYPETECH_BASE_URL
from tests.factories import PlayerFactory, balance, flush_audit, run_committed
from tests.hostile_helpers import books

LIMIT = 64 * 1024  # MAX_BODY_BYTES's default, the tests' setting
TAIL = 24_000  # what the finding's 89,536-byte body carried past the signed 65,536


def padded(payload: dict[str, Any], size: int) -> bytes:
    """``payload`` as JSON followed by spaces, ``size`` bytes in all (still valid JSON)."""
    text = json.dumps(payload).encode()
    return text + b" " * (size - len(text))


# --- the three protocols ----------------------------------------------------------------

PATHS = {
    "igpx": "/igpx/transaction",
    "hypetech": "/hypetech/register",
    "upside": "/upside/game-actions",
}


def player_for(provider: str) -> str:
    """A player with 100 to bet (USD, or WIN on Upside, whose game is created too)."""
    if provider == "upside":
        upside_helpers.make_game()
        return upside_helpers.make_player(win=100)
    player: str = PlayerFactory(currencies=("USD",), balance="100.00")
    return player


def bet_of(provider: str, player: str, size: int) -> bytes:
    """A bet of 1, padded to ``size`` bytes."""
    if provider == "igpx":
        return padded(igpx_helpers.bet("big-1", player, "1.00"), size)
    if provider == "hypetech":
        return padded(hypetech_helpers.bet("big-1", player, "1.00", currency="USD"), size)
    return padded(upside_helpers.bet("big-session"), size)


def signed_over(provider: str, player: str, signed: bytes) -> dict[str, str]:
    """The provider's signature headers for the bytes ``signed``."""
    if provider == "igpx":
        return {"X-Security-Hash": igpx_helpers.sign(signed)}
    if provider == "hypetech":
        url = HYPETECH_BASE_URL + PATHS["hypetech"]
        return {"Hype-Hash": hypetech_helpers.sign(url, signed)}
    worker, jwt = upside_helpers.make_key(), upside_helpers.token(player)
    headers = upside_helpers.headers(worker, jwt, signed)
    headers.pop("Content-Type")
    return headers


def too_large(provider: str, status: int, answer: dict[str, Any]) -> bool:
    """The protocol's answer to a body over the limit."""
    if provider == "igpx":
        return status == 200 and answer == {"error": "INVALID_REQUEST"}
    if provider == "hypetech":
        return status == 400 and answer["code"] == "BODY_TOO_LARGE"
    return (
        status == 400
        and answer["success"] is False
        and answer["error"]["code"] == ("INVALID_REQUEST")
    )


def money_left(provider: str, player: str) -> Decimal:
    return balance(player, "WIN" if provider == "upside" else "USD")


# --- Flask's test client: the server has de-chunked the body, as gunicorn does ----------


def post_streamed(client: Any, path: str, body: bytes, headers: dict[str, str]) -> Any:
    """What a server that terminates chunked input hands the app: no Content-Length."""
    all_headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **headers}
    return client.post(
        path,
        data=body,
        headers=all_headers,
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("provider", PATHS)
def test_streamed_body_signed_over_its_first_64_kib_is_refused(client, provider):
    player = player_for(provider)
    signed = bet_of(provider, player, LIMIT)
    before = books()
    response = post_streamed(
        client, PATHS[provider], signed + b" " * TAIL, signed_over(provider, player, signed)
    )
    assert too_large(provider, response.status_code, response.get_json()), response.data
    assert books() == before


@pytest.mark.parametrize("provider", PATHS)
def test_streamed_body_one_byte_over_the_limit_is_refused(client, provider):
    player = player_for(provider)
    body = bet_of(provider, player, LIMIT + 1)
    before = books()
    response = post_streamed(client, PATHS[provider], body, signed_over(provider, player, body))
    assert too_large(provider, response.status_code, response.get_json()), response.data
    assert books() == before


@pytest.mark.parametrize("provider", PATHS)
def test_streamed_body_of_exactly_the_limit_is_applied(client, provider):
    player = player_for(provider)
    body = bet_of(provider, player, LIMIT)
    money = money_left(provider, player)
    response = post_streamed(client, PATHS[provider], body, signed_over(provider, player, body))
    assert response.status_code == 200, response.data
    assert money_left(provider, player) == money - 1


def test_streamed_body_over_the_limit_is_noted_not_stored_in_the_audit_trail(client):
    player = player_for("igpx")
    body = bet_of("igpx", player, LIMIT + TAIL)
    post_streamed(client, PATHS["igpx"], body, signed_over("igpx", player, body))
    flush_audit()
    query = select(callbacks.c.body, callbacks.c.body_note)
    [(stored, note)] = run_committed(lambda conn: conn.execute(query).all())
    assert (bytes(stored), "over the limit" in note) == (b"", True)


# --- over HTTP, against gunicorn, with a raw socket -------------------------------------


def chunked(body: bytes, size: int = 8192) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def send_chunked(base_url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple:
    """POST ``body`` with ``Transfer-Encoding: chunked`` on a socket; (status, JSON answer)."""
    address = urlsplit(base_url)
    head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + chunked(body)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        return _read_answer(sock)


def _read_answer(sock: socket.socket) -> tuple[int, Any]:
    received = b""
    while b"\r\n\r\n" not in received:
        received += _recv(sock)
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    length = int({k.lower(): v for k, v in fields.items()}["content-length"])
    while len(rest) < length:
        rest += _recv(sock)
    return int(lines[0].split()[1]), json.loads(rest[:length])


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection without an answer"
    return data


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["igpx", "hypetech"])
def test_gunicorn_refuses_a_chunked_body_signed_over_its_first_64_kib(live_server, provider):
    player = player_for(provider)
    signed = bet_of(provider, player, LIMIT)
    headers = {"Content-Type": "application/json", **signed_over(provider, player, signed)}
    before = books()
    status, answer = send_chunked(live_server, PATHS[provider], signed + b" " * TAIL, headers)
    assert too_large(provider, status, answer), (status, answer)
    assert books() == before
    assert money_left(provider, player) == 100


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["igpx", "hypetech"])
def test_gunicorn_applies_a_chunked_body_of_exactly_the_limit(live_server, provider):
    player = player_for(provider)
    body = bet_of(provider, player, LIMIT)
    headers = {"Content-Type": "application/json", **signed_over(provider, player, body)}
    status, answer = send_chunked(live_server, PATHS[provider], body, headers)
    assert status == 200, answer
    assert money_left(provider, player) == 99


def send_raw_chunks(base_url: str, path: str, chunks: bytes, headers: dict[str, str]) -> tuple:
    address = urlsplit(base_url)
    head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + chunks)
        return _read_answer(sock)


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["igpx", "hypetech"])
@pytest.mark.parametrize("framing", [b"zz\r\n%s\r\n0\r\n\r\n", b"%x\r\n%sXY0\r\n\r\n"])
def test_gunicorn_answers_a_malformed_chunk_as_an_invalid_request(live_server, provider, framing):
    """A chunk size that is not hex, or a chunk without its CRLF, is the client's mistake:
    the protocol's invalid-request answer, never an internal error, and nothing moves."""
    player = player_for(provider)
    body = bet_of(provider, player, 200)
    headers = {"Content-Type": "application/json", **signed_over(provider, player, body)}
    chunks = framing % ((len(body), body) if framing.startswith(b"%x") else (body,))
    status, answer = send_raw_chunks(live_server, PATHS[provider], chunks, headers)
    if provider == "igpx":
        assert (status, answer) == (200, {"error": "INVALID_REQUEST"})
    else:
        assert (status, answer["code"]) == (400, "INVALID_REQUEST"), answer
    assert money_left(provider, player) == 100
