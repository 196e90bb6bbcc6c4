"""Loopback peers and blocking socket helpers for the conformance suite (spec §5 harness).

Peers are plain threaded socket servers on ``127.0.0.1:0`` (so the blocking
``toxiproxy-python`` client and blocking sockets can be used straight from the test):
``echo``, ``sink`` (records ``(t, nbytes)`` and the EOF time), ``source(n, then_close)``,
``reply_on_eof`` and a ``websockets`` echo server with compression off. Every client-side
socket operation has a 5 s timeout. Times are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

IO_TIMEOUT = 5.0
MS = 0.001


@dataclass
class Conn:
    """The server side of one accepted connection."""

    sock: socket.socket
    accepted_at: float
    chunks: list[tuple[float, int]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    eof_at: float | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    echoed: int = 0

    def record(self, chunk: bytes) -> None:
        with self.changed:
            self.chunks.append((time.monotonic(), len(chunk)))
            self.data += chunk
            self.changed.notify_all()

    def wait_bytes(self, n: int, timeout: float = IO_TIMEOUT) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.data) >= n, timeout)

    def wait_echoed(self, n: int, timeout: float = IO_TIMEOUT) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.echoed >= n, timeout)

    def read_to_end(self) -> None:
        """Record everything until EOF (or an error)."""
        try:
            while chunk := self.sock.recv(65536):
                self.record(chunk)
            self.eof_at = time.monotonic()
        except OSError as exc:
            self.error = type(exc).__name__
            self.eof_at = time.monotonic()


Handler = Callable[[Conn], None]


def echo(conn: Conn) -> None:
    try:
        while chunk := conn.sock.recv(65536):
            conn.record(chunk)
            conn.sock.sendall(chunk)
            with conn.changed:
                conn.echoed += len(chunk)
                conn.changed.notify_all()
        conn.eof_at = time.monotonic()
    except OSError as exc:
        conn.error = type(exc).__name__
        conn.eof_at = time.monotonic()


def sink(conn: Conn) -> None:
    conn.read_to_end()


def source(n: int, then_close: bool = True, payload: bytes | None = None) -> Handler:
    """Send ``n`` random bytes (or ``payload``) at once, then close or wait for EOF."""
    data = payload if payload is not None else os.urandom(n)

    def handler(conn: Conn) -> None:
        try:
            conn.sock.sendall(data)
        except OSError as exc:
            conn.error = type(exc).__name__
            return
        if not then_close:
            conn.read_to_end()

    handler.payload = data  # type: ignore[attr-defined]
    return handler


def reply_on_eof(reply: bytes) -> Handler:
    """Read until EOF, then try to send ``reply`` (a half-close client would wait for it)."""

    def handler(conn: Conn) -> None:
        conn.read_to_end()
        try:
            conn.sock.sendall(reply)
        except OSError as exc:
            conn.error = type(exc).__name__

    return handler


class TcpPeer:
    """A threaded TCP server on ``127.0.0.1:0``; one thread per accepted connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.conns: list[Conn] = []
        self._accepted = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, name="peer-accept", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            conn = Conn(sock, time.monotonic())
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._accepted:
                if self._stopping:
                    sock.close()
                    return
                self.conns.append(conn)
                self._threads.append(thread)
                self._accepted.notify_all()
            thread.start()

    def _serve(self, conn: Conn) -> None:
        try:
            self.handler(conn)
        finally:
            conn.sock.close()
            conn.done.set()
            with self._accepted:
                self._accepted.notify_all()

    def wait_conn(self, index: int = 0, timeout: float = IO_TIMEOUT) -> Conn:
        """The ``index``-th accepted connection, waiting for it if needed."""
        with self._accepted:
            if not self._accepted.wait_for(lambda: len(self.conns) > index, timeout):
                raise TimeoutError(f"peer {self.address}: connection #{index} not accepted")
            return self.conns[index]

    def close(self) -> None:
        with self._accepted:
            self._stopping = True
            conns = list(self.conns)
            threads = list(self._threads)
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self._thread.join(IO_TIMEOUT)
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(IO_TIMEOUT)

    def __enter__(self) -> TcpPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WsEchoPeer:
    """A ``websockets`` echo server (compression off) on ``127.0.0.1:0`` in a thread."""

    def __init__(self, compression: str | None = None) -> None:
        self.server: Server = serve(self._handler, "127.0.0.1", 0, compression=compression)
        self.port: int = self.server.socket.getsockname()[1]
        self.received: list[str | bytes] = []
        self.echoed = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _handler(self, ws: ServerConnection) -> None:
        try:
            for message in ws:
                self.received.append(message)
                ws.send(message)
                with self._changed:
                    self.echoed += 1
                    self._changed.notify_all()
        except ConnectionClosed:
            pass

    def wait_echoed(self, n: int, timeout: float = IO_TIMEOUT) -> bool:
        """Wait until the server has echoed ``n`` messages (over all connections)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.echoed >= n, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(IO_TIMEOUT)

    def __enter__(self) -> WsEchoPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- client-side helpers -------------------------------------------------------------


def connect(address: tuple[str, int], timeout: float = IO_TIMEOUT) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@dataclass(frozen=True)
class Ending:
    data: bytes
    how: str  # "eof" | "reset" | "timeout"
    at: float


def read_until_close(sock: socket.socket, timeout: float = IO_TIMEOUT) -> Ending:
    """Read until EOF/reset (or the deadline): what arrived and how it ended."""
    data = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Ending(bytes(data), "timeout", time.monotonic())
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return Ending(bytes(data), "reset", time.monotonic())
        except TimeoutError:
            return Ending(bytes(data), "timeout", time.monotonic())
        if not chunk:
            return Ending(bytes(data), "eof", time.monotonic())
        data += chunk


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def is_open(sock: socket.socket) -> bool:
    """True if the peer has neither closed nor reset (non-blocking peek)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(IO_TIMEOUT)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Send ``payload`` to an echo peer and wait for it back; seconds taken."""
    start = time.monotonic()
    sock.sendall(payload)
    recv_exactly(sock, len(payload))
    return time.monotonic() - start


def baseline(sock: socket.socket) -> float:
    """Median of 3 round trips (spec §5 tolerances)."""
    return statistics.median(round_trip(sock) for _ in range(3))


def assert_delay(effect: float, expected: float, what: str = "delay") -> None:
    """Spec §5: ``expected - 10 ms <= effect <= 1.5 * expected + 150 ms`` (seconds)."""
    low, high = expected - 10 * MS, 1.5 * expected + 150 * MS
    assert low <= effect <= high, (
        f"{what}: effect {effect * 1000:.0f} ms outside [{low * 1000:.0f}, {high * 1000:.0f}] ms"
    )


def poll_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (for "within X" checks)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
