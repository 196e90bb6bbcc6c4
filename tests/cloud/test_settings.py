"""CloudSettings: the example file, env overrides, defaults of §9.1, defect switches."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsquake.cloud import AppEntry, CloudSettings, Timings, load_cloud_settings
from wsquake.cloud.settings import DEFECT_NAMES, Defects
from wsquake.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cloud.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cloud.toml"
    path.write_text(text)
    return path


def test_example_config_loads_with_a_hyphenated_package() -> None:
    settings = load_cloud_settings(EXAMPLE, env={})
    assert settings.jwt_secret == "change-me"
    assert settings.port == 8002
    packages = [a.package_name for a in settings.apps]
    assert any("-" in p for p in packages)
    assert settings.defects.profile == "fixed"


def test_timings_defaults_match_protocol_9_1() -> None:
    t = Timings()
    assert (t.glasses_grace_s, t.app_grace_s, t.app_start_timeout_s) == (60, 5, 5)
    assert (t.webhook_timeout_s, t.webhook_attempts, t.webhook_backoff_s) == (10, 2, 1)
    assert (t.stop_webhook_timeout_s, t.ping_interval_s, t.pong_deadline_s) == (10, 10, 30)
    assert (t.display_throttle_ms, t.grace_buffer_messages, t.close_handshake_timeout_s) == (
        300, 256, 1,
    )
    assert (t.registration_stale_s, t.registration_sweep_s) == (1800, 900)


def test_scaled_multiplies_seconds_and_converts_ms() -> None:
    t = Timings(time_scale=0.5, app_grace_s=4, display_throttle_ms=300)
    assert t.scaled("app_grace_s") == 2.0
    assert t.scaled("display_throttle_ms") == pytest.approx(0.15)


def test_scaled_rejects_a_non_duration() -> None:
    with pytest.raises(ValueError, match="webhook_attempts is not a duration"):
        Timings().scaled("webhook_attempts")


def test_env_sets_nested_timing_and_secret() -> None:
    env = {"WSQUAKE_TIMINGS_APP_GRACE_S": "2", "WSQUAKE_AUTH_JWT_SECRET": "s3"}
    settings = load_cloud_settings(None, env=env)
    assert settings.timings.app_grace_s == 2.0
    assert settings.jwt_secret == "s3"


def test_bad_env_timing_names_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_cloud_settings(None, env={"WSQUAKE_TIMINGS_APP_GRACE_S": "abc"})
    assert str(err.value) == 'timings.app_grace_s: expected a number >= 0, got "abc"'


def test_overrides_beat_env() -> None:
    settings = load_cloud_settings(
        None, env={"WSQUAKE_PORT": "9000"}, port=0, timings__time_scale=0.1, jwt_secret="x"
    )
    assert (settings.port, settings.timings.time_scale, settings.jwt_secret) == (0, 0.1, "x")


def test_unknown_defect_switch_is_rejected_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[defects]\nprofile = "fixed"\nsplit_session_ids = true\n')
    with pytest.raises(ConfigError, match=r"^defects\.split_session_ids: unknown key"):
        load_cloud_settings(path, env={})


def test_unknown_profile_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'^defects\.profile: expected one of fixed \| upstream'):
        load_cloud_settings(write(tmp_path, '[defects]\nprofile = "broken"\n'), env={})


def test_every_defect_is_off_in_the_fixed_profile_and_on_in_upstream() -> None:
    assert not any(Defects().enabled(n) for n in DEFECT_NAMES)
    assert all(Defects(profile="upstream").enabled(n) for n in DEFECT_NAMES)


def test_an_explicit_switch_beats_the_profile() -> None:
    defects = Defects(profile="upstream", drop_during_grace=False)
    assert not defects.enabled("drop_during_grace")
    assert Defects(split_session_id=True).enabled("split_session_id")


def test_app_type_outside_the_set_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[apps]]\npackage_name = "a"\npublic_url = "http://h"\napi_key = "k"\ntype = "fg"\n',
    )
    with pytest.raises(ConfigError, match=r"^apps\[0\]\.type: expected one of standard"):
        load_cloud_settings(path, env={})


def test_unknown_permission_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown permission 'CAMERA'"):
        AppEntry("a", "http://h", "k", permissions=("CAMERA",))


def test_duplicate_packages_are_rejected() -> None:
    app = AppEntry("a", "http://h", "k")
    with pytest.raises(ConfigError, match=r"apps\[1\]\.package_name: duplicate package 'a'"):
        CloudSettings(apps=(app, app))


def test_apps_can_be_given_as_an_override() -> None:
    app = AppEntry("com.ex-ample.app", "http://127.0.0.1:1", "k", type="background")
    settings = load_cloud_settings(None, env={}, apps=(app,))
    assert settings.apps == (app,)


def test_app_ws_public_url_must_be_a_websocket_url() -> None:
    with pytest.raises(ConfigError, match="app_ws_public_url: expected a ws:// or wss:// URL"):
        load_cloud_settings(None, env={"WSQUAKE_APP_WS_PUBLIC_URL": "http://h/app-ws"})


def test_app_entry_check_names_the_app_index(tmp_path: Path) -> None:
    path = write(tmp_path, '[[apps]]\npackage_name = "a"\npublic_url = "ftp://h"\napi_key = "k"\n')
    with pytest.raises(ConfigError, match=r"^apps\[0\]\.public_url: expected an http\(s\) URL"):
        load_cloud_settings(path, env={})
