"""``AsyncToxiproxyClient``: the blocking client's calls run in ``asyncio.to_thread``.

So it can be used from any event loop, including (unlike the blocking client) the one
that runs an embedded server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, ParamSpec, TypeVar, overload

from wsquake.faults.client.errors import NotFound
from wsquake.faults.client.models import ProxyInfo, ToxicInfo
from wsquake.faults.client.specs import ToxicSpec
from wsquake.faults.client.sync import ProxyRef, ToxiproxyClient, finish_cleanup

__all__ = ["AsyncToxiproxyClient"]

P = ParamSpec("P")
T = TypeVar("T")


class AsyncToxiproxyClient:
    """Same methods as :class:`ToxiproxyClient`, awaitable; context managers are ``async``."""

    def __init__(
        self,
        url: str | None = None,
        timeout: float = 5.0,
        update_method: str = "PATCH",
        *,
        client: ToxiproxyClient | None = None,
    ) -> None:
        self.sync = client or ToxiproxyClient(url, timeout=timeout, update_method=update_method)

    def __repr__(self) -> str:
        return f"AsyncToxiproxyClient({self.sync.url!r})"

    @property
    def url(self) -> str:
        return self.sync.url

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def version(self) -> str:
        return await self._run(self.sync.version)

    async def is_embedded(self) -> bool:
        return await self._run(lambda: self.sync.is_embedded)

    async def reset(self) -> None:
        await self._run(self.sync.reset)

    async def proxies(self) -> dict[str, ProxyInfo]:
        return await self._run(self.sync.proxies)

    async def proxy(self, name: str) -> ProxyInfo:
        return await self._run(self.sync.proxy, name)

    async def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        return await self._run(self.sync.create_proxy, name, upstream, listen, enabled)

    async def update_proxy(
        self,
        name: ProxyRef,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        return await self._run(
            self.sync.update_proxy, name, listen=listen, upstream=upstream, enabled=enabled
        )

    async def delete_proxy(self, name: ProxyRef, missing_ok: bool = False) -> bool:
        return await self._run(self.sync.delete_proxy, name, missing_ok)

    async def populate(self, entries: Iterable[Mapping[str, Any]]) -> list[ProxyInfo]:
        return await self._run(self.sync.populate, list(entries))

    async def create_proxy_with_toxics(
        self,
        name: str,
        upstream: str,
        specs: Iterable[ToxicSpec],
        listen: str = "127.0.0.1:0",
        enabled: bool = True,
    ) -> ProxyInfo:
        return await self._run(
            self.sync.create_proxy_with_toxics, name, upstream, list(specs), listen, enabled
        )

    async def connect_address(self, proxy: ProxyRef) -> tuple[str, int]:
        return await self._run(self.sync.connect_address, proxy)

    @overload
    def toxics(self, proxy: ProxyRef) -> Awaitable[list[ToxicInfo]]: ...
    @overload
    def toxics(
        self, proxy: ProxyRef, spec: ToxicSpec, /, *specs: ToxicSpec
    ) -> AbstractAsyncContextManager[list[ToxicInfo]]: ...

    def toxics(
        self, proxy: ProxyRef, *specs: ToxicSpec
    ) -> Awaitable[list[ToxicInfo]] | AbstractAsyncContextManager[list[ToxicInfo]]:
        """Without specs: awaitable list. With specs: ``async with`` applying them."""
        if specs:
            return self.applied(proxy, *specs)
        return self._run(self.sync.toxics, proxy)

    @overload
    def toxic(self, proxy: ProxyRef, spec: str) -> Awaitable[ToxicInfo]: ...
    @overload
    def toxic(self, proxy: ProxyRef, spec: ToxicSpec) -> AbstractAsyncContextManager[ToxicInfo]: ...

    def toxic(
        self, proxy: ProxyRef, spec: str | ToxicSpec
    ) -> Awaitable[ToxicInfo] | AbstractAsyncContextManager[ToxicInfo]:
        if isinstance(spec, ToxicSpec):
            return self._toxic_context(proxy, spec)
        return self._run(self.sync.toxic, proxy, spec)

    async def add_toxic(self, proxy: ProxyRef, spec: ToxicSpec) -> ToxicInfo:
        return await self._run(self.sync.add_toxic, proxy, spec)

    async def update_toxic(
        self,
        proxy: ProxyRef,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> ToxicInfo:
        return await self._run(self.sync.update_toxic, proxy, name, attributes, toxicity)

    async def remove_toxic(self, proxy: ProxyRef, name: str, missing_ok: bool = False) -> bool:
        return await self._run(self.sync.remove_toxic, proxy, name, missing_ok)

    # --- context managers (same semantics as the blocking ones) -------------------------

    @contextlib.asynccontextmanager
    async def _cleanup(self, undo: Callable[[], object]) -> AsyncIterator[None]:
        try:
            yield
        except BaseException as exc:
            try:
                await self._run(undo)
            except Exception as cleanup:
                finish_cleanup(cleanup, exc)
            raise
        await self._run(undo)

    @contextlib.asynccontextmanager
    async def _toxic_context(self, proxy: ProxyRef, spec: ToxicSpec) -> AsyncIterator[ToxicInfo]:
        info = await self.add_toxic(proxy, spec)
        async with self._cleanup(lambda: self.sync.remove_toxic(proxy, info.name, True)):
            yield info

    @contextlib.asynccontextmanager
    async def applied(self, proxy: ProxyRef, *specs: ToxicSpec) -> AsyncIterator[list[ToxicInfo]]:
        added: list[ToxicInfo] = []
        async with self._cleanup(lambda: self.sync._remove_all(proxy, added)):
            for spec in specs:
                added.append(await self.add_toxic(proxy, spec))
            yield list(added)

    @contextlib.asynccontextmanager
    async def down(self, proxy: ProxyRef) -> AsyncIterator[ProxyInfo]:
        info = await self.update_proxy(proxy, enabled=False)
        async with self._cleanup(lambda: self.sync.update_proxy(proxy, enabled=True)):
            yield info

    @contextlib.asynccontextmanager
    async def temp_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> AsyncIterator[ProxyInfo]:
        info = await self.create_proxy(name, upstream, listen, enabled)
        async with self._cleanup(lambda: self.sync.delete_proxy(name, missing_ok=True)):
            yield info

    @contextlib.asynccontextmanager
    async def updated(
        self,
        proxy: ProxyRef,
        toxic: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> AsyncIterator[ToxicInfo]:
        before = await self.toxic(proxy, toxic)
        restore_attrs = None
        if attributes is not None:
            restore_attrs = {k: before.attributes[k] for k in attributes if k in before.attributes}
        restore_toxicity = before.toxicity if toxicity is not None else None
        info = await self.update_toxic(proxy, toxic, attributes, toxicity)

        def restore() -> None:
            try:
                self.sync.update_toxic(proxy, toxic, restore_attrs, restore_toxicity)
            except NotFound:
                pass

        async with self._cleanup(restore):
            yield info
