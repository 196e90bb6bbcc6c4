"""One proxy: its listener, toxics and live connections (``proxy.go``; spec §1.4, §2.2).

Toxic changes are applied synchronously to every live link on the event loop, so they
have taken effect on all of them before the API answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from wsquake.faults.proxy.addresses import LISTEN_BACKLOG, bind, resolve_string
from wsquake.faults.proxy.connection import Connection
from wsquake.faults.proxy.exceptions import ServerError, bad_body
from wsquake.faults.proxy.link import Entry, Link, RngFactory
from wsquake.faults.proxy.metrics import ProxyMetrics
from wsquake.faults.proxy.toxic_set import ToxicEntry, ToxicSet

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """What every proxy of one server shares."""

    loop: asyncio.AbstractEventLoop
    spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
    seed: int | None = None
    half_close: bool = False
    ws_tracking: bool = True
    metrics: ProxyMetrics | None = None
    rng: random.Random | None = None

    def rng_for(self, proxy: str, serial: int, direction: str, toxic: str) -> random.Random:
        """One RNG per (seed, proxy, connection serial, direction, toxic) when seeded."""
        if self.seed is None:
            if self.rng is None:
                self.rng = random.Random()
            return self.rng
        return random.Random(f"{self.seed}/{proxy}/{serial}/{direction}/{toxic}")


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, runtime: Runtime) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics = ToxicSet()
        self.runtime = runtime
        self.half_close = runtime.half_close
        self.ws_tracking = runtime.ws_tracking
        self.conns: set[Connection] = set()
        self.live: dict[Connection, None] = {}  # started connections, in start order
        self._server: asyncio.Server | None = None
        self._serial = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Bind ``listen`` and accept; a no-op if running. Bind errors are ``ServerError``."""
        if self._server is not None:
            return
        sock, listen = await bind(self.listen)
        try:
            server = await self.runtime.loop.create_server(
                self._accept, sock=sock, backlog=LISTEN_BACKLOG
            )
        except OSError as exc:
            sock.close()
            raise ServerError(f"listen tcp {listen}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise
        self._server = server
        self.listen = listen
        self.enabled = True
        logger.info("proxy %s listening on %s -> %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener and every connection; a no-op if stopped."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
            logger.info("proxy %s stopped", self.name)
        for conn in list(self.conns):
            conn.abort()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _accept(self) -> asyncio.Protocol:
        self._serial += 1
        conn = Connection(self, self._serial, self.runtime.loop)
        self.conns.add(conn)
        return conn.client

    async def differs(self, listen: str, upstream: str) -> bool:
        return await resolve_string(listen) != self.listen or upstream != self.upstream

    async def update(self, body: Any) -> None:
        """PATCH/POST ``/proxies/{p}``: missing fields keep their values (spec §1.4)."""
        if not isinstance(body, dict):
            raise bad_body("expected a JSON object")
        listen = _string(body, "listen", self.listen)
        upstream = _string(body, "upstream", self.upstream)
        enabled = body.get("enabled")
        if enabled is None:
            enabled = self.enabled
        elif not isinstance(enabled, bool):
            raise bad_body("field 'enabled' must be a boolean")
        if await self.differs(listen, upstream):
            self.stop()
            self.listen, self.upstream = listen, upstream
            if enabled:
                await self.start()
        elif enabled != self.enabled:
            if enabled:
                await self.start()
            else:
                self.stop()

    # -- toxics ------------------------------------------------------------------------

    def add_toxic(self, body: Any) -> ToxicEntry:
        entry = self.toxics.parse_new(body)
        self.toxics.add(entry)
        self._on_links(entry, Link.append)
        return entry

    def update_toxic(self, name: str, body: Any) -> ToxicEntry:
        entry = self.toxics.get(name)
        entry.attributes, entry.toxicity = self.toxics.parse_update(entry, body)
        self._on_links(entry, Link.update)
        return entry

    def remove_toxic(self, name: str) -> None:
        entry = self.toxics.remove(name)
        self._on_links(entry, Link.remove)

    def _on_links(self, entry: ToxicEntry, change: Callable[[Link, Entry], None]) -> None:
        """Apply a toxic change to every live link of its direction, synchronously."""
        for conn in list(self.live):
            link = conn.link(entry.direction)
            try:
                change(link, entry)
            except Exception as exc:  # one broken link must not stop the others
                conn.fail(link, exc)

    def reset_toxics(self) -> None:
        for entry in self.toxics.all():
            self.remove_toxic(entry.name)

    # -- connection host -----------------------------------------------------------------

    def entries(self, direction: str) -> list[Entry]:
        return list(self.toxics.chains[direction])

    def rng_factory(self, serial: int, direction: str) -> RngFactory:
        def make(toxic: str) -> random.Random:
            return self.runtime.rng_for(self.name, serial, direction, toxic)

        return make

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self.runtime.spawn(coro)

    def connection_started(self, conn: Connection) -> None:
        self.live[conn] = None

    def connection_finished(self, conn: Connection) -> None:
        self.conns.discard(conn)
        self.live.pop(conn, None)
        metrics = self.runtime.metrics
        if metrics is not None and conn.started:
            for link in (conn.up, conn.down):
                metrics.record(self.name, self.listen, self.upstream, link)

    # -- views -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [e.to_json() for e in self.toxics.all()],
        }

    def connections_json(self) -> list[dict[str, Any]]:
        return [conn.describe() for conn in self.live]


def _string(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise bad_body(f"field {name!r} must be a string")
    return value
