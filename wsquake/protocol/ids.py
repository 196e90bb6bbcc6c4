"""Session ids (spec §8): hyphen-safe app session ids, plus upstream's broken split (D1).

The user session id is the user's email. The app session id is the plain concatenation
``"<userId>-<packageName>"``. Emails and package names may both contain ``-``, so an id can
only be split correctly when the package is known (rule 1) or looked up among the
registry's packages (rule 2). :func:`legacy_split` reproduces upstream's
``split('-')[0]`` / ``split('-')[1]`` so the defect profile can show what goes wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

from wsquake.protocol.exceptions import InvalidSessionId

__all__ = [
    "AppSessionId",
    "PackageName",
    "UserId",
    "legacy_split",
    "make_app_session_id",
    "resolve_app_session_id",
    "user_for_package",
]

UserId: TypeAlias = str
"""The user's email (the JWT ``email`` claim); also the glasses ``sessionId``."""

PackageName: TypeAlias = str
"""An app's package name, e.g. ``com.example.echo``."""

AppSessionId: TypeAlias = str
"""``"<userId>-<packageName>"``."""


def make_app_session_id(user_id: UserId, package: PackageName) -> AppSessionId:
    """Build ``"<userId>-<packageName>"``; both parts must be non-empty."""
    if not user_id:
        raise InvalidSessionId(f"-{package}", "user id is empty")
    if not package:
        raise InvalidSessionId(f"{user_id}-", "package name is empty")
    return f"{user_id}-{package}"


def user_for_package(session_id: str, package: PackageName) -> UserId:
    """Rule 1 (package known): the id must end with ``"-" + package``; return the prefix.

    The caller still has to check that the prefix names a live user session (and is the
    user it expects): that is the ``SESSION_NOT_FOUND`` decision, not a parse error.
    """
    if not isinstance(session_id, str) or not session_id:
        raise InvalidSessionId(str(session_id), "session id is empty")
    if not package:
        raise InvalidSessionId(session_id, "package name is empty")
    suffix = "-" + package
    if not session_id.endswith(suffix):
        raise InvalidSessionId(session_id, f"does not end with '-{package}'")
    user_id = session_id[: -len(suffix)]
    if not user_id:
        raise InvalidSessionId(session_id, "user id before the package is empty")
    return user_id


def resolve_app_session_id(
    session_id: str,
    packages: Iterable[PackageName],
    is_live: Callable[[UserId], bool],
) -> tuple[UserId, PackageName]:
    """Rule 2 (package unknown): find ``(userId, package)`` among the registry's packages.

    For each package, longest first, whose ``"-" + package`` ends the id, the prefix is a
    candidate. The first candidate containing ``@`` with a live session wins; else the
    first containing ``@``; else :class:`InvalidSessionId`.
    """
    if not isinstance(session_id, str) or not session_id:
        raise InvalidSessionId(str(session_id), "session id is empty")
    # Longest first; ties broken by name so the result never depends on registry order.
    ordered = sorted({p for p in packages if p}, key=lambda p: (-len(p), p))
    candidates: list[tuple[UserId, PackageName]] = []
    for package in ordered:
        suffix = "-" + package
        if session_id.endswith(suffix) and len(session_id) > len(suffix):
            candidates.append((session_id[: -len(suffix)], package))
    with_at = [c for c in candidates if "@" in c[0]]
    for candidate in with_at:
        if is_live(candidate[0]):
            return candidate
    if with_at:
        return with_at[0]
    if candidates:
        raise InvalidSessionId(session_id, "no candidate user id contains '@'")
    raise InvalidSessionId(session_id, "does not end with '-<package>' for any known package")


def legacy_split(session_id: str) -> tuple[UserId, PackageName]:
    """Upstream's D1 defect: ``split('-')[0]`` as the user, ``split('-')[1]`` as the package.

    JavaScript yields ``undefined`` for a missing ``[1]``; here that is ``""``. Correct
    only when neither the email nor the package contains ``-``.
    """
    parts = session_id.split("-")
    return parts[0], parts[1] if len(parts) > 1 else ""
