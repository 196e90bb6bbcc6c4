"""Errors of the reference cloud.

::

    CloudError
    ├── AuthError                  glasses upgrade rejected (HTTP 401)
    │   ├── MissingToken           "No core token provided"
    │   └── InvalidToken           "Invalid core token" (forged, expired, alg none, no email)
    ├── AppInitError               tpa_connection_init refused (code + close 1008)
    ├── WebhookError               one webhook attempt failed
    │   ├── WebhookTimeout         no reply within the deadline
    │   ├── WebhookRejected        non-2xx reply
    │   └── WebhookTransportError  connect/reset/protocol failure
    └── RegistrationError          bad /api/tpa-server request (HTTP status + field)

Settings errors are :class:`wsquake.config.ConfigError`; bad frames are the protocol
core's ``ParseError`` family; illegal state transitions are
``wsquake.protocol.exceptions.IllegalTransition``.
"""

from __future__ import annotations


class CloudError(Exception):
    """Base of every reference-cloud error."""


class AuthError(CloudError):
    message = "Invalid core token"


class MissingToken(AuthError):
    message = "No core token provided"


class InvalidToken(AuthError):
    message = "Invalid core token"


class AppInitError(CloudError):
    """A ``tpa_connection_init`` failed check ``code``; ``reason`` is the close reason."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else message


class WebhookError(CloudError):
    outcome = "error"


class WebhookTimeout(WebhookError):
    outcome = "timeout"


class WebhookRejected(WebhookError):
    outcome = "rejected"

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


class WebhookTransportError(WebhookError):
    outcome = "transport_error"


class RegistrationError(CloudError):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
