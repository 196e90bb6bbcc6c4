"""Display layouts (spec §6.5): the ``layout`` object of a ``display_event``.

Layouts stay plain JSON objects inside :class:`~wsquake.protocol.glasses.DisplayEvent`
(unknown keys pass through to the glasses unchanged); this module builds them and checks
the fields each ``layoutType`` needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from wsquake.protocol.exceptions import InvalidField, MissingField

__all__ = [
    "LayoutType",
    "bitmap_animation",
    "bitmap_view",
    "clear_view",
    "dashboard_card",
    "double_text_wall",
    "reference_card",
    "text_wall",
    "validate_layout",
]


class LayoutType(StrEnum):
    TEXT_WALL = "text_wall"
    DOUBLE_TEXT_WALL = "double_text_wall"
    DASHBOARD_CARD = "dashboard_card"
    REFERENCE_CARD = "reference_card"
    BITMAP_VIEW = "bitmap_view"
    BITMAP_ANIMATION = "bitmap_animation"
    CLEAR_VIEW = "clear_view"


# Required keys and their JSON kinds per layout type.
_REQUIRED: dict[LayoutType, tuple[tuple[str, type | tuple[type, ...], str], ...]] = {
    LayoutType.TEXT_WALL: (("text", str, "a string"),),
    LayoutType.DOUBLE_TEXT_WALL: (("topText", str, "a string"), ("bottomText", str, "a string")),
    LayoutType.DASHBOARD_CARD: (("leftText", str, "a string"), ("rightText", str, "a string")),
    LayoutType.REFERENCE_CARD: (("title", str, "a string"), ("text", str, "a string")),
    LayoutType.BITMAP_VIEW: (("data", str, "a string"),),
    LayoutType.BITMAP_ANIMATION: (
        ("frames", list, "an array"),
        ("interval", (int, float), "a number"),
    ),
    LayoutType.CLEAR_VIEW: (),
}


def validate_layout(layout: Mapping[str, Any], message_type: str = "display_event") -> LayoutType:
    """Check a layout object; return its type or raise MissingField/InvalidField
    naming ``layout.<key>``."""
    if "layoutType" not in layout:
        raise MissingField(message_type, "layout.layoutType")
    raw = layout["layoutType"]
    try:
        kind = LayoutType(raw)
    except ValueError:
        names = ", ".join(repr(t.value) for t in LayoutType)
        raise InvalidField(message_type, "layout.layoutType", f"one of {names}", raw) from None
    for key, kinds, expected in _REQUIRED[kind]:
        if key not in layout:
            raise MissingField(message_type, f"layout.{key}")
        value = layout[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise InvalidField(message_type, f"layout.{key}", expected, value)
    return kind


def text_wall(text: str) -> dict[str, Any]:
    return {"layoutType": LayoutType.TEXT_WALL.value, "text": text}


def double_text_wall(top_text: str, bottom_text: str) -> dict[str, Any]:
    return {
        "layoutType": LayoutType.DOUBLE_TEXT_WALL.value,
        "topText": top_text,
        "bottomText": bottom_text,
    }


def dashboard_card(left_text: str, right_text: str) -> dict[str, Any]:
    return {
        "layoutType": LayoutType.DASHBOARD_CARD.value,
        "leftText": left_text,
        "rightText": right_text,
    }


def reference_card(title: str, text: str) -> dict[str, Any]:
    return {"layoutType": LayoutType.REFERENCE_CARD.value, "title": title, "text": text}


def bitmap_view(data: str) -> dict[str, Any]:
    return {"layoutType": LayoutType.BITMAP_VIEW.value, "data": data}


def bitmap_animation(frames: Sequence[str], interval: float, repeat: bool = True) -> dict[str, Any]:
    return {
        "layoutType": LayoutType.BITMAP_ANIMATION.value,
        "frames": list(frames),
        "interval": interval,
        "repeat": repeat,
    }


def clear_view() -> dict[str, Any]:
    return {"layoutType": LayoutType.CLEAR_VIEW.value}
