"""Count the round trips and statements of one callback, from libpq's protocol trace.

    python -m bench.roundtrips DATABASE_URL_OF_A_BENCH_DB

Runs the app in-process (Flask test client, the same code gunicorn serves) against a
database that ``make bench`` populated, and traces each kind of IGPX callback once after
a warm-up. A round trip is a simple ``Query`` or an extended-protocol ``Sync`` sent by
the client (each is answered before the next is sent: the product does not pipeline).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from app import create_app
from app.web import audit
from bench import traffic

SECRET = "bench-igpx-secret"  # noqa: S105  (a throwaway key for the local bench)


class Tracer:
    """libpq's protocol trace of every connection the engine opens, one file each.

    One file per connection because psycopg names its prepared statements per connection
    (``_pg3_0`` on one is not ``_pg3_0`` on another). libpq writes a trace through a
    buffered stdio stream, so :meth:`flush` stops and restarts each trace
    (``PQuntrace`` flushes) before the files are read.
    """

    def __init__(self, engine: Any) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="libpq-trace-"))
        self._traced: list[tuple[Any, Any]] = []  # (driver connection, its file)
        event.listen(engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        handle = (self.directory / f"{len(self._traced)}.trace").open("w")
        self._traced.append((dbapi_connection, handle))
        self._start(dbapi_connection, handle)

    @staticmethod
    def _start(dbapi_connection: Any, handle: Any) -> None:
        dbapi_connection.pgconn.trace(handle.fileno())
        dbapi_connection.pgconn.set_trace_flags(1)  # no timestamps

    def flush(self) -> None:
        for dbapi_connection, handle in self._traced:
            if not dbapi_connection.closed:
                dbapi_connection.pgconn.untrace()
                self._start(dbapi_connection, handle)

    def mark(self) -> list[int]:
        self.flush()
        return [Path(handle.name).stat().st_size for _, handle in self._traced]

    def since(self, marks: list[int]) -> list[tuple[list[str], list[str]]]:
        """(lines since the mark, every line) of each connection."""
        self.flush()
        found = []
        for n, (_, handle) in enumerate(self._traced):
            text = Path(handle.name).read_text()
            start = marks[n] if n < len(marks) else 0
            found.append((_lines(text[start:]), _lines(text)))
        return found


def _lines(text: str) -> list[str]:
    return re.split(r"\n(?=[FB]\t)", text)  # SQL may span lines


def prepared_names(lines: list[str]) -> dict[str, str]:
    """Prepared statement name -> SQL, from every ``Parse`` of the trace so far."""
    names = {}
    for line in lines:
        parts = line.split("\t")
        if len(parts) > 3 and parts[0] == "F" and parts[2] == "Parse":
            quoted = re.findall(r'"((?:[^"]|"")*)"', "\t".join(parts[3:]))
            if len(quoted) >= 2 and quoted[0]:
                names[quoted[0]] = quoted[1]
    return names


def classify(lines: list[str], names: dict[str, str]) -> tuple[int, list[str]]:
    """(round trips, statements in order) from the frontend messages of a trace."""
    trips, statements = 0, []
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] != "F":
            continue
        kind, args = parts[2], "\t".join(parts[3:])
        quoted = re.findall(r'"((?:[^"]|"")*)"', args)
        if kind in ("Query", "Sync"):
            trips += 1
        if kind == "Query" and quoted:
            statements.append(f"simple  {quoted[0]}")
        elif kind == "Parse" and len(quoted) >= 2:
            statements.append(f"unnamed {quoted[1]}" if not quoted[0] else f"prepare {quoted[1]}")
        elif kind == "Bind" and len(quoted) >= 2 and quoted[1]:
            statements.append(f"prepared {names.get(quoted[1], quoted[1])}")
    return trips, [" ".join(s.split())[:150] for s in statements]


def measure(url: str) -> dict[str, tuple[int, list[str], int]]:
    """Callback kind -> (round trips, statements, the audit writer's round trips), each
    callback sent once after a warm-up, then the audit trail flushed. The audit writer
    stores callbacks in batches (the connection that ran ``COPY callbacks``), so its round
    trips are shared by every callback of a batch (one batch per 100 ms under load)."""
    app = create_app({"DATABASE_URL": url, "IGPX_SECURITY_HASH": SECRET, "LOG_LEVEL": "WARNING"})
    tracer = Tracer(app.extensions["wallet.engine"])
    client = app.test_client()
    igpx = traffic.Igpx(SECRET)
    tag = os.urandom(4).hex()
    player = "p000001"

    def send(call: traffic.Call) -> None:
        answer = client.post(call.path, data=call.body, headers=dict(call.headers))
        assert b'"error":null' in answer.data, answer.data

    for n in range(8):  # warm-up: psycopg prepares a statement on its 5th execution
        send(igpx.bet(f"rt-warm-{tag}-{n}", player, "1.00"))
        send(igpx.win(f"rt-warmw-{tag}-{n}", player, "1.00", ""))
        send(igpx.rollback(f"rt-warmr-{tag}-{n}", player, "1.00", f"rt-warm-{tag}-{n}"))
    cases = {
        "bet": igpx.bet(f"rt-{tag}", player, "1.00"),
        "replayed bet": igpx.bet(f"rt-{tag}", player, "1.00"),
        "result (win)": igpx.win(f"rt-w-{tag}", player, "1.00", f"rt-{tag}"),
        "rollback of a bet": igpx.rollback(f"rt-r-{tag}", player, "1.00", f"rt-{tag}"),
    }
    found = {}
    try:
        for name, call in cases.items():
            audit.flush(app)
            marks = tracer.mark()
            send(call)
            audit.flush(app)
            trips, statements, audit_trips = 0, [], 0
            for lines, every in tracer.since(marks):
                n, said = classify(lines, prepared_names(every))
                if any(statement.startswith("simple COPY callbacks") for statement in said):
                    audit_trips += n
                else:
                    trips, statements = trips + n, statements + said
            found[name] = (trips, statements, audit_trips)
    finally:
        app.extensions["wallet.engine"].dispose()
        if not os.environ.get("KEEP_TRACE"):
            shutil.rmtree(tracer.directory, ignore_errors=True)
    return found


def main(url: str) -> None:
    for name, (trips, statements, audit_trips) in measure(url).items():
        counts = Counter(s.split(" ")[0] for s in statements)
        print(f"\n{name}: {trips} round trips {dict(counts)}, audit batch {audit_trips}")
        for statement in statements:
            print(f"  {statement}")


if __name__ == "__main__":
    main(sys.argv[1])
