"""Hyphen-safe app session ids (§8) and upstream's broken split (D1)."""

from __future__ import annotations

import pytest

from wsquake.protocol import (
    InvalidSessionId,
    legacy_split,
    make_app_session_id,
    resolve_app_session_id,
    user_for_package,
)

HYPHEN_USER = "anne-marie@ex-ample.com"
HYPHEN_PKG = "com.ex-ample.app"


def live(*users: str):  # type: ignore[no-untyped-def]
    return lambda user: user in users


@pytest.mark.parametrize(
    ("user", "package"),
    [
        ("bob@example.com", "com.example.echo"),
        (HYPHEN_USER, HYPHEN_PKG),
        (HYPHEN_USER, "com.example.echo"),
        ("bob@example.com", HYPHEN_PKG),
        ("a-b-c@d-e-f.g", "x-y-z"),
    ],
)
def test_make_then_user_for_package_recovers_the_user(user: str, package: str) -> None:
    session_id = make_app_session_id(user, package)
    assert session_id == f"{user}-{package}"
    assert user_for_package(session_id, package) == user


@pytest.mark.parametrize(
    ("user", "package"), [("", "com.p"), ("u@x", "")], ids=["empty-user", "empty-package"]
)
def test_make_app_session_id_rejects_empty_parts(user: str, package: str) -> None:
    with pytest.raises(InvalidSessionId, match="empty"):
        make_app_session_id(user, package)


@pytest.mark.parametrize(
    ("session_id", "package", "reason"),
    [
        ("bob@example.com-com.other", "com.example.echo", "does not end with"),
        ("bob@example.com.com.example.echo", "com.example.echo", "does not end with"),
        ("-com.example.echo", "com.example.echo", "user id before the package is empty"),
        ("", "com.example.echo", "session id is empty"),
        ("bob@example.com-", "", "package name is empty"),
    ],
)
def test_user_for_package_rejects_ids_not_ending_in_the_package(
    session_id: str, package: str, reason: str
) -> None:
    with pytest.raises(InvalidSessionId, match=reason) as info:
        user_for_package(session_id, package)
    assert info.value.session_id == session_id


def test_user_for_package_returns_the_prefix_even_when_it_names_another_user() -> None:
    # Rule 1 only parses; the caller compares the prefix with the live session it found.
    assert user_for_package("mallory@evil.com-com.p", "com.p") == "mallory@evil.com"


def test_resolve_prefers_the_longest_matching_package() -> None:
    packages = ["app", "ex-ample.app", "com.ex-ample.app"]
    session_id = f"{HYPHEN_USER}-com.ex-ample.app"
    assert resolve_app_session_id(session_id, packages, live(HYPHEN_USER)) == (
        HYPHEN_USER,
        "com.ex-ample.app",
    )


def test_resolve_prefers_a_candidate_with_a_live_session() -> None:
    # "a@b.c-x-y" splits as (a@b.c-x, y) with package "y" or (a@b.c, x-y) with package "x-y".
    packages = ["y", "x-y"]
    assert resolve_app_session_id("a@b.c-x-y", packages, live("a@b.c")) == ("a@b.c", "x-y")
    assert resolve_app_session_id("a@b.c-x-y", packages, live("a@b.c-x")) == ("a@b.c-x", "y")


def test_resolve_falls_back_to_the_first_candidate_with_an_at_sign() -> None:
    assert resolve_app_session_id("a@b.c-x-y", ["y", "x-y"], live()) == ("a@b.c", "x-y")


def test_resolve_skips_candidates_without_an_at_sign() -> None:
    # The longest package "u@x-p" leaves the prefix "k" (no @), even though "k" is live;
    # the shorter "p" leaves "k-u@x", which is the answer.
    assert resolve_app_session_id("k-u@x-p", ["u@x-p", "p"], live("k")) == ("k-u@x", "p")


def test_resolve_does_not_depend_on_registry_order() -> None:
    forward = resolve_app_session_id("a@b.c-x-y", ["y", "x-y"], live())
    backward = resolve_app_session_id("a@b.c-x-y", ["x-y", "y"], live())
    assert forward == backward


@pytest.mark.parametrize(
    ("session_id", "packages", "reason"),
    [
        ("bob@example.com-com.unknown", ["com.example.echo"], "any known package"),
        ("nobody-com.p", ["com.p"], "contains '@'"),
        ("com.p", ["com.p"], "any known package"),
        ("", ["com.p"], "empty"),
        ("bob@example.com-com.p", [], "any known package"),
    ],
    ids=["unknown-package", "no-at", "package-only", "empty", "no-registry"],
)
def test_resolve_rejects_ids_that_fit_no_package(
    session_id: str, packages: list[str], reason: str
) -> None:
    with pytest.raises(InvalidSessionId, match=reason):
        resolve_app_session_id(session_id, packages, live("bob@example.com"))


def test_legacy_split_is_right_without_hyphens() -> None:
    assert legacy_split("bob@example.com-com.example.echo") == (
        "bob@example.com",
        "com.example.echo",
    )


@pytest.mark.parametrize(
    ("user", "package", "legacy"),
    [
        (HYPHEN_USER, "com.example.echo", ("anne", "marie@ex")),
        ("bob@ex-ample.com", "com.example.echo", ("bob@ex", "ample.com")),
        ("bob@example.com", HYPHEN_PKG, ("bob@example.com", "com.ex")),
    ],
)
def test_legacy_split_breaks_on_hyphens_d1(
    user: str, package: str, legacy: tuple[str, str]
) -> None:
    session_id = make_app_session_id(user, package)
    assert legacy_split(session_id) == legacy
    assert legacy_split(session_id) != (user, package)
    assert user_for_package(session_id, package) == user


def test_legacy_split_without_hyphen_gives_an_empty_package() -> None:
    assert legacy_split("nohyphen") == ("nohyphen", "")
