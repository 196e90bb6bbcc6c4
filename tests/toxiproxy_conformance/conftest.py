"""Harness of the Toxiproxy conformance suite (spec/TOXIPROXY.md §5).

One session backend, chosen by ``TOXIPROXY_URL`` (§0): unset/``embedded`` starts the
embedded server in a background thread; ``http://HOST:PORT`` uses that server (for the real
Toxiproxy: ``docker run --rm --network host ghcr.io/shopify/toxiproxy:2.12.0``). The
suite assumes sole use of the server: it calls ``/reset``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.toxiproxy_conformance.peers import IO_TIMEOUT, TcpPeer, WsEchoPeer, connect, echo
from wsquake.faults.client import (
    EMBEDDED_HEADER,
    ProxyInfo,
    ToxiproxyClient,
    ToxiproxyClientError,
    toxiproxy_backend,
)

VERSION_WAIT = 10.0


@dataclass
class Backend:
    client: ToxiproxyClient
    url: str
    kind: str  # "embedded" | "real"
    dataplane_error: str | None = None

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One raw HTTP call (no wrapper in between), 5 s timeout."""
        kwargs: dict[str, Any] = {"timeout": IO_TIMEOUT, "headers": headers}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        return requests.request(method, self.url + path, **kwargs)


def _probe_dataplane(client: ToxiproxyClient) -> str | None:
    """One round trip through a proxy to a loopback echo; the reason if it fails."""
    with TcpPeer(echo) as peer:
        try:
            with client.temp_proxy("ct-probe", peer.address) as proxy:
                with connect(client.connect_address(proxy)) as sock:
                    sock.sendall(b"probe")
                    if sock.recv(5) != b"probe":
                        return "proxy did not echo through a loopback peer"
        except (OSError, ToxiproxyClientError) as exc:
            return f"server cannot reach loopback peers ({exc!r}); use host networking"
    return None


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    # A remote server is polled on /version for up to 10 s before the first test.
    with toxiproxy_backend(os.environ.get("TOXIPROXY_URL"), ready_timeout=VERSION_WAIT) as client:
        head = requests.get(client.url + "/version", timeout=IO_TIMEOUT)
        kind = "embedded" if EMBEDDED_HEADER in head.headers else "real"
        client.reset()
        for name in client.proxies():
            if name.startswith("ct-"):
                client.delete_proxy(name, missing_ok=True)
        yield Backend(client, client.url, kind, _probe_dataplane(client))


@pytest.fixture(autouse=True)
def _backend_markers(request: pytest.FixtureRequest, backend: Backend) -> None:
    if request.node.get_closest_marker("embedded_only") and backend.kind != "embedded":
        pytest.skip(f"embedded_only: {backend.url} is a real Toxiproxy")
    if request.node.get_closest_marker("real_only") and backend.kind != "real":
        pytest.skip(f"real_only: {backend.url} is the embedded server")
    if request.node.get_closest_marker("dataplane") and backend.dataplane_error:
        pytest.skip(f"dataplane: {backend.dataplane_error}")


@dataclass
class ProxyFactory:
    """Creates ``ct-<test>-<n>`` proxies and deletes every one of them afterwards."""

    backend: Backend
    prefix: str
    names: list[str] = field(default_factory=list)

    def name(self) -> str:
        name = f"{self.prefix}-{len(self.names) + 1}"
        self.names.append(name)
        return name

    def __call__(self, upstream: str, *, listen: str = "127.0.0.1:0", **kw: Any) -> ProxyInfo:
        return self.backend.client.create_proxy(self.name(), upstream, listen=listen, **kw)

    def address(self, proxy: ProxyInfo) -> tuple[str, int]:
        return self.backend.client.connect_address(proxy)

    def cleanup(self) -> None:
        """Delete every proxy named by this factory or carrying its prefix."""
        client = self.backend.client
        with contextlib.suppress(ToxiproxyClientError):
            names = set(self.names) | {
                name for name in client.proxies() if name.startswith(self.prefix + "-")
            }
            for name in sorted(names):
                with contextlib.suppress(ToxiproxyClientError):
                    client.delete_proxy(name, missing_ok=True)


@pytest.fixture(autouse=True)
def make_proxy(request: pytest.FixtureRequest, backend: Backend) -> Iterator[ProxyFactory]:
    """Autouse: after every test, the proxies it made (``ct-<test>-<n>``) are deleted."""
    test = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")[:60]
    factory = ProxyFactory(backend, f"ct-{test}")
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def client(backend: Backend) -> ToxiproxyClient:
    return backend.client


@pytest.fixture
def api(backend: Backend) -> Callable[..., requests.Response]:
    return backend.api


@pytest.fixture
def peers() -> Iterator[Callable[..., TcpPeer]]:
    """``peers(handler)`` starts a :class:`TcpPeer`; all are stopped after the test."""
    started: list[TcpPeer] = []

    def start(handler: Callable[..., None]) -> TcpPeer:
        peer = TcpPeer(handler)
        started.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.close()


@pytest.fixture
def echo_peer(peers: Callable[..., TcpPeer]) -> TcpPeer:
    return peers(echo)


@pytest.fixture
def ws_echo() -> Iterator[WsEchoPeer]:
    with WsEchoPeer() as peer:
        yield peer
