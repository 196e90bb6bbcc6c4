"""docker-compose.yml, deploy/ and the Dockerfile, checked without Docker: the file parses,
every service command is a real wsquake / Locust invocation whose ``--help`` succeeds,
and ports, URLs, secrets and proxy listen addresses agree between the services, the
cloud's config and the Toxiproxy /populate file."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from wsquake.cloud.settings import load_cloud_settings
from wsquake.faults.client import AsyncToxiproxyClient
from wsquake.faults.client.sync import parse_listen
from wsquake.faults.proxy import EmbeddedToxiproxy
from wsquake.faults.proxy.cli import load_config
from wsquake.scenarios.components import api_key
from wsquake.scenarios.suites import SMOKE_TIME_SCALE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
POPULATE = json.loads((ROOT / "deploy" / "toxiproxy.json").read_text())
PROXIES = {p["name"]: p for p in POPULATE}
CLOUD_TOML = tomllib.loads((ROOT / "deploy" / "cloud.toml").read_text())
SECRET = CLOUD_TOML["auth"]["jwt_secret"]
OURS = [name for name, svc in SERVICES.items() if svc.get("image") == "wsquake:dev"]


def command(name: str) -> list[str]:
    cmd = SERVICES[name]["command"]
    assert isinstance(cmd, list), f"{name}: use the exec form"
    return [str(c) for c in cmd]


def opt(argv: list[str], flag: str) -> str:
    assert flag in argv, f"{flag} missing in {argv}"
    return argv[argv.index(flag) + 1]


def listen_port(proxy: str) -> int:
    return parse_listen(PROXIES[proxy]["listen"])[1]


def host_argv(argv: list[str]) -> list[str]:
    """The container command as it runs here: /app is the repository root."""
    local = [a.replace("/app/", f"{ROOT}/") for a in argv]
    if local[0] == "wsquake":
        return [sys.executable, "-m", "wsquake", *local[1:]]
    assert local[0] == "locust"
    return [sys.executable, "-m", "locust", *local[1:]]


def test_compose_has_the_topology_services() -> None:
    assert {"cloud", "toxiproxy", "apps", "glasses", "locust-master", "locust-worker",
            "runner", "prometheus", "grafana"} <= set(SERVICES)
    assert SERVICES["prometheus"]["profiles"] == ["monitoring"]
    assert SERVICES["grafana"]["profiles"] == ["monitoring"]
    assert "ports" not in SERVICES["locust-worker"]  # scalable with --scale


def test_toxiproxy_is_the_pinned_image_listening_on_all_interfaces_with_a_cli_healthcheck() -> (
    None
):
    toxi = SERVICES["toxiproxy"]
    assert toxi["image"] == "ghcr.io/shopify/toxiproxy:2.12.0"
    assert "-host=0.0.0.0" in toxi["command"]  # overriding command drops the image's CMD
    assert toxi["healthcheck"]["test"] == ["CMD", "/toxiproxy-cli", "list"]
    config = next(a for a in toxi["command"] if a.startswith("-config="))
    mounted = {v.split(":")[1]: v.split(":")[0] for v in toxi["volumes"]}
    assert mounted[config.removeprefix("-config=")] == "./deploy/toxiproxy.json"


@pytest.mark.parametrize("service", OURS)
def test_every_service_command_is_a_real_invocation_whose_help_succeeds(service: str) -> None:
    argv = command(service)
    assert argv[0] in ("wsquake", "locust")
    done = subprocess.run([*host_argv(argv), "--help"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()


def test_every_proxy_listens_on_all_interfaces_on_a_published_port() -> None:
    published: set[int] = set()
    for mapping in SERVICES["toxiproxy"]["ports"]:
        ports = mapping.rsplit(":", 1)[1]
        lo, _, hi = ports.partition("-")
        published |= set(range(int(lo), int(hi or lo) + 1))
    for proxy in POPULATE:
        host, port = parse_listen(proxy["listen"])
        assert host == "0.0.0.0", proxy
        assert port in published, proxy


def test_every_proxy_upstream_is_a_service_port() -> None:
    ports = {
        "cloud": int(opt(command("cloud"), "--port")),
        "apps": int(opt(command("apps"), "--port")),
    }
    for proxy in POPULATE:
        host, _, port = proxy["upstream"].partition(":")
        assert host in SERVICES, proxy
        if host in ports:
            assert int(port) == ports[host], proxy
    assert ports["cloud"] == CLOUD_TOML["port"]


def test_the_populate_file_is_accepted_by_a_toxiproxy_server() -> None:
    entries = load_config(str(ROOT / "deploy" / "toxiproxy.json"))
    assert {"glasses-link", "app-link", "webhook-link"} <= {e["name"] for e in entries}


async def test_the_populate_entries_populate_a_toxiproxy_compatible_server() -> None:
    local = [{**e, "listen": "127.0.0.1:0"} for e in POPULATE]  # no fixed ports in tests
    async with EmbeddedToxiproxy(port=0) as server:
        created = await AsyncToxiproxyClient(server.url).populate(local)
    assert sorted(p.name for p in created) == sorted(PROXIES)


def test_clients_reach_the_cloud_through_the_proxy_ports() -> None:
    glasses_url = urlsplit(opt(command("glasses"), "--cloud-url"))
    locust_url = urlsplit(opt(command("locust-master"), "--host"))
    for url in (glasses_url, locust_url):
        assert (url.hostname, url.port) == ("toxiproxy", listen_port("fleet-glasses-link"))
        assert url.path == "/glasses-ws"
    app_ws = urlsplit(CLOUD_TOML["app_ws_public_url"])
    assert (app_ws.hostname, app_ws.port) == ("toxiproxy", listen_port("app-link"))


def test_the_cloud_registry_points_at_the_webhook_proxies_with_the_right_keys() -> None:
    apps = {a["package_name"]: a for a in CLOUD_TOML["apps"]}
    scenario_app = apps["com.wsquake.app1"]
    assert urlsplit(scenario_app["public_url"]).port == listen_port("webhook-link")
    assert scenario_app["api_key"] == api_key("com.wsquake.app1")
    echo = apps["com.example.echo"]
    assert urlsplit(echo["public_url"]).port == listen_port("fleet-webhook-link")
    assert echo["api_key"] == opt(command("apps"), "--api-key")
    assert opt(command("apps"), "--packages") == "com.example.echo"
    assert opt(command("glasses"), "--apps") == "com.example.echo"
    assert opt(command("locust-master"), "--glasses-apps") == "com.example.echo"


def test_the_cloud_config_loads_and_every_client_uses_its_secret() -> None:
    settings = load_cloud_settings(ROOT / "deploy" / "cloud.toml", env={})
    assert settings.jwt_secret == SECRET
    assert opt(command("glasses"), "--jwt-secret") == SECRET
    assert opt(command("locust-master"), "--glasses-jwt-secret") == SECRET
    assert SERVICES["runner"]["environment"]["WSQUAKE_AUTH_JWT_SECRET"] == SECRET


def test_the_runner_targets_the_running_cloud_and_the_real_toxiproxy() -> None:
    runner = SERVICES["runner"]
    env = runner["environment"]
    argv = command("runner")
    assert argv[:3] == ["wsquake", "suite", "smoke"]
    cloud = urlsplit(opt(argv, "--cloud-url"))
    assert (cloud.hostname, cloud.port) == ("cloud", CLOUD_TOML["port"])
    toxi = urlsplit(env["TOXIPROXY_URL"])
    assert (toxi.hostname, toxi.port) == ("toxiproxy", 8474)
    assert "-port=8474" in SERVICES["toxiproxy"]["command"]
    assert env["WSQUAKE_PROXIES"] == "existing"
    assert PROXIES["webhook-link"]["upstream"].startswith("runner:")  # re-pointed at run
    assert env["WSQUAKE_APPS_PUBLIC_HOST"] == "runner"
    assert "./runs:/runs" in runner["volumes"] and opt(argv, "--out") == "/runs"
    # The external cloud runs at the smoke suite's time scale.
    assert CLOUD_TOML["timings"]["time_scale"] == SMOKE_TIME_SCALE


def test_locust_workers_find_their_master() -> None:
    master, worker = command("locust-master"), command("locust-worker")
    assert opt(worker, "--master-host") == "locust-master"
    assert opt(worker, "--master-port") == opt(master, "--master-bind-port")
    assert opt(master, "-f") == opt(worker, "-f") == "/app/locustfile.py"
    assert (ROOT / "locustfile.py").is_file()
    assert any(p.startswith("127.0.0.1:8089:") for p in SERVICES["locust-master"]["ports"])


def test_prometheus_scrapes_the_cloud_and_grafana_gets_a_dashboard() -> None:
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    [job] = prom["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"cloud:{CLOUD_TOML['port']}"]
    assert job["metrics_path"] == "/metrics"
    dash = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "wsquake-cloud.json")
                      .read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert any("wsquake_cloud_glasses_connections" in e for e in exprs)


def test_the_dockerfile_installs_the_project_the_way_the_readme_does() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    run_lines = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert run_lines == ["RUN python3 dev.py run --version"]
    assert "python3 dev.py run" in (ROOT / "README.md").read_text()
    dev = (ROOT / "dev.py").read_text()
    assert '"pip", "install", "--quiet", "-e", ".[dev]"' in dev
    assert "ENV PATH=/app/.venv/bin:$PATH" in dockerfile  # dev.py's virtualenv
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "runs" in ignored
    for name in OURS:
        assert SERVICES[name]["build"] == "."
