"""The blocking Toxiproxy client (spec §4.2). Safe to call from several threads.

Never call it from the event loop that runs an embedded server (it would deadlock):
use :class:`~wsquake.faults.client.aio.AsyncToxiproxyClient` there, or run the server
with ``EmbeddedToxiproxy.in_thread()``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, overload
from urllib.parse import quote, urlsplit

import requests

from wsquake.faults.client.backend import BackendKind, resolve_toxiproxy_url
from wsquake.faults.client.errors import (
    InvalidArgument,
    NotFound,
    ToxiproxyTimeout,
    ToxiproxyUnavailable,
    UnexpectedResponse,
    UnsupportedByBackend,
    error_for_status,
    populate_error,
)
from wsquake.faults.client.models import ProxyInfo, ToxicInfo
from wsquake.faults.client.specs import ToxicSpec
from wsquake.faults.client.transport import bind_consumer

__all__ = ["EMBEDDED_HEADER", "ToxiproxyClient", "finish_cleanup", "parse_listen"]

logger = logging.getLogger(__name__)

EMBEDDED_HEADER = "X-Toxiproxy-Embedded"
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
_NO_BODY: Any = object()

ProxyRef = str | ProxyInfo


def _name(proxy: ProxyRef) -> str:
    return proxy.name if isinstance(proxy, ProxyInfo) else proxy


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:80"`` / ``"[::1]:80"`` / ``":80"`` → ``(host, port)`` (host unbracketed)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit():
        raise UnexpectedResponse(f"listen address has no port: {listen!r}")
    return host.strip("[]"), int(port_text)


def finish_cleanup(cleanup: BaseException, body: BaseException | None) -> None:
    """Raise ``cleanup`` chained to ``body``; never replace a cancellation/interrupt."""
    if body is None:
        raise cleanup
    if isinstance(body, Exception):
        raise cleanup from body
    body.add_note(f"fault cleanup also failed: {cleanup!r}")
    logger.error("fault cleanup failed while %r propagated: %r", body, cleanup)


class ToxiproxyClient:
    """Blocking client for the Toxiproxy HTTP API (real server or embedded one)."""

    def __init__(
        self, url: str | None = None, timeout: float = 5.0, update_method: str = "PATCH"
    ) -> None:
        if url is None:
            setting = resolve_toxiproxy_url()
            if setting.kind is not BackendKind.REMOTE or setting.url is None:
                raise InvalidArgument(
                    "TOXIPROXY_URL selects an embedded server; start it with "
                    "toxiproxy_backend() or pass its url"
                )
            url = setting.url
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}")
        if update_method not in ("PATCH", "POST"):
            raise InvalidArgument(f"update_method must be 'PATCH' or 'POST', got {update_method!r}")
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.long_timeout = max(10.0, 2 * self.timeout)
        self.update_method = update_method
        self.consumer = bind_consumer(self.url, (self.timeout, self.timeout))
        self._lock = threading.Lock()
        self._embedded: str | None | bool = False  # False = not probed yet

    def __repr__(self) -> str:
        return f"ToxiproxyClient({self.url!r})"

    # --- transport ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        timeout: float | None = None,
        ok: Iterable[int] = (),
    ) -> requests.Response:
        """Send one call; non-2xx (outside ``ok``) raises the matching :class:`ToxiproxyError`."""
        kwargs: dict[str, Any] = {}
        if body is not _NO_BODY:
            kwargs["json"] = body
        if timeout is not None:
            kwargs["timeout"] = (self.timeout, timeout)
        try:
            response = self.consumer.request(method, path, **kwargs)
        except requests.Timeout as exc:
            raise ToxiproxyTimeout(f"no answer within the timeout ({exc})", method, path) from exc
        except requests.RequestException as exc:
            raise ToxiproxyUnavailable(f"{self.url} unreachable: {exc}", method, path) from exc
        if 200 <= response.status_code < 300 or response.status_code in ok:
            return response
        raise error_for_status(response.status_code, _error_message(response), method, path)

    def _json(self, method: str, path: str, body: Any = _NO_BODY, **kw: Any) -> Any:
        response = self.request(method, path, body, **kw)
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedResponse(
                f"{method} {path}: body is not JSON: {response.text[:200]!r}"
            ) from exc

    # --- server ------------------------------------------------------------------------

    def version(self) -> str:
        """``GET /version``; also learns whether the server is the embedded one."""
        response = self.request("GET", "/version")
        with self._lock:
            self._embedded = response.headers.get(EMBEDDED_HEADER)
        try:
            data = json.loads(response.text)
        except ValueError:  # Toxiproxy before 2.7 answered with a bare string
            return response.text.strip()
        if isinstance(data, dict) and isinstance(data.get("version"), str):
            return str(data["version"])
        raise UnexpectedResponse(f"GET /version: unexpected body {response.text[:200]!r}")

    @property
    def embedded_version(self) -> str | None:
        """The ``X-Toxiproxy-Embedded`` value (project version), ``None`` for other servers."""
        with self._lock:
            known = self._embedded
        if known is False:
            self.version()
            with self._lock:
                known = self._embedded
        return known if isinstance(known, str) else None

    @property
    def is_embedded(self) -> bool:
        return self.embedded_version is not None

    def reset(self) -> None:
        """``POST /reset``: enable every proxy and remove every toxic."""
        self.request("POST", "/reset", timeout=self.long_timeout)

    # --- proxies -----------------------------------------------------------------------

    def proxies(self) -> dict[str, ProxyInfo]:
        data = self._json("GET", "/proxies")
        if not isinstance(data, dict):
            raise UnexpectedResponse(f"GET /proxies: expected an object, got {data!r}")
        return {name: ProxyInfo.from_json(obj) for name, obj in data.items()}

    def proxy(self, name: str) -> ProxyInfo:
        return ProxyInfo.from_json(self._json("GET", _proxy_path(name)))

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return ProxyInfo.from_json(self._json("POST", "/proxies", body))

    def update_proxy(
        self,
        name: ProxyRef,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> ProxyInfo:
        """Change the given fields only (``PATCH``, or ``POST`` per ``update_method``)."""
        body: dict[str, Any] = {}
        if listen is not None:
            body["listen"] = listen
        if upstream is not None:
            body["upstream"] = upstream
        if enabled is not None:
            body["enabled"] = enabled
        if not body:
            raise InvalidArgument("update_proxy needs at least one of listen, upstream, enabled")
        path = _proxy_path(_name(name))
        return ProxyInfo.from_json(self._json(self.update_method, path, body))

    def delete_proxy(self, name: ProxyRef, missing_ok: bool = False) -> bool:
        """``DELETE``; ``False`` if it did not exist and ``missing_ok``."""
        try:
            self.request("DELETE", _proxy_path(_name(name)))
        except NotFound:
            if missing_ok:
                return False
            raise
        return True

    def populate(self, entries: Iterable[Mapping[str, Any]]) -> list[ProxyInfo]:
        """The server's ``POST /populate`` (not toxiproxy-python's client-side emulation)."""
        body = [dict(entry) for entry in entries]
        method, path = "POST", "/populate"
        response = self.request(method, path, body, ok=range(300, 600))
        try:
            data = response.json()
        except ValueError:
            data = None
        proxies = data.get("proxies") if isinstance(data, dict) else _NO_BODY
        good = 200 <= response.status_code < 300
        if not isinstance(proxies, list | None):
            if good:
                raise UnexpectedResponse(f"POST /populate: unexpected body {response.text!r}")
            proxies = None
        done = tuple(ProxyInfo.from_json(obj) for obj in proxies or ())
        if not good:
            message = _error_message(response)
            raise populate_error(response.status_code, message, method, path, done)
        return list(done)

    def create_proxy_with_toxics(
        self,
        name: str,
        upstream: str,
        specs: Iterable[ToxicSpec],
        listen: str = "127.0.0.1:0",
        enabled: bool = True,
    ) -> ProxyInfo:
        """Create disabled, add ``specs``, then enable: no connection escapes the toxics."""
        specs = list(specs)
        for spec in specs:
            self._check_supported(spec)
        self.create_proxy(name, upstream, listen=listen, enabled=False)
        try:
            for spec in specs:
                self.add_toxic(name, spec)
            if enabled:
                return self.update_proxy(name, enabled=True)
            return self.proxy(name)
        except BaseException as exc:
            try:
                self.delete_proxy(name, missing_ok=True)
            except Exception as cleanup:
                finish_cleanup(cleanup, exc)
            raise

    def connect_address(self, proxy: ProxyRef) -> tuple[str, int]:
        """Where a client should connect: ``listen``, with a wildcard host → the API's host."""
        info = proxy if isinstance(proxy, ProxyInfo) else self.proxy(proxy)
        host, port = parse_listen(info.listen)
        if host in _WILDCARD_HOSTS:
            host = urlsplit(self.url).hostname or "127.0.0.1"
        return host, port

    # --- toxics ------------------------------------------------------------------------

    @overload
    def toxics(self, proxy: ProxyRef) -> list[ToxicInfo]: ...
    @overload
    def toxics(
        self, proxy: ProxyRef, spec: ToxicSpec, /, *specs: ToxicSpec
    ) -> AbstractContextManager[list[ToxicInfo]]: ...

    def toxics(
        self, proxy: ProxyRef, *specs: ToxicSpec
    ) -> list[ToxicInfo] | AbstractContextManager[list[ToxicInfo]]:
        """Without specs: the proxy's toxics. With specs: a context manager applying them."""
        if specs:
            return self.applied(proxy, *specs)
        data = self._json("GET", _proxy_path(_name(proxy)) + "/toxics")
        if not isinstance(data, list):
            raise UnexpectedResponse(f"toxic list must be an array, got {data!r}")
        return [ToxicInfo.from_json(obj) for obj in data]

    @overload
    def toxic(self, proxy: ProxyRef, spec: str) -> ToxicInfo: ...
    @overload
    def toxic(self, proxy: ProxyRef, spec: ToxicSpec) -> AbstractContextManager[ToxicInfo]: ...

    def toxic(
        self, proxy: ProxyRef, spec: str | ToxicSpec
    ) -> ToxicInfo | AbstractContextManager[ToxicInfo]:
        """With a name: that toxic. With a spec: a context manager that adds, then removes it."""
        if isinstance(spec, ToxicSpec):
            return self._toxic_context(proxy, spec)
        return ToxicInfo.from_json(self._json("GET", _toxic_path(_name(proxy), spec)))

    def add_toxic(self, proxy: ProxyRef, spec: ToxicSpec) -> ToxicInfo:
        self._check_supported(spec)
        path = _proxy_path(_name(proxy)) + "/toxics"
        return ToxicInfo.from_json(self._json("POST", path, spec.to_json()))

    def update_toxic(
        self,
        proxy: ProxyRef,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> ToxicInfo:
        """Partial update: given attributes are merged, toxicity replaced if given."""
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            if isinstance(toxicity, bool) or not isinstance(toxicity, int | float):
                raise InvalidArgument(f"toxicity must be a number, got {toxicity!r}")
            body["toxicity"] = float(toxicity)
        path = _toxic_path(_name(proxy), name)
        return ToxicInfo.from_json(self._json(self.update_method, path, body))

    def remove_toxic(self, proxy: ProxyRef, name: str, missing_ok: bool = False) -> bool:
        try:
            self.request("DELETE", _toxic_path(_name(proxy), name), timeout=self.long_timeout)
        except NotFound:
            if missing_ok:
                return False
            raise
        return True

    def _check_supported(self, spec: ToxicSpec) -> None:
        if not isinstance(spec, ToxicSpec):
            raise InvalidArgument(f"expected a toxic builder such as Latency(...), got {spec!r}")
        if spec.EXTENSION and not self.is_embedded:
            raise UnsupportedByBackend(f"toxic type {spec.TYPE!r}", self.url)

    # --- context managers --------------------------------------------------------------

    @contextlib.contextmanager
    def _toxic_context(self, proxy: ProxyRef, spec: ToxicSpec) -> Iterator[ToxicInfo]:
        info = self.add_toxic(proxy, spec)
        with self._cleanup(lambda: self.remove_toxic(proxy, info.name, missing_ok=True)):
            yield info

    @contextlib.contextmanager
    def applied(self, proxy: ProxyRef, *specs: ToxicSpec) -> Iterator[list[ToxicInfo]]:
        """Add ``specs`` in order; undo a partial failure; remove in reverse on exit."""
        added: list[ToxicInfo] = []
        with self._cleanup(lambda: self._remove_all(proxy, added)):
            for spec in specs:
                added.append(self.add_toxic(proxy, spec))
            yield list(added)

    def _remove_all(self, proxy: ProxyRef, added: list[ToxicInfo]) -> None:
        first: BaseException | None = None
        for info in reversed(added):
            try:
                self.remove_toxic(proxy, info.name, missing_ok=True)
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first

    @contextlib.contextmanager
    def down(self, proxy: ProxyRef) -> Iterator[ProxyInfo]:
        """Disable (the "down" fault), then re-enable on exit; raises if re-binding fails."""
        info = self.update_proxy(proxy, enabled=False)
        with self._cleanup(lambda: self.update_proxy(proxy, enabled=True)):
            yield info

    @contextlib.contextmanager
    def temp_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Iterator[ProxyInfo]:
        info = self.create_proxy(name, upstream, listen=listen, enabled=enabled)
        with self._cleanup(lambda: self.delete_proxy(name, missing_ok=True)):
            yield info

    @contextlib.contextmanager
    def updated(
        self,
        proxy: ProxyRef,
        toxic: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> Iterator[ToxicInfo]:
        """Update a toxic, then put back the previous values of what was changed."""
        before = self.toxic(proxy, toxic)
        restore_attrs = None
        if attributes is not None:
            restore_attrs = {k: before.attributes[k] for k in attributes if k in before.attributes}
        restore_toxicity = before.toxicity if toxicity is not None else None
        info = self.update_toxic(proxy, toxic, attributes=attributes, toxicity=toxicity)

        def restore() -> None:
            try:
                self.update_toxic(proxy, toxic, restore_attrs, restore_toxicity)
            except NotFound:
                pass  # removed meanwhile (/reset, proxy deleted): nothing to restore

        with self._cleanup(restore):
            yield info

    @contextlib.contextmanager
    def _cleanup(self, undo: Callable[[], object]) -> Iterator[None]:
        """Run ``undo`` on every exit path; its failure is raised (chained to the body's)."""
        try:
            yield
        except BaseException as exc:
            try:
                undo()
            except Exception as cleanup:
                finish_cleanup(cleanup, exc)
            raise
        undo()



def _proxy_path(name: str) -> str:
    if not name:
        raise InvalidArgument("proxy name must be a non-empty string")
    return "/proxies/" + quote(name, safe="")


def _toxic_path(proxy: str, toxic: str) -> str:
    if not toxic:
        raise InvalidArgument("toxic name must be a non-empty string")
    return _proxy_path(proxy) + "/toxics/" + quote(toxic, safe="")


def _error_message(response: requests.Response) -> str:
    """The ``error`` of a JSON error body, whatever its content type, else the raw text."""
    try:
        data = json.loads(response.text)
    except ValueError:
        return response.text.strip()
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return response.text.strip()
