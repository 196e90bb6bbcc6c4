"""Backend selection (spec §0): one ``TOXIPROXY_URL`` setting picks the server.

| ``TOXIPROXY_URL``             | :class:`BackendSetting`                                   |
| ----------------------------- | --------------------------------------------------------- |
| unset, empty, ``embedded``    | ``EMBEDDED`` on ``127.0.0.1:0`` (started in a thread)     |
| ``embedded://HOST:PORT``      | ``EMBEDDED`` on that fixed address                        |
| ``http://…``, ``https://…``   | ``REMOTE`` at that URL (real Toxiproxy or another server) |
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wsquake.faults.client.errors import InvalidArgument, ToxiproxyUnavailable

if TYPE_CHECKING:
    from wsquake.faults.client.sync import ToxiproxyClient

__all__ = [
    "ENV_VAR",
    "parse_toxiproxy_url",
    "BackendKind",
    "BackendSetting",
    "resolve_toxiproxy_url",
    "toxiproxy_backend",
    "wait_ready",
]

logger = logging.getLogger(__name__)

ENV_VAR = "TOXIPROXY_URL"


class BackendKind(enum.StrEnum):
    EMBEDDED = "embedded"
    REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class BackendSetting:
    """A resolved ``TOXIPROXY_URL``: start an embedded server at ``host:port``, or use ``url``."""

    kind: BackendKind
    host: str = "127.0.0.1"
    port: int = 0
    url: str | None = None


def _host_port(value: str, where: str) -> tuple[str, int]:
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidArgument(f"{where}: bad port in {value!r}: {exc}") from None
    if not parts.hostname:
        raise InvalidArgument(f"{where}: no host in {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidArgument(f"{where}: only scheme://HOST:PORT is allowed, got {value!r}")
    return parts.hostname, port if port is not None else -1


def parse_toxiproxy_url(value: str | None, *, where: str = ENV_VAR) -> BackendSetting:
    """Resolve one setting value (``None`` = unset) according to the §0 table."""
    text = (value or "").strip()
    if text == "" or text.lower() == "embedded":
        return BackendSetting(BackendKind.EMBEDDED)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "embedded":
        host, port = _host_port(text, where)
        if port < 0:
            raise InvalidArgument(f"{where}: embedded://HOST:PORT needs a port, got {text!r}")
        return BackendSetting(BackendKind.EMBEDDED, host=host, port=port)
    if scheme in ("http", "https"):
        host, port = _host_port(text, where)
        return BackendSetting(BackendKind.REMOTE, host=host, port=port, url=text.rstrip("/"))
    raise InvalidArgument(
        f"{where} must be empty, 'embedded', embedded://HOST:PORT, http://… or https://…, "
        f"got {value!r}"
    )


def resolve_toxiproxy_url(env: Mapping[str, str] | None = None) -> BackendSetting:
    """Read ``TOXIPROXY_URL`` from ``env`` (default :data:`os.environ`)."""
    env = os.environ if env is None else env
    return parse_toxiproxy_url(env.get(ENV_VAR))


@contextlib.contextmanager
def toxiproxy_backend(
    url_setting: str | BackendSetting | None = None,
    *,
    timeout: float = 5.0,
    seed: int | None = None,
    ready_timeout: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ToxiproxyClient]:
    """Yield a ready client; starts (and finally stops) an embedded server when selected.

    ``url_setting`` is a ``TOXIPROXY_URL`` value (``None``: read the environment) or an
    already resolved :class:`BackendSetting`. The embedded server runs on its own event loop
    in a daemon thread, so the blocking client can be used from any thread, including one
    that runs another event loop. A remote server is polled on ``GET /version`` until it
    answers or ``ready_timeout`` passes (it may still be starting, e.g. under compose).
    """
    from wsquake.faults.client.sync import ToxiproxyClient

    if isinstance(url_setting, BackendSetting):
        setting = url_setting
    elif url_setting is None:
        setting = resolve_toxiproxy_url()
    else:
        setting = parse_toxiproxy_url(url_setting)
    if setting.kind is BackendKind.REMOTE:
        assert setting.url is not None
        client = ToxiproxyClient(setting.url, timeout=timeout)
        wait_ready(client, ready_timeout, clock=clock)
        yield client
        return
    from wsquake.faults.proxy import EmbeddedToxiproxy

    server = EmbeddedToxiproxy(host=setting.host, port=setting.port, seed=seed)
    with server.in_thread() as running:
        logger.info("embedded toxiproxy listening at %s", running.url)
        yield ToxiproxyClient(running.url, timeout=timeout)


def wait_ready(
    client: ToxiproxyClient,
    ready_timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    interval: float = 0.1,
) -> str:
    """Poll ``GET /version`` until the server answers; its version, or the last error."""
    deadline = clock() + ready_timeout
    while True:
        try:
            return client.version()
        except ToxiproxyUnavailable:
            if clock() >= deadline:
                raise
            logger.debug("waiting for %s to answer /version", client.url)
            time.sleep(interval)
