"""Toxiproxy 2.12.0's HTTP API on Starlette (``api.go``; spec §1).

Status codes, bodies and routing misses copy Toxiproxy: errors are
``{"error":…,"status":…}\\n`` labelled ``text/plain; charset=utf-8``; unknown paths get
``404 page not found``; a known path with the wrong method gets an empty 405; matched
routes get ``X-Toxiproxy-Request-Id`` and refuse ``Mozilla/`` user agents (403). Every
response carries ``X-Toxiproxy-Embedded`` (outermost middleware).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wsquake import __version__
from wsquake.faults.proxy.collection import ProxyCollection
from wsquake.faults.proxy.exceptions import ApiError, ServerError
from wsquake.faults.proxy.metrics import ProxyMetrics
from wsquake.faults.proxy.toxic_set import decode_json

logger = logging.getLogger(__name__)

TOXIPROXY_VERSION = "2.12.0"
EMBEDDED_HEADER = "X-Toxiproxy-Embedded"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # xid's base32hex

Handler = Callable[[Request], Awaitable[Response]]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status_code=status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    return Response(
        dumps({"error": message, "status": status}) + "\n",
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _request_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def _endpoint(handler: Handler) -> Handler:
    """The middleware of matched routes: user-agent check, request id, ApiError -> body."""

    async def endpoint(request: Request) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            response = error_response(403, "User agent not allowed")
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                logger.debug("%s %s -> %s %s", request.method, request.url.path, exc.status, exc)
                response = error_response(exc.status, exc.message)
        response.headers["X-Toxiproxy-Request-Id"] = _request_id()
        return response

    return endpoint


class ToxiproxyApi:
    """The route handlers over one :class:`ProxyCollection`."""

    def __init__(self, collection: ProxyCollection, metrics: ProxyMetrics | None) -> None:
        self.collection = collection
        self.metrics = metrics

    async def version(self, request: Request) -> Response:
        body = json.dumps({"version": TOXIPROXY_VERSION}) + "\n"  # ", " and ": " as Go
        return Response(body, media_type="application/json;charset=utf-8")

    async def proxy_index(self, request: Request) -> Response:
        return json_response({n: p.to_json() for n, p in self.collection.proxies.items()})

    async def proxy_create(self, request: Request) -> Response:
        proxy = await self.collection.create(decode_json(await request.body()))
        return json_response(proxy.to_json(), 201)

    async def populate(self, request: Request) -> Response:
        try:
            body = decode_json(await request.body())
        except ApiError as exc:
            result_error: ApiError | None = exc
            proxies = None
        else:
            result = await self.collection.populate(body)
            result_error, proxies = result.error, result.proxies
        payload: dict[str, Any] = {}
        if result_error is not None:
            payload = {"error": result_error.message, "status": result_error.status}
        payload["proxies"] = None if proxies is None else [p.to_json() for p in proxies]
        return json_response(payload, 201 if result_error is None else result_error.status)

    async def proxy_show(self, request: Request) -> Response:
        return json_response(self.collection.get(request.path_params["proxy"]).to_json())

    async def proxy_update(self, request: Request) -> Response:
        name = request.path_params["proxy"]
        self.collection.get(name)  # 404 before the body is looked at
        proxy = await self.collection.update(name, decode_json(await request.body()))
        return json_response(proxy.to_json())

    async def proxy_delete(self, request: Request) -> Response:
        await self.collection.delete(request.path_params["proxy"])
        return Response(status_code=204)

    async def toxic_index(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        return json_response([e.to_json() for e in proxy.toxics.all()])

    async def toxic_create(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        entry = proxy.add_toxic(decode_json(await request.body()))
        return json_response(entry.to_json())

    async def toxic_show(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        return json_response(proxy.toxics.get(request.path_params["toxic"]).to_json())

    async def toxic_update(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        proxy.toxics.get(request.path_params["toxic"])
        entry = proxy.update_toxic(request.path_params["toxic"], decode_json(await request.body()))
        return json_response(entry.to_json())

    async def toxic_delete(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        proxy.remove_toxic(request.path_params["toxic"])
        return Response(status_code=204)

    async def reset(self, request: Request) -> Response:
        try:
            await self.collection.reset()
        except ApiError:
            raise
        except OSError as exc:
            raise ServerError(str(exc)) from None
        return Response(status_code=204)

    async def connections(self, request: Request) -> Response:
        proxy = self.collection.get(request.path_params["proxy"])
        return json_response(proxy.connections_json())

    async def metrics_text(self, request: Request) -> Response:
        assert self.metrics is not None
        return Response(self.metrics.render(), media_type=self.metrics.content_type)

    def routes(self) -> list[Route]:
        p, t = "/proxies/{proxy}", "/proxies/{proxy}/toxics"
        table: list[tuple[str, Handler, list[str]]] = [
            ("/reset", self.reset, ["POST"]),
            ("/proxies", self.proxy_index, ["GET"]),
            ("/proxies", self.proxy_create, ["POST"]),
            ("/populate", self.populate, ["POST"]),
            (p, self.proxy_show, ["GET"]),
            (p, self.proxy_update, ["POST", "PATCH"]),
            (p, self.proxy_delete, ["DELETE"]),
            (t, self.toxic_index, ["GET"]),
            (t, self.toxic_create, ["POST"]),
            (t + "/{toxic}", self.toxic_show, ["GET"]),
            (t + "/{toxic}", self.toxic_update, ["POST", "PATCH"]),
            (t + "/{toxic}", self.toxic_delete, ["DELETE"]),
            ("/version", self.version, ["GET"]),
            ("/x/proxies/{proxy}/connections", self.connections, ["GET"]),
        ]
        if self.metrics is not None:
            table.append(("/metrics", self.metrics_text, ["GET"]))
        return [Route(path, _endpoint(h), methods=m) for path, h, m in table]


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("404 page not found\n", status_code=404)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return await _not_found(request, exc)
    return Response(status_code=status)


class EmbeddedHeader:
    """Outermost ASGI middleware: ``X-Toxiproxy-Embedded: <version>`` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((EMBEDDED_HEADER.lower().encode(), __version__.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)


def build_app(collection: ProxyCollection, metrics: ProxyMetrics | None = None) -> ASGIApp:
    api = ToxiproxyApi(collection, metrics)
    app = Starlette(
        routes=api.routes(),
        exception_handlers={404: _not_found, 405: _http_error, HTTPException: _http_error},
    )
    app.router.redirect_slashes = False
    return EmbeddedHeader(app)
