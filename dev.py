#!/usr/bin/env python3
"""The two commands: set everything up, then run the main job or the tests.

    python3 dev.py run     # the main job (see README)
    python3 dev.py test    # lint, types and the whole test suite

Only Python 3.11+ is needed. The first call creates `.venv/` and installs the project
with its pinned dependency ranges; later calls reinstall only when `pyproject.toml`
changed. When Node.js is present, the official-SDK interop app's npm dependencies are
installed from its lock file the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".wsquake-installed"
SDK_APP = ROOT / "tests" / "cloud" / "sdk_app"

MAIN_JOB = ["suite", "smoke"]


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


def _run(cmd: list[str], **kwargs: object) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 is
        sys.exit(f"wsquake needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _digest(ROOT / "pyproject.toml")
    if not STAMP.exists() or STAMP.read_text() != wanted:
        steps = [
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [str(PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[dev]"],
        ]
        for cmd in steps:
            if _run(cmd) != 0:
                sys.exit("installing the project failed; see the pip output above")
        STAMP.write_text(wanted)


def ensure_node_deps() -> None:
    """Install the SDK interop app's npm packages from its lock file, if Node.js is here."""
    lock = SDK_APP / "package-lock.json"
    npm = shutil.which("npm")
    if not lock.exists() or npm is None or shutil.which("node") is None:
        return
    stamp = SDK_APP / "node_modules" / ".wsquake-installed"
    wanted = _digest(lock)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if _run([npm, "ci", "--prefix", str(SDK_APP), "--no-audit", "--no-fund"]) != 0:
        sys.exit("npm ci for the SDK interop app failed; see the npm output above")
    stamp.write_text(wanted)


def cmd_test(extra: list[str]) -> int:
    ensure_venv()
    ensure_node_deps()
    checks = [
        [str(BIN / "ruff"), "check", "wsquake", "tests", "bench", "dev.py", "locustfile.py"],
        [str(BIN / "mypy")],
        [str(PYTHON), "-m", "pytest", *extra],
    ]
    failed = [cmd[0] for cmd in checks if _run(cmd) != 0]
    if failed:
        print(f"FAILED: {', '.join(Path(c).name for c in failed)}", flush=True)
        return 1
    return 0


def cmd_run(extra: list[str]) -> int:
    ensure_venv()
    args = extra or MAIN_JOB
    try:
        return _run([str(BIN / "wsquake"), *args])
    except KeyboardInterrupt:
        return 130


def main(argv: list[str]) -> int:
    commands = {"run": cmd_run, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 64
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
