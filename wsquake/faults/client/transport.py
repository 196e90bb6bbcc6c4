"""HTTP transport of the wrapper: a ``toxiproxy-python`` ``APIConsumer`` bound to one URL.

``toxiproxy-python`` 0.1.1 keeps the server's host and port as *class attributes* of
``toxiproxy.api.APIConsumer`` (one server per process, http only, no PATCH, no status
check beyond 400/404/409). Instead of mutating that global state, every client gets its
own ``APIConsumer`` subclass created by :func:`bind_consumer`, with ``host``/``port`` set on
the subclass, so any number of clients (and servers) coexist in one process and the
library's own ``Toxiproxy``/``Proxy`` objects keep using the global class untouched.

The subclass keeps the library's calling convention (class methods ``get``/``post``/
``delete``, extra options such as ``timeout`` forwarded to ``requests``) and adds what the
library lacks: ``patch``, ``https``, a mandatory timeout and a :class:`requests.Response`
returned for *every* status, so :mod:`wsquake.faults.client.sync` maps all non-2xx
statuses itself.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import requests
from toxiproxy.api import APIConsumer

from wsquake.faults.client.errors import InvalidArgument

__all__ = ["BoundConsumer", "bind_consumer"]

Timeout = float | tuple[float, float]


class BoundConsumer(APIConsumer):  # type: ignore[misc]  # untyped library base
    """An ``APIConsumer`` whose verbs go to :attr:`base_url` (set by :func:`bind_consumer`)."""

    base_url: ClassVar[str] = "http://127.0.0.1:8474"
    default_timeout: ClassVar[Timeout] = 5.0

    @classmethod
    def request(cls, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", cls.default_timeout)
        return requests.request(method, cls.base_url + url, **kwargs)

    @classmethod
    def get(cls, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return cls.request("GET", url, params=params, **kwargs)

    @classmethod
    def delete(cls, url: str, **kwargs: Any) -> requests.Response:
        return cls.request("DELETE", url, **kwargs)

    @classmethod
    def post(cls, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        return cls.request("POST", url, data=data, json=json, **kwargs)

    @classmethod
    def patch(
        cls, url: str, data: Any = None, json: Any = None, **kwargs: Any
    ) -> requests.Response:
        return cls.request("PATCH", url, data=data, json=json, **kwargs)


def bind_consumer(base_url: str, timeout: Timeout) -> type[BoundConsumer]:
    """A fresh :class:`BoundConsumer` subclass for ``base_url`` (``http://`` or ``https://``)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"Toxiproxy URL must be http(s)://HOST[:PORT], got {base_url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidArgument(f"Toxiproxy URL has a bad port: {base_url!r} ({exc})") from None
    namespace = {
        "host": parts.hostname,
        "port": port,
        "base_url": base_url.rstrip("/"),
        "default_timeout": timeout,
    }
    return cast(type[BoundConsumer], type(f"APIConsumer[{base_url}]", (BoundConsumer,), namespace))
