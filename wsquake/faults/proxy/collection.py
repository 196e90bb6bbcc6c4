"""All proxies of one server: create, populate, delete, reset (``proxy_collection.go``).

Every mutation runs under one lock, as Toxiproxy's collection mutex does, so concurrent
API calls cannot interleave a bind with a name check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from wsquake.faults.proxy.exceptions import ApiError, BadRequest, Conflict, NotFound, bad_body
from wsquake.faults.proxy.proxy import Proxy, Runtime


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """One validated ``{name, upstream, listen, enabled}`` body."""

    name: str
    upstream: str
    listen: str
    enabled: bool


def parse_spec(body: Any, where: str = "") -> ProxySpec:
    """Validate types and required fields; ``where`` is `` at proxy N`` for populate."""
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object{where}")
    values: dict[str, Any] = {}
    for name in ("name", "upstream", "listen"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise bad_body(f"field {name!r} must be a string{where}")
        values[name] = value or ""
    enabled = body.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise bad_body(f"field 'enabled' must be a boolean{where}")
    return ProxySpec(values["name"], values["upstream"], values["listen"], enabled is not False)


def _require(spec: ProxySpec, where: str = "") -> None:
    if not spec.name:
        raise BadRequest(f"missing required field: name{where}")
    if not spec.upstream:
        raise BadRequest(f"missing required field: upstream{where}")


class PopulateResult:
    def __init__(self, proxies: list[Proxy] | None, error: ApiError | None) -> None:
        self.proxies, self.error = proxies, error


class ProxyCollection:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise NotFound("proxy not found") from None

    async def create(self, body: Any) -> Proxy:
        spec = parse_spec(body)
        _require(spec)
        async with self.lock:
            if spec.name in self.proxies:
                raise Conflict("proxy already exists")
            proxy = Proxy(spec.name, spec.listen, spec.upstream, self.runtime)
            if spec.enabled:
                await proxy.start()
            self.proxies[spec.name] = proxy
            return proxy

    async def populate(self, body: Any) -> PopulateResult:
        """Validate all entries, then apply in order; the first failure stops (not atomic)."""
        if not isinstance(body, list):
            return PopulateResult(None, bad_body("expected a JSON array of proxies"))
        try:
            specs = [parse_spec(entry, f" at proxy {i + 1}") for i, entry in enumerate(body)]
            for i, spec in enumerate(specs):
                _require(spec, f" at proxy {i + 1}")
        except ApiError as exc:
            return PopulateResult(None, exc)
        done: list[Proxy] = []
        async with self.lock:
            for spec in specs:
                try:
                    existing = self.proxies.get(spec.name)
                    if existing is not None:
                        if not await existing.differs(spec.listen, spec.upstream):
                            done.append(existing)
                            continue
                        existing.stop()
                    proxy = Proxy(spec.name, spec.listen, spec.upstream, self.runtime)
                    if spec.enabled:
                        await proxy.start()
                except ApiError as exc:
                    return PopulateResult(done or None, exc)
                self.proxies[spec.name] = proxy
                done.append(proxy)
        return PopulateResult(done or None, None)

    async def update(self, name: str, body: Any) -> Proxy:
        async with self.lock:
            proxy = self.get(name)
            await proxy.update(body)
            return proxy

    async def delete(self, name: str) -> None:
        async with self.lock:
            proxy = self.get(name)
            proxy.stop()
            del self.proxies[name]

    async def reset(self) -> None:
        """Start every stopped proxy and remove all toxics; the first start failure aborts."""
        async with self.lock:
            for proxy in list(self.proxies.values()):
                await proxy.start()
                proxy.reset_toxics()

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
