"""Webhook delivery to app servers (PROTOCOL.md §7.1, §7.2), over httpx.

The start webhook is tried ``webhook_attempts`` times, each bounded by
``webhook_timeout_s``, waiting ``webhook_backoff_s * 2**(k-1)`` before attempt k+1. The stop
webhook is one attempt bounded by ``stop_webhook_timeout_s`` (0 = unbounded, D4).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from wsquake.cloud.exceptions import (
    WebhookError,
    WebhookRejected,
    WebhookTimeout,
    WebhookTransportError,
)
from wsquake.cloud.metrics import CloudMetrics
from wsquake.cloud.settings import Timings

__all__ = ["WebhookClient", "webhook_url"]

logger = logging.getLogger(__name__)


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + "/webhook"


class WebhookClient:
    """An async context manager owning one httpx client."""

    def __init__(
        self,
        timings: Timings,
        metrics: CloudMetrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._timings = timings
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> WebhookClient:
        # Deadlines are asyncio.timeout per attempt (they include waiting for a pooled
        # connection); the pool is large because a fleet start posts many at once.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(None),
            limits=httpx.Limits(max_connections=2000, max_keepalive_connections=200),
            trust_env=False,
            follow_redirects=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def post_once(self, url: str, body: dict[str, Any], *, timeout_s: float) -> None:
        """One attempt; raise a WebhookError subclass on failure. ``timeout_s=0`` = none."""
        assert self._client is not None, "WebhookClient used outside its context"
        kind = str(body.get("type", "unknown"))
        started = self._clock()
        outcome = "success"
        try:
            try:
                async with asyncio.timeout(timeout_s if timeout_s > 0 else None):
                    response = await self._client.post(
                        url,
                        content=json.dumps(body, separators=(",", ":")),
                        headers={"content-type": "application/json"},
                    )
            except TimeoutError as exc:
                raise WebhookTimeout(f"{kind} to {url}: no reply within {timeout_s:.3f}s") from exc
            except httpx.HTTPError as exc:
                raise WebhookTransportError(f"{kind} to {url}: {exc!r}") from exc
            if not 200 <= response.status_code < 300:
                raise WebhookRejected(response.status_code, response.text)
        except WebhookError as exc:
            outcome = exc.outcome
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"  # the start was abandoned (start timeout) or shutdown
            raise
        finally:
            self._metrics.webhook_requests.labels(type=kind, outcome=outcome).inc()
            self._metrics.webhook_latency.labels(type=kind).observe(self._clock() - started)

    async def send_start(self, url: str, body: dict[str, Any]) -> None:
        """The start webhook with retries and backoff; raises the last attempt's error."""
        attempts = self._timings.webhook_attempts
        last: WebhookError | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                delay = self._timings.scaled("webhook_backoff_s") * 2 ** (attempt - 2)
                await self._sleep(delay)
            try:
                await self.post_once(url, body, timeout_s=self._timings.scaled("webhook_timeout_s"))
                return
            except WebhookError as exc:
                logger.info("webhook attempt %d/%d failed: %s", attempt, attempts, exc)
                last = exc
        assert last is not None
        raise last

    async def send_stop(
        self, url: str, body: dict[str, Any], *, timeout_s: float | None = None
    ) -> bool:
        """The stop webhook: one attempt bounded by ``timeout_s`` (default
        ``stop_webhook_timeout_s``; 0 = unbounded, D4); failures are logged, never raised."""
        if timeout_s is None:
            timeout_s = self._timings.scaled("stop_webhook_timeout_s")
        try:
            await self.post_once(url, body, timeout_s=timeout_s)
        except WebhookError as exc:
            logger.info("stop webhook failed: %s", exc)
            return False
        return True
