"""``WSQUAKE_PROXIES=existing``: the runner takes proxies that already exist (e.g. from
the compose /populate file) and only re-points them; it creates none and deletes none."""

from __future__ import annotations

import pytest

from wsquake.faults.client import AsyncToxiproxyClient
from wsquake.faults.proxy import EmbeddedToxiproxy
from wsquake.scenarios import ScenarioError
from wsquake.scenarios.topology import create_topology, reuse_existing_proxies


@pytest.mark.parametrize(("value", "reuse"), [(None, False), ("create", False),
                                              ("existing", True), ("", False)])
def test_the_proxies_variable_selects_reuse(value: str | None, reuse: bool) -> None:
    env = {} if value is None else {"WSQUAKE_PROXIES": value}
    assert reuse_existing_proxies(env) is reuse


def test_a_bad_proxies_value_names_the_variable() -> None:
    with pytest.raises(ScenarioError, match="WSQUAKE_PROXIES: expected create or existing"):
        reuse_existing_proxies({"WSQUAKE_PROXIES": "some"})


async def test_existing_proxies_keep_their_listen_address_and_get_new_upstreams() -> None:
    async with EmbeddedToxiproxy(port=0) as server:
        client = AsyncToxiproxyClient(server.url)
        listens = {}
        for name in ("glasses-link", "app-link", "webhook-link"):
            info = await client.create_proxy(name, "127.0.0.1:9", listen="127.0.0.1:0")
            listens[name] = info.listen
        await client.update_proxy("glasses-link", enabled=False)
        topology = await create_topology(client, ["http://127.0.0.1:7100"],
                                         cloud_url="http://127.0.0.1:8002", reuse=True)
        after = await client.proxies()
    assert {n: after[n].listen for n in listens} == listens
    assert after["glasses-link"].upstream == "127.0.0.1:8002" and after["glasses-link"].enabled
    assert after["webhook-link"].upstream == "127.0.0.1:7100"
    assert topology.glasses_ws_url.endswith(listens["glasses-link"].split(":")[1] + "/glasses-ws")


async def test_a_missing_existing_proxy_is_named() -> None:
    async with EmbeddedToxiproxy(port=0) as server:
        client = AsyncToxiproxyClient(server.url)
        await client.create_proxy("glasses-link", "127.0.0.1:9", listen="127.0.0.1:0")
        with pytest.raises(ScenarioError, match="proxy app-link, webhook-link does not exist"):
            await create_topology(client, ["http://127.0.0.1:7100"], reuse=True)
        assert set(await client.proxies()) == {"glasses-link"}
