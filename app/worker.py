"""A gunicorn worker whose threads wait for requests themselves (``make run``'s default).

gunicorn's ``gthread`` worker has one thread that waits for sockets and a pool of threads
that serve them: every request on a kept-alive connection goes from the waiting thread to
a pool thread (a future, a queue) and back (a pipe write, a wake-up, the socket
registered again), and each hop needs the worker's GIL. Under load those hand-offs cost
a quarter of a worker's CPU.

Here every serving thread waits on one shared ``epoll`` set itself, for one event at a
time, with ``EPOLLONESHOT``: the kernel gives a readable socket to exactly one waiting
thread and reports nothing more for it until that thread has answered the request and
armed the socket again. A thread that is busy takes nothing, so work still goes to
whichever thread is free, as in ``gthread``. The listening sockets are in the same set,
so accepting is done by a free thread too. The main thread only keeps the worker alive
for the arbiter, closes kept-alive connections that stay idle past ``keepalive``, and
stops the worker.

Connections are spread over the workers. All workers wait on the same listening socket,
and the one awake first accepts: under a burst of new connections one worker could take
most of them, and its clients then queue behind its threads while the others idle
(a run's p99 followed that placement). So each worker publishes how many connections it
holds and how many of its threads are free, in a table the arbiter maps before forking,
and a worker holding two or more above another that has a free thread leaves a new
connection to that one for a moment (``_DEFER_S``), again while that still holds, but at
most ``_MAX_DEFERRALS`` times in a row: then it takes the connection itself. So the table
only steers, and a wrong or stale count can delay an accept by 20 ms, never refuse it.
(Without the free-thread condition, clients that open a connection per request were
deferred to workers too busy to take them: half the requests per second.)

Requests are parsed and answered by ``gthread``'s own code (``ThreadWorker.handle``): the
HTTP parsing, keep-alive rules, error pages and access log are gunicorn's.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import mmap
import os
import select
import socket
import threading
import time

from gunicorn import util
from gunicorn.workers import base
from gunicorn.workers.gthread import TConn, ThreadWorker

_ARMED = select.EPOLLIN | select.EPOLLONESHOT
# How often the threads and the main thread look at the clock when nothing happens.
_TICK_S = 0.5
# A stopping worker keeps serving requests already on their way for this long.
_STOP_LINGER_S = 2.0
# How long a worker leaves a new connection to a less loaded one before taking it itself.
_DEFER_S = 0.002
# After this many deferrals in a row (20 ms) a worker accepts whatever the table says.
_MAX_DEFERRALS = 10


class _ConnectionCounts:
    """Each worker's open connections and free threads, in memory shared by the arbiter
    and its workers.

    Mapped when this module is imported, which gunicorn does in the arbiter before any
    fork. A worker writes only its own slot (its age, modulo the table's size, so no
    claim is needed); the arbiter clears a slot when its worker exits (``forget``).
    Reads are not locked: a count a moment old only steers one accept.
    """

    SLOTS = 64  # a slot is shared only by workers started 64 restarts apart

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self.SLOTS * 8)  # anonymous and shared: survives fork
        table = memoryview(self._map).cast("i")
        self._conns = table[: self.SLOTS]  # connections + 1; 0 means "no worker here"
        self._free = table[self.SLOTS :]

    def slot(self, age: int) -> int:
        return age % self.SLOTS

    def set(self, slot: int, conns: int, free_threads: int) -> None:
        self._free[slot] = free_threads
        self._conns[slot] = conns + 1

    def forget(self, slot: int) -> None:
        self._conns[slot] = 0

    def fewer_with_a_free_thread(self, slot: int, conns: int) -> bool:
        """Whether another worker holds at least two fewer than ``conns`` (one fewer is
        as even as it gets) and has a thread free."""
        counts, free = self._conns.tolist(), self._free.tolist()
        # Slots hold connections + 1, so ``other < conns`` is "two or more fewer".
        return any(0 < other < conns and free[i] > 0 for i, other in enumerate(counts) if i != slot)


COUNTS = _ConnectionCounts()


def forget_worker(worker: base.Worker) -> None:
    """For the arbiter's ``child_exit`` hook: the worker's connections are gone."""
    COUNTS.forget(COUNTS.slot(worker.age))


class _HttpDate:
    """gunicorn's ``Date`` header, formatted once a second instead of for every response
    (``email.utils.formatdate`` was 1.7% of a worker's CPU); the header has whole seconds."""

    def __init__(self) -> None:
        self._cached = (0, "")

    def __call__(self, timestamp: float | None = None) -> str:
        second = int(time.time() if timestamp is None else timestamp)
        cached_second, text = self._cached  # one tuple: threads see a matching pair
        if second != cached_second:
            text = email.utils.formatdate(second, usegmt=True)
            self._cached = (second, text)
        return text


class WalletWorker(ThreadWorker):
    """``gthread``'s request handling, with the hand-offs between threads removed."""

    def init_process(self) -> None:
        self.epoll = select.epoll()
        self.lock = threading.Lock()
        self.conns: dict[int, TConn] = {}  # every open connection, by file descriptor
        self.idle: dict[int, TConn] = {}  # those armed and waiting for a request
        self.listeners = {listener.fileno(): listener for listener in self.sockets}
        self.accepting = False
        self.accepting_paused = False  # at worker_connections: accept again on a close
        self.stopped = False  # the serving threads' signal to return
        self.slot = COUNTS.slot(self.age)
        self.busy = 0  # threads serving a request
        self.thread_count = self.cfg.threads  # read once: gunicorn's settings are looked up slowly
        self.deferrals = 0  # connections offered in a row and left to the others
        self.rearm_at: float | None = None  # when the main thread arms the listeners again
        util.http_date = _HttpDate()  # gunicorn.http.wsgi.Response reads it from the module
        # base.Worker, not ThreadWorker: no thread pool, no poller, no pipe of callbacks.
        base.Worker.init_process(self)

    def handle_exit(self, sig, frame) -> None:
        self.alive = False

    def handle_quit(self, sig, frame) -> None:
        base.Worker.handle_quit(self, sig, frame)

    def run(self) -> None:
        for listener in self.sockets:
            listener.setblocking(False)
        self._set_accepting(True)
        self._publish()  # serving from now on: the others may leave connections here
        threads = [
            threading.Thread(target=self._serve, name=f"wallet-http-{n}", daemon=True)
            for n in range(self.cfg.threads)
        ]
        for thread in threads:
            thread.start()

        while self.alive:
            self.notify()
            self._sleep(self._until_rearm())
            if not self.is_parent_alive():
                self.alive = False
            self._close_idle(time.monotonic())

        # Stopping: accept nothing more (new connections are refused), let the threads
        # answer what is under way (a request on a kept-alive connection meanwhile is
        # answered with "Connection: close" by gthread's handler), close the idle
        # connections, then go.
        with self.lock:
            COUNTS.forget(self.slot)  # the others need not leave connections to this one
            self._set_accepting(False)
            for listener in self.sockets:
                listener.close()
            self.listeners = {}
        deadline = time.monotonic() + self.cfg.graceful_timeout
        linger = time.monotonic() + _STOP_LINGER_S
        while time.monotonic() < deadline:
            self.notify()
            now = time.monotonic()
            self._close_idle(now if now < linger else None)
            with self.lock:
                if not self.conns:
                    break
            self._sleep(0.05)
        self.stopped = True
        for thread in threads:
            thread.join(_TICK_S * 2)
        with self.lock:
            for conn in list(self.conns.values()):
                conn.close()
            self.conns.clear()
        self.epoll.close()

    def _until_rearm(self) -> float:
        """Seconds to sleep: a tick, or until a deferred accept is due."""
        with self.lock:
            if self.rearm_at is None:
                return _TICK_S
            wait = self.rearm_at - time.monotonic()
            if wait > 0:
                return min(wait, _TICK_S)
            self.rearm_at = None
            if self.accepting and not self.accepting_paused:
                for fd in self.listeners:
                    self.epoll.modify(fd, _ARMED)
        return _TICK_S

    def _defer(self) -> bool:
        """Leave the new connection to a less loaded worker (``_MAX_DEFERRALS`` at most)."""
        if self.deferrals >= _MAX_DEFERRALS or not COUNTS.fewer_with_a_free_thread(
            self.slot, len(self.conns)
        ):
            self.deferrals = 0
            return False
        with self.lock:
            self.deferrals += 1
            self.rearm_at = time.monotonic() + _DEFER_S
        with contextlib.suppress(OSError):  # a full pipe is awake already
            os.write(self.PIPE[1], b".")  # wake the main thread: it arms the listener again
        return True

    def _publish(self) -> None:
        """Write this worker's counts into the shared table (with the lock held); a
        stopping worker's slot stays cleared."""
        if self.accepting:
            COUNTS.set(self.slot, len(self.conns), self.thread_count - self.busy)

    def _sleep(self, seconds: float) -> None:
        """Sleep, waking early for a signal (base.Worker's wake-up pipe)."""
        try:
            ready, _, _ = select.select([self.PIPE[0]], [], [], seconds)
            if ready:
                os.read(self.PIPE[0], 64)
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise

    def _set_accepting(self, enabled: bool) -> None:
        """Arm or disarm the listening sockets (called with the lock held, or alone)."""
        if enabled == self.accepting:
            return
        for fd in self.listeners:
            if enabled:
                self.epoll.register(fd, _ARMED)
            else:
                self.epoll.unregister(fd)
        self.accepting = enabled

    def _close_idle(self, now: float | None) -> None:
        """Shut down idle connections whose keep-alive ran out (all of them when ``now`` is
        None). The socket becomes readable at its end, and the thread that takes it closes
        it: only the thread holding a connection ever closes it."""
        with self.lock:
            for conn in self.idle.values():
                if now is None or conn.timeout <= now:
                    with contextlib.suppress(OSError):
                        conn.sock.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        """One serving thread: wait for a readable socket, serve it, arm it again."""
        while not self.stopped:
            try:
                events = self.epoll.poll(_TICK_S, 1)
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                return  # the set was closed: the worker is going
            for fd, _ in events:
                listener = self.listeners.get(fd)
                if listener is not None:
                    self._accept(listener)
                    continue
                with self.lock:
                    conn = self.idle.pop(fd, None)
                    if conn is None:
                        continue
                    self._set_busy(+1)
                try:
                    self._serve_connection(fd, conn)
                except Exception:  # a thread that died would leave the worker short of one
                    self.log.exception("error serving a connection")
                    self._drop(fd, conn)
                finally:
                    with self.lock:
                        self._set_busy(-1)

    def _set_busy(self, change: int) -> None:
        self.busy += change
        self._publish()

    def _accept(self, listener: socket.socket) -> None:
        if self._defer():
            return
        try:
            client, address = listener.accept()
        except OSError as exc:
            quiet = (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK)
            if exc.errno not in quiet and self.accepting:  # not closed by a stop
                self.log.exception("accept failed")
        else:
            conn = TConn(self.cfg, client, address, listener.getsockname())
            conn.sock.setblocking(True)
            self._park(client.fileno(), conn, new=True)
        with self.lock:
            if self.accepting:
                if len(self.conns) < self.worker_connections:
                    self.epoll.modify(listener.fileno(), _ARMED)
                else:
                    self.accepting_paused = True

    def _park(self, fd: int, conn: TConn, new: bool = False) -> None:
        """Wait for the connection's next request."""
        conn.set_timeout()
        with self.lock:
            self.idle[fd] = conn
            if new:
                self.conns[fd] = conn
                self._publish()
                self.epoll.register(fd, _ARMED)
            else:
                self.epoll.modify(fd, _ARMED)

    def _serve_connection(self, fd: int, conn: TConn) -> None:
        conn.data_ready = True  # the socket is readable: gthread must not wait for it
        while True:
            if self.handle(conn) is not True:  # closing, or an error already logged
                self._drop(fd, conn)
                return
            # A body drain can read ahead into the next request: serve it now, since the
            # socket will not look readable for bytes already read.
            if not conn.parser.unreader.buf.getvalue():
                break
        self._park(fd, conn)

    def _drop(self, fd: int, conn: TConn) -> None:
        """Forget and close a connection (``fd`` as accepted: the socket may be closed)."""
        with self.lock:
            if self.conns.pop(fd, None) is not None:
                self._publish()
                with contextlib.suppress(OSError, ValueError):
                    self.epoll.unregister(fd)
            if self.accepting_paused and self.accepting:
                self.accepting_paused = False
                for listener_fd in self.listeners:
                    self.epoll.modify(listener_fd, _ARMED)
        conn.close(graceful=True)
