"""A small headless-Chromium driver over the DevTools protocol (CDP), for the HTML tests.

Launches Debian's ``chromium`` with ``--remote-debugging-port=0``, reads the DevTools URL
it prints on stderr, and speaks CDP over one ``websockets`` connection (flattened target
sessions). Collects console errors, uncaught exceptions and log errors of the page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--disable-dev-shm-usage")
_DEVTOOLS = re.compile(rb"DevTools listening on (ws://\S+)")
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class CdpError(Exception):
    """A CDP call failed (the error names the method)."""


@dataclass
class Page:
    browser: Browser
    session_id: str
    errors: list[str] = field(default_factory=list)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.call(method, params, self.session_id)

    async def navigate(self, url: str) -> None:
        self.loaded.clear()
        result = await self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise CdpError(f"Page.navigate {url}: {result['errorText']}")
        async with asyncio.timeout(CALL_TIMEOUT_S):
            await self.loaded.wait()

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"Runtime.evaluate: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def resize(self, width: int, height: int) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)

    async def screenshot(self, path: Path, width: int, max_height: int = 4000) -> None:
        """A PNG of the whole page (up to ``max_height`` CSS pixels tall)."""
        height = int(await self.evaluate("document.documentElement.scrollHeight"))
        height = min(height, max_height)
        await self.resize(width, height)
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                               clip={"x": 0, "y": 0, "width": width, "height": height,
                                     "scale": 1})
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


class Browser:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   session_id: str | None = None) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        await self._ws.send(json.dumps(message))
        async with asyncio.timeout(CALL_TIMEOUT_S):
            reply = await future
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def pump(self) -> None:
        try:
            await self._pump()
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CdpError("the browser connection closed"))

    async def _pump(self) -> None:
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            page = self.pages.get(message.get("sessionId", ""))
            if page is not None:
                _on_event(page, message["method"], message.get("params", {}))

    async def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = await self.call("Target.createTarget", {"url": "about:blank"})
        attached = await self.call("Target.attachToTarget",
                                   {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self.pages[page.session_id] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.call(f"{domain}.enable")
        await page.resize(width, height)
        return page


def _on_event(page: Page, method: str, params: dict[str, Any]) -> None:
    if method == "Page.loadEventFired":
        page.loaded.set()
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        args = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
        page.errors.append("console: " + " ".join(args))
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        page.errors.append("exception: " + str(details.get("exception", {}).get(
            "description", details.get("text", ""))))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        page.errors.append(f"log: {entry.get('text', '')} {entry.get('url', '')}".strip())


@contextlib.asynccontextmanager
async def launch(binary: str) -> AsyncIterator[Browser]:
    """A headless Chromium with a fresh profile; closed (and killed if need be) on exit."""
    with tempfile.TemporaryDirectory(prefix="wsquake-chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            seen = b""
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:
                    line = await proc.stderr.readline()
                    if not line:
                        raise RuntimeError(f"chromium exited before DevTools: {seen[-2000:]!r}")
                    seen += line
                    match = _DEVTOOLS.search(line)
                    if match:
                        url = match.group(1).decode()
                        break
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_drain(proc.stderr))
                try:
                    async with connect(url, max_size=None, open_timeout=CALL_TIMEOUT_S) as ws:
                        browser = Browser(ws)
                        pump = tg.create_task(browser.pump())
                        try:
                            yield browser
                        finally:
                            with contextlib.suppress(Exception):
                                async with asyncio.timeout(5):
                                    await browser.call("Browser.close")
                            pump.cancel()
                finally:
                    await _stop(proc)
        finally:
            await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    try:
        async with asyncio.timeout(10):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
