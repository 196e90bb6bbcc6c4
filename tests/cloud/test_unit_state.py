"""Pure pieces of the cloud: transcriber, registrations store, registry keys, tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from wsquake.cloud.auth import extract_token, mint_token, verify_token
from wsquake.cloud.exceptions import InvalidToken, MissingToken, RegistrationError
from wsquake.cloud.model import Transcriber
from wsquake.cloud.registrations import (
    RegistrationStore,
    parse_id_body,
    parse_register_body,
)
from wsquake.cloud.registry import AppRegistry
from wsquake.cloud.settings import AppEntry

SECRET = "unit-secret-unit-secret-unit-secret-32"


def frame(counter: int, size: int = 3200) -> bytes:
    return counter.to_bytes(4, "little") + bytes(size - 4)


# --- transcriber -------------------------------------------------------------------------


def test_transcriber_emits_one_segment_per_segment_of_audio() -> None:
    t = Transcriber(segment_bytes=1000 * 32)  # 1000 ms
    outputs = [t.feed(frame(i)) for i in range(1, 21)]  # 20 frames of 100 ms
    segments = [o for o in outputs if o is not None]
    assert [s[0] for s in segments] == ["frames 1-10", "frames 11-20"]
    assert segments[0][1:] == (0.0, 1000.0)
    assert segments[1][1:] == (1000.0, 2000.0)


def test_transcriber_reset_forgets_a_partial_segment() -> None:
    t = Transcriber(segment_bytes=1000 * 32)
    for i in range(5):
        t.feed(frame(i))
    t.reset()
    outputs = [t.feed(frame(i)) for i in range(100, 110)]
    assert outputs[-1] is not None and outputs[-1][0] == "frames 100-109"


# --- registrations ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(**over: object) -> object:
    body = {"packageName": "com.ex-ample.app", "apiKey": "k",
            "webhookUrl": "http://127.0.0.1:1/webhook", "serverUrls": "ws://a, ws://b"}
    body.update(over)
    return body


def test_register_body_accepts_comma_separated_server_urls() -> None:
    req = parse_register_body(request())
    assert req.server_urls == ("ws://a", "ws://b")


@pytest.mark.parametrize("missing", ["packageName", "apiKey", "webhookUrl", "serverUrls"])
def test_register_body_missing_field_is_400_naming_it(missing: str) -> None:
    body = request()
    assert isinstance(body, dict)
    del body[missing]
    with pytest.raises(RegistrationError) as err:
        parse_register_body(body)
    assert err.value.status == 400 and missing in err.value.error


def test_register_body_mistyped_server_urls_is_400() -> None:
    with pytest.raises(RegistrationError, match="serverUrls"):
        parse_register_body(request(serverUrls=[1, 2]))


def test_id_body_requires_registration_id() -> None:
    with pytest.raises(RegistrationError, match="registrationId"):
        parse_id_body({})


def test_reregistration_deactivates_the_old_and_moves_its_sessions() -> None:
    store = RegistrationStore(clock=Clock(), wall=Clock())
    first, prev = store.register(parse_register_body(request()))
    assert prev is None
    store.add_session("com.ex-ample.app", "a-b@ex-ample.com-com.ex-ample.app")
    second, prev = store.register(parse_register_body(request()))
    assert prev is first and not first.is_active
    assert second.active_sessions == ["a-b@ex-ample.com-com.ex-ample.app"]
    assert first.active_sessions == []


def test_remove_session_matches_the_exact_id() -> None:
    store = RegistrationStore(clock=Clock(), wall=Clock())
    reg, _ = store.register(parse_register_body(request()))
    store.add_session("com.ex-ample.app", "x@y.z-com.ex-ample.app")
    store.remove_session("x@y.z-com.ex")
    assert reg.active_sessions == ["x@y.z-com.ex-ample.app"]
    store.remove_session("x@y.z-com.ex-ample.app")
    assert reg.active_sessions == []


def test_heartbeat_of_unknown_id_is_404() -> None:
    store = RegistrationStore(clock=Clock(), wall=Clock())
    with pytest.raises(RegistrationError) as err:
        store.heartbeat("nope")
    assert err.value.status == 404 and err.value.error == "Registration not found"


def test_sweep_deactivates_only_stale_registrations() -> None:
    clock = Clock()
    store = RegistrationStore(clock=clock, wall=clock)
    old, _ = store.register(parse_register_body(request()))
    clock.now += 100
    fresh, _ = store.register(parse_register_body(request(webhookUrl="http://h:2/webhook")))
    clock.now += 50
    store.heartbeat(fresh.registration_id)
    assert store.sweep(120) == [old]
    assert (old.is_active, fresh.is_active) == (False, True)


# --- registry -------------------------------------------------------------------------------


def test_api_key_matches_plain_or_sha256_hex() -> None:
    plain = AppEntry("a", "http://h", "secret")
    hashed = AppEntry("b", "http://h", hashlib.sha256(b"secret").hexdigest())
    assert AppRegistry.api_key_matches(plain, "secret")
    assert AppRegistry.api_key_matches(hashed, "secret")
    assert not AppRegistry.api_key_matches(plain, "wrong")


def test_registry_finds_the_system_dashboard_entry() -> None:
    reg = AppRegistry([AppEntry("a", "http://h", "k"),
                       AppEntry("d", "http://h", "k", type="system_dashboard")])
    dash = reg.dashboard()
    assert dash is not None and dash.package_name == "d"
    assert AppRegistry([]).dashboard() is None


# --- tokens ---------------------------------------------------------------------------------


def test_minted_token_verifies_to_its_email() -> None:
    token = mint_token(SECRET, "anne-marie@ex-ample.com")
    assert verify_token(SECRET, token) == "anne-marie@ex-ample.com"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["organizations"] == [] and claims["defaultOrg"] is None


def test_expired_token_is_invalid() -> None:
    token = mint_token(SECRET, "a@b.c", exp=datetime.now(UTC) - timedelta(seconds=5))
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_forged_token_is_invalid() -> None:
    with pytest.raises(InvalidToken):
        verify_token(SECRET, mint_token("other-secret-other-secret-other-secret", "a@b.c"))


def test_alg_none_token_is_invalid() -> None:
    token = jwt.encode({"email": "a@b.c"}, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_token_without_email_is_invalid() -> None:
    token = jwt.encode({"sub": "x"}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(SECRET, token)


def test_bearer_header_wins_over_query_and_missing_is_named() -> None:
    assert extract_token({"authorization": "Bearer aaa"}, "token=bbb") == "aaa"
    assert extract_token({}, "x=1&token=bbb") == "bbb"
    with pytest.raises(MissingToken, match="No core token provided"):
        extract_token({"authorization": "Basic zzz"}, "")


def test_short_secrets_work_without_a_warning() -> None:
    # warnings are errors in this suite: a PyJWT key-length warning would fail here
    assert verify_token("change-me", mint_token("change-me", "a@b.c")) == "a@b.c"


# --- state records ----------------------------------------------------------------------------


def test_app_record_rejects_an_illegal_transition_by_name() -> None:
    from wsquake.cloud.model import AppRecord
    from wsquake.protocol.exceptions import IllegalTransition
    from wsquake.protocol.lifecycle import AppState

    rec = AppRecord(user_id="u@x.y", package="p", session_id="u@x.y-p", entry=None)
    rec.set_state(AppState.LOADING)
    rec.set_state(AppState.STOPPING)
    with pytest.raises(IllegalTransition, match="stopping"):
        rec.set_state(AppState.RUNNING)
    assert rec.state is AppState.STOPPING


def test_user_session_rejects_an_illegal_transition() -> None:
    from wsquake.cloud.model import UserSession
    from wsquake.protocol.exceptions import IllegalTransition
    from wsquake.protocol.lifecycle import SessionState

    user = UserSession(user_id="u@x.y", display=None, transcriber=Transcriber(1),  # type: ignore[arg-type]
                       created_at=0.0)
    with pytest.raises(IllegalTransition):
        user.set_state(SessionState.CONNECTED)  # must be created (INITIALIZING) first
    user.set_state(SessionState.INITIALIZING)
    user.set_state(SessionState.CONNECTED)
    with pytest.raises(IllegalTransition):
        user.set_state(SessionState.DISCONNECTED)  # dispose goes through DISCONNECTING
