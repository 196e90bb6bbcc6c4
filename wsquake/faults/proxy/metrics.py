"""Optional Prometheus metrics (``-proxy-metrics``): bytes per link, counted when it ends."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LABELS = ("direction", "proxy", "listener", "upstream")


class _Link(Protocol):
    direction: str
    received: int
    sent: int


class ProxyMetrics:
    """Toxiproxy's ``toxiproxy_proxy_{received,sent}_bytes_total`` on a private registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "toxiproxy_proxy_received_bytes",
            "Bytes received by the proxy, per link, counted when the link ends",
            LABELS,
            registry=self.registry,
        )
        self.sent = Counter(
            "toxiproxy_proxy_sent_bytes",
            "Bytes sent by the proxy, per link, counted when the link ends",
            LABELS,
            registry=self.registry,
        )

    def record(self, proxy: str, listener: str, upstream: str, link: _Link) -> None:
        labels = (link.direction, proxy, listener, upstream)
        self.received.labels(*labels).inc(link.received)
        self.sent.labels(*labels).inc(link.sent)

    def render(self) -> bytes:
        return generate_latest(self.registry)
