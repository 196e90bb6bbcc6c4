"""Errors of the embedded Toxiproxy-compatible server.

::

    ProxyServerError                 base of everything the embedded server raises
    ├── ApiError(status, message)    an HTTP API answer other than success
    │   ├── BadRequest      400      bad body, missing field, bad stream/type/attributes
    │   ├── NotFound        404      proxy not found / toxic not found
    │   ├── Conflict        409      proxy already exists / toxic already exists
    │   └── ServerError     500      bind failure, unresolvable listen, failed restart
    └── ServerStartError             the API listener itself could not start

The API turns an :class:`ApiError` into Toxiproxy's body ``{"error": …, "status": …}``.
"""

from __future__ import annotations


class ProxyServerError(Exception):
    """Base class of the embedded server's errors."""


class ApiError(ProxyServerError):
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class ServerError(ApiError):
    status = 500


class ServerStartError(ProxyServerError):
    """The HTTP API could not bind or start."""


def bad_body(detail: str) -> BadRequest:
    return BadRequest(f"bad request body: {detail}")
