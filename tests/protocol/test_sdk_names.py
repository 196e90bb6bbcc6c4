"""Our wire names against the official SDK's declarations (@mentra/sdk 2.1.29).

Reads the ``.d.ts`` files of the SDK installed for the cloud's interop tests
(``tests/cloud/sdk_app/node_modules``); skipped when it is not installed.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from wsquake.protocol import StreamType
from wsquake.protocol.messages import _BY_DIRECTION, Direction

SDK_TYPES = (
    pathlib.Path(__file__).resolve().parents[1]
    / "cloud/sdk_app/node_modules/@mentra/sdk/dist/types"
)

pytestmark = pytest.mark.skipif(
    not SDK_TYPES.is_dir(), reason="@mentra/sdk not installed under tests/cloud/sdk_app"
)


def _enum(file: str, name: str) -> set[str]:
    text = (SDK_TYPES / file).read_text()
    match = re.search(r"enum " + name + r" \{(.*?)\}", text, re.S)
    assert match, f"enum {name} not found in {file}"
    return set(re.findall(r'=\s*"([^"]+)"', match.group(1)))


def _ours(direction: Direction) -> set[str]:
    return {cls.TYPE for cls in _BY_DIRECTION[direction]}


def test_stream_types_equal_the_sdk_plus_our_two_additions() -> None:
    ours = {t.value for t in StreamType}
    # notification_dismissed: the mid-2025 alias; augmentos: base of "augmentos:<key>".
    assert ours - {"notification_dismissed", "augmentos"} == _enum("streams.d.ts", "StreamType")


def test_glasses_to_cloud_types_are_sdk_types() -> None:
    sdk = _enum("message-types.d.ts", "GlassesToCloudMessageType")
    assert _ours(Direction.GLASSES_TO_CLOUD) - {"notification_dismissed"} <= sdk


def test_cloud_to_glasses_types_are_sdk_types() -> None:
    sdk = _enum("message-types.d.ts", "CloudToGlassesMessageType")
    assert _ours(Direction.CLOUD_TO_GLASSES) <= sdk


def test_app_to_cloud_types_are_sdk_types() -> None:
    sdk = _enum("message-types.d.ts", "AppToCloudMessageType")
    assert _ours(Direction.APP_TO_CLOUD) <= sdk


def test_cloud_to_app_types_are_sdk_types() -> None:
    sdk = _enum("message-types.d.ts", "CloudToAppMessageType")
    # connection_error: plain glasses error apps must understand (§6.1);
    # augmentos_settings_update: declared by the SDK as a string literal, not in the enum.
    extra = {"connection_error", "augmentos_settings_update"}
    assert _ours(Direction.CLOUD_TO_APP) - extra <= sdk
    assert '"augmentos_settings_update"' in (SDK_TYPES / "messages/cloud-to-app.d.ts").read_text()


def test_webhook_types_are_sdk_types() -> None:
    sdk = _enum("webhooks.d.ts", "WebhookRequestType")
    # The registration webhooks are TPA-era types SDK 2.1.29 no longer declares (§7.3).
    assert _ours(Direction.WEBHOOK) - {"server_registration", "server_heartbeat"} == sdk
