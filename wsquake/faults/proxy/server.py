"""The embedded Toxiproxy-compatible server: HTTP API and TCP proxies on one event loop.

Usage::

    async with EmbeddedToxiproxy(port=0) as server:
        print(server.url)               # http://127.0.0.1:<bound port>

    with EmbeddedToxiproxy(port=0).in_thread() as server:   # own loop, daemon thread
        toxiproxy_python_or_requests(server.url)

Every task (uvicorn's, each connection's upstream dial) is owned by the server's
TaskGroup, which :meth:`EmbeddedToxiproxy.stop` closes after stopping every proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any

import uvicorn

from wsquake.faults.proxy.addresses import bind
from wsquake.faults.proxy.api import build_app
from wsquake.faults.proxy.collection import ProxyCollection
from wsquake.faults.proxy.exceptions import ApiError, ServerStartError
from wsquake.faults.proxy.metrics import ProxyMetrics
from wsquake.faults.proxy.proxy import Runtime

logger = logging.getLogger(__name__)

#: How long :meth:`EmbeddedToxiproxy.in_thread` waits for the thread's server to start/stop.
THREAD_START_TIMEOUT = 10.0
#: uvicorn's grace for in-flight API requests on stop.
API_SHUTDOWN_GRACE = 2
#: Idle keep-alive of API connections, in seconds.
API_KEEP_ALIVE = 120


class EmbeddedToxiproxy:
    """An in-process Toxiproxy 2.12.0 look-alike (spec/TOXIPROXY.md §0)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8474,
        seed: int | None = None,
        half_close: bool = False,
        metrics: bool = False,
        *,
        ws_tracking: bool = True,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in 0..65535, got {port!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.host = host
        self.port = port
        self.seed = seed
        self.half_close = half_close
        self.metrics = ProxyMetrics() if metrics else None
        self.ws_tracking = ws_tracking
        self.collection: ProxyCollection | None = None
        self._address: str | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._tg: asyncio.TaskGroup | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` with the bound port; only valid once started."""
        if self._address is None:
            raise RuntimeError("EmbeddedToxiproxy is not started")
        return f"http://{self._address}"

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.url.removeprefix("http://").rpartition(":")
        return host.strip("[]"), int(port)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("EmbeddedToxiproxy already started")
        loop = asyncio.get_running_loop()
        host = f"[{self.host}]" if ":" in self.host else self.host
        try:
            sock, self._address = await bind(f"{host}:{self.port}")
        except ApiError as exc:
            raise ServerStartError(f"cannot start the API on {host}:{self.port}: {exc}") from None
        self._stopping = asyncio.Event()
        runtime = Runtime(
            loop=loop,
            spawn=self._spawn,
            seed=self.seed,
            half_close=self.half_close,
            ws_tracking=self.ws_tracking,
            metrics=self.metrics,
        )
        self.collection = ProxyCollection(runtime)
        ready: asyncio.Future[None] = loop.create_future()
        self._runner = asyncio.create_task(self._run(sock, ready), name="embedded-toxiproxy")
        try:
            await ready
        except BaseException:
            await self._join()
            raise
        logger.info("embedded toxiproxy API on %s", self.url)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self._tg is None:
            coro.close()
            raise RuntimeError("EmbeddedToxiproxy is not running")
        return self._tg.create_task(coro)

    async def _run(self, sock: socket.socket, ready: asyncio.Future[None]) -> None:
        assert self._stopping is not None and self.collection is not None
        config = uvicorn.Config(
            build_app(self.collection, self.metrics),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=API_SHUTDOWN_GRACE,
            # Go's server keeps idle connections; a short idle timeout races clients
            # that reuse a pooled connection for a POST.
            timeout_keep_alive=API_KEEP_ALIVE,
        )
        config.load()
        api = uvicorn.Server(config)
        api.lifespan = config.lifespan_class(config)
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                try:
                    await api.startup(sockets=[sock])
                except BaseException as exc:
                    if not ready.done():
                        ready.set_exception(ServerStartError(f"API failed to start: {exc!r}"))
                    raise
                ready.set_result(None)
                try:
                    await self._stopping.wait()
                finally:
                    self.collection.stop_all()
                    await api.shutdown()
                    self._tg = None
        finally:
            sock.close()
            if not ready.done():
                ready.set_exception(ServerStartError("API stopped before it was ready"))

    async def _join(self) -> None:
        runner = self._runner
        if runner is None:
            return
        try:
            await runner
        except ServerStartError:
            pass
        except Exception:
            logger.exception("embedded toxiproxy stopped with an error")
        finally:
            self._runner = None

    async def stop(self) -> None:
        """Stop the API, every proxy and every live connection. Idempotent."""
        if self._runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()
        await self._join()
        logger.info("embedded toxiproxy stopped")

    async def __aenter__(self) -> EmbeddedToxiproxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- thread mode -----------------------------------------------------------------------

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[EmbeddedToxiproxy]:
        """Run the server on its own event loop in a daemon thread; yield it started.

        For code that drives the server with a synchronous client (``toxiproxy-python``,
        ``requests``): never call a sync client from the loop that runs the server.
        """
        started = threading.Event()
        failure: list[BaseException] = []
        loop_box: list[asyncio.AbstractEventLoop] = []

        async def main() -> None:
            loop_box.append(asyncio.get_running_loop())
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            if self._runner is not None:
                await self._runner

        thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="embedded-toxiproxy", daemon=True
        )
        thread.start()
        if not started.wait(THREAD_START_TIMEOUT):
            raise ServerStartError("embedded toxiproxy thread did not start in time")
        if failure:
            thread.join(THREAD_START_TIMEOUT)
            raise failure[0]
        try:
            yield self
        finally:
            stopping = self._stopping
            if stopping is not None and loop_box:
                loop_box[0].call_soon_threadsafe(stopping.set)
            thread.join(THREAD_START_TIMEOUT)
            self._runner = None
