"""uvicorn, embedded: readiness and exit as events instead of polled flags.

Stock ``uvicorn.Server`` installs process-wide signal handlers, polls ``should_exit``
every 0.1 s and sleeps a fixed 0.1 s on shutdown; an embedded server (the cloud, the
simulated app servers, test peers: several per process) wants none of that. The owner
runs :meth:`serve` in a task it owns, awaits :meth:`wait_started`, and calls
:meth:`request_exit`; signals are the owner's business (the CLIs handle them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

__all__ = ["EmbeddedServer"]

logger = logging.getLogger(__name__)

DATE_HEADER_REFRESH_S = 1.0


class EmbeddedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._exit = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit.set()

    async def wait_started(self, serving: asyncio.Task[None], within_s: float) -> None:
        """Return once listening; raise if ``serving`` ended first or ``within_s`` passed."""
        ready = asyncio.ensure_future(self.ready.wait())
        try:
            async with asyncio.timeout(within_s):
                await asyncio.wait({ready, serving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self.ready.is_set():
            raise RuntimeError("uvicorn stopped during startup")

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):  # refreshes the Date header
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DATE_HEADER_REFRESH_S):
                    await self._exit.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        pending = list(self.server_state.tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.config.timeout_graceful_shutdown)
            for task in late:
                task.cancel()
            if late:
                logger.warning("cancelled %d connection task(s) at shutdown", len(late))
                await asyncio.wait(late)
        for server in self.servers:
            await server.wait_closed()
