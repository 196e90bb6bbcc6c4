"""Webhook delivery to app servers (PROTOCOL.md §7.1, §7.2), one connection per POST
(``http_post``; httpx's pool was quadratic in the webhooks in flight).

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

from wsquake.cloud.exceptions import (
    WebhookError,
    WebhookRejected,
    WebhookTimeout,
    WebhookTransportError,
)
from wsquake.cloud.http_post import HttpPostError, post
from wsquake.cloud.metrics import CloudMetrics
from wsquake.cloud.settings import Timings

__all__ = ["WebhookClient", "webhook_url"]

logger = logging.getLogger(__name__)

#: Webhook connections open at once (each is a file descriptor); more wait their turn
#: inside their attempt's deadline.
MAX_CONNECTIONS = 2000


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + "/webhook"


class WebhookClient:
    """An async context manager bounding the webhook connections open at once."""

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
        self._slots: asyncio.Semaphore | None = None

    async def __aenter__(self) -> WebhookClient:
        # Deadlines are asyncio.timeout per attempt (they include waiting for a slot).
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._slots = None  # each POST closes its own connection

    async def post_once(self, url: str, body: dict[str, Any], *, timeout_s: float) -> None:
        """One attempt; raise a WebhookError subclass on failure. ``timeout_s=0`` = none."""
        slots = self._slots
        assert slots is not None, "WebhookClient used outside its context"
        kind = str(body.get("type", "unknown"))
        started = self._clock()
        outcome = "success"
        try:
            try:
                async with asyncio.timeout(timeout_s if timeout_s > 0 else None):
                    async with slots:
                        response = await post(
                            url, json.dumps(body, separators=(",", ":")).encode()
                        )
            except TimeoutError as exc:
                raise WebhookTimeout(f"{kind} to {url}: no reply within {timeout_s:.3f}s") from exc
            except HttpPostError as exc:
                raise WebhookTransportError(f"{kind} to {url}: {exc!r}") from exc
            if not 200 <= response.status < 300:
                raise WebhookRejected(response.status, response.text)
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
