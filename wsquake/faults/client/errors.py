"""Errors raised by the Toxiproxy client wrapper.

Tree (the faults client's part of the project tree)::

    ToxiproxyClientError                  base of everything the wrapper raises
    ├── InvalidArgument (ValueError)      refused before sending: bad builder field, bad URL,
    │                                     empty update
    ├── UnsupportedByBackend              extension toxic sent to a non-embedded server
    ├── ToxiproxyUnavailable              no HTTP answer: connection refused/reset (the
    │   └── ToxiproxyTimeout              network broke it) or timed out (the phase is in
    │                                     the message)
    ├── UnexpectedResponse                2xx answer whose body is not what the API promises
    └── ToxiproxyError(status, message, method, path)   the server answered non-2xx
        ├── BadRequest        400
        ├── Forbidden         403
        ├── NotFound          404
        ├── Conflict          409
        ├── ServerError       5xx
        └── PopulateError     ``/populate`` failed part-way; ``.proxies`` = what was applied
                              (raised as a subclass of the status class too, e.g. a 400 is
                              both ``PopulateError`` and ``BadRequest``)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsquake.faults.client.models import ProxyInfo

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InvalidArgument",
    "NotFound",
    "PopulateError",
    "ServerError",
    "ToxiproxyClientError",
    "ToxiproxyError",
    "ToxiproxyTimeout",
    "ToxiproxyUnavailable",
    "UnexpectedResponse",
    "UnsupportedByBackend",
    "error_for_status",
    "populate_error",
]


class ToxiproxyClientError(Exception):
    """Base class of every error raised by :mod:`wsquake.faults.client`."""


class InvalidArgument(ToxiproxyClientError, ValueError):
    """An argument was refused before anything was sent; the message names the field."""


class UnsupportedByBackend(ToxiproxyClientError):
    """The request needs the embedded server (an ``x-`` toxic) but the backend is another."""

    def __init__(self, feature: str, url: str) -> None:
        super().__init__(
            f"{feature} needs the embedded wsquake proxy, but {url} is not one "
            "(no X-Toxiproxy-Embedded header on /version)"
        )
        self.feature = feature
        self.url = url


class ToxiproxyUnavailable(ToxiproxyClientError):
    """The API did not answer: connection refused or broken."""

    def __init__(self, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {message}")
        self.method = method
        self.path = path


class ToxiproxyTimeout(ToxiproxyUnavailable):
    """The API did not answer within the request timeout."""


class UnexpectedResponse(ToxiproxyClientError):
    """A success response whose body does not have the documented shape."""


class ToxiproxyError(ToxiproxyClientError):
    """The server answered with a non-2xx status."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path


class BadRequest(ToxiproxyError):
    """400: malformed body, missing field, invalid stream/type/attribute."""


class Forbidden(ToxiproxyError):
    """403: e.g. a browser ``User-Agent``."""


class NotFound(ToxiproxyError):
    """404: ``proxy not found`` / ``toxic not found`` / unknown route."""


class Conflict(ToxiproxyError):
    """409: ``proxy already exists`` / ``toxic already exists``."""


class ServerError(ToxiproxyError):
    """5xx: bind failure, unresolvable listen address, timeouts inside the server."""


class PopulateError(ToxiproxyError):
    """``POST /populate`` failed; ``proxies`` holds the entries applied before the failure."""

    def __init__(
        self,
        status: int,
        message: str,
        method: str,
        path: str,
        proxies: tuple[ProxyInfo, ...] = (),
    ) -> None:
        super().__init__(status, message, method, path)
        self.proxies = proxies


_BY_STATUS: dict[int, type[ToxiproxyError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_for_status(status: int, message: str, method: str, path: str) -> ToxiproxyError:
    """The most specific :class:`ToxiproxyError` for ``status``."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ToxiproxyError
    return cls(status, message, method, path)


def _populate_class(base: type[ToxiproxyError]) -> type[PopulateError]:
    return type(f"Populate{base.__name__}", (PopulateError, base), {"__module__": __name__})


_POPULATE_BY_STATUS: dict[type[ToxiproxyError], type[PopulateError]] = {
    cls: _populate_class(cls) for cls in (BadRequest, Forbidden, NotFound, Conflict, ServerError)
}


def populate_error(
    status: int, message: str, method: str, path: str, proxies: tuple[ProxyInfo, ...]
) -> PopulateError:
    """A :class:`PopulateError` that is also the status class (``BadRequest``, ...)."""
    status_cls = type(error_for_status(status, message, method, path))
    cls = _POPULATE_BY_STATUS.get(status_cls, PopulateError)
    return cls(status, message, method, path, proxies)
