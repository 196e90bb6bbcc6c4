"""Load a scenario by catalog name or from a user's ``.py`` file, validated up front.

A scenario file is a Python module that defines ``SCENARIO`` (a :class:`Scenario`) or a
function ``scenario()`` returning one. Catalog modules live in
``wsquake.scenarios.catalog`` (module ``app_link_drop`` = scenario ``app-link-drop``).
Anything wrong — a missing file, an import error, no ``SCENARIO``, a bad field — raises
:class:`ScenarioError` naming the file and the field, before anything starts.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from wsquake.scenarios import catalog
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.model import Scenario

__all__ = ["ScenarioError", "catalog_names", "load_scenario", "scenario_from_module"]

logger = logging.getLogger(__name__)


def catalog_names() -> list[str]:
    """Every catalog scenario name (hyphens), sorted."""
    return sorted(
        info.name.replace("_", "-")
        for info in pkgutil.iter_modules(catalog.__path__)
        if not info.name.startswith("_")
    )


def scenario_from_module(module: ModuleType, origin: str) -> Scenario:
    """The module's ``SCENARIO`` or ``scenario()``, checked to be a :class:`Scenario`."""
    value = getattr(module, "SCENARIO", None)
    if value is None:
        factory = getattr(module, "scenario", None)
        if factory is None:
            raise ScenarioError(f"{origin}: defines neither SCENARIO nor scenario()")
        if not callable(factory):
            raise ScenarioError(f"{origin}: scenario must be a function returning a Scenario")
        try:
            value = factory()
        except ScenarioError as exc:
            raise ScenarioError(f"{origin}: {exc}") from None
        except Exception as exc:
            raise ScenarioError(
                f"{origin}: scenario() raised {type(exc).__name__}: {exc}"
            ) from exc
    if not isinstance(value, Scenario):
        raise ScenarioError(
            f"{origin}: SCENARIO must be a wsquake.scenarios.Scenario, got "
            f"{type(value).__name__}"
        )
    return value


def _load_file(path: Path) -> Scenario:
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    if path.suffix != ".py":
        raise ScenarioError(f"{path}: a scenario file must be a .py module")
    mod_name = f"_wsquake_user_scenario_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except SyntaxError as exc:
        raise ScenarioError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise ScenarioError(f"{path}: import failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(mod_name, None)
    return scenario_from_module(module, str(path))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A catalog scenario by name (``app-link-drop``) or a scenario from a ``.py`` file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".py") or "/" in text:
        return _load_file(Path(text))
    names = catalog_names()
    if text not in names:
        raise ScenarioError(
            f"unknown scenario {text!r}: not a catalog name ({', '.join(names)}) nor a .py file"
        )
    module_name = f"{catalog.__name__}.{text.replace('-', '_')}"
    try:
        module = importlib.import_module(module_name)
    except ScenarioError as exc:
        raise ScenarioError(f"catalog {text}: {exc}") from None
    scenario = scenario_from_module(module, f"catalog {text}")
    if scenario.name != text:
        raise ScenarioError(f"catalog {text}: module defines scenario {scenario.name!r}")
    return scenario
