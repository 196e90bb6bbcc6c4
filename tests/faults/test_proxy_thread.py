"""``EmbeddedToxiproxy.in_thread()`` driven by synchronous clients (toxiproxy-python)."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from wsquake.faults.proxy import EmbeddedToxiproxy


@pytest.fixture
def echo_address() -> object:
    """A tiny threaded echo server on 127.0.0.1:0."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    socket.create_connection(listener.getsockname(), timeout=5).close()  # wake accept()
    thread.join(5)
    listener.close()


def test_in_thread_serves_the_toxiproxy_python_client_cycle(echo_address: tuple) -> None:
    toxiproxy = pytest.importorskip("toxiproxy")
    from toxiproxy.exceptions import NotFound, ProxyExists

    with EmbeddedToxiproxy(port=0).in_thread() as server:
        host, port = server.address
        client = toxiproxy.Toxiproxy()
        client.update_api_consumer(host, port)
        assert b'"version"' in client.version()
        upstream = f"{echo_address[0]}:{echo_address[1]}"
        proxy = client.create(upstream=upstream, name="tp", listen="127.0.0.1:0")
        with pytest.raises(ProxyExists):
            client.create(upstream=upstream, name="tp")
        proxy.add_toxic(type="latency", attributes={"latency": 10})
        assert set(proxy.toxics()) == {"latency_downstream"}
        with pytest.raises(ProxyExists):
            proxy.add_toxic(type="latency", attributes={"latency": 10})
        proxy.disable()
        assert client.get_proxy("tp").enabled is False
        proxy.enable()
        with proxy.down():
            assert client.get_proxy("tp").enabled is False
        assert client.get_proxy("tp").enabled is True
        listen_host, listen_port = proxy.listen.rsplit(":", 1)
        with socket.create_connection((listen_host, int(listen_port)), timeout=5) as conn:
            conn.sendall(b"abc")
            assert conn.recv(3) == b"abc"
        assert proxy.destroy_toxic("latency_downstream")
        with pytest.raises(NotFound):
            proxy.destroy_toxic("latency_downstream")
        assert client.reset()
        assert proxy.destroy()
        assert client.proxies() == {}


def test_in_thread_stops_the_server_and_frees_the_port() -> None:
    with EmbeddedToxiproxy(port=0).in_thread() as server:
        url = server.url
        assert requests.get(url + "/version", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/version", timeout=5)


def test_in_thread_reports_a_port_in_use_as_a_start_error() -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        port = holder.getsockname()[1]
        with pytest.raises(Exception, match="address already in use"):
            with EmbeddedToxiproxy(port=port).in_thread():
                pass
    finally:
        holder.close()


def test_constructor_rejects_a_bad_port() -> None:
    with pytest.raises(ValueError, match="port must be an integer in 0..65535"):
        EmbeddedToxiproxy(port=70000)
