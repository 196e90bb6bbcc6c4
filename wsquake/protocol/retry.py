"""Reconnect bookkeeping as small sans-I/O state machines over the §10 policies.

A simulator feeds events (socket closed, acked, opened) and gets back a :class:`Retry`
decision: reconnect after ``delay_s``, stop, or give up. It arms the timer itself; these
classes never read a clock and take their randomness from the injected ``rng``.

- :class:`SdkRetry` — the SDK ``AppSession`` (§10.1): the close decides (terminated, stop,
  reconnect); attempts are counted from 1 and reset on ``tpa_connection_ack`` (and on
  ``app_stopped``, as the SDK does); past ``max_attempts`` it gives up with the SDK's
  internal close 4000 ``"Maximum reconnection attempts exceeded"``. Only a close of the
  current attempt advances the sequence, so a hung handshake stalls it (D14).
- :class:`GlassesRetry` — the Android/iOS clients (§10.2, §10.3): every close or failed
  handshake reconnects, with the policy's delay for the current count of consecutive
  failures, which resets on open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from wsquake.protocol.codes import CloseCode, CloseReason
from wsquake.protocol.reconnect import (
    AndroidPolicy,
    CloseDecision,
    CustomPolicy,
    IosPolicy,
    SdkAppPolicy,
)

__all__ = ["GlassesRetry", "Retry", "RetryAction", "SdkRetry"]


class RetryAction(StrEnum):
    RECONNECT = "reconnect"
    STOP = "stop"
    """The close said not to reconnect (or, for the SDK, the session was terminated)."""
    GIVE_UP = "give_up"
    """Attempts ran out: a permanent disconnect."""


@dataclass(frozen=True, slots=True)
class Retry:
    """One decision. ``attempt`` is the number of the attempt about to be made (1-based)
    when reconnecting; ``close_decision`` is the SDK's reading of the close, if any."""

    action: RetryAction
    delay_s: float | None = None
    attempt: int | None = None
    close_decision: CloseDecision | None = None
    code: int | None = None
    reason: str | None = None

    @property
    def terminated(self) -> bool:
        """The SDK saw ``"User session ended"``: ``AppServer`` calls ``onStop``."""
        return self.close_decision is CloseDecision.TERMINATED


@dataclass(slots=True)
class SdkRetry:
    """Mutable retry state of one SDK ``AppSession``."""

    policy: SdkAppPolicy = field(default_factory=SdkAppPolicy)
    attempts: int = 0
    terminated: bool = False
    """Set by ``"User session ended"`` and never cleared: the SDK's session is over."""

    def on_ack(self) -> None:
        """``tpa_connection_ack`` received: the counter resets."""
        self.attempts = 0

    def on_app_stopped(self) -> None:
        """``app_stopped`` received: the SDK resets its counter here too."""
        self.attempts = 0

    def on_close(self, code: int | None, reason: str | None = "") -> Retry:
        """The current socket closed (or a reconnect attempt failed to connect)."""
        decision = self.policy.close_decision(code, reason)
        if decision is CloseDecision.TERMINATED:
            self.terminated = True
        elif self.terminated:
            decision = CloseDecision.TERMINATED
        if decision is not CloseDecision.RECONNECT:
            return Retry(RetryAction.STOP, close_decision=decision, code=code, reason=reason)
        attempt = self.attempts + 1
        delay = self.policy.delay(attempt)
        if delay is None:
            return Retry(
                RetryAction.GIVE_UP,
                close_decision=decision,
                code=int(CloseCode.MAX_RECONNECTS),
                reason=CloseReason.MAX_RECONNECTS.value,
            )
        self.attempts = attempt
        return Retry(
            RetryAction.RECONNECT,
            delay_s=delay,
            attempt=attempt,
            close_decision=decision,
            code=code,
            reason=reason,
        )


@dataclass(slots=True)
class GlassesRetry:
    """Mutable retry state of one glasses client (Android, iOS or a custom policy)."""

    policy: AndroidPolicy | IosPolicy | CustomPolicy
    rng: random.Random
    failures: int = 0

    def on_open(self) -> None:
        """The socket opened: consecutive failures reset."""
        self.failures = 0

    def on_close(self, code: int | None = None, reason: str | None = None) -> Retry:
        """A close, a transport error or a failed handshake (e.g. HTTP 401): back off."""
        delay = self.policy.delay(self.failures, self.rng)
        if delay is None:
            return Retry(RetryAction.GIVE_UP, code=code, reason=reason)
        self.failures += 1
        return Retry(
            RetryAction.RECONNECT, delay_s=delay, attempt=self.failures, code=code, reason=reason
        )
