"""Client for the Toxiproxy HTTP API (spec/TOXIPROXY.md §4.2), real server or embedded one.

Built on ``toxiproxy-python`` 0.1.1: its ``APIConsumer`` is subclassed once per client and
bound to that client's URL (see :mod:`.transport`), adding what the library lacks —
timeouts, PATCH, https, typed results, errors for every status, toxic updates, real
``/populate``, extension toxics, and fault context managers that always clean up.

Quick use::

    from wsquake.faults.client import Latency, toxiproxy_backend

    with toxiproxy_backend() as client:          # honours TOXIPROXY_URL
        with client.temp_proxy("db", "127.0.0.1:5432") as proxy:
            host, port = client.connect_address(proxy)
            with client.toxic(proxy, Latency(200)):
                ...                               # connections via host:port are slowed
"""

from wsquake.faults.client.aio import AsyncToxiproxyClient
from wsquake.faults.client.backend import (
    ENV_VAR,
    BackendKind,
    BackendSetting,
    parse_toxiproxy_url,
    resolve_toxiproxy_url,
    toxiproxy_backend,
)
from wsquake.faults.client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    PopulateError,
    ServerError,
    ToxiproxyClientError,
    ToxiproxyError,
    ToxiproxyTimeout,
    ToxiproxyUnavailable,
    UnexpectedResponse,
    UnsupportedByBackend,
)
from wsquake.faults.client.models import ProxyInfo, Stream, ToxicInfo
from wsquake.faults.client.specs import (
    Bandwidth,
    DropChunk,
    Latency,
    LimitData,
    Noop,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    ToxicSpec,
    WsClose,
    WsDelay,
    WsDrop,
    WsDropType,
    WsKind,
)
from wsquake.faults.client.sync import EMBEDDED_HEADER, ToxiproxyClient

__all__ = [
    "EMBEDDED_HEADER",
    "ENV_VAR",
    "AsyncToxiproxyClient",
    "BackendKind",
    "BackendSetting",
    "BadRequest",
    "Bandwidth",
    "Conflict",
    "DropChunk",
    "Forbidden",
    "InvalidArgument",
    "Latency",
    "LimitData",
    "Noop",
    "NotFound",
    "PopulateError",
    "ProxyInfo",
    "ResetPeer",
    "ServerError",
    "Slicer",
    "SlowClose",
    "Stream",
    "Timeout",
    "ToxicInfo",
    "ToxicSpec",
    "ToxiproxyClient",
    "ToxiproxyClientError",
    "ToxiproxyError",
    "ToxiproxyTimeout",
    "ToxiproxyUnavailable",
    "UnexpectedResponse",
    "UnsupportedByBackend",
    "WsClose",
    "WsDelay",
    "WsDrop",
    "WsDropType",
    "WsKind",
    "parse_toxiproxy_url",
    "resolve_toxiproxy_url",
    "toxiproxy_backend",
]
