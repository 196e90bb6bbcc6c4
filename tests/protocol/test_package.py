"""The package itself: sans-I/O imports, the public names, the exception tree."""

from __future__ import annotations

import ast
import pathlib

import pytest

import wsquake.protocol as protocol
from wsquake.protocol import exceptions

PACKAGE_DIR = pathlib.Path(protocol.__file__).parent
MODULES = sorted(PACKAGE_DIR.glob("*.py"))
FORBIDDEN = {"asyncio", "socket", "time", "threading", "selectors", "ssl", "subprocess"}


def _imported(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_imports_no_io_or_clock(path: pathlib.Path) -> None:
    assert _imported(path) & FORBIDDEN == set()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_never_reads_the_clock_or_global_randomness(path: pathlib.Path) -> None:
    text = path.read_text()
    for call in ("datetime.now", "datetime.utcnow", ".today(", "random.random(", "random.uniform("):
        assert call not in text, call


def test_every_public_name_is_importable() -> None:
    for name in protocol.__all__:
        assert hasattr(protocol, name), name
    assert len(set(protocol.__all__)) == len(protocol.__all__)


def test_every_exception_is_a_protocol_error_and_drawn_in_the_tree() -> None:
    doc = exceptions.__doc__ or ""
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, exceptions.ProtocolError), name
        assert name in doc, f"{name} missing from the tree in exceptions.py"
