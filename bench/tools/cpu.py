"""Python CPU per callback, through the whole WSGI app but without gunicorn or wrk.

python -m bench.tools.cpu [--requests 3000] [--url postgresql://…/wallet_bench] [--callgrind]

Throughput on a shared 2-core machine moves ±15% with whatever else runs, and so does
CPU time (a busy sibling hyperthread slows every instruction). The number of
instructions this process executes per request (``perf stat``: every thread, the audit
writer included, PostgreSQL excluded) does not, so it is the figure to compare between
two versions of the hot path; CPU time is printed beside it. Needs the database
``make bench`` leaves behind (players ``p000001``…); it adds its own bets to it.

Where ``perf`` cannot count instructions (a virtual machine without the counters:
``perf stat -e instructions true`` says "not supported"), ``--callgrind`` runs the same
under valgrind's callgrind (about 60× slower than native, so use ``--requests 1200`` or
so), whose counters are zeroed before and dumped after each measured batch: the same
figure, exact and repeatable.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from bench import servers, traffic
from bench.run import SECRET


def environ(call: traffic.Call) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": call.method,
        "PATH_INFO": call.path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(call.body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(call.body)),
    }
    for name, value in call.headers:
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return env


def measure(app: Any, calls: Iterable[traffic.Call], flush: Callable[[], None]) -> str:
    """Instructions and CPU time per call (the app's answer is checked, not timed)."""
    environs = [environ(call) for call in calls]
    answers = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        answers.append(status)

    perf = _perf_stat()
    started = time.process_time()
    for env in environs:
        b"".join(app(env, start_response))
    flush()
    spent = time.process_time() - started
    instructions = _stop(perf)
    refused = [a for a in answers if not a.startswith("200")]
    assert not refused, refused[:3]
    cpu = f"{spent / len(environs) * 1e6:6.0f} µs CPU"
    if instructions is None:
        return cpu + " (perf unavailable: no instruction count)"
    return f"{instructions / len(environs) / 1e6:6.2f} M instructions, {cpu}"


_PERF = True
# Set (to the dump directory) in the copy of this program that runs under callgrind.
_CALLGRIND = os.environ.get("BENCH_CPU_CALLGRIND")


def _perf_stat() -> subprocess.Popen[str] | None:
    if _CALLGRIND:
        _callgrind_control("--zero")
        return None
    perf = shutil.which("perf") if _PERF else None
    if perf is None:
        return None
    command = [perf, "stat", "-x", ",", "-e", "instructions:u", "-p", str(os.getpid())]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)  # noqa: S603
    time.sleep(0.3)  # attached
    return process


def _stop(perf: subprocess.Popen[str] | None) -> int | None:
    if _CALLGRIND:
        return _callgrind_total()
    if perf is None:
        return None
    perf.send_signal(signal.SIGINT)
    _, err = perf.communicate(timeout=10)
    found = re.search(r"^(\d+),", err, re.MULTILINE)
    return int(found.group(1)) if found else None


def _callgrind_control(option: str) -> None:
    subprocess.run(  # noqa: S603
        ["callgrind_control", option, str(os.getpid())], check=True, capture_output=True
    )


def _callgrind_total() -> int:
    """Instructions counted since the counters were zeroed: dump them, read the dump."""
    assert _CALLGRIND
    before = set(os.listdir(_CALLGRIND))
    _callgrind_control("--dump")
    (dump,) = set(os.listdir(_CALLGRIND)) - before
    with open(os.path.join(_CALLGRIND, dump)) as file:  # noqa: PTH123
        text = file.read()
    return int(re.search(r"^summary: (\d+)", text, re.MULTILINE).group(1))  # type: ignore[union-attr]


def _under_callgrind() -> None:
    """Run this program again under callgrind, counting nothing until asked to."""
    dumps = tempfile.mkdtemp(prefix="bench-cpu-callgrind-")
    command = ["valgrind", "--tool=callgrind", "--quiet"]
    command += [f"--callgrind-out-file={dumps}/out", sys.executable, "-m", "bench.tools.cpu"]
    env = {**os.environ, "BENCH_CPU_CALLGRIND": dumps}
    os.execvpe("valgrind", [*command, *sys.argv[1:]], env)  # noqa: S606


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--url", default=os.environ.get("BENCH_URL"))
    parser.add_argument(
        "--no-perf",
        action="store_true",
        help="CPU time only (e.g. under py-spy, which hangs with perf)",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions with valgrind's callgrind (where perf has no counters)",
    )
    args = parser.parse_args()
    if args.callgrind and not _CALLGRIND:
        _under_callgrind()
    global _PERF
    _PERF = not args.no_perf
    url = args.url or servers.admin_url().rsplit("/", 1)[0] + "/" + servers.BENCH_DB
    os.environ.update(DATABASE_URL=url, IGPX_SECURITY_HASH=SECRET)
    from app import create_app
    from app.web import audit

    app = create_app()
    writer = app.extensions.get("wallet.audit")
    if _CALLGRIND and writer is not None:
        # callgrind runs ~60× slower, so at the usual 100 ms the audit writer would store
        # a row or two per transaction instead of the dozens a busy worker writes, and
        # each row would carry a transaction's fixed cost. Wake it as often in callbacks.
        writer._interval_s = audit.WRITE_INTERVAL_S * 60
    igpx = traffic.Igpx(SECRET)
    run = uuid.uuid4().hex[:8]
    players = [f"p{n:06d}" for n in range(1, 1001)]
    bets = [
        igpx.bet(f"cpu-{run}-{i}", players[i % len(players)], traffic.AMOUNT)
        for i in range(args.requests)
    ]
    flush = lambda: audit.flush(app)  # noqa: E731
    measure(app, bets[:200], flush)  # warm-up: prepared statements, caches
    fresh = measure(app, bets[200:], flush)
    replays = measure(app, bets[200:], flush)
    print(f"bet     {fresh} per request")
    print(f"replay  {replays} per request")


if __name__ == "__main__":
    main()
