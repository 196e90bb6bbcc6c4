"""Shared HTTP API cases A01-A16 (spec/TOXIPROXY.md §5.1): both backends, no data plane."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
import requests
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import NotFound as PyNotFound
from toxiproxy.exceptions import ProxyExists

from tests.toxiproxy_conformance.conftest import Backend, ProxyFactory
from wsquake.faults.client import ToxiproxyClient
from wsquake.faults.client.sync import parse_listen

Api = Callable[..., requests.Response]
pytestmark = pytest.mark.timeout(30)
UPSTREAM = "127.0.0.1:9"  # never dialled: these cases open no proxied connection

PROXY_KEYS = {"name", "listen", "upstream", "enabled", "toxics"}
TOXIC_ATTRIBUTES = {
    "latency": {"latency", "jitter"},
    "bandwidth": {"rate"},
    "slow_close": {"delay"},
    "timeout": {"timeout"},
    "reset_peer": {"timeout"},
    "slicer": {"average_size", "size_variation", "delay"},
    "limit_data": {"bytes"},
    "noop": set(),
}


def error_of(response: requests.Response) -> str:
    """The ``error`` field of a JSON error body, whatever the content type."""
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("status") == response.status_code, body
    return str(body["error"])


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port bound (and listening) by the test itself."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


@pytest.fixture
def proxy_name(make_proxy: ProxyFactory, api: Api) -> str:
    name = make_proxy.name()
    assert api("POST", "/proxies", {"name": name, "upstream": UPSTREAM,
                                     "listen": "127.0.0.1:0"}).status_code == 201
    return name


# --- A01-A04: version, create ---------------------------------------------------------


def test_a01_version_is_an_object_with_a_string_version(api: Api) -> None:
    response = api("GET", "/version")
    assert response.status_code == 200
    assert isinstance(response.json()["version"], str)


def test_a02_create_returns_201_with_normalised_listen(make_proxy: ProxyFactory, api: Api) -> None:
    name = make_proxy.name()
    response = api("POST", "/proxies", {"name": name, "upstream": UPSTREAM,
                                         "listen": "localhost:0"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == PROXY_KEYS
    assert body["toxics"] == []
    assert body["enabled"] is True
    host, port = parse_listen(body["listen"])
    assert host == "127.0.0.1"
    assert port != 0


def test_a03_duplicate_proxy_is_409(proxy_name: str, api: Api) -> None:
    response = api("POST", "/proxies", {"name": proxy_name, "upstream": UPSTREAM,
                                         "listen": "127.0.0.1:0"})
    assert response.status_code == 409
    assert error_of(response) == "proxy already exists"


@pytest.mark.parametrize("missing", ["name", "upstream"])
def test_a03_missing_field_is_400(missing: str, make_proxy: ProxyFactory, api: Api) -> None:
    body = {"name": make_proxy.name(), "upstream": UPSTREAM, "listen": "127.0.0.1:0"}
    del body[missing]
    response = api("POST", "/proxies", body)
    assert response.status_code == 400
    assert error_of(response) == f"missing required field: {missing}"


def test_a03_malformed_json_is_400_bad_request_body(api: Api) -> None:
    response = api("POST", "/proxies", data=b'{"name": "ct-x", ')
    assert response.status_code == 400
    assert error_of(response).startswith("bad request body")


def test_a04_listen_on_a_held_port_is_500_and_not_added(
    make_proxy: ProxyFactory, api: Api, held_port: int
) -> None:
    name = make_proxy.name()
    response = api("POST", "/proxies", {"name": name, "upstream": UPSTREAM,
                                         "listen": f"127.0.0.1:{held_port}"})
    assert response.status_code == 500
    assert error_of(response)
    assert api("GET", f"/proxies/{name}").status_code == 404


# --- A05-A07: missing objects, updates, deletes ---------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"enabled": True}),
        ("POST", "", {"enabled": True}),
        ("DELETE", "", None),
        ("GET", "/toxics", None),
        ("POST", "/toxics", {"type": "latency"}),
        ("GET", "/toxics/latency_downstream", None),
        ("PATCH", "/toxics/latency_downstream", {"toxicity": 0.5}),
        ("DELETE", "/toxics/latency_downstream", None),
    ],
)
def test_a05_unknown_proxy_is_404_on_every_route(
    method: str, suffix: str, body: object, api: Api
) -> None:
    response = api(method, "/proxies/ct-no-such-proxy" + suffix, body)
    assert response.status_code == 404
    assert error_of(response) == "proxy not found"


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"toxicity": 0.5}), ("DELETE", None)]
)
def test_a05_unknown_toxic_is_404(method: str, body: object, proxy_name: str, api: Api) -> None:
    response = api(method, f"/proxies/{proxy_name}/toxics/nope", body)
    assert response.status_code == 404
    assert error_of(response) == "toxic not found"


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_a06_update_upstream_shows_the_new_value(method: str, proxy_name: str, api: Api) -> None:
    response = api(method, f"/proxies/{proxy_name}", {"upstream": "127.0.0.1:7"})
    assert response.status_code == 200, response.text
    assert response.json()["upstream"] == "127.0.0.1:7"
    assert api("GET", f"/proxies/{proxy_name}").json()["upstream"] == "127.0.0.1:7"


def test_a06_update_with_empty_body_is_400(proxy_name: str, api: Api) -> None:
    assert api("PATCH", f"/proxies/{proxy_name}", data=b"").status_code == 400


def test_a07_delete_proxy_is_204_then_404(proxy_name: str, api: Api) -> None:
    response = api("DELETE", f"/proxies/{proxy_name}")
    assert response.status_code == 204
    assert response.content == b""
    assert api("GET", f"/proxies/{proxy_name}").status_code == 404


def test_a07_delete_toxic_is_204_then_404(proxy_name: str, api: Api) -> None:
    path = f"/proxies/{proxy_name}/toxics"
    assert api("POST", path, {"type": "latency"}).status_code == 200
    response = api("DELETE", path + "/latency_downstream")
    assert response.status_code == 204
    assert response.content == b""
    assert api("GET", path + "/latency_downstream").status_code == 404


# --- A08-A11: toxics --------------------------------------------------------------------


def test_a08_toxic_with_only_type_gets_the_defaults(proxy_name: str, api: Api) -> None:
    response = api("POST", f"/proxies/{proxy_name}/toxics", {"type": "latency"})
    assert response.status_code == 200, response.text
    toxic = response.json()
    assert toxic["name"] == "latency_downstream"
    assert toxic["stream"] == "downstream"
    assert toxic["toxicity"] == 1
    assert toxic["type"] == "latency"


@pytest.mark.parametrize("toxic_type", sorted(TOXIC_ATTRIBUTES))
def test_a08_toxic_attributes_are_the_full_set_of_the_type(
    toxic_type: str, proxy_name: str, api: Api
) -> None:
    body: dict[str, object] = {"type": toxic_type}
    if toxic_type == "slicer":
        body["attributes"] = {"average_size": 10}
    response = api("POST", f"/proxies/{proxy_name}/toxics", body)
    assert response.status_code == 200, response.text
    attributes = response.json()["attributes"]
    assert set(attributes) == TOXIC_ATTRIBUTES[toxic_type]
    unset = set(attributes) - {"average_size"}
    assert all(attributes[key] == 0 for key in unset), attributes


def test_a09_same_name_on_the_other_stream_is_409(proxy_name: str, api: Api) -> None:
    path = f"/proxies/{proxy_name}/toxics"
    assert api("POST", path, {"type": "latency", "name": "lag"}).status_code == 200
    response = api("POST", path, {"type": "latency", "name": "lag", "stream": "upstream"})
    assert response.status_code == 409
    assert error_of(response) == "toxic already exists"


def test_a09_bad_stream_is_400(proxy_name: str, api: Api) -> None:
    response = api("POST", f"/proxies/{proxy_name}/toxics", {"type": "latency", "stream": "up"})
    assert response.status_code == 400
    assert error_of(response) == "stream was invalid, can be either upstream or downstream"


def test_a09_bad_type_is_400(proxy_name: str, api: Api) -> None:
    response = api("POST", f"/proxies/{proxy_name}/toxics", {"type": "lag"})
    assert response.status_code == 400
    assert error_of(response) == "invalid toxic type"


@pytest.mark.parametrize("value", ["100.0", '"100"', "1e2", "true"])
def test_a10_non_integer_attribute_is_400(value: str, proxy_name: str, api: Api) -> None:
    # Go's encoding/json accepts only integer literals for int64 fields (spec §1.1).
    body = '{"type": "latency", "attributes": {"latency": ' + value + "}}"
    assert api("POST", f"/proxies/{proxy_name}/toxics", data=body).status_code == 400


def test_a11_patch_merges_attributes_and_replaces_toxicity_only_if_given(
    proxy_name: str, api: Api
) -> None:
    path = f"/proxies/{proxy_name}/toxics"
    body = {"type": "latency", "toxicity": 0.9, "attributes": {"latency": 100}}
    assert api("POST", path, body).status_code == 200
    first = api("PATCH", path + "/latency_downstream", {"attributes": {"jitter": 10}})
    assert first.status_code == 200, first.text
    assert first.json()["attributes"] == {"latency": 100, "jitter": 10}
    assert first.json()["toxicity"] == pytest.approx(0.9)
    second = api("PATCH", path + "/latency_downstream", {"toxicity": 0.5})
    assert second.status_code == 200, second.text
    assert second.json()["toxicity"] == pytest.approx(0.5)
    assert second.json()["attributes"] == {"latency": 100, "jitter": 10}


def test_a11_toxics_are_listed_upstream_first_then_in_insertion_order(
    proxy_name: str, api: Api
) -> None:
    path = f"/proxies/{proxy_name}/toxics"
    for name, stream in [("d1", "downstream"), ("u1", "upstream"), ("d2", "downstream")]:
        assert api("POST", path, {"type": "noop", "name": name, "stream": stream}).ok
    assert [t["name"] for t in api("GET", path).json()] == ["u1", "d1", "d2"]
    assert [t["name"] for t in api("GET", f"/proxies/{proxy_name}").json()["toxics"]] == [
        "u1",
        "d1",
        "d2",
    ]


# --- A12-A14: populate, reset -------------------------------------------------------


def test_a12_populate_creates_entries_in_the_given_states(
    make_proxy: ProxyFactory, api: Api
) -> None:
    first, second = make_proxy.name(), make_proxy.name()
    entries = [
        {"name": first, "upstream": UPSTREAM, "listen": "127.0.0.1:0"},
        {"name": second, "upstream": UPSTREAM, "listen": "127.0.0.1:0", "enabled": False},
    ]
    response = api("POST", "/populate", entries)
    assert response.status_code == 201, response.text
    proxies = {p["name"]: p for p in response.json()["proxies"]}
    assert proxies[first]["enabled"] is True
    assert parse_listen(proxies[first]["listen"])[1] != 0
    assert proxies[second]["enabled"] is False


def test_a12_populate_again_with_the_returned_listen_keeps_toxics_and_state(
    make_proxy: ProxyFactory, api: Api
) -> None:
    name = make_proxy.name()
    created = api("POST", "/populate", [{"name": name, "upstream": UPSTREAM,
                                         "listen": "127.0.0.1:0"}]).json()["proxies"][0]
    assert api("POST", f"/proxies/{name}/toxics", {"type": "noop"}).ok
    again = api("POST", "/populate", [{"name": name, "upstream": UPSTREAM,
                                       "listen": created["listen"], "enabled": False}])
    assert again.status_code == 201, again.text
    now = api("GET", f"/proxies/{name}").json()
    assert now["enabled"] is True
    assert now["listen"] == created["listen"]
    assert [t["name"] for t in now["toxics"]] == ["noop_downstream"]


def test_a12_populate_with_a_changed_upstream_replaces_the_proxy_without_toxics(
    make_proxy: ProxyFactory, api: Api
) -> None:
    name = make_proxy.name()
    created = api("POST", "/populate", [{"name": name, "upstream": UPSTREAM,
                                         "listen": "127.0.0.1:0"}]).json()["proxies"][0]
    assert api("POST", f"/proxies/{name}/toxics", {"type": "noop"}).ok
    changed = api("POST", "/populate", [{"name": name, "upstream": "127.0.0.1:7",
                                         "listen": created["listen"]}])
    assert changed.status_code == 201, changed.text
    now = api("GET", f"/proxies/{name}").json()
    assert now["upstream"] == "127.0.0.1:7"
    assert now["toxics"] == []


def test_a13_populate_missing_name_is_400_and_creates_nothing(
    make_proxy: ProxyFactory, api: Api
) -> None:
    first = make_proxy.name()
    entries = [
        {"name": first, "upstream": UPSTREAM, "listen": "127.0.0.1:0"},
        {"upstream": UPSTREAM, "listen": "127.0.0.1:0"},
    ]
    response = api("POST", "/populate", entries)
    assert response.status_code == 400
    assert error_of(response) == "missing required field: name at proxy 2"
    assert api("GET", f"/proxies/{first}").status_code == 404


def test_a13_populate_failing_second_entry_keeps_the_first(
    make_proxy: ProxyFactory, api: Api, held_port: int
) -> None:
    first, second = make_proxy.name(), make_proxy.name()
    entries = [
        {"name": first, "upstream": UPSTREAM, "listen": "127.0.0.1:0"},
        {"name": second, "upstream": UPSTREAM, "listen": f"127.0.0.1:{held_port}"},
    ]
    response = api("POST", "/populate", entries)
    assert response.status_code != 201
    assert response.status_code >= 400
    assert api("GET", f"/proxies/{first}").status_code == 200
    assert api("GET", f"/proxies/{second}").status_code == 404


def test_a14_reset_enables_proxies_and_removes_toxics_keeping_listen(
    proxy_name: str, api: Api
) -> None:
    path = f"/proxies/{proxy_name}"
    listen = api("GET", path).json()["listen"]
    assert api("POST", path + "/toxics", {"type": "latency"}).ok
    assert api("PATCH", path, {"enabled": False}).json()["enabled"] is False
    response = api("POST", "/reset")
    assert response.status_code == 204
    now = api("GET", path).json()
    assert now["enabled"] is True
    assert now["toxics"] == []
    assert now["listen"] == listen


# --- A15-A16: router, toxiproxy-python -------------------------------------------------


def test_a15_unknown_path_is_404(api: Api) -> None:
    assert api("GET", "/no/such/route").status_code == 404


def test_a15_wrong_method_on_a_known_path_is_405(api: Api) -> None:
    assert api("PUT", "/proxies/x", {"enabled": True}).status_code == 405


def test_a15_browser_user_agent_is_403(api: Api) -> None:
    response = api("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert response.status_code == 403


@pytest.fixture
def py_toxiproxy(client: ToxiproxyClient) -> Iterator[Toxiproxy]:
    """``toxiproxy-python`` pointed at the backend (its host/port are process-global)."""
    saved = (APIConsumer.host, APIConsumer.port)
    server = Toxiproxy()
    server.update_api_consumer(client.consumer.host, client.consumer.port)
    try:
        yield server
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_a16_toxiproxy_python_full_cycle(
    backend: Backend, py_toxiproxy: Toxiproxy, make_proxy: ProxyFactory
) -> None:
    if backend.url.startswith("https://"):
        pytest.skip("toxiproxy-python speaks http only")
    client = backend.client
    assert b'"version"' in py_toxiproxy.version()
    name = make_proxy.name()
    proxy = py_toxiproxy.create(upstream=UPSTREAM, name=name)
    assert parse_listen(proxy.listen)[1] != 0
    with pytest.raises(ProxyExists):
        py_toxiproxy.create(upstream=UPSTREAM, name=name)

    proxy.add_toxic(type="latency", attributes={"latency": 100})
    assert set(proxy.toxics()) == {"latency_downstream"}
    assert proxy.get_toxic("latency_downstream").attributes["latency"] == 100
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="latency", stream="upstream", name="latency_downstream")

    proxy.disable()
    assert client.proxy(name).enabled is False
    proxy.enable()
    assert client.proxy(name).enabled is True
    with proxy.down():
        assert client.proxy(name).enabled is False
    assert client.proxy(name).enabled is True

    assert proxy.destroy_toxic("latency_downstream") is True
    with pytest.raises(PyNotFound):
        proxy.destroy_toxic("latency_downstream")
    proxy.add_toxic(type="noop")
    assert py_toxiproxy.reset() is True
    assert proxy.toxics() == {}
    assert name in py_toxiproxy.proxies()
    assert py_toxiproxy.destroy(proxy) is True
    assert py_toxiproxy.get_proxy(name) is None
