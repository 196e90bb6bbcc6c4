"""Typed history events: the single record of a run (ARCHITECTURE.md §3).

One event is one JSON object on one line. The common fields come first; the kind-specific
fields are flat JSON scalars beside them::

    {"t":1764205200000000000,"component":"glasses-0","client_id":"user-0001@example.com",
     "session_id":"user-0001@example.com","conn":2,"kind":"send","outcome":"ok",
     "user":"user-0001@example.com","stream":"head_position","seq":17}

Client actions are recorded Jepsen style: an ``invoke`` and then an outcome of the same
kind (``ok``, ``fail`` or ``info`` = unknown); observations are ``info`` (or ``ok``).
:data:`SCHEMA` says which outcomes each kind allows and which fields it requires; the
table in ``docs/history.md`` documents it for people.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from wsquake.history.exceptions import HistoryFormatError

__all__ = [
    "COMMON_FIELDS",
    "SCHEMA",
    "EventKind",
    "HistoryEvent",
    "KindSpec",
    "Outcome",
    "Scalar",
]

Scalar: TypeAlias = str | int | float | bool | None


class Outcome(enum.StrEnum):
    """Jepsen-style outcome: an invocation, then ok / fail / info (unknown)."""

    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


class EventKind(enum.StrEnum):
    """Every kind of history event. Add a member and a :data:`SCHEMA` row to extend."""

    CONNECT = "connect"
    AUTH = "auth"
    INIT = "init"
    ACK = "ack"
    SUBSCRIBE = "subscribe"
    SEND = "send"
    RECEIVE = "receive"
    PROBE = "probe"
    DISPLAY = "display"
    CLOSE = "close"
    RECONNECT_WAIT = "reconnect_wait"
    GIVE_UP = "give_up"
    WEBHOOK = "webhook"
    START_APP = "start_app"
    STOP_APP = "stop_app"
    APP_STATE = "app_state"
    DUPLICATE_SESSION = "duplicate_session"
    APP_STOPPED = "app_stopped"
    FAULT_START = "fault_start"
    FAULT_END = "fault_end"
    CLOUD_PROBE = "cloud_probe"
    NOTE = "note"
    LOAD_RECOVERY = "load_recovery"
    LOAD_SUMMARY = "load_summary"


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What one kind allows: its outcomes, required fields and documented optional ones."""

    outcomes: frozenset[Outcome]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    doc: str = ""


_I, _O, _F, _N = Outcome.INVOKE, Outcome.OK, Outcome.FAIL, Outcome.INFO
_ACTION = frozenset({_I, _O, _F, _N})
_OBSERVED = frozenset({_O, _N})

SCHEMA: Mapping[EventKind, KindSpec] = types.MappingProxyType(
    {
        EventKind.CONNECT: KindSpec(
            _ACTION,
            optional=("url", "error", "status", "elapsed_ms"),
            doc="socket open: invoke when dialling, ok when open, fail with the error",
        ),
        EventKind.AUTH: KindSpec(
            frozenset({_O, _F}),
            optional=("status", "error"),
            doc="credentials accepted (ok) or rejected, e.g. HTTP 401 on the upgrade (fail)",
        ),
        EventKind.INIT: KindSpec(
            _ACTION,
            optional=("error", "code", "latency_ms", "user_session"),
            doc="connection_init sent (invoke); ack (ok) or connection_error (fail)",
        ),
        EventKind.ACK: KindSpec(
            _OBSERVED,
            optional=("user_session", "apps", "start_time"),
            doc="details of a connection_ack received (beside init ok)",
        ),
        EventKind.SUBSCRIBE: KindSpec(
            _ACTION,
            optional=("streams", "count", "error"),
            doc="subscription_update sent (invoke) / accepted (ok); streams comma-joined",
        ),
        EventKind.SEND: KindSpec(
            frozenset({_O, _F, _N}),
            required=("user", "stream", "seq"),
            optional=("sent_ns", "bytes", "error"),
            doc="a stream message written to the socket (ok) or lost on write (fail)",
        ),
        EventKind.RECEIVE: KindSpec(
            _OBSERVED,
            required=("user", "stream", "seq"),
            optional=("latency_ms", "package"),
            doc="a stream message received by an app (per (user, stream, seq))",
        ),
        EventKind.PROBE: KindSpec(
            frozenset({_I, _F}),
            required=("user", "stream", "seq"),
            optional=("sent_ns", "error"),
            doc="an echo probe sent (a button_press that takes the stream's next seq)",
        ),
        EventKind.DISPLAY: KindSpec(
            _OBSERVED,
            optional=("view", "layout", "package", "probe_seq", "rtt_ms", "duplicate", "text"),
            doc="display_event received on glasses; echo replies carry probe_seq, rtt_ms",
        ),
        EventKind.CLOSE: KindSpec(
            _ACTION,
            optional=("code", "reason", "initiator", "stale"),
            doc="socket closed; initiator = self | peer | network; stale = an abandoned socket",
        ),
        EventKind.RECONNECT_WAIT: KindSpec(
            frozenset({_N}),
            required=("attempt", "delay_s"),
            doc="waiting delay_s before reconnect attempt number attempt",
        ),
        EventKind.GIVE_UP: KindSpec(
            frozenset({_F, _N}),
            optional=("attempts", "reason", "code"),
            doc="the client stopped reconnecting",
        ),
        EventKind.WEBHOOK: KindSpec(
            _ACTION,
            required=("request",),
            optional=("status", "package", "error", "elapsed_ms"),
            doc="a webhook request (session_request / stop_request) handled, with status",
        ),
        EventKind.START_APP: KindSpec(
            _ACTION,
            required=("package",),
            optional=("error",),
            doc="start_app sent (invoke); app_state_change shows it running (ok)",
        ),
        EventKind.STOP_APP: KindSpec(
            _ACTION,
            required=("package",),
            optional=("error",),
            doc="stop_app sent (invoke); app_state_change shows it stopped (ok)",
        ),
        EventKind.APP_STATE: KindSpec(
            _OBSERVED,
            optional=("active", "loading", "count"),
            doc="app_state_change received on glasses; active/loading comma-joined; "
            "count = subscriptions of all apps",
        ),
        EventKind.DUPLICATE_SESSION: KindSpec(
            frozenset({_N, _F}),
            optional=("package", "live"),
            doc="more than one live app session for one session id",
        ),
        EventKind.APP_STOPPED: KindSpec(
            _OBSERVED,
            optional=("package", "reason"),
            doc="the cloud told the app it was stopped",
        ),
        EventKind.FAULT_START: KindSpec(
            _ACTION,
            required=("fault",),
            optional=("target", "toxic", "step"),
            doc="a fault was injected (runner)",
        ),
        EventKind.FAULT_END: KindSpec(
            _ACTION,
            required=("fault",),
            optional=("target", "toxic", "step"),
            doc="a fault was healed / rolled back (runner)",
        ),
        EventKind.CLOUD_PROBE: KindSpec(
            frozenset({_O, _F, _N}),
            optional=("sessions", "apps", "loading", "error"),
            doc="a snapshot of the cloud's /api/sessions or /metrics (runner)",
        ),
        EventKind.NOTE: KindSpec(
            frozenset({_N}),
            optional=("text",),
            doc="free text for humans; checkers ignore it",
        ),
        EventKind.LOAD_RECOVERY: KindSpec(
            frozenset({_O}),
            required=("user", "reconnect_ms"),
            optional=("worker", "lost_ns", "attempts", "lost_conn"),
            doc="a Locust load user re-acked after losing its socket (time to recover)",
        ),
        EventKind.LOAD_SUMMARY: KindSpec(
            frozenset({_N}),
            optional=(
                "users", "connects", "acks", "echoes", "reconnects", "failures", "p99_echo_ms"
            ),
            doc="Locust fleet totals and p99 echo round trip (master; periodically and at the end)",
        ),
    }
)

COMMON_FIELDS: tuple[str, ...] = (
    "t",
    "component",
    "client_id",
    "session_id",
    "conn",
    "kind",
    "outcome",
)
_COMMON = frozenset(COMMON_FIELDS)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalar(name: str, value: object) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HistoryFormatError(f"must be a finite number, got {value!r}", field=name)
        return
    raise HistoryFormatError(
        f"must be a JSON scalar (str, int, float, bool, null), got {type(value).__name__}",
        field=name,
    )


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One recorded event. ``fields`` holds the kind-specific flat scalars (read-only)."""

    t: int
    component: str
    kind: EventKind
    outcome: Outcome
    client_id: str = ""
    session_id: str = ""
    conn: int = 0
    fields: Mapping[str, Scalar] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}), hash=False
    )

    def __post_init__(self) -> None:
        if not _is_int(self.t) or self.t < 0:
            raise HistoryFormatError(f"must be an integer >= 0 (ns), got {self.t!r}", field="t")
        if not isinstance(self.component, str) or not self.component:
            raise HistoryFormatError(
                f"must be a non-empty string, got {self.component!r}", field="component"
            )
        for name in ("client_id", "session_id"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise HistoryFormatError(f"must be a string, got {value!r}", field=name)
        if not _is_int(self.conn) or self.conn < 0:
            raise HistoryFormatError(f"must be an integer >= 0, got {self.conn!r}", field="conn")
        try:
            kind = EventKind(self.kind)
        except ValueError:
            raise HistoryFormatError(f"unknown kind {self.kind!r}", field="kind") from None
        try:
            outcome = Outcome(self.outcome)
        except ValueError:
            known = " | ".join(o.value for o in Outcome)
            raise HistoryFormatError(
                f"expected one of {known}, got {self.outcome!r}", field="outcome"
            ) from None
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "outcome", outcome)
        spec = SCHEMA[kind]
        if outcome not in spec.outcomes:
            allowed = " | ".join(sorted(o.value for o in spec.outcomes))
            raise HistoryFormatError(
                f"kind {kind.value!r} allows outcome {allowed}, got {outcome.value!r}",
                field="outcome",
            )
        if not isinstance(self.fields, Mapping):
            raise HistoryFormatError(
                f"must be a mapping, got {type(self.fields).__name__}", field="fields"
            )
        for name, value in self.fields.items():
            if not isinstance(name, str) or not name:
                raise HistoryFormatError(f"field names must be non-empty strings, got {name!r}")
            if name in _COMMON:
                raise HistoryFormatError(
                    "is a common field and cannot be a kind-specific field", field=name
                )
            _check_scalar(name, value)
        for name in spec.required:
            if name not in self.fields:
                raise HistoryFormatError(f"is required for kind {kind.value!r}", field=name)
        object.__setattr__(self, "fields", types.MappingProxyType(dict(self.fields)))

    def __getitem__(self, name: str) -> Scalar:
        """A kind-specific field: ``event["seq"]``."""
        return self.fields[name]

    def get(self, name: str, default: Scalar = None) -> Scalar:
        """A kind-specific field or ``default``."""
        return self.fields.get(name, default)

    def integer(self, name: str) -> int:
        """A kind-specific integer field (raises HistoryFormatError naming it if not one)."""
        value = self.fields.get(name)
        if not _is_int(value):
            raise HistoryFormatError(f"expected an integer, got {value!r}", field=name)
        assert isinstance(value, int)
        return value

    def number(self, name: str) -> float:
        """A kind-specific numeric field as a float (raises HistoryFormatError if not one)."""
        value = self.fields.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise HistoryFormatError(f"expected a number, got {value!r}", field=name)
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON object: common fields first, then the kind-specific ones."""
        out: dict[str, Any] = {
            "t": self.t,
            "component": self.component,
            "client_id": self.client_id,
            "session_id": self.session_id,
            "conn": self.conn,
            "kind": self.kind.value,
            "outcome": self.outcome.value,
        }
        out.update(self.fields)
        return out

    def to_json_line(self) -> str:
        """One compact JSON line, without the trailing newline."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEvent:
        """Build and validate an event from a flat JSON object."""
        if not isinstance(data, Mapping):
            raise HistoryFormatError(f"expected a JSON object, got {type(data).__name__}")
        for name in ("t", "component", "kind", "outcome"):
            if name not in data:
                raise HistoryFormatError("is missing", field=name)
        fields = {k: v for k, v in data.items() if k not in _COMMON}
        return cls(
            t=data["t"],
            component=data["component"],
            kind=data["kind"],
            outcome=data["outcome"],
            client_id=data.get("client_id", ""),
            session_id=data.get("session_id", ""),
            conn=data.get("conn", 0),
            fields=fields,
        )

    @classmethod
    def from_json_line(cls, line: str) -> HistoryEvent:
        """Parse one JSON line; a bad line raises :class:`HistoryFormatError`."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HistoryFormatError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        return cls.from_dict(data)
