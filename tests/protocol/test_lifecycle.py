"""Lifecycle tables: user session (§9.2) and app A1-A6 (§9.3)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from wsquake.protocol import (
    AppState,
    IllegalTransition,
    SessionState,
    TpaState,
    check_app_transition,
    check_session_transition,
    tpa_state_for,
)

S = SessionState
A = AppState

LEGAL_SESSION = {
    (None, S.INITIALIZING),
    (S.INITIALIZING, S.CONNECTED),
    (S.INITIALIZING, S.DISCONNECTING),
    (S.INITIALIZING, S.ERROR),
    (S.CONNECTED, S.CONNECTED),
    (S.CONNECTED, S.CONNECTING),
    (S.CONNECTED, S.DISCONNECTING),
    (S.CONNECTED, S.ERROR),
    (S.CONNECTING, S.CONNECTED),
    (S.CONNECTING, S.DISCONNECTING),
    (S.CONNECTING, S.ERROR),
    (S.DISCONNECTING, S.DISCONNECTED),
    (S.DISCONNECTING, S.ERROR),
    (S.ERROR, S.DISCONNECTING),
}

LEGAL_APP = {
    (None, A.LOADING),  # A1
    (A.DISCONNECTED, A.LOADING),  # A1
    (A.LOADING, A.RUNNING),  # A2
    (A.GRACE_PERIOD, A.RUNNING),  # A2
    (A.RESURRECTING, A.RUNNING),  # A2
    (A.RUNNING, A.RUNNING),  # A2 superseding init
    (A.LOADING, A.DISCONNECTED),  # A3
    (A.RESURRECTING, A.DISCONNECTED),  # A3
    (A.RUNNING, A.GRACE_PERIOD),  # A4
    (A.GRACE_PERIOD, A.RESURRECTING),  # A5
    (A.LOADING, A.STOPPING),  # A6
    (A.RUNNING, A.STOPPING),  # A6
    (A.GRACE_PERIOD, A.STOPPING),  # A6
    (A.RESURRECTING, A.STOPPING),  # A6
    (A.STOPPING, A.DISCONNECTED),  # A6
}

ALL_SESSION = list(itertools.product([None, *S], list(S)))
ALL_APP = list(itertools.product([None, *A], list(A)))


def _ids(pair: Any) -> str:
    a, b = pair
    return f"{getattr(a, 'value', a)}->{getattr(b, 'value', b)}"


@pytest.mark.parametrize("pair", sorted(LEGAL_SESSION, key=_ids), ids=_ids)
def test_legal_session_transitions_pass(pair: tuple[S | None, S]) -> None:
    check_session_transition(*pair)


@pytest.mark.parametrize(
    "pair", [p for p in ALL_SESSION if p not in LEGAL_SESSION], ids=_ids
)
def test_every_other_session_transition_is_illegal(pair: tuple[S | None, S]) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_session_transition(*pair)
    assert (info.value.kind, info.value.from_state, info.value.to_state) == ("session", *pair)


@pytest.mark.parametrize("pair", sorted(LEGAL_APP, key=_ids), ids=_ids)
def test_legal_app_transitions_pass(pair: tuple[A | None, A]) -> None:
    check_app_transition(*pair)


@pytest.mark.parametrize("pair", [p for p in ALL_APP if p not in LEGAL_APP], ids=_ids)
def test_every_other_app_transition_is_illegal(pair: tuple[A | None, A]) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_app_transition(*pair)
    assert info.value.kind == "app"


def test_illegal_transition_message_names_both_states() -> None:
    with pytest.raises(IllegalTransition, match="illegal app transition stopping -> running"):
        check_app_transition(A.STOPPING, A.RUNNING)
    with pytest.raises(IllegalTransition, match="<none> -> CONNECTED"):
        check_session_transition(None, S.CONNECTED)


def test_disconnected_session_is_terminal() -> None:
    for target in S:
        with pytest.raises(IllegalTransition):
            check_session_transition(S.DISCONNECTED, target)


@pytest.mark.parametrize(
    ("state", "kwargs", "expected"),
    [
        (A.LOADING, {"webhook_sent": False}, TpaState.LOADING),
        (A.LOADING, {"webhook_sent": True}, TpaState.CONNECTING),
        (A.RUNNING, {}, TpaState.CONNECTED),
        (A.GRACE_PERIOD, {}, TpaState.DISCONNECTED),
        (A.RESURRECTING, {}, TpaState.CONNECTING),
        (A.STOPPING, {}, TpaState.DISCONNECTED),
        (A.DISCONNECTED, {"start_failed": True}, TpaState.ERROR),
        (A.DISCONNECTED, {}, None),
    ],
)
def test_app_state_maps_to_the_seed_tpa_state(
    state: A, kwargs: dict[str, bool], expected: TpaState | None
) -> None:
    assert tpa_state_for(state, **kwargs) is expected
