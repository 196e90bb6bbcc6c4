"""The Toxiproxy client wrapper's own behaviour (wsquake.faults.client).

Error mapping and context managers run against a real embedded server (started once per
module in a thread); backend detection and odd answers against a tiny local HTTP server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from toxiproxy.api import APIConsumer

from wsquake.faults.client import (
    AsyncToxiproxyClient,
    BackendKind,
    BackendSetting,
    BadRequest,
    Bandwidth,
    Conflict,
    DropChunk,
    Forbidden,
    InvalidArgument,
    Latency,
    LimitData,
    Noop,
    NotFound,
    PopulateError,
    ProxyInfo,
    ResetPeer,
    ServerError,
    Slicer,
    SlowClose,
    Stream,
    Timeout,
    ToxicSpec,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyTimeout,
    ToxiproxyUnavailable,
    UnexpectedResponse,
    UnsupportedByBackend,
    WsClose,
    WsDelay,
    WsDrop,
    WsDropType,
    resolve_toxiproxy_url,
    toxiproxy_backend,
)
from wsquake.faults.client.errors import error_for_status

UPSTREAM = "127.0.0.1:9"


class Boom(Exception):
    """Raised by a test body to check cleanup on the error path."""


# --- builders ---------------------------------------------------------------------------


def test_latency_serialises_type_stream_toxicity_and_attributes() -> None:
    assert Latency(200, jitter=20, stream="upstream", toxicity=0.5).to_json() == {
        "type": "latency",
        "stream": "upstream",
        "toxicity": 0.5,
        "attributes": {"latency": 200, "jitter": 20},
    }


def test_name_is_sent_only_when_given_and_defaults_to_type_and_stream() -> None:
    assert "name" not in Noop().to_json()
    assert Noop().effective_name == "noop_downstream"
    assert Noop(name="n", stream=Stream.UPSTREAM).to_json()["name"] == "n"


def test_slicer_sends_delay_us_as_delay() -> None:
    assert Slicer(100, 20, 10_000).to_json()["attributes"] == {
        "average_size": 100,
        "size_variation": 20,
        "delay": 10_000,
    }


def test_integral_float_is_sent_as_int() -> None:
    attributes = Latency(latency=100.0).to_json()["attributes"]
    assert attributes["latency"] == 100
    assert type(attributes["latency"]) is int


@pytest.mark.parametrize(
    "make",
    [
        lambda v: Latency(v),
        lambda v: Latency(jitter=v),
        lambda v: Bandwidth(v),
        lambda v: SlowClose(v),
        lambda v: Timeout(v),
        lambda v: ResetPeer(v),
        lambda v: LimitData(v),
        lambda v: WsDrop(every=v),
        lambda v: WsDelay(latency=v),
        lambda v: WsClose(after_messages=v),
        lambda v: DropChunk(burst=v),
    ],
)
@pytest.mark.parametrize("value", [True, 1.5, "100", float("nan"), None])
def test_integer_fields_reject_bool_fraction_string_nan_and_none(make: Any, value: object) -> None:
    with pytest.raises(InvalidArgument, match="must be an integer"):
        make(value)


@pytest.mark.parametrize(
    "make",
    [lambda: Bandwidth(-1), lambda: Latency(-5), lambda: LimitData(-1), lambda: Latency(2**63)],
)
def test_integer_fields_reject_values_out_of_range(make: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"must be in \["):
        make()


@pytest.mark.parametrize(("average", "variation"), [(0, 0), (10, 10), (10, 11), (10, -1)])
def test_slicer_requires_variation_below_average(average: int, variation: int) -> None:
    with pytest.raises(InvalidArgument, match="Slicer.*size_variation"):
        Slicer(average, variation)


@pytest.mark.parametrize("toxicity", [-0.1, 1.5, float("nan"), True, "1"])
def test_toxicity_must_be_a_number_in_the_unit_interval(toxicity: object) -> None:
    with pytest.raises(InvalidArgument, match=r"toxicity"):
        Latency(100, toxicity=toxicity)  # type: ignore[arg-type]


def test_stream_must_be_upstream_or_downstream() -> None:
    with pytest.raises(InvalidArgument, match="Latency.stream must be 'upstream' or 'downstream'"):
        Latency(100, stream="up")


def test_empty_name_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="name"):
        Noop(name="")


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 2999, 5000, -1])
def test_ws_close_rejects_codes_a_peer_must_not_receive(code: int) -> None:
    with pytest.raises(InvalidArgument, match="WsClose.code"):
        WsClose(code=code)


def test_ws_close_reason_is_limited_to_123_utf8_bytes() -> None:
    WsClose(reason="é" * 61)
    with pytest.raises(InvalidArgument, match="123 UTF-8 bytes"):
        WsClose(reason="é" * 62)


def test_ws_drop_type_pattern_must_be_a_valid_regex() -> None:
    with pytest.raises(InvalidArgument, match="WsDropType.pattern"):
        WsDropType("audio_(")


@pytest.mark.parametrize("probability", [-0.01, 1.01, "0.5"])
def test_extension_probability_must_be_in_the_unit_interval(probability: object) -> None:
    with pytest.raises(InvalidArgument, match="WsDrop.probability"):
        WsDrop(probability=probability)  # type: ignore[arg-type]


def test_ws_kind_is_a_closed_set() -> None:
    assert WsDrop(kind="text").to_json()["attributes"]["kind"] == "text"
    with pytest.raises(InvalidArgument, match="WsDrop.kind"):
        WsDrop(kind="json")


def test_drop_chunk_burst_is_at_least_one() -> None:
    with pytest.raises(InvalidArgument, match="burst"):
        DropChunk(burst=0)


def test_ws_delay_sends_pattern_and_field_only_when_given() -> None:
    assert set(WsDelay(latency=5).to_json()["attributes"]) == {"latency", "jitter", "kind"}
    with_pattern = WsDelay(latency=5, pattern="a.*", field="t").to_json()["attributes"]
    assert (with_pattern["pattern"], with_pattern["field"]) == ("a.*", "t")


def test_builders_are_frozen() -> None:
    spec = Latency(100)
    with pytest.raises(AttributeError):
        spec.latency = 5  # type: ignore[misc]


# --- TOXIPROXY_URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, BackendSetting(BackendKind.EMBEDDED, "127.0.0.1", 0)),
        ("", BackendSetting(BackendKind.EMBEDDED, "127.0.0.1", 0)),
        ("  embedded ", BackendSetting(BackendKind.EMBEDDED, "127.0.0.1", 0)),
        ("embedded://0.0.0.0:8474", BackendSetting(BackendKind.EMBEDDED, "0.0.0.0", 8474)),
        (
            "http://127.0.0.1:8474",
            BackendSetting(BackendKind.REMOTE, "127.0.0.1", 8474, "http://127.0.0.1:8474"),
        ),
        (
            "https://toxi.example/",
            BackendSetting(BackendKind.REMOTE, "toxi.example", -1, "https://toxi.example"),
        ),
    ],
)
def test_resolve_toxiproxy_url_table(value: str | None, expected: BackendSetting) -> None:
    env = {} if value is None else {"TOXIPROXY_URL": value}
    assert resolve_toxiproxy_url(env) == expected


@pytest.mark.parametrize(
    "value",
    ["ftp://h:1", "embedded://h", "http://:80", "http://h:99999", "localhost:8474", "http://h/x"],
)
def test_resolve_toxiproxy_url_rejects_other_values_naming_the_variable(value: str) -> None:
    with pytest.raises(InvalidArgument, match="TOXIPROXY_URL"):
        resolve_toxiproxy_url({"TOXIPROXY_URL": value})


def test_client_without_url_refuses_an_embedded_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", "embedded")
    with pytest.raises(InvalidArgument, match="toxiproxy_backend"):
        ToxiproxyClient()


def test_client_rejects_a_bad_update_method_and_timeout() -> None:
    with pytest.raises(InvalidArgument, match="update_method"):
        ToxiproxyClient("http://127.0.0.1:1", update_method="PUT")
    with pytest.raises(InvalidArgument, match="timeout"):
        ToxiproxyClient("http://127.0.0.1:1", timeout=0)


def test_clients_are_bound_to_their_own_url_and_leave_toxiproxy_python_global_alone() -> None:
    before = (APIConsumer.host, APIConsumer.port)
    a = ToxiproxyClient("http://127.0.0.2:1111")
    b = ToxiproxyClient("https://toxi.example")
    assert (a.consumer.host, a.consumer.port) == ("127.0.0.2", 1111)
    assert (b.consumer.host, b.consumer.port, b.consumer.base_url) == (
        "toxi.example",
        443,
        "https://toxi.example",
    )
    assert (APIConsumer.host, APIConsumer.port) == before


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("0.0.0.0:7000", ("10.1.2.3", 7000)),
        ("[::]:7000", ("10.1.2.3", 7000)),
        (":7000", ("10.1.2.3", 7000)),
        ("[::1]:7000", ("::1", 7000)),
    ],
)
def test_connect_address_maps_wildcards_to_the_api_host(
    listen: str, expected: tuple[str, int]
) -> None:
    client = ToxiproxyClient("http://10.1.2.3:8474")
    assert client.connect_address(ProxyInfo("p", listen, UPSTREAM, True)) == expected


# --- a tiny non-embedded HTTP server ----------------------------------------------------------


class FakeApi(ThreadingHTTPServer):
    """Answers ``/version`` like a real Toxiproxy (no embedded header); records requests."""

    daemon_threads = True

    def __init__(self, answers: dict[tuple[str, str], tuple[int, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.answers = answers
        self.seen: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FakeHandler(BaseHTTPRequestHandler):
    server: FakeApi
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.command, self.path))
        status, body = self.server.answers.get(
            (self.command, self.path), (404, b'{"error":"proxy not found","status":404}\n')
        )
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    server = FakeApi({("GET", "/version"): (200, b'{"version": "2.12.0"}\n')})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_extension_toxic_is_refused_before_sending_to_a_real_server(fake_api: FakeApi) -> None:
    client = ToxiproxyClient(fake_api.url)
    assert client.is_embedded is False
    with pytest.raises(UnsupportedByBackend, match="x-ws-drop"):
        client.add_toxic("p", WsDrop(every=2))
    with pytest.raises(UnsupportedByBackend):
        client.create_proxy_with_toxics("p", UPSTREAM, [Noop(), DropChunk()])
    assert fake_api.seen == [("GET", "/version")]


def test_builtin_toxic_is_sent_to_a_real_server(fake_api: FakeApi) -> None:
    with pytest.raises(NotFound, match="proxy not found"):
        ToxiproxyClient(fake_api.url).add_toxic("p", Latency(5))
    assert fake_api.seen == [("POST", "/proxies/p/toxics")]


def test_non_json_error_body_is_kept_as_the_message(fake_api: FakeApi) -> None:
    fake_api.answers[("GET", "/proxies")] = (503, b"upstream timed out\n")
    with pytest.raises(ServerError) as caught:
        ToxiproxyClient(fake_api.url).proxies()
    assert (caught.value.status, caught.value.message) == (503, "upstream timed out")
    assert (caught.value.method, caught.value.path) == ("GET", "/proxies")


def test_success_with_a_malformed_body_is_unexpected_response(fake_api: FakeApi) -> None:
    fake_api.answers[("GET", "/proxies/p")] = (200, b'{"name": "p"}')
    with pytest.raises(UnexpectedResponse, match="listen"):
        ToxiproxyClient(fake_api.url).proxy("p")


def test_unreachable_server_is_toxiproxy_unavailable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with pytest.raises(ToxiproxyUnavailable) as caught:
        ToxiproxyClient(f"http://127.0.0.1:{port}").proxies()
    assert not isinstance(caught.value, ToxiproxyTimeout)


def test_silent_server_is_toxiproxy_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:  # accepts in the kernel, never answers
        client = ToxiproxyClient(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=0.2)
        with pytest.raises(ToxiproxyTimeout, match="GET /version"):
            client.version()


# --- against the embedded server ------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[ToxiproxyClient]:
    with toxiproxy_backend("embedded") as client:
        yield client


@pytest.fixture
def proxy(client: ToxiproxyClient, request: pytest.FixtureRequest) -> Iterator[ProxyInfo]:
    with client.temp_proxy(f"tc-{request.node.name}"[:80], UPSTREAM) as info:
        yield info


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def test_embedded_server_is_detected(client: ToxiproxyClient) -> None:
    assert client.is_embedded is True
    assert client.version()


def test_conflict_carries_status_message_method_and_path(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    with pytest.raises(Conflict) as caught:
        client.create_proxy(proxy.name, UPSTREAM)
    error = caught.value
    assert (error.status, error.message) == (409, "proxy already exists")
    assert (error.method, error.path) == ("POST", "/proxies")


def test_missing_proxy_and_toxic_are_not_found(client: ToxiproxyClient, proxy: ProxyInfo) -> None:
    with pytest.raises(NotFound, match="proxy not found"):
        client.proxy("tc-no-such-proxy")
    with pytest.raises(NotFound, match="toxic not found"):
        client.toxic(proxy, "nope")
    assert client.remove_toxic(proxy, "nope", missing_ok=True) is False
    assert client.delete_proxy("tc-no-such-proxy", missing_ok=True) is False


def test_bad_toxic_type_is_bad_request(client: ToxiproxyClient, proxy: ProxyInfo) -> None:
    with pytest.raises(BadRequest) as caught:
        client.request("POST", f"/proxies/{proxy.name}/toxics", {"type": "nope"})
    assert caught.value.message == "invalid toxic type"


def test_wrong_method_is_a_plain_toxiproxy_error(client: ToxiproxyClient) -> None:
    with pytest.raises(ToxiproxyError) as caught:
        client.request("PUT", "/proxies/x", {})
    assert caught.value.status == 405
    assert type(caught.value) is ToxiproxyError


def test_bind_failure_is_server_error(client: ToxiproxyClient, held_port: int) -> None:
    with pytest.raises(ServerError) as caught:
        client.create_proxy("tc-bind-failure", UPSTREAM, listen=f"127.0.0.1:{held_port}")
    assert caught.value.status == 500
    assert "tc-bind-failure" not in client.proxies()


def test_update_proxy_without_fields_is_refused_before_sending(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    with pytest.raises(InvalidArgument, match="at least one"):
        client.update_proxy(proxy)


def test_update_proxy_sends_only_the_given_fields(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    updated = client.update_proxy(proxy, upstream="127.0.0.1:7")
    assert (updated.upstream, updated.enabled, updated.listen) == (
        "127.0.0.1:7",
        True,
        proxy.listen,
    )


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_update_toxic_merges_attributes_with_either_method(
    method: str, client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    other = ToxiproxyClient(client.url, update_method=method)
    other.add_toxic(proxy, Latency(100, jitter=5))
    info = other.update_toxic(proxy, "latency_downstream", attributes={"jitter": 10})
    assert dict(info.attributes) == {"latency": 100, "jitter": 10}
    assert info.toxicity == 1.0


def test_populate_partial_failure_carries_the_applied_proxies(
    client: ToxiproxyClient, held_port: int
) -> None:
    entries = [
        {"name": "tc-pop-1", "upstream": UPSTREAM, "listen": "127.0.0.1:0"},
        {"name": "tc-pop-2", "upstream": UPSTREAM, "listen": f"127.0.0.1:{held_port}"},
    ]
    try:
        with pytest.raises(PopulateError) as caught:
            client.populate(entries)
        assert isinstance(caught.value, ServerError)
        assert [p.name for p in caught.value.proxies] == ["tc-pop-1"]
    finally:
        client.delete_proxy("tc-pop-1", missing_ok=True)


def test_populate_missing_name_is_a_bad_request_with_no_proxies(client: ToxiproxyClient) -> None:
    with pytest.raises(PopulateError) as caught:
        client.populate([{"upstream": UPSTREAM}])
    assert isinstance(caught.value, BadRequest)
    assert caught.value.message == "missing required field: name at proxy 1"
    assert caught.value.proxies == ()


def test_populate_returns_typed_proxies(client: ToxiproxyClient) -> None:
    try:
        (info,) = client.populate([{"name": "tc-pop-ok", "upstream": UPSTREAM,
                                    "listen": "127.0.0.1:0", "enabled": False}])
        assert (info.name, info.enabled) == ("tc-pop-ok", False)
    finally:
        client.delete_proxy("tc-pop-ok", missing_ok=True)


# --- context managers ----------------------------------------------------------------------


def test_toxic_context_removes_the_toxic_on_error(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    with pytest.raises(Boom):
        with client.toxic(proxy, Latency(100)) as info:
            assert [t.name for t in client.toxics(proxy)] == [info.name]
            raise Boom
    assert client.toxics(proxy) == []


def test_toxic_context_ignores_a_toxic_already_removed_by_reset(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    with client.toxic(proxy, Noop()):
        client.reset()
    assert client.toxics(proxy) == []


def test_toxics_context_adds_in_order_and_removes_all(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    specs = [Noop(name="a"), Latency(10, name="b"), Noop(name="c", stream="upstream")]
    with client.toxics(proxy, *specs) as added:
        assert [t.name for t in added] == ["a", "b", "c"]
        assert [t.name for t in client.toxics(proxy)] == ["c", "a", "b"]
    assert client.toxics(proxy) == []


def test_toxics_context_undoes_a_partial_failure(client: ToxiproxyClient, proxy: ProxyInfo) -> None:
    with pytest.raises(Conflict):
        with client.toxics(proxy, Noop(name="a"), Noop(name="a", stream="upstream")):
            pytest.fail("body must not run")
    assert client.toxics(proxy) == []


def test_down_context_re_enables_after_an_error(client: ToxiproxyClient, proxy: ProxyInfo) -> None:
    with pytest.raises(Boom):
        with client.down(proxy) as down:
            assert down.enabled is False
            raise Boom
    assert client.proxy(proxy.name).enabled is True


def test_down_context_raises_when_the_port_cannot_be_rebound(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    host, port = client.connect_address(proxy)
    with pytest.raises(ServerError):
        with client.down(proxy):
            squatter = socket.create_server((host, port))
    squatter.close()
    client.update_proxy(proxy, enabled=True)


def test_cleanup_failure_is_chained_to_the_body_error(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    host, port = client.connect_address(proxy)
    with pytest.raises(ServerError) as caught:
        with client.down(proxy):
            squatter = socket.create_server((host, port))
            raise Boom
    squatter.close()
    assert isinstance(caught.value.__cause__, Boom)
    client.update_proxy(proxy, enabled=True)


def test_temp_proxy_is_deleted_on_error_and_tolerates_prior_deletion(
    client: ToxiproxyClient,
) -> None:
    with pytest.raises(Boom):
        with client.temp_proxy("tc-temp", UPSTREAM):
            raise Boom
    assert "tc-temp" not in client.proxies()
    with client.temp_proxy("tc-temp", UPSTREAM) as info:
        client.delete_proxy(info)
    assert "tc-temp" not in client.proxies()


def test_updated_context_restores_previous_values_after_an_error(
    client: ToxiproxyClient, proxy: ProxyInfo
) -> None:
    client.add_toxic(proxy, Latency(100, jitter=5, toxicity=0.8))
    with pytest.raises(Boom):
        with client.updated(proxy, "latency_downstream", {"latency": 400}, toxicity=0.2) as info:
            assert (info.attributes["latency"], info.toxicity) == (400, pytest.approx(0.2))
            raise Boom
    after = client.toxic(proxy, "latency_downstream")
    assert dict(after.attributes) == {"latency": 100, "jitter": 5}
    assert after.toxicity == pytest.approx(0.8)


def test_create_proxy_with_toxics_enables_with_toxics_in_place(client: ToxiproxyClient) -> None:
    try:
        info = client.create_proxy_with_toxics("tc-cpwt", UPSTREAM, [Noop(), Latency(5)])
        assert info.enabled is True
        assert [t.name for t in info.toxics] == ["noop_downstream", "latency_downstream"]
    finally:
        client.delete_proxy("tc-cpwt", missing_ok=True)


def test_create_proxy_with_toxics_deletes_the_proxy_when_a_toxic_fails(
    client: ToxiproxyClient,
) -> None:
    with pytest.raises(Conflict):
        client.create_proxy_with_toxics("tc-cpwt-bad", UPSTREAM, [Noop(), Noop()])
    assert "tc-cpwt-bad" not in client.proxies()


# --- async --------------------------------------------------------------------------------


async def test_async_toxic_context_removes_the_toxic_on_error(client: ToxiproxyClient) -> None:
    aclient = AsyncToxiproxyClient(client=client)
    async with aclient.temp_proxy("tc-async", UPSTREAM) as proxy:
        with pytest.raises(Boom):
            async with aclient.toxic(proxy, Latency(50)) as info:
                assert (await aclient.toxic(proxy, info.name)).type == "latency"
                raise Boom
        assert await aclient.toxics(proxy) == []
        async with aclient.toxics(proxy, Noop(name="a"), Noop(name="b")) as added:
            assert len(added) == 2
        assert await aclient.toxics(proxy) == []
    assert "tc-async" not in await aclient.proxies()


async def test_async_down_context_re_enables_after_an_error(client: ToxiproxyClient) -> None:
    aclient = AsyncToxiproxyClient(client=client)
    async with aclient.temp_proxy("tc-async-down", UPSTREAM) as proxy:
        with pytest.raises(Boom):
            async with aclient.down(proxy):
                assert (await aclient.proxy(proxy.name)).enabled is False
                raise Boom
        assert (await aclient.proxy(proxy.name)).enabled is True


def test_every_builder_has_a_type() -> None:
    builders: list[ToxicSpec] = [
        Latency(), Bandwidth(), SlowClose(), Timeout(), ResetPeer(), Slicer(), LimitData(),
        Noop(), WsDrop(), WsDropType("x"), WsDelay(), WsClose(), DropChunk(),
    ]
    types = [b.TYPE for b in builders]
    assert len(set(types)) == len(types) and all(types)
    assert [b.EXTENSION for b in builders].count(True) == 5
    json.dumps([b.to_json() for b in builders])


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequest), (403, Forbidden), (404, NotFound), (409, Conflict), (500, ServerError),
     (503, ServerError), (405, ToxiproxyError)],
)
def test_error_for_status_picks_the_most_specific_class(
    status: int, cls: type[ToxiproxyError]
) -> None:
    error = error_for_status(status, "m", "GET", "/p")
    assert type(error) is cls
    assert str(error) == f"GET /p -> {status}: m"


async def test_async_client_works_on_the_loop_that_runs_the_embedded_server() -> None:
    from wsquake.faults.proxy import EmbeddedToxiproxy

    async with EmbeddedToxiproxy(host="127.0.0.1", port=0) as server:
        aclient = AsyncToxiproxyClient(server.url)
        assert await aclient.is_embedded() is True
        async with aclient.temp_proxy("tc-same-loop", UPSTREAM) as proxy:
            async with aclient.toxic(proxy, Latency(10)):
                assert [t.name for t in await aclient.toxics(proxy)] == ["latency_downstream"]
            assert await aclient.toxics(proxy) == []


def test_backend_with_an_http_url_yields_a_client_for_that_server(fake_api: FakeApi) -> None:
    with toxiproxy_backend(fake_api.url) as client:
        assert client.url == fake_api.url
        assert client.is_embedded is False


def test_backend_gives_up_on_a_silent_remote_after_ready_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with pytest.raises(ToxiproxyUnavailable):
        with toxiproxy_backend(f"http://127.0.0.1:{port}", ready_timeout=0.3):
            pytest.fail("must not yield")


def test_backend_embedded_setting_starts_and_stops_a_server() -> None:
    with toxiproxy_backend("embedded://127.0.0.1:0") as client:
        url = client.url
        assert client.is_embedded is True
    with pytest.raises(ToxiproxyUnavailable):
        ToxiproxyClient(url, timeout=1).version()
