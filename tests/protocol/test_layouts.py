"""Display layouts (§6.5): builders and per-type field checks."""

from __future__ import annotations

from typing import Any

import pytest

from wsquake.protocol import InvalidField, LayoutType, MissingField, validate_layout
from wsquake.protocol.layouts import (
    bitmap_animation,
    bitmap_view,
    clear_view,
    dashboard_card,
    double_text_wall,
    reference_card,
    text_wall,
)

BUILT = [
    (text_wall("hi"), LayoutType.TEXT_WALL),
    (double_text_wall("top", "bottom"), LayoutType.DOUBLE_TEXT_WALL),
    (dashboard_card("l", "r"), LayoutType.DASHBOARD_CARD),
    (reference_card("// MentraOS - Starting App", "Echo"), LayoutType.REFERENCE_CARD),
    (bitmap_view("Qk0="), LayoutType.BITMAP_VIEW),
    (bitmap_animation(["Qk0=", "Qk1="], 100), LayoutType.BITMAP_ANIMATION),
    (clear_view(), LayoutType.CLEAR_VIEW),
]


@pytest.mark.parametrize(("layout", "kind"), BUILT, ids=lambda v: str(v)[:30])
def test_built_layouts_validate_as_their_type(layout: dict[str, Any], kind: LayoutType) -> None:
    assert validate_layout(layout) is kind


def test_text_wall_uses_the_wire_keys() -> None:
    assert double_text_wall("a", "b") == {
        "layoutType": "double_text_wall",
        "topText": "a",
        "bottomText": "b",
    }


@pytest.mark.parametrize(
    ("layout", "error", "field"),
    [
        ({}, MissingField, "layout.layoutType"),
        ({"layoutType": "hologram"}, InvalidField, "layout.layoutType"),
        ({"layoutType": "text_wall"}, MissingField, "layout.text"),
        ({"layoutType": "text_wall", "text": 3}, InvalidField, "layout.text"),
        ({"layoutType": "double_text_wall", "topText": "a"}, MissingField, "layout.bottomText"),
        (
            {"layoutType": "bitmap_animation", "frames": "x", "interval": 1},
            InvalidField,
            "layout.frames",
        ),
        (
            {"layoutType": "bitmap_animation", "frames": [], "interval": True},
            InvalidField,
            "layout.interval",
        ),
    ],
)
def test_bad_layouts_name_the_field(
    layout: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as info:
        validate_layout(layout)
    assert info.value.field == field  # type: ignore[attr-defined]
    assert info.value.message_type == "display_event"  # type: ignore[attr-defined]
