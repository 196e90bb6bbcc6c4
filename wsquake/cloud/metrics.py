"""Prometheus metrics of one cloud (PROTOCOL.md §13), in a per-server registry.

Gauges are set from the live state by :meth:`CloudMetrics.refresh` just before each
scrape, so they cannot drift from ``/api/sessions``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "CloudMetrics"]

_P = "wsquake_cloud_"


class CloudMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.user_sessions = Gauge(_P + "user_sessions", "User sessions by state", ["state"],
                                   registry=r)
        self.glasses_connections = Gauge(_P + "glasses_connections", "Open glasses sockets",
                                         registry=r)
        self.app_connections = Gauge(_P + "app_connections", "Open app sockets", ["bound"],
                                     registry=r)
        self.apps = Gauge(_P + "apps", "Apps by state", ["state"], registry=r)
        self.registrations = Gauge(_P + "registrations", "App-server registrations",
                                   ["active"], registry=r)
        self.webhook_requests = Counter(_P + "webhook_requests", "Webhook attempts",
                                        ["type", "outcome"], registry=r)
        self.app_start_failures = Counter(_P + "app_start_failures", "Failed app starts",
                                          ["stage"], registry=r)
        self.app_resurrections = Counter(_P + "app_resurrections", "Resurrections (A5)",
                                         registry=r)
        self.pong_timeouts = Counter(_P + "pong_timeouts", "Sockets closed for no pong",
                                     ["kind"], registry=r)
        self.messages_dropped = Counter(_P + "messages_dropped", "Messages dropped",
                                        ["reason"], registry=r)
        self.display_events = Counter(_P + "display_events", "Display requests by outcome",
                                      ["outcome"], registry=r)
        self.superseded_sockets = Counter(_P + "superseded_sockets", "Sockets replaced",
                                          ["kind"], registry=r)
        self.tpa_connection_errors = Counter(_P + "tpa_connection_errors",
                                             "tpa_connection_error sent, by code", ["code"],
                                             registry=r)
        self.webhook_latency = Histogram(_P + "webhook_latency_seconds",
                                         "Webhook attempt latency", ["type"], registry=r)
        # Project extras beyond §13 (bad input accounting).
        self.bad_frames = Counter(_P + "bad_frames", "Rejected or ignored client frames",
                                  ["kind", "reason"], registry=r)
        self.http_bad_requests = Counter(_P + "http_bad_requests", "Rejected HTTP requests",
                                         ["route", "status"], registry=r)
        self.auth_failures = Counter(_P + "auth_failures", "Glasses upgrades rejected",
                                     ["reason"], registry=r)
        self.tcp_drops = Counter(_P + "tcp_drops", "TCP dropped: close handshake timed out",
                                 ["kind"], registry=r)
        # Known upstream defects (§12): which are in effect, and D9's leftover sets.
        self.defects = Gauge(_P + "defect_enabled", "1 for each known upstream defect in effect",
                             ["name", "id"], registry=r)
        self.leaked_subscriptions = Gauge(
            _P + "leaked_subscriptions",
            "Subscription sets left behind by disposed sessions (D9)", registry=r,
        )
        for reason in ("grace", "glasses_offline", "no_socket"):
            self.messages_dropped.labels(reason=reason)

    def render(self) -> bytes:
        return generate_latest(self.registry)
