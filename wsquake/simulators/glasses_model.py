"""Plain types of the glasses simulator: states, settings and the shared live counters."""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass, field

from wsquake.cloud.auth import mint_token
from wsquake.protocol import AndroidPolicy, CustomPolicy, IosPolicy
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.glasses_streams import StreamRates

__all__ = ["GlassesPolicy", "GlassesSettings", "GlassesState", "GlassesStats", "Initiator"]

GlassesPolicy = AndroidPolicy | IosPolicy | CustomPolicy


class GlassesState(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    OPEN = "open"  # socket open, no connection_ack yet
    CONNECTED = "connected"  # socket open and acked
    WAITING = "waiting"  # reconnect delay running
    STOPPED = "stopped"
    GAVE_UP = "gave_up"


class Initiator(enum.StrEnum):
    """Who ended a socket: we did, the peer sent a close frame, or the link broke."""

    SELF = "self"
    PEER = "peer"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class GlassesSettings:
    """One glasses client. ``policy`` is used as given (scale it before)."""

    cloud_url: str
    email: str
    jwt_secret: str | None = None
    token: str | None = None
    policy: GlassesPolicy = field(default_factory=AndroidPolicy)
    apps: tuple[str, ...] = ()
    rates: StreamRates = field(default_factory=StreamRates)
    probe_interval_s: float = 0.0
    open_timeout_s: float = 10.0
    close_timeout_s: float = 2.0
    max_message_bytes: int = 16 * 2**20

    def __post_init__(self) -> None:
        if not self.cloud_url.startswith(("ws://", "wss://")):
            raise SimulatorConfigError(
                "cloud_url", f"expected a ws:// or wss:// URL, got {self.cloud_url!r}"
            )
        if "@" not in self.email:
            raise SimulatorConfigError("email", f"expected an email address, got {self.email!r}")
        if not self.token and not self.jwt_secret:
            raise SimulatorConfigError("jwt_secret", "a jwt_secret or a token is required")
        for key in ("probe_interval_s", "open_timeout_s", "close_timeout_s"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise SimulatorConfigError(key, f"expected a number >= 0, got {value!r}")
        if self.open_timeout_s <= 0:
            raise SimulatorConfigError("open_timeout_s", "must be > 0")
        if not isinstance(self.policy, AndroidPolicy | IosPolicy | CustomPolicy):
            raise SimulatorConfigError(
                "policy", f"expected an android, ios or custom policy, got {self.policy!r}"
            )

    @property
    def core_token(self) -> str:
        if self.token:
            return self.token
        assert self.jwt_secret is not None
        return mint_token(self.jwt_secret, self.email)


@dataclass(slots=True)
class GlassesStats:
    """Live counters, shareable by every client of a fleet (status line only; the
    history is the record)."""

    states: collections.Counter[GlassesState] = field(default_factory=collections.Counter)
    connects: int = 0
    sent: int = 0
    send_failed: int = 0
    probes: int = 0
    echoes: int = 0
    rtt_ms: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=4096)
    )

    def percentile(self, q: float) -> float | None:
        """The q-quantile (0..1) of the recent probe round trips, ms."""
        if not self.rtt_ms:
            return None
        ordered = sorted(self.rtt_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
