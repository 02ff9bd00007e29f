"""Start the product under gunicorn on a free local port, as `make run` does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        """Everything gunicorn has written so far (stdout and stderr); read without moving
        the file's offset, which gunicorn shares to write."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode()


@contextmanager
def run_gunicorn(env: dict[str, str], workers: int = 2, threads: int = 16) -> Iterator[str]:
    with start_gunicorn(env, workers, threads) as server:
        yield server.url


@contextmanager
def start_gunicorn(env: dict[str, str], workers: int = 2, threads: int = 16) -> Iterator[Server]:
    """gunicorn as `make run` starts it; the test may signal ``server.process`` itself."""
    port = free_port()
    full_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "DB_POOL_SIZE": str(threads),
        **env,
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base_url, process, log)
            yield Server(base_url, process, log)
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def run_gunicorn_process(
    env: dict[str, str], workers: int = 2, threads: int = 16
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like :func:`start_gunicorn`, as (base URL, master process)."""
    with start_gunicorn(env, workers, threads) as server:
        yield server.url, server.process


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn workers of ``master_pid`` (its child processes), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            children.append(int(stat.parent.name))
    return children


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited: {log.read().decode()[-2000:]}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start within 30 s")
