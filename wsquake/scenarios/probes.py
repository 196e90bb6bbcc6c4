"""Cloud probes: ``GET /api/sessions`` and ``/metrics`` into ``cloud_probe`` history events.

The runner probes the cloud directly (never through a proxy) every probe interval, and
once more after the quiesce phase (``final=True``: the leak audit reads that one). Each
probe records **one** ``cloud_probe`` event:

- ``ok`` with summary counts — ``sessions`` (user sessions), ``apps`` (app sessions),
  ``loading`` (apps in ``loading``), ``running``, ``glasses_connections``,
  ``app_connections``, ``app_unbound`` — plus ``body`` (the full ``/api/sessions`` JSON,
  compact), a few ``/metrics`` values (``m_<name>``: every unlabelled sample and the sum
  of each labelled family of ``wsquake_cloud_*``, e.g. ``m_app_resurrections_total``),
  ``phase`` and ``final``;
- ``fail`` with ``error`` when the cloud does not answer (e.g. killed, paused, or a
  ``--cloud-url`` cloud without introspection).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from wsquake.history import EventKind, History, Outcome

__all__ = ["CloudProber", "ProbeSnapshot", "summarize_metrics", "summarize_sessions"]

logger = logging.getLogger(__name__)

_PREFIX = "wsquake_cloud_"


def summarize_sessions(body: Any) -> dict[str, int]:
    """Counts from a ``/api/sessions`` body (PROTOCOL.md §13); missing parts count 0."""
    users = body.get("users") if isinstance(body, dict) else None
    users = users if isinstance(users, list) else []
    apps = [a for u in users if isinstance(u, dict) for a in (u.get("apps") or [])
            if isinstance(a, dict)]
    conns = body.get("connections") if isinstance(body, dict) else None
    conns = conns if isinstance(conns, dict) else {}

    def count(key: str) -> int:
        value = conns.get(key)
        return int(value) if isinstance(value, int | float) else 0

    return {
        "sessions": len(users),
        "apps": len(apps),
        "loading": sum(1 for a in apps if a.get("state") == "loading"),
        "running": sum(1 for a in apps if a.get("state") == "running"),
        "glasses_connections": count("glasses"),
        "app_connections": count("app"),
        "app_unbound": count("app_unbound"),
    }


def summarize_metrics(text: str) -> dict[str, float]:
    """``m_<name>`` per ``wsquake_cloud_*`` family: unlabelled value or the sum of samples.

    Histograms contribute their ``_count``/``_sum``; process metrics (``process_*``) are
    kept too (fds and memory, for the leak audit).
    """
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name.startswith(_PREFIX):
                key = name[len(_PREFIX):]
            elif name.startswith("process_"):
                key = name
            else:
                continue
            if name.endswith("_bucket") or name.endswith("_created"):
                continue
            value = float(sample.value)
            if not math.isfinite(value):
                continue
            out[f"m_{key}"] = out.get(f"m_{key}", 0.0) + value
    return out


@dataclass(slots=True)
class ProbeSnapshot:
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class CloudProber:
    """Probes one cloud base URL and records into ``history`` (the runner's)."""

    def __init__(
        self,
        cloud_url: str,
        history: History,
        *,
        timeout_s: float = 2.0,
        phase: Callable[[], str] = lambda: "",
    ) -> None:
        self.cloud_url = cloud_url.rstrip("/")
        self.history = history
        self.timeout_s = timeout_s
        self._phase = phase
        self._client: httpx.AsyncClient | None = None
        self.last: ProbeSnapshot | None = None
        self.probes = 0
        self.failures = 0

    async def __aenter__(self) -> CloudProber:
        self._client = httpx.AsyncClient(trust_env=False, timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def probe(self, *, final: bool = False) -> ProbeSnapshot:
        assert self._client is not None, "use CloudProber as an async context manager"
        self.probes += 1
        phase = self._phase()
        try:
            sessions = await self._client.get(self.cloud_url + "/api/sessions")
            sessions.raise_for_status()
            body = sessions.json()
            metrics_text = ""
            try:
                metrics = await self._client.get(self.cloud_url + "/metrics")
                metrics.raise_for_status()
                metrics_text = metrics.text
            except httpx.HTTPError as exc:
                logger.debug("probe: /metrics failed: %s", exc)
        except (httpx.HTTPError, ValueError) as exc:
            self.failures += 1
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.history.record(
                EventKind.CLOUD_PROBE, Outcome.FAIL, error=error, phase=phase, final=final
            )
            self.last = ProbeSnapshot(False, error=error)
            return self.last
        counts = summarize_sessions(body)
        fields: dict[str, Any] = dict(counts)
        try:
            fields.update(summarize_metrics(metrics_text))
        except ValueError as exc:  # a /metrics body that is not Prometheus text
            logger.debug("probe: unparsable /metrics: %s", exc)
        fields["body"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        self.history.record(EventKind.CLOUD_PROBE, Outcome.OK, phase=phase, final=final,
                            **fields)
        self.last = ProbeSnapshot(True, counts)
        return self.last

    async def run(self, interval_s: float) -> None:
        """Probe every ``interval_s`` until cancelled (the owner's TaskGroup cancels it)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self.probe()
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))
