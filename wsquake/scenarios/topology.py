"""The run's network: one Toxiproxy proxy per link, and the URLs every component uses.

::

    glasses fleet --ws--> glasses-link --> cloud /glasses-ws
    app servers   --ws--> app-link     --> cloud /app-ws      (cloud's app_ws_public_url)
    cloud --http POST-->  webhook-link --> app server /webhook (registry public_url)

One ``webhook-link`` proxy per app server: named ``webhook-link`` when the fleet has one
package, ``webhook-link-1`` … ``webhook-link-<n>`` (in package order) when it has more; a
fault on ``webhook-link`` hits all of them. Every proxy listens on ``127.0.0.1:0`` (the
server picks the port; Toxiproxy keeps it across disable/enable). The cloud's own address
is known only once it runs, so ``glasses-link`` and ``app-link`` are created pointing at a
placeholder and re-pointed with :meth:`Topology.point_at_cloud`. The runner probes the
cloud directly (``cloud_url``), never through a proxy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from wsquake.faults.client import AsyncToxiproxyClient, ProxyInfo
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.model import Link

__all__ = [
    "PROXIES_ENV",
    "Topology",
    "create_topology",
    "reuse_existing_proxies",
    "webhook_proxy_names",
]

logger = logging.getLogger(__name__)

#: Where ``glasses-link``/``app-link`` point until the cloud's port is known (discard).
PLACEHOLDER_UPSTREAM = "127.0.0.1:9"


def webhook_proxy_names(count: int) -> tuple[str, ...]:
    if count <= 1:
        return (Link.WEBHOOK.value,) if count == 1 else ()
    return tuple(f"{Link.WEBHOOK.value}-{i + 1}" for i in range(count))


def host_port(url: str) -> str:
    """``http://h:p/…`` → ``h:p`` (for a proxy's upstream)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        raise ValueError(f"expected scheme://HOST:PORT, got {url!r}")
    return f"{parts.hostname}:{parts.port}"


@dataclass(frozen=True, slots=True)
class Topology:
    """The proxies of one scenario and the addresses clients connect to."""

    glasses: ProxyInfo
    app: ProxyInfo
    webhooks: tuple[ProxyInfo, ...]
    addresses: dict[str, tuple[str, int]]
    cloud_url: str | None = None

    def names(self, link: Link) -> tuple[str, ...]:
        """The proxy names a fault on ``link`` applies to."""
        if link is Link.GLASSES:
            return (self.glasses.name,)
        if link is Link.APP:
            return (self.app.name,)
        return tuple(p.name for p in self.webhooks)

    @property
    def all_names(self) -> tuple[str, ...]:
        return (self.glasses.name, self.app.name, *(p.name for p in self.webhooks))

    def _base(self, name: str, scheme: str) -> str:
        host, port = self.addresses[name]
        return f"{scheme}://{host}:{port}"

    @property
    def glasses_ws_url(self) -> str:
        return self._base(self.glasses.name, "ws") + "/glasses-ws"

    @property
    def app_ws_url(self) -> str:
        """The cloud's ``app_ws_public_url``: app sockets go through ``app-link``."""
        return self._base(self.app.name, "ws") + "/app-ws"

    def webhook_urls(self) -> tuple[str, ...]:
        """The registry ``public_url`` of each package, in package order."""
        return tuple(self._base(p.name, "http") for p in self.webhooks)

    async def point_at_cloud(self, client: AsyncToxiproxyClient, cloud_url: str) -> Topology:
        upstream = host_port(cloud_url)
        glasses = await client.update_proxy(self.glasses.name, upstream=upstream)
        app = await client.update_proxy(self.app.name, upstream=upstream)
        return replace(self, glasses=glasses, app=app, cloud_url=cloud_url.rstrip("/"))


#: ``WSQUAKE_PROXIES=existing``: the proxies already exist on the Toxiproxy server (e.g.
#: pre-created from a ``/populate`` file in docker-compose, listening where the cloud's
#: registry points); the runner only re-points their upstreams and never deletes them.
PROXIES_ENV = "WSQUAKE_PROXIES"


def reuse_existing_proxies(env: Mapping[str, str] = os.environ) -> bool:
    """True when :data:`PROXIES_ENV` is ``existing`` (``create``, the default, is False)."""
    value = env.get(PROXIES_ENV, "create").strip() or "create"
    if value not in ("create", "existing"):
        raise ScenarioError(f"{PROXIES_ENV}: expected create or existing, got {value!r}")
    return value == "existing"


async def create_topology(
    client: AsyncToxiproxyClient,
    app_server_urls: Sequence[str],
    *,
    cloud_url: str | None = None,
    reuse: bool = False,
) -> Topology:
    """Create every proxy (deleting stale ones of the same names first); with ``reuse``,
    take the existing proxies of those names and only set their upstreams."""
    webhook_names = webhook_proxy_names(len(app_server_urls))
    cloud_upstream = host_port(cloud_url) if cloud_url else PLACEHOLDER_UPSTREAM
    wanted = [
        (Link.GLASSES.value, cloud_upstream),
        (Link.APP.value, cloud_upstream),
        *zip(webhook_names, (host_port(u) for u in app_server_urls), strict=True),
    ]
    existing = await client.proxies()
    if reuse:
        missing = [name for name, _ in wanted if name not in existing]
        if missing:
            raise ScenarioError(
                f"{PROXIES_ENV}=existing: proxy {', '.join(missing)} does not exist on "
                f"{client.url} (create it, e.g. in the /populate file)"
            )
        reused = [await client.update_proxy(name, upstream=upstream, enabled=True)
                  for name, upstream in wanted]
        return _topology(client, reused, cloud_url)
    for name, _ in wanted:
        if name in existing:
            logger.warning("proxy %s already exists on %s; replacing it", name, client.url)
            await client.delete_proxy(name, missing_ok=True)
    created: list[ProxyInfo] = []
    for name, upstream in wanted:
        created.append(await client.create_proxy(name, upstream, listen="127.0.0.1:0"))
    return _topology(client, created, cloud_url)


def _topology(
    client: AsyncToxiproxyClient, created: Sequence[ProxyInfo], cloud_url: str | None
) -> Topology:
    addresses: dict[str, tuple[str, int]] = {}
    for info in created:
        addresses[info.name] = client.sync.connect_address(info)
    return Topology(
        glasses=created[0],
        app=created[1],
        webhooks=tuple(created[2:]),
        addresses=addresses,
        cloud_url=cloud_url.rstrip("/") if cloud_url else None,
    )
