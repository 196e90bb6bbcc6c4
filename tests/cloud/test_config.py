"""The generic settings loader (wsquake/config.py): precedence, types, errors naming keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from wsquake.config import ConfigError, build, load_settings


@dataclass(frozen=True, slots=True)
class Inner:
    delay_s: float = field(default=1.0, metadata={"min": 0})
    count: int = 3
    mode: Literal["a", "b"] = "a"


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outer:
    title: str = "x"
    secret: str = field(default="s", metadata={"key": "auth.secret"})
    flag: bool = False
    maybe: str | None = None
    inner: Inner = field(default_factory=Inner)
    items: tuple[Item, ...] = ()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_defaults_when_nothing_is_given() -> None:
    assert load_settings(Outer, env={}) == Outer()


def test_toml_values_fill_nested_sections_and_arrays_of_tables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'title = "t"\n[auth]\nsecret = "k"\n[inner]\ndelay_s = 2\nmode = "b"\n'
        '[[items]]\nname = "one"\ntags = ["x", "y"]\n',
    )
    got = load_settings(Outer, path, env={})
    assert got.title == "t"
    assert got.secret == "k"
    assert got.inner == Inner(delay_s=2.0, count=3, mode="b")
    assert got.items == (Item("one", ("x", "y")),)


def test_env_overrides_toml_and_overrides_beat_env(tmp_path: Path) -> None:
    path = write(tmp_path, "[inner]\ncount = 1\n")
    env = {"WSQUAKE_INNER_COUNT": "2", "WSQUAKE_AUTH_SECRET": "from-env", "WSQUAKE_FLAG": "yes"}
    got = load_settings(Outer, path, env=env)
    assert (got.inner.count, got.secret, got.flag) == (2, "from-env", True)
    got = load_settings(Outer, path, env=env, overrides={"inner__count": 5})
    assert got.inner.count == 5


def test_bad_env_number_names_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(Outer, env={"WSQUAKE_INNER_DELAY_S": "abc"})
    assert str(err.value) == 'inner.delay_s: expected a number >= 0, got "abc"'


def test_negative_duration_is_rejected_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^inner\.delay_s: expected a number >= 0, got -1"):
        load_settings(Outer, write(tmp_path, "[inner]\ndelay_s = -1\n"), env={})


def test_unknown_key_in_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^inner\.colour: unknown key"):
        load_settings(Outer, write(tmp_path, "[inner]\ncolour = 1\n"), env={})


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^bogus: unknown key"):
        load_settings(Outer, write(tmp_path, "[bogus]\nx = 1\n"), env={})


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^inner\.nope: unknown key"):
        load_settings(Outer, env={}, overrides={"inner.nope": 1})


def test_literal_outside_its_choices_names_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r'^inner\.mode: expected one of a \| b, got "c"'):
        build(Outer, {"inner": {"mode": "c"}})


def test_bool_is_not_accepted_as_a_number() -> None:
    with pytest.raises(ConfigError, match=r"^inner\.count: expected an integer"):
        build(Outer, {"inner": {"count": True}})


def test_missing_required_field_in_array_item_names_it() -> None:
    with pytest.raises(ConfigError, match=r"^items\[0\]"):
        build(Outer, {"items": [{"tags": ["a"]}]})


def test_wrong_item_type_in_list_names_the_index() -> None:
    with pytest.raises(ConfigError, match=r"^items\[0\]\.tags\[1\]: expected a string, got 3"):
        build(Outer, {"items": [{"name": "n", "tags": ["a", 3]}]})


def test_empty_env_value_sets_optional_to_none() -> None:
    got = load_settings(Outer, env={"WSQUAKE_MAYBE": ""}, overrides={})
    assert got.maybe is None


def test_unrelated_prefixed_env_is_ignored() -> None:
    assert load_settings(Outer, env={"WSQUAKE_LOG_LEVEL": "DEBUG"}) == Outer()


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(Outer, tmp_path / "absent.toml", env={})


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(Outer, write(tmp_path, "title = \n"), env={})
