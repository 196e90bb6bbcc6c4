"""A scenario's Locust background fleet (``Scenario.load``): a master and its workers as
managed child processes (:class:`~wsquake.scenarios.components.Components`, so they are
stopped with everything else on every exit path), their glasses through ``glasses-link``.

The master writes ``parts/locust.jsonl`` (``load_recovery`` per recovered user, received
from the workers' reports, and ``load_summary`` of the merged statistics), which the
runner merges into the scenario's history; each worker records its users' glasses events
in ``parts/glasses-locust-<i>.jsonl`` (so every checker counts them as glasses clients);
Locust's CSV statistics go to
``locust_*.csv`` in the scenario folder. Each process announces readiness on stdout
(``wsquake load master ready`` / ``wsquake load worker ready``).
"""

from __future__ import annotations

import importlib.util
import socket
import sys

from wsquake.faults.process import ReadyCheck
from wsquake.scenarios.components import Components
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.rundir import ScenarioDir

__all__ = ["LOAD_SECRET_ENV", "load_argvs", "start_load_fleet"]

#: Locust's glasses users read the token secret from this variable (not the command line).
LOAD_SECRET_ENV = "WSQUAKE_LOAD_JWT_SECRET"
SUMMARY_EVERY_S = 1.0


def _ready(role: str) -> ReadyCheck:
    line = f"wsquake load {role} ready"

    def check(text: str) -> bool | None:
        return True if text.strip() == line else None

    return check


def _free_port() -> int:
    # Locust's master binds a fixed port it cannot report back; take a free one.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load_argvs(
    scenario: Scenario, *, glasses_ws_url: str, sdir: ScenarioDir, port: int
) -> tuple[list[str], list[list[str]]]:
    """The master's and the workers' command lines for ``scenario.load``."""
    load = scenario.load
    if load is None:
        raise ScenarioError("load: the scenario has no Locust fleet")
    spec = importlib.util.find_spec("wsquake.load.locustfile")
    if spec is None or spec.origin is None or importlib.util.find_spec("locust") is None:
        raise ScenarioError("load: Locust is not installed (pip install 'locust>=2.30,<3')")
    ts = scenario.time_scale
    base = [sys.executable, "-m", "locust", "-f", spec.origin, "--loglevel", "WARNING"]
    master = [
        *base, "--master", "--headless", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", str(port), "--expect-workers", str(load.workers),
        "--host", glasses_ws_url, "--users", str(load.users),
        "--spawn-rate", repr(load.spawn_rate), "--only-summary",
        "--csv", str(sdir.path / "locust"),
        "--wsquake-history", str(sdir.part("locust")),
        "--wsquake-summary-every", repr(SUMMARY_EVERY_S),
        "--glasses-apps", ",".join(scenario.fleet.package_names()),
        "--glasses-probe-interval", f"{load.probe_interval_s * ts:g}",
        "--glasses-time-scale", repr(ts),
        "--glasses-policy", scenario.fleet.glasses_policy,
        "--glasses-seed", str(scenario.fleet.seed),
    ]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return master, [list(worker) for _ in range(load.workers)]


async def start_load_fleet(
    scenario: Scenario,
    components: Components,
    *,
    glasses_ws_url: str,
    sdir: ScenarioDir,
    jwt_secret: str,
) -> None:
    """Start the master, then its workers; each is ready once Locust has set it up."""
    master, workers = load_argvs(
        scenario, glasses_ws_url=glasses_ws_url, sdir=sdir, port=_free_port()
    )
    env = {LOAD_SECRET_ENV: jwt_secret}
    await components.start("locust-master", master, _ready("master"), extra_env=env)
    for i, argv in enumerate(workers):
        component = f"glasses-locust-{i}"  # a glasses-* component: checkers see its users
        worker_env = {
            **env,
            "WSQUAKE_LOAD_GLASSES_HISTORY": str(sdir.part(component)),
            "WSQUAKE_LOAD_GLASSES_COMPONENT": component,
        }
        await components.start(f"locust-worker-{i}", argv, _ready("worker"), extra_env=worker_env)
