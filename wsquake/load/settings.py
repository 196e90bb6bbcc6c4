"""Settings of the Locust glasses users, shared by the locustfile (Locust's own parser,
with ``WSQUAKE_LOAD_*`` environment variables) and ``wsquake load`` (which passes them
through to Locust unchanged)."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from wsquake.load.exceptions import LoadConfigError
from wsquake.protocol import AndroidPolicy, IosPolicy
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.glasses_model import GlassesSettings
from wsquake.simulators.glasses_streams import StreamRates

__all__ = ["POLICIES", "LoadUserSettings"]

POLICIES = ("android", "ios")

# (flag, attribute, type, default, help)
_ARGS: tuple[tuple[str, str, type, Any, str], ...] = (
    ("--glasses-jwt-secret", "glasses_jwt_secret", str, "change-me",
     "HS256 secret the glasses' core tokens are minted with (the cloud's jwt_secret)"),
    ("--glasses-apps", "glasses_apps", str, "",
     "comma-separated packages each user starts after its first ack"),
    ("--glasses-rates", "glasses_rates", str, "",
     "sensor streams, e.g. head_position=1,VAD=0.2 (events/s per user)"),
    ("--glasses-probe-interval", "glasses_probe_interval", float, 5.0,
     "seconds between echo probes per user (0 = none)"),
    ("--glasses-probe-timeout", "glasses_probe_timeout", float, 10.0,
     "an echo not back after this many seconds is an echo failure"),
    ("--glasses-policy", "glasses_policy", str, "android", "reconnect policy: android | ios"),
    ("--glasses-time-scale", "glasses_time_scale", float, 1.0,
     "multiplies the policy's init delay and backoff"),
    ("--glasses-seed", "glasses_seed", int, 0, "seed of emails, jitter and sensor values"),
    ("--glasses-email-domain", "glasses_email_domain", str, "example.com",
     "domain of the users' emails (load<seed>w<worker>u<n>@domain)"),
)


def _env(attribute: str) -> str:
    return "WSQUAKE_LOAD_" + attribute.removeprefix("glasses_").upper()


@dataclass(frozen=True, slots=True)
class LoadUserSettings:
    """What every Locust glasses user of one run shares."""

    cloud_url: str
    jwt_secret: str = "change-me"
    apps: tuple[str, ...] = ()
    rates: StreamRates = StreamRates()
    probe_interval_s: float = 5.0
    probe_timeout_s: float = 10.0
    policy: str = "android"
    time_scale: float = 1.0
    seed: int = 0
    email_domain: str = "example.com"

    def __post_init__(self) -> None:
        if not self.cloud_url.startswith(("ws://", "wss://")):
            raise LoadConfigError(
                "host", f"expected the cloud's ws:// or wss:// glasses URL, got {self.cloud_url!r}"
            )
        if self.policy not in POLICIES:
            raise LoadConfigError("glasses_policy", f"expected android or ios, got {self.policy!r}")
        for key in ("probe_interval_s", "time_scale"):
            value = getattr(self, key)
            if not math.isfinite(value) or value < 0:
                raise LoadConfigError(key, f"expected a number >= 0, got {value!r}")
        if not math.isfinite(self.probe_timeout_s) or self.probe_timeout_s <= 0:
            raise LoadConfigError(
                "probe_timeout_s", f"expected a number > 0, got {self.probe_timeout_s!r}"
            )
        if self.time_scale == 0:
            raise LoadConfigError("time_scale", "must be > 0")
        if not self.jwt_secret:
            raise LoadConfigError("jwt_secret", "must not be empty")

    # -- command lines -------------------------------------------------------------

    @staticmethod
    def add_locust_arguments(parser: Any) -> None:
        """Register the flags on Locust's (configargparse) parser, with env vars."""
        for flag, attribute, kind, default, text in _ARGS:
            parser.add_argument(
                flag, dest=attribute, type=kind, default=default, env_var=_env(attribute),
                help=f"{text} (env {_env(attribute)})",
            )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Register the same flags on a plain argparse parser (``wsquake load``)."""
        for flag, attribute, kind, default, text in _ARGS:
            parser.add_argument(flag, dest=attribute, type=kind, default=None,
                                help=f"{text} (default {default!r})")

    @staticmethod
    def passthrough(args: argparse.Namespace) -> list[str]:
        """The flags given to ``wsquake load``, as Locust arguments."""
        argv: list[str] = []
        for flag, attribute, _kind, _default, _text in _ARGS:
            value = getattr(args, attribute, None)
            if value is not None:
                argv += [flag, str(value)]
        return argv

    @classmethod
    def from_options(cls, options: Any, host: str | None) -> LoadUserSettings:
        """From Locust's parsed options and host; errors name the flag's key."""
        if not host:
            raise LoadConfigError("host", "give the cloud's glasses URL with --host ws://…")
        apps = tuple(p.strip() for p in str(options.glasses_apps or "").split(",") if p.strip())
        try:
            rates = StreamRates.parse(str(options.glasses_rates or ""))
        except SimulatorConfigError as exc:
            raise LoadConfigError(f"glasses_{exc.key}", exc.problem) from exc
        return cls(
            cloud_url=host,
            jwt_secret=str(options.glasses_jwt_secret),
            apps=apps,
            rates=rates,
            probe_interval_s=float(options.glasses_probe_interval),
            probe_timeout_s=float(options.glasses_probe_timeout),
            policy=str(options.glasses_policy),
            time_scale=float(options.glasses_time_scale),
            seed=int(options.glasses_seed),
            email_domain=str(options.glasses_email_domain),
        )

    # -- users -----------------------------------------------------------------------

    def email(self, worker: int, number: int) -> str:
        return f"load{self.seed}w{worker}u{number:05d}@{self.email_domain}"

    def glasses(self, worker: int, number: int) -> GlassesSettings:
        """Settings of user ``number`` of ``worker`` (probes are the Locust task's job)."""
        policy = AndroidPolicy() if self.policy == "android" else IosPolicy()
        try:
            return GlassesSettings(
                cloud_url=self.cloud_url,
                email=self.email(worker, number),
                jwt_secret=self.jwt_secret,
                policy=policy.scaled(self.time_scale),
                apps=self.apps,
                rates=self.rates,
                probe_interval_s=0.0,
            )
        except SimulatorConfigError as exc:
            raise LoadConfigError(exc.key, exc.problem) from exc
