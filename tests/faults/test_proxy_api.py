"""The embedded server's HTTP API: Toxiproxy 2.12.0's codes, bodies and edge cases."""

from __future__ import annotations

import asyncio
import socket

import httpx

from tests.faults.proxy_peers import connect, create_proxy, echo_server, embedded, read_exactly
from wsquake import __version__


def error(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.endswith("\n")
    body = response.json()
    assert body["status"] == response.status_code
    return str(body["error"])


async def test_version_body_is_toxiproxy_2_12_0_with_embedded_header() -> None:
    async with embedded() as (_, client):
        response = await client.get("/version")
    assert response.status_code == 200
    assert response.text == '{"version": "2.12.0"}\n'
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.headers["x-toxiproxy-embedded"] == __version__
    assert len(response.headers["x-toxiproxy-request-id"]) == 20


async def test_create_normalises_localhost_zero_to_a_bound_ipv4_port() -> None:
    async with embedded() as (_, client):
        response = await client.post(
            "/proxies", json={"name": "a", "upstream": "127.0.0.1:9", "listen": "localhost:0"}
        )
        assert response.status_code == 201
        body = response.json()
        assert list(body) == ["name", "listen", "upstream", "enabled", "toxics"]
        host, port = body["listen"].rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert body["toxics"] == [] and body["enabled"] is True


async def test_create_errors_duplicate_missing_fields_and_malformed_json() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "a", "127.0.0.1:9")
        dup = await client.post("/proxies", json={"name": "a", "upstream": "x:1"})
        assert dup.status_code == 409 and error(dup) == "proxy already exists"
        no_name = await client.post("/proxies", json={"upstream": "x:1"})
        assert no_name.status_code == 400 and error(no_name) == "missing required field: name"
        no_up = await client.post("/proxies", json={"name": "b"})
        assert no_up.status_code == 400 and error(no_up) == "missing required field: upstream"
        bad = await client.post("/proxies", content=b"{nope")
        assert bad.status_code == 400 and error(bad).startswith("bad request body")
        empty = await client.post("/proxies", content=b"")
        assert empty.status_code == 400 and error(empty) == "bad request body: EOF"
        wrong_type = await client.post("/proxies", json={"name": 5, "upstream": "x:1"})
        assert wrong_type.status_code == 400 and "'name'" in error(wrong_type)


async def test_create_on_a_port_in_use_is_500_with_os_message_and_not_added() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        async with embedded() as (_, client):
            response = await client.post(
                "/proxies",
                json={"name": "a", "upstream": "127.0.0.1:9", "listen": f"127.0.0.1:{port}"},
            )
            assert response.status_code == 500
            assert error(response) == (
                f"listen tcp 127.0.0.1:{port}: bind: address already in use"
            )
            assert (await client.get("/proxies/a")).status_code == 404
    finally:
        holder.close()


async def test_router_misses_and_browser_user_agents() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "x", "127.0.0.1:9")
        missing = await client.get("/nope")
        assert missing.status_code == 404 and missing.text == "404 page not found\n"
        assert (await client.get("/proxies/")).status_code == 404
        wrong = await client.put("/proxies/x")
        assert wrong.status_code == 405 and wrong.content == b""
        browser = await client.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
        assert browser.status_code == 403 and error(browser) == "User agent not allowed"
        assert "x-toxiproxy-embedded" in missing.headers and "x-toxiproxy-embedded" in wrong.headers


async def test_unknown_proxy_and_toxic_are_404_on_every_route() -> None:
    async with embedded() as (_, client):
        for method, path in [
            ("GET", "/proxies/none"),
            ("PATCH", "/proxies/none"),
            ("DELETE", "/proxies/none"),
            ("GET", "/proxies/none/toxics"),
            ("POST", "/proxies/none/toxics"),
            ("GET", "/proxies/none/toxics/t"),
            ("DELETE", "/proxies/none/toxics/t"),
            ("GET", "/x/proxies/none/connections"),
        ]:
            response = await client.request(method, path, json={})
            assert response.status_code == 404 and error(response) == "proxy not found", path
        await create_proxy(client, "p", "127.0.0.1:9")
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(method, "/proxies/p/toxics/t", json={})
            assert response.status_code == 404 and error(response) == "toxic not found"


async def test_patch_and_post_update_upstream_and_empty_body_is_400() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        patched = await client.patch("/proxies/p", json={"upstream": "127.0.0.1:10"})
        assert patched.status_code == 200 and patched.json()["upstream"] == "127.0.0.1:10"
        posted = await client.post("/proxies/p", json={"upstream": "127.0.0.1:11", "toxics": []})
        assert posted.status_code == 200 and posted.json()["upstream"] == "127.0.0.1:11"
        empty = await client.patch("/proxies/p", content=b"")
        assert empty.status_code == 400 and error(empty).startswith("bad request body")


async def test_update_with_unresolvable_listen_is_500() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        response = await client.patch("/proxies/p", json={"listen": "local373.invalid:0"})
        assert response.status_code == 500
        assert "lookup local373.invalid" in error(response)


async def test_listen_zero_in_an_update_rebinds_to_a_new_port() -> None:
    async with embedded() as (_, client):
        _, port = await create_proxy(client, "p", "127.0.0.1:9")
        response = await client.patch("/proxies/p", json={"listen": "127.0.0.1:0"})
        new_port = int(response.json()["listen"].rsplit(":", 1)[1])
        assert new_port not in (0, port)


async def test_delete_proxy_and_toxic_answer_204_empty_then_404() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        await client.post("/proxies/p/toxics", json={"type": "noop"})
        deleted_toxic = await client.delete("/proxies/p/toxics/noop_downstream")
        assert deleted_toxic.status_code == 204 and deleted_toxic.content == b""
        assert (await client.get("/proxies/p/toxics/noop_downstream")).status_code == 404
        deleted = await client.delete("/proxies/p")
        assert deleted.status_code == 204 and deleted.content == b""
        assert (await client.get("/proxies/p")).status_code == 404


async def test_toxic_defaults_name_stream_toxicity_and_full_attributes() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        response = await client.post("/proxies/p/toxics", json={"type": "latency"})
        assert response.status_code == 200
        assert response.json() == {
            "attributes": {"latency": 0, "jitter": 0},
            "name": "latency_downstream",
            "type": "latency",
            "stream": "downstream",
            "toxicity": 1.0,
        }


async def test_stream_is_case_insensitive_and_stored_as_sent() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        body = {"type": "noop", "stream": "UpStream"}
        response = await client.post("/proxies/p/toxics", json=body)
        assert response.json()["name"] == "noop_UpStream"
        assert response.json()["stream"] == "UpStream"


async def test_toxic_validation_order_and_messages() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        await client.post("/proxies/p/toxics", json={"type": "noop", "name": "n"})
        cases = [
            ({"type": "noop", "name": "n", "stream": "upstream"}, 409, "toxic already exists"),
            ({"type": "noop", "stream": "sideways"}, 400, "stream was invalid"),
            ({"type": "packet_loss"}, 400, "invalid toxic type"),
            ({"type": "x-nope"}, 400, "invalid toxic type"),
            # the stream error wins over the bad type, the type error over the conflict
            ({"type": "bogus", "stream": "sideways"}, 400, "stream was invalid"),
            ({"type": "bogus", "name": "n"}, 400, "invalid toxic type"),
            ({"type": "latency", "attributes": {"latency": 100.0}}, 400, "bad request body"),
            ({"type": "latency", "attributes": {"latency": "100"}}, 400, "bad request body"),
            ({"type": "latency", "attributes": {"latency": True}}, 400, "bad request body"),
            ({"type": "bandwidth", "attributes": {"rate": -1}}, 400, "bad request body"),
            ({"type": "slicer", "attributes": {"average_size": 0}}, 400, "bad request body"),
            ({"type": "latency", "toxicity": "1"}, 400, "bad request body"),
        ]
        for body, status, message in cases:
            response = await client.post("/proxies/p/toxics", json=body)
            assert response.status_code == status, body
            assert error(response).startswith(message), body


async def test_toxic_update_partially_merges_and_only_replaces_given_toxicity() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        await client.post(
            "/proxies/p/toxics", json={"type": "latency", "attributes": {"latency": 100}}
        )
        first = await client.patch(
            "/proxies/p/toxics/latency_downstream", json={"attributes": {"jitter": 10}}
        )
        assert first.json()["attributes"] == {"latency": 100, "jitter": 10}
        assert first.json()["toxicity"] == 1.0
        second = await client.post("/proxies/p/toxics/latency_downstream", json={"toxicity": 0.5})
        assert second.json()["attributes"] == {"latency": 100, "jitter": 10}
        assert second.json()["toxicity"] == 0.5
        bad = await client.patch(
            "/proxies/p/toxics/latency_downstream", json={"attributes": {"jitter": 1.5}}
        )
        assert bad.status_code == 400
        kept = await client.get("/proxies/p/toxics/latency_downstream")
        assert kept.json()["attributes"] == {"latency": 100, "jitter": 10}


async def test_toxic_list_shows_upstream_then_downstream_in_insertion_order() -> None:
    async with embedded() as (_, client):
        await create_proxy(client, "p", "127.0.0.1:9")
        for name, stream in [("d1", "downstream"), ("u1", "upstream"), ("d2", "downstream")]:
            body = {"type": "noop", "name": name, "stream": stream}
            await client.post("/proxies/p/toxics", json=body)
        names = [t["name"] for t in (await client.get("/proxies/p/toxics")).json()]
        assert names == ["u1", "d1", "d2"]


async def test_populate_validates_every_entry_before_creating_any() -> None:
    async with embedded() as (_, client):
        response = await client.post(
            "/populate",
            json=[{"name": "a", "upstream": "127.0.0.1:9"}, {"upstream": "127.0.0.1:9"}],
        )
        assert response.status_code == 400
        assert response.json() == {
            "error": "missing required field: name at proxy 2",
            "status": 400,
            "proxies": None,
        }
        assert (await client.get("/proxies")).json() == {}


async def test_populate_is_not_atomic_and_reports_what_was_done() -> None:
    async with embedded() as (_, client):
        response = await client.post(
            "/populate",
            json=[
                {"name": "a", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"},
                {"name": "b", "upstream": "127.0.0.1:9", "listen": "nohost.invalid:0"},
            ],
        )
        assert response.status_code == 500
        body = response.json()
        assert [p["name"] for p in body["proxies"]] == ["a"]
        assert (await client.get("/proxies/a")).status_code == 200


async def test_populate_keeps_unchanged_proxies_and_replaces_changed_ones() -> None:
    async with embedded() as (_, client):
        first = await client.post(
            "/populate",
            json=[
                {"name": "a", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0"},
                {"name": "b", "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0", "enabled": False},
            ],
        )
        assert first.status_code == 201
        a, b = first.json()["proxies"]
        assert a["enabled"] is True and b["enabled"] is False
        await client.post("/proxies/a/toxics", json={"type": "noop"})
        again = await client.post("/populate", json=[{**a, "enabled": False}])
        assert again.json()["proxies"][0]["toxics"] != []
        assert again.json()["proxies"][0]["enabled"] is True
        changed = await client.post(
            "/populate", json=[{"name": "a", "upstream": "127.0.0.1:10", "listen": a["listen"]}]
        )
        assert changed.json()["proxies"][0]["toxics"] == []
        assert changed.json()["proxies"][0]["upstream"] == "127.0.0.1:10"


async def test_populate_with_empty_array_gives_null_proxies() -> None:
    async with embedded() as (_, client):
        response = await client.post("/populate", json=[])
        assert response.status_code == 201 and response.json() == {"proxies": None}
        not_array = await client.post("/populate", json={"name": "a"})
        assert not_array.status_code == 400


async def test_reset_enables_every_proxy_and_removes_all_toxics() -> None:
    async with embedded() as (_, client):
        _, port = await create_proxy(client, "p", "127.0.0.1:9")
        await client.post("/proxies/p/toxics", json={"type": "latency", "stream": "upstream"})
        await client.patch("/proxies/p", json={"enabled": False})
        response = await client.post("/reset")
        assert response.status_code == 204
        proxy = (await client.get("/proxies/p")).json()
        assert proxy["enabled"] is True and proxy["toxics"] == []
        assert proxy["listen"] == f"127.0.0.1:{port}"


async def test_metrics_route_exists_only_when_enabled_and_counts_ended_links() -> None:
    async with embedded() as (_, client):
        assert (await client.get("/metrics")).status_code == 404
    async with echo_server() as echo, embedded(metrics=True) as (_, client):
        address = await create_proxy(client, "m", echo.address)
        async with connect(address) as (reader, writer):
            writer.write(b"12345")
            assert await read_exactly(reader, 5) == b"12345"
        # The links end asynchronously after the client closes: poll against a deadline.
        text = ""
        async with asyncio.timeout(5):
            while 'toxiproxy_proxy_sent_bytes_total{direction="downstream"' not in text:
                text = (await client.get("/metrics")).text
        assert (
            'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:'
            in text
        )
        assert 'proxy="m"' in text and "} 5.0" in text
