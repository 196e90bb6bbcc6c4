"""Build small synthetic histories concisely for checker tests.

Times are in seconds from an arbitrary origin (converted to ns). A default fleet is one
user ``u@x.io`` with glasses in component ``glasses-0`` and one app session
``u@x.io-com.a`` in ``apps-0``. Example::

    h = Synth()
    h.glasses_up("u@x.io", 1, at=0).app_up("u@x.io-com.a", 1, at=0.1)
    h.flow("u@x.io", ["u@x.io-com.a"], start=1, stop=30)      # one message per second
    h.fault("cut", "app-link", "down", 10, 12)
    frames = h.frames()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from wsquake.history import HistoryEvent
from wsquake.history.frame import HistoryFrames

T0 = 1_700_000_000_000_000_000
USER = "u@x.io"
APP = "u@x.io-com.a"


def ns(seconds: float) -> int:
    return T0 + round(seconds * 1e9)


class Synth:
    def __init__(self) -> None:
        self.events: list[HistoryEvent] = []
        self._seq: dict[tuple[str, str], int] = {}

    def add(self, at: float, component: str, kind: str, outcome: str, client: str = "",
            conn: int = 0, session: str | None = None, **fields: Any) -> Synth:
        self.events.append(HistoryEvent(
            t=ns(at), component=component, kind=kind, outcome=outcome,  # type: ignore[arg-type]
            client_id=client, session_id=client if session is None else session, conn=conn,
            fields=fields,
        ))
        return self

    # runner
    def fault(self, name: str, target: str, toxic: str, start: float, end: float | None,
              step: int = 0) -> Synth:
        self.add(start, "runner", "fault_start", "ok", fault=name, target=target, toxic=toxic,
                 step=step)
        if end is not None:
            self.add(end, "runner", "fault_end", "ok", fault=name, target=target, toxic=toxic,
                     step=step)
        return self

    def probe(self, at: float, body: dict[str, Any] | None, outcome: str = "ok") -> Synth:
        fields: dict[str, Any] = {}
        if body is not None:
            fields["body"] = json.dumps(body, separators=(",", ":"))
        return self.add(at, "runner", "cloud_probe", outcome, **fields)

    # glasses
    def glasses_up(self, user: str = USER, conn: int = 1, at: float = 0.0) -> Synth:
        self.add(max(0.0, at - 0.005), "glasses-0", "connect", "invoke", user, conn)
        self.add(at, "glasses-0", "connect", "ok", user, conn)
        return self.add(at + 0.01, "glasses-0", "init", "ok", user, conn)

    def glasses_loss(self, user: str = USER, conn: int = 1, at: float = 0.0,
                     initiator: str = "network", **fields: Any) -> Synth:
        return self.add(at, "glasses-0", "close", "info", user, conn, code=1006,
                        initiator=initiator, **fields)

    # apps
    def app_up(self, sid: str = APP, conn: int = 1, at: float = 0.0,
               streams: str = "head_position", subscribe: bool = True) -> Synth:
        self.add(max(0.0, at - 0.005), "apps-0", "connect", "invoke", sid, conn)
        self.add(at, "apps-0", "init", "ok", sid, conn)
        if subscribe:
            self.add(at + 0.01, "apps-0", "subscribe", "invoke", sid, conn, streams=streams)
        return self

    def app_loss(self, sid: str = APP, conn: int = 1, at: float = 0.0,
                 initiator: str = "network") -> Synth:
        return self.add(at, "apps-0", "close", "info", sid, conn, code=1006, initiator=initiator)

    # data
    def send(self, at: float, user: str = USER, stream: str = "head_position",
             seq: int | None = None, conn: int = 1) -> int:
        key = (user, stream)
        if seq is None:
            seq = self._seq.get(key, 0) + 1
        self._seq[key] = max(self._seq.get(key, 0), seq)
        self.add(at, "glasses-0", "send", "ok", user, conn, user=user, stream=stream, seq=seq)
        return seq

    def receive(self, at: float, sid: str = APP, user: str = USER,
                stream: str = "head_position", seq: int = 1, conn: int = 1) -> Synth:
        return self.add(at, "apps-0", "receive", "ok", sid, conn, user=user, stream=stream,
                        seq=seq)

    def flow(self, user: str = USER, sids: Iterable[str] = (APP,), start: float = 1.0,
             stop: float = 30.0, every: float = 1.0, stream: str = "head_position",
             lost: Callable[[float], bool] = lambda t: False,
             sent: Callable[[float], bool] = lambda t: True,
             conn: Callable[[float], int] = lambda t: 1, delay: float = 0.05) -> Synth:
        """A message every ``every`` s in [start, stop]; ``lost(t)`` ones never arrive,
        ``sent(t)`` False ones are not sent at all (glasses offline)."""
        t = start
        while t <= stop + 1e-9:
            if sent(t):
                seq = self.send(t, user, stream)
                if not lost(t):
                    for sid in sids:
                        self.receive(t + delay, sid, user, stream, seq, conn(t))
            t = round(t + every, 9)
        return self

    def echo(self, at: float, user: str = USER, seq: int | None = None, conn: int = 1,
             rtt: float = 0.05, answered: bool = True) -> Synth:
        seq = self.send_probe(at, user, seq, conn)
        if answered:
            self.add(at + rtt, "glasses-0", "display", "ok", user, conn, probe_seq=seq,
                     rtt_ms=rtt * 1000)
        return self

    def send_probe(self, at: float, user: str = USER, seq: int | None = None,
                   conn: int = 1) -> int:
        key = (user, "button_press")
        if seq is None:
            seq = self._seq.get(key, 0) + 1
        self._seq[key] = max(self._seq.get(key, 0), seq)
        self.add(at, "glasses-0", "probe", "invoke", user, conn, user=user,
                 stream="button_press", seq=seq)
        return seq

    def frames(self) -> HistoryFrames:
        return HistoryFrames.from_events(self.events)


def session_body(users: Iterable[dict[str, Any]], glasses: int = 1, app: int = 1,
                 unbound: int = 0) -> dict[str, Any]:
    """An ``/api/sessions`` body."""
    return {"generatedAt": "x", "profile": "fixed",
            "connections": {"glasses": glasses, "app": app, "app_unbound": unbound},
            "users": list(users), "registrations": []}


def user_entry(user: str = USER, state: str = "CONNECTED", apps: Iterable[dict[str, Any]] = (),
               glasses_sockets: int = 1) -> dict[str, Any]:
    return {"userId": user, "state": state, "glassesSockets": glasses_sockets,
            "apps": list(apps)}


def app_entry(sid: str = APP, state: str = "running", sockets: int = 1,
              subscriptions: Iterable[str] = ("head_position",),
              pkg: str = "com.a", last_pong_ms: float = 100.0) -> dict[str, Any]:
    return {"packageName": pkg, "sessionId": sid, "state": state, "sockets": sockets,
            "subscriptions": list(subscriptions), "lastPongAgeMs": last_pong_ms}
