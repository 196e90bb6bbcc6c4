"""Exceptions raised by the sans-I/O protocol core.

Every error names what was wrong (the message type, the wire field, the offending value)
so the cloud can answer with a specific ``connection_error`` / ``tpa_connection_error``
and the simulators can record a precise failure. The tree::

    ProtocolError
    ├── ParseError                  a text frame could not be decoded into a message
    │   ├── NotJson                 not valid UTF-8 JSON
    │   ├── NotAnObject             JSON, but not an object
    │   ├── MissingType             an object without a string ``type``
    │   ├── UnknownType             a ``type`` this peer/direction may not send
    │   ├── MissingField            a required field is absent
    │   └── InvalidField            a field has the wrong JSON type or value
    ├── InvalidSessionId            an app session id that cannot be resolved (§8)
    ├── InvalidStream               a subscription entry that is not a stream (§6.3)
    ├── UnknownPermission           a permission name outside §6.4
    ├── IllegalTransition           a state machine move not in §9.2 / §9.3
    └── PolicyError                 a reconnect policy that cannot be built (§10)
        ├── UnknownPolicy           no policy of that name
        └── InvalidPolicy           a policy setting out of range or of the wrong type

All parse errors carry ``message_type`` (``None`` when it is not known yet), so a
receiver can still log which message was bad.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "IllegalTransition",
    "InvalidField",
    "InvalidPolicy",
    "InvalidSessionId",
    "InvalidStream",
    "MissingField",
    "MissingType",
    "NotAnObject",
    "NotJson",
    "ParseError",
    "PolicyError",
    "ProtocolError",
    "UnknownPermission",
    "UnknownPolicy",
    "UnknownType",
]


def _describe(value: Any) -> str:
    """A short description of a JSON value for error messages: type and a clipped repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = "null" if value is None else type(value).__name__
    return f"{kind} {text}" if value is not None else kind


class ProtocolError(Exception):
    """Base class of every error raised by ``wsquake.protocol``."""


class ParseError(ProtocolError):
    """A text frame could not be decoded into a typed message."""

    message_type: str | None = None


class NotJson(ParseError):
    """The frame is not valid UTF-8 JSON."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"frame is not valid JSON: {detail}")


class NotAnObject(ParseError):
    """The frame is JSON but not an object."""

    def __init__(self, got: Any) -> None:
        self.got = got
        super().__init__(f"frame must be a JSON object, got {_describe(got)}")


class MissingType(ParseError):
    """The object has no ``type`` string."""

    def __init__(self, got: Any = None) -> None:
        self.got = got
        if got is None:
            super().__init__("message has no 'type' field")
        else:
            super().__init__(f"message field 'type' must be a string, got {_describe(got)}")


class UnknownType(ParseError):
    """The ``type`` is not one this direction carries."""

    def __init__(self, message_type: str, direction: str | None = None) -> None:
        self.message_type = message_type
        self.direction = direction
        where = f" from {direction}" if direction else ""
        super().__init__(f"unknown message type {message_type!r}{where}")


class MissingField(ParseError):
    """A required field is absent (``field`` is the wire key, dotted when nested)."""

    def __init__(self, message_type: str, field: str) -> None:
        self.message_type = message_type
        self.field = field
        super().__init__(f"{message_type}: missing required field {field!r}")


class InvalidField(ParseError):
    """A field holds the wrong JSON type or an out-of-range value."""

    def __init__(self, message_type: str, field: str, expected: str, got: Any) -> None:
        self.message_type = message_type
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(
            f"{message_type}: field {field!r} must be {expected}, got {_describe(got)}"
        )


class InvalidSessionId(ProtocolError):
    """An app session id that cannot be parsed or does not resolve to a user (§8)."""

    def __init__(self, session_id: str, reason: str) -> None:
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"invalid app session id {session_id!r}: {reason}")


class InvalidStream(ProtocolError):
    """A subscription entry that is not a valid stream (§6.3)."""

    def __init__(self, entry: Any, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__(f"invalid subscription {entry!r}: {reason}")


class UnknownPermission(ProtocolError):
    """A permission name outside §6.4."""

    def __init__(self, name: Any) -> None:
        self.name = name
        super().__init__(
            f"unknown permission {name!r} "
            "(expected MICROPHONE, LOCATION, CALENDAR, READ_NOTIFICATIONS or ALL)"
        )


class IllegalTransition(ProtocolError):
    """A state change that the lifecycle tables (§9.2, §9.3) do not allow."""

    def __init__(self, kind: str, from_state: Any, to_state: Any) -> None:
        self.kind = kind
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(f"illegal {kind} transition {_name(from_state)} -> {_name(to_state)}")


def _name(state: Any) -> str:
    if state is None:
        return "<none>"
    value = getattr(state, "value", state)
    return str(value)


class PolicyError(ProtocolError):
    """A reconnect policy that cannot be built."""


class UnknownPolicy(PolicyError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown reconnect policy {name!r} (known: {', '.join(known)})")


class InvalidPolicy(PolicyError):
    def __init__(self, policy: str, key: str, reason: str) -> None:
        self.policy = policy
        self.key = key
        self.reason = reason
        super().__init__(f"reconnect policy {policy!r}: setting {key!r} {reason}")
